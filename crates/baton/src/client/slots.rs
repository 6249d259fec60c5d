//! Which slot each thread uses on each connection.
//!
//! A thread takes a slot on a connection at its first call and keeps it
//! (its cache lines stay warm, its futex stays the same); the slot goes back
//! when the thread exits. A slot abandoned after a reply timeout stays with
//! the server until it answers; the thread takes another.

use super::conn::ClientConn;
use crate::error::{Error, Result};
use std::cell::RefCell;
use std::sync::{Arc, Weak};

struct SlotCache(Vec<(Weak<ClientConn>, u32)>);

impl Drop for SlotCache {
    fn drop(&mut self) {
        for (conn, slot) in self.0.drain(..) {
            if let Some(c) = conn.upgrade() {
                c.free_slot(slot);
            }
        }
    }
}

thread_local! {
    static SLOTS: RefCell<SlotCache> = const { RefCell::new(SlotCache(Vec::new())) };
}

/// The calling thread's slot on `conn`, taking one if needed.
pub(crate) fn acquire(conn: &Arc<ClientConn>) -> Result<u32> {
    SLOTS.with(|c| {
        let mut c = c.borrow_mut();
        let me = Arc::as_ptr(conn);
        if let Some(&(_, s)) = c.0.iter().find(|(w, _)| w.as_ptr() == me) {
            return Ok(s);
        }
        let s = conn.alloc_slot().ok_or_else(|| {
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
    SLOTS.with(|c| {
        let me = Arc::as_ptr(conn);
        c.borrow_mut().0.retain(|(w, s)| !(w.as_ptr() == me && *s == slot));
    });
    conn.free_slot(slot);
}
