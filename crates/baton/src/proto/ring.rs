//! The server's side of a client's pulse ring.
//!
//! The client writes pulses at `tail` (free-running `u32`); the server reads
//! them into its queue but frees a position only once that pulse has been
//! received, which may happen out of order (pulses are received by
//! priority). `head` is the oldest position not yet freed; the client may
//! write while `tail - head < capacity`. Whatever the client claims its tail
//! is, the server never reads more than `capacity` positions past `head`.

/// Read and free positions of one connection's pulse ring.
#[derive(Clone, Debug)]
pub(crate) struct RingCursor {
    cap: u32,
    /// Oldest position not yet freed.
    head: u32,
    /// Next position to read.
    read: u32,
    /// Positions freed ahead of `head` (one bit each, indexed modulo `cap`).
    freed: Vec<u64>,
}

impl RingCursor {
    pub(crate) fn new(cap: u32) -> RingCursor {
        RingCursor { cap, head: 0, read: 0, freed: vec![0; (cap as usize).div_ceil(64)] }
    }

    /// The positions written since the last call, given the client's
    /// `tail`: `(first, count)`. They count as read from now on.
    pub(crate) fn take_new(&mut self, tail: u32) -> (u32, u32) {
        let limit = self.head.wrapping_add(self.cap);
        // A tail behind what we read, or beyond the ring, is the client's
        // invention: read no further than the ring allows.
        let end = if tail.wrapping_sub(self.head) <= self.cap { tail } else { limit };
        let count = end.wrapping_sub(self.read);
        if count > self.cap {
            return (self.read, 0);
        }
        let first = self.read;
        self.read = end;
        (first, count)
    }

    /// The next position to read: a client tail different from it means
    /// new pulses (or a client writing nonsense, which `take_new` handles).
    pub(crate) fn read_pos(&self) -> u32 {
        self.read
    }

    fn bit(&self, pos: u32) -> (usize, u64) {
        let i = pos % self.cap;
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    /// Frees a position that was read; returns the (possibly advanced) head.
    pub(crate) fn release(&mut self, pos: u32) -> u32 {
        if pos.wrapping_sub(self.head) >= self.read.wrapping_sub(self.head) {
            return self.head; // not a position we have read and not freed
        }
        let (w, b) = self.bit(pos);
        self.freed[w] |= b;
        while self.head != self.read {
            let (w, b) = self.bit(self.head);
            if self.freed[w] & b == 0 {
                break;
            }
            self.freed[w] &= !b;
            self.head = self.head.wrapping_add(1);
        }
        self.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frees_in_any_order() {
        let mut r = RingCursor::new(4);
        assert_eq!(r.take_new(3), (0, 3));
        assert_eq!(r.release(1), 0);
        assert_eq!(r.release(2), 0);
        assert_eq!(r.release(0), 3);
        assert_eq!(r.take_new(7), (3, 4));
        assert_eq!(r.take_new(7), (7, 0));
        assert_eq!(r.release(3), 4);
    }

    #[test]
    fn never_reads_past_the_ring() {
        let mut r = RingCursor::new(4);
        assert_eq!(r.take_new(1000), (0, 4), "a tail beyond the ring is clamped");
        assert_eq!(r.take_new(2), (4, 0), "a tail behind what was read yields nothing");
        assert_eq!(r.release(9), 0, "a position never read is ignored");
        assert_eq!(r.release(0), 1);
        assert_eq!(r.release(0), 1, "freeing twice does nothing");
    }

    #[test]
    fn wraps_around_u32() {
        let mut r = RingCursor { cap: 4, head: u32::MAX - 1, read: u32::MAX - 1, freed: vec![0] };
        assert_eq!(r.take_new(2), (u32::MAX - 1, 4));
        for p in [u32::MAX - 1, u32::MAX, 0, 1] {
            r.release(p);
        }
        assert_eq!(r.release(1), 2);
    }
}
