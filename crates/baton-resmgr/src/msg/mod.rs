//! The wire: QNX's `_IO_*` message types, their constants and layouts
//! (`sys/iomsg.h`, docs/RESMGR.md §3), with encoders and checked decoders.
//!
//! Every decoder takes the bytes a peer wrote and either returns a value or
//! a [`MsgError`]; none panics, whatever the bytes. Integers are
//! little-endian (the layouts are those of QNX on x86 and ARM).
//!
//! - `mod.rs`: the constants and the error type.
//! - `io.rs`: the fixed-size I/O messages (`_IO_READ` ... `_IO_CLOSE`,
//!   `_IO_CHMOD`, `_IO_CHOWN`) and their replies.
//! - `connect.rs`: `struct _io_connect` and its path.
//! - `stat.rs`: the reply of `_IO_STAT`, Linux's `struct stat`.
//! - `sigevent.rs`: the C `struct sigevent` `_IO_NOTIFY` carries.
//! - `dirent.rs`: the directory records a directory's `_IO_READ` returns.

mod connect;
mod dirent;
mod io;
pub mod sigevent;
mod stat;

pub use connect::{Connect, CONNECT_LEN};
pub use dirent::{DirentIter, DirentRecord, DirentWriter, DIRENT_HEADER_LEN};
pub use io::{
    Chmod, Chown, Close, Devctl, DevctlReply, IoHeader, Lseek, Notify, NotifyReply, Read, RwHeader, Space, StatRequest,
    Write, CHMOD_LEN, CHOWN_LEN, CLOSE_LEN, DEVCTL_LEN, DEVCTL_REPLY_LEN, IO_HEADER_LEN, LSEEK_LEN, NOTIFY_HEADER_LEN,
    NOTIFY_LEN, NOTIFY_REPLY_LEN, READ_LEN, SPACE_LEN, STAT_REQUEST_LEN, WRITE_LEN, XTYPE_OFFSET_LEN,
};
pub use stat::{Stat, STAT_LEN};

use std::fmt;

/// `_IO_BASE`: the first I/O message type.
pub const IO_BASE: u16 = 0x100;
/// `_IO_CONNECT`: open, unlink, mknod... by path.
pub const IO_CONNECT: u16 = 0x100;
/// `_IO_READ`.
pub const IO_READ: u16 = 0x101;
/// `_IO_WRITE`.
pub const IO_WRITE: u16 = 0x102;
/// `_IO_STAT`.
pub const IO_STAT: u16 = 0x104;
/// `_IO_NOTIFY` (select/poll).
pub const IO_NOTIFY: u16 = 0x105;
/// `_IO_DEVCTL`.
pub const IO_DEVCTL: u16 = 0x106;
/// `_IO_LSEEK`.
pub const IO_LSEEK: u16 = 0x109;
/// `_IO_CHMOD` (`chmod`, `fchmod`).
pub const IO_CHMOD: u16 = 0x10a;
/// `_IO_CHOWN` (`chown`, `fchown`).
pub const IO_CHOWN: u16 = 0x10b;
/// `_IO_SPACE` (`ftruncate`).
pub const IO_SPACE: u16 = 0x110;
/// `_IO_CLOSE`.
pub const IO_CLOSE: u16 = 0x116;
/// `_IO_MAX`: the last type reserved for I/O messages.
pub const IO_MAX: u16 = 0x1ff;

/// `_IO_COMBINE_FLAG`: set in `combine_len` when another message follows.
/// baton's clients never send one; servers answer it with `ENOSYS`.
pub const IO_COMBINE_FLAG: u16 = 0x8000;

/// `_IO_CONNECT` subtypes (`_IO_CONNECT_*`).
pub mod subtype {
    /// `_IO_CONNECT_COMBINE`.
    pub const COMBINE: u16 = 0;
    /// `_IO_CONNECT_COMBINE_CLOSE`.
    pub const COMBINE_CLOSE: u16 = 1;
    /// `_IO_CONNECT_OPEN`: `open()`.
    pub const OPEN: u16 = 2;
    /// `_IO_CONNECT_UNLINK`: `unlink()`, `rmdir()`.
    pub const UNLINK: u16 = 3;
    /// `_IO_CONNECT_RENAME`.
    pub const RENAME: u16 = 4;
    /// `_IO_CONNECT_MKNOD`: `mknod()`, `mkdir()` (mode with `S_IFDIR`).
    pub const MKNOD: u16 = 5;
    /// `_IO_CONNECT_READLINK`.
    pub const READLINK: u16 = 6;
    /// `_IO_CONNECT_LINK`.
    pub const LINK: u16 = 7;
    /// `_IO_CONNECT_MOUNT`.
    pub const MOUNT: u16 = 9;
}

/// `_IO_FLAG_RD`: the open allows reading (`ioflag`, the access mode plus one).
pub const IO_FLAG_RD: u32 = 1;
/// `_IO_FLAG_WR`: the open allows writing.
pub const IO_FLAG_WR: u32 = 2;
/// `_IO_FLAG_MASK`: the access bits of `ioflag`.
pub const IO_FLAG_MASK: u32 = 3;

/// `ioflag` for the `open(2)` flags `oflag`: the access mode plus one
/// (`O_RDONLY` → [`IO_FLAG_RD`], `O_WRONLY` → [`IO_FLAG_WR`], `O_RDWR` →
/// both), the other bits as Linux has them.
pub fn ioflag_from_oflag(oflag: i32) -> u32 {
    let acc = (oflag & libc::O_ACCMODE) as u32;
    ((oflag & !libc::O_ACCMODE) as u32) | ((acc + 1) & IO_FLAG_MASK)
}

/// `_FTYPE_ANY`.
pub const FTYPE_ANY: u32 = 0;

/// `_IO_CONNECT_EFLAG_DIR`: the path ended in `/`.
pub const CONNECT_EFLAG_DIR: u8 = 1;
/// `_IO_CONNECT_EFLAG_DOT`: the path ended in `/.`.
pub const CONNECT_EFLAG_DOT: u8 = 2;
/// `_IO_CONNECT_EFLAG_DOTDOT`: the path ended in `/..`.
pub const CONNECT_EFLAG_DOTDOT: u8 = 4;

/// `_IO_XTYPE_NONE`: a plain read or write.
pub const XTYPE_NONE: u32 = 0;
/// `_IO_XTYPE_OFFSET`: `pread`/`pwrite`: a `struct _xtype_offset` (the
/// offset, `i64`) follows the header, and the OCB's offset does not move.
pub const XTYPE_OFFSET: u32 = 5;
/// `_IO_XTYPE_MASK`: the type byte of `xtype`.
pub const XTYPE_MASK: u32 = 0xff;
/// `_IO_XFLAG_NONBLOCK`: the client opened with `O_NONBLOCK`; a server
/// that would block answers `EAGAIN`.
pub const XFLAG_NONBLOCK: u32 = 0x4000;
/// `_IO_XFLAG_BLOCK`: the client wants to block whatever its open flags.
pub const XFLAG_BLOCK: u32 = 0x8000;

/// `devctl` command encoding (`<devctl.h>`): direction bits, a size in bits
/// 16–29, a class in 8–15 and a command in 0–7.
pub mod dcmd {
    /// `DEVDIR_NONE`: no data either way.
    pub const DEVDIR_NONE: u32 = 0;
    /// `DEVDIR_TO`: data goes to the device (the request carries it).
    pub const DEVDIR_TO: u32 = 0x8000_0000;
    /// `DEVDIR_FROM`: data comes from the device (the reply carries it).
    pub const DEVDIR_FROM: u32 = 0x4000_0000;
    /// `DEVDIR_TOFROM`.
    pub const DEVDIR_TOFROM: u32 = DEVDIR_TO | DEVDIR_FROM;
    /// `DCMD_ALL_GETFLAGS`, `__DIOF(_DCMD_ALL, 0x101, int)`: the open's
    /// flags, which every device answers (`iofunc_devctl_default`). QNX's
    /// command number 0x101 carries into the class byte: 0x4004_0201.
    pub const ALL_GETFLAGS: u32 = DEVDIR_FROM | (4 << 16) | ((0x01 << 8) + 0x101);
    /// `DCMD_ALL_SETFLAGS`, `__DIOT(_DCMD_ALL, 0x102, int)`: sets the
    /// open's `O_NONBLOCK` and `O_APPEND` (0x8004_0202).
    pub const ALL_SETFLAGS: u32 = DEVDIR_TO | (4 << 16) | ((0x01 << 8) + 0x102);

    /// `__DION(class, cmd)`: a command without data.
    pub const fn dion(class: u8, cmd: u8) -> u32 {
        ((class as u32) << 8) | cmd as u32
    }
    /// `__DIOT(class, cmd, size)`: data to the device.
    pub const fn diot(class: u8, cmd: u8, size: u32) -> u32 {
        DEVDIR_TO | ((size & 0x3fff) << 16) | dion(class, cmd)
    }
    /// `__DIOF(class, cmd, size)`: data from the device.
    pub const fn diof(class: u8, cmd: u8, size: u32) -> u32 {
        DEVDIR_FROM | ((size & 0x3fff) << 16) | dion(class, cmd)
    }
    /// `__DIOTF(class, cmd, size)`: data both ways.
    pub const fn diotf(class: u8, cmd: u8, size: u32) -> u32 {
        DEVDIR_TOFROM | ((size & 0x3fff) << 16) | dion(class, cmd)
    }
    /// The data size encoded in `dcmd` (`get_device_size`).
    pub const fn size(dcmd: u32) -> u32 {
        (dcmd >> 16) & 0x3fff
    }
    /// The command without its size and direction (`get_device_command`).
    pub const fn command(dcmd: u32) -> u32 {
        dcmd & 0xffff
    }
}

/// `_IO_SPACE` subtypes (QNX's `<fcntl.h>` values).
pub mod space {
    /// `F_ALLOCSP`: the file holds at least the range.
    pub const ALLOCSP: u16 = 10;
    /// `F_FREESP`: the range is freed; one that reaches the end of the
    /// file (or `len` 0) makes the file end at its start (`ftruncate`,
    /// which may grow it).
    pub const FREESP: u16 = 11;
    /// `F_ALLOCSP64` (the message is the same).
    pub const ALLOCSP64: u16 = 110;
    /// `F_FREESP64` (what `ftruncate` sends).
    pub const FREESP64: u16 = 111;
}

/// `_IO_NOTIFY` actions and conditions (`<sys/iomsg.h>`).
pub mod notify {
    /// `_NOTIFY_ACTION_POLL`: report the conditions, arm nothing.
    pub const ACTION_POLL: i32 = 0;
    /// `_NOTIFY_ACTION_POLLARM`: report what holds; arm if none does.
    pub const ACTION_POLLARM: i32 = 1;
    /// `_NOTIFY_ACTION_TRANARM`: arm for the next transition, whatever
    /// holds now (the reply reports nothing).
    pub const ACTION_TRANARM: i32 = 2;
    /// `_NOTIFY_ACTION_CONDARM`: as `POLLARM` (report what holds; arm if
    /// none does), as the C framework does.
    pub const ACTION_CONDARM: i32 = 3;
    /// `_NOTIFY_ACTION_MASK`: the action bits of `action`.
    pub const ACTION_MASK: i32 = 0x3;
    /// `_NOTIFY_COND_MASK`: the condition bits of `flags`.
    pub const COND_MASK: u32 = 0xf000_0000;
    /// `_NOTIFY_COND_INPUT`: data to read.
    pub const COND_INPUT: u32 = 0x1000_0000;
    /// `_NOTIFY_COND_OUTPUT`: room to write.
    pub const COND_OUTPUT: u32 = 0x4000_0000;
    /// `_NOTIFY_COND_OBAND`: out-of-band data.
    pub const COND_OBAND: u32 = 0x8000_0000;
}

/// Why a message could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgError {
    /// Shorter than its type's fixed part, or than the lengths it gives.
    Short {
        /// Bytes the message needs.
        need: usize,
        /// Bytes it has.
        have: usize,
    },
    /// A length or count field out of range, or a path without its NUL.
    BadField(&'static str),
    /// Not the message type the decoder was asked for.
    WrongType(u16),
    /// `_IO_COMBINE_FLAG` is set: combined messages are not supported.
    Combined,
}

impl MsgError {
    /// The errno a server answers with: `EBADMSG` for a malformed message,
    /// `ENOSYS` for a combined one.
    pub fn errno(self) -> i32 {
        match self {
            MsgError::Combined => libc::ENOSYS,
            _ => libc::EBADMSG,
        }
    }
}

impl fmt::Display for MsgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgError::Short { need, have } => write!(f, "message too short: {have} bytes, needs {need}"),
            MsgError::BadField(what) => write!(f, "malformed message: bad {what}"),
            MsgError::WrongType(t) => write!(f, "unexpected message type {t:#x}"),
            MsgError::Combined => write!(f, "combined messages are not supported"),
        }
    }
}

impl std::error::Error for MsgError {}

/// Fails with [`MsgError::Short`] unless `bytes` holds `need` bytes.
pub(crate) fn need(bytes: &[u8], need: usize) -> Result<(), MsgError> {
    if bytes.len() < need {
        return Err(MsgError::Short { need, have: bytes.len() });
    }
    Ok(())
}

/// Little-endian field readers over a buffer already checked to be long
/// enough (`need`).
pub(crate) mod le {
    pub fn u16(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }
    pub fn u32(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }
    pub fn i32(b: &[u8], at: usize) -> i32 {
        u32(b, at) as i32
    }
    pub fn u64(b: &[u8], at: usize) -> u64 {
        u64::from(u32(b, at)) | (u64::from(u32(b, at + 4)) << 32)
    }
    pub fn i64(b: &[u8], at: usize) -> i64 {
        u64(b, at) as i64
    }
    pub fn put(b: &mut [u8], at: usize, v: &[u8]) {
        b[at..at + v.len()].copy_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioflag_is_access_mode_plus_one() {
        assert_eq!(ioflag_from_oflag(libc::O_RDONLY), IO_FLAG_RD);
        assert_eq!(ioflag_from_oflag(libc::O_WRONLY), IO_FLAG_WR);
        assert_eq!(ioflag_from_oflag(libc::O_RDWR), IO_FLAG_RD | IO_FLAG_WR);
        let f = ioflag_from_oflag(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC);
        assert_eq!(f & IO_FLAG_MASK, IO_FLAG_WR);
        assert_eq!(f & !IO_FLAG_MASK, (libc::O_CREAT | libc::O_TRUNC) as u32);
    }

    #[test]
    fn dcmd_fields() {
        let c = dcmd::diotf(b'Q', 7, 12);
        assert_eq!(c & dcmd::DEVDIR_TOFROM, dcmd::DEVDIR_TOFROM);
        assert_eq!(dcmd::size(c), 12);
        assert_eq!(dcmd::command(c), (u32::from(b'Q') << 8) | 7);
    }
}
