//! Absolute deadlines on `CLOCK_MONOTONIC`.

use rustix::time::{clock_gettime, ClockId, Timespec};
use std::time::{Duration, Instant};

/// The moment by which a blocking call must finish, on `CLOCK_MONOTONIC`.
///
/// Every blocking call of baton has a form that takes a `Deadline`; it
/// corresponds to QNX's `TimerTimeout`. [`Deadline::NEVER`] blocks without
/// limit and [`Deadline::IMMEDIATE`] never blocks (QNX's `ntime == NULL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline(u64);

impl Deadline {
    /// No deadline: block until the call completes.
    pub const NEVER: Deadline = Deadline(u64::MAX);
    /// A deadline already in the past: fail with `ETIMEDOUT` instead of blocking.
    pub const IMMEDIATE: Deadline = Deadline(0);

    /// The deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        Deadline(now_ns().saturating_add(ns).min(u64::MAX - 1))
    }

    /// The deadline at `instant` (std's `Instant` is `CLOCK_MONOTONIC` on Linux).
    pub fn at(instant: Instant) -> Deadline {
        let now = Instant::now();
        if instant <= now {
            return Deadline(now_ns().max(1));
        }
        Deadline::after(instant - now)
    }

    /// A deadline given as nanoseconds of `CLOCK_MONOTONIC`.
    pub const fn from_monotonic_nanos(ns: u64) -> Deadline {
        Deadline(ns)
    }

    /// Nanoseconds of `CLOCK_MONOTONIC`, or `None` for [`Deadline::NEVER`].
    pub fn as_monotonic_nanos(self) -> Option<u64> {
        (self != Deadline::NEVER).then_some(self.0)
    }

    /// Whether the deadline never expires.
    pub fn is_never(self) -> bool {
        self == Deadline::NEVER
    }

    /// Whether the deadline has passed.
    pub fn expired(self) -> bool {
        match self {
            Deadline::NEVER => false,
            Deadline::IMMEDIATE => true,
            Deadline(ns) => now_ns() >= ns,
        }
    }

    /// Time left, or `None` for no deadline.
    pub fn remaining(self) -> Option<Duration> {
        self.as_monotonic_nanos().map(|ns| Duration::from_nanos(ns.saturating_sub(now_ns())))
    }

    /// The earlier of two deadlines.
    pub fn min(self, other: Deadline) -> Deadline {
        Deadline(self.0.min(other.0))
    }

    /// The absolute time as a `Timespec`, for `FUTEX_WAIT_BITSET`.
    pub(crate) fn timespec(self) -> Option<Timespec> {
        self.as_monotonic_nanos()
            .map(|ns| Timespec { tv_sec: (ns / 1_000_000_000) as i64, tv_nsec: (ns % 1_000_000_000) as i64 })
    }

    /// Time left as a relative `Timespec`, for epoll and poll.
    pub(crate) fn relative_timespec(self) -> Option<Timespec> {
        self.remaining().map(|d| Timespec { tv_sec: d.as_secs() as i64, tv_nsec: i64::from(d.subsec_nanos()) })
    }
}

/// Nanoseconds of `CLOCK_MONOTONIC`.
pub fn now_ns() -> u64 {
    let t = clock_gettime(ClockId::Monotonic);
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_and_expiry() {
        assert!(Deadline::IMMEDIATE.expired());
        assert!(!Deadline::NEVER.expired());
        let d = Deadline::after(Duration::from_secs(3600));
        assert!(!d.expired());
        assert!(d < Deadline::NEVER);
        assert_eq!(d.min(Deadline::IMMEDIATE), Deadline::IMMEDIATE);
        assert!(d.remaining().unwrap() > Duration::from_secs(3599));
        assert_eq!(Deadline::NEVER.timespec(), None);
        let past = Deadline::at(Instant::now() - Duration::from_secs(1));
        assert!(past.expired());
    }
}
