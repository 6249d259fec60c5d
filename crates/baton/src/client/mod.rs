//! The client side: connections and calls.
//!
//! - `mod.rs`: [`Connection`], the handle a client calls through.
//! - `conn.rs`: the per-process connection object behind the handles:
//!   handshake, sharing, slot allocation, server death.
//! - `slots.rs`: the per-thread slot of each connection.
//! - `send.rs`: the call itself, pulses, and [`Timeout`].
//! - `events.rs`: performing delivered events, registered events, the
//!   process's table of connection ids.

mod conn;
mod events;
mod send;
mod slots;

pub(crate) use conn::ClientConn;
pub(crate) use events::resolve as resolve_coid;
use send::CallOpts;
pub use send::Timeout;

use crate::error::{Error, Result};
use crate::event::{Event, EventHandle};
use crate::rundir;
use crate::sys::thread;
use crate::types::{ChannelId, Reply, WaitMode};
use rustix::fd::{AsRawFd, OwnedFd};
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// How long a real-time caller whose post woke a sleeping server thread
/// stays SEND-blocked before it raises the server thread that last served
/// its connection, by default (see [`ConnectBuilder::boost_delay`]).
pub const DEFAULT_BOOST_DELAY: Duration = Duration::from_micros(200);

/// Options for opening a connection.
#[derive(Clone, Copy, Debug)]
pub struct ConnectBuilder {
    no_share: bool,
    id: Option<i32>,
    registered_events: bool,
    opts: CallOpts,
}

impl Default for ConnectBuilder {
    fn default() -> Self {
        ConnectBuilder {
            no_share: false,
            id: None,
            registered_events: false,
            opts: CallOpts { boost_delay: DEFAULT_BOOST_DELAY, mode: WaitMode::default() },
        }
    }
}

impl ConnectBuilder {
    /// Default options: share the process's existing connection to the
    /// same channel, if there is one.
    pub fn new() -> Self {
        Self::default()
    }

    /// `_NTO_COF_NOSHARE`: make a connection of its own (its own server
    /// connection id) instead of sharing.
    pub fn no_share(mut self, on: bool) -> Self {
        self.no_share = on;
        self
    }

    /// The connection id ([`Connection::id`]) to use instead of the number
    /// of the connection's own descriptor: what the server sees as the
    /// message's `coid` and what a `COIDDEATH` pulse names. For a layer
    /// that numbers connections itself, such as the C API's side-channel
    /// coids (`_NTO_SIDE_CHANNEL`), which are not descriptors. The caller
    /// keeps its ids unique within the process.
    pub fn id(mut self, coid: i32) -> Self {
        self.id = Some(coid);
        self
    }

    /// How long a real-time caller whose message no server thread has
    /// taken waits before it raises the thread that last served this
    /// connection to its own priority (the send-time boost), when its post
    /// woke a server thread asleep in receive: that thread takes the
    /// message next, without the boost's cost. Otherwise (every thread
    /// busy, or one that promised to look busy or preempted) the call
    /// raises the thread at once, as QNX does, whatever the delay. A call
    /// that lasts longer than the delay pays for the boost even if a thread
    /// took the message in time (the kernel ends the wait at this deadline,
    /// and the caller waits again), about one extra context switch.
    /// Default [`DEFAULT_BOOST_DELAY`]; `Duration::ZERO` boosts as soon as
    /// the message is sent in every case. Only calls from real-time threads
    /// on channels without `FIXED_PRIORITY` boost.
    ///
    /// The delay is a kernel timer that each call that woke a receiver
    /// arms and cancels. Where reprogramming the CPU's timer is dear (in a
    /// virtual machine it may be an exit to the host: 12.5 µs of an idle
    /// 43 µs call on baton's development VM), a delay of an hour or more
    /// arms a timer that is never the next to expire, which costs next to
    /// nothing, at the price of the raise of a woken thread that other
    /// work keeps from its CPU.
    pub fn boost_delay(mut self, delay: Duration) -> Self {
        self.opts.boost_delay = delay;
        self
    }

    /// `_NTO_COF_REG_EVENTS`: the server may deliver only registered
    /// events ([`register_event`]) on this connection; it gets `EACCES` for
    /// any other. Applies to the process's shared connection to the channel
    /// from then on.
    pub fn registered_events_only(mut self, on: bool) -> Self {
        self.registered_events = on;
        self
    }

    /// How a caller waits for its answer (default [`WaitMode::Adaptive`]):
    /// see [`WaitMode`].
    pub fn wait_mode(mut self, mode: WaitMode) -> Self {
        self.opts.mode = mode;
        self
    }

    /// Opens the channel attached under `name`. Corresponds to `name_open`.
    pub fn open(self, name: &str) -> Result<Connection> {
        Error::check_not_forked()?;
        let (pid, chid, path) = rundir::resolve_name(name)?;
        let path = (pid != thread::pid()).then_some(path);
        self.finish(ClientConn::connect(pid, chid, path.as_deref(), self.no_share)?)
    }

    /// Connects to channel `chid` of process `pid` (0 = this process).
    /// Corresponds to `ConnectAttach(0, pid, chid, 0, flags)`.
    pub fn attach(self, pid: i32, chid: ChannelId) -> Result<Connection> {
        Error::check_not_forked()?;
        let me = thread::pid();
        let pid = if pid == 0 { me } else { pid };
        let path = (pid != me).then(|| rundir::channel_path(pid, chid));
        self.finish(ClientConn::connect(pid, chid, path.as_deref(), self.no_share)?)
    }

    fn finish(self, conn: Arc<ClientConn>) -> Result<Connection> {
        if self.registered_events {
            conn.require_registered()?;
        }
        Connection::new(conn, self.opts, self.id)
    }
}

/// A connection to a channel: what a client sends through. Corresponds to
/// a QNX `coid`.
///
/// All threads of the process may use one `Connection` at once (it is
/// `Sync`); each call blocks only its own thread. Connections to the same
/// channel from one process share one server-side connection unless opened
/// with [`ConnectBuilder::no_share`]. Dropping the last handle disconnects
/// (the server gets its disconnect pulse if it asked).
#[derive(Debug)]
pub struct Connection {
    conn: Arc<ClientConn>,
    /// A descriptor of our own, held open for the connection's life: its
    /// number is the connection id (unless one was given), which can
    /// therefore never collide with another descriptor of the process.
    _fd: OwnedFd,
    /// The connection id: `coid`'s number, or the one given to
    /// [`ConnectBuilder::id`].
    id: i32,
    /// See [`ConnectBuilder::boost_delay`] and [`ConnectBuilder::wait_mode`].
    opts: CallOpts,
    /// Set by [`detach`](Connection::detach).
    detached: AtomicBool,
}

impl Connection {
    fn new(conn: Arc<ClientConn>, opts: CallOpts, id: Option<i32>) -> Result<Connection> {
        let coid = crate::sys::unix::dup_cloexec(conn.doorbell())?;
        let id = id.unwrap_or(coid.as_raw_fd());
        conn.add_coid(id);
        events::add_coid(id, &conn);
        Ok(Connection { conn, _fd: coid, id, opts, detached: AtomicBool::new(false) })
    }

    /// Opens the channel attached under `name`. Corresponds to `name_open`.
    pub fn open(name: &str) -> Result<Connection> {
        ConnectBuilder::new().open(name)
    }

    /// Connects to channel `chid` of process `pid` (0 = this process).
    /// Corresponds to `ConnectAttach`.
    pub fn attach(pid: i32, chid: ChannelId) -> Result<Connection> {
        ConnectBuilder::new().attach(pid, chid)
    }

    /// Options for a connection.
    pub fn builder() -> ConnectBuilder {
        ConnectBuilder::new()
    }

    /// The connection id (`coid`): the number of a descriptor this
    /// connection holds open (so it is no other descriptor's number), or
    /// the id given to [`ConnectBuilder::id`].
    pub fn id(&self) -> i32 {
        self.id
    }

    /// The server's pid.
    pub fn server_pid(&self) -> i32 {
        self.conn.key.0
    }

    /// The channel's id in the server process.
    pub fn channel_id(&self) -> ChannelId {
        self.conn.key.1
    }

    /// The server connection id the server sees for this process.
    pub fn scoid(&self) -> u32 {
        self.conn.hello.scoid
    }

    /// Whether the server went away (or destroyed its channel): every call
    /// now fails with `EBADF`.
    pub fn is_closed(&self) -> bool {
        self.conn.is_dead()
    }

    /// Sends `msg` and blocks until the server replies; the reply is copied
    /// into `reply` (`min(reply.len(), reply length)` bytes). Corresponds to
    /// `MsgSend`.
    pub fn send(&self, msg: &[u8], reply: &mut [u8]) -> Result<Reply> {
        self.send_vectored_timeout(&[IoSlice::new(msg)], &mut [IoSliceMut::new(reply)], Timeout::NONE)
    }

    /// Sends the concatenation of `msg` and scatters the reply over `reply`.
    /// Corresponds to `MsgSendv`.
    pub fn send_vectored(&self, msg: &[IoSlice<'_>], reply: &mut [IoSliceMut<'_>]) -> Result<Reply> {
        self.send_vectored_timeout(msg, reply, Timeout::NONE)
    }

    /// [`send`](Connection::send) that gives up with `ETIMEDOUT` as
    /// `timeout` says.
    pub fn send_timeout(&self, msg: &[u8], reply: &mut [u8], timeout: Timeout) -> Result<Reply> {
        self.send_vectored_timeout(&[IoSlice::new(msg)], &mut [IoSliceMut::new(reply)], timeout)
    }

    /// [`send_vectored`](Connection::send_vectored) with a timeout.
    pub fn send_vectored_timeout(
        &self,
        msg: &[IoSlice<'_>],
        reply: &mut [IoSliceMut<'_>],
        timeout: Timeout,
    ) -> Result<Reply> {
        if self.detached.load(Relaxed) {
            return Err(send::detached());
        }
        self.conn.send(self.id(), &self.detached, msg, reply, timeout, self.opts)
    }

    /// Sends a pulse at the calling thread's priority; never blocks.
    /// Corresponds to `MsgSendPulse(coid, -1, code, value)`. `EAGAIN` if
    /// the server has too many of this process's pulses waiting.
    pub fn send_pulse(&self, code: i8, value: i64) -> Result<()> {
        self.send_pulse_priority(-1, code, value)
    }

    /// Sends a pulse at `priority`. Corresponds to `MsgSendPulse`.
    pub fn send_pulse_priority(&self, priority: i32, code: i8, value: i64) -> Result<()> {
        if self.detached.load(Relaxed) {
            return Err(send::detached());
        }
        self.conn.send_pulse(if priority < 0 { None } else { Some(priority) }, code, value)
    }

    /// Detaches this handle while other threads may still be using it:
    /// their calls through it that are in flight end with `EBADF`, as at a
    /// deadline (a message no server has taken is withdrawn, one a server
    /// holds is abandoned; on a channel with `_NTO_CHF_UNBLOCK` the server
    /// is asked to unblock and decides, as for a timeout), and later calls
    /// through it fail with `EBADF` at once. Other handles to the same
    /// connection are not affected. The connection itself closes when the
    /// handle is dropped. Corresponds to `ConnectDetach` from a thread other
    /// than the ones blocked on the coid. A caller asleep wakes at once; a
    /// real-time caller waiting on a priority-inheritance word notices
    /// within its wait slice (at most 10 ms).
    pub fn detach(&self) {
        self.detached.store(true, SeqCst);
        self.conn.poke_calls(self.id);
    }

    /// Whether [`detach`](Connection::detach) was called.
    pub fn is_detached(&self) -> bool {
        self.detached.load(Relaxed)
    }

    /// Bytes of shared memory this connection's segment holds; a slot's
    /// overflow area (see `ChannelBuilder::overflow_size`) adds to it once a
    /// message or reply needs it.
    pub fn segment_size(&self) -> usize {
        self.conn.seg.len()
    }

    /// Makes `id` another number by which pulse events ([`Event::Pulse`]'s
    /// `coid`) and timers name this connection, for as long as it lives: for
    /// a C layer whose connection ids (side channels) are not
    /// [`id`](Connection::id). `EBUSY` if `id` names another live connection.
    pub fn add_alias(&self, id: i32) -> Result<()> {
        events::add_alias(id, self.id(), &self.conn)
    }

    /// Registers `event` so that only this connection's server may deliver
    /// it. Corresponds to `MsgRegisterEvent(event, coid)`; see
    /// [`register_event`].
    pub fn register_event(&self, event: Event, updateable: bool) -> Result<EventHandle> {
        events::register(event, updateable, events::Deliverer::Server(&self.conn))
    }

    pub(crate) fn inner(&self) -> &Arc<ClientConn> {
        &self.conn
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        events::remove_coid(self.id);
        self.conn.remove_coid(self.id);
    }
}

/// Registers `event` (QNX 7.1's secure events) and returns its handle,
/// which the client sends to a server in place of the event
/// ([`Event::Registered`]). Corresponds to `MsgRegisterEvent(event, -1)`
/// with `server == None` (any server this process is connected to, now or
/// later, may deliver it; not recommended) and to
/// `MsgRegisterEvent(event, coid)` with the connection to the only server
/// allowed. With `updateable` (`SIGEV_MAKE_UPDATEABLE`) the server's value
/// replaces the registered one at each delivery.
///
/// The server learns of the handle before this returns; it can then
/// deliver it and no other handle of ours (`ESRCH`), and a connection made
/// with [`ConnectBuilder::registered_events_only`] takes nothing else
/// (`EACCES`). Errors: `EINVAL` for a malformed event or one that is
/// already a handle, `EBADF` for a pulse event whose `coid` is not a
/// connection of this process, `ENOTSUP` for [`Event::Unblock`],
/// `ETIMEDOUT` if the server does not acknowledge within seconds.
pub fn register_event(event: Event, updateable: bool, server: Option<&Connection>) -> Result<EventHandle> {
    let who = server.map_or(events::Deliverer::Any, |c| events::Deliverer::Server(c.inner()));
    events::register(event, updateable, who)
}

/// Registers `event` so that only this process may deliver it, with
/// [`deliver_event_to_self`]. Corresponds to `MsgRegisterEvent(event,
/// _NTO_REGEVENT_ALLOW_SELF)`. No server learns of the handle, so any
/// server's delivery of it fails with `ESRCH`.
pub fn register_event_for_self(event: Event, updateable: bool) -> Result<EventHandle> {
    events::register(event, updateable, events::Deliverer::ThisProcess)
}

/// Unregisters a handle from [`register_event`]. Corresponds to
/// `MsgUnregisterEvent`. Once this returns, a server's delivery of the
/// handle fails with `ESRCH` (as QNX's handle lookup does), and a notice
/// already on its way does nothing. `ESRCH` if the handle is not registered.
pub fn unregister_event(handle: EventHandle) -> Result<()> {
    events::unregister(handle)
}

/// Performs `event` in this process at once, concerning the calling
/// thread. Corresponds to `MsgDeliverEvent(0, event)`.
pub fn deliver_event_to_self(event: &Event) -> Result<()> {
    Error::check_not_forked()?;
    events::perform(*event, thread::tid())
}

/// Events that servers delivered to this process but that could not
/// happen here: the pulse's connection was gone or its pulse ring full,
/// the thread to signal had exited, or the handle had been unregistered.
/// The server's call succeeded (delivery is asynchronous); this count is
/// where such losses show.
pub fn lost_events() -> u64 {
    events::lost()
}
