//! Unix-domain sockets for connection set-up, events and death detection.
//!
//! A connection's socket first carries the server's hello with the segment
//! and doorbell descriptors (`SCM_RIGHTS`). After that it carries only the
//! small event notices of `proto/notice.rs`; the kernel closing it tells
//! each side that the other is gone.
#![allow(unsafe_code)]

use rustix::event::{poll, PollFd, PollFlags};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use rustix::io::{Errno, IoSlice, IoSliceMut};
use rustix::net::{
    self, AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketAddrUnix, SocketFlags, SocketType,
};
use std::mem::MaybeUninit;
use std::path::Path;

use super::time::Deadline;

/// Credentials of the peer process, as the kernel recorded them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PeerCred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

fn stream_socket(nonblock: bool) -> Result<OwnedFd, Errno> {
    let mut flags = SocketFlags::CLOEXEC;
    if nonblock {
        flags |= SocketFlags::NONBLOCK;
    }
    net::socket_with(AddressFamily::UNIX, SocketType::STREAM, flags, None)
}

/// A listening, non-blocking socket bound at `path`.
pub(crate) fn listen(path: &Path) -> Result<OwnedFd, Errno> {
    let addr = SocketAddrUnix::new(path)?;
    let fd = stream_socket(true)?;
    net::bind(&fd, &addr)?;
    net::listen(&fd, 128)?;
    Ok(fd)
}

/// Connects a blocking socket to the listener at `path`.
pub(crate) fn connect(path: &Path) -> Result<OwnedFd, Errno> {
    let addr = SocketAddrUnix::new(path)?;
    let fd = stream_socket(false)?;
    net::connect(&fd, &addr)?;
    Ok(fd)
}

/// Accepts one pending connection, if any (`EAGAIN` if none).
pub(crate) fn accept(listener: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    net::accept_with(listener, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK)
}

/// A connected pair, for connections from a process to its own channel.
pub(crate) fn pair() -> Result<(OwnedFd, OwnedFd), Errno> {
    net::socketpair(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, None)
}

/// A new close-on-exec descriptor for the same open file.
pub(crate) fn dup_cloexec(fd: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    rustix::io::fcntl_dupfd_cloexec(fd, 0)
}

/// The peer's pid, uid and gid from `SO_PEERCRED`.
pub(crate) fn peer_cred(fd: BorrowedFd<'_>) -> Result<PeerCred, Errno> {
    let c = net::sockopt::socket_peercred(fd)?;
    Ok(PeerCred { pid: c.pid.as_raw_nonzero().get(), uid: c.uid.as_raw(), gid: c.gid.as_raw() })
}

/// A pidfd for the peer process (`SO_PEERPIDFD`, Linux 6.5), falling back to
/// `pidfd_open` on the pid from `SO_PEERCRED`.
pub(crate) fn peer_pidfd(fd: BorrowedFd<'_>, pid: i32) -> Option<OwnedFd> {
    const SO_PEERPIDFD: libc::c_int = 77;
    let mut raw: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `raw` and `len` are valid for writes of the sizes given; the
    // kernel writes at most `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut raw as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 && raw >= 0 {
        // SAFETY: on success the kernel installed a new descriptor `raw`
        // that nothing else owns.
        return Some(unsafe { OwnedFd::from_raw_fd(raw) });
    }
    let pid = rustix::process::Pid::from_raw(pid)?;
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
}

/// The peer's supplementary groups (`SO_PEERGROUPS`), empty if unknown.
pub(crate) fn peer_groups(fd: BorrowedFd<'_>) -> Vec<u32> {
    const SO_PEERGROUPS: libc::c_int = 59;
    let mut groups = vec![0u32; 64];
    for _ in 0..2 {
        let mut len = (groups.len() * 4) as libc::socklen_t;
        // SAFETY: `groups` is valid for writes of `len` bytes; the kernel
        // writes at most `len` bytes and reports the size it needed.
        let rc = unsafe {
            libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, SO_PEERGROUPS, groups.as_mut_ptr().cast(), &mut len)
        };
        let n = len as usize / 4;
        if rc == 0 {
            groups.truncate(n);
            return groups;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE) || n <= groups.len() {
            return Vec::new();
        }
        groups.resize(n, 0);
    }
    Vec::new()
}

/// Sends `bytes` and the descriptors `fds` in one message.
pub(crate) fn send_with_fds(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> Result<(), Errno> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(Errno::INVAL);
    }
    let n = net::sendmsg(sock, &[IoSlice::new(bytes)], &mut control, SendFlags::NOSIGNAL)?;
    if n != bytes.len() {
        return Err(Errno::MSGSIZE);
    }
    Ok(())
}

/// Receives one message of at most `buf.len()` bytes with up to four
/// descriptors, waiting until `deadline`.
pub(crate) fn recv_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    deadline: Deadline,
) -> Result<(usize, Vec<OwnedFd>), Errno> {
    loop {
        let mut pfd = [PollFd::new(&sock, PollFlags::IN)];
        let ts = deadline.relative_timespec();
        match poll(&mut pfd, ts.as_ref()) {
            Ok(0) => return Err(Errno::TIMEDOUT),
            Ok(_) => break,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let msg =
        net::recvmsg(sock, &mut [IoSliceMut::new(buf)], &mut control, RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT)?;
    let mut fds = Vec::new();
    for m in control.drain() {
        if let RecvAncillaryMessage::ScmRights(rights) = m {
            fds.extend(rights);
        }
    }
    Ok((msg.bytes, fds))
}

/// Whether the socket's peer has closed its end (non-blocking check).
pub(crate) fn peer_closed(sock: impl AsFd) -> bool {
    let mut pfd = [PollFd::new(&sock, PollFlags::IN | PollFlags::RDHUP)];
    matches!(poll(&mut pfd, Some(&rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 })), Ok(n) if n > 0)
        && pfd[0].revents().intersects(PollFlags::HUP | PollFlags::RDHUP | PollFlags::ERR)
}

/// Sends `bytes` without blocking: all of them, or `EAGAIN` if the peer's
/// socket buffer cannot take them now (a short write, which a small frame
/// on a Unix stream socket never gets, is reported as `EAGAIN` too).
pub(crate) fn send_nowait(sock: BorrowedFd<'_>, bytes: &[u8]) -> Result<(), Errno> {
    loop {
        match net::send(sock, bytes, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
            Ok(n) if n == bytes.len() => return Ok(()),
            Ok(_) => return Err(Errno::AGAIN),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Reads what is there without blocking: `Ok(0)` at end of stream,
/// `EAGAIN` if nothing is waiting.
pub(crate) fn recv_nowait(sock: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        match net::recv(sock, &mut *buf, RecvFlags::DONTWAIT) {
            Ok((n, _)) => return Ok(n),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
}
