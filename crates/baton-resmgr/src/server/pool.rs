//! The thread pool's bookkeeping (QNX's `thread_pool_*`): how many threads
//! there are and how many wait in receive. A thread that takes a message
//! and leaves fewer than `lo` waiting starts another (up to `max`); a
//! thread that finishes a message while `hi` or more wait exits.

use std::sync::atomic::{AtomicU64, Ordering::AcqRel, Ordering::Acquire};
use std::sync::{Condvar, Mutex};

/// The pool's water marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Threads kept waiting for work (`lo_water`), at least 1.
    pub lo: usize,
    /// Most threads waiting (`hi_water`): above it, threads exit.
    pub hi: usize,
    /// Most threads in all (`maximum`).
    pub max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { lo: 1, hi: 4, max: 32 }
    }
}

impl Limits {
    /// Whether `1 <= lo <= hi <= max`.
    pub fn valid(&self) -> bool {
        1 <= self.lo && self.lo <= self.hi && self.hi <= self.max
    }
}

/// Threads in all (high half) and waiting (low half) in one word, so that
/// the checks each message makes on its way in and out are one atomic
/// operation, not a lock.
const TOTAL: u64 = 1 << 32;
const IDLE: u64 = 1;

fn total(c: u64) -> usize {
    (c >> 32) as usize
}

fn idle(c: u64) -> usize {
    (c & 0xffff_ffff) as usize
}

/// The counts, and a condition variable to wait for the last thread. A
/// thread leaving takes `gone`'s lock to count itself out, so that
/// [`wait_empty`](Pool::wait_empty) cannot miss the last one.
#[derive(Debug)]
pub(crate) struct Pool {
    pub limits: Limits,
    counts: AtomicU64,
    lock: Mutex<()>,
    gone: Condvar,
}

impl Pool {
    pub fn new(limits: Limits) -> Pool {
        Pool { limits, counts: AtomicU64::new(0), lock: Mutex::new(()), gone: Condvar::new() }
    }

    /// Applies `f` to the counts until it declines (`None`) or the update
    /// lands; whether it landed.
    fn update(&self, f: impl FnMut(u64) -> Option<u64>) -> bool {
        self.counts.fetch_update(AcqRel, Acquire, f).is_ok()
    }

    /// Counts `n` threads about to be started.
    pub fn add(&self, n: usize) {
        self.counts.fetch_add(n as u64 * TOTAL, AcqRel);
    }

    /// The calling thread waits for a message.
    pub fn idle(&self) {
        self.counts.fetch_add(IDLE, AcqRel);
    }

    /// The calling thread got one: whether it should start another thread
    /// (counted already; on failure to start it, call [`exit`](Self::exit)).
    pub fn busy(&self) -> bool {
        let (lo, max) = (self.limits.lo, self.limits.max);
        let mut grow = false;
        self.update(|c| {
            grow = idle(c) - 1 < lo && total(c) < max;
            Some(c - IDLE + if grow { TOTAL } else { 0 })
        });
        grow
    }

    /// The calling thread finished a message: whether it should exit
    /// (counted gone already).
    pub fn retire(&self) -> bool {
        let hi = self.limits.hi;
        if idle(self.counts.load(Acquire)) < hi {
            return false;
        }
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if !self.update(|c| (idle(c) >= hi).then(|| c - TOTAL)) {
            return false;
        }
        self.gone.notify_all();
        true
    }

    /// The calling thread exits (the channel is gone).
    pub fn exit(&self) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.counts.fetch_sub(TOTAL, AcqRel);
        self.gone.notify_all();
    }

    /// Threads now.
    pub fn threads(&self) -> usize {
        total(self.counts.load(Acquire))
    }

    /// Waits until every thread has exited.
    pub fn wait_empty(&self) {
        let mut g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        while self.threads() > 0 {
            g = self.gone.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_below_lo_and_shrinks_above_hi() {
        let p = Pool::new(Limits { lo: 1, hi: 2, max: 3 });
        p.add(1);
        p.idle();
        assert!(p.busy(), "no one left waiting: start one");
        p.idle();
        assert!(p.busy());
        p.idle();
        assert!(!p.busy(), "at the maximum");
        assert_eq!(p.threads(), 3);
        p.idle();
        assert!(!p.retire(), "one waiting");
        p.idle();
        p.idle();
        assert!(p.retire(), "two waiting already");
        assert_eq!(p.threads(), 2);
    }
}
