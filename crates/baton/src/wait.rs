//! The slot state machine of `proto::slot` over real futexes: the state
//! word in the shared segment, waits with absolute `CLOCK_MONOTONIC`
//! deadlines, and (for real-time clients) priority-inheritance waits on the
//! slot's and the connection's PI words.

use crate::proto::slot::{self, PiWord};
use crate::shm::SlotHeader;
use crate::sys::futex::{self, PiLock, PI_TID_MASK, PI_WAITERS};
use crate::sys::thread;
use crate::sys::time::Deadline;
use std::cell::Cell;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, SeqCst};
use std::sync::atomic::{fence, AtomicU32};
use std::time::Duration;

/// How long a priority-inheritance wait lasts before the client looks at
/// the state word again: it bounds how long a client can stay behind a
/// lock whose owner will not release it (a request answered by another
/// thread than the one that took it, or taken by another thread than the
/// one its boost went to). The first wait of a call is short, each next one
/// twice as long, up to the longest, so a mismatch costs little and a long
/// call few wake-ups.
const PI_SLICE_FIRST: Duration = Duration::from_micros(100);
const PI_SLICE_LONGEST: Duration = Duration::from_millis(2);

/// A slot's state word as a futex (the server's view: no PI waits).
pub(crate) struct SlotFutex<'a>(pub &'a SlotHeader);

impl slot::Futex for SlotFutex<'_> {
    type Deadline = Deadline;

    #[inline]
    fn word(&self) -> &AtomicU32 {
        &self.0.state
    }

    fn wait(&self, expected: u32, deadline: Deadline) -> bool {
        futex::wait(&self.0.state, expected, deadline) != futex::Wait::TimedOut
    }

    fn wake(&self) {
        futex::wake(&self.0.state, 1);
    }

    #[inline]
    fn expired(&self, d: Deadline) -> bool {
        d.expired()
    }

    fn never(&self) -> Deadline {
        Deadline::NEVER
    }

    fn earlier(&self, a: Deadline, b: Deadline) -> Deadline {
        a.min(b)
    }

    fn pi_wait(&self, _: PiWord, _: u32, _: Deadline) -> bool {
        false
    }

    fn pi_slice(&self) -> Deadline {
        Deadline::after(PI_SLICE_LONGEST)
    }

    fn rq_wait(&self, expected: u32, deadline: Deadline) -> bool {
        match futex::wait_requeue_pi(&self.0.state, expected, &self.0.pi, deadline) {
            futex::Requeue::Owner => release_slot_pi(&self.0.pi),
            futex::Requeue::Retry => {}
            futex::Requeue::Unsupported => return false,
        }
        true
    }

    fn requeue(&self, now: u32) {
        futex::cmp_requeue_pi(&self.0.state, now, &self.0.pi);
    }
}

/// A client's view of its slot: the state word, plus the PI words it may
/// wait on.
pub(crate) struct ClientFutex<'a> {
    pub slot: SlotFutex<'a>,
    /// The connection's boost word.
    pub boost: &'a AtomicU32,
    /// Priority-inheritance waits so far in this call.
    pub slices: Cell<u32>,
}

impl<'a> ClientFutex<'a> {
    pub(crate) fn new(slot: &'a SlotHeader, boost: &'a AtomicU32) -> Self {
        ClientFutex { slot: SlotFutex(slot), boost, slices: Cell::new(0) }
    }
}

impl slot::Futex for ClientFutex<'_> {
    type Deadline = Deadline;

    #[inline]
    fn word(&self) -> &AtomicU32 {
        self.slot.word()
    }
    fn wait(&self, expected: u32, deadline: Deadline) -> bool {
        self.slot.wait(expected, deadline)
    }
    fn wake(&self) {
        self.slot.wake()
    }
    #[inline]
    fn expired(&self, d: Deadline) -> bool {
        d.expired()
    }
    fn never(&self) -> Deadline {
        Deadline::NEVER
    }
    fn earlier(&self, a: Deadline, b: Deadline) -> Deadline {
        a.min(b)
    }
    fn rq_wait(&self, expected: u32, deadline: Deadline) -> bool {
        self.slot.rq_wait(expected, deadline)
    }

    fn requeue(&self, now: u32) {
        self.slot.requeue(now)
    }

    fn pi_slice(&self) -> Deadline {
        let n = self.slices.get();
        self.slices.set(n.saturating_add(1));
        Deadline::after(PI_SLICE_FIRST.saturating_mul(1 << n.min(5)).min(PI_SLICE_LONGEST))
    }

    /// Announces itself as a waiter in the PI word, looks at the state word
    /// a last time (the server publishes its answer, then releases the PI
    /// word if it sees a waiter: so either we see the answer or the server
    /// sees us), then blocks in `FUTEX_LOCK_PI2`. Once it gets the lock it
    /// gives it straight back.
    fn pi_wait(&self, which: PiWord, expected: u32, deadline: Deadline) -> bool {
        let word = match which {
            PiWord::Slot => &self.slot.0.pi,
            PiWord::Boost => self.boost,
        };
        let me = thread::tid() as u32;
        let owner = word.load(Acquire);
        let tid = owner & PI_TID_MASK;
        if tid == 0 || tid == me {
            return false;
        }
        if owner & PI_WAITERS == 0 && word.compare_exchange(owner, owner | PI_WAITERS, AcqRel, Acquire).is_err() {
            return true; // the word moved: look again
        }
        fence(SeqCst);
        if self.slot.0.state.load(Relaxed) != expected {
            return true;
        }
        match futex::lock_pi(word, deadline) {
            PiLock::Acquired if which == PiWord::Slot => release_slot_pi(word),
            PiLock::Acquired => futex::unlock_pi(word, me),
            PiLock::TimedOut => {}
            PiLock::NoOwner => {
                // The owner is gone: clear its name so nobody waits for it.
                let now = word.load(Relaxed);
                if now & PI_TID_MASK == tid {
                    let _ = word.compare_exchange(now, 0, AcqRel, Relaxed);
                }
                return false;
            }
        }
        true
    }
}

/// Gives back a slot's PI word that the client was handed (the server
/// released it to us, or its owner died). Only this client thread ever
/// waits on its slot's word, so once the kernel has handed it over no
/// kernel state is left behind it: a plain store frees it, without the
/// `FUTEX_UNLOCK_PI` the kernel's `FUTEX_WAITERS` mark would otherwise call
/// for.
fn release_slot_pi(word: &AtomicU32) {
    word.store(0, std::sync::atomic::Ordering::Release);
}
