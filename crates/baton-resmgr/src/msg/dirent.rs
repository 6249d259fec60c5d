//! Directory records: what `_IO_READ` on a directory returns. Each is a QNX
//! `struct dirent` `{u64 d_ino; i64 d_offset; i16 d_reclen; i16 d_namelen;
//! char d_name[d_namelen + 1]}` padded to 8 bytes (`d_reclen` is the padded
//! size). A reply holds whole records only.

use super::{le, need, MsgError};

/// Bytes of a record before its name.
pub const DIRENT_HEADER_LEN: usize = 20;

/// Longest name a record holds (`d_namelen` is an `i16`).
const MAX_NAME: usize = i16::MAX as usize - DIRENT_HEADER_LEN - 8;

/// One directory record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirentRecord {
    /// `d_ino`.
    pub ino: u64,
    /// `d_offset`: the directory offset of this record (the entry's
    /// index, where a read from that offset returns it first).
    pub offset: i64,
    /// `d_name`.
    pub name: String,
}

impl DirentRecord {
    /// The padded size of a record for a name of `len` bytes.
    pub fn reclen(len: usize) -> usize {
        (DIRENT_HEADER_LEN + len + 1).next_multiple_of(8)
    }
}

/// Packs records into a reply of at most `room` bytes.
#[derive(Debug)]
pub struct DirentWriter<'a> {
    out: &'a mut Vec<u8>,
    room: usize,
    count: usize,
    full: bool,
}

impl<'a> DirentWriter<'a> {
    /// A writer appending to `out`, which may grow by `room` bytes at most.
    pub fn new(out: &'a mut Vec<u8>, room: usize) -> DirentWriter<'a> {
        DirentWriter { out, room, count: 0, full: false }
    }

    /// Appends a record; `false` (and nothing written) if it does not fit,
    /// after which the reply is complete. Names longer than a record holds,
    /// or with a NUL, are skipped (`true`, nothing written, but counted, so
    /// that offsets still count the directory's entries).
    pub fn push(&mut self, ino: u64, offset: i64, name: &str) -> bool {
        if self.full {
            return false;
        }
        if name.len() > MAX_NAME || name.as_bytes().contains(&0) {
            self.count += 1;
            return true;
        }
        let reclen = DirentRecord::reclen(name.len());
        if reclen > self.room {
            self.full = true;
            return false;
        }
        let at = self.out.len();
        self.out.resize(at + reclen, 0);
        let b = &mut self.out[at..];
        le::put(b, 0, &ino.to_le_bytes());
        le::put(b, 8, &offset.to_le_bytes());
        le::put(b, 16, &(reclen as i16).to_le_bytes());
        le::put(b, 18, &(name.len() as i16).to_le_bytes());
        le::put(b, DIRENT_HEADER_LEN, name.as_bytes());
        self.room -= reclen;
        self.count += 1;
        true
    }

    /// Entries taken: records written, plus names skipped.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether a record did not fit.
    pub fn is_full(&self) -> bool {
        self.full
    }
}

/// Reads the records of a reply, checking each.
#[derive(Debug, Clone)]
pub struct DirentIter<'a> {
    rest: &'a [u8],
}

impl<'a> DirentIter<'a> {
    /// The records in `bytes`.
    pub fn new(bytes: &'a [u8]) -> DirentIter<'a> {
        DirentIter { rest: bytes }
    }
}

impl Iterator for DirentIter<'_> {
    type Item = Result<DirentRecord, MsgError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        let r = (|| {
            need(b, DIRENT_HEADER_LEN)?;
            let reclen = usize::try_from(le::u16(b, 16) as i16).map_err(|_| MsgError::BadField("d_reclen"))?;
            let namelen = usize::try_from(le::u16(b, 18) as i16).map_err(|_| MsgError::BadField("d_namelen"))?;
            if reclen < DIRENT_HEADER_LEN + namelen + 1 {
                return Err(MsgError::BadField("d_reclen"));
            }
            need(b, reclen)?;
            let name = &b[DIRENT_HEADER_LEN..DIRENT_HEADER_LEN + namelen];
            let name = std::str::from_utf8(name).map_err(|_| MsgError::BadField("d_name"))?;
            let rec = DirentRecord { ino: le::u64(b, 0), offset: le::i64(b, 8), name: name.to_string() };
            Ok((rec, reclen))
        })();
        match r {
            Ok((rec, reclen)) => {
                self.rest = &b[reclen..];
                Some(Ok(rec))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_and_read() {
        let mut out = Vec::new();
        let mut w = DirentWriter::new(&mut out, 64);
        assert!(w.push(1, 1, "a"));
        assert!(w.push(2, 2, "longer-name"));
        assert!(!w.push(3, 3, "does-not-fit-any-more"));
        assert!(!w.push(4, 4, "x"));
        assert_eq!(w.count(), 2);
        assert_eq!(out.len(), 24 + 32);
        let recs: Vec<_> = DirentIter::new(&out).collect::<Result<_, _>>().unwrap();
        assert_eq!(recs[0], DirentRecord { ino: 1, offset: 1, name: "a".into() });
        assert_eq!(recs[1].name, "longer-name");
        for n in 1..out.len() {
            if n != 24 {
                assert!(DirentIter::new(&out[..n]).any(|r| r.is_err()), "{n} bytes");
            }
        }
        let mut bad = out.clone();
        bad[16] = 8;
        assert!(DirentIter::new(&bad).next().unwrap().is_err());
    }
}
