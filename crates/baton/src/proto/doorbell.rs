//! When a client may skip ringing the doorbell.
//!
//! Ringing (an eventfd write) costs a system call and wakes a server thread
//! through epoll. It is not needed when a server thread is awake and has
//! promised to look at this connection before it next sleeps: after a
//! server answers a request and no other server thread is waiting to
//! receive, it sets the connection's `polling` word; before it sleeps it
//! clears the word and then looks at the connection's posted bits.
//!
//! This is a Dekker handshake. The client sets its posted bit, then reads
//! `polling`; the server clears `polling`, then reads the posted bits; both
//! with a sequentially consistent fence in between. So either the client
//! sees `polling == 0` and rings, or the server sees the bit: a message is
//! never left unannounced.
//!
//! A server thread with nothing to do may also *arm* the word instead of
//! clearing it ([`server_arm`]): it then sleeps in `FUTEX_WAITV` on the
//! `polling` words of the channel's connections, and a client that finds
//! the word armed wakes it through the word ([`client_notify`]), a futex
//! wake, cheaper than the eventfd and epoll a ring goes through. The same
//! Dekker handshake covers it: the server arms, then looks at the posted
//! bits; the client posts, then reads the word.
//!
//! An armed word may also name the slot the promise just withdrawn
//! watched ([`server_arm`]'s `watch`): a client posting in that slot
//! takes the word and wakes the server without setting a posted bit
//! ([`client_watched`]), and the server, awake, looks at that slot as if
//! its bit were set. Dekker again: the client stores `POSTED`, fences,
//! reads the word; the server arms, fences, looks at the bits.
//!
//! A promise may also name one slot the server thread *watches*: it looks
//! at that slot's state word itself, so a client posting in that slot
//! sets no posted bit at all (no write to the doorbell line, which the
//! server would then have to take back across CPUs). Dekker again: the
//! client stores `POSTED`, fences (`slot::client_post_checked`), then reads
//! the word ([`client_watched`]); the server withdraws the promise, fences,
//! then looks at the watched slot's state as if its bit were set.

use crate::sync::{fence, AtomicU32, AtomicU64};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, SeqCst};

/// The `polling` word's value while a server thread sleeps on it (see
/// [`server_arm`]). A promise (a CPU plus one) never has this bit.
pub(crate) const ASLEEP: u32 = 1 << 31;

/// What a client must do after publishing work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notify {
    /// Nobody will look: ring the doorbell (eventfd).
    Ring,
    /// A server thread sleeps on the `polling` word, which we have just
    /// cleared: `FUTEX_WAKE` it.
    Wake,
    /// A server thread promised to look (from the CPU named, a hint).
    Promised(u32),
}

/// Client: publishes `bit` in `posted`; then, from the `polling` word, what
/// it must do so that a server thread looks (see [`client_notify`]).
#[inline]
pub(crate) fn client_post_bit(posted: &AtomicU64, bit: u64, polling: &AtomicU32) -> Notify {
    posted.fetch_or(bit, SeqCst);
    client_notify(polling)
}

/// Bits of a promise naming its server thread's CPU plus one; the bits
/// above (up to [`ASLEEP`]) name the watched slot plus one, if any.
const CPU_BITS: u32 = 0xffff;
const WATCH_SHIFT: u32 = 16;

/// The slot a promise watches (see [`server_poll`]), if any.
#[inline]
pub(crate) fn watched_slot(polling: u32) -> Option<u32> {
    if polling & ASLEEP != 0 {
        return None;
    }
    (polling >> WATCH_SHIFT).checked_sub(1)
}

/// Client: after storing `POSTED` in slot `slot` and a fence (as
/// [`crate::proto::slot::client_post_checked`] does), whether the word
/// names that slot, and if so what the client must do, with no posted bit:
/// nothing if a server thread promised to look at it
/// ([`Notify::Promised`], with the thread's CPU, a hint), or wake the
/// thread that sleeps on the word armed watching it, which this call has
/// taken ([`Notify::Wake`]). `None`: set the slot's bit and ring.
#[inline]
pub(crate) fn client_watched(polling: &AtomicU32, slot: u32) -> Option<Notify> {
    let mut p = polling.load(Relaxed);
    while (p & !ASLEEP) >> WATCH_SHIFT == slot.wrapping_add(1) {
        if p & ASLEEP == 0 {
            return Some(Notify::Promised(polling_cpu(p).unwrap_or(0)));
        }
        // Armed watching our slot: taken as an armed word is taken (see
        // [`client_notify`]).
        match polling.compare_exchange(p, 0, AcqRel, Relaxed) {
            Ok(_) => return Some(Notify::Wake),
            Err(now) => p = now,
        }
    }
    None
}

/// Client: after publishing work (a posted bit or a pulse), what it must do
/// so that a server thread looks at it. A sleeping server's word is taken
/// (set to 0) by exactly one client thread, which wakes it; the others then
/// see 0 and ring, as they would had it not slept.
#[inline]
pub(crate) fn client_notify(polling: &AtomicU32) -> Notify {
    let mut p = client_polling(polling);
    loop {
        if p == 0 {
            return Notify::Ring;
        }
        if p & ASLEEP == 0 {
            return Notify::Promised(polling_cpu(p).unwrap_or(0));
        }
        // Release: the server that sees the 0 we leave sees our work.
        match polling.compare_exchange(p, 0, AcqRel, Relaxed) {
            Ok(_) => return Notify::Wake,
            Err(now) => p = now,
        }
    }
}

/// Client: after publishing work (a posted bit or a pulse), the `polling`
/// word: 0 if it must ring.
#[inline]
pub(crate) fn client_polling(polling: &AtomicU32) -> u32 {
    fence(SeqCst);
    polling.load(Relaxed)
}

/// Server: promises to look at the connection before sleeping, and at
/// slot `watch`'s state word whenever it looks (see [`client_watched`]).
/// The word holds the promising thread's CPU plus one (never 0), which
/// tells a client whether spinning for the answer can pay: only if that
/// CPU is not its own. The CPU is a hint (the thread may move); the
/// promise is not.
#[inline]
pub(crate) fn server_poll(polling: &AtomicU32, cpu: u32, watch: Option<u32>) {
    let cpu = (cpu.wrapping_add(1) & CPU_BITS).max(1);
    let watch = watch.map_or(0, |s| (s + 1) << WATCH_SHIFT) & !ASLEEP;
    polling.store(cpu | watch, Relaxed);
}

/// The CPU a promise names (see [`server_poll`]), if any.
#[inline]
pub(crate) fn polling_cpu(polling: u32) -> Option<u32> {
    if polling & ASLEEP != 0 {
        return None;
    }
    (polling & CPU_BITS).checked_sub(1)
}

/// Server: about to sleep on the `polling` word (`FUTEX_WAITV` expecting
/// [`ASLEEP`]), arms it; the caller must then (after a [`fence`], one for
/// all the words it arms) look at the connection's posted bits and pulses
/// once more, and sleep only if there was nothing.
///
/// With `watch`, the word also names that slot (the one a promise just
/// withdrawn watched): a client posting there takes the word and wakes
/// the server without a posted bit ([`client_watched`]), and the server,
/// awake, looks at that slot as if its bit were set. Returns the armed
/// value, to sleep on and to disarm.
#[inline]
pub(crate) fn server_arm(polling: &AtomicU32, watch: Option<u32>) -> u32 {
    let armed = ASLEEP | (watch.map_or(0, |s| s.wrapping_add(1) << WATCH_SHIFT) & !ASLEEP);
    polling.store(armed, Relaxed);
    armed
}

/// Server: the fence between arming words ([`server_arm`]) and looking at
/// what the clients posted.
#[inline]
pub(crate) fn server_armed() {
    fence(SeqCst);
}

/// Server: awake again, disarms the word (unless a client took it, which
/// then woke or wakes us: harmless). A client that finds it disarmed
/// rings; whatever it posted before is looked at when the server next
/// arms the word.
#[inline]
pub(crate) fn server_disarm(polling: &AtomicU32, armed: u32) {
    let _ = polling.compare_exchange(armed, 0, Acquire, Relaxed);
}

/// Server: withdraws the promise; the caller must then look at the
/// connection's posted bits (and pulses, and the slot it watched) once more.
#[inline]
pub(crate) fn server_unpoll(polling: &AtomicU32) {
    polling.store(0, Relaxed);
    fence(SeqCst);
}

/// Server: takes the posted bits of one word (a plain load first: no
/// write to the client's cache line when there is nothing).
#[inline]
pub(crate) fn server_take_bits(posted: &AtomicU64) -> u64 {
    if posted.load(Relaxed) == 0 {
        return 0;
    }
    posted.swap(0, Acquire)
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    #[test]
    fn skipped_ring_is_never_missed() {
        loom::model(|| {
            let posted = Arc::new(AtomicU64::new(0));
            let polling = Arc::new(AtomicU32::new(0));
            server_poll(&polling, 0, None);
            let (p, q) = (posted.clone(), polling.clone());
            let server = thread::spawn(move || {
                server_unpoll(&q);
                server_take_bits(&p)
            });
            let polled = client_post_bit(&posted, 1, &polling);
            let seen = server.join().unwrap();
            // Either the server saw the bit before sleeping, or the client
            // rang (and the bit is still there for the woken server).
            assert!(seen == 1 || (polled == Notify::Ring && posted.load(Acquire) == 1));
        });
    }

    /// A client posting in the slot a promise watches sets no bit: the
    /// server that withdraws the promise still finds the message, by the
    /// slot's state.
    #[test]
    fn watched_slot_is_never_missed() {
        loom::model(|| {
            let posted = Arc::new(AtomicU64::new(0));
            let polling = Arc::new(AtomicU32::new(0));
            let state = Arc::new(AtomicU32::new(0));
            server_poll(&polling, 3, Some(5));
            let (p, q, st) = (posted.clone(), polling.clone(), state.clone());
            let server = thread::spawn(move || {
                server_unpoll(&q);
                // The watched slot counts as if its bit were set.
                server_take_bits(&p) != 0 || st.load(Acquire) == 1
            });
            state.store(1, std::sync::atomic::Ordering::Release);
            fence(SeqCst);
            let rang = match client_watched(&polling, 5) {
                Some(Notify::Promised(cpu)) => {
                    assert_eq!(cpu, 3);
                    false
                }
                Some(n) => unreachable!("the word was never armed: {n:?}"),
                None => client_post_bit(&posted, 1 << 5, &polling) == Notify::Ring,
            };
            let seen = server.join().unwrap();
            assert!(seen || rang, "the message is neither seen nor rung");
        });
    }

    /// A server that arms the word and then finds nothing posted sleeps on
    /// it; a client must then wake it. Two client threads: exactly one
    /// takes the word and wakes it (the other rings or finds a promise-free
    /// word, which the woken server covers: it looks at every posted bit).
    #[test]
    fn armed_sleeper_is_never_missed() {
        loom::model(|| {
            let posted = Arc::new(AtomicU64::new(0));
            let polling = Arc::new(AtomicU32::new(0));
            let (p, q) = (posted.clone(), polling.clone());
            let server = thread::spawn(move || {
                server_arm(&q, None);
                server_armed();
                let seen = server_take_bits(&p);
                if seen != 0 {
                    server_disarm(&q, ASLEEP); // awake: takes the work, sleeps later
                }
                seen
            });
            let (p2, q2) = (posted.clone(), polling.clone());
            let other = thread::spawn(move || client_post_bit(&p2, 2, &q2));
            let first = client_post_bit(&posted, 1, &polling);
            let second = other.join().unwrap();
            let seen = server.join().unwrap();
            let wakes = [first, second].iter().filter(|n| **n == Notify::Wake).count();
            assert!(wakes <= 1, "one client takes the word");
            if seen == 0 {
                assert_eq!(wakes, 1, "the sleeping server is woken");
            }
        });
    }

    /// A server armed watching a slot (the one its withdrawn promise
    /// watched) sleeps unless it found a posted bit. One client thread
    /// posts in that slot (no bit), another posts a bit: if the server
    /// found no bit, one of them took the word and wakes it; exactly one
    /// takes it; and a client that finds the word taken rings.
    #[test]
    fn armed_watching_sleeper_is_never_missed() {
        loom::model(|| {
            let posted = Arc::new(AtomicU64::new(0));
            let polling = Arc::new(AtomicU32::new(0));
            let state = Arc::new(AtomicU32::new(0));
            let (p, q) = (posted.clone(), polling.clone());
            let server = thread::spawn(move || {
                let armed = server_arm(&q, Some(5));
                server_armed();
                let seen = server_take_bits(&p);
                if seen != 0 {
                    server_disarm(&q, armed);
                }
                seen
            });
            let (p2, q2) = (posted.clone(), polling.clone());
            let other = thread::spawn(move || client_post_bit(&p2, 2, &q2));
            state.store(1, std::sync::atomic::Ordering::Release);
            fence(SeqCst);
            let watched = match client_watched(&polling, 5) {
                Some(n) => {
                    assert_eq!(n, Notify::Wake, "nobody promised");
                    n
                }
                None => client_post_bit(&posted, 1 << 5, &polling),
            };
            let second = other.join().unwrap();
            let seen = server.join().unwrap();
            let wakes = [watched, second].iter().filter(|n| **n == Notify::Wake).count();
            assert!(wakes <= 1, "one client takes the word");
            if seen == 0 {
                assert_eq!(wakes, 1, "the sleeping server is woken");
            }
            if wakes == 0 {
                assert_eq!((watched, second), (Notify::Ring, Notify::Ring), "neither found the word armed: both rang");
            }
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_promise_names_its_cpu_and_watched_slot() {
        let polling = AtomicU32::new(0);
        assert_eq!(client_notify(&polling), Notify::Ring);
        for (cpu, watch) in [(0, None), (1, Some(0)), (63, Some(255)), (4095, Some(17))] {
            server_poll(&polling, cpu, watch);
            let p = polling.load(Relaxed);
            assert_eq!((polling_cpu(p), watched_slot(p)), (Some(cpu), watch));
            assert_eq!(client_notify(&polling), Notify::Promised(cpu));
            for slot in [0, 17, 255] {
                let want = (watch == Some(slot)).then_some(Notify::Promised(cpu));
                assert_eq!(client_watched(&polling, slot), want);
            }
        }
        server_arm(&polling, None);
        let p = polling.load(Relaxed);
        assert_eq!((polling_cpu(p), watched_slot(p)), (None, None));
        assert_eq!(client_watched(&polling, 0), None);
        assert_eq!(client_notify(&polling), Notify::Wake, "the first client takes the armed word");
        assert_eq!(client_notify(&polling), Notify::Ring, "the next one rings");
        server_arm(&polling, None);
        server_disarm(&polling, ASLEEP);
        assert_eq!(client_notify(&polling), Notify::Ring);
    }

    #[test]
    fn an_armed_word_may_name_the_slot_it_watches() {
        let polling = AtomicU32::new(0);
        let armed = server_arm(&polling, Some(17));
        assert_eq!((polling_cpu(armed), watched_slot(armed)), (None, None), "no promise while asleep");
        assert_eq!(client_watched(&polling, 16), None, "another slot sets its bit");
        assert_eq!(client_watched(&polling, 17), Some(Notify::Wake), "the watched slot takes the word");
        assert_eq!(polling.load(Relaxed), 0);
        assert_eq!(client_watched(&polling, 17), None, "taken: the next one rings");
        let armed = server_arm(&polling, Some(17));
        assert_eq!(client_notify(&polling), Notify::Wake, "a posted bit takes it too");
        server_disarm(&polling, armed);
        assert_eq!(polling.load(Relaxed), 0);
        let armed = server_arm(&polling, Some(17));
        server_disarm(&polling, armed);
        assert_eq!(client_watched(&polling, 17), None, "disarmed");
    }
}
