//! Thread and process identity, liveness and scheduling attributes.
#![allow(unsafe_code)]

use rustix::fd::AsFd;
use rustix::io::Errno;

thread_local! {
    static TID: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// The calling thread's kernel thread id (asked of the kernel once per thread).
#[inline]
pub(crate) fn tid() -> i32 {
    TID.with(|t| {
        if t.get() == 0 {
            t.set(rustix::thread::gettid().as_raw_nonzero().get());
        }
        t.get()
    })
}

/// The CPU the calling thread runs on now (it may move at any time).
/// glibc answers from the kernel's restartable-sequence area or the vDSO,
/// without a system call.
#[inline]
pub(crate) fn cpu() -> u32 {
    // SAFETY: `sched_getcpu` takes no arguments and touches no memory of ours.
    let c = unsafe { libc::sched_getcpu() };
    c.max(0) as u32
}

/// Whether the machine has more than one CPU online (asked once): only
/// then can spinning for a peer pay. Not this process's affinity: a thread
/// pinned to one CPU may still wait for a peer on another.
pub(crate) fn many_cpus() -> bool {
    static MANY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // SAFETY: `sysconf` only reads a system setting.
    *MANY.get_or_init(|| unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) } > 1)
}

/// The calling process's pid.
pub(crate) fn pid() -> i32 {
    rustix::process::getpid().as_raw_nonzero().get()
}

pub(crate) fn uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

pub(crate) fn gid() -> u32 {
    rustix::process::getegid().as_raw()
}

/// Whether the process behind `pidfd` is still running (not exited).
pub(crate) fn pidfd_alive(pidfd: impl AsFd) -> bool {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut pfd = [PollFd::new(&pidfd, PollFlags::IN)];
    // A pidfd becomes readable when the process exits.
    !matches!(poll(&mut pfd, Some(&rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 })), Ok(n) if n > 0)
}

/// Whether a process with this pid exists (it may be a zombie).
pub(crate) fn pid_exists(pid: i32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    !matches!(rustix::process::test_kill_process(pid), Err(Errno::SRCH))
}

/// Runs `f` when the process exits normally (`atexit`).
pub(crate) fn at_exit(f: extern "C" fn()) {
    // SAFETY: `f` is a plain `extern "C"` function taking no arguments; the
    // caller's functions do not unwind (they ignore every error).
    unsafe {
        libc::atexit(f);
    }
}

/// Raises the soft limit on open descriptors to the hard limit (as the Go
/// runtime does): a server holds three descriptors per connected client,
/// so the traditional soft limit of 1024 would cap it near 340 clients.
pub(crate) fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    let hard = lim.maximum.unwrap_or(1 << 20).min(1 << 20);
    if lim.current.is_some_and(|soft| soft < hard) {
        let _ = setrlimit(Resource::Nofile, Rlimit { current: Some(hard), maximum: lim.maximum });
    }
}

/// A pidfd for thread `tid` of this process (`PIDFD_THREAD`, Linux 6.9):
/// it becomes readable when that thread exits.
pub(crate) fn thread_pidfd(tid: i32) -> Option<rustix::fd::OwnedFd> {
    use rustix::fd::FromRawFd;
    const PIDFD_THREAD: libc::c_long = libc::O_EXCL as libc::c_long;
    // SAFETY: `pidfd_open` takes a pid and flags and returns a new
    // descriptor or -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, tid as libc::c_long, PIDFD_THREAD) };
    // SAFETY: a non-negative result is a new descriptor nothing else owns.
    (fd >= 0).then(|| unsafe { rustix::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Thread ids of this process, from `/proc/self/task`.
pub(crate) fn thread_ids() -> Vec<i32> {
    std::fs::read_dir("/proc/self/task")
        .map(|rd| rd.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

static FORKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn in_forked_child() {
    FORKED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Arranges for [`forked`] to become true in a child created by `fork`
/// after this call (once per process).
pub(crate) fn watch_forks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `in_forked_child` only stores to an atomic, which is
        // async-signal-safe as `pthread_atfork` child handlers must be.
        unsafe {
            libc::pthread_atfork(None, None, Some(in_forked_child));
        }
    });
}

/// Whether this process is a child forked from one that had started using
/// baton: its channels, connections and runtime thread did not survive.
#[inline]
pub(crate) fn forked() -> bool {
    FORKED.load(std::sync::atomic::Ordering::Relaxed)
}
