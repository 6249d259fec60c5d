//! Queued signals with a value, to this process or one of its threads
//! (`rt_sigqueueinfo`, `rt_tgsigqueueinfo`): how a delivered
//! `SIGEV_SIGNAL`/`SIGEV_SIGNAL_THREAD` event happens.
#![allow(unsafe_code)]

use rustix::io::Errno;

/// `SI_QUEUE`: the code `sigqueue` gives, which handlers see in `si_code`.
const SI_QUEUE: i32 = -1;

/// A `siginfo_t` as `sigqueue` fills it (the kernel reads 128 bytes).
#[repr(C)]
struct QueueInfo {
    signo: i32,
    errno: i32,
    code: i32,
    _pad: i32,
    pid: i32,
    uid: u32,
    value: u64,
    _rest: [u64; 12],
}

fn info(signo: i32, value: i64) -> QueueInfo {
    QueueInfo {
        signo,
        errno: 0,
        code: SI_QUEUE,
        _pad: 0,
        pid: super::thread::pid(),
        uid: super::thread::uid(),
        value: value as u64,
        _rest: [0; 12],
    }
}

fn check(rc: libc::c_long) -> Result<(), Errno> {
    if rc < 0 {
        return Err(Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)));
    }
    Ok(())
}

/// Queues `signo` with `value` to this process.
pub(crate) fn queue_to_process(signo: i32, value: i64) -> Result<(), Errno> {
    let i = info(signo, value);
    // SAFETY: `i` is a valid 128-byte `siginfo_t` image that lives across
    // the call; the kernel only reads it.
    check(unsafe { libc::syscall(libc::SYS_rt_sigqueueinfo, super::thread::pid(), signo, &i as *const QueueInfo) })
}

/// Queues `signo` with `value` to thread `tid` of this process (`ESRCH` if
/// it is not one of ours).
pub(crate) fn queue_to_thread(tid: i32, signo: i32, value: i64) -> Result<(), Errno> {
    let i = info(signo, value);
    // SAFETY: as above.
    check(unsafe {
        libc::syscall(libc::SYS_rt_tgsigqueueinfo, super::thread::pid(), tid, signo, &i as *const QueueInfo)
    })
}

const _: () = assert!(std::mem::size_of::<QueueInfo>() == 128);
