//! `TimerTimeout`: a one-shot timeout for the calling thread's next
//! message-passing call.
//!
//! The timeout is armed per thread and taken (disarmed) by the thread's
//! next `MsgSend*`, `MsgReceive*` or `MsgReceivePulse`, whichever states
//! it covers, as QNX clears it when the thread next unblocks. A relative
//! time runs from that call (QNX starts the timer when the thread blocks).
#![allow(unsafe_code)]

use crate::abi::{SIGEV_UNBLOCK, TIMEOUT_RECEIVE, TIMEOUT_REPLY, TIMEOUT_SEND};
use crate::ffi::{put, qnx_call, CResult};
use baton_core::{Deadline, Timeout};
use std::cell::Cell;
use std::ffi::c_int;
use std::time::Duration;

/// Linux's `TIMER_ABSTIME` (what programs compiled here pass) and QNX's.
const ABSTIME_LINUX: c_int = 1;
const ABSTIME_QNX: c_int = i32::MIN; // 0x80000000

/// When an armed timeout expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    /// At once: `ntime` NULL or 0.
    Immediate,
    /// This long after the call that takes it starts.
    After(u64),
    /// At this time of `CLOCK_MONOTONIC`.
    Monotonic(u64),
    /// At this time of `CLOCK_REALTIME`.
    Realtime(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Armed {
    flags: c_int,
    when: When,
}

thread_local! {
    static ARMED: Cell<Option<Armed>> = const { Cell::new(None) };
}

fn now(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write; the clock id is one we chose.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl When {
    fn deadline(self) -> Deadline {
        match self {
            When::Immediate => Deadline::IMMEDIATE,
            When::After(0) => Deadline::IMMEDIATE,
            When::After(ns) => Deadline::after(Duration::from_nanos(ns)),
            When::Monotonic(at) => Deadline::from_monotonic_nanos(at.max(1)),
            When::Realtime(at) => match at.checked_sub(now(libc::CLOCK_REALTIME)) {
                Some(left) if left > 0 => Deadline::after(Duration::from_nanos(left)),
                _ => Deadline::IMMEDIATE,
            },
        }
    }
}

/// Takes the armed timeout for a send: which states it covers, and when.
pub(crate) fn take_for_send() -> Timeout {
    match ARMED.with(|a| a.take()) {
        Some(a) if a.flags & (TIMEOUT_SEND | TIMEOUT_REPLY) != 0 => Timeout {
            deadline: a.when.deadline(),
            send: a.flags & TIMEOUT_SEND != 0,
            reply: a.flags & TIMEOUT_REPLY != 0,
        },
        _ => Timeout::NONE,
    }
}

/// Takes the armed timeout for a receive.
pub(crate) fn take_for_receive() -> Deadline {
    match ARMED.with(|a| a.take()) {
        Some(a) if a.flags & TIMEOUT_RECEIVE != 0 => a.when.deadline(),
        _ => Deadline::NEVER,
    }
}

/// Arms (or with no state flags, disarms) the calling thread's timeout;
/// returns the state flags armed before.
unsafe fn timer_timeout(
    id: libc::clockid_t,
    flags: c_int,
    notify: *const libc::sigevent,
    ntime: *const u64,
    otime: *mut u64,
) -> CResult<c_int> {
    let states = TIMEOUT_SEND | TIMEOUT_RECEIVE | TIMEOUT_REPLY;
    let abs = flags & (ABSTIME_LINUX | ABSTIME_QNX) != 0;
    if flags & !(states | ABSTIME_LINUX | ABSTIME_QNX) != 0 {
        return Err(libc::EINVAL); // other states (NANOSLEEP, MUTEX, ...) are not baton's
    }
    if !matches!(id, libc::CLOCK_MONOTONIC | libc::CLOCK_REALTIME) {
        return Err(libc::EINVAL);
    }
    // SAFETY: a non-null `notify` points to a sigevent (caller's contract).
    if !notify.is_null() && unsafe { (*notify).sigev_notify } != SIGEV_UNBLOCK {
        return Err(libc::EINVAL); // only the default, SIGEV_UNBLOCK
    }
    let t = if ntime.is_null() {
        0
    } else {
        // SAFETY: a non-null `ntime` points to a u64 (caller's contract).
        unsafe { ntime.read_unaligned() }
    };
    let when = match (t, abs, id) {
        (0, _, _) => When::Immediate,
        (t, false, _) => When::After(t),
        (t, true, libc::CLOCK_REALTIME) => When::Realtime(t),
        (t, true, _) => When::Monotonic(t),
    };
    let new = (flags & states != 0).then_some(Armed { flags: flags & states, when });
    let old = ARMED.with(|a| a.replace(new));
    let left = match old.map(|a| a.when) {
        Some(When::After(ns)) => ns,
        Some(When::Monotonic(at)) => at.saturating_sub(now(libc::CLOCK_MONOTONIC)),
        Some(When::Realtime(at)) => at.saturating_sub(now(libc::CLOCK_REALTIME)),
        _ => 0,
    };
    // SAFETY: a non-null `otime` points to a u64 (caller's contract).
    unsafe { put(otime, left) };
    Ok(old.map_or(0, |a| a.flags))
}

qnx_call!(
    /// Corresponds to `TimerTimeout`.
    TimerTimeout, TimerTimeout_r, timer_timeout,
    (id: libc::clockid_t, flags: c_int, notify: *const libc::sigevent, ntime: *const u64, otime: *mut u64) -> c_int
);
