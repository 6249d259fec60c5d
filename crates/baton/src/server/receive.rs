//! Receiving: waiting on the doorbells, filling the ready queue, taking
//! the first entry.
//!
//! A receiving thread first looks at the ready queue. If it is empty, it
//! waits in the channel's epoll set, where every connection's doorbell is
//! registered edge-triggered under its scoid. A doorbell means "look at my
//! posted bits and my pulse ring"; the thread moves what it finds into the
//! queue (under the channel lock), then takes the first entry. If more work
//! is left and other receivers are waiting, it wakes one of them.

use super::request::{Received, Request};
use super::{ChanState, ChannelShared, ConnEntry, Held, QueuedMsg, QueuedPulse, WAKE_TOKEN};
use crate::error::{Error, Result};
use crate::proto::queue::{rank_of, Item, Key};
use crate::proto::rcvid::{Rcvid, GEN_MASK};
use crate::proto::slot;
use crate::shm::layout::POSTED_WORDS;
use crate::sys::event::Ready;
use crate::sys::time::Deadline;
use crate::types::{pulse_code, Pulse};
use crate::wait::SlotFutex;
use std::io::IoSliceMut;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::Arc;

/// What a receive accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    Any,
    PulsesOnly,
}

fn destroyed() -> Error {
    Error::new(libc::ESRCH, "the channel was destroyed")
}

fn timed_out() -> Error {
    Error::new(libc::ETIMEDOUT, "nothing arrived before the deadline")
}

/// Outcome of one look at the queue.
enum Took {
    Pulse(Pulse),
    Message { conn: Arc<super::ServerConn>, slot: u32, gen: u32 },
    Nothing,
}

impl ChannelShared {
    /// Receives one message (copied into `parts`) or pulse.
    pub(crate) fn receive(
        self: &Arc<Self>,
        parts: &mut [IoSliceMut<'_>],
        deadline: Deadline,
        want: Want,
    ) -> Result<Received> {
        let mut ready = [Ready { token: 0 }; 16];
        loop {
            let took = {
                let mut st = self.lock();
                if st.destroyed {
                    return Err(destroyed());
                }
                let took = self.take(&mut st, want);
                if matches!(took, Took::Nothing) {
                    // Counted before the lock is released, so whoever queues
                    // work next knows to wake us.
                    st.receivers += 1;
                }
                took
            };
            match took {
                Took::Pulse(p) => return Ok(Received::Pulse(p)),
                Took::Message { conn, slot, gen } => {
                    if let Some(r) = Request::deliver(self.clone(), conn, slot, gen, parts) {
                        return Ok(Received::Message(r));
                    }
                    continue;
                }
                Took::Nothing => {}
            }
            let n = self.epoll.wait(&mut ready, deadline);
            let mut st = self.lock();
            st.receivers -= 1;
            let n = n.unwrap_or(0);
            for r in &ready[..n] {
                if r.token != WAKE_TOKEN {
                    drain(&mut st, r.token as u32);
                }
            }
            if n == 0 && deadline.expired() && !has_work(&st, want) {
                return Err(timed_out());
            }
        }
    }

    /// Takes the first acceptable queue entry, claiming a message's slot.
    fn take(&self, st: &mut ChanState, want: Want) -> Took {
        while let Some((key, item)) = st.queue.pop(want == Want::PulsesOnly) {
            let took = match item {
                Item::Pulse(p) => {
                    if !pulse_wanted(st, key, &p) {
                        continue;
                    }
                    Took::Pulse(p.pulse)
                }
                Item::Message(QueuedMsg { scoid, slot }) => {
                    let Some(e) = st.conns.get_mut(&scoid) else { continue };
                    let sp = &mut e.slots[slot as usize];
                    if sp.queued != Some(key) {
                        continue;
                    }
                    sp.queued = None;
                    if sp.held.is_some() || !slot::server_claim(&SlotFutex(e.conn.seg.slot(slot))) {
                        continue; // withdrawn (send timeout) or inconsistent
                    }
                    sp.gen = (sp.gen + 1) & GEN_MASK;
                    let h = e.conn.seg.slot(slot);
                    sp.held = Some(Held {
                        gen: sp.gen,
                        rank: key.rank(),
                        priority: h.priority.load(Relaxed),
                        unblock: None,
                        unblock_sent: false,
                    });
                    Took::Message { conn: e.conn.clone(), slot, gen: sp.gen }
                }
            };
            if !st.queue.is_empty() && st.receivers > 0 {
                self.wake_receiver();
            }
            return took;
        }
        if want == Want::PulsesOnly && !st.queue.is_empty() && st.receivers > 0 {
            // Messages we may not take: pass the wake-up on to a receiver that can.
            self.wake_receiver();
        }
        Took::Nothing
    }
}

fn has_work(st: &ChanState, want: Want) -> bool {
    match want {
        Want::Any => !st.queue.is_empty(),
        Want::PulsesOnly => st.queue.has_pulses(),
    }
}

/// Whether a pulse taken from the queue is still wanted (its client is
/// still connected; an unblock pulse's request is still unanswered), with
/// the bookkeeping of its leaving.
fn pulse_wanted(st: &mut ChanState, key: Key, p: &QueuedPulse) -> bool {
    match p.client {
        Some(scoid) => {
            let ChanState { queue, conns, .. } = st;
            let Some(e) = conns.get_mut(&scoid) else { return false };
            e.pending_pulses = e.pending_pulses.saturating_sub(1);
            // Pulses may be waiting in the ring because the queue was full.
            drain_pulses(queue, e, scoid);
            true
        }
        None if p.pulse.code == pulse_code::UNBLOCK => {
            let Some(r) = i32::try_from(p.pulse.value).ok().and_then(Rcvid::decode) else { return false };
            let held =
                st.conns.get_mut(&r.scoid).and_then(|e| e.slots.get_mut(r.slot as usize)).and_then(|s| s.held.as_mut());
            match held {
                Some(h) if h.gen == r.gen && h.unblock == Some(key) => {
                    h.unblock = None;
                    true
                }
                _ => false,
            }
        }
        None => true,
    }
}

/// Moves what connection `scoid` has posted into the ready queue.
pub(crate) fn drain(st: &mut ChanState, scoid: u32) {
    let ChanState { queue, conns, .. } = st;
    let Some(e) = conns.get_mut(&scoid) else { return };
    if e.conn.is_dead() {
        return;
    }
    let conn = e.conn.clone();
    let seg = &conn.seg;
    let count = seg.layout().slot_count;
    let words = (count as usize).div_ceil(64).min(POSTED_WORDS);
    for w in 0..words {
        let mut bits = seg.header().client.posted[w].swap(0, Acquire);
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
                slot::POSTED if sp.queued.is_none() && sp.held.is_none() => {
                    let rank = rank_of(h.policy.load(Relaxed), h.priority.load(Relaxed));
                    sp.queued = Some(queue.push_message(rank, QueuedMsg { scoid, slot }));
                }
                _ if slot::unblock_requested(s) => {
                    if let Some(held) = sp.held.as_mut().filter(|h| !h.unblock_sent) {
                        held.unblock_sent = true;
                        let rcvid = Rcvid { scoid, slot, gen: held.gen }.encode();
                        let pulse = Pulse {
                            code: pulse_code::UNBLOCK,
                            value: i64::from(rcvid),
                            scoid,
                            priority: held.priority,
                        };
                        held.unblock = Some(queue.push_pulse(held.rank, QueuedPulse { pulse, client: None }));
                    }
                }
                _ => {}
            }
        }
    }
    drain_pulses(queue, e, scoid);
}

/// Moves pulses from a connection's ring into the queue, up to its limit.
fn drain_pulses(queue: &mut super::Queue, e: &mut ConnEntry, scoid: u32) {
    let seg = &e.conn.seg;
    let cap = seg.layout().pulse_capacity;
    let tail = seg.header().client.pulse_tail.load(Acquire);
    if tail.wrapping_sub(e.pulse_head) > cap {
        // The client's tail is impossible: skip what it claims.
        e.pulse_head = tail;
    }
    while e.pulse_head != tail && e.pending_pulses < cap {
        let p = seg.pulse(e.pulse_head);
        let code = p.code.load(Relaxed);
        let priority = p.priority.load(Relaxed);
        let policy = p.policy.load(Relaxed);
        let value = p.value.load(Relaxed);
        e.pulse_head = e.pulse_head.wrapping_add(1);
        // Clients may only send user codes; system codes would be forgeries.
        let Ok(code) = i8::try_from(code) else { continue };
        if code < pulse_code::MIN_AVAIL {
            continue;
        }
        let pulse = Pulse { code, value, scoid, priority };
        queue.push_pulse(rank_of(policy, priority), QueuedPulse { pulse, client: Some(scoid) });
        e.pending_pulses += 1;
    }
    seg.header().server.pulse_head.store(e.pulse_head, Release);
}
