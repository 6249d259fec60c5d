//! The calling thread's scheduling attributes, as baton sees and claims them.
//!
//! Every message and pulse carries its sender thread's scheduling class and
//! level: the ready queue serves real-time senders first (higher priority
//! first), then normal ones (lower nice first), FIFO among equals. The
//! server checks every claim above normal (real-time, or negative nice)
//! against the kernel, so a client cannot buy a better place by writing a
//! better number. A thread that is serving a real-time request claims that
//! request's priority for the calls it makes on its behalf, which is what
//! makes inheritance transitive.
//!
//! A thread's attributes are read from the kernel once and cached; change
//! them with [`set_thread_priority`] (or call [`refresh_thread_priority`]
//! after changing them some other way).

use crate::error::{Error, Result};
use crate::sys::sched::{self, Sched};
use std::cell::{Cell, RefCell};

/// A scheduling policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// `SCHED_FIFO`: real-time, priority 1..=99.
    Fifo,
    /// `SCHED_RR`: real-time with time slices, priority 1..=99.
    RoundRobin,
    /// `SCHED_OTHER`: normal time sharing; the level is the nice value
    /// (-20..=19, lower first).
    Other,
    /// `SCHED_BATCH`: like `Other`, for batch work.
    Batch,
    /// `SCHED_IDLE`: runs only when nothing else does; served last.
    Idle,
}

impl Policy {
    /// The `SCHED_*` constant.
    pub fn as_raw(self) -> i32 {
        match self {
            Policy::Fifo => libc::SCHED_FIFO,
            Policy::RoundRobin => libc::SCHED_RR,
            Policy::Other => libc::SCHED_OTHER,
            Policy::Batch => libc::SCHED_BATCH,
            Policy::Idle => libc::SCHED_IDLE,
        }
    }

    /// The policy for a `SCHED_*` constant.
    pub fn from_raw(raw: i32) -> Option<Policy> {
        match raw {
            libc::SCHED_FIFO => Some(Policy::Fifo),
            libc::SCHED_RR => Some(Policy::RoundRobin),
            libc::SCHED_OTHER => Some(Policy::Other),
            libc::SCHED_BATCH => Some(Policy::Batch),
            libc::SCHED_IDLE => Some(Policy::Idle),
            _ => None,
        }
    }

    /// Whether this is a real-time policy.
    pub fn is_realtime(self) -> bool {
        matches!(self, Policy::Fifo | Policy::RoundRobin)
    }
}

thread_local! {
    /// The thread's own attributes, read once.
    static OWN: Cell<Option<Sched>> = const { Cell::new(None) };
    /// Real-time priorities of the requests this thread is serving.
    static INHERITED: RefCell<Vec<i32>> = const { RefCell::new(Vec::new()) };
    /// The highest of them (0: none), which every call reads: a `Cell`
    /// without a destructor costs less to reach than the `Vec`.
    static TOP: Cell<i32> = const { Cell::new(0) };
}

/// Sets the calling thread's scheduling policy and level: the real-time
/// priority (1..=99) for [`Policy::Fifo`]/[`Policy::RoundRobin`], the nice
/// value (-20..=19) otherwise. Raising needs `CAP_SYS_NICE` or a matching
/// `RLIMIT_RTPRIO`/`RLIMIT_NICE`.
pub fn set_thread_priority(policy: Policy, level: i32) -> Result<()> {
    let s = Sched { policy: policy.as_raw(), level };
    sched::set_own(s)
        .map_err(|e| Error::from_errno(e.raw_os_error()).with_detail(format!("setting {policy:?} at level {level}")))?;
    OWN.with(|c| c.set(Some(s)));
    Ok(())
}

/// The calling thread's policy and level as the kernel reports them now
/// (without any inherited boost).
pub fn thread_priority() -> Result<(Policy, i32)> {
    let s = sched::get(0).map_err(|e| Error::from_errno(e.raw_os_error()))?;
    OWN.with(|c| c.set(Some(s)));
    Ok((Policy::from_raw(s.policy).unwrap_or(Policy::Other), s.level))
}

/// Forgets the cached attributes of the calling thread, after they were
/// changed other than with [`set_thread_priority`].
pub fn refresh_thread_priority() {
    OWN.with(|c| c.set(None));
}

/// What the calling thread claims for a message or pulse: its own
/// attributes, or the highest real-time priority it is serving on behalf
/// of a client, whichever ranks higher.
pub(crate) fn claim() -> Sched {
    let own = OWN.with(|c| {
        c.get().unwrap_or_else(|| {
            let s = sched::get(0).unwrap_or(Sched::NORMAL);
            c.set(Some(s));
            s
        })
    });
    match TOP.get() {
        p if p > 0 && (!own.is_realtime() || p > own.level) => {
            await_boost(p);
            Sched { policy: libc::SCHED_FIFO, level: p }
        }
        _ => own,
    }
}

/// Waits (briefly, at most [`AWAIT_BOOST`]) until the kernel runs the
/// calling thread at the real-time priority `p` it inherits: a client that
/// has just blocked on our PI word takes a moment to be queued on it, and
/// the server we are about to call checks our claim against the priority
/// we run at. Only calls made on a real-time client's behalf pay for this
/// (a read of `/proc/thread-self/stat`, usually once).
fn await_boost(p: i32) {
    let until = crate::sys::time::now_ns() + AWAIT_BOOST.as_nanos() as u64;
    while sched::own_effective_rt_priority().is_none_or(|now| now < p) && crate::sys::time::now_ns() < until {
        std::hint::spin_loop();
    }
}

/// How long [`await_boost`] waits at most. The wait ends as soon as the
/// boost lands (microseconds on an idle machine); 200 µs proved too short
/// on a loaded one (the chain test in tests/realtime.rs saw the middle
/// server's call checked down to its normal priority, once).
const AWAIT_BOOST: std::time::Duration = std::time::Duration::from_millis(2);

/// The calling thread starts serving a request at real-time priority `p`.
pub(crate) fn inherit(p: i32) {
    change_inherited(|v| v.push(p));
}

/// The calling thread stops serving a request at priority `p`.
pub(crate) fn disinherit(p: i32) {
    change_inherited(|v| {
        if let Some(i) = v.iter().position(|&x| x == p) {
            v.swap_remove(i);
        }
    });
}

/// The calling thread serves nothing any more (it is back in receive).
pub(crate) fn disinherit_all() {
    change_inherited(Vec::clear);
}

/// Changes the priorities the thread inherits, and `TOP` with them: the
/// one place that writes either.
fn change_inherited(change: impl FnOnce(&mut Vec<i32>)) {
    INHERITED.with(|v| {
        let mut v = v.borrow_mut();
        change(&mut v);
        TOP.set(v.iter().copied().max().unwrap_or(0));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherited_priority_raises_the_claim() {
        std::thread::spawn(|| {
            let own = claim();
            inherit(40);
            inherit(60);
            assert_eq!(claim(), Sched { policy: libc::SCHED_FIFO, level: 60 });
            disinherit(60);
            assert_eq!(claim().level, if own.is_realtime() && own.level > 40 { own.level } else { 40 });
            disinherit_all();
            assert_eq!(claim(), own);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn policies_round_trip() {
        for p in [Policy::Fifo, Policy::RoundRobin, Policy::Other, Policy::Batch, Policy::Idle] {
            assert_eq!(Policy::from_raw(p.as_raw()), Some(p));
        }
        assert_eq!(Policy::from_raw(77), None);
    }
}
