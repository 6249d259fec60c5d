//! Moving what a connection posted into the channel's ready queue.
//!
//! A doorbell means "look at this connection": its posted bits (new
//! messages, unblock requests) and its pulse ring. New messages and pulses
//! of one connection enter the queue in the order the client made them
//! (each carries the client's sequence number), so a pulse sent before a
//! message at the same priority is received first.
//!
//! Pulses stay in the client's ring until they are received: the queue
//! holds a copy and the ring position, and the ring's head (which tells the
//! client how much room it has) moves past a position once it has been
//! received. So the ring's capacity is exactly how many of a client's pulses
//! may wait; the next `send_pulse` fails with `EAGAIN`, and no pulse that was
//! accepted is ever dropped, even if its sender exits before it is received.

use super::{ChanState, ConnEntry, QueuedMsg, QueuedPulse};
use crate::proto::queue::{rank_of, Key, RANK_NORMAL};
use crate::proto::rcvid::Rcvid;
use crate::proto::ring::RingCursor;
use crate::proto::{doorbell, slot};
use crate::server::priority;
use crate::shm::layout::{unpack_sched, POSTED_WORDS};
use crate::sys::sched::Sched;
use crate::types::{pulse_code, Pulse};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// New work of one connection, before it enters the queue.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fresh {
    Message { seq: u32, rank: u32, slot: u32 },
    Pulse { seq: u32, rank: u32, pulse: QueuedPulse },
}

impl Fresh {
    fn seq(&self) -> u32 {
        match self {
            Fresh::Message { seq, .. } | Fresh::Pulse { seq, .. } => *seq,
        }
    }
}

/// Moves what connection `scoid` has posted into the ready queue.
pub(crate) fn drain(st: &mut ChanState, scoid: u32) {
    drain_then(st, scoid, |_| {});
}

/// [`drain`], then `after` on the connection's entry (one lookup for both).
fn drain_then(st: &mut ChanState, scoid: u32, after: impl FnOnce(&mut ConnEntry)) {
    let ChanState { queue, conns, fresh, epoch, .. } = st;
    let Some(e) = conns.get_mut(&scoid) else { return };
    if e.conn.is_dead() {
        // Its messages died with it, but its pulses were accepted: they
        // are delivered, also to a receive between the death and the
        // connection's removal (found by a `try_receive` that missed the
        // pulses of a client that had just exited).
        salvage(queue, e, scoid, fresh);
        bump(epoch);
        after(e);
        return;
    }
    fresh.clear();
    let mut changed = look_at_slots(queue, e, scoid, fresh);
    after(e);
    read_pulses(e, scoid, fresh);
    in_client_order(fresh);
    for f in fresh.drain(..) {
        match f {
            Fresh::Message { rank, slot, .. } => {
                e.slots[slot as usize].queued = Some(queue.push_message(rank, QueuedMsg { scoid, slot }));
            }
            Fresh::Pulse { rank, pulse, .. } => {
                queue.push_pulse(rank, pulse);
            }
        }
        changed = true;
    }
    if changed {
        bump(epoch);
    }
}

/// [`super::ChanState::changed`], for code that has borrowed the state's
/// fields apart.
fn bump(epoch: &std::sync::atomic::AtomicU32) {
    epoch.store(epoch.load(Relaxed).wrapping_add(1), Release);
}

/// Sorts one connection's new work by the client's sequence numbers. They
/// wrap, so they are compared by their distance from the batch's first
/// entry (a batch spans far fewer than 2^31 numbers). They come from the
/// client and only order that client's own work.
fn in_client_order(fresh: &mut [Fresh]) {
    if let Some(first) = fresh.first().map(Fresh::seq) {
        fresh.sort_by_key(|f| f.seq().wrapping_sub(first) as i32);
    }
}

/// Collects new messages and queues unblock pulses for the slots whose
/// posted bits are set; returns whether it queued a pulse.
fn look_at_slots(queue: &mut super::Queue, e: &mut ConnEntry, scoid: u32, fresh: &mut Vec<Fresh>) -> bool {
    let mut queued = false;
    let seg = &e.conn.seg;
    let count = seg.layout().slot_count;
    let words = (count as usize).div_ceil(64).min(POSTED_WORDS);
    let watch = e.conn.watch().filter(|&s| s < count);
    for w in 0..words {
        let mut bits = doorbell::server_take_bits(&seg.header().doorbell.posted[w]);
        if let Some(s) = watch.filter(|s| *s as usize / 64 == w) {
            bits |= 1 << (s % 64); // posted without a bit, if at all
        }
        while bits != 0 {
            let slot = (w * 64) as u32 + bits.trailing_zeros();
            bits &= bits - 1;
            if slot >= count {
                continue; // bits a client set past its slots: ignore
            }
            let h = seg.slot(slot);
            let s = h.state.load(Acquire);
            let sp = &mut e.slots[slot as usize];
            match slot::phase(s) {
                slot::POSTED if sp.queued.is_none() && !e.conn.holds.is_held(slot) => {
                    let (policy, level) = unpack_sched(h.sched.load(Relaxed));
                    sp.claim = Sched { policy, level };
                    sp.sched = sp.checked.checked(e.conn.cred.pid, h.tid.load(Relaxed), sp.claim);
                    let rank = rank_of(sp.sched.policy, sp.sched.level);
                    fresh.push(Fresh::Message { seq: h.seq.load(Relaxed), rank, slot });
                }
                _ if slot::unblock_requested(s) => {
                    if let Some((gen, sched)) = e.conn.holds.send_unblock(slot) {
                        let rcvid = Rcvid { scoid, slot, gen }.encode();
                        let pulse = Pulse {
                            code: pulse_code::UNBLOCK,
                            value: i64::from(rcvid),
                            scoid,
                            priority: sched.level,
                            policy: sched.policy,
                        };
                        let rank = rank_of(sched.policy, sched.level);
                        sp.unblock = Some(queue.push_pulse(rank, QueuedPulse { pulse, client: None }));
                        queued = true;
                    }
                }
                _ => {}
            }
        }
    }
    queued
}

/// Collects the pulses written to the ring since the last look.
fn read_pulses(e: &mut ConnEntry, scoid: u32, fresh: &mut Vec<Fresh>) {
    let ConnEntry { conn, ring, .. } = e;
    let seg = &conn.seg;
    let (first, count) = ring.take_new(seg.header().doorbell.pulse_tail.load(Acquire));
    for pos in (0..count).map(|i| first.wrapping_add(i)) {
        let p = seg.pulse(pos);
        let (code, level, policy, value, seq, tid) = (
            p.code.load(Relaxed),
            p.priority.load(Relaxed),
            p.policy.load(Relaxed),
            p.value.load(Relaxed),
            p.seq.load(Relaxed),
            p.tid.load(Relaxed),
        );
        // Clients may only send user codes; system codes would be forgeries.
        match i8::try_from(code) {
            Ok(code) if code >= pulse_code::MIN_AVAIL => {
                let s = priority::checked(conn.cred.pid, tid, Sched { policy, level });
                let pulse = Pulse { code, value, scoid, priority: s.level, policy: s.policy };
                let pulse = QueuedPulse { pulse, client: Some((scoid, pos)) };
                fresh.push(Fresh::Pulse { seq, rank: rank_of(s.policy, s.level), pulse });
            }
            _ => release_pulse(conn, ring, pos),
        }
    }
}

/// Frees ring position `pos` (its pulse was received or refused), telling
/// the client how far the ring is free.
fn release_pulse(conn: &super::ServerConn, ring: &mut RingCursor, pos: u32) {
    conn.seg.header().server.pulse_head.store(ring.release(pos), Release);
}

/// What [`drain_hot`] found.
#[derive(Debug)]
pub(crate) struct Drained {
    /// Something new was queued.
    pub grew: bool,
    /// Every connection of the channel was hot, so every one was looked
    /// at just now: a doorbell can announce nothing that is not queued
    /// (a hot connection's client does not ring, and whatever it posted
    /// before it was promised is taken in with the rest).
    pub everyone: bool,
    /// The message picked instead of queued (see [`drain_hot`]'s `pick`):
    /// its connection, slot and sender's claim.
    pub picked: Option<(std::sync::Arc<super::ServerConn>, u32, Sched)>,
}

/// Takes back the promise to look at the hot connections (see
/// `proto::doorbell`) by looking at them now.
///
/// `pick`: the caller found the queue empty, there is one hot connection,
/// and the caller will take the first entry. If that connection posted
/// one message, in its watched
/// slot, at no more than normal priority (no check against the kernel),
/// and nothing else (no posted bit, no pulse), that message is returned
/// in [`Drained::picked`] instead of going through the queue: it would be
/// the queue's only entry. The caller claims it, or leaves it if the
/// claim fails (the client withdrew it, or another receiver took it).
pub(crate) fn drain_hot(st: &mut ChanState, pick: bool) -> Drained {
    debug_assert!(!pick || (st.hot.len() == 1 && st.queue.is_empty()));
    let before = st.queue.len();
    let mut looked = 0;
    let mut picked = None;
    while let Some(scoid) = st.hot.pop() {
        if let Some(e) = st.conns.get_mut(&scoid) {
            e.conn.promised.store(false, std::sync::atomic::Ordering::Relaxed);
            doorbell::server_unpoll(&e.conn.seg.header().doorbell.polling);
            looked += 1;
            // Looked at after the promise is withdrawn: anything posted
            // since rang or set a bit.
            if let Some((slot, claim)) = lone_message(e).filter(|_| pick) {
                e.conn.set_watch(None);
                picked = Some((e.conn.clone(), slot, claim));
                continue;
            }
            // The watched slot included, one last time.
            drain_then(st, scoid, |e| {
                e.rewatch = e.conn.watch();
                e.conn.set_watch(None);
            });
        }
    }
    Drained { grew: st.queue.len() > before, everyone: looked == st.conns.len(), picked }
}

/// The lone message (see [`drain_hot`]'s `pick`) of the one hot
/// connection, its promise kept: for a receiver that found the queue empty
/// while no other receiver sleeps. The promise then stands while this
/// thread serves the message, as a spinning receiver's does (`fast.rs`):
/// its client keeps not ringing, the answer needs no lock
/// (`Request::forget`), and whoever next receives looks at the connection
/// before sleeping (`drain_hot`).
/// The caller checked what `drain_hot`'s `pick` needs.
pub(crate) fn pick_hot(st: &ChanState) -> Option<(std::sync::Arc<super::ServerConn>, u32, Sched)> {
    let &[scoid] = st.hot.as_slice() else { return None };
    if st.receivers != 0 {
        return None;
    }
    let e = st.conns.get(&scoid)?;
    let (slot, claim) = lone_message(e)?;
    Some((e.conn.clone(), slot, claim))
}

/// The one thing connection `e` posted, if that is a message in its
/// watched slot claiming no more than normal priority: its slot and claim.
fn lone_message(e: &ConnEntry) -> Option<(u32, Sched)> {
    let slot = e.conn.watch().filter(|&s| s < e.conn.seg.layout().slot_count)?;
    if e.conn.is_dead() || e.slots[slot as usize].queued.is_some() {
        return None;
    }
    let h = e.conn.seg.slot(slot);
    if slot::phase(h.state.load(Acquire)) != slot::POSTED || e.conn.holds.is_held(slot) {
        return None;
    }
    // Only after the post is seen (acquire): what the client published
    // before it, a pulse sent ahead of the call, is then seen too. Looked
    // at first, a pulse and a call that both came in between went out of
    // order, the call first (`tests/fast.rs`, in CI).
    if posted_besides_watch(&e.conn, e.ring.read_pos()) {
        return None;
    }
    Some((slot, normal_claim(h)?))
}

/// Whether connection `conn` posted anything besides a message in its
/// watched slot: a posted bit (a message in another slot, an unblock
/// request) or a pulse past ring position `read`. Plain loads of the
/// client's words, nothing written.
pub(super) fn posted_besides_watch(conn: &super::ServerConn, read: u32) -> bool {
    let bell = &conn.seg.header().doorbell;
    let words = (conn.seg.layout().slot_count as usize).div_ceil(64).min(POSTED_WORDS);
    bell.posted[..words].iter().any(|w| w.load(Relaxed) != 0) || bell.pulse_tail.load(Relaxed) != read
}

/// What the message posted in slot `h` claims, if that is no more than
/// normal priority: nothing to check against the kernel (`priority.rs`),
/// no inheritance (`inherit.rs`), so it may skip the queue.
pub(super) fn normal_claim(h: &crate::shm::SlotHeader) -> Option<Sched> {
    let (policy, level) = unpack_sched(h.sched.load(Relaxed));
    (rank_of(policy, level) <= RANK_NORMAL).then_some(Sched { policy, level })
}

/// Reads every pulse still in a departing client's ring into the queue:
/// they were accepted, so they are delivered.
pub(crate) fn salvage_pulses(st: &mut ChanState, scoid: u32) {
    let ChanState { queue, conns, fresh, epoch, .. } = st;
    if let Some(e) = conns.get_mut(&scoid) {
        salvage(queue, e, scoid, fresh);
        bump(epoch);
    }
}

/// [`salvage_pulses`] of the entry `e` (connection `scoid`).
fn salvage(queue: &mut super::Queue, e: &mut ConnEntry, scoid: u32, fresh: &mut Vec<Fresh>) {
    fresh.clear();
    read_pulses(e, scoid, fresh);
    in_client_order(fresh);
    for f in fresh.drain(..) {
        if let Fresh::Pulse { rank, mut pulse, .. } = f {
            pulse.client = None; // nothing to release in a ring that is gone
            queue.push_pulse(rank, pulse);
        }
    }
}

/// Whether a pulse taken from the queue is still wanted (an unblock
/// pulse's request is still unanswered), with the bookkeeping of its
/// leaving (a client pulse frees its ring position).
pub(crate) fn pulse_wanted(st: &mut ChanState, key: Key, p: &QueuedPulse) -> bool {
    match p.client {
        Some((scoid, pos)) => {
            // A client that has gone has left its pulses to us: deliver them.
            if let Some(e) = st.conns.get_mut(&scoid) {
                release_pulse(&e.conn, &mut e.ring, pos);
            }
            true
        }
        None if p.pulse.code == pulse_code::UNBLOCK => {
            let Some(r) = i32::try_from(p.pulse.value).ok().and_then(Rcvid::decode) else { return false };
            let Some(e) = st.conns.get_mut(&r.scoid) else { return false };
            let pending = e.conn.holds.unblock_pending(r.slot, r.gen);
            match e.slots.get_mut(r.slot as usize) {
                Some(sp) if pending && sp.unblock == Some(key) => {
                    sp.unblock = None;
                    true
                }
                _ => false,
            }
        }
        None => true,
    }
}
