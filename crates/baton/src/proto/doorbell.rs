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

use crate::sync::{fence, AtomicU32, AtomicU64};
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};

/// Client: publishes `bit` in `posted`; returns the `polling` word it then
/// saw: 0 means it must ring, anything else is the promise of a server
/// thread that will look (see [`server_poll`]).
#[inline]
pub(crate) fn client_post_bit(posted: &AtomicU64, bit: u64, polling: &AtomicU32) -> u32 {
    posted.fetch_or(bit, SeqCst);
    client_polling(polling)
}

/// Client: after publishing work (a posted bit or a pulse), the `polling`
/// word: 0 if it must ring.
#[inline]
pub(crate) fn client_polling(polling: &AtomicU32) -> u32 {
    fence(SeqCst);
    polling.load(Relaxed)
}

/// Server: promises to look at the connection before sleeping. The word
/// holds the promising thread's CPU plus one (never 0), which tells a
/// client whether spinning for the answer can pay: only if that CPU is not
/// its own. The CPU is a hint (the thread may move); the promise is not.
#[inline]
pub(crate) fn server_poll(polling: &AtomicU32, cpu: u32) {
    polling.store(cpu.wrapping_add(1).max(1), Relaxed);
}

/// The CPU a promise names (see [`server_poll`]), if any.
#[inline]
pub(crate) fn polling_cpu(polling: u32) -> Option<u32> {
    polling.checked_sub(1)
}

/// Server: withdraws the promise; the caller must then look at the
/// connection's posted bits (and pulses) once more.
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
            server_poll(&polling, 0);
            let (p, q) = (posted.clone(), polling.clone());
            let server = thread::spawn(move || {
                server_unpoll(&q);
                server_take_bits(&p)
            });
            let polled = client_post_bit(&posted, 1, &polling);
            let seen = server.join().unwrap();
            // Either the server saw the bit before sleeping, or the client
            // rang (and the bit is still there for the woken server).
            assert!(seen == 1 || (polled == 0 && posted.load(Acquire) == 1));
        });
    }
}
