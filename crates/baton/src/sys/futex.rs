//! Futex wait and wake on words in shared memory.
//!
//! The words live in segments mapped by two processes, so they are waited
//! on and woken as shared futexes. The one exception is a word in this
//! process's own memory that only its threads wait on and wake (a
//! channel's wake word): waited on in [`waitv`] as its `own` word and
//! woken with [`wake_own`], it is a private futex, which spares the
//! kernel a page lookup each time. Waits take absolute `CLOCK_MONOTONIC`
//! deadlines (`FUTEX_WAIT_BITSET`).

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

/// Most words one [`waitv`] waits on (the kernel's limit).
pub(crate) const WAITV_MAX: usize = 128;

/// How a [`waitv`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitV {
    /// Woken, a word no longer held its value, or a signal: look again.
    Retry,
    /// The deadline passed.
    TimedOut,
    /// The kernel has no `futex_waitv` (before Linux 5.16).
    Unsupported,
}

/// Wakes up to `n` waiters on `word`, a word of this process's own that
/// its threads wait on only as the `own` word of [`waitv`] (a private
/// futex: woken as a shared one, they would not hear it).
pub(crate) fn wake_own(word: &AtomicU32, n: u32) {
    let _ = futex::wake(word, futex::Flags::PRIVATE, n);
}

/// Sleeps while `own` and each of `words` hold their expected values
/// (`FUTEX_WAITV`), until one is woken or `deadline` (absolute,
/// `CLOCK_MONOTONIC`). `own` is a word of this process's own, woken with
/// [`wake_own`] (`FUTEX2_PRIVATE`: a private futex, no page lookup);
/// `words` may live in shared memory. Waits on at most `WAITV_MAX - 1`
/// of them.
pub(crate) fn waitv<'a>(
    own: (&AtomicU32, u32),
    words: impl IntoIterator<Item = (&'a AtomicU32, u32)>,
    deadline: Deadline,
) -> WaitV {
    let mut v = [futex::Wait::new(); WAITV_MAX];
    let all = std::iter::once((own, futex::WaitFlags::PRIVATE))
        .chain(words.into_iter().map(|w| (w, futex::WaitFlags::empty())));
    let mut n = 0;
    for (w, ((word, expected), scope)) in v.iter_mut().zip(all) {
        w.val = u64::from(expected);
        w.uaddr = futex::WaitPtr::new(word.as_ptr().cast());
        w.flags = futex::WaitFlags::SIZE_U32 | scope;
        n += 1;
    }
    let ts = deadline.timespec();
    match futex::waitv(&v[..n], futex::WaitvFlags::empty(), ts.as_ref(), rustix::time::ClockId::Monotonic) {
        Ok(_) => WaitV::Retry,
        Err(Errno::TIMEDOUT) => WaitV::TimedOut,
        Err(Errno::NOSYS) => WaitV::Unsupported,
        // EAGAIN: a word changed; EINTR: a signal; EFAULT: a word's
        // mapping went away (its connection closed). All: look again.
        Err(_) => WaitV::Retry,
    }
}

/// Bits of a priority-inheritance futex word besides the owner's thread id.
pub(crate) const PI_WAITERS: u32 = 0x8000_0000;
pub(crate) const PI_TID_MASK: u32 = 0x3fff_ffff;

/// How a priority-inheritance lock attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PiLock {
    /// We own the lock now (its owner released it, or died).
    Acquired,
    /// The deadline passed.
    TimedOut,
    /// The owner named in the word does not exist (`ESRCH`), or the word
    /// names us (`EDEADLK`): nobody to wait for.
    NoOwner,
}

/// Blocks on the PI futex `word` until it is ours or `deadline`
/// (`FUTEX_LOCK_PI2`: absolute `CLOCK_MONOTONIC`). While we wait, the
/// kernel runs the owner at our priority if that is higher.
pub(crate) fn lock_pi(word: &AtomicU32, deadline: Deadline) -> PiLock {
    let ts = deadline.timespec();
    loop {
        match futex::lock_pi2(word, futex::Flags::empty(), ts.as_ref()) {
            Ok(()) => return PiLock::Acquired,
            Err(Errno::TIMEDOUT) => return PiLock::TimedOut,
            Err(Errno::INTR) | Err(Errno::AGAIN) => {
                if deadline.expired() {
                    return PiLock::TimedOut;
                }
            }
            Err(_) => return PiLock::NoOwner,
        }
    }
}

/// Releases the PI futex `word` held by thread `me`: without a system call
/// if nobody waits, else `FUTEX_UNLOCK_PI`, which hands it to the
/// highest-priority waiter and ends the boost it gave us.
pub(crate) fn unlock_pi(word: &AtomicU32, me: u32) {
    use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
    let now = word.load(Relaxed);
    if now & PI_TID_MASK != me {
        return;
    }
    if now & PI_WAITERS == 0 && word.compare_exchange(now, 0, Release, Acquire).is_ok() {
        return;
    }
    // EPERM (not ours after all) or EINVAL: nothing more we can do.
    let _ = futex::unlock_pi(word, futex::Flags::empty());
}

/// How a [`wait_requeue_pi`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Requeue {
    /// We were moved to the PI word and now own it.
    Owner,
    /// Woken some other way, timed out, or the word changed: look again.
    Retry,
    /// The kernel refused the wait (sleep the plain way).
    Unsupported,
}

/// Sleeps while `*word == expected` (`FUTEX_WAIT_REQUEUE_PI`), until
/// `deadline`, or until moved onto `pi` by [`cmp_requeue_pi`] and given it.
pub(crate) fn wait_requeue_pi(word: &AtomicU32, expected: u32, pi: &AtomicU32, deadline: Deadline) -> Requeue {
    if deadline == Deadline::IMMEDIATE {
        return Requeue::Retry;
    }
    let ts = deadline.timespec();
    match futex::wait_requeue_pi(word, futex::Flags::empty(), expected, ts.as_ref(), pi) {
        Ok(()) => Requeue::Owner,
        Err(Errno::TIMEDOUT) | Err(Errno::AGAIN) | Err(Errno::INTR) => Requeue::Retry,
        Err(_) => Requeue::Unsupported,
    }
}

/// Moves one waiter of `word` (in [`wait_requeue_pi`]) onto `pi`, provided
/// `*word == now`: it then waits there, lending its priority to `pi`'s
/// owner, or owns `pi` at once and wakes if nobody does. A `pi` word naming
/// a thread that no longer exists is cleared first.
pub(crate) fn cmp_requeue_pi(word: &AtomicU32, now: u32, pi: &AtomicU32) {
    use std::sync::atomic::Ordering::{Acquire, Relaxed};
    for _ in 0..2 {
        match futex::cmp_requeue_pi(word, futex::Flags::empty(), 0, pi, now) {
            Err(Errno::SRCH) => {
                let owner = pi.load(Relaxed);
                let _ = pi.compare_exchange(owner, 0, Acquire, Relaxed);
            }
            _ => return,
        }
    }
}
