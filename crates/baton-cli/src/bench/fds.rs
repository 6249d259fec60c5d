//! Handing descriptors (a memfd, pipe ends) from the bench parent to a peer
//! process: the parent lets exactly those descriptors survive `exec` and
//! names their numbers on the peer's command line; the peer adopts them.
#![allow(unsafe_code)] // `adopt` turns an inherited descriptor number into an `OwnedFd`.

use rustix::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use rustix::io::{fcntl_setfd, FdFlags};
use std::io;
use std::process::{Child, Command};

/// Spawns `cmd` with `fds` inherited under the same numbers.
///
/// Every other descriptor of this process stays close-on-exec. The bench
/// parent is single-threaded, so no other spawn can see the window in which
/// `fds` are inheritable.
pub fn spawn_with(cmd: &mut Command, fds: &[BorrowedFd<'_>]) -> io::Result<Child> {
    for fd in fds {
        fcntl_setfd(fd, FdFlags::empty())?;
    }
    let child = cmd.spawn();
    for fd in fds {
        fcntl_setfd(fd, FdFlags::CLOEXEC)?;
    }
    child
}

/// Takes ownership of descriptors `raw`, which the parent passed to this
/// process with [`spawn_with`].
pub fn adopt(raw: &[RawFd]) -> io::Result<Vec<OwnedFd>> {
    let mut owned: Vec<OwnedFd> = Vec::with_capacity(raw.len());
    for &fd in raw {
        let open = std::fs::symlink_metadata(format!("/proc/self/fd/{fd}")).is_ok();
        if fd <= 2 || !open || owned.iter().any(|o| o.as_raw_fd() == fd) {
            return Err(io::Error::other(format!("descriptor {fd} was not handed to this peer")));
        }
        // SAFETY:
        // - `fd` is open in this process (checked above through /proc) and is
        //   not stdin, stdout or stderr;
        // - it was inherited from the parent for this peer to own, and nothing
        //   else in this process refers to it: the peer adopts its descriptors
        //   before it opens anything, and each number only once (checked above).
        owned.push(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    Ok(owned)
}
