//! Dispatching one message: the [`Router`] holds what a server serves (its
//! mounts, the path entry ids that lead to them, the handlers of private
//! message types) and routes each message to its handler, and each
//! unblock to the handler that kept the request. It needs no channel, so
//! the fuzz target drives it with bytes alone.

use super::context::{Context, Errno, Registry};
use super::mount::{self, IoMsg, Mount};
use crate::msg::{self, IoHeader};
use baton::ReceiveId;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// Longest `_IO_CONNECT` taken: the fixed part, a path and extra data of
/// at most 64 KiB each.
const MAX_CONNECT: usize = msg::CONNECT_LEN + 2 * (u16::MAX as usize) + 8;

/// Targets of deferred requests (`Context::mount`, the `Registry`'s
/// entries) from here on are message handlers (`target - MESSAGES`);
/// below it, mounts.
pub(crate) const MESSAGES: usize = 1 << 30;

/// A handler of private message types (types above `_IO_MAX`), attached to
/// a range of them with [`Server::message_attach`](super::Server::message_attach).
/// Corresponds to QNX's `message_attach` handlers. A closure
/// `Fn(&mut Context, &[u8], &mut Vec<u8>) -> Result<i64, Errno>` is one.
pub trait MessageHandler: Send + Sync + 'static {
    /// Handles `msg`: the bytes received (at least 4, up to 64 KiB; the client sent
    /// `ctx.info().srcmsglen`, and [`Context::read_msg`] reads the rest).
    /// Appends the reply's data to `out` and returns the reply's status,
    /// or fails with an errno. It may keep the request
    /// ([`Context::defer`]).
    fn message(&self, ctx: &mut Context<'_>, msg: &[u8], out: &mut Vec<u8>) -> Result<i64, Errno>;

    /// The client of a request this handler kept gives up. Default: fail
    /// it with `EINTR`.
    fn unblock(&self, id: ReceiveId) {
        let _ = id.error(libc::EINTR);
    }
}

impl<F> MessageHandler for F
where
    F: Fn(&mut Context<'_>, &[u8], &mut Vec<u8>) -> Result<i64, Errno> + Send + Sync + 'static,
{
    fn message(&self, ctx: &mut Context<'_>, msg: &[u8], out: &mut Vec<u8>) -> Result<i64, Errno> {
        self(ctx, msg, out)
    }
}

type Messages = Vec<(RangeInclusive<u16>, Arc<dyn MessageHandler>)>;
type Mounts = Arc<[Arc<dyn Mount>]>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a server serves, and where each message goes.
#[derive(Default)]
pub(crate) struct Router {
    /// By index; a path entry's id maps to it through `links`. A
    /// snapshot each message takes with one reference count (no copy of
    /// the list on the message path); an attach replaces it.
    mounts: RwLock<Mounts>,
    /// (path entry id, mount index) of the attached prefixes.
    links: Mutex<Vec<(u32, usize)>>,
    /// Private message types: a range each, never overlapping.
    messages: RwLock<Messages>,
    pub registry: Arc<Registry>,
}

impl Router {
    /// Adds a mount; its index.
    pub fn add_mount(&self, mount: Arc<dyn Mount>) -> usize {
        let mut mounts = self.mounts.write().unwrap_or_else(|e| e.into_inner());
        let mut grown = mounts.to_vec();
        grown.push(mount);
        *mounts = grown.into();
        mounts.len() - 1
    }

    /// Opens naming path entry `id` go to mount `index`.
    pub fn link(&self, id: u32, index: usize) {
        lock(&self.links).push((id, index));
    }

    /// Opens naming `id` find nothing any more; whether it was linked.
    pub fn unlink(&self, id: u32) -> bool {
        let mut links = lock(&self.links);
        let before = links.len();
        links.retain(|e| e.0 != id);
        links.len() != before
    }

    /// No open finds anything any more.
    pub fn unlink_all(&self) {
        lock(&self.links).clear();
    }

    /// Attaches `handler` to the message types `low..=high`: `EINVAL`
    /// unless `IO_MAX < low <= high`, `EBUSY` if the range overlaps one
    /// attached already.
    pub fn message_attach(&self, low: u16, high: u16, handler: Arc<dyn MessageHandler>) -> Result<(), Errno> {
        if low <= msg::IO_MAX || low > high {
            return Err(Errno(libc::EINVAL));
        }
        let mut messages = self.messages.write().unwrap_or_else(|e| e.into_inner());
        if messages.iter().any(|(r, _)| low <= *r.end() && *r.start() <= high) {
            return Err(Errno(libc::EBUSY));
        }
        messages.push((low..=high, handler));
        Ok(())
    }

    fn mount(&self, index: usize) -> Option<Arc<dyn Mount>> {
        self.mounts.read().unwrap_or_else(|e| e.into_inner()).get(index).cloned()
    }

    pub fn all_mounts(&self) -> Mounts {
        Arc::clone(&self.mounts.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Runs the unblock handler of `target` (a mount, or a message handler
    /// from [`MESSAGES`] on) for the kept request `id`.
    pub fn unblock(&self, target: usize, id: ReceiveId) {
        if let Some(i) = target.checked_sub(MESSAGES) {
            let h = self.messages.read().unwrap_or_else(|e| e.into_inner()).get(i).map(|m| Arc::clone(&m.1));
            if let Some(h) = h {
                h.unblock(id);
            }
        } else if let Some(m) = self.mount(target) {
            m.unblock(id);
        }
    }

    /// A private message of type `ty`: its range's handler, or `ENOSYS`.
    fn private(&self, ctx: &mut Context<'_>, ty: u16, head: &[u8], out: &mut Vec<u8>) -> Result<i64, Errno> {
        let found = {
            let messages = self.messages.read().unwrap_or_else(|e| e.into_inner());
            messages.iter().position(|(r, _)| r.contains(&ty)).map(|i| (i, Arc::clone(&messages[i].1)))
        };
        let (i, handler) = found.ok_or(Errno(libc::ENOSYS))?;
        ctx.mount = MESSAGES + i;
        handler.message(ctx, head, out)
    }

    /// The message's first `want` bytes (the caller checked that the
    /// client sent them): `head` when it holds them, else read on from the
    /// client into `spill`.
    fn prefix<'b>(
        ctx: &mut Context<'_>,
        head: &'b [u8],
        want: usize,
        spill: &'b mut Vec<u8>,
    ) -> Result<&'b [u8], Errno> {
        if want <= head.len() {
            return Ok(&head[..want]);
        }
        let req = ctx.req.as_mut().ok_or(Errno(libc::EBADMSG))?;
        spill.clear();
        spill.resize(want, 0);
        spill[..head.len()].copy_from_slice(head);
        let n = req.read_at(head.len(), &mut spill[head.len()..])?;
        if head.len() + n < want {
            return Err(Errno(libc::EBADMSG));
        }
        Ok(spill)
    }

    /// Handles one message whose first bytes are `head` (the rest, if
    /// any, is read on from the client): the reply status, with its data
    /// in `out`.
    pub(crate) fn dispatch(&self, ctx: &mut Context<'_>, head: &[u8], out: &mut Vec<u8>) -> Result<i64, Errno> {
        // Every message has at least the 4 bytes of an I/O header; a
        // private one's second `u16` is its own.
        if head.len() >= msg::IO_HEADER_LEN {
            let ty = u16::from_le_bytes([head[0], head[1]]);
            if ty > msg::IO_MAX {
                return self.private(ctx, ty, head, out);
            }
        }
        let bad = |e: msg::MsgError| Errno(e.errno());
        let hdr = IoHeader::decode(head).map_err(bad)?;
        let total = ctx.info.srcmsglen;
        let key = (ctx.info.scoid, ctx.info.coid);
        let mut spill = Vec::new();
        let m = match hdr.ty {
            msg::IO_CONNECT => {
                if total > MAX_CONNECT {
                    return Err(Errno(libc::EBADMSG));
                }
                let whole = Self::prefix(ctx, head, total, &mut spill)?;
                let c = msg::Connect::decode(whole).map_err(bad)?;
                return self.connect(ctx, key, &c);
            }
            msg::IO_READ => IoMsg::Read(msg::Read::decode(head).map_err(bad)?),
            msg::IO_WRITE => {
                let w = msg::Write::decode(head, total).map_err(bad)?;
                let (start, end) = (w.data_start(), w.data_start() + w.nbytes as usize);
                IoMsg::Write(w, &Self::prefix(ctx, head, end, &mut spill)?[start..])
            }
            msg::IO_STAT => {
                msg::StatRequest::decode(head).map_err(bad)?;
                IoMsg::Stat
            }
            msg::IO_LSEEK => IoMsg::Lseek(msg::Lseek::decode(head).map_err(bad)?),
            msg::IO_SPACE => IoMsg::Space(msg::Space::decode(head).map_err(bad)?),
            msg::IO_CHMOD => IoMsg::Chmod(msg::Chmod::decode(head).map_err(bad)?),
            msg::IO_CHOWN => IoMsg::Chown(msg::Chown::decode(head).map_err(bad)?),
            msg::IO_DEVCTL => {
                let d = msg::Devctl::decode(head, total).map_err(bad)?;
                let data = if d.dcmd & msg::dcmd::DEVDIR_TO != 0 {
                    let end = msg::DEVCTL_LEN + d.nbytes as usize;
                    &Self::prefix(ctx, head, end, &mut spill)?[msg::DEVCTL_LEN..]
                } else {
                    &[]
                };
                IoMsg::Devctl(d, data)
            }
            msg::IO_NOTIFY => IoMsg::Notify(msg::Notify::decode(head).map_err(bad)?),
            msg::IO_CLOSE => {
                msg::Close::decode(head).map_err(bad)?;
                IoMsg::Close
            }
            _ => return Err(Errno(libc::ENOSYS)),
        };
        let mounts = self.all_mounts();
        for (i, mount) in mounts.iter().enumerate() {
            ctx.mount = i;
            if let Some(r) = mount.io(ctx, key, &m, out) {
                return r;
            }
        }
        Err(Errno(libc::EBADF))
    }

    fn connect(&self, ctx: &mut Context<'_>, key: mount::Key, c: &msg::Connect) -> Result<i64, Errno> {
        let index = lock(&self.links).iter().find(|e| e.0 == c.handle).map(|e| e.1);
        let index = index.ok_or(Errno(libc::ENOENT))?;
        let mount = self.mount(index).ok_or(Errno(libc::ENOENT))?;
        if c.subtype == msg::subtype::OPEN {
            // An open this client left behind under the same key (its close
            // failed) ends first.
            for m in self.all_mounts().iter() {
                m.close_key(key);
            }
        }
        ctx.mount = index;
        mount.connect(ctx, key, c)
    }
}
