//! Which request each slot of a connection holds, without the channel lock.
//!
//! A server thread that takes a message *holds* it until it is answered:
//! the receive id names the hold by its generation, a second answer or an
//! answer to a request whose hold has ended fails with `ESRCH`, and an
//! unblock request is turned into a pulse only while the request is held.
//! The spin-mode fast path (`fast.rs`) takes a message without the channel
//! lock, so the hold is one word per slot in the server's private memory,
//! changed only by compare-and-swap:
//!
//! ```text
//! bits 0-6   generation of the current (or last) hold (part of the receive id)
//! bit  30    UNBLOCK_SENT: an unblock pulse for this hold was queued
//! bit  31    HELD: a server thread holds the slot's request
//! ```
//!
//! A taker first takes the hold ([`Holds::take`]: free → held, next
//! generation), then claims the slot in shared memory (`slot::server_claim`);
//! if the claim fails it gives the hold back ([`Holds::undo`]). Whoever
//! wins the hold is the only thread that may claim, so two takers (the fast
//! path and a receiver that queued the slot) never both deliver it. The
//! answer ends the hold ([`Holds::release`]), which fails if it has ended
//! already; the drain's unblock pulse sets `UNBLOCK_SENT` only on the hold
//! it saw (CAS), so an answer racing it is never followed by a pulse for it.
//! The sender's checked scheduling attributes, which the unblock pulse
//! carries, are stored before the claim publishes the hold to the client
//! (whose unblock request then orders them before the drain that reads
//! them).

use crate::proto::rcvid::GEN_MASK;
use crate::shm::layout::{pack_sched, unpack_sched};
use crate::sys::sched::Sched;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

const HELD: u32 = 1 << 31;
const UNBLOCK_SENT: u32 = 1 << 30;

/// One slot's hold.
#[derive(Debug, Default)]
struct Hold {
    word: AtomicU32,
    /// The held request's sender, checked ([`pack_sched`]).
    sched: AtomicU32,
}

/// The holds of a connection's slots.
#[derive(Debug)]
pub(crate) struct Holds(Box<[Hold]>);

impl Holds {
    pub(crate) fn new(slots: u32) -> Holds {
        Holds((0..slots).map(|_| Hold::default()).collect())
    }

    /// Whether slot `slot`'s request is held.
    pub(crate) fn is_held(&self, slot: u32) -> bool {
        self.0[slot as usize].word.load(Acquire) & HELD != 0
    }

    /// Takes the hold of a free slot for a request from a sender served at
    /// `sched`; returns its generation, or `None` if it is held (by another
    /// taker, or a client wrote over a held slot).
    pub(crate) fn take(&self, slot: u32, sched: Sched) -> Option<u32> {
        let h = &self.0[slot as usize];
        let old = h.word.load(Relaxed);
        if old & HELD != 0 {
            return None;
        }
        let gen = (old + 1) & GEN_MASK;
        h.word.compare_exchange(old, HELD | gen, AcqRel, Relaxed).ok()?;
        h.sched.store(pack_sched(sched.policy, sched.level), Relaxed);
        Some(gen)
    }

    /// Gives back a hold whose claim failed (the client withdrew).
    pub(crate) fn undo(&self, slot: u32, gen: u32) {
        let _ = self.0[slot as usize].word.compare_exchange(HELD | gen, gen, AcqRel, Relaxed);
    }

    /// Ends hold `gen` (the request was answered, or forgotten); `false` if
    /// it had ended already.
    pub(crate) fn release(&self, slot: u32, gen: u32) -> bool {
        let w = &self.0[slot as usize].word;
        let mut old = w.load(Relaxed);
        while old & HELD != 0 && old & GEN_MASK == gen {
            match w.compare_exchange(old, gen, AcqRel, Relaxed) {
                Ok(_) => return true,
                Err(now) => old = now,
            }
        }
        false
    }

    /// For an unblock request: marks the current hold as having had its
    /// unblock pulse sent; its generation and sender, or `None` if nothing
    /// is held or the pulse was sent already.
    pub(crate) fn send_unblock(&self, slot: u32) -> Option<(u32, Sched)> {
        let h = &self.0[slot as usize];
        let old = h.word.load(Acquire);
        if old & (HELD | UNBLOCK_SENT) != HELD {
            return None;
        }
        h.word.compare_exchange(old, old | UNBLOCK_SENT, AcqRel, Relaxed).ok()?;
        let (policy, level) = unpack_sched(h.sched.load(Relaxed));
        Some((old & GEN_MASK, Sched { policy, level }))
    }

    /// Whether hold `gen` still stands and had its unblock pulse sent (the
    /// pulse is still wanted).
    pub(crate) fn unblock_pending(&self, slot: u32, gen: u32) -> bool {
        self.0.get(slot as usize).is_some_and(|h| h.word.load(Acquire) == HELD | UNBLOCK_SENT | gen)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_hold_is_taken_once_and_ended_once() {
        let holds = Holds::new(2);
        let normal = Sched::NORMAL;
        let g = holds.take(1, normal).unwrap();
        assert!(holds.is_held(1) && !holds.is_held(0));
        assert_eq!(holds.take(1, normal), None, "a held slot is not taken again");
        assert_eq!(holds.send_unblock(1), Some((g, normal)));
        assert_eq!(holds.send_unblock(1), None, "one unblock pulse per hold");
        assert!(holds.unblock_pending(1, g));
        assert!(holds.release(1, g));
        assert!(!holds.release(1, g), "a second answer finds it gone");
        assert!(!holds.unblock_pending(1, g));
        assert_eq!(holds.send_unblock(1), None);
        // The next hold has the next generation; an undone one leaves the
        // slot free.
        let g2 = holds.take(1, normal).unwrap();
        assert_eq!(g2, (g + 1) & GEN_MASK);
        holds.undo(1, g2);
        assert!(!holds.is_held(1));
        assert!(!holds.release(1, g2));
        // Generations wrap within the receive id's bits.
        for _ in 0..200 {
            let g = holds.take(0, normal).unwrap();
            assert!(g <= GEN_MASK);
            assert!(holds.release(0, g));
        }
    }
}
