//! The board the processes of a throughput, scale or memory run share: a
//! small memfd mapping of counters and phase words, each on its own cache
//! line. A process that changes a word wakes every process waiting on it
//! (a shared futex), so nobody polls.

use crate::bench::peers::shm::Shared;
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::thread::futex;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The words on the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Word {
    /// Where the run is; each section numbers its own phases.
    Phase,
    /// Calls the clients have started (scale: queued senders and the probe).
    Sent,
    /// Calls the clients have finished (memory: one per held connection).
    Done,
    /// The server's CLOCK_MONOTONIC time, ns, when it started serving the
    /// queue (scale), low and high halves.
    GoLow,
    GoHigh,
}

/// A mapping of the board.
#[derive(Debug)]
pub struct Board(Shared);

impl Board {
    const LINE: usize = 64;
    const WORDS: usize = 5;
    const LEN: usize = Board::LINE * Board::WORDS;

    /// A new board (all zero), its descriptor for the peers and the
    /// parent's mapping.
    pub fn create() -> io::Result<(OwnedFd, Board)> {
        let (fd, shared) = Shared::create(Board::LEN)?;
        Ok((fd, Board(shared)))
    }

    /// Maps the board a peer was handed.
    pub fn map(fd: &OwnedFd) -> io::Result<Board> {
        Ok(Board(Shared::map(fd, Board::LEN)?))
    }

    fn at(&self, w: Word) -> &AtomicU32 {
        self.0.word(Board::LINE * w as usize)
    }

    pub fn get(&self, w: Word) -> u32 {
        self.at(w).load(Ordering::Acquire)
    }

    /// Sets `w` to `v` and wakes its waiters.
    pub fn set(&self, w: Word, v: u32) {
        self.at(w).store(v, Ordering::Release);
        self.wake(w);
    }

    /// Adds one to `w` and wakes its waiters.
    pub fn add(&self, w: Word) {
        self.at(w).fetch_add(1, Ordering::AcqRel);
        self.wake(w);
    }

    fn wake(&self, w: Word) {
        let _ = futex::wake(self.at(w), futex::Flags::empty(), i32::MAX as u32);
    }

    /// A time in ns, in two words (`GoLow`, `GoHigh`).
    pub fn set_time(&self, ns: u64) {
        self.at(Word::GoHigh).store((ns >> 32) as u32, Ordering::Relaxed);
        self.set(Word::GoLow, ns as u32);
    }

    pub fn time(&self) -> u64 {
        (u64::from(self.get(Word::GoHigh)) << 32) | u64::from(self.get(Word::GoLow))
    }

    /// Sleeps until `w` is at least `v` (a peer's wait: the bench parent
    /// kills a peer that waits too long).
    pub fn wait_for(&self, w: Word, v: u32) -> io::Result<()> {
        while self.wait_step(w, v, None)? {}
        Ok(())
    }

    /// Sleeps until `w` is at least `v`, at most `slice`; whether it is
    /// still below.
    pub fn wait_step(&self, w: Word, v: u32, slice: Option<Duration>) -> io::Result<bool> {
        let seen = self.get(w);
        if seen >= v {
            return Ok(false);
        }
        let timeout =
            slice.map(|d| rustix::time::Timespec { tv_sec: d.as_secs() as i64, tv_nsec: i64::from(d.subsec_nanos()) });
        match futex::wait(self.at(w), futex::Flags::empty(), seen, timeout.as_ref()) {
            Ok(()) | Err(Errno::AGAIN | Errno::INTR | Errno::TIMEDOUT) => Ok(self.get(w) < v),
            Err(e) => Err(e.into()),
        }
    }

    /// The parent's wait: until `w` is at least `v`, by `deadline`, while
    /// `alive` says every peer is still running.
    pub fn await_count(
        &self,
        w: Word,
        v: u32,
        deadline: Instant,
        mut alive: impl FnMut() -> io::Result<()>,
    ) -> io::Result<()> {
        while self.wait_step(w, v, Some(Duration::from_millis(10)))? {
            alive()?;
            if Instant::now() > deadline {
                return Err(io::Error::other(format!("{w:?} stayed at {} of {v} until the deadline", self.get(w))));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_times_and_waits() {
        let (fd, parent) = Board::create().unwrap();
        let peer = Board::map(&fd).unwrap();
        peer.add(Word::Sent);
        peer.add(Word::Sent);
        assert_eq!(parent.get(Word::Sent), 2);
        parent.wait_for(Word::Sent, 2).unwrap();
        assert!(parent.wait_step(Word::Sent, 3, Some(Duration::from_millis(1))).unwrap());
        peer.set_time(0x1234_5678_9abc);
        assert_eq!(parent.time(), 0x1234_5678_9abc);
        let late = Instant::now() - Duration::from_secs(1);
        assert!(parent.await_count(Word::Done, 1, late, || Ok(())).is_err());
    }
}
