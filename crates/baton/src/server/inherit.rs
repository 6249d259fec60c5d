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
//! connection, the channel's last receiver). A real-time client that stays
//! SEND-blocked longer than a short delay waits on it, raising that thread
//! so that low-priority work it is busy with cannot hold the request back.
//! The thread releases the boost word when it takes one of that
//! connection's requests.
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
    /// Slot PI words this thread owns: (connection, slot, priority).
    static OWNED: RefCell<Vec<(Arc<ServerConn>, u32, i32)>> = const { RefCell::new(Vec::new()) };
    /// The thread's own attributes before a real-time pulse raised it.
    static RAISED_FROM: Cell<Option<Sched>> = const { Cell::new(None) };
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
/// real-time priority `level`.
pub(crate) fn claimed(conn: &Arc<ServerConn>, slot: u32, level: i32) {
    sched::inherit(level);
    OWNED.with(|o| o.borrow_mut().push((conn.clone(), slot, level)));
    // The client may be waiting on the boost word: its request is taken,
    // let it move on to the slot's word.
    let boost = &conn.seg.header().server.boost;
    let v = boost.load(Acquire);
    if v & PI_TID_MASK == me() && v & PI_WAITERS != 0 {
        futex::unlock_pi(boost, me());
    }
    designate(boost);
}

/// After taking a real-time request: waits (at most [`AWAIT_WAITER`]) until
/// the client is blocked on the slot's PI word (the kernel marks the word
/// `FUTEX_WAITERS` when it queues a waiter and lends its priority), so this thread carries the
/// client's priority before it does anything on the client's behalf (a
/// call it makes next is then ranked and boosted by the server it calls).
/// A client asleep when the request was taken was moved there by the claim
/// itself; one still running gets there within microseconds.
pub(crate) fn await_waiter(h: &SlotHeader) {
    let until = crate::sys::time::now_ns() + AWAIT_WAITER.as_nanos() as u64;
    while h.pi.load(Acquire) & PI_WAITERS == 0 && crate::sys::time::now_ns() < until {
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

/// The request in `slot` was answered or parked: if this thread owns its
/// PI word, release it (waking a client that waits on it) and stop
/// claiming its priority. Call after the answer is published.
pub(crate) fn release(conn: &Arc<ServerConn>, slot: u32) {
    let found = OWNED.with(|o| {
        let mut o = o.borrow_mut();
        let i = o.iter().position(|(c, s, _)| Arc::ptr_eq(c, conn) && *s == slot)?;
        Some(o.swap_remove(i).2)
    });
    let Some(level) = found else { return };
    sched::disinherit(level);
    futex::unlock_pi(&conn.seg.slot(slot).pi, me());
    designate(&conn.seg.header().server.boost);
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
        for (conn, slot, _) in owned {
            futex::unlock_pi(&conn.seg.slot(slot).pi, me());
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
