//! The channel's ready queue: what waits to be received, in order.
//!
//! Messages and pulses wait in one order: higher rank first, FIFO among
//! equal ranks (a sequence number breaks ties). They are kept in two binary
//! heaps so that a pulse-only receive finds the best pulse without walking
//! past messages; a normal receive compares the two heads. Push and pop are
//! O(log n) and allocate nothing once the heaps have grown to their working
//! size.
//!
//! Entries are never removed from the middle. Whoever pops an entry checks
//! that it is still wanted (the channel keeps, per slot, the key of the
//! entry that stands for it; a withdrawn message, an answered request's
//! unblock pulse or a dead client's pulse no longer matches) and skips it
//! otherwise. Each slot has at most one message entry and each request at
//! most one unblock pulse, and client pulses are capped per connection, so
//! skipped entries are bounded too.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Rank of the pulses that go ahead of everything (disconnect).
pub(crate) const RANK_FIRST: u32 = u32::MAX;
/// Rank of a real-time sender of priority 0 (real-time priorities are
/// 1..=99, so every real-time sender ranks above [`RANK_RT`]).
pub(crate) const RANK_RT: u32 = 2000;
/// Rank of a normal (`SCHED_OTHER`, nice 0) sender; nice `n` ranks at
/// `RANK_NORMAL - n`.
pub(crate) const RANK_NORMAL: u32 = 1000;
/// Rank of `SCHED_IDLE` senders and of claims that make no sense.
pub(crate) const RANK_LAST: u32 = 900;

/// The queue rank of a sender's scheduling attributes: every real-time
/// thread (`SCHED_FIFO`/`SCHED_RR`, priority 1..=99) ahead of every normal
/// one, higher priority first; among normal threads (`SCHED_OTHER`,
/// `SCHED_BATCH`) lower nice first; `SCHED_IDLE` last.
pub(crate) fn rank_of(policy: i32, level: i32) -> u32 {
    match policy {
        libc::SCHED_FIFO | libc::SCHED_RR if (1..=99).contains(&level) => RANK_RT + level as u32,
        libc::SCHED_OTHER | libc::SCHED_BATCH if (-20..=19).contains(&level) => (RANK_NORMAL as i32 - level) as u32,
        _ => RANK_LAST,
    }
}

/// Position of an entry in the queue, and its identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    rank: u32,
    seq: u64,
}

impl Key {
    pub(crate) fn rank(self) -> u32 {
        self.rank
    }
}

/// Served first = greatest: higher rank, then lower sequence number.
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank.cmp(&other.rank).then(other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug)]
struct Entry<T>(Key, T);

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
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
    messages: BinaryHeap<Entry<M>>,
    pulses: BinaryHeap<Entry<P>>,
    seq: u64,
}

impl<M, P> Default for ReadyQueue<M, P> {
    fn default() -> Self {
        ReadyQueue { messages: BinaryHeap::new(), pulses: BinaryHeap::new(), seq: 0 }
    }
}

impl<M, P> ReadyQueue<M, P> {
    fn key(&mut self, rank: u32) -> Key {
        self.seq += 1;
        Key { rank, seq: self.seq }
    }

    pub(crate) fn push_message(&mut self, rank: u32, m: M) -> Key {
        let k = self.key(rank);
        self.messages.push(Entry(k, m));
        k
    }

    pub(crate) fn push_pulse(&mut self, rank: u32, p: P) -> Key {
        let k = self.key(rank);
        self.pulses.push(Entry(k, p));
        k
    }

    /// Takes the first entry; with `pulses_only`, the first pulse.
    pub(crate) fn pop(&mut self, pulses_only: bool) -> Option<(Key, Item<M, P>)> {
        let pulse_first = match (self.pulses.peek(), self.messages.peek()) {
            (Some(_), _) if pulses_only => true,
            (None, _) if pulses_only => return None,
            (Some(p), Some(m)) => p.0 > m.0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        if pulse_first {
            self.pulses.pop().map(|Entry(k, p)| (k, Item::Pulse(p)))
        } else {
            self.messages.pop().map(|Entry(k, m)| (k, Item::Message(m)))
        }
    }

    /// Entries waiting (including ones their owners no longer want).
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

    fn drain(q: &mut ReadyQueue<&'static str, &'static str>, pulses_only: bool) -> Vec<&'static str> {
        std::iter::from_fn(|| q.pop(pulses_only))
            .map(|(_, i)| match i {
                Item::Message(m) | Item::Pulse(m) => m,
            })
            .collect()
    }

    #[test]
    fn priority_then_fifo() {
        let mut q = ReadyQueue::default();
        q.push_message(rank_of(libc::SCHED_FIFO, 10), "rt10");
        q.push_message(RANK_NORMAL, "n1");
        q.push_message(rank_of(libc::SCHED_FIFO, 30), "rt30a");
        q.push_pulse(rank_of(libc::SCHED_RR, 20), "p20");
        q.push_message(rank_of(libc::SCHED_FIFO, 30), "rt30b");
        q.push_message(RANK_NORMAL, "n2");
        q.push_pulse(RANK_FIRST, "disconnect");
        q.push_message(RANK_NORMAL, "n3");
        assert_eq!(drain(&mut q, false), ["disconnect", "rt30a", "rt30b", "p20", "rt10", "n1", "n2", "n3"]);
    }

    #[test]
    fn fifo_holds_for_many_equal_ranks() {
        let mut q: ReadyQueue<u32, u32> = ReadyQueue::default();
        for i in 0..1000 {
            q.push_message(RANK_NORMAL + (i % 3), i);
        }
        let mut last = [None; 3];
        let mut prev_rank = u32::MAX;
        while let Some((k, Item::Message(i))) = q.pop(false) {
            assert!(k.rank() <= prev_rank);
            prev_rank = k.rank();
            let r = (i % 3) as usize;
            assert!(last[r].is_none_or(|l| l < i), "FIFO broken at {i}");
            last[r] = Some(i);
        }
    }

    #[test]
    fn pulses_only_skips_messages() {
        let mut q = ReadyQueue::default();
        q.push_message(RANK_FIRST, "m");
        q.push_pulse(RANK_NORMAL, "p1");
        q.push_pulse(RANK_NORMAL, "p2");
        assert_eq!(drain(&mut q, true), ["p1", "p2"]);
        assert_eq!(q.len(), 1);
        assert!(!q.has_pulses());
        assert_eq!(drain(&mut q, false), ["m"]);
        assert!(q.is_empty());
    }

    #[test]
    fn ranks_follow_policy_then_level() {
        let fifo = |p| rank_of(libc::SCHED_FIFO, p);
        let other = |n| rank_of(libc::SCHED_OTHER, n);
        assert!(fifo(1) > other(-20), "any real-time thread before any normal one");
        assert!(fifo(30) > fifo(20) && rank_of(libc::SCHED_RR, 30) == fifo(30));
        assert!(other(-5) > other(0) && other(0) > other(19), "lower nice first");
        assert_eq!(other(0), RANK_NORMAL);
        assert!(other(19) > rank_of(libc::SCHED_IDLE, 0));
    }

    #[test]
    fn nonsense_claims_rank_last() {
        assert_eq!(rank_of(libc::SCHED_FIFO, 1000), RANK_LAST);
        assert_eq!(rank_of(libc::SCHED_FIFO, 0), RANK_LAST);
        assert_eq!(rank_of(libc::SCHED_OTHER, 99), RANK_LAST);
        assert_eq!(rank_of(-5, -5), RANK_LAST);
    }
}
