//! The fixed-size I/O messages (`struct _io_read`, `_io_write`, `_io_stat`,
//! `_io_notify`, `_io_devctl`, `_io_lseek`, `_io_close`) and their replies.
//! Each starts with `{u16 type; u16 combine_len}`; `combine_len` is the
//! header's own size.

use super::sigevent::{self, SIGEVENT_LEN};
use super::{
    le, need, MsgError, IO_CLOSE, IO_COMBINE_FLAG, IO_DEVCTL, IO_LSEEK, IO_NOTIFY, IO_READ, IO_SPACE, IO_STAT, IO_WRITE,
};

/// Bytes of `{type, combine_len}`.
pub const IO_HEADER_LEN: usize = 4;
/// Bytes of `struct _io_read`.
pub const READ_LEN: usize = 16;
/// Bytes of `struct _io_write` (the data follows).
pub const WRITE_LEN: usize = 16;
/// Bytes of `struct _io_stat`.
pub const STAT_REQUEST_LEN: usize = 8;
/// Bytes of `struct _io_notify`: header, action, flags, padding, then the
/// C `struct sigevent` at 16 (its native alignment).
pub const NOTIFY_LEN: usize = NOTIFY_HEADER_LEN + SIGEVENT_LEN;
/// Bytes of `struct _io_notify` before its event: the shortest notify
/// message (a poll without an event, as a C server takes it).
pub const NOTIFY_HEADER_LEN: usize = 16;
/// Bytes of `struct _io_notify_reply`.
pub const NOTIFY_REPLY_LEN: usize = 8;
/// Bytes of `struct _io_devctl` (the data, if `DEVDIR_TO`, follows).
pub const DEVCTL_LEN: usize = 16;
/// Bytes of `struct _io_devctl_reply` (the data, if `DEVDIR_FROM`, follows).
pub const DEVCTL_REPLY_LEN: usize = 16;
/// Bytes of `struct _io_lseek`.
pub const LSEEK_LEN: usize = 16;
/// Bytes of `struct _io_close`.
pub const CLOSE_LEN: usize = 4;
/// Bytes of `struct _io_space`.
pub const SPACE_LEN: usize = 24;

/// The header every I/O message starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoHeader {
    /// The message type (`_IO_*`).
    pub ty: u16,
    /// The header's size, with [`IO_COMBINE_FLAG`] if a message follows.
    pub combine_len: u16,
}

impl IoHeader {
    /// Reads the header; [`MsgError::Combined`] for a combined message.
    pub fn decode(b: &[u8]) -> Result<IoHeader, MsgError> {
        need(b, IO_HEADER_LEN)?;
        let h = IoHeader { ty: le::u16(b, 0), combine_len: le::u16(b, 2) };
        if h.combine_len & IO_COMBINE_FLAG != 0 {
            return Err(MsgError::Combined);
        }
        Ok(h)
    }
}

/// Checks the type and length of a fixed-size message.
fn fixed(b: &[u8], ty: u16, len: usize) -> Result<(), MsgError> {
    let h = IoHeader::decode(b)?;
    if h.ty != ty {
        return Err(MsgError::WrongType(h.ty));
    }
    need(b, len)
}

/// Writes the header of a fixed-size message into `out`.
fn header(out: &mut [u8], ty: u16) {
    le::put(out, 0, &ty.to_le_bytes());
    le::put(out, 2, &(out.len() as u16).to_le_bytes());
}

/// `_IO_READ`: read up to `nbytes` at the OCB's offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    /// Bytes wanted (never negative once decoded).
    pub nbytes: i32,
    /// `_IO_XTYPE_*` plus `_IO_XFLAG_*`.
    pub xtype: u32,
}

impl Read {
    /// The message's bytes.
    pub fn encode(&self) -> [u8; READ_LEN] {
        let mut out = [0u8; READ_LEN];
        header(&mut out, IO_READ);
        le::put(&mut out, 4, &self.nbytes.to_le_bytes());
        le::put(&mut out, 8, &self.xtype.to_le_bytes());
        out
    }

    /// Decodes and checks a read request.
    pub fn decode(b: &[u8]) -> Result<Read, MsgError> {
        fixed(b, IO_READ, READ_LEN)?;
        let r = Read { nbytes: le::i32(b, 4), xtype: le::u32(b, 8) };
        if r.nbytes < 0 {
            return Err(MsgError::BadField("nbytes"));
        }
        Ok(r)
    }
}

/// `_IO_WRITE`: write `nbytes` (which follow the header) at the OCB's
/// offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Write {
    /// Bytes that follow the header.
    pub nbytes: i32,
    /// `_IO_XTYPE_*` plus `_IO_XFLAG_*`.
    pub xtype: u32,
}

impl Write {
    /// The header's bytes (the data is sent after them).
    pub fn encode(&self) -> [u8; WRITE_LEN] {
        let mut out = [0u8; WRITE_LEN];
        header(&mut out, IO_WRITE);
        le::put(&mut out, 4, &self.nbytes.to_le_bytes());
        le::put(&mut out, 8, &self.xtype.to_le_bytes());
        out
    }

    /// Decodes a write header from `b`, checking that the whole message
    /// (`total` bytes as the client sent it) holds the data it announces.
    pub fn decode(b: &[u8], total: usize) -> Result<Write, MsgError> {
        fixed(b, IO_WRITE, WRITE_LEN)?;
        let w = Write { nbytes: le::i32(b, 4), xtype: le::u32(b, 8) };
        let n = usize::try_from(w.nbytes).map_err(|_| MsgError::BadField("nbytes"))?;
        if total < WRITE_LEN + n {
            return Err(MsgError::Short { need: WRITE_LEN + n, have: total });
        }
        Ok(w)
    }
}

/// `_IO_STAT`: the reply is a [`Stat`](super::Stat).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatRequest;

impl StatRequest {
    /// The message's bytes.
    pub fn encode(&self) -> [u8; STAT_REQUEST_LEN] {
        let mut out = [0u8; STAT_REQUEST_LEN];
        header(&mut out, IO_STAT);
        out
    }

    /// Checks a stat request.
    pub fn decode(b: &[u8]) -> Result<StatRequest, MsgError> {
        fixed(b, IO_STAT, STAT_REQUEST_LEN).map(|()| StatRequest)
    }
}

/// `_IO_NOTIFY`: which conditions hold (and arm an event for later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notify {
    /// `_NOTIFY_ACTION_*` ([`notify`](super::notify)).
    pub action: i32,
    /// The conditions asked about (`_NOTIFY_COND_*`).
    pub flags: u32,
    /// The C `struct sigevent` to deliver, as the client sent it
    /// ([`Notify::event`] decodes it).
    pub event: [u8; SIGEVENT_LEN],
}

impl Notify {
    /// A request for `action` on `flags` with `event`.
    pub fn new(action: i32, flags: u32, event: &baton::Event) -> Notify {
        Notify { action, flags, event: sigevent::encode(event) }
    }

    /// The message's bytes.
    pub fn encode(&self) -> [u8; NOTIFY_LEN] {
        let mut out = [0u8; NOTIFY_LEN];
        header(&mut out, IO_NOTIFY);
        le::put(&mut out, 4, &self.action.to_le_bytes());
        le::put(&mut out, 8, &self.flags.to_le_bytes());
        le::put(&mut out, NOTIFY_HEADER_LEN, &self.event);
        out
    }

    /// Decodes a notify request. A message that stops before the whole
    /// event carries none (`SIGEV_NONE`).
    pub fn decode(b: &[u8]) -> Result<Notify, MsgError> {
        fixed(b, IO_NOTIFY, NOTIFY_HEADER_LEN)?;
        let event = match b.get(NOTIFY_HEADER_LEN..NOTIFY_LEN) {
            Some(e) => e.try_into().expect("SIGEVENT_LEN bytes"),
            None => sigevent::encode(&baton::Event::None),
        };
        Ok(Notify { action: le::i32(b, 4), flags: le::u32(b, 8), event })
    }

    /// The action without its other bits (`_NOTIFY_ACTION_MASK`).
    pub fn action(&self) -> i32 {
        self.action & super::notify::ACTION_MASK
    }

    /// The event to arm, decoded; `BadField` for one baton cannot deliver.
    pub fn event(&self) -> Result<baton::Event, MsgError> {
        sigevent::decode(&self.event)
    }
}

/// `struct _io_notify_reply`: the conditions that hold now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotifyReply {
    /// `_NOTIFY_COND_*` bits.
    pub flags: u32,
}

impl NotifyReply {
    /// The reply's bytes.
    pub fn encode(&self) -> [u8; NOTIFY_REPLY_LEN] {
        let mut out = [0u8; NOTIFY_REPLY_LEN];
        le::put(&mut out, 4, &self.flags.to_le_bytes());
        out
    }

    /// Decodes a notify reply.
    pub fn decode(b: &[u8]) -> Result<NotifyReply, MsgError> {
        need(b, NOTIFY_REPLY_LEN)?;
        Ok(NotifyReply { flags: le::u32(b, 4) })
    }
}

/// `_IO_DEVCTL`: a device command; `nbytes` of data follow if `dcmd` has
/// `DEVDIR_TO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Devctl {
    /// The command ([`dcmd`](super::dcmd)).
    pub dcmd: u32,
    /// Bytes of data (sent, or room for the answer).
    pub nbytes: i32,
}

impl Devctl {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; DEVCTL_LEN] {
        let mut out = [0u8; DEVCTL_LEN];
        header(&mut out, IO_DEVCTL);
        le::put(&mut out, 4, &self.dcmd.to_le_bytes());
        le::put(&mut out, 8, &self.nbytes.to_le_bytes());
        out
    }

    /// Decodes a devctl header; `total` is the whole message's length,
    /// which must hold the data when the command sends some.
    pub fn decode(b: &[u8], total: usize) -> Result<Devctl, MsgError> {
        fixed(b, IO_DEVCTL, DEVCTL_LEN)?;
        let d = Devctl { dcmd: le::u32(b, 4), nbytes: le::i32(b, 8) };
        let n = usize::try_from(d.nbytes).map_err(|_| MsgError::BadField("nbytes"))?;
        if d.dcmd & super::dcmd::DEVDIR_TO != 0 && total < DEVCTL_LEN + n {
            return Err(MsgError::Short { need: DEVCTL_LEN + n, have: total });
        }
        Ok(d)
    }
}

/// `struct _io_devctl_reply`, before the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevctlReply {
    /// What `devctl()`'s `info` receives.
    pub ret_val: i32,
    /// Bytes of data that follow.
    pub nbytes: i32,
}

impl DevctlReply {
    /// The reply header's bytes.
    pub fn encode(&self) -> [u8; DEVCTL_REPLY_LEN] {
        let mut out = [0u8; DEVCTL_REPLY_LEN];
        le::put(&mut out, 4, &self.ret_val.to_le_bytes());
        le::put(&mut out, 8, &self.nbytes.to_le_bytes());
        out
    }

    /// Decodes a devctl reply header.
    pub fn decode(b: &[u8]) -> Result<DevctlReply, MsgError> {
        need(b, DEVCTL_REPLY_LEN)?;
        Ok(DevctlReply { ret_val: le::i32(b, 4), nbytes: le::i32(b, 8) })
    }
}

/// `_IO_LSEEK`: move the OCB's offset; the reply is the new offset (`u64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lseek {
    /// `SEEK_SET`, `SEEK_CUR` or `SEEK_END`.
    pub whence: i16,
    /// The offset (signed for `SEEK_CUR`/`SEEK_END`).
    pub offset: i64,
}

impl Lseek {
    /// The message's bytes.
    pub fn encode(&self) -> [u8; LSEEK_LEN] {
        let mut out = [0u8; LSEEK_LEN];
        header(&mut out, IO_LSEEK);
        le::put(&mut out, 4, &self.whence.to_le_bytes());
        le::put(&mut out, 8, &self.offset.to_le_bytes());
        out
    }

    /// Decodes a seek request.
    pub fn decode(b: &[u8]) -> Result<Lseek, MsgError> {
        fixed(b, IO_LSEEK, LSEEK_LEN)?;
        Ok(Lseek { whence: le::u16(b, 4) as i16, offset: le::i64(b, 8) })
    }
}

/// `_IO_SPACE`: allocate or free the file's space over a range
/// (`ftruncate`, `fcntl(F_FREESP)`); the reply is the new size (`u64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Space {
    /// `F_ALLOCSP`/`F_FREESP` (or their `64` forms: [`space`](super::space)).
    pub subtype: u16,
    /// `SEEK_SET`, `SEEK_CUR` or `SEEK_END`: what `start` counts from.
    pub whence: i16,
    /// The range's start (signed for `SEEK_CUR`/`SEEK_END`).
    pub start: i64,
    /// The range's length; 0: to the end of the file.
    pub len: u64,
}

impl Space {
    /// The message's bytes.
    pub fn encode(&self) -> [u8; SPACE_LEN] {
        let mut out = [0u8; SPACE_LEN];
        header(&mut out, IO_SPACE);
        le::put(&mut out, 4, &self.subtype.to_le_bytes());
        le::put(&mut out, 6, &self.whence.to_le_bytes());
        le::put(&mut out, 8, &self.start.to_le_bytes());
        le::put(&mut out, 16, &self.len.to_le_bytes());
        out
    }

    /// Decodes a space request.
    pub fn decode(b: &[u8]) -> Result<Space, MsgError> {
        fixed(b, IO_SPACE, SPACE_LEN)?;
        Ok(Space { subtype: le::u16(b, 4), whence: le::u16(b, 6) as i16, start: le::i64(b, 8), len: le::u64(b, 16) })
    }
}

/// `_IO_CLOSE`: the open ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Close;

impl Close {
    /// The message's bytes.
    pub fn encode(&self) -> [u8; CLOSE_LEN] {
        let mut out = [0u8; CLOSE_LEN];
        header(&mut out, IO_CLOSE);
        out
    }

    /// Checks a close request.
    pub fn decode(b: &[u8]) -> Result<Close, MsgError> {
        fixed(b, IO_CLOSE, CLOSE_LEN).map(|()| Close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let r = Read { nbytes: 4096, xtype: crate::msg::XFLAG_NONBLOCK };
        assert_eq!(Read::decode(&r.encode()), Ok(r));
        let w = Write { nbytes: 3, xtype: 0 };
        assert_eq!(Write::decode(&w.encode(), WRITE_LEN + 3), Ok(w));
        let l = Lseek { whence: libc::SEEK_END as i16, offset: -5 };
        assert_eq!(Lseek::decode(&l.encode()), Ok(l));
        let d = Devctl { dcmd: crate::msg::dcmd::diotf(1, 2, 8), nbytes: 8 };
        assert_eq!(Devctl::decode(&d.encode(), DEVCTL_LEN + 8), Ok(d));
        let dr = DevctlReply { ret_val: -7, nbytes: 8 };
        assert_eq!(DevctlReply::decode(&dr.encode()), Ok(dr));
        let n = Notify::new(1, 0x1000_0000, &baton::Event::pulse(3, -1, 5, 9));
        assert_eq!(Notify::decode(&n.encode()), Ok(n));
        assert_eq!(n.event(), Ok(baton::Event::pulse(3, -1, 5, 9)));
        // A poll without its event (a C client may send the header only).
        let short = Notify::decode(&n.encode()[..NOTIFY_HEADER_LEN]).unwrap();
        assert_eq!((short.action(), short.flags, short.event()), (1, 0x1000_0000, Ok(baton::Event::None)));
        assert_eq!(NotifyReply::decode(&NotifyReply { flags: 5 }.encode()), Ok(NotifyReply { flags: 5 }));
        assert_eq!(Close::decode(&Close.encode()), Ok(Close));
        let s = Space { subtype: crate::msg::space::FREESP64, whence: libc::SEEK_END as i16, start: -3, len: 0 };
        assert_eq!(Space::decode(&s.encode()), Ok(s));
        assert!(Space::decode(&s.encode()[..SPACE_LEN - 1]).is_err());
        assert_eq!(StatRequest::decode(&StatRequest.encode()), Ok(StatRequest));
        assert_eq!(u16::from_le_bytes([r.encode()[2], r.encode()[3]]), READ_LEN as u16);
    }

    #[test]
    fn short_and_bad_messages_are_errors() {
        let r = Read { nbytes: 1, xtype: 0 }.encode();
        for n in 0..READ_LEN {
            assert!(Read::decode(&r[..n]).is_err(), "{n} bytes");
        }
        assert_eq!(Read::decode(&Read { nbytes: -1, xtype: 0 }.encode()), Err(MsgError::BadField("nbytes")));
        assert_eq!(
            Write::decode(&Write { nbytes: 10, xtype: 0 }.encode(), WRITE_LEN + 9).map(|_| ()).unwrap_err().errno(),
            libc::EBADMSG
        );
        assert_eq!(
            Close::decode(&Read { nbytes: 1, xtype: 0 }.encode()),
            Err(MsgError::WrongType(crate::msg::IO_READ))
        );
        let mut c = Close.encode();
        c[3] |= 0x80;
        assert_eq!(IoHeader::decode(&c).unwrap_err().errno(), libc::ENOSYS);
        let d = Devctl { dcmd: crate::msg::dcmd::diot(1, 1, 4), nbytes: 4 };
        assert!(Devctl::decode(&d.encode(), DEVCTL_LEN).is_err());
        let d = Devctl { dcmd: crate::msg::dcmd::diof(1, 1, 4), nbytes: 4 };
        assert!(Devctl::decode(&d.encode(), DEVCTL_LEN).is_ok());
    }
}
