//! The server framework: a [`Server`] owns one channel (created with
//! `_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT`), attaches path prefixes to
//! it, each served by a [`ResourceManager`], and runs the receive loop on a
//! thread pool. Corresponds to QNX's `dispatch_*`/`resmgr_*`/`iofunc_*`/
//! `thread_pool_*` layers.
//!
//! - `mod.rs`: [`Server`], its builder, the receive loop and the dispatch
//!   of each message and pulse.
//! - `handler.rs`: the [`ResourceManager`] trait and its POSIX defaults.
//! - `attr.rs`: [`Attr`], [`SharedAttr`], [`Ocb`], [`Opened`].
//! - `context.rs`: [`Context`], [`Pending`] (deferred replies and the
//!   unblock bookkeeping), [`ConnectRequest`], [`Dirents`], [`Errno`].
//! - `mount.rs`: one attached prefix with its handler and OCB table.
//! - `access.rs`: permission checks.
//! - `pool.rs`: the thread pool's water marks.

pub mod access;
mod attr;
mod context;
mod handler;
mod mount;
mod pool;

pub use attr::{Attr, Ocb, Opened, SharedAttr};
pub use context::{ConnectRequest, Context, Dirents, Errno, Pending};
pub use handler::{check_open, ResourceManager};
pub use pool::Limits;

use crate::msg::{self, IoHeader};
use baton::paths::PathAttach;
use baton::{pulse_code, Channel, Pulse, ReceiveId, Received, Request};
use context::Registry;
use mount::{IoMsg, Mount, MountOf};
use std::io;
use std::sync::{Arc, Mutex, RwLock};

/// Bytes each pool thread receives into; longer messages (big writes) are
/// read on from the client's memory.
const RECEIVE_BUF: usize = 64 << 10;

/// Longest `_IO_CONNECT` taken: the fixed part, a path and extra data of
/// at most 64 KiB each.
const MAX_CONNECT: usize = msg::CONNECT_LEN + 2 * (u16::MAX as usize) + 8;

/// Options of a [`Server`].
#[derive(Clone, Debug, Default)]
pub struct ServerBuilder {
    limits: Limits,
}

impl ServerBuilder {
    /// The thread pool's water marks (default: 1 waiting, at most 4
    /// waiting, 32 in all). `EINVAL` at [`build`](Self::build) unless
    /// `1 <= lo <= hi <= max`.
    pub fn threads(mut self, lo: usize, hi: usize, max: usize) -> Self {
        self.limits = Limits { lo, hi, max };
        self
    }

    /// Creates the server's channel.
    pub fn build(self) -> io::Result<Server> {
        if !self.limits.valid() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let channel = Channel::builder().unblock(true).disconnect(true).create()?;
        Ok(Server {
            inner: Arc::new(Inner {
                channel,
                mounts: RwLock::new(Vec::new()),
                attaches: Mutex::new(Vec::new()),
                registry: Arc::new(Registry::default()),
                pool: pool::Pool::new(self.limits),
            }),
        })
    }
}

/// A resource-manager server: one channel, any number of attached
/// prefixes, a thread pool that serves them. Stops (and detaches its
/// paths) on [`stop`](Server::stop) or drop.
#[derive(Debug)]
pub struct Server {
    inner: Arc<Inner>,
}

struct Inner {
    channel: Channel,
    /// By index; the path entry's id maps to it through `attaches`.
    mounts: RwLock<Vec<Arc<dyn Mount>>>,
    /// (path entry id, mount index) and the entry itself.
    attaches: Mutex<Vec<(u32, usize, PathAttach)>>,
    registry: Arc<Registry>,
    pool: pool::Pool,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").field("channel", &self.channel).field("pool", &self.pool).finish_non_exhaustive()
    }
}

impl Server {
    /// A server with default options.
    pub fn new() -> io::Result<Server> {
        ServerBuilder::default().build()
    }

    /// Options for a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Attaches `prefix` (flags from [`baton::paths`]: `DIR` to serve the
    /// paths below it too, `BEFORE`/`AFTER`/`OPAQUE`), served by `handler`
    /// with `attr` (an [`Attr`], or a [`SharedAttr`] the handler keeps too)
    /// as the prefix's own attribute. Returns the entry's id. Corresponds
    /// to `resmgr_attach`. May be called while the server runs.
    pub fn attach<R: ResourceManager>(
        &self,
        prefix: &str,
        flags: u32,
        attr: impl Into<SharedAttr>,
        handler: R,
    ) -> io::Result<u32> {
        let mount: Arc<dyn Mount> = Arc::new(MountOf::new(handler, attr.into()));
        let index = {
            let mut mounts = self.inner.mounts.write().unwrap_or_else(|e| e.into_inner());
            mounts.push(mount);
            mounts.len() - 1
        };
        let entry = baton::paths::attach(prefix, &self.inner.channel, flags, msg::FTYPE_ANY)?;
        let id = entry.id();
        self.inner.lock_attaches().push((id, index, entry));
        Ok(id)
    }

    /// Detaches the prefix with entry id `id` (new opens no longer find
    /// it; opens in progress go on). `ENOENT` if there is none.
    pub fn detach(&self, id: u32) -> io::Result<()> {
        let mut a = self.inner.lock_attaches();
        let i = a.iter().position(|e| e.0 == id).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        a.remove(i);
        Ok(())
    }

    /// The server's channel (its pid and chid are what clients connect to).
    pub fn channel(&self) -> &Channel {
        &self.inner.channel
    }

    /// Threads in the pool now.
    pub fn threads(&self) -> usize {
        self.inner.pool.threads()
    }

    /// Serves until [`stop`](Server::stop) (from another thread, or a
    /// handler): starts the pool's first threads and waits for the last one
    /// to leave. Corresponds to `thread_pool_start`.
    pub fn run(&self) -> io::Result<()> {
        let lo = self.inner.pool.limits.lo;
        self.inner.pool.add(lo);
        for _ in 0..lo {
            if let Err(e) = spawn_worker(&self.inner) {
                self.inner.pool.exit();
                self.stop();
                self.inner.pool.wait_empty();
                return Err(e);
            }
        }
        self.inner.pool.wait_empty();
        Ok(())
    }

    /// Stops serving: detaches every prefix and destroys the channel
    /// (blocked clients get `ESRCH`); [`run`](Server::run) returns once
    /// every pool thread has left.
    pub fn stop(&self) {
        self.inner.lock_attaches().clear();
        self.inner.channel.destroy();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_worker(inner: &Arc<Inner>) -> io::Result<()> {
    let inner = Arc::clone(inner);
    std::thread::Builder::new().name("resmgr".into()).spawn(move || inner.worker()).map(drop)
}

impl Inner {
    fn lock_attaches(&self) -> std::sync::MutexGuard<'_, Vec<(u32, usize, PathAttach)>> {
        self.attaches.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mount(&self, index: usize) -> Option<Arc<dyn Mount>> {
        self.mounts.read().unwrap_or_else(|e| e.into_inner()).get(index).cloned()
    }

    fn all_mounts(&self) -> Vec<Arc<dyn Mount>> {
        self.mounts.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A pool thread: receive, maybe grow the pool, handle, maybe retire.
    fn worker(self: Arc<Self>) {
        let mut buf = vec![0u8; RECEIVE_BUF];
        let mut out = Vec::new();
        loop {
            self.pool.idle();
            let r = self.channel.receive(&mut buf);
            if self.pool.busy() && spawn_worker(&self).is_err() {
                self.pool.exit();
            }
            match r {
                Ok(Received::Message(req)) => self.message(req, &buf, &mut out),
                Ok(Received::Pulse(p)) => self.pulse(p),
                Err(e) if matches!(e.errno(), libc::EINTR | libc::EAGAIN | libc::ETIMEDOUT) => {}
                // The channel is gone (stop): leave.
                Err(_) => break,
            }
            if self.pool.retire() {
                return;
            }
        }
        self.pool.exit();
    }

    fn pulse(&self, p: Pulse) {
        match p.code {
            pulse_code::UNBLOCK => {
                let Ok(raw) = i32::try_from(p.value) else { return };
                let Some(id) = ReceiveId::from_raw(raw) else { return };
                if let Some(m) = self.registry.unblock_pulse(raw).and_then(|m| self.mount(m)) {
                    m.unblock(id);
                }
            }
            pulse_code::DISCONNECT => {
                for m in self.all_mounts() {
                    m.close_scoid(p.scoid);
                }
            }
            _ => {}
        }
    }

    /// Handles one message and answers it, unless a handler kept it.
    fn message(&self, req: Request, buf: &[u8], out: &mut Vec<u8>) {
        let info = req.info();
        let rcvid = Some(req.id());
        let mut ctx = Context {
            info,
            xtype: 0,
            req: Some(req),
            rcvid,
            deferred: None,
            registry: &self.registry,
            mount: usize::MAX,
        };
        out.clear();
        let r = self.dispatch(&mut ctx, &buf[..info.msglen.min(buf.len())], out);
        if let Some(id) = ctx.deferred {
            if let Some(m) = self.registry.settled(id).and_then(|m| self.mount(m)) {
                m.unblock(id);
            }
        } else if let Some(req) = ctx.req.take() {
            // The client may be gone; nothing to do about it.
            let _ = match r {
                Ok(status) => req.reply(status, out),
                Err(e) => req.error(e.0),
            };
        }
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

    fn dispatch(&self, ctx: &mut Context<'_>, head: &[u8], out: &mut Vec<u8>) -> Result<i64, Errno> {
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
                let end = msg::WRITE_LEN + w.nbytes as usize;
                IoMsg::Write(w, &Self::prefix(ctx, head, end, &mut spill)?[msg::WRITE_LEN..])
            }
            msg::IO_STAT => {
                msg::StatRequest::decode(head).map_err(bad)?;
                IoMsg::Stat
            }
            msg::IO_LSEEK => IoMsg::Lseek(msg::Lseek::decode(head).map_err(bad)?),
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
        let index = self.lock_attaches().iter().find(|e| e.0 == c.handle).map(|e| e.1);
        let index = index.ok_or(Errno(libc::ENOENT))?;
        let mount = self.mount(index).ok_or(Errno(libc::ENOENT))?;
        if c.subtype == msg::subtype::OPEN {
            // An open this client left behind under the same key (its close
            // failed) ends first.
            for m in self.all_mounts() {
                m.close_key(key);
            }
        }
        ctx.mount = index;
        mount.connect(ctx, key, c)
    }
}
