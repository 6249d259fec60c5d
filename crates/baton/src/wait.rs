//! The slot state machine of `proto::slot` over real futexes: the state
//! word in the shared segment, waits with absolute `CLOCK_MONOTONIC`
//! deadlines, and (for real-time clients) priority-inheritance waits on the
//! slot's and the connection's PI words.

use crate::proto::slot::{self, PiWord};
use crate::shm::SlotHeader;
use crate::sys::futex::{self, PiLock, PI_TID_MASK};
use crate::sys::thread;
use crate::sys::time::Deadline;
use std::cell::Cell;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::time::Duration;

/// How long a wait on the connection's boost word lasts before the client
/// looks at its state again: the thread that takes its request is often
/// not the one the boost went to, and only the boost word's owner can end
/// that wait. The first wait of a call is short, each next one twice as
/// long, up to the longest, so a mismatch costs little and a long wait few
/// wake-ups.
const BOOST_SLICE_FIRST: Duration = Duration::from_micros(100);
const BOOST_SLICE_LONGEST: Duration = Duration::from_millis(2);

/// How long a wait on the slot's PI word lasts before the client looks at
/// its state again. The word's owner is the thread working on the request,
/// which releases it as it answers; the slice only bounds how long a
/// client waits when the answer came from elsewhere (another thread, or
/// the channel's destruction) and the owner has not come back to receive.
/// Each look briefly lets the boost go, so it is long.
const SLOT_SLICE: Duration = Duration::from_millis(10);

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

    fn pi_slice(&self, _: PiWord) -> Deadline {
        Deadline::after(SLOT_SLICE)
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

    #[inline]
    fn bell(&self) -> u32 {
        self.0.bell.load(Acquire)
    }

    /// A plain increment (load, store): the bell only has to change. Two
    /// rings that race may leave it one step on instead of two, which a
    /// spinner still sees.
    #[inline]
    fn ring(&self) {
        let b = &self.0.bell;
        b.store(b.load(Relaxed).wrapping_add(1), Release);
    }

    /// The call's number is the slot's: the client does not change it
    /// while the server holds the call.
    #[inline]
    fn announce_answer(&self) {
        self.0.answered.store(self.0.seq.load(Relaxed), Release);
    }

    /// The runtime's view (`slot::release_dead`): the answer word names
    /// the call in the slot.
    fn answered(&self) -> bool {
        self.0.answered.load(Acquire) == self.0.seq.load(Relaxed)
    }
}

/// A client's view of its slot: the state word, plus the PI words it may
/// wait on.
pub(crate) struct ClientFutex<'a> {
    pub slot: SlotFutex<'a>,
    /// The connection's boost word.
    pub boost: &'a AtomicU32,
    /// Waits on the boost word so far in this call.
    pub slices: Cell<u32>,
    /// Spin turns so far in this call.
    pub spins: Cell<u32>,
    /// Set when the connection handle the call went through is detached
    /// by another thread: every deadline of the call has then passed, so
    /// the call leaves as a timeout would (see `slot::client_poke`).
    pub detached: &'a AtomicBool,
    /// The call's sequence number, which the answer word names once the
    /// answer is in the slot (`slot`, invariant 6).
    pub seq: u32,
}

impl<'a> ClientFutex<'a> {
    pub(crate) fn new(slot: &'a SlotHeader, boost: &'a AtomicU32, detached: &'a AtomicBool, seq: u32) -> Self {
        ClientFutex { slot: SlotFutex(slot), boost, slices: Cell::new(0), spins: Cell::new(0), detached, seq }
    }
}

/// Spin turns between yields of the CPU: a spinner that shares its CPU
/// with the thread it waits for would otherwise hold that thread off for a
/// whole time slice.
pub(crate) const SPINS_PER_YIELD: u32 = 256;

/// Spin turns between looks at the clock (a divisor of
/// [`SPINS_PER_YIELD`]).
pub(crate) const SPINS_PER_CLOCK: u32 = 32;

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
        self.detached.load(Relaxed) || self.slot.expired(d)
    }
    fn never(&self) -> Deadline {
        self.slot.never()
    }
    fn earlier(&self, a: Deadline, b: Deadline) -> Deadline {
        self.slot.earlier(a, b)
    }
    fn rq_wait(&self, expected: u32, deadline: Deadline) -> bool {
        self.slot.rq_wait(expected, deadline)
    }

    fn requeue(&self, now: u32) {
        self.slot.requeue(now)
    }

    /// Reads the clock once every [`SPINS_PER_CLOCK`] turns: a read
    /// costs far more than a turn (66 ns on the development VM, where the
    /// clock is read through the vDSO), and a spinner that read it on
    /// every turn saw its answer half a read late on average (`perf`: the
    /// spinning client spent 36% of its time in `clock_gettime`).
    #[inline]
    fn keep_spinning(&self, until: Deadline) -> bool {
        if until == Deadline::IMMEDIATE {
            return false;
        }
        if self.spins.get() % SPINS_PER_CLOCK != 0 {
            return !self.detached.load(Relaxed);
        }
        !self.expired(until)
    }

    fn bell(&self) -> u32 {
        self.slot.bell()
    }

    fn ring(&self) {
        self.slot.ring()
    }

    /// Read from the bell's line, which a spinner has just fetched: the
    /// state word's line is not needed for an answer announced there.
    #[inline]
    fn answered(&self) -> bool {
        self.slot.0.answered.load(Acquire) == self.seq
    }

    /// Spins on the bell's line, which the server writes once per call,
    /// until it rings, a yield is due (so the state word is looked at
    /// every [`SPINS_PER_YIELD`] turns whatever the bell says) or the spin
    /// ends. When it rings, the reply's first line is fetched at once: it
    /// then travels with the state word's line instead of after it.
    fn spin_watch(&self, seen: u32, until: Deadline) {
        loop {
            self.spin_pause();
            if self.slot.bell() != seen {
                crate::shm::prefetch_inline(self.slot.0);
                return;
            }
            if self.spins.get() % SPINS_PER_YIELD == 0 || !self.keep_spinning(until) {
                return;
            }
        }
    }

    fn spin_pause(&self) {
        let n = self.spins.get().wrapping_add(1);
        self.spins.set(n);
        if n % SPINS_PER_YIELD == 0 {
            rustix::thread::sched_yield();
        } else {
            std::hint::spin_loop();
        }
    }

    fn pi_slice(&self, word: PiWord) -> Deadline {
        if word == PiWord::Slot {
            return Deadline::after(SLOT_SLICE);
        }
        let n = self.slices.get();
        self.slices.set(n.saturating_add(1));
        Deadline::after(BOOST_SLICE_FIRST.saturating_mul(1 << n.min(5)).min(BOOST_SLICE_LONGEST))
    }

    /// Blocks in `FUTEX_LOCK_PI2` on the PI word while its owner works for
    /// us. No wake-up can be lost: the server publishes its answer before
    /// it releases the word, so if the word is free by the time we lock it
    /// we get it at once and look at the state word again.
    fn pi_wait(&self, which: PiWord, expected: u32, deadline: Deadline) -> bool {
        let word = match which {
            PiWord::Slot => &self.slot.0.pi,
            PiWord::Boost => self.boost,
        };
        let me = thread::tid() as u32;
        let tid = word.load(Acquire) & PI_TID_MASK;
        if tid == 0 || tid == me {
            return false;
        }
        if self.slot.0.state.load(Acquire) != expected {
            return true;
        }
        match futex::lock_pi(word, deadline) {
            PiLock::Acquired if which == PiWord::Slot => release_slot_pi(word),
            PiLock::Acquired => self.hand_back_boost(tid),
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

impl ClientFutex<'_> {
    /// Gives back the connection's boost word, which the server thread
    /// `owner` handed us (after answering a request of the connection, or
    /// letting one go) or freed just before we took it, and names a server
    /// thread in it again: the one that took our request if one holds it,
    /// else `owner`.
    /// Otherwise the word would name nobody until a server thread next
    /// takes a real-time request of this connection, and a real-time call
    /// meanwhile could raise nobody.
    fn hand_back_boost(&self, owner: u32) {
        let me = thread::tid() as u32;
        futex::unlock_pi(self.boost, me);
        let taker = self.slot.0.pi.load(Acquire) & PI_TID_MASK;
        self.name_again(if taker != 0 && taker != me { taker } else { owner });
    }

    /// After a real-time call: names server thread `tid` in the boost word
    /// if the word names nobody, as the thread that answered may have left
    /// it (`inherit::answering`), so that the connection's next
    /// real-time call finds someone to raise.
    pub(crate) fn name_again(&self, tid: u32) {
        if tid != 0 && self.boost.load(Relaxed) == 0 {
            let _ = self.boost.compare_exchange(0, tid, AcqRel, Relaxed);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::slot::{Begin, Futex};

    static DETACHED: AtomicBool = AtomicBool::new(false);

    /// After an answer taken early the slot stays `RECEIVED` until the
    /// server publishes it (`slot`, invariant 6): the client's next post
    /// waits, on the real futex, until then or its deadline.
    #[test]
    fn a_post_waits_for_an_early_answer_to_be_published() {
        let h = SlotHeader::default();
        let server = SlotFutex(&h);
        h.state.store(slot::RECEIVED, Relaxed);
        h.seq.store(5, Relaxed);
        server.announce_answer();
        let client = ClientFutex::new(&h, &h.pi, &DETACHED, 6);
        // Never published: the deadline ends the wait.
        let start = std::time::Instant::now();
        assert!(!slot::client_settle(&client, Deadline::after(Duration::from_millis(20))));
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert_ne!(h.state.load(Relaxed) & slot::WAITER, 0, "it slept");
        // Published while the client sleeps: it is woken.
        std::thread::scope(|sc| {
            sc.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                assert_eq!(slot::server_reply(&server), Begin::Busy);
            });
            assert!(slot::client_settle(&client, Deadline::after(Duration::from_secs(10))));
        });
        assert!(slot::unused(h.state.load(Relaxed)));
    }

    /// Every transition a spinning client must see rings the bell; the
    /// claim, which it need not see, leaves it alone (the server keeps the
    /// state word's line to itself).
    #[test]
    fn transitions_ring_the_bell() {
        let h = SlotHeader::default();
        let f = SlotFutex(&h);
        let rings = |state: u32, step: &dyn Fn()| {
            h.state.store(state, Relaxed);
            let before = f.bell();
            step();
            f.bell() != before
        };
        h.seq.store(7, Relaxed);
        assert!(rings(slot::RECEIVED, &|| assert_eq!(slot::server_reply(&f), Begin::Busy)), "answer");
        assert!(slot::Futex::answered(&f), "the answer word names the call");
        let c = ClientFutex::new(&h, &h.pi, &DETACHED, 7);
        assert!(slot::Futex::answered(&c) && !slot::Futex::answered(&ClientFutex::new(&h, &h.pi, &DETACHED, 8)));
        h.answered.store(0, Relaxed);
        assert!(rings(slot::BUSY, &|| slot::server_finish(&f)), "answer after a write");
        assert!(rings(slot::RECEIVED, &|| assert!(slot::server_request_transfer(&f))), "transfer");
        assert!(rings(slot::POSTED, &|| assert!(slot::runtime_fail(&f))), "failure");
        assert!(!rings(slot::POSTED, &|| assert!(slot::server_claim(&f))), "claim");
        assert!(!rings(slot::ABANDONED, &|| assert_eq!(slot::server_reply(&f), Begin::Abandoned)), "abandoned");
    }
}
