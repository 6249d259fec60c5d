//! Futex wait and wake on words in shared memory.
//!
//! The words live in segments mapped by two processes, so the
//! `FUTEX_PRIVATE_FLAG` must never be used. Waits take absolute
//! `CLOCK_MONOTONIC` deadlines (`FUTEX_WAIT_BITSET`).

use super::time::Deadline;
use rustix::io::Errno;
use rustix::thread::futex;
use std::num::NonZeroU32;
use std::sync::atomic::AtomicU32;

/// Why a wait returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Woken, or the word no longer held the expected value, or a signal.
    /// The caller re-reads the word either way.
    Retry,
    /// The deadline passed.
    TimedOut,
}

/// Sleeps while `*word == expected`, until woken or `deadline`.
pub(crate) fn wait(word: &AtomicU32, expected: u32, deadline: Deadline) -> Wait {
    let ts = deadline.timespec();
    if deadline == Deadline::IMMEDIATE {
        return Wait::TimedOut;
    }
    match futex::wait_bitset(word, futex::Flags::empty(), expected, ts.as_ref(), NonZeroU32::MAX) {
        Ok(()) => Wait::Retry,
        Err(Errno::TIMEDOUT) => Wait::TimedOut,
        // EAGAIN: the value changed; EINTR: a signal. Both mean "look again".
        Err(_) => Wait::Retry,
    }
}

/// Wakes up to `n` waiters on `word`.
pub(crate) fn wake(word: &AtomicU32, n: u32) {
    // The only possible errors are EFAULT/EINVAL for a bad address, which the
    // caller's reference rules out.
    let _ = futex::wake(word, futex::Flags::empty(), n);
}
