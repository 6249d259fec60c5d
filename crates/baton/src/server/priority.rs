//! Checking the priority a client claims for a message or pulse.
//!
//! A claim no better than normal (`SCHED_OTHER` at nice 0, or worse) is
//! taken as given: it cannot buy a better place than the default. A better
//! claim is checked against the kernel: the thread must belong to the
//! client's process (`tgkill(pid, tid, 0)`), and the claim must not exceed
//! the thread's own attributes (`sched_getattr`) or, for a real-time claim,
//! the priority it runs at right now (a server thread boosted by priority
//! inheritance claims its client's priority for the calls it makes on that
//! client's behalf). A claim that fails is replaced by what the kernel
//! says. Only senders that claim more than normal pay for the check, and a
//! slot remembers its last check for [`RECHECK_NS`], so a real-time client
//! calling in a loop pays for it once per interval, not once per call.

use crate::proto::queue::{rank_of, RANK_NORMAL};
use crate::sys::sched::{self, Sched};

/// How long a checked claim stays good for the same thread and claim.
pub(crate) const RECHECK_NS: u64 = 10_000_000;

/// The last check made for one slot.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LastCheck {
    tid: i32,
    claim: Sched,
    result: Sched,
    at_ns: u64,
}

impl LastCheck {
    /// [`checked`], remembering the answer for the next calls of the same
    /// thread with the same claim.
    pub(crate) fn checked(&mut self, pid: i32, tid: i32, claim: Sched) -> Sched {
        if rank(claim) <= RANK_NORMAL {
            return claim;
        }
        let now = crate::sys::time::now_ns();
        if self.tid == tid && self.claim == claim && now.saturating_sub(self.at_ns) < RECHECK_NS {
            return self.result;
        }
        let result = checked(pid, tid, claim);
        *self = LastCheck { tid, claim, result, at_ns: now };
        result
    }
}

fn rank(s: Sched) -> u32 {
    rank_of(s.policy, s.level)
}

/// The attributes to serve a claim from thread `tid` of process `pid` at.
pub(crate) fn checked(pid: i32, tid: i32, claim: Sched) -> Sched {
    if rank(claim) <= RANK_NORMAL {
        return claim;
    }
    if !sched::thread_of(pid, tid) {
        return Sched::NORMAL;
    }
    let base = sched::get(tid).unwrap_or(Sched::NORMAL);
    if rank(claim) <= rank(base) {
        return claim;
    }
    match effective_soon(pid, tid, claim) {
        Some(now) if claim.is_realtime() && now >= claim.level => claim,
        Some(now) if now > 0 && rank(Sched { policy: libc::SCHED_FIFO, level: now }) > rank(base) => {
            Sched { policy: libc::SCHED_FIFO, level: now }
        }
        _ => base,
    }
}

/// The real-time priority `tid` runs at, looking again over [`SETTLE`] if
/// it is below a real-time `claim`: a server thread's boost lapses for a
/// few microseconds while its client re-enters its wait (the client's
/// requeue-PI wait times out at its send-time boost deadline even after
/// the claim moved it onto the PI word, `wait.rs`). The last look starts
/// after `SETTLE` has passed, however long a look takes (`/proc` reads are
/// slow), so a lapse shorter than `SETTLE` cannot hide the boost.
fn effective_soon(pid: i32, tid: i32, claim: Sched) -> Option<i32> {
    let until = crate::sys::time::now_ns() + SETTLE.as_nanos() as u64;
    loop {
        let last = crate::sys::time::now_ns() >= until;
        let now = sched::effective_rt_priority(pid, tid);
        if !claim.is_realtime() || now.is_some_and(|p| p >= claim.level) || last {
            return now;
        }
        std::hint::spin_loop();
    }
}

/// How long [`effective_soon`] looks at most (plus one look).
const SETTLE: std::time::Duration = std::time::Duration::from_micros(50);

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> (i32, i32) {
        (std::process::id() as i32, rustix::thread::gettid().as_raw_nonzero().get())
    }

    #[test]
    fn modest_claims_pass_unchecked() {
        let low = Sched { policy: libc::SCHED_OTHER, level: 10 };
        assert_eq!(checked(1, 1, low), low, "no system call, whatever the ids");
    }

    #[test]
    fn inflated_claims_fall_back_to_the_truth() {
        let (pid, tid) = me();
        let truth = sched::get(0).unwrap();
        let bogus = Sched { policy: libc::SCHED_FIFO, level: 99 };
        if !(truth.is_realtime() && truth.level == 99) {
            assert_eq!(checked(pid, tid, bogus), truth);
        }
        // Another process's thread id, or none at all, counts as normal.
        assert_eq!(checked(pid, 1, bogus), Sched::NORMAL);
        assert_eq!(checked(pid, i32::MAX - 3, bogus), Sched::NORMAL);
    }
}
