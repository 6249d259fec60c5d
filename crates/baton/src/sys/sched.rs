//! Scheduling attributes: reading a thread's (its own or a peer's), setting
//! the caller's, and reading the priority the kernel is running a thread at
//! right now (which includes priority-inheritance boosts).
#![allow(unsafe_code)]

use rustix::io::Errno;

/// A thread's scheduling class and level, as baton orders by them.
///
/// `level` is the real-time priority (1..=99) for `SCHED_FIFO`/`SCHED_RR`
/// and the nice value (-20..=19) for `SCHED_OTHER`/`SCHED_BATCH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sched {
    pub policy: i32,
    pub level: i32,
}

impl Default for Sched {
    fn default() -> Self {
        Sched::NORMAL
    }
}

impl Sched {
    pub(crate) const NORMAL: Sched = Sched { policy: libc::SCHED_OTHER, level: 0 };

    pub(crate) fn is_realtime(self) -> bool {
        (self.policy == libc::SCHED_FIFO || self.policy == libc::SCHED_RR) && (1..=99).contains(&self.level)
    }
}

fn errno() -> Errno {
    Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
}

/// The scheduling attributes of thread `tid` (0: the caller).
pub(crate) fn get(tid: i32) -> Result<Sched, Errno> {
    // SAFETY: `sched_attr` is plain data for which all-zero is valid.
    let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::sched_attr>() as libc::c_uint;
    // SAFETY: `attr` is valid for writes of `size` bytes, which is what we
    // tell the kernel; it writes at most that much.
    let rc = unsafe { libc::syscall(libc::SYS_sched_getattr, tid, &mut attr as *mut libc::sched_attr, size, 0) };
    if rc < 0 {
        return Err(errno());
    }
    let policy = attr.sched_policy as i32;
    let level = if policy == libc::SCHED_FIFO || policy == libc::SCHED_RR {
        attr.sched_priority as i32
    } else {
        attr.sched_nice
    };
    Ok(Sched { policy, level })
}

/// Sets the calling thread's policy and level (real-time priority, or nice
/// value for `SCHED_OTHER`/`SCHED_BATCH`).
pub(crate) fn set_own(s: Sched) -> Result<(), Errno> {
    set(0, s)
}

/// Sets thread `tid`'s policy and level (0: the caller), as [`set_own`].
pub(crate) fn set(tid: i32, s: Sched) -> Result<(), Errno> {
    // SAFETY: as in `get`.
    let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
    attr.size = std::mem::size_of::<libc::sched_attr>() as u32;
    attr.sched_policy = s.policy as u32;
    if s.is_realtime() {
        attr.sched_priority = s.level as u32;
    } else {
        attr.sched_nice = s.level;
    }
    // SAFETY: `attr` is a valid, initialised `sched_attr` of the size given
    // in its `size` field; tid 0 is the calling thread.
    let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, tid, &attr as *const libc::sched_attr, 0) };
    if rc < 0 {
        return Err(errno());
    }
    Ok(())
}

/// Whether thread `tid` belongs to process `pid` (`tgkill` with signal 0;
/// `EPERM` means it exists but we may not signal it).
pub(crate) fn thread_of(pid: i32, tid: i32) -> bool {
    if tid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; the call only checks that the thread
    // exists in that thread group and whether we may signal it.
    let rc = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The real-time priority thread `tid` of `pid` runs at right now,
/// including a boost inherited through a PI futex (`/proc/.../stat`, field
/// 18: `-1 - rt_priority` for real-time, `20 + nice` otherwise); `None` if
/// it runs at a normal priority.
pub(crate) fn effective_rt_priority(pid: i32, tid: i32) -> Option<i32> {
    rt_priority_in(&format!("/proc/{pid}/task/{tid}/stat"))
}

/// [`effective_rt_priority`] of the calling thread.
pub(crate) fn own_effective_rt_priority() -> Option<i32> {
    rt_priority_in("/proc/thread-self/stat")
}

fn rt_priority_in(path: &str) -> Option<i32> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may contain spaces; fields resume after ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let prio: i32 = rest.split(' ').nth(18 - 3)?.parse().ok()?;
    (prio < 0).then_some(-1 - prio)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_attributes_and_thread_membership() {
        let me = get(0).unwrap();
        assert!(me.policy >= 0);
        let pid = std::process::id() as i32;
        let tid = rustix::thread::gettid().as_raw_nonzero().get();
        assert!(thread_of(pid, tid));
        assert!(!thread_of(pid, i32::MAX - 7));
        assert!(!thread_of(pid, 0));
        if !me.is_realtime() {
            assert_eq!(effective_rt_priority(pid, tid), None);
        }
    }
}
