//! The fixed-size I/O messages (`struct _io_read`, `_io_write`, `_io_stat`,
//! `_io_notify`, `_io_devctl`, `_io_lseek`, `_io_space`, `_io_chmod`,
//! `_io_chown`, `_io_close`) and their replies. Each starts with
//! `{u16 type; u16 combine_len}`; `combine_len` is the header's own size.
//! A read or write of `_IO_XTYPE_OFFSET` (`pread`, `pwrite`) carries a
//! `struct _xtype_offset` after its header.

use super::sigevent::{self, SIGEVENT_LEN};
use super::{
    le, need, MsgError, IO_CHMOD, IO_CHOWN, IO_CLOSE, IO_COMBINE_FLAG, IO_DEVCTL, IO_LSEEK, IO_NOTIFY, IO_READ,
    IO_SPACE, IO_STAT, IO_WRITE, XTYPE_MASK, XTYPE_OFFSET,
};
use std::ops::Deref;

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
/// Bytes of `struct _io_chmod`.
pub const CHMOD_LEN: usize = 8;
/// Bytes of `struct _io_chown`.
pub const CHOWN_LEN: usize = 12;
/// Bytes of `struct _xtype_offset` (an `i64`), which follows the header of
/// a read or write of `_IO_XTYPE_OFFSET`.
pub const XTYPE_OFFSET_LEN: usize = 8;

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

/// The header of a read or write as sent: 16 bytes, or 24 with the
/// `struct _xtype_offset` of a `pread`/`pwrite`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RwHeader {
    bytes: [u8; READ_LEN + XTYPE_OFFSET_LEN],
    len: usize,
}

impl Deref for RwHeader {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Encodes a read or write header of type `ty`: `_xtype_offset` follows
/// when `offset` is given (`combine_len` counts it: it is part of the
/// message's fixed part).
fn rw_encode(ty: u16, nbytes: i32, xtype: u32, offset: Option<i64>) -> RwHeader {
    let mut bytes = [0u8; READ_LEN + XTYPE_OFFSET_LEN];
    let len = READ_LEN + offset.map_or(0, |_| XTYPE_OFFSET_LEN);
    header(&mut bytes[..len], ty);
    le::put(&mut bytes, 4, &nbytes.to_le_bytes());
    le::put(&mut bytes, 8, &xtype.to_le_bytes());
    if let Some(off) = offset {
        le::put(&mut bytes, READ_LEN, &off.to_le_bytes());
    }
    RwHeader { bytes, len }
}

/// Decodes `{nbytes, xtype}` and, for `_IO_XTYPE_OFFSET`, the offset
/// after the header (a message too short for it is `Short`).
fn rw_decode(b: &[u8], ty: u16) -> Result<(i32, u32, Option<i64>), MsgError> {
    fixed(b, ty, READ_LEN)?;
    let (nbytes, xtype) = (le::i32(b, 4), le::u32(b, 8));
    if nbytes < 0 {
        return Err(MsgError::BadField("nbytes"));
    }
    let offset = if xtype & XTYPE_MASK == XTYPE_OFFSET {
        need(b, READ_LEN + XTYPE_OFFSET_LEN)?;
        Some(le::i64(b, READ_LEN))
    } else {
        None
    };
    Ok((nbytes, xtype, offset))
}

/// `_IO_READ`: read up to `nbytes` at the OCB's offset, or at `offset`
/// (`pread`: `_IO_XTYPE_OFFSET`; the OCB's offset does not move).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    /// Bytes wanted (never negative once decoded).
    pub nbytes: i32,
    /// `_IO_XTYPE_*` plus `_IO_XFLAG_*`.
    pub xtype: u32,
    /// The `struct _xtype_offset` that follows the header: present
    /// exactly when the xtype is `_IO_XTYPE_OFFSET` (once decoded, or as
    /// [`Read::at`] makes it).
    pub offset: Option<i64>,
}

impl Read {
    /// A read at the OCB's offset with `xtype` (`_IO_XTYPE_NONE` plus flags).
    pub fn new(nbytes: i32, xtype: u32) -> Read {
        Read { nbytes, xtype, offset: None }
    }

    /// A `pread` at `offset`: `_IO_XTYPE_OFFSET` with the `_IO_XFLAG_*`
    /// bits of `xflags`.
    pub fn at(nbytes: i32, xflags: u32, offset: i64) -> Read {
        Read { nbytes, xtype: XTYPE_OFFSET | (xflags & !XTYPE_MASK), offset: Some(offset) }
    }

    /// The message's bytes (16, or 24 with an offset).
    pub fn encode(&self) -> RwHeader {
        rw_encode(IO_READ, self.nbytes, self.xtype, self.offset)
    }

    /// Decodes and checks a read request.
    pub fn decode(b: &[u8]) -> Result<Read, MsgError> {
        let (nbytes, xtype, offset) = rw_decode(b, IO_READ)?;
        Ok(Read { nbytes, xtype, offset })
    }
}

/// `_IO_WRITE`: write `nbytes` (which follow the header) at the OCB's
/// offset, or at `offset` (`pwrite`: `_IO_XTYPE_OFFSET`, the data after
/// the `struct _xtype_offset`; the OCB's offset does not move).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Write {
    /// Bytes that follow the header.
    pub nbytes: i32,
    /// `_IO_XTYPE_*` plus `_IO_XFLAG_*`.
    pub xtype: u32,
    /// As [`Read::offset`].
    pub offset: Option<i64>,
}

impl Write {
    /// A write at the OCB's offset with `xtype` (`_IO_XTYPE_NONE` plus flags).
    pub fn new(nbytes: i32, xtype: u32) -> Write {
        Write { nbytes, xtype, offset: None }
    }

    /// A `pwrite` at `offset`, as [`Read::at`].
    pub fn at(nbytes: i32, xflags: u32, offset: i64) -> Write {
        Write { nbytes, xtype: XTYPE_OFFSET | (xflags & !XTYPE_MASK), offset: Some(offset) }
    }

    /// Where the data starts: after the header and its offset, if any.
    pub fn data_start(&self) -> usize {
        WRITE_LEN + self.offset.map_or(0, |_| XTYPE_OFFSET_LEN)
    }

    /// The header's bytes (the data is sent after them).
    pub fn encode(&self) -> RwHeader {
        rw_encode(IO_WRITE, self.nbytes, self.xtype, self.offset)
    }

    /// Decodes a write header from `b`, checking that the whole message
    /// (`total` bytes as the client sent it) holds the data it announces.
    pub fn decode(b: &[u8], total: usize) -> Result<Write, MsgError> {
        let (nbytes, xtype, offset) = rw_decode(b, IO_WRITE)?;
        let w = Write { nbytes, xtype, offset };
        let need = w.data_start() + nbytes as usize;
        if total < need {
            return Err(MsgError::Short { need, have: total });
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

/// `_IO_CHMOD`: set the file's permission bits (`chmod`, `fchmod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chmod {
    /// The new mode (the file type bits are ignored).
    pub mode: u32,
}

impl Chmod {
    /// The message's bytes.
    pub fn encode(&self) -> [u8; CHMOD_LEN] {
        let mut out = [0u8; CHMOD_LEN];
        header(&mut out, IO_CHMOD);
        le::put(&mut out, 4, &self.mode.to_le_bytes());
        out
    }

    /// Decodes a chmod request.
    pub fn decode(b: &[u8]) -> Result<Chmod, MsgError> {
        fixed(b, IO_CHMOD, CHMOD_LEN)?;
        Ok(Chmod { mode: le::u32(b, 4) })
    }
}

/// `_IO_CHOWN`: set the file's owner and group (`chown`, `fchown`); QNX
/// puts `gid` first. -1 leaves an id as it is (POSIX `chown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chown {
    /// The new group, -1 for no change.
    pub gid: i32,
    /// The new owner, -1 for no change.
    pub uid: i32,
}

impl Chown {
    /// A request from optional ids (`None`: -1, no change).
    pub fn new(uid: Option<u32>, gid: Option<u32>) -> Chown {
        Chown { uid: uid.map_or(-1, |u| u as i32), gid: gid.map_or(-1, |g| g as i32) }
    }

    /// The owner asked for, `None` for no change.
    pub fn uid(&self) -> Option<u32> {
        (self.uid != -1).then_some(self.uid as u32)
    }

    /// The group asked for, `None` for no change.
    pub fn gid(&self) -> Option<u32> {
        (self.gid != -1).then_some(self.gid as u32)
    }

    /// The message's bytes.
    pub fn encode(&self) -> [u8; CHOWN_LEN] {
        let mut out = [0u8; CHOWN_LEN];
        header(&mut out, IO_CHOWN);
        le::put(&mut out, 4, &self.gid.to_le_bytes());
        le::put(&mut out, 8, &self.uid.to_le_bytes());
        out
    }

    /// Decodes a chown request.
    pub fn decode(b: &[u8]) -> Result<Chown, MsgError> {
        fixed(b, IO_CHOWN, CHOWN_LEN)?;
        Ok(Chown { gid: le::i32(b, 4), uid: le::i32(b, 8) })
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
        let r = Read::new(4096, crate::msg::XFLAG_NONBLOCK);
        assert_eq!(Read::decode(&r.encode()), Ok(r));
        let w = Write::new(3, 0);
        assert_eq!(Write::decode(&w.encode(), WRITE_LEN + 3), Ok(w));
        // pread/pwrite: the offset follows the header, combine_len counts it.
        let pr = Read::at(10, crate::msg::XFLAG_NONBLOCK, 1 << 40);
        assert_eq!((pr.encode().len(), pr.encode()[2]), (24, 24));
        assert_eq!(pr.xtype, crate::msg::XTYPE_OFFSET | crate::msg::XFLAG_NONBLOCK);
        assert_eq!(Read::decode(&pr.encode()), Ok(pr));
        let pw = Write::at(3, 0, 7);
        assert_eq!((pw.data_start(), Write::decode(&pw.encode(), 27)), (24, Ok(pw)));
        assert!(Write::decode(&pw.encode(), 26).is_err(), "the data is counted after the offset");
        let c = Chmod { mode: 0o4755 };
        assert_eq!(Chmod::decode(&c.encode()), Ok(c));
        let o = Chown::new(Some(7), None);
        assert_eq!((Chown::decode(&o.encode()), o.uid(), o.gid()), (Ok(o), Some(7), None));
        assert_eq!(&o.encode()[4..8], &(-1i32).to_le_bytes(), "gid first, as QNX lays it out");
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
        let r = Read::new(1, 0).encode();
        for n in 0..READ_LEN {
            assert!(Read::decode(&r[..n]).is_err(), "{n} bytes");
        }
        let pr = Read::at(1, 0, 5).encode();
        for n in 0..pr.len() {
            assert!(Read::decode(&pr[..n]).is_err(), "pread of {n} bytes");
        }
        let pw = Write::at(0, 0, 5).encode();
        assert_eq!(Write::decode(&pw[..WRITE_LEN], usize::MAX).unwrap_err().errno(), libc::EBADMSG);
        for (bytes, len) in
            [(&Chmod { mode: 0 }.encode()[..], CHMOD_LEN), (&Chown::new(None, None).encode()[..], CHOWN_LEN)]
        {
            assert!(Chmod::decode(&bytes[..len - 1]).is_err() && Chown::decode(&bytes[..len - 1]).is_err());
        }
        assert_eq!(Read::decode(&Read::new(-1, 0).encode()), Err(MsgError::BadField("nbytes")));
        assert_eq!(
            Write::decode(&Write::new(10, 0).encode(), WRITE_LEN + 9).map(|_| ()).unwrap_err().errno(),
            libc::EBADMSG
        );
        assert_eq!(Close::decode(&Read::new(1, 0).encode()), Err(MsgError::WrongType(crate::msg::IO_READ)));
        let mut c = Close.encode();
        c[3] |= 0x80;
        assert_eq!(IoHeader::decode(&c).unwrap_err().errno(), libc::ENOSYS);
        let d = Devctl { dcmd: crate::msg::dcmd::diot(1, 1, 4), nbytes: 4 };
        assert!(Devctl::decode(&d.encode(), DEVCTL_LEN).is_err());
        let d = Devctl { dcmd: crate::msg::dcmd::diof(1, 1, 4), nbytes: 4 };
        assert!(Devctl::decode(&d.encode(), DEVCTL_LEN).is_ok());
    }
}
