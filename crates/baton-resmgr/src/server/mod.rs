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
//! - `dispatch.rs`: the `Router`: which handler each
//!   message goes to; [`MessageHandler`] for private message types.
//! - `mount.rs`: one attached prefix with its handler and OCB table.
//! - `access.rs`: permission checks.
//! - `pool.rs`: the thread pool's water marks.

pub mod access;
mod attr;
mod context;
mod dispatch;
mod handler;
mod mount;
mod pool;

pub use attr::{Attr, Ocb, Opened, SharedAttr};
pub use context::{ConnectRequest, Context, Dirents, Errno, Pending, Space};
pub use dispatch::MessageHandler;
pub(crate) use dispatch::Router;
pub use handler::{check_open, ResourceManager};
pub use pool::Limits;
// The devctl commands every device answers, for handlers of their own.
pub use handler::devctl_default;
// The POSIX chmod/chown rules, for handlers that add to them.
pub use handler::{chmod_default, chown_default};

use crate::msg;
use baton::paths::PathAttach;
use baton::{pulse_code, Channel, Pulse, ReceiveId, Received, Request};
use mount::{Mount, MountOf};
use std::io;
use std::sync::{Arc, Mutex};

/// Bytes each pool thread receives into; longer messages (big writes) are
/// read on from the client's memory.
const RECEIVE_BUF: usize = 64 << 10;

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
                router: Router::default(),
                attaches: Mutex::new(Vec::new()),
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
    router: Router,
    /// The path entries, by id (the router links each id to its mount).
    attaches: Mutex<Vec<(u32, PathAttach)>>,
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
        let index = self.inner.router.add_mount(mount_of(handler, attr.into()));
        let entry = baton::paths::attach(prefix, &self.inner.channel, flags, msg::FTYPE_ANY)?;
        let id = entry.id();
        self.inner.router.link(id, index);
        self.inner.lock_attaches().push((id, entry));
        Ok(id)
    }

    /// Detaches the prefix with entry id `id` (new opens no longer find
    /// it; opens in progress go on). `ENOENT` if there is none.
    pub fn detach(&self, id: u32) -> io::Result<()> {
        let mut a = self.inner.lock_attaches();
        let i = a.iter().position(|e| e.0 == id).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        self.inner.router.unlink(id);
        a.remove(i);
        Ok(())
    }

    /// Attaches `handler` to the private message types `low..=high`, so
    /// that the server speaks its own protocol on the channel next to the
    /// `_IO_*` messages: a client sends a message (at least 4 bytes, else
    /// `EBADMSG`) whose first `u16` (little-endian) is its type on a
    /// connection to
    /// [`channel`](Server::channel) (or on an open's, [`File::connection`]),
    /// and the handler's answer is the reply. A message of a type no
    /// handler has gets `ENOSYS`. `EINVAL` unless `_IO_MAX < low <= high`
    /// (0x1ff, [`msg::IO_MAX`]); `EBUSY` if the range overlaps one
    /// attached before. Corresponds to QNX's `message_attach`. May be
    /// called while the server runs.
    ///
    /// [`File::connection`]: crate::File::connection
    pub fn message_attach(&self, low: u16, high: u16, handler: impl MessageHandler) -> io::Result<()> {
        self.inner.router.message_attach(low, high, Arc::new(handler)).map_err(|e| io::Error::from_raw_os_error(e.0))
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
        self.inner.router.unlink_all();
        self.inner.lock_attaches().clear();
        self.inner.channel.destroy();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A mount of `handler` with `attr`, for a [`Router`].
pub(crate) fn mount_of<R: ResourceManager>(handler: R, attr: SharedAttr) -> Arc<dyn Mount> {
    Arc::new(MountOf::new(handler, attr))
}

fn spawn_worker(inner: &Arc<Inner>) -> io::Result<()> {
    let inner = Arc::clone(inner);
    std::thread::Builder::new().name("resmgr".into()).spawn(move || inner.worker()).map(drop)
}

impl Inner {
    fn lock_attaches(&self) -> std::sync::MutexGuard<'_, Vec<(u32, PathAttach)>> {
        self.attaches.lock().unwrap_or_else(|e| e.into_inner())
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
                if let Some(target) = self.router.registry.unblock_pulse(raw) {
                    self.router.unblock(target, id);
                }
            }
            pulse_code::DISCONNECT => {
                for m in self.router.all_mounts().iter() {
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
            ioflag: 0,
            offset: None,
            req: Some(req),
            rcvid,
            deferred: None,
            registry: &self.router.registry,
            mount: usize::MAX,
        };
        out.clear();
        let r = self.router.dispatch(&mut ctx, &buf[..info.msglen.min(buf.len())], out);
        if let Some(id) = ctx.deferred {
            if let Some(target) = self.router.registry.settled(id) {
                self.router.unblock(target, id);
            }
        } else if let Some(req) = ctx.req.take() {
            // The client may be gone; nothing to do about it.
            let _ = match r {
                Ok(status) => req.reply(status, out),
                Err(e) => req.error(e.0),
            };
        }
    }
}
