//! The spin-mode fast path: taking the watched slot's message without the
//! channel lock.
//!
//! A receiver that spins watches the slots its promises name (`receive.rs`,
//! `proto::doorbell`). When one of them turns `POSTED`, the general path
//! takes the lock, drains the connection into the ready queue (posted bits,
//! pulse ring, the claim's check, a queue push), then pops the queue's first
//! entry, claims it and records the hold, all under the lock. When nothing
//! else waits, all of that decides nothing: the message is the only work
//! there is. The fast path checks that without the lock and then takes the
//! message straight from the slot.
//!
//! Nothing else waits when, at one moment after the message was seen:
//! - the queue is still empty: the spin began with it empty (the receive
//!   found nothing to take, under the lock) and the channel's `epoch`,
//!   bumped under the lock by everything that queues work (drains of other
//!   receivers, system pulses, a departing client's pulses, unblock pulses)
//!   and by the channel's destruction, has not moved since;
//! - no watched connection has posted anything else: no posted bit (new
//!   messages of other slots, unblock requests), no new pulse, no other
//!   watched slot posted;
//! - no connection joined the hot list, and the doorbells (the other
//!   connections, which ring) were read less than `STALE` ago: the same
//!   window the general path allows a hot connection's work (docs/DESIGN.md,
//!   "Wait modes");
//! - the message claims no more than normal priority, which needs no check
//!   against the kernel (`priority.rs`) and no inheritance (`inherit.rs`).
//!
//! Anything else (and a lost race for the hold or the claim) falls back to
//! the general path, which then finds the message (the promise still
//! stands and the watched slot is drained as if its bit were set). The hold
//! is taken before the claim (`hold.rs`), so a receiver that drained the
//! slot meanwhile skips its queue entry or wins; the claim's compare-and-
//! swap decides against the client's withdrawal and the channel's
//! destruction (`ServerConn::fail_all`) as on the general path.

use super::drain::{normal_claim, posted_besides_watch};
use super::receive::Watched;
use super::{ChannelShared, ServerConn};
use crate::proto::slot;
use crate::sys::sched::Sched;
use crate::wait::SlotFutex;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::Arc;

/// A message taken by the fast path: its connection, slot, hold generation
/// and sender.
pub(super) struct Taken {
    pub conn: Arc<ServerConn>,
    pub slot: u32,
    pub gen: u32,
    pub sched: Sched,
}

/// What the spinner saw when the spin began (under the lock, the queue
/// empty).
#[derive(Clone, Copy, Debug)]
pub(super) struct Calm {
    pub epoch: u32,
    pub joins: u32,
}

impl ChannelShared {
    /// What the spin begins from (see [`Calm`]); read under the lock.
    pub(super) fn calm(&self) -> Calm {
        Calm { epoch: self.epoch.load(Acquire), joins: self.hot_joins.load(Relaxed) }
    }

    /// The spinner saw watched connection `watched[k]` post: takes its
    /// watched slot's message if it is the only work there is (see the
    /// module docs). `seen`: the spinner's last clock reading.
    /// The connection is moved out of `watched` (which the spinner empties
    /// next anyway), not cloned: one atomic increment and decrement less
    /// between the post and the answer.
    pub(super) fn take_fast(&self, watched: &mut Vec<Watched>, k: usize, calm: Calm, seen: u64) -> Option<Taken> {
        // Others asleep: this thread must give up its promises as it
        // leaves with work (`leave_promises`), which takes the lock.
        if self.sleepers.load(Relaxed) != 0 {
            return None;
        }
        let (conn, _, watch) = &watched[k];
        let slot = (*watch)?;
        let h = conn.seg.slot(slot);
        if slot::phase(h.state.load(Acquire)) != slot::POSTED || conn.is_dead() {
            return None;
        }
        let claim = normal_claim(h)?;
        let alone = watched.iter().enumerate().all(|(i, (c, read, w))| {
            !posted_besides_watch(c, *read)
                && (i == k || !w.is_some_and(|s| slot::phase(c.seg.slot(s).state.load(Relaxed)) == slot::POSTED))
        });
        if !alone
            || self.stale(seen)
            || self.epoch.load(Acquire) != calm.epoch
            || self.hot_joins.load(Relaxed) != calm.joins
        {
            return None;
        }
        // The message's lines come while the claim takes the state's.
        conn.seg.prefetch_message(slot, h.inline_len.load(Relaxed) as usize);
        let gen = conn.holds.take(slot, claim)?;
        if !slot::server_claim(&SlotFutex(h)) {
            conn.holds.undo(slot, gen);
            return None;
        }
        let conn = watched.swap_remove(k).0;
        Some(Taken { conn, slot, gen, sched: claim })
    }
}
