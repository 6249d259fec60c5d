//! Eventfd doorbells and epoll sets.
//!
//! Each connection has an eventfd, written by the client to tell the server
//! "connection N has work". The kernel protects it: a client can ring only
//! its own doorbell, and the epoll entry says whose bell rang. Edge-triggered
//! registration means the server never has to read the counter back.

use rustix::event::{epoll, eventfd, EventfdFlags};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;

use super::time::Deadline;

/// A new doorbell.
pub(crate) fn doorbell() -> Result<OwnedFd, Errno> {
    eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
}

/// Rings a doorbell (one `write` of 1).
#[inline]
pub(crate) fn ring(fd: BorrowedFd<'_>) {
    // EAGAIN (counter at its maximum, after 2^64 rings) still leaves the
    // counter non-zero; the edge that matters has already been delivered.
    let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
}

/// An epoll set.
#[derive(Debug)]
pub(crate) struct Epoll(OwnedFd);

/// Readiness reported for one registered descriptor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready {
    pub token: u64,
}

impl Epoll {
    pub(crate) fn new() -> Result<Epoll, Errno> {
        epoll::create(epoll::CreateFlags::CLOEXEC).map(Epoll)
    }

    /// Watches `fd` for input, edge-triggered.
    pub(crate) fn add_edge(&self, fd: impl AsFd, token: u64) -> Result<(), Errno> {
        epoll::add(&self.0, fd, epoll::EventData::new_u64(token), epoll::EventFlags::IN | epoll::EventFlags::ET)
    }

    /// Watches `fd` for input and hang-up, level-triggered.
    pub(crate) fn add_level(&self, fd: impl AsFd, token: u64) -> Result<(), Errno> {
        epoll::add(&self.0, fd, epoll::EventData::new_u64(token), epoll::EventFlags::IN | epoll::EventFlags::RDHUP)
    }

    pub(crate) fn remove(&self, fd: impl AsFd) {
        let _ = epoll::delete(&self.0, fd);
    }

    /// Waits for events until `deadline`; fills `out` and returns how many.
    pub(crate) fn wait(&self, out: &mut [Ready], deadline: Deadline) -> Result<usize, Errno> {
        const MAX: usize = 32;
        let mut events = [epoll::Event { flags: epoll::EventFlags::empty(), data: epoll::EventData::new_u64(0) }; MAX];
        let ts = if deadline == Deadline::IMMEDIATE {
            Some(rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 })
        } else {
            deadline.relative_timespec()
        };
        let room = out.len().min(MAX);
        let n = match epoll::wait(&self.0, &mut events[..room], ts.as_ref()) {
            Ok(n) => n,
            Err(Errno::INTR) => return Ok(0),
            Err(e) => return Err(e),
        };
        for (o, e) in out.iter_mut().zip(&events[..n]) {
            *o = Ready { token: e.data.u64() };
        }
        Ok(n)
    }
}
