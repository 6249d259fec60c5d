//! Sleeping on futexes instead of in the epoll set.
//!
//! A receiver with nothing to take that is the only one about to sleep on
//! its channel, on a channel with few connections, sleeps in `FUTEX_WAITV`
//! on every connection's `polling` word, armed (`proto::doorbell`), and on
//! the channel's wake word. A client that finds its word armed wakes the
//! receiver with a futex wake instead of ringing its eventfd: the kernel's
//! futex wake-up path is shorter than an eventfd write plus epoll's
//! callback (docs/DESIGN.md, "Doorbells", has the figures).
//!
//! Arming is a store to each client's doorbell line and a look at what it
//! posted, so it is done only up to [`MAX_ARMED`] connections; with more,
//! or with another receiver already asleep, a receiver sleeps in the epoll
//! set as before, and so it does on a kernel without `futex_waitv` (5.16).
//! Whatever else must wake a receiver (a new connection, a system pulse, a
//! connection gone, the channel's destruction) wakes the futex sleeper
//! through the wake word (`ChannelShared::wake_receiver`).

use super::drain::drain;
use super::{ChanState, ChannelShared, ServerConn};
use crate::proto::doorbell;
use crate::sys::futex::{self, WaitV};
use crate::sys::time::Deadline;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, MutexGuard};

/// Most connections a receiver arms and sleeps on; a channel with more
/// sleeps in its epoll set.
pub(crate) const MAX_ARMED: usize = 16;

/// Set once `futex_waitv` turned out to be missing (before Linux 5.16, or
/// under a tool that does not know it): every receiver uses epoll.
static NO_WAITV: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The connections a sleeping receiver armed, with the value each word
    /// was armed with, kept between sleeps so that sleeping allocates
    /// nothing once it has grown. Holding them keeps their segments mapped
    /// while the kernel waits on their words.
    static ARMED: std::cell::Cell<Vec<(Arc<ServerConn>, u32)>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Disarms the words of the connections in `armed` and lets go of them,
/// keeping the list's room for the next sleep.
fn disarm(armed: &mut Vec<(Arc<ServerConn>, u32)>) {
    for (c, value) in armed.iter() {
        doorbell::server_disarm(&c.seg.header().doorbell.polling, *value);
    }
    armed.clear();
    ARMED.with(|a| a.set(std::mem::take(armed)));
}

impl ChannelShared {
    /// Sleeps on futexes until a client posts, a receiver is wanted, or
    /// `deadline`, if this receiver may (see the module's header): `Err`
    /// gives the lock back untouched (sleep in the epoll set instead).
    /// `Ok`: the lock is held again, and what every connection posted
    /// meanwhile is in the queue (perhaps found before sleeping at all),
    /// but for a message in a slot the receiver watched while it slept,
    /// which is promised again, to be taken as a promise's is
    /// (`drain::pick_hot`).
    pub(super) fn sleep_on_futexes<'a>(
        &'a self,
        mut st: MutexGuard<'a, ChanState>,
        deadline: Deadline,
    ) -> Result<MutexGuard<'a, ChanState>, MutexGuard<'a, ChanState>> {
        if deadline == Deadline::IMMEDIATE
            || st.receivers != 0
            || st.serving != 0
            || st.conns.len() > MAX_ARMED
            || !st.hot.is_empty()
            || NO_WAITV.load(Relaxed)
        {
            return Err(st);
        }
        let mut armed = ARMED.with(|a| a.take());
        armed.clear();
        let mut scoids = [(0u32, None); MAX_ARMED];
        for (e, scoid) in st.conns.values_mut().filter(|e| !e.conn.is_dead()).zip(&mut scoids) {
            // The slot the promise just withdrawn watched: its client is
            // likely to call there next, and wakes us without a bit.
            let watch = e.rewatch.take().filter(|&s| s < e.conn.seg.layout().slot_count);
            let value = doorbell::server_arm(&e.conn.seg.header().doorbell.polling, watch);
            armed.push((e.conn.clone(), value));
            *scoid = (e.conn.scoid, watch);
        }
        let scoids = &scoids[..armed.len()];
        doorbell::server_armed();
        let before = st.queue.len();
        for &(scoid, _) in scoids {
            drain(&mut st, scoid);
        }
        if st.queue.len() == before {
            // Counted as a receiver, so that nobody promises to look at a
            // connection (which would overwrite its armed word) and work
            // queued by others wakes us.
            self.count_sleeper(&mut st, true);
            self.futex_sleeper.store(true, SeqCst);
            let woken = self.wake_word.load(SeqCst);
            drop(st);
            let words = armed.iter().map(|(c, value)| (&c.seg.header().doorbell.polling, *value));
            if futex::waitv((&self.wake_word, woken), words, deadline) == WaitV::Unsupported {
                NO_WAITV.store(true, Relaxed);
            }
            // What the doorbells announce is in the queue once we have
            // drained every connection, below. Read, the clock tells a
            // receiver choosing among hot connections whether to look at
            // the doorbells first (`receive::STALE`); with one connection
            // there is no choosing, and the read is saved (about 20 ns on
            // the development VM, by `docs/measurements/rdtsc-marks.patch`).
            if armed.len() > 1 {
                self.looked_now();
            }
            // Still counted as a receiver, so nobody promises meanwhile:
            // the words can be disarmed before we lock, and the
            // connections let go of outside the lock (one of ours may be
            // the last reference: a connection closing takes other locks).
            disarm(&mut armed);
            st = self.lock();
            self.count_sleeper(&mut st, false);
            self.futex_sleeper.store(false, SeqCst);
        } else {
            disarm(&mut armed); // the channel still holds each of them
        }
        // Awake: clients ring again, and what they posted while the words
        // were armed is looked at now. A watched slot may hold a message
        // posted without a bit: with nobody else asleep, the promise to
        // look at it is made again (the client calls on without ringing,
        // and the message is taken without the queue); otherwise it is
        // looked at with the rest.
        let promise = st.receivers == 0 && !deadline.expired();
        for &(scoid, watch) in scoids {
            let Some(slot) = watch else {
                drain(&mut st, scoid);
                continue;
            };
            let Some(conn) = st.conns.get(&scoid).map(|e| e.conn.clone()) else { continue };
            if !(promise && self.promise(&mut st, &conn, slot)) {
                conn.set_watch(Some(slot));
                drain(&mut st, scoid);
                conn.set_watch(None);
            }
        }
        Ok(st)
    }

    /// Wakes the receiver sleeping on futexes, if there is one.
    pub(crate) fn wake_futex_sleeper(&self) {
        if self.futex_sleeper.load(SeqCst) {
            self.wake_word.fetch_add(1, SeqCst);
            futex::wake_own(&self.wake_word, 1);
        }
    }
}
