//! Resolving a path to a server and sending it `_IO_CONNECT` (RESMGR.md §1):
//! the matches of `baton::paths::resolve` are tried in order; a dead
//! server (`ESRCH`, `EBADF`, `ECONNREFUSED`, `ENOENT` from the connect) or
//! an `ENOENT` answer moves on to the next (QNX union mounts); any other
//! answer ends the search. Calls by path that need an open (`stat`,
//! `chmod`, `chown`) open for no access, send their message and close, as
//! QNX's libc does with a combined message.

use super::{call, errno, File};
use crate::msg::{self, subtype, Connect, Stat};
use baton::Connection;
use std::io::{self, IoSlice};
use std::time::Duration;

/// Errors after which the next match is tried.
fn falls_through(errno: i32) -> bool {
    matches!(errno, libc::ESRCH | libc::EBADF | libc::ECONNREFUSED | libc::ENOENT)
}

/// Resolves `path` and sends `req` (its `handle` and `path` filled in per
/// match) to each server in turn. Returns the connection of the server
/// that accepted it.
fn connect(path: &str, req: &mut Connect, timeout: Option<Duration>) -> io::Result<Connection> {
    let matches = baton::paths::resolve(path).map_err(|e| errno(e.errno()))?;
    if path.len() > 1 && path.ends_with('/') {
        req.eflag |= msg::CONNECT_EFLAG_DIR;
    }
    let mut last = errno(libc::ENOENT);
    for m in matches {
        let conn = match Connection::attach(m.pid, m.chid) {
            Ok(c) => c,
            Err(e) if falls_through(e.errno()) => {
                last = errno(e.errno());
                continue;
            }
            Err(e) => return Err(errno(e.errno())),
        };
        req.handle = m.id;
        req.path = m.rest;
        let bytes = req.encode().map_err(|_| errno(libc::ENAMETOOLONG))?;
        match call(&conn, timeout, &[IoSlice::new(&bytes)], &mut []) {
            Ok(_) => return Ok(conn),
            Err(e) if e.raw_os_error().is_some_and(falls_through) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// `open(path, oflag, mode)`: the `File` for the server that accepted it.
pub(super) fn open_oflag(path: &str, oflag: i32, mode: u32, timeout: Option<Duration>) -> io::Result<File> {
    let mut req = Connect {
        subtype: subtype::OPEN,
        file_type: msg::FTYPE_ANY,
        ioflag: msg::ioflag_from_oflag(oflag),
        mode: (mode & 0o7777) | libc::S_IFREG,
        ..Default::default()
    };
    let conn = connect(path, &mut req, timeout)?;
    Ok(File::new(conn, timeout, oflag))
}

/// An open of `path` for no access (`ioflag` 0: no read or write
/// permission needed), for calls on the file itself.
fn open_bare(path: &str) -> io::Result<File> {
    let mut req = Connect { subtype: subtype::OPEN, ..Default::default() };
    let conn = connect(path, &mut req, None)?;
    Ok(File::new(conn, None, 0))
}

/// The status of `path`. Corresponds to `stat()`: an open for no access,
/// `_IO_STAT`, close.
pub fn stat(path: &str) -> io::Result<Stat> {
    open_bare(path)?.stat()
}

/// Sets the permission bits of `path`. Corresponds to `chmod()`: an open
/// for no access, `_IO_CHMOD` ([`File::chmod`]), close.
pub fn chmod(path: &str, mode: u32) -> io::Result<()> {
    open_bare(path)?.chmod(mode)
}

/// Sets the owner and group of `path` (`None`: unchanged). Corresponds to
/// `chown()`: an open for no access, `_IO_CHOWN` ([`File::chown`]), close.
pub fn chown(path: &str, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
    open_bare(path)?.chown(uid, gid)
}

/// Removes `path` (a file, or an empty directory). Corresponds to
/// `unlink()`/`rmdir()` (`_IO_CONNECT_UNLINK`); `ENOSYS` from a server
/// that does not remove.
pub fn unlink(path: &str) -> io::Result<()> {
    let mut req = Connect { subtype: subtype::UNLINK, ..Default::default() };
    connect(path, &mut req, None).map(drop)
}

/// Creates directory `path` with permission bits `mode`. Corresponds to
/// `mkdir()` (`_IO_CONNECT_MKNOD` with `S_IFDIR`).
pub fn mkdir(path: &str, mode: u32) -> io::Result<()> {
    let mut req = Connect { subtype: subtype::MKNOD, mode: libc::S_IFDIR | (mode & 0o7777), ..Default::default() };
    connect(path, &mut req, None).map(drop)
}
