//! A floor: an eventfd each way as the doorbell, the bytes in a shared
//! memfd page. The client copies its request in and writes 1 to the
//! server's eventfd, then blocks reading its own until the server, having
//! copied the reply in, writes 1 to it. The eventfd's read and write order
//! the page's bytes between the two processes, as a pipe's would.

use super::page::Page;
use super::{Client, Endpoint, Pair, Peer, Server, Work};
use rustix::event::{eventfd, EventfdFlags};
use rustix::fd::OwnedFd;
use rustix::io::{read, write, Errno};
use std::io;

/// Two eventfds and a shared page.
#[derive(Debug)]
pub struct Eventfd;

/// One side: the page, the eventfd it rings and the one it waits on.
#[derive(Debug)]
struct Side {
    page: Page,
    ring: OwnedFd,
    wait: OwnedFd,
}

impl Side {
    /// The descriptors an endpoint carries, in the order `[page, ring, wait]`.
    fn new(end: Endpoint, size: usize) -> io::Result<Side> {
        let [page, ring, wait] = end.fds()?;
        Ok(Side { page: Page::map(page, size)?, ring, wait })
    }

    /// Wakes the other side.
    fn ring(&self) -> io::Result<()> {
        loop {
            match write(&self.ring, &1u64.to_ne_bytes()) {
                Ok(8) => return Ok(()),
                Ok(n) => return Err(io::Error::other(format!("wrote {n} bytes to an eventfd"))),
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Blocks until the other side has rung (the count goes back to 0).
    fn wait(&self) -> io::Result<()> {
        let mut count = [0u8; 8];
        loop {
            match read(&self.wait, &mut count) {
                Ok(8) => return Ok(()),
                Ok(n) => return Err(io::Error::other(format!("read {n} bytes from an eventfd"))),
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Peer for Eventfd {
    fn prepare(&self, size: usize, _tag: &str) -> io::Result<Pair> {
        let page = Page::create(size)?;
        let to_server = eventfd(0, EventfdFlags::CLOEXEC)?;
        let to_client = eventfd(0, EventfdFlags::CLOEXEC)?;
        let server = vec![page.try_clone()?, to_client.try_clone()?, to_server.try_clone()?];
        Ok(Pair {
            server: Endpoint { fds: server, ..Endpoint::default() },
            client: Endpoint { fds: vec![page, to_server, to_client], ..Endpoint::default() },
        })
    }

    fn server(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Server>> {
        Ok(Box::new(Side::new(end, size)?))
    }

    fn client(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Client>> {
        Ok(Box::new(Side::new(end, size)?))
    }
}

impl Client for Side {
    fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()> {
        self.page.put_request(msg);
        self.ring()?;
        self.wait()?;
        self.page.take_reply(reply);
        Ok(())
    }
}

impl Server for Side {
    fn echo(&mut self, buf: &mut [u8], work: Work) -> io::Result<()> {
        self.wait()?;
        self.page.take_request(buf);
        work.run(buf);
        self.page.put_reply(buf);
        self.ring()
    }
}
