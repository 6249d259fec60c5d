//! Pulse timers: a timer whose expiries arrive as pulses on a channel.
//! Corresponds to `timer_create` with a `SIGEV_PULSE` event,
//! `timer_settime`, `timer_gettime`, `timer_getoverrun` and `timer_delete`.
//!
//! Each timer is a `timerfd` watched by the process's runtime thread, which
//! at each expiry writes one pulse into the connection's pulse ring, as
//! `send_pulse` would, and rings its doorbell. See DESIGN.md, "Pulse
//! timers", for why the runtime thread and not a thread per timer. While a
//! timer's pulses claim a real-time priority, the runtime thread runs at
//! the highest such priority (if it may), so that real-time work below it
//! does not hold the pulses up.
//!
//! A pulse stands for one or more expiries, never more pulses than
//! expiries: when the runtime thread finds several expiries at once (it
//! was held up), or the connection's pulse ring is full (the server has not
//! received [`pulse_capacity`](crate::ChannelBuilder::pulse_capacity)
//! pulses of this process), the expiries without a pulse of their own are
//! counted as overruns ([`Timer::overruns`], POSIX's `timer_getoverrun`)
//! instead of piling up behind a server that is late.

use crate::client::{resolve_coid, ClientConn, Connection};
use crate::error::{Error, Result};
use crate::event::{Event, PULSE_PRIO_INHERIT};
use crate::runtime::{Runtime, Token, Watch};
use crate::sys::sched::Sched;
use crate::sys::{thread, timerfd};
use rustix::fd::OwnedFd;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// The clock a timer runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Clock {
    /// `CLOCK_MONOTONIC`: unaffected by changes of the system time.
    #[default]
    Monotonic,
    /// `CLOCK_REALTIME`: absolute times are wall-clock times; an absolute
    /// timer follows changes of the system time.
    Realtime,
}

/// When a timer expires. Corresponds to `struct itimerspec`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TimerSpec {
    /// Until the first expiry (relative), or the time on the timer's clock
    /// of the first expiry (absolute). Zero: disarmed.
    pub value: Duration,
    /// Between later expiries; zero: one expiry only.
    pub interval: Duration,
}

/// What the runtime thread needs of a timer.
#[derive(Debug)]
pub(crate) struct TimerShared {
    fd: OwnedFd,
    conn: Weak<ClientConn>,
    /// The pulse's claim, and the thread it is checked against.
    claim: Sched,
    tid: i32,
    code: i8,
    value: i64,
    pulses: AtomicU64,
    overruns: AtomicU64,
    /// Set when the timer is deleted; held while an expiry is handled, so
    /// that no pulse leaves after the deletion.
    deleted: Mutex<bool>,
}

impl TimerShared {
    /// The timerfd is readable (runtime thread): send the pulse.
    pub(crate) fn expired(&self) {
        let deleted = self.deleted.lock().unwrap_or_else(|e| e.into_inner());
        if *deleted {
            return;
        }
        let n = timerfd::take_expiries(&self.fd);
        if n == 0 {
            return;
        }
        let sent =
            self.conn.upgrade().is_some_and(|c| c.post_pulse(self.claim, self.tid, self.code, self.value).is_ok());
        if sent {
            self.pulses.fetch_add(1, Relaxed);
        }
        self.overruns.fetch_add(if sent { n - 1 } else { n }, Relaxed);
    }
}

/// A timer whose expiries arrive as pulses (code, value, priority) on a
/// connection, usually one to a channel of this process. Dropping it
/// deletes it (`timer_delete`): no pulse is sent after the drop returns.
///
/// The timer does not keep the connection open: once every
/// [`Connection`] handle to it is dropped, expiries count as overruns.
#[derive(Debug)]
pub struct Timer {
    shared: Arc<TimerShared>,
    token: Token,
    clock: Clock,
}

impl Timer {
    /// A disarmed timer on `clock` that sends pulse `code` with `value` on
    /// `conn` at each expiry. `priority` is a real-time priority (1..=255,
    /// above 99 taken as 99), 0 for normal, or [`PULSE_PRIO_INHERIT`] for the
    /// calling thread's (checked by the server against this thread while it
    /// lives; once it has exited the pulses rank as normal). `EINVAL` for a
    /// code outside 0..=127 or a priority outside -1..=255.
    pub fn new(conn: &Connection, clock: Clock, priority: i32, code: i8, value: i64) -> Result<Timer> {
        Self::create(conn.inner(), clock, priority, code, value)
    }

    /// A timer for a `SIGEV_PULSE` event (`timer_create(clock, &event)`):
    /// the event's `coid` is a connection of this process
    /// ([`Connection::id`] or an [alias](Connection::add_alias)); `EBADF` if
    /// it is not one, `EINVAL` for any other kind of event.
    pub fn from_event(clock: Clock, event: &Event) -> Result<Timer> {
        let Event::Pulse { coid, priority, code, value } = *event else {
            return Err(Error::new(libc::EINVAL, "a pulse timer needs a pulse event"));
        };
        let conn = resolve_coid(coid).ok_or_else(|| {
            Error::new(libc::EBADF, "the event names no connection of this process").with_detail(coid)
        })?;
        Self::create(&conn, clock, priority, code, value)
    }

    fn create(conn: &Arc<ClientConn>, clock: Clock, priority: i32, code: i8, value: i64) -> Result<Timer> {
        Error::check_not_forked()?;
        Event::pulse(0, priority, code, value).check()?;
        let claim = match priority {
            p if p > 0 => Sched { policy: libc::SCHED_FIFO, level: p.min(99) },
            PULSE_PRIO_INHERIT => crate::sched::claim(),
            _ => Sched::NORMAL,
        };
        let fd = timerfd::create(clock == Clock::Realtime)?;
        let shared = Arc::new(TimerShared {
            fd,
            conn: Arc::downgrade(conn),
            claim,
            tid: thread::tid(),
            code,
            value,
            pulses: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            deleted: Mutex::new(false),
        });
        let rt = Runtime::get();
        let token = rt.watch(&shared.fd, Watch::Timer(Arc::downgrade(&shared)))?;
        rt.timer_priority(claim, true);
        Ok(Timer { shared, token, clock })
    }

    /// The clock it runs on.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Arms the timer relative to now (a zero `value` disarms it); returns
    /// the previous setting (time left, interval). Corresponds to
    /// `timer_settime(id, 0, ...)`.
    pub fn set(&self, spec: TimerSpec) -> Result<TimerSpec> {
        self.settime(spec, false)
    }

    /// Arms the timer for the absolute time `spec.value` on its clock
    /// (`CLOCK_MONOTONIC` time as in [`Deadline::as_monotonic_nanos`](crate::Deadline::as_monotonic_nanos),
    /// or wall-clock time since the Unix epoch); a time already past
    /// expires at once. Corresponds to `timer_settime(id, TIMER_ABSTIME, ...)`.
    pub fn set_absolute(&self, spec: TimerSpec) -> Result<TimerSpec> {
        self.settime(spec, true)
    }

    fn settime(&self, spec: TimerSpec, absolute: bool) -> Result<TimerSpec> {
        Error::check_not_forked()?;
        let (value, interval) = timerfd::set(&self.shared.fd, spec.value, spec.interval, absolute)?;
        Ok(TimerSpec { value, interval })
    }

    /// One pulse after `after`.
    pub fn one_shot(&self, after: Duration) -> Result<()> {
        self.set(TimerSpec { value: after.max(Duration::from_nanos(1)), interval: Duration::ZERO }).map(drop)
    }

    /// A pulse after `first`, then every `every`.
    pub fn periodic(&self, first: Duration, every: Duration) -> Result<()> {
        self.set(TimerSpec { value: first.max(Duration::from_nanos(1)), interval: every }).map(drop)
    }

    /// Stops the timer; it may be armed again.
    pub fn disarm(&self) -> Result<()> {
        self.set(TimerSpec::default()).map(drop)
    }

    /// Time left until the next expiry (zero: disarmed) and the interval.
    /// Corresponds to `timer_gettime`.
    pub fn get(&self) -> Result<TimerSpec> {
        let (value, interval) = timerfd::get(&self.shared.fd)?;
        Ok(TimerSpec { value, interval })
    }

    /// Expiries that got no pulse of their own since the last call
    /// (counted, never queued: see the module docs), and resets the count.
    /// Corresponds to `timer_getoverrun`.
    pub fn overruns(&self) -> u64 {
        self.shared.overruns.swap(0, Relaxed)
    }

    /// Pulses sent so far.
    pub fn pulses(&self) -> u64 {
        self.shared.pulses.load(Relaxed)
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // An expiry the runtime thread is handling now finishes first.
        *self.shared.deleted.lock().unwrap_or_else(|e| e.into_inner()) = true;
        let _ = timerfd::set(&self.shared.fd, Duration::ZERO, Duration::ZERO, false);
        let rt = Runtime::get();
        rt.unwatch(&self.shared.fd, self.token);
        rt.timer_priority(self.shared.claim, false);
    }
}
