//! Timers that deliver pulses: `timer_create` with a `SIGEV_PULSE` event,
//! `timer_settime`, `timer_gettime`, `timer_getoverrun`, `timer_delete`.
//!
//! These are glibc's names, and a program linked with `-lbaton` gets these
//! definitions instead of glibc's for every timer. Only a `SIGEV_PULSE`
//! timer is baton's (a [`Timer`] on the runtime thread); every other timer
//! is glibc's: `timer_create` with any other event (or none) and the calls
//! on a timer id that is not baton's go to the next definition of the
//! name, glibc's, found with `dlsym(RTLD_NEXT, ...)`. The two QNX event
//! types glibc lacks are translated on the way: `SIGEV_SIGNAL_CODE` is
//! `SIGEV_SIGNAL` (Linux queues it with `si_code` `SI_TIMER`), and
//! `SIGEV_SIGNAL_THREAD` is `SIGEV_THREAD_ID` to the calling thread, which
//! is what it means on QNX.
//!
//! The same holds when the program links `libbaton.a`: its executable then
//! defines the names, and `RTLD_NEXT` from it still finds libc's. Only a
//! program linked fully statically (`-static`), where `dlsym` finds
//! nothing, has no glibc timers: its non-pulse timers fail with `ENOSYS`.
//!
//! Timer ids: glibc's are the kernel's timer ids (0 to `INT_MAX`) or, for
//! `SIGEV_THREAD` timers, pointers with the top bit set (negative). Baton's
//! are `BASE + n`, with `BASE` = 2^48: positive and above `INT_MAX`, so
//! never one of glibc's.
#![allow(unsafe_code)]

use crate::abi::{
    event_from_c, CSigevent, SIGEV_PULSE, SIGEV_SIGNAL, SIGEV_SIGNAL_CODE, SIGEV_SIGNAL_THREAD, SIGEV_THREAD_ID,
};
use crate::ffi::{errno, put, set_errno, CResult};
use baton_core::{Clock, Timer, TimerSpec};
use std::collections::HashMap;
use std::ffi::{c_int, c_void, CStr};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// Baton's timer ids: `BASE + n`, `n` below 2^32.
const BASE: u64 = 1 << 48;

/// Linux's `TIMER_ABSTIME` (what programs compiled here pass) and QNX's.
const ABSTIME_LINUX: c_int = 1;
const ABSTIME_QNX: c_int = i32::MIN; // 0x80000000

#[derive(Default)]
struct Timers {
    next: u32,
    map: HashMap<u32, Arc<Timer>>,
}

static TIMERS: LazyLock<Mutex<Timers>> = LazyLock::new(Default::default);

fn timers() -> MutexGuard<'static, Timers> {
    TIMERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Baton's number in a timer id, if it is one of baton's.
fn ours(id: libc::timer_t) -> Option<u32> {
    let v = (id as usize as u64).checked_sub(BASE)?;
    u32::try_from(v).ok()
}

fn timer_id(n: u32) -> libc::timer_t {
    (BASE + u64::from(n)) as usize as libc::timer_t
}

/// Baton's timer `id`; `EINVAL` if there is none (deleted).
fn timer(n: u32) -> CResult<Arc<Timer>> {
    timers().map.get(&n).cloned().ok_or(libc::EINVAL)
}

/// The next definition of `name` after this library's: glibc's.
fn next(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: `name` is NUL-terminated; `RTLD_NEXT` is a valid handle.
    let p = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

macro_rules! glibc {
    ($name:literal, $ty:ty) => {{
        // Function pointers are `Send + Sync`; the address is stored as usize.
        static F: OnceLock<Option<usize>> = OnceLock::new();
        F.get_or_init(|| next($name).map(|p| p as usize)).map(|p| {
            // SAFETY: `p` is glibc's definition of the function named, whose
            // C type is `$ty` (the one declared in <time.h>).
            unsafe { std::mem::transmute::<usize, $ty>(p) }
        })
    }};
}

type CreateFn = unsafe extern "C" fn(libc::clockid_t, *mut libc::sigevent, *mut libc::timer_t) -> c_int;
type SetFn = unsafe extern "C" fn(libc::timer_t, c_int, *const libc::itimerspec, *mut libc::itimerspec) -> c_int;
type GetFn = unsafe extern "C" fn(libc::timer_t, *mut libc::itimerspec) -> c_int;
type IdFn = unsafe extern "C" fn(libc::timer_t) -> c_int;

/// -1 and errno `e`.
fn fail(e: i32) -> c_int {
    set_errno(e);
    -1
}

fn result(r: CResult<c_int>) -> c_int {
    r.unwrap_or_else(fail)
}

fn dur(t: &libc::timespec) -> CResult<Duration> {
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(libc::EINVAL);
    }
    Ok(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
}

fn ts(d: Duration) -> libc::timespec {
    libc::timespec { tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t, tv_nsec: d.subsec_nanos() as _ }
}

fn itimerspec(s: TimerSpec) -> libc::itimerspec {
    libc::itimerspec { it_interval: ts(s.interval), it_value: ts(s.value) }
}

/// A pulse timer for `ev` on `clock`; its id.
fn create_pulse_timer(clock: libc::clockid_t, ev: &CSigevent) -> CResult<libc::timer_t> {
    let clock = match clock {
        libc::CLOCK_MONOTONIC => Clock::Monotonic,
        libc::CLOCK_REALTIME => Clock::Realtime,
        _ => return Err(libc::EINVAL),
    };
    // A registered event (`SIGEV_FLAG_HANDLE`) is not a pulse event here.
    let event = event_from_c(ev)?;
    let t = Timer::from_event(clock, &event).map_err(errno)?;
    let mut ts = timers();
    let free = (0..=ts.map.len()).find_map(|_| {
        let n = ts.next;
        ts.next = ts.next.wrapping_add(1);
        (!ts.map.contains_key(&n)).then_some(n)
    });
    let n = free.ok_or(libc::EAGAIN)?;
    ts.map.insert(n, Arc::new(t));
    Ok(timer_id(n))
}

/// `timer_create(clock, ev, id)`: a pulse timer for a `SIGEV_PULSE` event
/// (`CLOCK_MONOTONIC` or `CLOCK_REALTIME`; `EBADF` if `sigev_coid` is not a
/// coid of this process); glibc's timer for anything else.
///
/// # Safety
///
/// `ev` is NULL or points to a `struct sigevent`; `id` points to a
/// `timer_t` to write.
#[no_mangle]
pub unsafe extern "C" fn timer_create(
    clock: libc::clockid_t,
    ev: *mut libc::sigevent,
    id: *mut libc::timer_t,
) -> c_int {
    let c = if ev.is_null() {
        None
    } else {
        // SAFETY: a non-null `ev` points to a sigevent (contract).
        Some(unsafe { ev.cast::<CSigevent>().read_unaligned() })
    };
    if let Some(c) = c.filter(|c| c.kind() == SIGEV_PULSE) {
        if id.is_null() {
            return fail(libc::EFAULT);
        }
        return match create_pulse_timer(clock, &c) {
            Ok(t) => {
                // SAFETY: `id` is valid for a write (contract).
                unsafe { put(id, t) };
                0
            }
            Err(e) => fail(e),
        };
    }
    let Some(f) = glibc!(c"timer_create", CreateFn) else { return fail(libc::ENOSYS) };
    // QNX's signal events glibc does not know, as what they mean.
    let mut translated = c.unwrap_or_default();
    let ev = match translated.kind() {
        SIGEV_SIGNAL_CODE => {
            translated.notify = SIGEV_SIGNAL;
            std::ptr::addr_of_mut!(translated).cast()
        }
        SIGEV_SIGNAL_THREAD => {
            translated.notify = SIGEV_THREAD_ID;
            // SAFETY: gettid has no preconditions.
            translated.un[0] = unsafe { libc::gettid() };
            std::ptr::addr_of_mut!(translated).cast()
        }
        _ => ev,
    };
    // SAFETY: glibc's timer_create with the caller's arguments (or a copy
    // of its event that lives through the call).
    unsafe { f(clock, ev, id) }
}

/// `timer_settime(id, flags, new, old)`: `TIMER_ABSTIME` (Linux's or
/// QNX's value) for an absolute time on the timer's clock.
///
/// # Safety
///
/// `new` points to a `struct itimerspec`; `old` is NULL or points to one
/// to write.
#[no_mangle]
pub unsafe extern "C" fn timer_settime(
    id: libc::timer_t,
    flags: c_int,
    new: *const libc::itimerspec,
    old: *mut libc::itimerspec,
) -> c_int {
    let Some(n) = ours(id) else {
        let Some(f) = glibc!(c"timer_settime", SetFn) else { return fail(libc::EINVAL) };
        // SAFETY: glibc's timer_settime with the caller's arguments.
        return unsafe { f(id, flags, new, old) };
    };
    if new.is_null() {
        return fail(libc::EFAULT);
    }
    // SAFETY: `new` points to an itimerspec (contract).
    let new = unsafe { new.read_unaligned() };
    result((|| {
        let spec = TimerSpec { value: dur(&new.it_value)?, interval: dur(&new.it_interval)? };
        let t = timer(n)?;
        let prev = if flags & (ABSTIME_LINUX | ABSTIME_QNX) != 0 { t.set_absolute(spec) } else { t.set(spec) };
        let prev = prev.map_err(errno)?;
        // SAFETY: a non-null `old` is valid for a write (contract).
        unsafe { put(old, itimerspec(prev)) };
        Ok(0)
    })())
}

/// `timer_gettime(id, cur)`: time left until the next expiry (zero:
/// disarmed) and the interval.
///
/// # Safety
///
/// `cur` points to a `struct itimerspec` to write.
#[no_mangle]
pub unsafe extern "C" fn timer_gettime(id: libc::timer_t, cur: *mut libc::itimerspec) -> c_int {
    let Some(n) = ours(id) else {
        let Some(f) = glibc!(c"timer_gettime", GetFn) else { return fail(libc::EINVAL) };
        // SAFETY: glibc's timer_gettime with the caller's arguments.
        return unsafe { f(id, cur) };
    };
    if cur.is_null() {
        return fail(libc::EFAULT);
    }
    result(timer(n).and_then(|t| t.get().map_err(errno)).map(|s| {
        // SAFETY: `cur` is valid for a write (contract).
        unsafe { put(cur, itimerspec(s)) };
        0
    }))
}

/// `timer_getoverrun(id)`: expiries that got no pulse of their own since
/// the last call (a pulse stands for one or more expiries; see the Rust
/// `Timer`), at most `INT_MAX`.
///
/// # Safety
///
/// None beyond C's: any id is checked.
#[no_mangle]
pub unsafe extern "C" fn timer_getoverrun(id: libc::timer_t) -> c_int {
    let Some(n) = ours(id) else {
        let Some(f) = glibc!(c"timer_getoverrun", IdFn) else { return fail(libc::EINVAL) };
        // SAFETY: glibc's timer_getoverrun with the caller's argument.
        return unsafe { f(id) };
    };
    result(timer(n).map(|t| t.overruns().min(c_int::MAX as u64) as c_int))
}

/// `timer_delete(id)`: no pulse of the timer is sent once it returns.
///
/// # Safety
///
/// None beyond C's: any id is checked.
#[no_mangle]
pub unsafe extern "C" fn timer_delete(id: libc::timer_t) -> c_int {
    let Some(n) = ours(id) else {
        let Some(f) = glibc!(c"timer_delete", IdFn) else { return fail(libc::EINVAL) };
        // SAFETY: glibc's timer_delete with the caller's argument.
        return unsafe { f(id) };
    };
    let t = timers().map.remove(&n);
    match t {
        // Dropped outside the lock (the drop waits for an expiry in progress).
        Some(t) => {
            drop(t);
            0
        }
        None => fail(libc::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baton_timer_ids_are_never_glibcs() {
        assert_eq!(ours(timer_id(0)), Some(0));
        assert_eq!(ours(timer_id(u32::MAX)), Some(u32::MAX));
        // glibc: kernel ids 0..=INT_MAX, SIGEV_THREAD timers negative.
        for g in [0usize, 1, i32::MAX as usize, (i64::MIN as usize) | 0x1234, usize::MAX] {
            assert_eq!(ours(g as libc::timer_t), None, "{g:#x}");
        }
        assert!(timer_id(0) as usize > i32::MAX as usize && (timer_id(u32::MAX) as isize) > 0);
    }
}
