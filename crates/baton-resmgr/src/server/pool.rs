//! The thread pool's bookkeeping (QNX's `thread_pool_*`): how many threads
//! there are and how many wait in receive. A thread that takes a message
//! and leaves fewer than `lo` waiting starts another (up to `max`); a
//! thread that finishes a message while `hi` or more wait exits.

use std::sync::{Condvar, Mutex, MutexGuard};

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

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    idle: usize,
}

/// The counts, and a condition variable to wait for the last thread.
#[derive(Debug)]
pub(crate) struct Pool {
    pub limits: Limits,
    counts: Mutex<Counts>,
    gone: Condvar,
}

impl Pool {
    pub fn new(limits: Limits) -> Pool {
        Pool { limits, counts: Mutex::new(Counts::default()), gone: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `n` threads about to be started.
    pub fn add(&self, n: usize) {
        self.lock().total += n;
    }

    /// The calling thread waits for a message.
    pub fn idle(&self) {
        self.lock().idle += 1;
    }

    /// The calling thread got one: whether it should start another thread
    /// (counted already; on failure to start it, call [`exit`](Self::exit)).
    pub fn busy(&self) -> bool {
        let mut c = self.lock();
        c.idle -= 1;
        if c.idle < self.limits.lo && c.total < self.limits.max {
            c.total += 1;
            return true;
        }
        false
    }

    /// The calling thread finished a message: whether it should exit
    /// (counted gone already).
    pub fn retire(&self) -> bool {
        let mut c = self.lock();
        if c.idle >= self.limits.hi {
            c.total -= 1;
            drop(c);
            self.gone.notify_all();
            return true;
        }
        false
    }

    /// The calling thread exits (the channel is gone).
    pub fn exit(&self) {
        self.lock().total -= 1;
        self.gone.notify_all();
    }

    /// Threads now.
    pub fn threads(&self) -> usize {
        self.lock().total
    }

    /// Waits until every thread has exited.
    pub fn wait_empty(&self) {
        let mut c = self.lock();
        while c.total > 0 {
            c = self.gone.wait(c).unwrap_or_else(|e| e.into_inner());
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
