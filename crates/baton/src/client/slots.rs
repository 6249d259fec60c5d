//! Which slot each thread uses on each connection.
//!
//! A thread takes a slot on a connection at its first call and keeps it
//! (its cache lines stay warm, its futex stays the same); the slot goes back
//! when the thread exits. A slot abandoned after a reply timeout stays with
//! the server until it answers; the thread takes another.
//!
//! A thread that exits in the middle of a call (killed by `SYS_exit`,
//! cancelled, `pthread_exit` from a signal handler) cannot give its slot
//! back itself: at its first call the runtime starts watching it (a thread
//! pidfd), and releases its slots when it is gone
//! (`ClientConn::thread_gone`).

use super::conn::ClientConn;
use crate::error::{Error, Result};
use std::cell::{Cell, RefCell};
use std::sync::{Arc, Weak};

/// The thread's slots, and whether the runtime watches it for its exit.
struct SlotCache(Vec<(Weak<ClientConn>, u32)>, bool);

impl Drop for SlotCache {
    fn drop(&mut self) {
        LAST.set((std::ptr::null(), 0));
        for (conn, slot) in self.0.drain(..) {
            if let Some(c) = conn.upgrade() {
                c.thread_exiting(slot);
            }
        }
    }
}

thread_local! {
    static SLOTS: RefCell<SlotCache> = const { RefCell::new(SlotCache(Vec::new(), false)) };
    /// The connection (its address) and slot of the thread's last call,
    /// an entry of `SLOTS`: found without the `RefCell` and the search.
    /// The `Weak` that `SLOTS` keeps keeps the address from being reused
    /// while the entry stands; whatever removes entries resets this.
    static LAST: Cell<(*const ClientConn, u32)> = const { Cell::new((std::ptr::null(), 0)) };
}

/// The calling thread's slot on `conn`, taking one if needed.
#[inline]
pub(crate) fn acquire(conn: &Arc<ClientConn>) -> Result<u32> {
    let (last, s) = LAST.get();
    if last == Arc::as_ptr(conn) {
        debug_assert_eq!(conn.owner(s), crate::sys::thread::tid(), "a cached slot not ours");
        return Ok(s);
    }
    let s = acquire_slow(conn)?;
    LAST.set((Arc::as_ptr(conn), s));
    Ok(s)
}

/// [`acquire`] for another connection than the last call's.
fn acquire_slow(conn: &Arc<ClientConn>) -> Result<u32> {
    // The search below may drop entries (of closed connections).
    LAST.set((std::ptr::null(), 0));
    SLOTS.with(|c| {
        let mut c = c.borrow_mut();
        let me = Arc::as_ptr(conn);
        if let Some(&(_, s)) = c.0.iter().find(|(w, _)| w.as_ptr() == me) {
            return Ok(s);
        }
        let tid = crate::sys::thread::tid();
        if !c.1 {
            c.1 = true;
            crate::runtime::Runtime::get().watch_thread(tid);
        }
        let s = conn.alloc_slot(tid).ok_or_else(|| {
            Error::new(libc::EAGAIN, "every slot of this connection is in use (too many threads calling at once)")
                .with_detail(format!("{} slots", conn.seg.layout().slot_count))
        })?;
        c.0.retain(|(w, _)| w.strong_count() > 0);
        c.0.push((Arc::downgrade(conn), s));
        Ok(s)
    })
}

/// Forgets the thread's slot on `conn` (after it was abandoned to the
/// server) so the next call takes a fresh one.
pub(crate) fn abandon(conn: &Arc<ClientConn>, slot: u32) {
    LAST.set((std::ptr::null(), 0));
    SLOTS.with(|c| {
        let me = Arc::as_ptr(conn);
        c.borrow_mut().0.retain(|(w, s)| !(w.as_ptr() == me && *s == slot));
    });
    conn.free_slot(slot);
}
