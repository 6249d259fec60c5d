//! Connections: `ConnectAttach`, `ConnectDetach`, `ConnectClientInfo`.
//!
//! Connection ids come from two spaces, as on QNX. An ordinary coid is the
//! number of a descriptor the connection holds open (the one baton keeps
//! for it, or, for an index above 0, a descriptor at or above the index
//! reserved for it), so it is never another open descriptor's number. A
//! side-channel coid (`_NTO_SIDE_CHANNEL`) is at or above
//! `_NTO_SIDE_CHANNEL + 0x10000`, clear of the scoids servers see (which
//! carry `_NTO_SIDE_CHANNEL` and are below that), so that
//! `ConnectDetach(scoid)` after a disconnect pulse is told apart.
#![allow(unsafe_code)]

use crate::abi::{
    scoid_from_c, CClientInfo, CCredInfo, COF_ACCEPTED, COF_NOSHARE, COF_REG_EVENTS, ENOREMOTE, SIDE_CHANNEL,
};
use crate::ffi::{errno, put, qnx_call, CResult};
use crate::table::{self, Coid};
use baton_core::{client_credentials, ConnectBuilder, Connection};
use std::ffi::{c_int, c_uint};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A descriptor numbered at least `index`, to reserve that number.
fn reserve_fd(index: c_uint) -> CResult<OwnedFd> {
    let min = c_int::try_from(index).map_err(|_| libc::EINVAL)?;
    let null = std::fs::File::open("/dev/null").map_err(|e| e.raw_os_error().unwrap_or(libc::EMFILE))?;
    // SAFETY: duplicates a descriptor we own; the result, if any, is a new
    // descriptor we then own.
    let fd = unsafe { libc::fcntl(null.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL));
    }
    // SAFETY: `fd` was just returned by fcntl and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Connects to channel `chid` of process `pid` (0: this one) with the
/// builder's options; the coid is numbered as `index` says.
fn attach(
    b: ConnectBuilder,
    index: c_uint,
    open: impl FnOnce(ConnectBuilder) -> baton_core::Result<Connection>,
) -> CResult<c_int> {
    let side = index & SIDE_CHANNEL as c_uint != 0;
    let (b, reserved) = if side {
        (b.id(table::alloc_side_coid()?), None)
    } else if index > 0 {
        let fd = reserve_fd(index)?;
        (b.id(fd.as_raw_fd()), Some(fd))
    } else {
        (b, None)
    };
    let conn = open(b).map_err(errno)?;
    Ok(table::add_coid(Coid { conn, _reserved: reserved }))
}

unsafe fn connect_attach(nd: u32, pid: libc::pid_t, chid: c_int, index: c_uint, flags: c_int) -> CResult<c_int> {
    if nd != 0 {
        return Err(ENOREMOTE);
    }
    if flags & !COF_ACCEPTED != 0 {
        return Err(libc::EINVAL);
    }
    let chid = u32::try_from(chid).map_err(|_| libc::ESRCH)?;
    let b =
        Connection::builder().no_share(flags & COF_NOSHARE != 0).registered_events_only(flags & COF_REG_EVENTS != 0);
    attach(b, index, |b| b.attach(pid, chid))
}

/// Connects to channel `chid` of process `pid` with an ordinary coid (a
/// descriptor number), as `ConnectAttach(0, pid, chid, 0, 0)` does: the
/// connection of a resource-manager open.
pub(crate) fn attach_process(pid: libc::pid_t, chid: u32) -> CResult<c_int> {
    attach(Connection::builder(), 0, |b| b.attach(pid, chid))
}

/// Opens name `name` as a side-channel coid (`name_open`).
pub(crate) fn open_name(name: &str) -> CResult<c_int> {
    attach(Connection::builder(), SIDE_CHANNEL as c_uint, |b| b.open(name))
}

/// `ConnectDetach(coid)`: the threads blocked on `coid` (holding it while
/// they call) wake with `EBADF`; the connection closes once the last of
/// them lets go. For a scoid (after its disconnect pulse) there is nothing
/// to do: baton frees it itself. A scoid whose client is still connected,
/// or an unknown coid, is `EINVAL`.
pub(crate) fn detach(coid: c_int) -> CResult<c_int> {
    if let Some(c) = table::remove_coid(coid) {
        c.conn.detach();
        drop(c);
        return Ok(0);
    }
    match scoid_from_c(coid) {
        Some(s) if coid & SIDE_CHANNEL != 0 => match client_credentials(s) {
            Ok(_) => Err(libc::EINVAL),
            Err(_) => Ok(0),
        },
        _ => Err(libc::EINVAL),
    }
}

unsafe fn connect_detach(coid: c_int) -> CResult<c_int> {
    detach(coid)
}

qnx_call!(
    /// Corresponds to `ConnectAttach`.
    ConnectAttach, ConnectAttach_r, connect_attach,
    (nd: u32, pid: libc::pid_t, chid: c_int, index: c_uint, flags: c_int) -> c_int
);
qnx_call!(
    /// Corresponds to `ConnectDetach`.
    ConnectDetach, ConnectDetach_r, connect_detach, (coid: c_int) -> c_int
);

/// The `Uid:`/`Gid:` (real, effective, saved) and `Groups:` lines of
/// `/proc/<pid>/status`.
fn proc_ids(status: &str, key: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|rest| rest.split_whitespace().filter_map(|w| w.parse().ok()).collect())
        .unwrap_or_default()
}

/// The client's credentials: the kernel's record of who connected, with
/// the real and saved ids and the groups from `/proc` when readable.
fn client_info(scoid: u32, ngroups: usize) -> CResult<CClientInfo> {
    let c = client_credentials(scoid).map_err(errno)?;
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.pid)).unwrap_or_default();
    let (uids, gids, groups) = (proc_ids(&status, "Uid:"), proc_ids(&status, "Gid:"), proc_ids(&status, "Groups:"));
    let pick = |v: &[u32], i: usize, dflt: u32| v.get(i).copied().unwrap_or(dflt);
    let mut cred = CCredInfo {
        ruid: pick(&uids, 0, c.uid),
        euid: c.uid,
        suid: pick(&uids, 2, c.uid),
        rgid: pick(&gids, 0, c.gid),
        egid: c.gid,
        sgid: pick(&gids, 2, c.gid),
        ngroups: 0,
        grouplist: [0; 8],
    };
    let n = groups.len().min(ngroups).min(cred.grouplist.len());
    cred.grouplist[..n].copy_from_slice(&groups[..n]);
    cred.ngroups = n as u32;
    // SAFETY: getsid only reads the process table.
    let sid = unsafe { libc::getsid(c.pid) };
    Ok(CClientInfo { nd: 0, pid: c.pid, sid: sid.max(0), flags: 0, cred })
}

/// `ConnectClientInfo(scoid, info, ngroups)`: `ngroups` is the room in
/// `info->cred.grouplist` (at most 8).
unsafe fn connect_client_info(scoid: c_int, info: *mut CClientInfo, ngroups: c_int) -> CResult<c_int> {
    let s = scoid_from_c(scoid).ok_or(libc::ESRCH)?;
    if info.is_null() {
        return Err(libc::EFAULT);
    }
    let ci = client_info(s, usize::try_from(ngroups).unwrap_or(0))?;
    // SAFETY: `info` is valid for a write (caller's contract).
    unsafe { put(info, ci) };
    Ok(0)
}

qnx_call!(
    /// Corresponds to `ConnectClientInfo`.
    ConnectClientInfo, ConnectClientInfo_r, connect_client_info,
    (scoid: c_int, info: *mut CClientInfo, ngroups: c_int) -> c_int
);

#[cfg(test)]
mod tests {
    use super::proc_ids;

    #[test]
    fn proc_status_ids() {
        let s = "Name:\tx\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t6\t7\t8\nGroups:\t4 24 27 \n";
        assert_eq!(proc_ids(s, "Uid:"), [1000, 1001, 1002, 1003]);
        assert_eq!(proc_ids(s, "Groups:"), [4, 24, 27]);
        assert!(proc_ids(s, "Foo:").is_empty());
        assert!(proc_ids("Groups:\t\n", "Groups:").is_empty());
    }
}
