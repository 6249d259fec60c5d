//! Timer descriptors (`timerfd`): the kernel's timers behind baton's pulse
//! timers, read by the runtime thread's epoll.

use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::time::{
    timerfd_create, timerfd_gettime, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};
use std::time::Duration;

/// A new non-blocking timer on `CLOCK_MONOTONIC` or `CLOCK_REALTIME`.
pub(crate) fn create(realtime: bool) -> Result<OwnedFd, Errno> {
    let clock = if realtime { TimerfdClockId::Realtime } else { TimerfdClockId::Monotonic };
    timerfd_create(clock, TimerfdFlags::CLOEXEC | TimerfdFlags::NONBLOCK)
}

fn ts(d: Duration) -> Timespec {
    Timespec { tv_sec: d.as_secs().min(i64::MAX as u64) as i64, tv_nsec: i64::from(d.subsec_nanos()) }
}

fn dur(t: Timespec) -> Duration {
    Duration::new(t.tv_sec.max(0) as u64, t.tv_nsec.clamp(0, 999_999_999) as u32)
}

/// Arms (or, with a zero `value`, disarms) the timer: first expiry after
/// `value` (at `value` on the timer's clock if `absolute`), then every
/// `interval` (zero: once). Returns the previous (time left, interval).
pub(crate) fn set(
    fd: impl AsFd,
    value: Duration,
    interval: Duration,
    absolute: bool,
) -> Result<(Duration, Duration), Errno> {
    let flags = if absolute { TimerfdTimerFlags::ABSTIME } else { TimerfdTimerFlags::empty() };
    let old = timerfd_settime(fd, flags, &Itimerspec { it_interval: ts(interval), it_value: ts(value) })?;
    Ok((dur(old.it_value), dur(old.it_interval)))
}

/// (time left until the next expiry, interval); zero time left: disarmed.
pub(crate) fn get(fd: impl AsFd) -> Result<(Duration, Duration), Errno> {
    let cur = timerfd_gettime(fd)?;
    Ok((dur(cur.it_value), dur(cur.it_interval)))
}

/// Expiries since the last read, 0 if none (never blocks).
pub(crate) fn take_expiries(fd: impl AsFd) -> u64 {
    let mut b = [0u8; 8];
    match rustix::io::read(fd, &mut b) {
        Ok(8) => u64::from_ne_bytes(b),
        _ => 0,
    }
}
