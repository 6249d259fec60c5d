//! What a handler gets with each message: the [`Context`] (who sent it, the
//! open flags of a read or write, and the means to keep the request and
//! answer it later: [`Pending`]), the [`ConnectRequest`] of path messages,
//! the [`Dirents`] a directory read fills, and the [`Errno`] handlers fail
//! with.
//!
//! Deferred requests and unblocking: a handler that keeps a request
//! ([`Context::defer`]) answers it later through its [`Pending`]. If the
//! client gives up meanwhile (a timeout on an `UNBLOCK` channel), the
//! server receives an unblock pulse naming the request, and the framework
//! calls the mount's unblock handler. The client may ask before the
//! handler that defers its request has returned (another thread takes the
//! pulse, or the request's unblock flag is already set when it is
//! deferred): the `Registry` then keeps a note, and the framework calls
//! the unblock handler as soon as that handler returns. Either way it is
//! called once per unblocked request, after the handler has stored its
//! `Pending`.

use super::access::{self, Client};
use super::Attr;
use baton::{MsgInfo, ReceiveId, Request};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// An errno a handler fails a request with (`MsgError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// The raw errno.
    pub fn raw(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", std::io::Error::from_raw_os_error(self.0))
    }
}

impl std::error::Error for Errno {}

impl From<std::io::Error> for Errno {
    fn from(e: std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

impl From<baton::Error> for Errno {
    fn from(e: baton::Error) -> Errno {
        Errno(e.errno())
    }
}

/// Where a deferred request stands (by raw receive id in the [`Registry`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    /// Kept by a handler of mount `n` that has not returned yet.
    Deferring(usize),
    /// As `Deferring`, and its client asked to be unblocked meanwhile.
    UnblockedEarly(usize),
    /// Kept by a handler of mount `n`, which has returned.
    Deferred(usize),
}

/// The server's deferred requests, by raw receive id: which mount's unblock
/// handler each one's unblock goes to, and when.
#[derive(Debug, Default)]
pub(crate) struct Registry(Mutex<HashMap<i32, Held>>);

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<i32, Held>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A handler of mount `m` keeps `id`; `unblocked`: its client has
    /// already asked to be released.
    fn deferring(&self, id: ReceiveId, m: usize, unblocked: bool) {
        let h = if unblocked { Held::UnblockedEarly(m) } else { Held::Deferring(m) };
        self.lock().insert(id.as_raw(), h);
    }

    /// The handler that kept `id` returned: the mount whose unblock handler
    /// must run now, if its client asked meanwhile.
    pub(crate) fn settled(&self, id: ReceiveId) -> Option<usize> {
        let mut reg = self.lock();
        match reg.get(&id.as_raw()).copied() {
            Some(Held::Deferring(m)) => {
                reg.insert(id.as_raw(), Held::Deferred(m));
                None
            }
            Some(Held::UnblockedEarly(m)) => {
                reg.remove(&id.as_raw());
                Some(m)
            }
            // Answered already, by the handler itself.
            Some(Held::Deferred(_)) | None => None,
        }
    }

    /// The unblock pulse for `id` arrived: the mount whose unblock handler
    /// must run now, if any (none for a request that is not deferred: the
    /// thread handling it answers it).
    pub(crate) fn unblock_pulse(&self, id: i32) -> Option<usize> {
        let mut reg = self.lock();
        match reg.get(&id).copied() {
            Some(Held::Deferring(m)) => {
                reg.insert(id, Held::UnblockedEarly(m));
                None
            }
            Some(Held::Deferred(m)) => {
                reg.remove(&id);
                Some(m)
            }
            Some(Held::UnblockedEarly(_)) | None => None,
        }
    }

    /// `id` was answered.
    fn answered(&self, id: ReceiveId) {
        self.lock().remove(&id.as_raw());
    }
}

/// The message being handled and its sender.
#[derive(Debug)]
pub struct Context<'a> {
    pub(crate) info: MsgInfo,
    pub(crate) xtype: u32,
    /// The open flags of the OCB a read or write is for (`O_NONBLOCK`).
    pub(crate) ioflag: u32,
    /// The offset of a `pread`/`pwrite` (`_IO_XTYPE_OFFSET`).
    pub(crate) offset: Option<u64>,
    pub(crate) req: Option<Request>,
    /// The message's receive id (what an armed event is delivered through).
    pub(crate) rcvid: Option<ReceiveId>,
    pub(crate) deferred: Option<ReceiveId>,
    pub(crate) registry: &'a Arc<Registry>,
    /// The mount handling the message (from `dispatch::MESSAGES` on, the
    /// private message handler): whose unblock handler a kept request's
    /// unblock goes to.
    pub(crate) mount: usize,
}

impl Context<'_> {
    /// What baton knows of the message and its sender (`MsgInfo`).
    pub fn info(&self) -> &MsgInfo {
        &self.info
    }

    /// The client, as the kernel reported it.
    pub fn client(&self) -> Client {
        Client { pid: self.info.pid, uid: self.info.uid, gid: self.info.gid }
    }

    /// Whether a read or write must not wait (one that would block should
    /// fail with `EAGAIN`), as QNX's `iofunc_read_verify` decides: the
    /// message's `_IO_XFLAG_NONBLOCK` (the client opened with
    /// `O_NONBLOCK`) or `_IO_XFLAG_BLOCK` if it has one, else the open's
    /// `O_NONBLOCK`, which `fcntl(F_SETFL)` (`DCMD_ALL_SETFLAGS`) may have
    /// set since the open.
    pub fn nonblocking(&self) -> bool {
        use crate::msg::{XFLAG_BLOCK, XFLAG_NONBLOCK};
        if self.xtype & (XFLAG_NONBLOCK | XFLAG_BLOCK) != 0 {
            return self.xtype & XFLAG_NONBLOCK != 0;
        }
        self.ioflag & libc::O_NONBLOCK as u32 != 0
    }

    /// The `xtype` of the read or write being handled (`_IO_XTYPE_*` in
    /// its low byte, `_IO_XFLAG_*` above); 0 for other messages.
    pub fn xtype(&self) -> u32 {
        self.xtype
    }

    /// The offset of a `pread`/`pwrite` (`_IO_XTYPE_OFFSET`), `None` for a
    /// read or write at the open's offset. The framework has already set
    /// `ocb.offset` to it for the handler's call and puts the open's own
    /// offset back afterwards, so a handler that reads and advances
    /// `ocb.offset` serves both; one for which positions mean nothing (a
    /// queue) may refuse them (`ESPIPE`).
    pub fn xtype_offset(&self) -> Option<u64> {
        self.offset
    }

    /// `Ok` if the client may access `attr` for `want`
    /// ([`access::READ`] | [`access::WRITE`] | [`access::EXEC`]), else
    /// `EACCES`.
    pub fn check_access(&self, attr: &Attr, want: u32) -> Result<(), Errno> {
        if access::allowed(attr, self.client(), want) {
            Ok(())
        } else {
            Err(Errno(libc::EACCES))
        }
    }

    /// Reads the message from byte `offset` on into `buf`, from the
    /// client's memory: for a message longer than what the handler was
    /// given (a private message's handler gets the first 64 KiB). Returns
    /// the bytes read (fewer at the end of the message). `EBADMSG` once the
    /// request is kept ([`defer`](Self::defer)). Corresponds to `MsgRead`.
    pub fn read_msg(&mut self, offset: usize, buf: &mut [u8]) -> Result<usize, Errno> {
        let req = self.req.as_mut().ok_or(Errno(libc::EBADMSG))?;
        Ok(req.read_at(offset, buf)?)
    }

    /// Answers `_IO_NOTIFY` request `req` on `ocb` when the conditions
    /// `holds` (`_NOTIFY_COND_*`) are true now: returns the conditions to
    /// report, and arms the request's event on `ocb.attr` as its action
    /// says (`POLL`: never; `POLLARM`, `CONDARM`: if none of the asked
    /// conditions holds; `TRANARM`: always, reporting nothing). An armed
    /// event is delivered once, by [`SharedAttr::notify_trigger`]; the
    /// open's close drops it. `EINVAL` for an event baton cannot deliver.
    /// Corresponds to `iofunc_notify`.
    ///
    /// [`SharedAttr::notify_trigger`]: super::SharedAttr::notify_trigger
    pub fn notify<S>(&self, ocb: &super::Ocb<S>, req: &crate::msg::Notify, holds: u32) -> Result<u32, Errno> {
        use crate::msg::notify::*;
        let want = req.flags & COND_MASK;
        let have = holds & want;
        let (arm, report) = match req.action() {
            ACTION_POLL => (false, have),
            ACTION_TRANARM => (true, 0),
            _ => (have == 0, have),
        };
        if arm && want != 0 {
            let event = req.event().map_err(|_| Errno(libc::EINVAL))?;
            event.check().map_err(Errno::from)?;
            let rcvid = self.rcvid.ok_or(Errno(libc::EINVAL))?;
            ocb.attr.notify_arm((ocb.scoid, ocb.coid), want, rcvid, event);
        }
        Ok(report)
    }

    /// Answers the request now with `status` and `data`, copied straight
    /// from `data` into the client's reply buffer: a handler that serves
    /// bytes it holds saves the copy through `out` (QNX: `MsgReply` from
    /// the handler, then `_RESMGR_NOREPLY`). The framework then sends
    /// nothing: what the handler returns and puts in `out` afterwards is
    /// dropped. For a read, `status` is the bytes read (at most the
    /// `nbytes` asked; the client takes a larger count as an I/O error).
    /// `ESRCH` if the client is gone or the request was kept or answered
    /// already. Corresponds to `MsgReply`.
    pub fn reply(&mut self, status: i64, data: &[u8]) -> Result<(), Errno> {
        let req = self.req.take().ok_or(Errno(libc::ESRCH))?;
        req.reply(status, data).map_err(Errno::from)
    }

    /// Keeps the request: the framework will not answer it; the returned
    /// [`Pending`] does, later, from any thread (QNX's `_RESMGR_NOREPLY`).
    /// The handler's return value is then ignored. `None` if it was
    /// already deferred.
    pub fn defer(&mut self) -> Option<Pending> {
        let req = self.req.take()?;
        // Registered before the flag is read: an unblock pulse handled
        // from now on finds the entry; one handled before was for a flag
        // that is set already.
        let id = req.id();
        self.registry.deferring(id, self.mount, false);
        if req.unblock_requested() {
            self.registry.deferring(id, self.mount, true);
        }
        req.park();
        self.deferred = Some(id);
        Some(Pending { id, registry: Arc::clone(self.registry), answered: false })
    }
}

/// A request a handler kept ([`Context::defer`]): answer it exactly once.
/// Dropped unanswered, it fails the client's call with `EIO`.
#[derive(Debug)]
#[must_use = "a kept request must be answered"]
pub struct Pending {
    id: ReceiveId,
    registry: Arc<Registry>,
    answered: bool,
}

impl Pending {
    /// The request's receive id (what the unblock handler is given).
    pub fn id(&self) -> ReceiveId {
        self.id
    }

    fn done(&mut self) {
        self.answered = true;
        self.registry.answered(self.id);
    }

    /// Replies with `status` and `data` (`MsgReply`). `ESRCH` if the
    /// client is gone or the request was answered already (say, by the
    /// default unblock handler).
    pub fn reply(mut self, status: i64, data: &[u8]) -> Result<(), Errno> {
        self.done();
        self.id.reply(status, data).map_err(Errno::from)
    }

    /// Fails the request with `errno` (`MsgError`).
    pub fn error(mut self, errno: i32) -> Result<(), Errno> {
        self.done();
        self.id.error(errno).map_err(Errno::from)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.answered {
            self.done();
            let _ = self.id.error(libc::EIO);
        }
    }
}

/// A path message (`_IO_CONNECT`): open, unlink or mknod of `path` below
/// the mount's prefix.
#[derive(Debug)]
pub struct ConnectRequest<'a> {
    /// The path below the attached prefix, `""` for the prefix itself.
    pub path: &'a str,
    /// Open flags: `_IO_FLAG_RD`/`_IO_FLAG_WR` plus the other `O_*` bits.
    pub ioflag: u32,
    /// Creation mode (for mknod: with `S_IFDIR` for a directory).
    pub mode: u32,
    /// `_IO_CONNECT_EFLAG_*` (`DIR`: the path ended in `/`).
    pub eflag: u8,
    /// The mount's own attribute (of the attached prefix).
    pub attr: &'a super::SharedAttr,
}

/// An `_IO_SPACE` request (`ftruncate`, `fcntl(F_FREESP)`,
/// `fcntl(F_ALLOCSP)`), its range made absolute by the framework.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Space {
    /// Free the range (`F_FREESP`); else allocate it (`F_ALLOCSP`).
    pub free: bool,
    /// Where the range starts, from the start of the file.
    pub start: u64,
    /// The range's length; 0: to the end of the file.
    pub len: u64,
}

impl Space {
    /// The size of a file of `size` bytes after the request: freeing a
    /// range that reaches its end (`len` 0 included) ends the file at the
    /// range's start, which may grow it (`ftruncate`); freeing a range
    /// inside leaves the size (the handler zeroes the range);
    /// allocating makes the file hold at least the range. `EFBIG` past
    /// `i64::MAX`.
    pub fn new_size(&self, size: u64) -> Result<u64, Errno> {
        let end = self.start.checked_add(self.len).filter(|&e| e <= i64::MAX as u64).ok_or(Errno(libc::EFBIG))?;
        Ok(match (self.free, self.len) {
            (true, 0) => self.start,
            (true, _) if end >= size => self.start,
            (true, _) => size,
            (false, _) => size.max(end),
        })
    }
}

/// The records a directory read returns: push entries from the OCB's
/// offset (an entry index) until [`push`](Dirents::push) says the reply is
/// full. The framework advances the offset by the entries pushed.
#[derive(Debug)]
pub struct Dirents<'a> {
    pub(crate) writer: crate::msg::DirentWriter<'a>,
    pub(crate) start: u64,
}

impl Dirents<'_> {
    /// The index of the first entry wanted (the OCB's offset).
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Adds the next entry; `false` if the reply is full (the entry is not
    /// in it: stop, the client asks again from it).
    pub fn push(&mut self, ino: u64, name: &str) -> bool {
        // `d_offset` is the entry's own offset, as QNX's resource managers
        // (and the C framework's examples) fill it (RESMGR.md §3).
        let at = self.start + self.writer.count() as u64;
        self.writer.push(ino, at as i64, name)
    }
}
