//! The client side: opening a path served by a resource manager and doing
//! I/O on it, each operation one `_IO_*` message.
//!
//! - `mod.rs`: [`OpenOptions`], [`open`] and [`File`] (read, write, seek,
//!   positioned read and write, stat, devctl, chmod, chown, close on drop).
//! - `resolve.rs`: path resolution (`baton::paths::resolve`, then each
//!   match in turn) and the `_IO_CONNECT` exchange; [`stat`], [`unlink`],
//!   [`mkdir`], [`chmod`], [`chown`].
//! - `dir.rs`: reading directories ([`ReadDir`]).
//!
//! Each `File` owns a [`baton::Connection`] of its own: its connection id
//! (`coid`) is a descriptor number no other open of this process has while
//! it lives, so the server's key for the open, `(scoid, coid)`, is unique.
//! Connections of one process to one server share the server-side
//! connection (and its `scoid`, and its shared-memory segment), as on QNX:
//! an open after the first costs one message, not a handshake, and the
//! server's disconnect pulse (which closes what is left open) comes when
//! the process's last open to it goes away or the process dies.

mod dir;
mod resolve;

pub use dir::{read_dir, DirEntry, ReadDir};
pub use resolve::{chmod, chown, mkdir, stat, unlink};

use crate::msg::{self, Stat};
use baton::{Connection, Deadline, Timeout};
use std::io::{self, IoSlice, IoSliceMut, SeekFrom};
use std::time::Duration;

/// Options for [`open`], like [`std::fs::OpenOptions`]: access, creation,
/// truncation, and a timeout for every call on the file.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    nonblock: bool,
    mode: u32,
    timeout: Option<Duration>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            nonblock: false,
            mode: 0o666,
            timeout: None,
        }
    }
}

impl OpenOptions {
    /// No access, no creation, mode 0666, no timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Open for reading (`O_RDONLY`, or `O_RDWR` with write).
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }

    /// Open for writing (`O_WRONLY`, or `O_RDWR` with read).
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }

    /// `O_APPEND` (implies write).
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }

    /// `O_TRUNC`.
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }

    /// `O_CREAT`.
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }

    /// `O_CREAT | O_EXCL`: fail with `EEXIST` if the file exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }

    /// `O_NONBLOCK`: a read or write the server would block answers
    /// `EAGAIN` (the server sees `_IO_XFLAG_NONBLOCK`).
    pub fn nonblock(&mut self, on: bool) -> &mut Self {
        self.nonblock = on;
        self
    }

    /// The permission bits of a file the open creates (default 0666).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// A timeout for each call on the file, the open included: a call the
    /// server has not answered in time fails with `ETIMEDOUT` (the server
    /// is asked to unblock, and answers). Default: none.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = Some(timeout);
        self
    }

    /// Opens `path` with these options: see [`open`].
    pub fn open(&self, path: &str) -> io::Result<File> {
        open(path, self)
    }

    /// The `open(2)` flags these options make; `EINVAL` for no access, or
    /// for creation or truncation without write access, as `std` does.
    fn oflag(&self) -> io::Result<i32> {
        let write = self.write || self.append;
        let mut f = match (self.read, write) {
            (true, false) => libc::O_RDONLY,
            (false, true) => libc::O_WRONLY,
            (true, true) => libc::O_RDWR,
            (false, false) => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
        };
        if (self.truncate || self.create || self.create_new) && !write {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        for (on, bit) in [
            (self.append, libc::O_APPEND),
            (self.truncate, libc::O_TRUNC),
            (self.create || self.create_new, libc::O_CREAT),
            (self.create_new, libc::O_EXCL),
            (self.nonblock, libc::O_NONBLOCK),
        ] {
            if on {
                f |= bit;
            }
        }
        Ok(f)
    }
}

/// Opens `path` on the resource manager that serves it. Corresponds to
/// `open()` on QNX: the path is resolved ([`baton::paths::resolve`]), each
/// server whose prefix matches is tried in turn (longest prefix first)
/// with an `_IO_CONNECT_OPEN` message until one answers other than
/// `ENOENT`. Errors carry the errno (`raw_os_error`).
pub fn open(path: &str, options: &OpenOptions) -> io::Result<File> {
    let oflag = options.oflag()?;
    resolve::open_oflag(path, oflag, options.mode, options.timeout)
}

/// An open file of a resource manager: each call is one message to it.
/// Closes on drop (an `_IO_CLOSE` message, then the connection goes).
#[derive(Debug)]
pub struct File {
    conn: Connection,
    timeout: Option<Duration>,
    /// `_IO_XFLAG_NONBLOCK` if opened with `O_NONBLOCK`.
    xflag: u32,
    /// `_IO_CLOSE` was sent by [`File::close`].
    closed: bool,
}

/// `io::Error` with `errno` (its `raw_os_error`).
pub(crate) fn errno(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

/// Sends one message on `conn` with an optional timeout. A server that
/// answers an unblock with `EINTR` after our deadline passed (the usual
/// answer, RESMGR.md §2) gives `ETIMEDOUT`: the call timed out.
pub(crate) fn call(
    conn: &Connection,
    timeout: Option<Duration>,
    msg: &[IoSlice<'_>],
    reply: &mut [IoSliceMut<'_>],
) -> io::Result<baton::Reply> {
    let deadline = timeout.map(Deadline::after);
    let t = deadline.map_or(Timeout::NONE, Timeout::new);
    conn.send_vectored_timeout(msg, reply, t).map_err(|e| match e.errno() {
        libc::EINTR if deadline.is_some_and(|d| d.expired()) => errno(libc::ETIMEDOUT),
        n => errno(n),
    })
}

/// A position for `_xtype_offset`: `EINVAL` past `i64::MAX`.
fn position(at: u64) -> io::Result<i64> {
    i64::try_from(at).map_err(|_| errno(libc::EINVAL))
}

/// A reply status that must be a count in `0..=max`; `EIO` otherwise (a
/// server that claims more than it could have done).
fn count(status: i64, max: usize) -> io::Result<usize> {
    usize::try_from(status).ok().filter(|&n| n <= max).ok_or_else(|| errno(libc::EIO))
}

impl File {
    pub(crate) fn new(conn: Connection, timeout: Option<Duration>, oflag: i32) -> File {
        let xflag = if oflag & libc::O_NONBLOCK != 0 { msg::XFLAG_NONBLOCK } else { 0 };
        File { conn, timeout, xflag, closed: false }
    }

    /// The timeout of each call, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Changes the timeout of each later call (`None`: wait forever).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The connection the file's messages travel on (its `id()` is the
    /// `coid` the server sees).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn call(&self, msg: &[IoSlice<'_>], reply: &mut [IoSliceMut<'_>]) -> io::Result<baton::Reply> {
        call(&self.conn, self.timeout, msg, reply)
    }

    /// The file's status. Corresponds to `fstat()` (`_IO_STAT`).
    pub fn stat(&self) -> io::Result<Stat> {
        let mut buf = [0u8; msg::STAT_LEN];
        let r = self.call(&[IoSlice::new(&msg::StatRequest.encode())], &mut [IoSliceMut::new(&mut buf)])?;
        if r.len < msg::STAT_LEN {
            return Err(errno(libc::EIO));
        }
        Stat::decode(&buf).map_err(|_| errno(libc::EIO))
    }

    /// A device command. Corresponds to `devctl()` (`_IO_DEVCTL`): `to` is
    /// sent if `dcmd` has `DEVDIR_TO`, the answer lands in `from` if it has
    /// `DEVDIR_FROM`; returns the server's `ret_val` (`devctl`'s `info`). A
    /// server without the command gives `ENOTTY` (QNX libc maps its
    /// `ENOSYS` so).
    pub fn devctl(&self, dcmd: u32, to: &[u8], from: &mut [u8]) -> io::Result<i32> {
        let to = if dcmd & msg::dcmd::DEVDIR_TO != 0 { to } else { &[] };
        let from_len = if dcmd & msg::dcmd::DEVDIR_FROM != 0 { from.len() } else { 0 };
        let nbytes = i32::try_from(to.len().max(from_len)).map_err(|_| errno(libc::EINVAL))?;
        let head = msg::Devctl { dcmd, nbytes }.encode();
        let mut rhead = [0u8; msg::DEVCTL_REPLY_LEN];
        let r = self
            .call(
                &[IoSlice::new(&head), IoSlice::new(to)],
                &mut [IoSliceMut::new(&mut rhead), IoSliceMut::new(&mut from[..from_len])],
            )
            .map_err(|e| if e.raw_os_error() == Some(libc::ENOSYS) { errno(libc::ENOTTY) } else { e })?;
        if r.len < msg::DEVCTL_REPLY_LEN {
            return Err(errno(libc::EIO));
        }
        let reply = msg::DevctlReply::decode(&rhead).map_err(|_| errno(libc::EIO))?;
        Ok(reply.ret_val)
    }

    /// Which of the `_NOTIFY_COND_*` conditions in `conditions` hold now
    /// (`_IO_NOTIFY` with `_NOTIFY_ACTION_POLL`; nothing is armed).
    pub fn poll(&self, conditions: u32) -> io::Result<u32> {
        self.notify(msg::notify::ACTION_POLL, conditions, &baton::Event::None)
    }

    /// Arms `event` for `conditions` unless one of them holds already:
    /// returns the conditions that hold (then nothing is armed), or 0 (then
    /// the server delivers `event` once, when one becomes true; arm again
    /// for the next). `_NOTIFY_ACTION_POLLARM`; see [`notify`](Self::notify).
    pub fn notify_arm(&self, conditions: u32, event: &baton::Event) -> io::Result<u32> {
        self.notify(msg::notify::ACTION_POLLARM, conditions, event)
    }

    /// Sends `_IO_NOTIFY` with `action` (`_NOTIFY_ACTION_*`), the
    /// `_NOTIFY_COND_*` `conditions`, and `event`, typically a pulse to a
    /// connection of this process to one of its own channels
    /// ([`baton::Event::pulse`]); returns the conditions the server reports.
    /// Corresponds to `ionotify()`. The event goes as a C `struct sigevent`,
    /// so C servers understand it; closing the file drops what it armed.
    pub fn notify(&self, action: i32, conditions: u32, event: &baton::Event) -> io::Result<u32> {
        let req = msg::Notify::new(action, conditions, event);
        let mut buf = [0u8; msg::NOTIFY_REPLY_LEN];
        let r = self.call(&[IoSlice::new(&req.encode())], &mut [IoSliceMut::new(&mut buf)])?;
        if r.len < msg::NOTIFY_REPLY_LEN {
            return Err(errno(libc::EIO));
        }
        Ok(msg::NotifyReply::decode(&buf).map_err(|_| errno(libc::EIO))?.flags)
    }

    /// Reads into `buf` at the file's offset (the open's, which moves);
    /// 0 at end of file. Corresponds to `read()` (`_IO_READ`). See
    /// [`read_at`](Self::read_at) for a read at a given position.
    pub fn read_at_offset(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_msg(buf, None)
    }

    /// Writes `buf` at the file's offset (at its end with `O_APPEND`);
    /// returns the bytes the server took. Corresponds to `write()`
    /// (`_IO_WRITE`). See [`write_at`](Self::write_at) for a write at a
    /// given position.
    pub fn write_at_offset(&self, buf: &[u8]) -> io::Result<usize> {
        self.write_msg(buf, None)
    }

    /// Reads into `buf` from position `offset`, leaving the file's offset
    /// where it is; 0 at end of file. Corresponds to `pread()`
    /// (`_IO_READ` with `_IO_XTYPE_OFFSET`), as
    /// [`std::os::unix::fs::FileExt::read_at`] (which `File` implements).
    /// `EINVAL` for an offset past `i64::MAX`; a server that does not do
    /// positioned reads answers `ENOSYS` (or `ESPIPE`).
    #[doc(alias = "pread")]
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.read_msg(buf, Some(offset))
    }

    /// Writes `buf` at position `offset`, leaving the file's offset where
    /// it is (an `O_APPEND` open still appends, as on Linux); returns the
    /// bytes the server took. Corresponds to `pwrite()` (`_IO_WRITE` with
    /// `_IO_XTYPE_OFFSET`), as [`std::os::unix::fs::FileExt::write_at`].
    #[doc(alias = "pwrite")]
    pub fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.write_msg(buf, Some(offset))
    }

    /// `_IO_READ` at the open's offset, or at `at`.
    fn read_msg(&self, buf: &mut [u8], at: Option<u64>) -> io::Result<usize> {
        let nbytes = buf.len().min(i32::MAX as usize);
        let head = match at {
            None => msg::Read::new(nbytes as i32, msg::XTYPE_NONE | self.xflag),
            Some(at) => msg::Read::at(nbytes as i32, self.xflag, position(at)?),
        }
        .encode();
        let r = self.call(&[IoSlice::new(&head)], &mut [IoSliceMut::new(&mut buf[..nbytes])])?;
        count(r.status, nbytes.min(r.len))
    }

    /// `_IO_WRITE` at the open's offset, or at `at`.
    fn write_msg(&self, buf: &[u8], at: Option<u64>) -> io::Result<usize> {
        let nbytes = buf.len().min(i32::MAX as usize);
        let head = match at {
            None => msg::Write::new(nbytes as i32, msg::XTYPE_NONE | self.xflag),
            Some(at) => msg::Write::at(nbytes as i32, self.xflag, position(at)?),
        }
        .encode();
        let r = self.call(&[IoSlice::new(&head), IoSlice::new(&buf[..nbytes])], &mut [])?;
        count(r.status, nbytes)
    }

    /// Sets the file's permission bits (and set-id, sticky) to `mode`'s.
    /// Corresponds to `fchmod()` (`_IO_CHMOD`): any open will do; the
    /// server decides (POSIX: the owner or root, else `EPERM`).
    pub fn chmod(&self, mode: u32) -> io::Result<()> {
        self.call(&[IoSlice::new(&msg::Chmod { mode }.encode())], &mut []).map(drop)
    }

    /// [`chmod`](Self::chmod) with `std`'s permissions
    /// ([`std::os::unix::fs::PermissionsExt::mode`]), as
    /// [`std::fs::File::set_permissions`].
    pub fn set_permissions(&self, perm: std::fs::Permissions) -> io::Result<()> {
        self.chmod(std::os::unix::fs::PermissionsExt::mode(&perm))
    }

    /// Sets the file's owner and group (`None`: unchanged). Corresponds to
    /// `fchown()` (`_IO_CHOWN`); the server decides (POSIX: root, or the
    /// owner changing the group to one of its own, else `EPERM`).
    pub fn chown(&self, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        self.call(&[IoSlice::new(&msg::Chown::new(uid, gid).encode())], &mut []).map(drop)
    }

    /// Truncates or extends the file to `size` bytes (extended with
    /// zeros). Corresponds to `ftruncate()`: `_IO_SPACE` with `F_FREESP64`
    /// from `size` to the end. `EBADF` unless open for writing; `ENOSYS`
    /// from a server that does not resize.
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        let start = i64::try_from(size).map_err(|_| errno(libc::EINVAL))?;
        let req = msg::Space { subtype: msg::space::FREESP64, whence: libc::SEEK_SET as i16, start, len: 0 };
        let mut buf = [0u8; 8];
        let r = self.call(&[IoSlice::new(&req.encode())], &mut [IoSliceMut::new(&mut buf)])?;
        if r.len < 8 {
            return Err(errno(libc::EIO));
        }
        Ok(())
    }

    /// Moves the file's offset. Corresponds to `lseek()` (`_IO_LSEEK`).
    pub fn seek_to(&self, pos: SeekFrom) -> io::Result<u64> {
        let (whence, offset) = match pos {
            SeekFrom::Start(n) => (libc::SEEK_SET, i64::try_from(n).map_err(|_| errno(libc::EINVAL))?),
            SeekFrom::Current(n) => (libc::SEEK_CUR, n),
            SeekFrom::End(n) => (libc::SEEK_END, n),
        };
        let mut buf = [0u8; 8];
        let r = self.call(
            &[IoSlice::new(&msg::Lseek { whence: whence as i16, offset }.encode())],
            &mut [IoSliceMut::new(&mut buf)],
        )?;
        if r.len < 8 {
            return Err(errno(libc::EIO));
        }
        Ok(u64::from_le_bytes(buf))
    }

    /// Closes the file now, reporting the server's answer to `_IO_CLOSE`
    /// (dropping the file closes it too, ignoring the answer).
    pub fn close(mut self) -> io::Result<()> {
        self.closed = true;
        self.send_close()
    }

    fn send_close(&self) -> io::Result<()> {
        self.call(&[IoSlice::new(&msg::Close.encode())], &mut []).map(|_| ())
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.send_close();
        }
    }
}

impl io::Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_at_offset(buf)
    }
}

impl io::Read for &File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_at_offset(buf)
    }
}

impl io::Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_at_offset(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Write for &File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_at_offset(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl std::os::unix::fs::FileExt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        File::read_at(self, buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        File::write_at(self, buf, offset)
    }
}

impl io::Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.seek_to(pos)
    }
}

impl io::Seek for &File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.seek_to(pos)
    }
}
