//! The client's half of events: performing the events servers deliver,
//! registered events, and the process's table of connection ids.
//!
//! A delivered event must happen in the client's process (a `coid` means
//! something only there), so the server does not perform it: it writes a
//! `DELIVER` notice on the connection's socket (`proto/notice.rs`), and the
//! client's runtime thread, which watches that socket anyway to notice the
//! server's death, reads it and performs the event here: a pulse on one of
//! this process's connections, or a signal to this process or one of its
//! threads. Messages never touch the socket, so the send/receive/reply path
//! does not change.
//!
//! Registered events live in this process's table; the server keeps a copy
//! of the handles it may deliver (sent with `REGISTER`/`UNREGISTER`, each
//! acknowledged before the call returns), so that it can refuse a handle
//! at once with `ESRCH`. The table here still decides: a notice naming a
//! handle that is no longer registered, or a server that may not deliver
//! it, does nothing.

use super::conn::ClientConn;
use crate::error::{Error, Result};
use crate::event::{Event, EventHandle};
use crate::proto::notice::{self, Frames, Notice, FRAME};
use crate::sys::sched::Sched;
use crate::sys::{signal, thread, unix};
use rustix::io::Errno;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// How long a client waits for its server to acknowledge a registration.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The event state of one connection, client side.
#[derive(Debug, Default)]
pub(crate) struct EventLink {
    /// Frames read so far (runtime thread only).
    frames: Mutex<Frames>,
    /// Sequence number of the last request sent, and of the last one acknowledged.
    sent: Mutex<u32>,
    acked: Mutex<u32>,
    acked_cv: Condvar,
    /// Raw (unregistered) events delivered on this connection are refused.
    registered_only: AtomicBool,
}

/// A connection, and the id of the `Connection` that owns the entry.
type CoidEntry = (Weak<ClientConn>, i32);

/// Connection ids (and aliases) of this process, for the `coid` of a pulse
/// event.
static COIDS: LazyLock<Mutex<HashMap<i32, CoidEntry>>> = LazyLock::new(Default::default);

/// What one registration says.
#[derive(Debug)]
struct Registration {
    event: Event,
    updateable: bool,
    /// The server process allowed to deliver it; `None`: any.
    server: Option<i32>,
    /// Connections whose servers were told.
    told: Vec<Weak<ClientConn>>,
}

#[derive(Debug, Default)]
struct Registry {
    last: u32,
    map: HashMap<u32, Registration>,
}

static REGISTERED: LazyLock<Mutex<Registry>> = LazyLock::new(Default::default);

/// Events a server delivered that could not happen here (no such
/// connection, a full pulse ring, an exited thread, a refused handle).
static LOST: AtomicU64 = AtomicU64::new(0);

pub(crate) fn add_coid(id: i32, conn: &Arc<ClientConn>) {
    lock(&COIDS).insert(id, (Arc::downgrade(conn), id));
}

/// Adds `alias` as another number for the connection `owner` names.
pub(crate) fn add_alias(alias: i32, owner: i32, conn: &Arc<ClientConn>) -> Result<()> {
    let mut m = lock(&COIDS);
    if let Some((w, o)) = m.get(&alias) {
        if *o != owner && w.strong_count() > 0 {
            return Err(Error::new(libc::EBUSY, "this number already names another connection").with_detail(alias));
        }
    }
    m.insert(alias, (Arc::downgrade(conn), owner));
    Ok(())
}

/// Forgets the `Connection` `owner` and its aliases.
pub(crate) fn remove_coid(owner: i32) {
    lock(&COIDS).retain(|_, (_, o)| *o != owner);
}

pub(crate) fn resolve(coid: i32) -> Option<Arc<ClientConn>> {
    lock(&COIDS).get(&coid)?.0.upgrade()
}

/// Every live connection of this process, once each.
fn all_conns() -> Vec<Arc<ClientConn>> {
    let mut out: Vec<Arc<ClientConn>> = Vec::new();
    for (w, _) in lock(&COIDS).values() {
        if let Some(c) = w.upgrade() {
            if !out.iter().any(|o| Arc::ptr_eq(o, &c)) {
                out.push(c);
            }
        }
    }
    out
}

/// Events delivered to this process that could not happen (see
/// [`lost_events`](crate::lost_events)).
pub(crate) fn lost() -> u64 {
    LOST.load(Relaxed)
}

impl ClientConn {
    /// The socket is readable (runtime thread): events, acknowledgements,
    /// or the end of the stream, which means the server is gone.
    pub(crate) fn socket_readable(&self) {
        let mut buf = [0u8; FRAME * 16];
        loop {
            match unix::recv_nowait(self.sock(), &mut buf) {
                Ok(0) => return self.server_gone(),
                Ok(n) => lock(&self.events.frames).feed(&buf[..n], |f| self.on_notice(f)),
                Err(Errno::AGAIN) => return,
                Err(_) => return self.server_gone(),
            }
        }
    }

    fn on_notice(&self, n: Notice) {
        match n.op {
            notice::ACK => {
                let mut acked = lock(&self.events.acked);
                if (n.arg.wrapping_sub(*acked) as i32) > 0 {
                    *acked = n.arg;
                }
                self.events.acked_cv.notify_all();
            }
            notice::DELIVER if self.perform_delivered(n.event, n.arg as i32).is_err() => {
                LOST.fetch_add(1, Relaxed);
            }
            _ => {}
        }
    }

    /// Performs an event the server delivered on this connection.
    fn perform_delivered(&self, event: Event, tid: i32) -> Result<()> {
        let event = match event {
            Event::Registered { handle, value } => {
                let reg = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
                let r = reg.map.get(&handle.0).ok_or_else(unregistered)?;
                if r.server.is_some_and(|pid| pid != self.key.0) {
                    return Err(Error::new(libc::EACCES, "this server may not deliver that event"));
                }
                with_value(r.event, r.updateable, value)
            }
            _ if self.events.registered_only.load(Relaxed) => {
                return Err(Error::new(libc::EACCES, "this connection takes registered events only"));
            }
            e => e,
        };
        perform(event, tid)
    }

    /// Sends a request to the server and waits until it is applied.
    fn request(&self, op: u32, event: Event) -> Result<()> {
        let seq = {
            let mut sent = lock(&self.events.sent);
            *sent = sent.wrapping_add(1);
            let seq = *sent;
            unix::send_nowait(self.sock(), &Notice { op, arg: seq, event }.encode()).map_err(|e| match e {
                Errno::AGAIN => Error::new(libc::EAGAIN, "the server is not reading its connection's notices"),
                _ => Error::new(libc::EBADF, "the connection is closed"),
            })?;
            seq
        };
        let deadline = std::time::Instant::now() + ACK_TIMEOUT;
        let mut acked = lock(&self.events.acked);
        while (seq.wrapping_sub(*acked) as i32) > 0 {
            if self.is_dead() {
                return Err(Error::new(libc::EBADF, "the connection is closed"));
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Err(Error::new(libc::ETIMEDOUT, "the server did not acknowledge the event registration"));
            }
            // Short waits: a server's death wakes us only through `is_dead`.
            let wait = (deadline - now).min(Duration::from_millis(50));
            acked = self.events.acked_cv.wait_timeout(acked, wait).unwrap_or_else(|e| e.into_inner()).0;
        }
        Ok(())
    }

    /// Asks the server to deliver only registered events on this connection
    /// (`_NTO_COF_REG_EVENTS`); this side refuses raw ones from then on too.
    pub(crate) fn require_registered(&self) -> Result<()> {
        self.events.registered_only.store(true, Relaxed);
        self.request(notice::REQUIRE, Event::None)
    }

    /// Wakes threads waiting for an acknowledgement (the server is gone).
    pub(crate) fn wake_event_waiters(&self) {
        let _g = lock(&self.events.acked);
        self.events.acked_cv.notify_all();
    }

    /// A new connection: tell its server about events registered for any server.
    pub(crate) fn announce_registrations(self: &Arc<Self>) {
        let handles: Vec<u32> = {
            let mut reg = lock(&REGISTERED);
            let mut hs = Vec::new();
            for (h, r) in reg.map.iter_mut().filter(|(_, r)| r.server.is_none()) {
                r.told.push(Arc::downgrade(self));
                hs.push(*h);
            }
            hs
        };
        for h in handles {
            let _ = self.request(notice::REGISTER, Event::Registered { handle: EventHandle(h), value: 0 });
        }
    }
}

fn unregistered() -> Error {
    Error::new(libc::ESRCH, "no such registered event: it was never registered, or unregistered")
}

/// The registered event with the server's value if it may change it.
fn with_value(e: Event, updateable: bool, value: i64) -> Event {
    if !updateable {
        return e;
    }
    match e {
        Event::Pulse { coid, priority, code, .. } => Event::Pulse { coid, priority, code, value },
        Event::Signal { signo, .. } => Event::Signal { signo, value },
        Event::SignalThread { signo, .. } => Event::SignalThread { signo, value },
        e => e,
    }
}

/// The claim a pulse event makes: `priority` (-1: that of thread `tid`).
fn pulse_claim(priority: i32, tid: i32) -> Sched {
    match priority {
        p if p > 0 => Sched { policy: libc::SCHED_FIFO, level: p.min(99) },
        crate::event::PULSE_PRIO_INHERIT if tid > 0 => crate::sys::sched::get(tid).unwrap_or(Sched::NORMAL),
        _ => Sched::NORMAL,
    }
}

/// Performs `event` in this process; `tid` is the thread it concerns (the
/// sender of the message the server holds), 0 if unknown.
pub(crate) fn perform(event: Event, tid: i32) -> Result<()> {
    event.check()?;
    match event {
        Event::None => Ok(()),
        Event::Pulse { coid, priority, code, value } => {
            let conn = resolve(coid).ok_or_else(|| {
                Error::new(libc::EBADF, "the event names no connection of the client process").with_detail(coid)
            })?;
            let who = if tid > 0 { tid } else { thread::tid() };
            conn.post_pulse(pulse_claim(priority, tid), who, code, value)
        }
        Event::Signal { signo, value } => signal::queue_to_process(signo, value).map_err(Error::from),
        Event::SignalThread { signo, value } => {
            if tid <= 0 {
                return Err(Error::new(libc::ESRCH, "no thread to signal"));
            }
            signal::queue_to_thread(tid, signo, value).map_err(Error::from)
        }
        Event::Registered { handle, value } => {
            let e = {
                let reg = lock(&REGISTERED);
                let r = reg.map.get(&handle.0).ok_or_else(unregistered)?;
                with_value(r.event, r.updateable, value)
            };
            perform(e, tid)
        }
        Event::Unblock => unreachable!("refused by check"),
    }
}

/// Who may deliver a registered event.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Deliverer<'a> {
    /// Any server this process is connected to, now or later.
    Any,
    /// The server of this connection only.
    Server(&'a Arc<ClientConn>),
    /// This process only (no server is told of the handle).
    ThisProcess,
}

/// Registers `event`; see [`register_event`](crate::register_event).
pub(crate) fn register(event: Event, updateable: bool, who: Deliverer<'_>) -> Result<EventHandle> {
    Error::check_not_forked()?;
    if let Event::Registered { .. } = event {
        return Err(Error::new(libc::EINVAL, "a registered event cannot be registered again"));
    }
    event.check()?;
    if let Event::Pulse { coid, .. } = event {
        if resolve(coid).is_none() {
            return Err(
                Error::new(libc::EBADF, "the pulse event names no connection of this process").with_detail(coid)
            );
        }
    }
    let (targets, server) = match who {
        Deliverer::Server(c) => (vec![c.clone()], Some(c.key.0)),
        Deliverer::Any => (all_conns(), None),
        Deliverer::ThisProcess => (Vec::new(), Some(thread::pid())),
    };
    let handle = {
        let mut reg = lock(&REGISTERED);
        if reg.map.len() >= crate::event::MAX_REGISTERED {
            return Err(Error::new(libc::EAGAIN, "too many registered events").with_detail(reg.map.len()));
        }
        loop {
            reg.last = reg.last.wrapping_add(1);
            if reg.last != 0 && !reg.map.contains_key(&reg.last) {
                break;
            }
        }
        let h = reg.last;
        let told = targets.iter().map(Arc::downgrade).collect();
        reg.map.insert(h, Registration { event, updateable, server, told });
        EventHandle(h)
    };
    let reg_event = Event::Registered { handle, value: 0 };
    for c in &targets {
        let r = c.request(notice::REGISTER, reg_event);
        // A connection that closed meanwhile needs no registration; any
        // other failure undoes the registration.
        if let Err(e) = r {
            if matches!(who, Deliverer::Server(_)) || !c.is_dead() {
                let _ = unregister(handle);
                return Err(e);
            }
        }
    }
    Ok(handle)
}

/// Unregisters `handle`; see [`unregister_event`](crate::unregister_event).
pub(crate) fn unregister(handle: EventHandle) -> Result<()> {
    let r = lock(&REGISTERED).map.remove(&handle.0).ok_or_else(unregistered)?;
    // From here on this process performs no delivery of it; the servers'
    // copies are updated before we return, so their deliveries fail too.
    for c in r.told.iter().filter_map(Weak::upgrade) {
        if !c.is_dead() {
            let _ = c.request(notice::UNREGISTER, Event::Registered { handle, value: 0 });
        }
    }
    Ok(())
}
