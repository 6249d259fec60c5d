//! The server side: channels, their connections, receiving and replying.
//!
//! - `mod.rs`: [`Channel`], its builder, the channel's private state and
//!   what happens when a channel is destroyed or a client goes away.
//! - `accept.rs`: accepting a connection: credentials, permission, the
//!   segment and doorbell, the handshake.
//! - `receive.rs`: the receive loop: the epoll wait on doorbells, draining
//!   posted slots and pulses into the ready queue, claiming a message.
//! - `request.rs`: [`Request`]: reply, error, read and write at an offset,
//!   receive ids.
//! - `hold.rs`: which request each slot holds (its generation), one atomic
//!   word per slot, so that a request can be taken without the lock.
//! - `fast.rs`: the spin-mode fast path: a spinning receiver takes the
//!   message posted in the slot it watches without the lock and the queue.
//! - `sleep.rs`: a receiver sleeping on its connections' doorbell words
//!   (`FUTEX_WAITV`) instead of in the epoll set.
//! - `transfer.rs`: moving bytes beyond the inline area, straight between
//!   address spaces or through the slot with the client's help.
//! - `events.rs`: delivering events to clients (`MsgDeliverEvent`) and the
//!   handles clients registered for us.
//!
//! Locking: each channel has one mutex over its ready queue and the
//! server-private state of every slot of its connections. It is held only
//! for bookkeeping, never across a copy, a system call that blocks, or a
//! call into user code. Two things are kept outside it so that the fast
//! path needs no lock: the hold of each slot (`hold.rs`), and the
//! channel's `epoch`, bumped under the lock whenever work enters the queue.

mod accept;
mod drain;
pub(crate) mod events;
mod fast;
mod hold;
mod inherit;
mod priority;
mod receive;
pub(crate) mod request;
mod sleep;
mod transfer;

pub(crate) use accept::ServerConn;
pub use request::{ReceiveId, Received, Request};

use crate::error::{Error, Result};
use crate::proto::queue::{Key, ReadyQueue, RANK_FIRST};
use crate::proto::ring::RingCursor;
use crate::rundir;
use crate::runtime::{Runtime, Token, Watch};
use crate::shm::Layout;
use crate::sys::event::{self, Epoll};
use crate::sys::sched::Sched;
use crate::sys::thread;
use crate::sys::time::Deadline;
use crate::types::{chf, pulse_code, ChannelId, ClientCredentials, Pulse, WaitMode};
use rustix::fd::{AsFd, OwnedFd};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::io::IoSliceMut;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};

/// Epoll token of a channel's internal wake-up eventfd.
const WAKE_TOKEN: u64 = u64::MAX;

/// Options of a new channel. Corresponds to `ChannelCreate` flags and
/// `name_attach`.
#[derive(Clone, Debug)]
pub struct ChannelBuilder {
    flags: u32,
    name: Option<String>,
    mode: u32,
    allow: accept::AllowList,
    max_message: u64,
    inline_size: u32,
    overflow_size: u32,
    slots: u32,
    pulses: u32,
    max_connections: u32,
    direct_copy: bool,
    wait_mode: WaitMode,
}

impl Default for ChannelBuilder {
    fn default() -> Self {
        ChannelBuilder {
            flags: 0,
            name: None,
            mode: 0o666,
            allow: accept::AllowList::default(),
            max_message: u64::MAX,
            inline_size: 4096 - 128,
            overflow_size: 1 << 20,
            slots: 64,
            pulses: 64,
            max_connections: 4096,
            direct_copy: true,
            wait_mode: WaitMode::default(),
        }
    }
}

macro_rules! flag_setter {
    ($(#[$doc:meta])* $fn:ident, $flag:expr) => {
        $(#[$doc])*
        pub fn $fn(mut self, on: bool) -> Self {
            if on { self.flags |= $flag } else { self.flags &= !$flag }
            self
        }
    };
}

impl ChannelBuilder {
    /// Default options: anonymous, no flags, mode 0666, 3968-byte inline
    /// area, 64 slots and 64 pulses per connection.
    pub fn new() -> Self {
        Self::default()
    }

    flag_setter!(
        /// `_NTO_CHF_UNBLOCK`: REPLY-blocked clients that time out stay
        /// blocked and the server gets [`pulse_code::UNBLOCK`].
        unblock, chf::UNBLOCK);
    flag_setter!(
        /// `_NTO_CHF_DISCONNECT`: a [`pulse_code::DISCONNECT`] pulse when a
        /// client process's connection goes away.
        disconnect, chf::DISCONNECT);
    flag_setter!(
        /// `_NTO_CHF_COID_DISCONNECT`: a [`pulse_code::COIDDEATH`] pulse on
        /// this channel when a server this process is connected to goes away.
        coid_disconnect, chf::COID_DISCONNECT);
    flag_setter!(
        /// `_NTO_CHF_THREAD_DEATH`: a [`pulse_code::THREADDEATH`] pulse when a
        /// thread of this process exits.
        thread_death, chf::THREAD_DEATH);
    flag_setter!(
        /// `_NTO_CHF_FIXED_PRIORITY`: receiving threads keep their priority.
        fixed_priority, chf::FIXED_PRIORITY);
    flag_setter!(
        /// `_NTO_CHF_SENDER_LEN`: baton always reports `srcmsglen`; accepted
        /// for compatibility.
        sender_len, chf::SENDER_LEN);
    flag_setter!(
        /// `_NTO_CHF_REPLY_LEN`: baton always reports `dstmsglen`; accepted
        /// for compatibility.
        reply_len, chf::REPLY_LEN);
    flag_setter!(
        /// `_NTO_CHF_PRIVATE`: only this process may connect.
        private, chf::PRIVATE);

    /// Sets all flags from a QNX `ChannelCreate` flags word.
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }

    /// Attaches the channel under `name` in the runtime directory
    /// (`name_attach`). A name left behind by a dead process is replaced.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Permission bits of the channel's socket (default 0666): who may
    /// connect, by uid and gid as for a file (write permission). Checked by
    /// the kernel on connect and again by the server, which refuses others
    /// with `EACCES`.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o777;
        self
    }

    /// Also lets clients whose effective uid is `uid` connect, whatever the
    /// [`mode`](Self::mode) says (call it again for more users). With an
    /// allow list the socket file is made writable by everyone, so that the
    /// kernel lets the listed users through; the server then decides alone,
    /// by the mode and the list, from the credentials the kernel reports.
    pub fn allow_uid(mut self, uid: u32) -> Self {
        self.allow.uids.push(uid);
        self
    }

    /// Also lets clients whose effective gid, or one of whose supplementary
    /// groups, is `gid` connect, whatever the [`mode`](Self::mode) says
    /// (call it again for more groups). See [`allow_uid`](Self::allow_uid).
    pub fn allow_gid(mut self, gid: u32) -> Self {
        self.allow.gids.push(gid);
        self
    }

    /// Largest message a client may send, in bytes (default: no limit but
    /// memory). A bigger send fails with `EMSGSIZE` in the client before the
    /// server sees it (the limit travels in the handshake); the server
    /// checks again and fails a request that claims more with `EMSGSIZE`
    /// without delivering it. Pulses and replies are not counted.
    pub fn max_message_size(mut self, bytes: u64) -> Self {
        self.max_message = bytes;
        self
    }

    /// Bytes of message carried inside the shared slot (default 3968, so a
    /// slot is one page). Larger messages work too; their remainder moves
    /// straight between the two address spaces.
    pub fn inline_size(mut self, bytes: u32) -> Self {
        self.inline_size = bytes;
        self
    }

    /// Bytes of message per slot, beyond the inline area, that travel
    /// through shared memory too (default 1 MiB; at most 16 MiB; rounded up
    /// to pages; 0 turns it off). A slot's overflow area is mapped by both
    /// sides but takes memory only from the first message or reply that
    /// needs it (the segment file grows then), and keeps it until the
    /// connection closes: a thread that sends big messages keeps a buffer
    /// of that size. Bytes beyond inline plus overflow move straight
    /// between the address spaces (see [`direct_copy`](Self::direct_copy)).
    pub fn overflow_size(mut self, bytes: u32) -> Self {
        self.overflow_size = bytes;
        self
    }

    /// Most client threads of one process with a call in flight at once on
    /// this channel (default 64, at most 256).
    pub fn slots_per_connection(mut self, n: u32) -> Self {
        self.slots = n;
        self
    }

    /// Pulses a client may have waiting before `send_pulse` fails with
    /// `EAGAIN` (default 64).
    pub fn pulse_capacity(mut self, n: u32) -> Self {
        self.pulses = n;
        self
    }

    /// Most connected client processes (default 4096); more are refused
    /// with `EAGAIN`.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Whether message bytes beyond the inline area may be copied straight
    /// between the two address spaces with `process_vm_readv`/`writev`
    /// (default: yes, when the kernel allows it). With `false` they always
    /// travel through the slot, one inline area per round trip with the
    /// client, as they do when the kernel refuses (a client of another
    /// user, or a restrictive Yama ptrace scope).
    pub fn direct_copy(mut self, on: bool) -> Self {
        self.direct_copy = on;
        self
    }

    /// How receiving threads wait for work (default
    /// [`WaitMode::Adaptive`]): see [`WaitMode`]. A spinning receiver
    /// watches the connections it has just served, whose clients then need
    /// not ring the doorbell, and looks at the doorbells every few µs.
    pub fn wait_mode(mut self, mode: WaitMode) -> Self {
        self.wait_mode = mode;
        self
    }

    /// Creates the channel. Corresponds to `ChannelCreate` (and
    /// `name_attach` when a name was given).
    pub fn create(self) -> Result<Channel> {
        Error::check_not_forked()?;
        if self.flags & !chf::ALL != 0 {
            return Err(
                Error::new(libc::EINVAL, "unknown channel flags").with_detail(format!("{:#x}", self.flags & !chf::ALL))
            );
        }
        let inline_size = self.inline_size.div_ceil(8).max(8) * 8;
        let overflow_size = u32::try_from(u64::from(self.overflow_size).div_ceil(4096) * 4096).unwrap_or(u32::MAX);
        let layout = Layout {
            slot_count: self.slots,
            inline_size: inline_size.max(64),
            overflow_size,
            pulse_capacity: self.pulses,
        };
        let layout = layout.validate().ok_or_else(|| {
            Error::new(libc::EINVAL, "channel limits out of range").with_detail(format!(
                "slots 1..=256, inline 64..=1048576 bytes, overflow 0..=16 MiB, pulses 1..=4096; \
                 got {} slots, {} inline bytes, {} overflow bytes, {} pulses",
                self.slots, self.inline_size, self.overflow_size, self.pulses
            ))
        })?;
        ChannelShared::create(self, layout)
    }
}

/// A message in the ready queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueuedMsg {
    pub scoid: u32,
    pub slot: u32,
}

/// A pulse in the ready queue; `client` is the (scoid, ring position) it
/// occupies until received, or `None` for a system pulse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueuedPulse {
    pub pulse: Pulse,
    pub client: Option<(u32, u32)>,
}

/// The channel's ready queue.
pub(crate) type Queue = ReadyQueue<QueuedMsg, QueuedPulse>;

/// Server-private state of one slot.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SlotPriv {
    /// Its entry in the ready queue, while it waits there.
    pub queued: Option<Key>,
    /// The scheduling attributes the queued message claims, and those it
    /// is ranked and reported at (the claim, checked).
    pub claim: Sched,
    pub sched: Sched,
    /// The last check of a claim from this slot.
    pub checked: priority::LastCheck,
    /// The unblock pulse queued for the held request (which the hold,
    /// `ServerConn::holds`, names), if one was sent and not yet received.
    pub unblock: Option<Key>,
}

/// A connection as the channel's state sees it.
#[derive(Debug)]
pub(crate) struct ConnEntry {
    pub conn: Arc<ServerConn>,
    pub slots: Vec<SlotPriv>,
    /// Where we are in its pulse ring.
    pub ring: RingCursor,
    /// The slot the last promise to look at it watched, when that promise
    /// was withdrawn: a receiver that then sleeps on futexes watches it
    /// still (`sleep.rs`).
    pub rewatch: Option<u32>,
}

/// Hashes a scoid to itself: scoids are small distinct integers chosen by
/// this process, so a cryptographic hash would only cost time on every
/// receive and reply.
#[derive(Debug, Default)]
pub(crate) struct ScoidHasher(u64);

impl std::hash::Hasher for ScoidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        // Spread the bits over the whole word (hashbrown uses the top bits).
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The channel's private, lock-protected state.
#[derive(Debug, Default)]
pub(crate) struct ChanState {
    pub destroyed: bool,
    pub queue: Queue,
    pub conns: HashMap<u32, ConnEntry, BuildHasherDefault<ScoidHasher>>,
    /// Threads blocked in receive on this channel.
    pub receivers: u32,
    /// Threads that left receive with work and have not come back (as far
    /// as they are known: see `receive::SERVING`). While one is out it may
    /// promise to look at a connection when it comes back, which would
    /// overwrite a word a futex sleeper armed, so a receiver then sleeps
    /// in the epoll set (`sleep.rs`).
    pub serving: u32,
    /// Scratch space for draining a connection (kept to avoid allocating).
    pub fresh: Vec<drain::Fresh>,
    /// Connections a server thread promised to look at before sleeping
    /// (`proto::doorbell`).
    pub hot: Vec<u32>,
    /// The thread that last entered receive (new connections' boost word
    /// names it).
    pub last_receiver: u32,
    /// Bumped (under the lock) whenever work enters the queue or the
    /// channel is destroyed: a spinning receiver that saw it unchanged
    /// since the queue was empty knows nothing else waits (`fast.rs`).
    pub epoch: Arc<AtomicU32>,
}

impl ChanState {
    /// Whether `conn` is still this channel's and alive. A connection
    /// leaves its channel only after it is marked dead (`client_gone`) or
    /// with the channel's destruction, so this needs no lookup.
    pub(crate) fn serves(&self, conn: &ServerConn) -> bool {
        !self.destroyed && !conn.is_dead()
    }

    /// Notes that work entered the queue (see `epoch`).
    pub(crate) fn changed(&self) {
        // Only lock holders write it: no read-modify-write needed.
        self.epoch.store(self.epoch.load(Ordering::Relaxed).wrapping_add(1), Ordering::Release);
    }
}

/// What the process knows of one of its channels.
#[derive(Debug)]
pub(crate) struct ChannelShared {
    pub chid: ChannelId,
    pub flags: u32,
    pub layout: Layout,
    pub mode: u32,
    /// Who may connect besides those the mode lets in.
    pub allow: accept::AllowList,
    /// Largest message a client may send (`ChannelBuilder::max_message_size`).
    pub max_message: u64,
    pub max_connections: u32,
    /// Try `process_vm_*` for bytes beyond the inline area.
    pub direct_copy: bool,
    pub wait_mode: WaitMode,
    /// Bumped each time a connection joins the hot list, so that a
    /// spinning receiver (which watches a copy) looks again.
    pub hot_joins: std::sync::atomic::AtomicU32,
    /// `ChanState::epoch`, readable without the lock.
    pub epoch: Arc<AtomicU32>,
    /// When a receiver last read the epoll set (`CLOCK_MONOTONIC` ns).
    pub last_look: std::sync::atomic::AtomicU64,
    /// Set while a receiver sleeps on futexes (`sleep.rs`).
    pub futex_sleeper: std::sync::atomic::AtomicBool,
    /// `ChanState::receivers` (receivers asleep), readable without the
    /// lock: the fast path stands aside while others sleep, since the
    /// promise it keeps standing would leave them unwoken
    /// (`ChannelShared::leave_promises`).
    pub sleepers: AtomicU32,
    /// The word that receiver also sleeps on: bumped to wake it.
    pub wake_word: AtomicU32,
    pub name: Option<String>,
    pub epoll: Epoll,
    wake: OwnedFd,
    pub state: Mutex<ChanState>,
    listener: Mutex<Option<Listener>>,
}

#[derive(Debug)]
struct Listener {
    fd: OwnedFd,
    path: PathBuf,
    token: Token,
}

/// Channels of this process by chid.
static CHANNELS: LazyLock<Mutex<HashMap<ChannelId, Weak<ChannelShared>>>> = LazyLock::new(Default::default);
static NEXT_CHID: AtomicU32 = AtomicU32::new(1);

/// Server connection ids of this process (for receive ids), with their channel.
static SCOIDS: LazyLock<Mutex<HashMap<u32, Weak<ChannelShared>>>> = LazyLock::new(Default::default);
static NEXT_SCOID: AtomicU32 = AtomicU32::new(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Finds a channel of this process.
pub(crate) fn channel_by_id(chid: ChannelId) -> Option<Arc<ChannelShared>> {
    lock(&CHANNELS).get(&chid)?.upgrade()
}

/// Channels of this process that have `flag`.
fn channels_with(flag: u32) -> Vec<Arc<ChannelShared>> {
    lock(&CHANNELS).values().filter_map(Weak::upgrade).filter(|c| c.flags & flag != 0).collect()
}

/// Allocates a free scoid for `chan`.
pub(crate) fn alloc_scoid(chan: &Arc<ChannelShared>) -> Option<u32> {
    let mut map = lock(&SCOIDS);
    for _ in 0..=crate::proto::rcvid::MAX_SCOID {
        let s = NEXT_SCOID.fetch_add(1, Ordering::Relaxed) % (crate::proto::rcvid::MAX_SCOID + 1);
        if s != 0 && map.get(&s).is_none_or(|w| w.strong_count() == 0) {
            map.insert(s, Arc::downgrade(chan));
            return Some(s);
        }
    }
    None
}

/// The credentials of the client process behind server connection
/// `scoid`, on any channel of this process. Corresponds to
/// `ConnectClientInfo`; `ESRCH` if no client is connected under `scoid`
/// (never was, or its connection went away).
pub fn client_credentials(scoid: u32) -> Result<ClientCredentials> {
    let no_such = || Error::new(libc::ESRCH, "no client connection with this scoid").with_detail(scoid);
    let chan = lock(&SCOIDS).get(&scoid).and_then(Weak::upgrade).ok_or_else(no_such)?;
    let st = chan.lock();
    let e = st.conns.get(&scoid).filter(|e| !e.conn.is_dead()).ok_or_else(no_such)?;
    let c = e.conn.cred;
    Ok(ClientCredentials { pid: c.pid, uid: c.uid, gid: c.gid })
}

pub(crate) fn free_scoid(scoid: u32) {
    lock(&SCOIDS).remove(&scoid);
}

impl ChannelShared {
    fn create(b: ChannelBuilder, layout: Layout) -> Result<Channel> {
        Runtime::start()?;
        let chid = NEXT_CHID.fetch_add(1, Ordering::Relaxed);
        let epoll = Epoll::new()?;
        let wake = event::doorbell()?;
        epoll.add_edge(&wake, WAKE_TOKEN)?;
        let state = ChanState::default();
        let shared = Arc::new(ChannelShared {
            chid,
            flags: b.flags,
            layout,
            mode: b.mode,
            allow: b.allow.clone(),
            max_message: b.max_message,
            max_connections: b.max_connections,
            direct_copy: b.direct_copy,
            wait_mode: b.wait_mode,
            hot_joins: Default::default(),
            epoch: state.epoch.clone(),
            last_look: Default::default(),
            futex_sleeper: Default::default(),
            sleepers: Default::default(),
            wake_word: Default::default(),
            name: b.name.clone(),
            epoll,
            wake,
            state: Mutex::new(state),
            listener: Mutex::new(None),
        });
        lock(&CHANNELS).insert(chid, Arc::downgrade(&shared));
        if b.flags & chf::THREAD_DEATH != 0 {
            Runtime::get().want_thread_deaths(true);
        }
        let channel = Channel { shared };
        if b.flags & chf::PRIVATE == 0 {
            // With an allow list the kernel must let the listed users
            // through; the server's check decides.
            let file_mode = if b.allow.is_empty() { b.mode } else { b.mode | 0o222 };
            let (fd, path) = rundir::listen_channel(chid, file_mode)?;
            let token = Runtime::get().watch(&fd, Watch::Listener(Arc::downgrade(&channel.shared)))?;
            *lock(&channel.shared.listener) = Some(Listener { fd, path, token });
        }
        if let Some(n) = &b.name {
            if b.flags & chf::PRIVATE != 0 {
                return Err(Error::new(libc::EINVAL, "a private channel cannot have a name").with_detail(n));
            }
            rundir::attach_name(n, chid)?;
        }
        Ok(channel)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ChanState> {
        lock(&self.state)
    }

    /// Wakes one receiver: the one sleeping on futexes if there is one,
    /// else one blocked in the epoll wait.
    pub(crate) fn wake_receiver(&self) {
        if self.futex_sleeper.load(Ordering::SeqCst) {
            self.wake_futex_sleeper();
        } else {
            event::ring(self.wake.as_fd());
        }
    }

    /// Queues a system pulse and wakes a receiver.
    pub(crate) fn push_system_pulse(&self, rank: u32, code: i8, value: i64, scoid: u32) {
        let mut st = self.lock();
        if st.destroyed {
            return;
        }
        let pulse = Pulse { code, value, scoid, priority: 0, policy: libc::SCHED_OTHER };
        st.queue.push_pulse(rank, QueuedPulse { pulse, client: None });
        st.changed();
        drop(st);
        self.wake_receiver();
    }

    /// Destroys the channel: fails every blocked party with `ESRCH`, drops
    /// pulses, closes every connection. Idempotent.
    pub(crate) fn destroy(&self) {
        // A forked child shares the parent's sockets and segments: touching
        // them would destroy the parent's channel.
        if thread::forked() {
            return;
        }
        let conns = {
            let mut st = self.lock();
            if st.destroyed {
                return;
            }
            st.destroyed = true;
            st.changed();
            st.queue = ReadyQueue::default();
            let conns: Vec<ConnEntry> = st.conns.drain().map(|(_, e)| e).collect();
            for e in &conns {
                e.conn.promised.store(false, std::sync::atomic::Ordering::Relaxed);
            }
            conns
        };
        if let Some(l) = lock(&self.listener).take() {
            Runtime::get().unwatch(&l.fd, l.token);
            rundir::unlisten_channel(&l.path);
        }
        if let Some(n) = &self.name {
            rundir::detach_name(n, self.chid);
        }
        for e in &conns {
            e.conn.fail_all(libc::ESRCH);
            e.conn.close();
        }
        request::forget_parked(|scoid| conns.iter().any(|e| e.conn.scoid == scoid));
        // Wake every receiver: each sees `destroyed` and leaves with ESRCH.
        let receivers = self.lock().receivers;
        self.wake_futex_sleeper();
        for _ in 0..receivers.max(1) {
            event::ring(self.wake.as_fd());
        }
        lock(&CHANNELS).remove(&self.chid);
        if self.flags & chf::THREAD_DEATH != 0 {
            Runtime::get().want_thread_deaths(false);
        }
    }
}

/// A client's connection went away (socket hung up or process exited):
/// its queued messages vanish (its pulses stay: they are delivered), replies to it fail
/// with `ESRCH`, and a `DISCONNECT` channel gets the disconnect pulse.
pub(crate) fn client_gone(conn: &Arc<ServerConn>) {
    conn.mark_dead();
    // A client that owned channels and was killed leaves entries behind.
    if let Some(p) = conn.pidfd() {
        Runtime::get().sweep_on_exit(conn.cred.pid, p);
    }
    let Some(chan) = conn.channel() else {
        conn.close();
        return;
    };
    // Its messages left in the ready queue are skipped when they come up;
    // its pulses were accepted, so they stay and are delivered.
    let found = {
        let mut st = chan.lock();
        drain::salvage_pulses(&mut st, conn.scoid);
        conn.promised.store(false, std::sync::atomic::Ordering::Relaxed);
        st.conns.remove(&conn.scoid).is_some()
    };
    if found {
        chan.epoll.remove(conn.doorbell());
        // A receiver asleep on its word holds it mapped: let it go.
        chan.wake_futex_sleeper();
        request::forget_parked(|s| s == conn.scoid);
        if chan.flags & chf::DISCONNECT != 0 {
            chan.push_system_pulse(RANK_FIRST, pulse_code::DISCONNECT, 0, conn.scoid);
        }
    }
    conn.close();
}

/// A thread of this process exited: channels with `THREAD_DEATH` get a
/// THREADDEATH pulse whose value is its thread id.
pub(crate) fn notify_thread_death(tid: i32) {
    for ch in channels_with(chf::THREAD_DEATH) {
        ch.push_system_pulse(RANK_FIRST - 1, pulse_code::THREADDEATH, i64::from(tid), 0);
    }
}

/// A server this process was connected to went away: channels with
/// `COID_DISCONNECT` get a COIDDEATH pulse per connection id.
pub(crate) fn notify_coid_death(coids: &[i32]) {
    for ch in channels_with(chf::COID_DISCONNECT) {
        for &coid in coids {
            ch.push_system_pulse(RANK_FIRST - 1, pulse_code::COIDDEATH, i64::from(coid), 0);
        }
    }
}

/// The shared-memory segment of one connection, in bytes: a header page
/// (fixed fields, doorbell, pulse ring), then `slots` slots of `slot_len`
/// bytes each, the whole rounded up to pages. The kernel gives a page
/// memory only once either side touches it.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentGeometry {
    /// The whole segment (what [`Channel::segment_size`] returns).
    pub len: usize,
    /// The header and pulse ring, before the first slot.
    pub header_len: usize,
    /// One slot: its header and inline area.
    pub slot_len: usize,
    /// Slots per connection.
    pub slots: usize,
    /// Message bytes a slot carries inline.
    pub inline_size: usize,
    /// Bytes of a slot's overflow area, mapped past `len` and backed only
    /// once a message or reply needs it.
    pub overflow_size: usize,
    /// Entries of the pulse ring.
    pub pulses: usize,
}

/// A channel: the point where a server receives messages. Corresponds to a
/// QNX `chid`.
///
/// Any thread may receive on it (share it with `Arc<Channel>` or a scoped
/// thread); any thread may answer a [`Request`]. Dropping the channel
/// destroys it ([`Channel::destroy`]).
#[derive(Debug)]
pub struct Channel {
    shared: Arc<ChannelShared>,
}

impl Channel {
    /// Creates an anonymous channel with default options. Corresponds to
    /// `ChannelCreate(0)`.
    pub fn create() -> Result<Channel> {
        ChannelBuilder::new().create()
    }

    /// Options for a new channel.
    pub fn builder() -> ChannelBuilder {
        ChannelBuilder::new()
    }

    /// Creates a channel attached under `name`, with the flags QNX's
    /// `name_attach` gives it (`DISCONNECT | COID_DISCONNECT | UNBLOCK`).
    pub fn attach(name: &str) -> Result<Channel> {
        ChannelBuilder::new().name(name).disconnect(true).coid_disconnect(true).unblock(true).create()
    }

    /// The channel id (`chid`); with this process's pid it is the address
    /// other processes use with [`Connection::attach`](crate::Connection::attach).
    pub fn id(&self) -> ChannelId {
        self.shared.chid
    }

    /// The pid of this process (the other half of the channel's address).
    pub fn pid(&self) -> i32 {
        thread::pid()
    }

    /// The name it is attached under, if any.
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// Its flags (`_NTO_CHF_*`, see [`chf`]).
    pub fn flags(&self) -> u32 {
        self.shared.flags
    }

    /// Client processes connected now.
    pub fn connection_count(&self) -> usize {
        self.shared.lock().conns.len()
    }

    /// Bytes of shared memory one connection to this channel uses.
    pub fn segment_size(&self) -> usize {
        self.shared.layout.segment_len()
    }

    /// The shared-memory geometry of one connection to this channel, for
    /// tools that report what a connection costs (`baton bench`).
    #[doc(hidden)]
    pub fn segment_geometry(&self) -> SegmentGeometry {
        let l = self.shared.layout;
        SegmentGeometry {
            len: l.segment_len(),
            header_len: l.slots_offset(),
            slot_len: l.slot_stride(),
            slots: l.slot_count as usize,
            inline_size: l.inline_size as usize,
            overflow_size: l.overflow_size as usize,
            pulses: l.pulse_capacity as usize,
        }
    }

    /// Destroys the channel. Corresponds to `ChannelDestroy`: every thread
    /// SEND-, RECEIVE- or REPLY-blocked on it wakes with `ESRCH`; queued
    /// pulses are dropped; clients' later sends fail with `EBADF`.
    pub fn destroy(&self) {
        self.shared.destroy();
    }

    /// Blocks until a message or pulse arrives; a message's bytes are copied
    /// into `buf` (`min(buf.len(), sent)` of them). Corresponds to
    /// `MsgReceive`.
    pub fn receive(&self, buf: &mut [u8]) -> Result<Received> {
        self.receive_vectored_deadline(&mut [IoSliceMut::new(buf)], Deadline::NEVER)
    }

    /// [`receive`](Channel::receive) with a deadline: `ETIMEDOUT` if nothing
    /// arrives in time (`TimerTimeout` with `_NTO_TIMEOUT_RECEIVE`).
    pub fn receive_deadline(&self, buf: &mut [u8], deadline: Deadline) -> Result<Received> {
        self.receive_vectored_deadline(&mut [IoSliceMut::new(buf)], deadline)
    }

    /// Receives only what is already waiting; `Ok(None)` if nothing is.
    pub fn try_receive(&self, buf: &mut [u8]) -> Result<Option<Received>> {
        match self.receive_deadline(buf, Deadline::IMMEDIATE) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.is_timeout() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Receives into the concatenation of `parts`. Corresponds to `MsgReceivev`.
    pub fn receive_vectored(&self, parts: &mut [IoSliceMut<'_>]) -> Result<Received> {
        self.receive_vectored_deadline(parts, Deadline::NEVER)
    }

    /// [`receive_vectored`](Channel::receive_vectored) with a deadline.
    pub fn receive_vectored_deadline(&self, parts: &mut [IoSliceMut<'_>], deadline: Deadline) -> Result<Received> {
        self.shared.receive(parts, deadline, receive::Want::Any)
    }

    /// Receives into `buf`, growing it to hold the whole message. The
    /// buffer's length is set to the message's length.
    pub fn receive_vec(&self, buf: &mut Vec<u8>) -> Result<Received> {
        let cap = buf.capacity().max(self.shared.layout.inline_size as usize);
        buf.resize(cap, 0);
        let r = self.receive(buf);
        match &r {
            Ok(Received::Message(_)) => {}
            _ => buf.clear(),
        }
        let Ok(Received::Message(mut req)) = r else { return r };
        let info = req.info();
        if info.srcmsglen > info.msglen {
            buf.resize(info.srcmsglen, 0);
            let more = req.read_at(info.msglen, &mut buf[info.msglen..])?;
            buf.truncate(info.msglen + more);
        } else {
            buf.truncate(info.msglen);
        }
        Ok(Received::Message(req))
    }

    /// Waits for a pulse only; messages stay queued. Corresponds to
    /// `MsgReceivePulse`.
    pub fn receive_pulse(&self, deadline: Deadline) -> Result<Pulse> {
        match self.shared.receive(&mut [], deadline, receive::Want::PulsesOnly)? {
            Received::Pulse(p) => Ok(p),
            Received::Message(_) => unreachable!("a pulse-only receive takes no message"),
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.shared.destroy();
    }
}
