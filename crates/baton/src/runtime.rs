//! The per-process background thread.
//!
//! Started on first use, it owns one epoll set and does these things, none
//! of them on the data path:
//! - accepts connections on this process's channel sockets and answers each
//!   with the handshake (segment + doorbell);
//! - notices when a client of ours goes away (its socket hangs up or its
//!   pidfd fires) and cleans up after it;
//! - notices when a server we are connected to goes away and fails the
//!   calls blocked on it;
//! - reads the event notices on connection sockets: performs the events
//!   servers deliver to us, applies our clients' event registrations;
//! - turns pulse timers' expiries into pulses, at the highest real-time
//!   priority of the live timers whose pulses claim one (as QNX's kernel
//!   sends a timer's pulse at once, whatever runs);
//! - once a peer process has exited, removes the runtime-directory entries
//!   it left behind;
//! - while a channel asks for thread-death pulses, watches every thread of
//!   the process: it holds a thread pidfd for each (which fires when the
//!   thread exits), for the threads that exist when the channel is created
//!   and those it finds in `/proc/self/task` every [`THREAD_SCAN`] after.
//!   A thread that starts and ends between two looks is not reported;
//! - watches every thread that makes a call (from its first) the same way,
//!   and releases the connection slots of one that exits in a call.

use crate::client::ClientConn;
use crate::error::Error;
use crate::server::{ChannelShared, ServerConn};
use crate::sys::event::{Epoll, Ready};
use crate::sys::sched::{self, Sched};
use crate::sys::time::Deadline;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// What a registered descriptor stands for.
#[derive(Clone, Debug)]
pub(crate) enum Watch {
    /// A channel's listening socket: accept.
    Listener(Weak<ChannelShared>),
    /// A client's pidfd (server side): the client went away.
    Client(Weak<ServerConn>),
    /// A server's pidfd (client side): the server went away.
    Server(Weak<ClientConn>),
    /// A client's socket (server side): event registrations, or hang-up.
    ClientSocket(Weak<ServerConn>),
    /// A server's socket (client side): delivered events, or hang-up.
    ServerSocket(Weak<ClientConn>),
    /// A pulse timer's timerfd: it expired.
    Timer(Weak<crate::timer::TimerShared>),
    /// A peer's pidfd: when it fires the process has exited and closed all
    /// its files (so its runtime-directory lock is free); sweep its entries.
    Exit(i32, Arc<OwnedFd>),
    /// A thread pidfd of one of our threads: it exited.
    ThreadExit(i32, Arc<OwnedFd>),
    /// The runtime's own wake-up (a channel started asking for thread deaths).
    Wake,
}

/// How often the runtime looks for new threads while a channel asks for
/// thread-death pulses.
pub const THREAD_SCAN: std::time::Duration = std::time::Duration::from_millis(20);

/// Handle of a registration, for [`Runtime::unwatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token(u64);

#[derive(Debug, Default)]
struct Table {
    entries: Vec<(u32, Option<Watch>)>,
    free: Vec<u32>,
    /// Pids with an `Exit` watch (at most one each).
    exits: HashSet<i32>,
    /// Our threads with a `ThreadExit` watch.
    threads: HashSet<i32>,
}

/// What the runtime thread's priority follows: the real-time timers.
#[derive(Debug, Default)]
struct Raise {
    /// The scheduling the runtime thread started with, once it runs (its
    /// id is [`Runtime::tid`] by then).
    start: Option<Sched>,
    /// Live timers whose pulses claim a real-time priority: level → count.
    levels: BTreeMap<i32, usize>,
}

impl Raise {
    /// Sets the runtime thread to the highest real-time level of the live
    /// timers, or of its own start if higher, or back to how it started.
    /// Best effort: without the permission (`EPERM`: no `CAP_SYS_NICE`,
    /// `RLIMIT_RTPRIO` too low) it stays as it is, and the pulses are still
    /// ranked at their priority once queued.
    fn apply(&self, tid: i32) {
        let Some(start) = self.start else { return };
        let _ = sched::set(tid, raised(start, self.levels.last_key_value().map(|(&level, _)| level)));
    }
}

/// The scheduling of a runtime thread that started at `start`, for live
/// real-time timers whose highest level is `highest`.
fn raised(start: Sched, highest: Option<i32>) -> Sched {
    match highest {
        Some(level) if !start.is_realtime() || level > start.level => Sched { policy: libc::SCHED_FIFO, level },
        _ => start,
    }
}

/// The background thread's shared state.
#[derive(Debug)]
pub(crate) struct Runtime {
    epoll: Epoll,
    table: Mutex<Table>,
    wake: OwnedFd,
    /// Channels asking for thread-death pulses.
    thread_watchers: AtomicUsize,
    /// The runtime thread's own id (not reported when it exits).
    tid: AtomicI32,
    /// Its thread has been started.
    running: AtomicBool,
    /// Its priority, raised for real-time timers.
    raise: Mutex<Raise>,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

impl Runtime {
    /// Starts the process's runtime (once; a failure is not remembered, so
    /// a later call tries again). Called before any channel or connection
    /// exists.
    pub(crate) fn start() -> Result<&'static Runtime, Error> {
        static STARTING: Mutex<()> = Mutex::new(());
        if let Some(rt) = RUNTIME.get().filter(|rt| rt.running.load(Ordering::Acquire)) {
            return Ok(rt);
        }
        let _one = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        let rt = match RUNTIME.get() {
            Some(rt) => rt,
            None => {
                crate::sys::thread::raise_fd_limit();
                crate::sys::thread::watch_forks();
                let rt = Runtime {
                    epoll: Epoll::new()?,
                    table: Mutex::new(Table::default()),
                    wake: crate::sys::event::doorbell()?,
                    thread_watchers: AtomicUsize::new(0),
                    tid: AtomicI32::new(0),
                    running: AtomicBool::new(false),
                    raise: Mutex::new(Raise::default()),
                };
                rt.watch(&rt.wake, Watch::Wake)?;
                RUNTIME.get_or_init(|| rt)
            }
        };
        if !rt.running.load(Ordering::Acquire) {
            std::thread::Builder::new().name("baton-runtime".into()).spawn(|| Runtime::get().run()).map_err(|e| {
                Error::new(e.raw_os_error().unwrap_or(libc::EAGAIN), "cannot start baton's runtime thread")
            })?;
            rt.running.store(true, Ordering::Release);
        }
        Ok(rt)
    }

    /// The process's runtime, once [`Runtime::start`] has succeeded (every
    /// channel and connection exists only after it did).
    pub(crate) fn get() -> &'static Runtime {
        RUNTIME.get().expect("baton's runtime starts before any channel or connection exists")
    }

    /// Watches `fd` (level-triggered: readable or hung up) for `w`.
    pub(crate) fn watch(&self, fd: impl AsFd, w: Watch) -> std::result::Result<Token, rustix::io::Errno> {
        let token = {
            let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
            let idx = match t.free.pop() {
                Some(i) => i,
                None => {
                    t.entries.push((0, None));
                    (t.entries.len() - 1) as u32
                }
            };
            let e = &mut t.entries[idx as usize];
            e.0 = e.0.wrapping_add(1);
            e.1 = Some(w);
            Token((u64::from(e.0) << 32) | u64::from(idx))
        };
        if let Err(e) = self.epoll.add_level(fd, token.0) {
            self.release(token);
            return Err(e);
        }
        Ok(token)
    }

    /// Stops watching `fd`.
    pub(crate) fn unwatch(&self, fd: impl AsFd, token: Token) {
        // After a fork the epoll set is the parent's too: leave it alone.
        if crate::sys::thread::forked() {
            return;
        }
        self.epoll.remove(fd);
        self.release(token);
    }

    /// A pulse timer whose pulses claim `claim` was created (`live`) or
    /// deleted. While any timer claims a real-time priority, the runtime
    /// thread runs at the highest such priority, so that its expiries are
    /// not held up behind real-time work below them.
    pub(crate) fn timer_priority(&self, claim: Sched, live: bool) {
        // A forked child has no runtime thread: the id is the parent's.
        if !claim.is_realtime() || crate::sys::thread::forked() {
            return;
        }
        let mut r = self.raise.lock().unwrap_or_else(|e| e.into_inner());
        let count = r.levels.entry(claim.level).or_default();
        if live {
            *count += 1;
        } else {
            *count = count.saturating_sub(1);
            if *count == 0 {
                r.levels.remove(&claim.level);
            }
        }
        r.apply(self.tid.load(Ordering::Relaxed));
    }

    /// Sweeps `pid`'s runtime-directory entries once it has exited
    /// (`pidfd` is a pidfd of it; one watch per pid).
    pub(crate) fn sweep_on_exit(&self, pid: i32, pidfd: BorrowedFd<'_>) {
        if !self.table.lock().unwrap_or_else(|e| e.into_inner()).exits.insert(pid) {
            return;
        }
        let watched = crate::sys::unix::dup_cloexec(pidfd).map(Arc::new).and_then(|fd| {
            let w = Watch::Exit(pid, fd.clone());
            self.watch(&*fd, w)
        });
        if watched.is_err() {
            self.table.lock().unwrap_or_else(|e| e.into_inner()).exits.remove(&pid);
        }
    }

    /// A channel starts (`true`) or stops asking for thread-death pulses.
    pub(crate) fn want_thread_deaths(&self, on: bool) {
        if on {
            self.thread_watchers.fetch_add(1, Ordering::SeqCst);
            // Threads that exist now are watched before this returns.
            self.scan_threads();
            crate::sys::event::ring(self.wake.as_fd());
        } else {
            self.thread_watchers.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Watches every thread of the process not watched yet.
    fn scan_threads(&self) {
        let me = self.tid.load(Ordering::Relaxed);
        for tid in crate::sys::thread::thread_ids() {
            if tid != me {
                self.watch_thread(tid);
            }
        }
    }

    /// Watches thread `tid` of this process for its exit, unless watched
    /// already. Client threads are watched from their first call, so that
    /// the slots of one that exits in a call are released.
    pub(crate) fn watch_thread(&self, tid: i32) {
        if !self.table.lock().unwrap_or_else(|e| e.into_inner()).threads.insert(tid) {
            return;
        }
        let watched = crate::sys::thread::thread_pidfd(tid)
            .map(Arc::new)
            .and_then(|fd| self.watch(&*fd, Watch::ThreadExit(tid, fd.clone())).ok());
        if watched.is_none() {
            // Gone already (or no thread pidfds on this kernel).
            self.table.lock().unwrap_or_else(|e| e.into_inner()).threads.remove(&tid);
        }
    }

    fn release(&self, token: Token) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let idx = (token.0 & 0xffff_ffff) as u32;
        if let Some(e) = t.entries.get_mut(idx as usize) {
            if u64::from(e.0) == token.0 >> 32 && e.1.is_some() {
                e.1 = None;
                t.free.push(idx);
            }
        }
    }

    fn lookup(&self, token: u64) -> Option<Watch> {
        let t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let (gen, w) = t.entries.get((token & 0xffff_ffff) as usize)?;
        (u64::from(*gen) == token >> 32).then(|| w.clone()).flatten()
    }

    fn run(&self) {
        let tid = crate::sys::thread::tid();
        self.tid.store(tid, Ordering::Relaxed);
        {
            // Timers made before this thread ran are counted already.
            let mut r = self.raise.lock().unwrap_or_else(|e| e.into_inner());
            r.start = Some(sched::get(0).unwrap_or(Sched::NORMAL));
            if !r.levels.is_empty() {
                r.apply(tid);
            }
        }
        let mut ready = [Ready { token: 0 }; 32];
        loop {
            let scanning = self.thread_watchers.load(Ordering::SeqCst) > 0;
            if scanning {
                self.scan_threads();
            }
            let deadline = if scanning { Deadline::after(THREAD_SCAN) } else { Deadline::NEVER };
            let n = match self.epoll.wait(&mut ready, deadline) {
                Ok(n) => n,
                Err(_) => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    continue;
                }
            };
            for r in &ready[..n] {
                match self.lookup(r.token) {
                    Some(Watch::Listener(ch)) => {
                        if let Some(ch) = ch.upgrade() {
                            ch.accept_pending();
                        }
                    }
                    Some(Watch::Client(c)) => {
                        if let Some(c) = c.upgrade() {
                            crate::server::client_gone(&c);
                        }
                    }
                    Some(Watch::Server(c)) => {
                        if let Some(c) = c.upgrade() {
                            c.server_gone();
                        }
                    }
                    Some(Watch::ClientSocket(c)) => {
                        if let Some(c) = c.upgrade() {
                            crate::server::events::socket_readable(&c);
                        }
                    }
                    Some(Watch::ServerSocket(c)) => {
                        if let Some(c) = c.upgrade() {
                            c.socket_readable();
                        }
                    }
                    Some(Watch::Timer(t)) => {
                        if let Some(t) = t.upgrade() {
                            t.expired();
                        }
                    }
                    Some(Watch::ThreadExit(tid, fd)) => {
                        self.unwatch(&*fd, Token(r.token));
                        self.table.lock().unwrap_or_else(|e| e.into_inner()).threads.remove(&tid);
                        // Its slots first: a server that gets the pulse
                        // finds the dead thread's calls withdrawn.
                        ClientConn::thread_gone(tid);
                        if self.thread_watchers.load(Ordering::SeqCst) > 0 {
                            crate::server::notify_thread_death(tid);
                        }
                    }
                    Some(Watch::Wake) => {}
                    Some(Watch::Exit(pid, fd)) => {
                        self.unwatch(&*fd, Token(r.token));
                        self.table.lock().unwrap_or_else(|e| e.into_inner()).exits.remove(&pid);
                        crate::rundir::sweep_pid(pid);
                        crate::rundir::sweep();
                    }
                    None => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_thread_runs_at_the_highest_timer_level_or_its_own() {
        let fifo = |level| Sched { policy: libc::SCHED_FIFO, level };
        let nice = Sched { policy: libc::SCHED_OTHER, level: 5 };
        assert_eq!(raised(nice, None), nice);
        assert_eq!(raised(nice, Some(40)), fifo(40));
        assert_eq!(raised(fifo(60), Some(40)), fifo(60), "started higher: stays");
        assert_eq!(raised(fifo(30), Some(40)), fifo(40));
        assert_eq!(raised(fifo(30), None), fifo(30));
        let rr = Sched { policy: libc::SCHED_RR, level: 70 };
        assert_eq!(raised(rr, Some(40)), rr);
    }
}
