//! Priority inheritance, the server's side.
//!
//! When a server thread takes a request from a real-time client (on a
//! channel without `FIXED_PRIORITY`), it names itself in the slot's PI word
//! before the client can see the request taken. The client, REPLY-blocked,
//! waits in `FUTEX_LOCK_PI2` on that word, so the kernel's rt_mutex runs
//! this thread at the client's priority until it releases the word, which
//! it does right after publishing the answer. The thread also claims the
//! client's priority for calls it makes meanwhile, so a chain of servers
//! inherits transitively.
//!
//! The boost follows the thread that took the request, as QNX's does:
//! - it ends when that thread answers, parks the request, or next
//!   receives (a thread back in receive is not working for anyone);
//! - a request answered by another thread releases its client within the
//!   client's next look at its state (it looks after 100 µs, then at
//!   doubling intervals up to 2 ms); the boost stays with the taker until
//!   that thread next receives.
//!
//! The send-time boost: each connection's boost word names the server
//! thread that last took a real-time request from it (or, for a new
//! connection, the channel's last receiver). A real-time client waits on
//! it at once, unless its post woke a server thread asleep in receive (then
//! only once it has stayed SEND-blocked longer than a short delay),
//! raising that thread so that low-priority work it is busy with cannot
//! hold the request back. The thread that takes the request leaves such a
//! client waiting there (it lends its priority as on the slot's word) and
//! hands it the word with the answer; the client gives it back naming a
//! server thread again (`wait.rs`).
//!
//! A real-time pulse raises the receiving thread to the pulse's priority
//! until it next receives, if the process may raise itself
//! (`CAP_SYS_NICE` or `RLIMIT_RTPRIO`); without that, pulses are only
//! ordered by priority.

use super::ServerConn;
use crate::proto::queue::rank_of;
use crate::sched;
use crate::shm::SlotHeader;
use crate::sys::futex::{self, PI_TID_MASK, PI_WAITERS};
use crate::sys::sched::{self as sys_sched, Sched};
use crate::sys::thread;
use std::cell::{Cell, RefCell};
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::Arc;

thread_local! {
    /// Slot PI words this thread owns.
    static OWNED: RefCell<Vec<Owned>> = const { RefCell::new(Vec::new()) };
    /// The thread's own attributes before a real-time pulse raised it.
    static RAISED_FROM: Cell<Option<Sched>> = const { Cell::new(None) };
}

/// A real-time request this thread took and has not answered or parked.
pub(crate) struct Owned {
    conn: Arc<ServerConn>,
    slot: u32,
    /// The client's priority.
    level: i32,
    /// The client was on its way to wait on the boost word, which named
    /// this thread, when the request was taken (see [`answering`]).
    boosting: bool,
}

fn me() -> u32 {
    thread::tid() as u32
}

/// Before the claim: names this thread the owner of the slot's PI word, so
/// a client that sees its request taken finds someone to wait on.
pub(crate) fn before_claim(h: &SlotHeader) {
    h.pi.store(me(), Release);
}

/// The claim failed (the client withdrew): take the name back.
pub(crate) fn claim_failed(h: &SlotHeader) {
    let _ = h.pi.compare_exchange(me(), 0, AcqRel, Relaxed);
}

/// The claim succeeded: the thread now works on behalf of a client at
/// real-time priority `level`; `wake_on_claim`: the client had asked to be
/// woken at the claim, as it does on its way to wait on the boost word.
pub(crate) fn claimed(conn: &Arc<ServerConn>, slot: u32, level: i32, wake_on_claim: bool) {
    sched::inherit(level);
    // A client waiting on the boost word stays there: it lends this thread
    // its priority as the slot's word would, until the answer releases both.
    let boost = &conn.seg.header().server.boost;
    let boosting = wake_on_claim && boost.load(Acquire) & PI_TID_MASK == me();
    designate(boost);
    OWNED.with(|o| o.borrow_mut().push(Owned { conn: conn.clone(), slot, level, boosting }));
}

/// Just before the answer to request `slot` is published: takes this
/// thread's record of it, if it is a real-time request it owns, for
/// [`answered`] to finish with after the answer. If its client may be on
/// its way to wait on the boost word, which names this thread (it asked to
/// be woken at the claim, and the word named us then), and nobody waits
/// there yet, frees the word. A client that looked at its state before the
/// claim and blocks on the word only after the answer then takes it at
/// once, instead of sleeping until its slice ends (the slot's PI word is
/// freed for the same reason); it names the thread in the word again after
/// its call (`wait.rs`), which comes after this. A client already waiting
/// is handed the word after the answer ([`answered`]).
#[inline]
pub(crate) fn answering(conn: &Arc<ServerConn>, slot: u32) -> Option<Owned> {
    let owned = take_owned(conn, slot)?;
    if owned.boosting {
        let _ = conn.seg.header().server.boost.compare_exchange(me(), 0, AcqRel, Relaxed);
    }
    Some(owned)
}

/// Hands the boost word on to the client waiting on it, if it names this
/// thread and someone waits: after the answer to a request of its
/// connection (the client may have waited there all along), or when the
/// thread lets the request go. The client names a server thread in the
/// word again as it gives it back (`wait.rs`).
fn release_boost(boost: &AtomicU32) {
    let v = boost.load(Acquire);
    if v & PI_TID_MASK == me() && v & PI_WAITERS != 0 {
        futex::unlock_pi(boost, me());
    }
}

/// After taking a real-time request: waits (at most [`AWAIT_WAITER`]) until
/// the client is blocked on the slot's PI word, or on the connection's
/// boost word naming this thread (the kernel marks a word `FUTEX_WAITERS`
/// when it queues a waiter and lends its priority), so this thread carries
/// the client's priority before it does anything on the client's behalf (a
/// call it makes next is then ranked and boosted by the server it calls).
/// A client asleep when the request was taken was moved there by the claim
/// itself, or waits on the boost word already; one still running gets
/// there within microseconds.
pub(crate) fn await_waiter(conn: &ServerConn, slot: u32) {
    let h = conn.seg.slot(slot);
    let until = crate::sys::time::now_ns() + AWAIT_WAITER.as_nanos() as u64;
    let boost = &conn.seg.header().server.boost;
    let lent = || {
        let b = boost.load(Acquire);
        h.pi.load(Acquire) & PI_WAITERS != 0 || (b & PI_TID_MASK == me() && b & PI_WAITERS != 0)
    };
    while !lent() && crate::sys::time::now_ns() < until {
        if crate::proto::slot::phase(h.state.load(Relaxed)) != crate::proto::slot::RECEIVED {
            return; // answered, abandoned or failed meanwhile
        }
        std::hint::spin_loop();
    }
}

/// How long [`await_waiter`] waits for a client to block at most.
const AWAIT_WAITER: std::time::Duration = std::time::Duration::from_micros(50);

/// Names this thread in a boost word that names nobody.
pub(crate) fn designate(boost: &AtomicU32) {
    let _ = boost.compare_exchange(0, me(), AcqRel, Relaxed);
}

/// This thread's record of request `slot`, taken out of [`OWNED`], if
/// it owns it.
#[inline]
fn take_owned(conn: &Arc<ServerConn>, slot: u32) -> Option<Owned> {
    OWNED.with(|o| {
        let mut o = o.borrow_mut();
        // Nearly always empty: only real-time requests are owned.
        if o.is_empty() {
            return None;
        }
        let i = o.iter().position(|w| Arc::ptr_eq(&w.conn, conn) && w.slot == slot)?;
        Some(o.swap_remove(i))
    })
}

/// The request in `slot` was parked or let go: if this thread owns its PI
/// word, release it (waking a client that waits on it) and stop claiming
/// its priority.
pub(crate) fn release(conn: &Arc<ServerConn>, slot: u32) {
    answered(take_owned(conn, slot));
}

/// After the answer to a request [`answering`] took the record of: releases
/// its PI word (waking a client that waits on it), hands the boost word to
/// a client waiting there, and stops claiming the client's priority.
#[inline]
pub(crate) fn answered(owned: Option<Owned>) {
    if let Some(owned) = owned {
        finish(owned);
    }
}

/// [`answered`]'s work, for a real-time request: out of the common path.
#[cold]
#[inline(never)]
fn finish(owned: Owned) {
    sched::disinherit(owned.level);
    futex::unlock_pi(&owned.conn.seg.slot(owned.slot).pi, me());
    let boost = &owned.conn.seg.header().server.boost;
    release_boost(boost);
    // Not after freeing the word for a client on its way there
    // ([`answering`]): that client names us again itself.
    if !owned.boosting {
        designate(boost);
    }
}

/// The thread enters receive: it works for nobody now. Releases every PI
/// word it still owns (requests handed to other threads) and undoes a
/// pulse's raise.
pub(crate) fn entering_receive() {
    // Each looked at before anything is written: nearly always there is
    // nothing to undo.
    let owned = OWNED.with(|o| (!o.borrow().is_empty()).then(|| std::mem::take(&mut *o.borrow_mut())));
    if let Some(owned) = owned {
        sched::disinherit_all();
        for w in owned {
            futex::unlock_pi(&w.conn.seg.slot(w.slot).pi, me());
            release_boost(&w.conn.seg.header().server.boost);
        }
    }
    if let Some(own) = RAISED_FROM.with(|r| r.get().inspect(|_| r.set(None))) {
        let _ = sys_sched::set_own(own);
    }
}

/// A real-time pulse was received: run at its priority until the next
/// receive, if it is higher than ours and we are allowed to.
pub(crate) fn pulse_taken(policy: i32, level: i32) {
    let pulse = Sched { policy, level };
    if !pulse.is_realtime() {
        return;
    }
    let Ok(own) = sys_sched::get(0) else { return };
    if rank_of(pulse.policy, pulse.level) <= rank_of(own.policy, own.level) {
        return;
    }
    if sys_sched::set_own(Sched { policy: libc::SCHED_FIFO, level }).is_ok() {
        RAISED_FROM.with(|r| {
            if r.get().is_none() {
                r.set(Some(own));
            }
        });
    }
}
