//! A client process's connection to one channel: set-up, sharing, and
//! what happens when the server goes away.

use crate::error::{Error, Result};
use crate::proto::hello::{self, Hello};
use crate::proto::{doorbell, slot};
use crate::runtime::{Runtime, Token, Watch};
use crate::server;
use crate::shm::layout::POSTED_WORDS;
use crate::shm::Segment;
use crate::sys::time::Deadline;
use crate::sys::unix;
use crate::sys::{event, futex};
use crate::wait::SlotFutex;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

/// How long a client waits for a server's handshake.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a thread that exits right after an answer taken early waits
/// for the server to finish the call, so that its slot is free at once
/// (`ClientConn::thread_exiting`); the server's last step follows the
/// answer within instructions, unless it is preempted just then.
const SETTLE_AT_EXIT: Duration = Duration::from_millis(10);

/// A channel's address: (server pid, chid).
type ChannelKey = (i32, u32);

/// Shared connections of this process, by channel.
static SHARED: LazyLock<Mutex<HashMap<ChannelKey, Weak<ClientConn>>>> = LazyLock::new(Default::default);

/// Every connection of this process (for the slots of threads that exit).
static ALL: Mutex<Vec<Weak<ClientConn>>> = Mutex::new(Vec::new());

/// One connection from this process to a channel.
#[derive(Debug)]
pub(crate) struct ClientConn {
    pub key: ChannelKey,
    pub hello: Hello,
    pub seg: Segment,
    doorbell: OwnedFd,
    sock: OwnedFd,
    pidfd: Option<OwnedFd>,
    dead: AtomicBool,
    shared: bool,
    /// Slots handed to threads of this process (private bookkeeping).
    alloc: [AtomicU64; POSTED_WORDS],
    /// The thread each handed-out slot belongs to (0: none).
    owners: Box<[AtomicI32]>,
    /// Slots left by a thread that exited in a call, not yet free (the
    /// server was writing, or still holds an abandoned request): the next
    /// thread to take one finishes releasing it.
    orphans: [AtomicU64; POSTED_WORDS],
    /// Pulses written so far; the lock serialises pulse senders.
    pub(crate) pulse_tail: Mutex<u32>,
    /// Numbers the messages and pulses this process posts, in order.
    seq: AtomicU32,
    /// Connection ids (coids) that refer to this connection.
    coids: Mutex<Vec<i32>>,
    tokens: Mutex<Vec<Token>>,
    /// Events delivered and registered over this connection (`events.rs`).
    pub(crate) events: super::events::EventLink,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn no_channel(pid: i32, chid: u32) -> Error {
    Error::new(libc::ESRCH, "no such channel").with_detail(format!("pid {pid}, chid {chid}"))
}

impl ClientConn {
    /// Connects to channel `chid` of process `pid` (at `path` for another
    /// process), sharing an existing connection unless `no_share`.
    pub(crate) fn connect(pid: i32, chid: u32, path: Option<&Path>, no_share: bool) -> Result<Arc<ClientConn>> {
        Runtime::start()?;
        let key = (pid, chid);
        if !no_share {
            if let Some(c) = lock(&SHARED).get(&key).and_then(Weak::upgrade).filter(|c| !c.is_dead()) {
                return Ok(c);
            }
        }
        let sock = match path {
            None => {
                let chan = server::channel_by_id(chid).ok_or_else(|| no_channel(pid, chid))?;
                let (ours, theirs) = unix::pair()?;
                chan.serve_new(theirs).map_err(|e| Error::from_errno(e).with_detail(format!("chid {chid}")))?;
                ours
            }
            Some(p) => unix::connect(p).map_err(|e| match e {
                Errno::NOENT | Errno::CONNREFUSED | Errno::NOTDIR | Errno::CONNRESET => no_channel(pid, chid),
                Errno::ACCESS | Errno::PERM => {
                    Error::new(libc::EACCES, "permission denied by the channel's mode").with_detail(p.display())
                }
                e => Error::from(e).with_detail(p.display()),
            })?,
        };
        let conn = Arc::new(Self::handshake(sock, key, !no_share)?);
        conn.watch();
        conn.announce_registrations();
        if !no_share {
            let mut m = lock(&SHARED);
            m.retain(|_, w| w.strong_count() > 0);
            m.insert(key, Arc::downgrade(&conn));
        }
        let mut all = lock(&ALL);
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&conn));
        Ok(conn)
    }

    fn handshake(sock: OwnedFd, key: ChannelKey, shared: bool) -> Result<ClientConn> {
        let mut buf = [0u8; hello::LEN];
        let (n, mut fds) =
            unix::recv_with_fds(sock.as_fd(), &mut buf, Deadline::after(HELLO_TIMEOUT)).map_err(|e| match e {
                // The server process died after the kernel queued our
                // connect on its listening socket: no such channel (now).
                Errno::CONNRESET | Errno::PIPE => {
                    no_channel(key.0, key.1).with_detail("the server went away during the handshake")
                }
                e => Error::from(e).with_detail("waiting for the server's handshake"),
            })?;
        if n == 0 {
            return Err(no_channel(key.0, key.1).with_detail("the server closed the connection"));
        }
        let hello = Hello::decode(&buf[..n]).map_err(|e| {
            Error::new(libc::EPROTO, "the server's handshake is not understood").with_detail(format!("{e:?}"))
        })?;
        if hello.refused != 0 {
            let what = match hello.refused {
                libc::EACCES => "the channel's permission mode does not allow this user",
                libc::EPERM => "the channel is private to its process",
                libc::EAGAIN => "the channel has reached its connection limit",
                _ => "the server refused the connection",
            };
            return Err(Error::new(hello.refused, what).with_detail(format!("pid {}, chid {}", key.0, key.1)));
        }
        if fds.len() != 2 {
            return Err(Error::new(libc::EPROTO, "the server's handshake lacks its descriptors"));
        }
        let doorbell = fds.pop().expect("two fds");
        let memfd = fds.pop().expect("two fds");
        let seg = Segment::open(memfd, hello.layout)
            .map_err(|e| Error::new(libc::EPROTO, "the server's shared memory is not usable").with_detail(e))?;
        seg.prefault_first_slot();
        let pidfd = unix::peer_pidfd(sock.as_fd(), hello.server_pid);
        Ok(ClientConn {
            key: (hello.server_pid, hello.chid),
            hello,
            seg,
            doorbell,
            sock,
            pidfd,
            dead: AtomicBool::new(false),
            shared,
            alloc: Default::default(),
            owners: (0..hello.layout.slot_count).map(|_| AtomicI32::new(0)).collect(),
            orphans: Default::default(),
            pulse_tail: Mutex::new(0),
            seq: AtomicU32::new(0),
            coids: Mutex::new(Vec::new()),
            tokens: Mutex::new(Vec::new()),
            events: Default::default(),
        })
    }

    /// Asks the runtime to tell us when the server goes away, and to read
    /// the event notices it sends.
    fn watch(self: &Arc<Self>) {
        let rt = Runtime::get();
        let w = Watch::Server(Arc::downgrade(self));
        let mut tokens = Vec::new();
        tokens.extend(rt.watch(&self.sock, Watch::ServerSocket(Arc::downgrade(self))).ok());
        if let Some(p) = &self.pidfd {
            tokens.extend(rt.watch(p, w).ok());
        }
        *lock(&self.tokens) = tokens;
        if unix::peer_closed(&self.sock) {
            self.server_gone();
        }
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Relaxed)
    }

    /// The flag `proto::slot::client_post_checked` pairs with.
    pub(crate) fn dead_flag(&self) -> &AtomicBool {
        &self.dead
    }

    pub(crate) fn doorbell(&self) -> BorrowedFd<'_> {
        self.doorbell.as_fd()
    }

    /// The connection's socket (event notices after the handshake).
    pub(crate) fn sock(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// Flags slot `slot` for the server and rings the doorbell unless a
    /// server thread will look anyway. Returns the CPU of the server thread
    /// that promised to look, if one did.
    #[inline]
    pub(crate) fn ring(&self, slot: u32) -> Option<u32> {
        self.notify(self.post_bit(slot))
    }

    /// Sets slot `slot`'s posted bit; returns what must be done so that a
    /// server thread looks ([`Self::notify`] does it).
    #[inline]
    pub(crate) fn post_bit(&self, slot: u32) -> doorbell::Notify {
        let bell = &self.seg.header().doorbell;
        doorbell::client_post_bit(&bell.posted[(slot / 64) as usize], 1 << (slot % 64), &bell.polling)
    }

    /// Rings the doorbell after a pulse, unless a server thread will look anyway.
    pub(crate) fn ring_for_pulse(&self) {
        self.notify(doorbell::client_notify(&self.seg.header().doorbell.polling));
    }

    /// Does what `notify` says to make a server thread look: ring the
    /// doorbell, or wake the thread sleeping on the `polling` word, or
    /// nothing (a thread promised to look; its CPU is returned).
    pub(super) fn notify(&self, notify: doorbell::Notify) -> Option<u32> {
        match notify {
            doorbell::Notify::Ring => event::ring(self.doorbell()),
            doorbell::Notify::Wake => futex::wake(&self.seg.header().doorbell.polling, 1),
            doorbell::Notify::Promised(cpu) => return Some(cpu),
        }
        None
    }

    /// The next sequence number for a message or pulse.
    #[inline]
    pub(crate) fn next_seq(&self) -> u32 {
        self.seq.fetch_add(1, Relaxed)
    }

    pub(crate) fn add_coid(&self, coid: i32) {
        lock(&self.coids).push(coid);
    }

    pub(crate) fn remove_coid(&self, coid: i32) {
        lock(&self.coids).retain(|&c| c != coid);
    }

    /// Takes a free slot for thread `tid`: not handed to another thread and
    /// unused in the segment (a slot abandoned after a timeout stays with
    /// the server until it answers).
    pub(crate) fn alloc_slot(&self, tid: i32) -> Option<u32> {
        for s in 0..self.seg.layout().slot_count {
            let (word, bit) = (&self.alloc[(s / 64) as usize], 1u64 << (s % 64));
            if word.load(Relaxed) & bit != 0 || word.fetch_or(bit, AcqRel) & bit != 0 {
                continue;
            }
            // Holding the bit, we alone may finish releasing an orphan.
            let orphans = &self.orphans[(s / 64) as usize];
            let free = if orphans.load(Relaxed) & bit != 0 {
                let f = SlotFutex(self.seg.slot(s));
                let free = slot::release_dead(&f) == slot::Orphan::Free;
                if free {
                    orphans.fetch_and(!bit, Relaxed);
                }
                free
            } else {
                slot::unused(self.seg.slot(s).state.load(Acquire))
            };
            if free {
                self.owners[s as usize].store(tid, Relaxed);
                return Some(s);
            }
            // Still the server's (an abandoned call): give it back.
            word.fetch_and(!bit, Release);
        }
        None
    }

    /// The thread slot `s` was handed to (0: none).
    pub(crate) fn owner(&self, s: u32) -> i32 {
        self.owners[s as usize].load(Relaxed)
    }

    pub(crate) fn free_slot(&self, s: u32) {
        self.owners[s as usize].store(0, Relaxed);
        self.alloc[(s / 64) as usize].fetch_and(!(1 << (s % 64)), Release);
    }

    /// The slot's thread is exiting (its thread-local slot cache is being
    /// dropped): free the slot if no call is in flight on it; otherwise
    /// the runtime releases it once the thread is gone
    /// ([`ClientConn::thread_gone`]).
    pub(crate) fn thread_exiting(&self, s: u32) {
        let f = SlotFutex(self.seg.slot(s));
        // An answer taken early (`slot`, invariant 6): the server's
        // compare-and-swap is on its way; a server that does not finish
        // within the bound leaves the slot to the runtime, as a call in
        // flight does.
        if slot::Futex::answered(&f) {
            slot::client_settle(&f, Deadline::after(SETTLE_AT_EXIT));
        }
        if slot::unused(f.0.state.load(Acquire)) {
            self.free_slot(s);
        }
    }

    /// Thread `tid` of this process has exited (runtime thread): the slots
    /// it held on every connection are released. A queued request of its is
    /// withdrawn, so the server never sees it; one in service is abandoned,
    /// so the server's answer fails with `ESRCH`.
    pub(crate) fn thread_gone(tid: i32) {
        let conns: Vec<Arc<ClientConn>> = lock(&ALL).iter().filter_map(Weak::upgrade).collect();
        for c in conns {
            for s in 0..c.seg.layout().slot_count {
                if c.owners[s as usize].load(Relaxed) != tid {
                    continue;
                }
                // The dead thread's alloc bit is still set: the slot is ours.
                let f = SlotFutex(c.seg.slot(s));
                if slot::release_dead(&f) != slot::Orphan::Free {
                    c.orphans[(s / 64) as usize].fetch_or(1 << (s % 64), Relaxed);
                }
                c.free_slot(s);
            }
        }
    }

    fn unwatch(&self) {
        // The epoll set is shared with the parent after a fork.
        if crate::sys::thread::forked() {
            return;
        }
        let rt = Runtime::get();
        let tokens = std::mem::take(&mut *lock(&self.tokens));
        let mut fds = vec![self.sock.as_fd()];
        fds.extend(self.pidfd.as_ref().map(|p| p.as_fd()));
        for (fd, t) in fds.into_iter().zip(tokens) {
            rt.unwatch(fd, t);
        }
    }

    /// The server process died, or destroyed the channel (runtime thread):
    /// fail the calls in flight with `ESRCH`; later sends fail with `EBADF`.
    pub(crate) fn server_gone(&self) {
        let slots = (0..self.seg.layout().slot_count).map(|i| SlotFutex(self.seg.slot(i)));
        if !slot::runtime_close(&self.dead, slots) {
            return;
        }
        self.unwatch();
        self.wake_event_waiters();
        if self.shared {
            let mut m = lock(&SHARED);
            if m.get(&self.key).is_some_and(|w| std::ptr::eq(w.as_ptr(), self)) {
                m.remove(&self.key);
            }
        }
        let coids = lock(&self.coids).clone();
        server::notify_coid_death(&coids);
        // If the server process is exiting, remove what it left in the
        // runtime directory once it is gone.
        if let Some(p) = &self.pidfd {
            Runtime::get().sweep_on_exit(self.key.0, p.as_fd());
        }
    }
}

impl Drop for ClientConn {
    fn drop(&mut self) {
        self.unwatch();
    }
}
