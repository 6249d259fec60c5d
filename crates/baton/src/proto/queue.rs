//! The channel's ready queue: what waits to be received, in order.
//!
//! Messages and pulses wait in one order: higher rank first, FIFO among
//! equal ranks (a sequence number breaks ties). They are kept in two ordered
//! maps so that a pulse-only receive finds the best pulse in O(log n) without
//! walking past messages; a normal receive compares the two heads. Every
//! operation is O(log n) in the number of waiting items, and any entry can
//! be removed by its key (a withdrawn message, an answered request's unblock
//! pulse, a dead client's work).

use std::collections::BTreeMap;

/// Rank of the pulses that go ahead of everything (disconnect).
pub(crate) const RANK_FIRST: u32 = u32::MAX;
/// Rank of a normal (`SCHED_OTHER`) sender.
pub(crate) const RANK_NORMAL: u32 = 1000;

/// The queue rank of a sender from its claimed scheduling attributes:
/// every real-time thread (`SCHED_FIFO`/`SCHED_RR`, priority 1..=99) ahead of
/// every normal one, higher priority first.
pub(crate) fn rank_of(policy: i32, priority: i32) -> u32 {
    let realtime = policy == libc::SCHED_FIFO || policy == libc::SCHED_RR;
    if realtime && (1..=99).contains(&priority) {
        RANK_NORMAL + 1 + priority as u32
    } else {
        RANK_NORMAL
    }
}

/// Position of an entry in the queue; also its handle for removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key {
    /// `u32::MAX - rank`, so the map's first entry is the highest rank.
    inv_rank: u32,
    seq: u64,
}

impl Key {
    pub(crate) fn rank(self) -> u32 {
        u32::MAX - self.inv_rank
    }
}

/// An entry taken from the queue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Item<M, P> {
    Message(M),
    Pulse(P),
}

/// Messages of type `M` and pulses of type `P` in priority order.
#[derive(Debug)]
pub(crate) struct ReadyQueue<M, P> {
    messages: BTreeMap<Key, M>,
    pulses: BTreeMap<Key, P>,
    seq: u64,
}

impl<M, P> Default for ReadyQueue<M, P> {
    fn default() -> Self {
        ReadyQueue { messages: BTreeMap::new(), pulses: BTreeMap::new(), seq: 0 }
    }
}

impl<M, P> ReadyQueue<M, P> {
    fn key(&mut self, rank: u32) -> Key {
        self.seq += 1;
        Key { inv_rank: u32::MAX - rank, seq: self.seq }
    }

    pub(crate) fn push_message(&mut self, rank: u32, m: M) -> Key {
        let k = self.key(rank);
        self.messages.insert(k, m);
        k
    }

    pub(crate) fn push_pulse(&mut self, rank: u32, p: P) -> Key {
        let k = self.key(rank);
        self.pulses.insert(k, p);
        k
    }

    pub(crate) fn remove_message(&mut self, k: Key) -> Option<M> {
        self.messages.remove(&k)
    }

    pub(crate) fn remove_pulse(&mut self, k: Key) -> Option<P> {
        self.pulses.remove(&k)
    }

    /// Takes the first entry; with `pulses_only`, the first pulse.
    pub(crate) fn pop(&mut self, pulses_only: bool) -> Option<(Key, Item<M, P>)> {
        let pulse_first = match (self.pulses.first_key_value(), self.messages.first_key_value()) {
            (Some(_), _) if pulses_only => true,
            (_, _) if pulses_only => return None,
            (Some((p, _)), Some((m, _))) => p < m,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        if pulse_first {
            self.pulses.pop_first().map(|(k, p)| (k, Item::Pulse(p)))
        } else {
            self.messages.pop_first().map(|(k, m)| (k, Item::Message(m)))
        }
    }

    /// Drops every pulse for which `keep` is false.
    pub(crate) fn retain_pulses(&mut self, keep: impl FnMut(&Key, &mut P) -> bool) {
        self.pulses.retain(keep);
    }

    pub(crate) fn len(&self) -> usize {
        self.messages.len() + self.pulses.len()
    }

    pub(crate) fn has_pulses(&self) -> bool {
        !self.pulses.is_empty()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_then_fifo() {
        let mut q: ReadyQueue<&str, &str> = ReadyQueue::default();
        q.push_message(rank_of(libc::SCHED_FIFO, 10), "rt10");
        q.push_message(RANK_NORMAL, "n1");
        q.push_message(rank_of(libc::SCHED_FIFO, 30), "rt30a");
        q.push_pulse(rank_of(libc::SCHED_RR, 20), "p20");
        q.push_message(rank_of(libc::SCHED_FIFO, 30), "rt30b");
        q.push_message(RANK_NORMAL, "n2");
        q.push_pulse(RANK_FIRST, "disconnect");
        let order: Vec<_> = std::iter::from_fn(|| q.pop(false))
            .map(|(_, i)| match i {
                Item::Message(m) | Item::Pulse(m) => m,
            })
            .collect();
        assert_eq!(order, ["disconnect", "rt30a", "rt30b", "p20", "rt10", "n1", "n2"]);
    }

    #[test]
    fn pulses_only_skips_messages_and_removal_works() {
        let mut q: ReadyQueue<u32, u32> = ReadyQueue::default();
        let m = q.push_message(RANK_FIRST, 1);
        q.push_pulse(RANK_NORMAL, 2);
        let p = q.push_pulse(RANK_NORMAL, 3);
        assert_eq!(q.pop(true), Some((Key { inv_rank: u32::MAX - RANK_NORMAL, seq: 2 }, Item::Pulse(2))));
        assert_eq!(q.remove_pulse(p), Some(3));
        assert_eq!(q.pop(true), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.remove_message(m), Some(1));
        assert!(q.is_empty());
    }

    #[test]
    fn bogus_priorities_rank_as_normal() {
        assert_eq!(rank_of(libc::SCHED_FIFO, 1000), RANK_NORMAL);
        assert_eq!(rank_of(libc::SCHED_OTHER, 99), RANK_NORMAL);
        assert_eq!(rank_of(-5, -5), RANK_NORMAL);
        assert!(rank_of(libc::SCHED_FIFO, 1) > RANK_NORMAL);
    }
}
