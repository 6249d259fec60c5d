//! The board the processes of a load run share, a small memfd mapping: the
//! stop word the bench parent sets to end the flood, and one call counter
//! per flooder (each on its own cache line, written by that flooder only),
//! which the real-time client reads when it starts and stops measuring.

use super::FLOODERS;
use crate::bench::peers::shm::Shared;
use rustix::fd::OwnedFd;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

/// Calls each flooder has made, as its counter reads (it wraps).
pub type Counts = [u32; FLOODERS];

/// A mapping of the board.
#[derive(Debug)]
pub struct Board(Shared);

impl Board {
    const LINE: usize = 64;
    const STOP_AT: usize = 0;
    const LEN: usize = Board::LINE * (1 + FLOODERS);

    /// A new board (all zero: not stopped, nothing counted), its
    /// descriptor for the peers and the parent's mapping.
    pub fn create() -> io::Result<(OwnedFd, Board)> {
        let (fd, shared) = Shared::create(Board::LEN)?;
        Ok((fd, Board(shared)))
    }

    /// Maps the board a peer was handed.
    pub fn map(fd: &OwnedFd) -> io::Result<Board> {
        Ok(Board(Shared::map(fd, Board::LEN)?))
    }

    /// Tells the flooders to stop after their current call.
    pub fn stop(&self) {
        self.0.word(Board::STOP_AT).store(1, Ordering::Release);
    }

    pub fn stopped(&self) -> bool {
        self.0.word(Board::STOP_AT).load(Ordering::Acquire) != 0
    }

    /// Flooder `i` has made `calls` calls.
    pub fn count(&self, i: usize, calls: u32) {
        self.counter(i).store(calls, Ordering::Relaxed);
    }

    /// Every flooder's counter now.
    pub fn counts(&self) -> Counts {
        std::array::from_fn(|i| self.counter(i).load(Ordering::Relaxed))
    }

    /// Calls all flooders made since `before`.
    pub fn calls_since(&self, before: &Counts) -> u64 {
        self.counts().iter().zip(before).map(|(now, then)| u64::from(now.wrapping_sub(*then))).sum()
    }

    fn counter(&self, i: usize) -> &AtomicU32 {
        assert!(i < FLOODERS, "flooder {i} has no counter");
        self.0.word(Board::LINE * (1 + i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_stop() {
        let (fd, parent) = Board::create().unwrap();
        let peer = Board::map(&fd).unwrap();
        let before = parent.counts();
        peer.count(0, 5);
        peer.count(FLOODERS - 1, 7);
        assert_eq!(parent.calls_since(&before), 12);
        let before = parent.counts();
        peer.count(0, 6);
        assert_eq!(parent.calls_since(&before), 1);
        assert!(!peer.stopped());
        parent.stop();
        assert!(peer.stopped());
    }
}
