//! `struct _io_connect`: the path-based message (`open`, `unlink`, `mknod`).
//! A 40-byte fixed part, then the path with its NUL (`path_len` bytes),
//! then, aligned to 8, `extra_len` bytes of extra data.

use super::{le, need, MsgError, IO_CONNECT};

/// Bytes of the fixed part of `struct _io_connect`.
pub const CONNECT_LEN: usize = 40;

/// Longest path a connect message carries (`path_len` is a `u16` with
/// the NUL).
const MAX_PATH: usize = u16::MAX as usize - 1;

/// `_IO_CONNECT` with its path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connect {
    /// `_IO_CONNECT_*` ([`subtype`](super::subtype)).
    pub subtype: u16,
    /// `_FTYPE_*` the client asks for.
    pub file_type: u32,
    /// Room for the reply (unused by baton's clients).
    pub reply_max: u16,
    /// Room for link entries (unused by baton's clients).
    pub entry_max: u16,
    /// `key` (unused).
    pub key: u32,
    /// The id of the attachment the path resolved to (QNX's link handle).
    pub handle: u32,
    /// Open flags: the access mode plus one, other `O_*` bits as Linux has them.
    pub ioflag: u32,
    /// Creation mode (type and permission bits).
    pub mode: u32,
    /// `sflag` (sharing; unused).
    pub sflag: u16,
    /// `access` (unused).
    pub access: u16,
    /// `_IO_CONNECT_EFLAG_*`.
    pub eflag: u8,
    /// `extra_type` (`_IO_CONNECT_EXTRA_*`).
    pub extra_type: u8,
    /// The path below the attached prefix (`""` for the prefix itself).
    pub path: String,
    /// The extra data.
    pub extra: Vec<u8>,
}

impl Connect {
    /// The message's bytes. `EINVAL`-worthy input (a path with a NUL, or
    /// too long) is an error.
    pub fn encode(&self) -> Result<Vec<u8>, MsgError> {
        if self.path.len() > MAX_PATH || self.path.as_bytes().contains(&0) {
            return Err(MsgError::BadField("path"));
        }
        let extra_len = u16::try_from(self.extra.len()).map_err(|_| MsgError::BadField("extra_len"))?;
        let path_len = self.path.len() + 1;
        let mut out = vec![0u8; CONNECT_LEN];
        le::put(&mut out, 0, &IO_CONNECT.to_le_bytes());
        le::put(&mut out, 2, &self.subtype.to_le_bytes());
        le::put(&mut out, 4, &self.file_type.to_le_bytes());
        le::put(&mut out, 8, &self.reply_max.to_le_bytes());
        le::put(&mut out, 10, &self.entry_max.to_le_bytes());
        le::put(&mut out, 12, &self.key.to_le_bytes());
        le::put(&mut out, 16, &self.handle.to_le_bytes());
        le::put(&mut out, 20, &self.ioflag.to_le_bytes());
        le::put(&mut out, 24, &self.mode.to_le_bytes());
        le::put(&mut out, 28, &self.sflag.to_le_bytes());
        le::put(&mut out, 30, &self.access.to_le_bytes());
        le::put(&mut out, 34, &(path_len as u16).to_le_bytes());
        out[36] = self.eflag;
        out[37] = self.extra_type;
        le::put(&mut out, 38, &extra_len.to_le_bytes());
        out.extend_from_slice(self.path.as_bytes());
        out.push(0);
        if !self.extra.is_empty() {
            out.resize(out.len().next_multiple_of(8), 0);
            out.extend_from_slice(&self.extra);
        }
        Ok(out)
    }

    /// Decodes a whole connect message. The path must end with its NUL at
    /// `path_len`, hold no other NUL, and be UTF-8; the extra data must fit.
    pub fn decode(b: &[u8]) -> Result<Connect, MsgError> {
        need(b, CONNECT_LEN)?;
        let ty = le::u16(b, 0);
        if ty != IO_CONNECT {
            return Err(MsgError::WrongType(ty));
        }
        let path_len = usize::from(le::u16(b, 34));
        let extra_len = usize::from(le::u16(b, 38));
        if path_len == 0 {
            return Err(MsgError::BadField("path_len"));
        }
        need(b, CONNECT_LEN + path_len)?;
        let raw = &b[CONNECT_LEN..CONNECT_LEN + path_len];
        let (nul, path) = raw.split_last().expect("path_len > 0");
        if *nul != 0 || path.contains(&0) {
            return Err(MsgError::BadField("path"));
        }
        let path = std::str::from_utf8(path).map_err(|_| MsgError::BadField("path"))?.to_string();
        let extra = if extra_len == 0 {
            Vec::new()
        } else {
            let at = (CONNECT_LEN + path_len).next_multiple_of(8);
            need(b, at + extra_len)?;
            b[at..at + extra_len].to_vec()
        };
        Ok(Connect {
            subtype: le::u16(b, 2),
            file_type: le::u32(b, 4),
            reply_max: le::u16(b, 8),
            entry_max: le::u16(b, 10),
            key: le::u32(b, 12),
            handle: le::u32(b, 16),
            ioflag: le::u32(b, 20),
            mode: le::u32(b, 24),
            sflag: le::u16(b, 28),
            access: le::u16(b, 30),
            eflag: b[36],
            extra_type: b[37],
            path,
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Connect {
        Connect {
            subtype: super::super::subtype::OPEN,
            handle: 3,
            ioflag: 3 | libc::O_CREAT as u32,
            mode: 0o644,
            path: "dir/file".into(),
            ..Default::default()
        }
    }

    #[test]
    fn round_trip() {
        let c = sample();
        let b = c.encode().unwrap();
        assert_eq!(b.len(), CONNECT_LEN + 9);
        assert_eq!(Connect::decode(&b), Ok(c));
        let c = Connect { extra: vec![1, 2, 3], ..sample() };
        assert_eq!(Connect::decode(&c.encode().unwrap()), Ok(c));
        let c = Connect { path: String::new(), ..sample() };
        assert_eq!(Connect::decode(&c.encode().unwrap()), Ok(c));
    }

    #[test]
    fn malformed() {
        let b = sample().encode().unwrap();
        for n in 0..b.len() {
            assert!(Connect::decode(&b[..n]).is_err(), "{n} bytes");
        }
        let mut no_nul = b.clone();
        *no_nul.last_mut().unwrap() = b'x';
        assert_eq!(Connect::decode(&no_nul), Err(MsgError::BadField("path")));
        let mut zero_len = b.clone();
        zero_len[34] = 0;
        zero_len[35] = 0;
        assert!(Connect::decode(&zero_len).is_err());
        let mut long = b.clone();
        long[34] = 0xff;
        assert!(Connect::decode(&long).is_err());
        let mut extra = b;
        extra[38] = 4;
        assert!(Connect::decode(&extra).is_err());
        assert!(Connect { path: "a\0b".into(), ..sample() }.encode().is_err());
    }
}
