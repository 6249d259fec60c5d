//! The handler trait: one method per `_IO_*` operation, each with the POSIX
//! default of QNX's `iofunc_*_default` (RESMGR.md §4).
//!
//! Checks the framework makes before calling a handler, whatever it
//! overrides: a read needs an open for reading and a write one for writing
//! (`EBADF`); a message that is malformed gets `EBADMSG`, an unknown type
//! `ENOSYS`, an unknown open `EBADF`. A write on an `O_APPEND` open starts
//! at the attribute's size. `_IO_SPACE` needs an open for writing
//! (`EBADF`) and a range inside `0..=i64::MAX` (`EINVAL`). A `pread` or
//! `pwrite` (`_IO_XTYPE_OFFSET`) needs an offset of at least 0 (`EINVAL`);
//! its handler sees the offset as `ocb.offset`, which is put back after.

use super::context::{ConnectRequest, Context, Dirents, Errno, Space};
use super::{access, Ocb, Opened};
use crate::msg::{self, Stat};
use baton::ReceiveId;

/// A resource manager: what happens to each message for the paths it
/// serves. Every method has a default; override what the device does.
///
/// Handlers run on the framework's thread pool, several at once (one per
/// message); a handler that waits for something (a read of an empty queue)
/// should keep the request with [`Context::defer`] and answer it later
/// rather than block its thread.
pub trait ResourceManager: Send + Sync + 'static {
    /// The handler's own per-open state, in each [`Ocb`].
    type State: Default + Send + 'static;

    /// `_IO_CONNECT_OPEN`: open `req.path`. Default
    /// (`iofunc_open_default`): only the mount's own path (`""`, else
    /// `ENOENT`); `EEXIST` for `O_CREAT | O_EXCL`; the access the open asks
    /// for checked against the mount's attribute (`EACCES`).
    fn open(&self, ctx: &mut Context<'_>, req: &ConnectRequest<'_>) -> Result<Opened<Self::State>, Errno> {
        if !req.path.is_empty() {
            return Err(Errno(libc::ENOENT));
        }
        let excl = (libc::O_CREAT | libc::O_EXCL) as u32;
        if req.ioflag & excl == excl {
            return Err(Errno(libc::EEXIST));
        }
        check_open(ctx, &req.attr.lock(), req.ioflag)?;
        Ok(Opened { attr: req.attr.clone(), state: Self::State::default() })
    }

    /// `_IO_READ` of a file: append at most `nbytes` bytes from
    /// `ocb.offset` to `out` (the reply; its length is `read()`'s result)
    /// and advance the offset. Default: end of file (0 bytes). Reads of a
    /// directory go to [`readdir`](Self::readdir) instead. A handler that
    /// holds the bytes may instead answer with [`Context::reply`], which
    /// copies them straight into the client's buffer (one copy, not two).
    fn read(
        &self,
        ctx: &mut Context<'_>,
        ocb: &mut Ocb<Self::State>,
        nbytes: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Errno> {
        let _ = (ctx, ocb, nbytes, out);
        Ok(())
    }

    /// `_IO_READ` of a directory: push its entries from index
    /// `out.start()` until `push` returns `false`. Default: no entries.
    fn readdir(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<Self::State>, out: &mut Dirents<'_>) -> Result<(), Errno> {
        let _ = (ctx, ocb, out);
        Ok(())
    }

    /// `_IO_WRITE`: take `data` at `ocb.offset`, advance it, return the
    /// bytes taken. Default (`iofunc_write_default`): `ENOSYS`.
    fn write(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<Self::State>, data: &[u8]) -> Result<usize, Errno> {
        let _ = (ctx, ocb, data);
        Err(Errno(libc::ENOSYS))
    }

    /// `_IO_LSEEK`: move the offset. Default: `SEEK_SET`, `SEEK_CUR`,
    /// `SEEK_END` (from the attribute's size); `EINVAL` for a negative
    /// result or another `whence`.
    fn lseek(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<Self::State>, offset: i64, whence: i32) -> Result<u64, Errno> {
        let _ = ctx;
        let base = match whence {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => ocb.offset,
            libc::SEEK_END => ocb.attr.lock().size,
            _ => return Err(Errno(libc::EINVAL)),
        };
        let new = i128::from(base) + i128::from(offset);
        let new = u64::try_from(new).ok().filter(|&n| n <= i64::MAX as u64).ok_or(Errno(libc::EINVAL))?;
        ocb.offset = new;
        Ok(new)
    }

    /// `_IO_SPACE` (`ftruncate`, `fcntl(F_FREESP)`): free or allocate
    /// the range of `req` (absolute; the framework checked the open
    /// writes, `EBADF`, and the range, `EINVAL`), update the attribute's
    /// size and return it. [`Space::new_size`] says what the size becomes.
    /// Default: `ENOSYS` (QNX has no default either).
    fn space(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<Self::State>, req: &Space) -> Result<u64, Errno> {
        let _ = (ctx, ocb, req);
        Err(Errno(libc::ENOSYS))
    }

    /// `_IO_CHMOD` (`chmod`, `fchmod`, on any open): set the permission
    /// bits. Default ([`chmod_default`], `iofunc_chmod_default`): the
    /// owner or root may; the attribute's mode and ctime change.
    fn chmod(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<Self::State>, mode: u32) -> Result<(), Errno> {
        chmod_default(ctx, &ocb.attr, mode)
    }

    /// `_IO_CHOWN` (`chown`, `fchown`, on any open): set the owner and
    /// group (`None`: unchanged, the caller's -1). Default
    /// ([`chown_default`], `iofunc_chown_default`): root may; the owner
    /// may only change the group, to one it is in.
    fn chown(
        &self,
        ctx: &mut Context<'_>,
        ocb: &mut Ocb<Self::State>,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<(), Errno> {
        chown_default(ctx, &ocb.attr, uid, gid)
    }

    /// `_IO_STAT`. Default: from the attribute (`iofunc_stat_default`).
    fn stat(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<Self::State>) -> Result<Stat, Errno> {
        let _ = ctx;
        Ok(ocb.attr.lock().stat())
    }

    /// `_IO_DEVCTL`: command `dcmd` with `data` (what the client sent if
    /// `DEVDIR_TO`); append the answer to `out` (sent if `DEVDIR_FROM`, cut
    /// to the client's `nbytes`); return `ret_val`. Default
    /// ([`devctl_default`], `iofunc_devctl_default`): the open flags
    /// (`DCMD_ALL_GETFLAGS`/`SETFLAGS`), else `ENOSYS` (the client sees
    /// `ENOTTY`). A device with commands of its own falls back on
    /// [`devctl_default`] for the others, as QNX's do.
    fn devctl(
        &self,
        ctx: &mut Context<'_>,
        ocb: &mut Ocb<Self::State>,
        dcmd: u32,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<i32, Errno> {
        let _ = ctx;
        devctl_default(ocb, dcmd, data, out)
    }

    /// `_IO_NOTIFY` (`select`, `poll`, `ionotify`): which of `req.flags`
    /// hold now, arming `req.event` if the action asks. Default
    /// (`iofunc_notify` with input and output always ready):
    /// `ctx.notify(ocb, req, COND_INPUT | COND_OUTPUT)`. A device whose
    /// readiness changes passes what holds now to [`Context::notify`] and
    /// calls [`SharedAttr::notify_trigger`](super::SharedAttr::notify_trigger)
    /// when a condition becomes true.
    fn notify(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<Self::State>, req: &msg::Notify) -> Result<u32, Errno> {
        ctx.notify(ocb, req, msg::notify::COND_INPUT | msg::notify::COND_OUTPUT)
    }

    /// The open ends: `_IO_CLOSE`, or its client process went away (the
    /// disconnect pulse). Default: nothing (the framework frees the OCB).
    fn close(&self, ocb: &mut Ocb<Self::State>) {
        let _ = ocb;
    }

    /// The client of a deferred request gave up (it timed out, or was
    /// interrupted) and asks to be released. Default: fail it with `EINTR`
    /// (`iofunc_unblock_default`); a handler that keeps requests in a queue
    /// should also take it out of the queue.
    fn unblock(&self, id: ReceiveId) {
        let _ = id.error(libc::EINTR);
    }

    /// `_IO_CONNECT_UNLINK`: remove `req.path`. Default: `ENOSYS`.
    fn unlink(&self, ctx: &mut Context<'_>, req: &ConnectRequest<'_>) -> Result<(), Errno> {
        let _ = (ctx, req);
        Err(Errno(libc::ENOSYS))
    }

    /// `_IO_CONNECT_MKNOD`: create `req.path` with `req.mode` (`S_IFDIR`:
    /// a directory, `mkdir`). Default: `ENOSYS`.
    fn mknod(&self, ctx: &mut Context<'_>, req: &ConnectRequest<'_>) -> Result<(), Errno> {
        let _ = (ctx, req);
        Err(Errno(libc::ENOSYS))
    }
}

/// The access an open with `ioflag` needs on `attr`, checked for the
/// client (`EACCES`). Corresponds to `iofunc_open`'s check.
pub fn check_open(ctx: &Context<'_>, attr: &super::Attr, ioflag: u32) -> Result<(), Errno> {
    let mut want = 0;
    if ioflag & msg::IO_FLAG_RD != 0 {
        want |= access::READ;
    }
    if ioflag & msg::IO_FLAG_WR != 0 {
        want |= access::WRITE;
    }
    ctx.check_access(attr, want)
}

/// `chmod` as POSIX has it (QNX's `iofunc_chmod`): `EPERM` unless the
/// client owns `attr` or is root; the permission bits (with set-id and
/// sticky) become `mode`'s, the file type stays; a client other than root
/// that is not in the file's group cannot set `S_ISGID` (it is cleared);
/// ctime is now.
pub fn chmod_default(ctx: &Context<'_>, attr: &super::SharedAttr, mode: u32) -> Result<(), Errno> {
    let client = ctx.client();
    let mut a = attr.lock();
    if client.uid != 0 && client.uid != a.uid {
        return Err(Errno(libc::EPERM));
    }
    let mut bits = mode & 0o7777;
    if client.uid != 0 && !access::member(client, a.gid) {
        bits &= !libc::S_ISGID;
    }
    a.mode = (a.mode & libc::S_IFMT) | bits;
    a.ctime = std::time::SystemTime::now();
    Ok(())
}

/// `chown` as POSIX has it with `_POSIX_CHOWN_RESTRICTED` (QNX's
/// `iofunc_chown`): root may set any owner and group; the owner may keep
/// the owner (`uid` `None` or its own) and set the group to one it is in;
/// anyone else gets `EPERM`. A change by other than root clears the
/// set-user-id and set-group-id bits. ctime is now (also when nothing
/// changes, as Linux does).
pub fn chown_default(
    ctx: &Context<'_>,
    attr: &super::SharedAttr,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<(), Errno> {
    let client = ctx.client();
    let mut a = attr.lock();
    if client.uid != 0 {
        let owner = client.uid == a.uid && uid.is_none_or(|u| u == a.uid);
        if !owner || gid.is_some_and(|g| g != a.gid && !access::member(client, g)) {
            return Err(Errno(libc::EPERM));
        }
        a.mode &= !(libc::S_ISUID | libc::S_ISGID);
    }
    if let Some(u) = uid {
        a.uid = u;
    }
    if let Some(g) = gid {
        a.gid = g;
    }
    a.ctime = std::time::SystemTime::now();
    Ok(())
}

/// The commands every device answers, as QNX's `iofunc_devctl_default`
/// (and the C framework's) does: [`DCMD_ALL_GETFLAGS`](msg::dcmd::ALL_GETFLAGS)
/// gives the open flags (the access mode as `O_RDONLY`/`O_WRONLY`/`O_RDWR`
/// have it), [`DCMD_ALL_SETFLAGS`](msg::dcmd::ALL_SETFLAGS) changes the
/// open's `O_NONBLOCK` and `O_APPEND`; any other command is `ENOSYS`.
pub fn devctl_default<S>(ocb: &mut Ocb<S>, dcmd: u32, data: &[u8], out: &mut Vec<u8>) -> Result<i32, Errno> {
    match dcmd {
        msg::dcmd::ALL_GETFLAGS => {
            let access = (ocb.ioflag & msg::IO_FLAG_MASK).saturating_sub(1);
            out.extend_from_slice(&(((ocb.ioflag & !msg::IO_FLAG_MASK) | access) as i32).to_le_bytes());
            Ok(0)
        }
        msg::dcmd::ALL_SETFLAGS => {
            let flags = data.get(..4).ok_or(Errno(libc::EBADMSG))?;
            let flags = u32::from_le_bytes(flags.try_into().expect("4 bytes"));
            let changeable = (libc::O_NONBLOCK | libc::O_APPEND) as u32;
            ocb.ioflag = (ocb.ioflag & !changeable) | (flags & changeable);
            Ok(0)
        }
        _ => Err(Errno(libc::ENOSYS)),
    }
}
