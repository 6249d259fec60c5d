//! The floor: a futex ping-pong on one shared page, written plainly. The
//! client copies its request in, flips the state word and always wakes the
//! server, then sleeps until the state says "reply"; the server does the
//! mirror image. Shared (not `FUTEX_PRIVATE_FLAG`) futexes, as baton's must be.
//!
//! The state word is the page's control word 0: 0 -> REQUEST (by the
//! client) -> REPLY (by the server) -> REQUEST ...

use super::page::Page;
use super::{Client, Endpoint, Pair, Peer, Server, Work};
use rustix::io::Errno;
use rustix::thread::futex;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

/// FUTEX_WAIT/FUTEX_WAKE on a memfd page mapped by both processes.
#[derive(Debug)]
pub struct Futex;

const REQUEST: u32 = 1;
const REPLY: u32 = 2;

/// One side's view of the page.
#[derive(Debug)]
struct Side(Page);

impl Side {
    fn map(end: Endpoint, size: usize) -> io::Result<Side> {
        let [fd] = end.fds()?;
        Ok(Side(Page::map(fd, size)?))
    }

    fn state(&self) -> &AtomicU32 {
        self.0.word(0)
    }

    /// Publishes `state` and wakes the peer, whether it sleeps or not.
    fn hand_over(&self, state: u32) -> io::Result<()> {
        self.state().store(state, Ordering::Release);
        futex::wake(self.state(), futex::Flags::empty(), 1)?;
        Ok(())
    }

    /// Sleeps until the state word is `want`.
    fn wait_for(&self, want: u32) -> io::Result<()> {
        loop {
            let seen = self.state().load(Ordering::Acquire);
            if seen == want {
                return Ok(());
            }
            match futex::wait(self.state(), futex::Flags::empty(), seen, None) {
                Ok(()) | Err(Errno::AGAIN | Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Peer for Futex {
    fn prepare(&self, size: usize, _tag: &str) -> io::Result<Pair> {
        let fd = Page::create(size)?;
        let server = Endpoint { fds: vec![fd.try_clone()?], ..Endpoint::default() };
        Ok(Pair { server, client: Endpoint { fds: vec![fd], ..Endpoint::default() } })
    }

    fn server(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Server>> {
        Ok(Box::new(Side::map(end, size)?))
    }

    fn client(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Client>> {
        Ok(Box::new(Side::map(end, size)?))
    }
}

impl Client for Side {
    fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()> {
        self.0.put_request(msg);
        self.hand_over(REQUEST)?;
        self.wait_for(REPLY)?;
        self.0.take_reply(reply);
        Ok(())
    }
}

impl Server for Side {
    fn echo(&mut self, buf: &mut [u8], work: Work) -> io::Result<()> {
        self.wait_for(REQUEST)?;
        self.0.take_request(buf);
        work.run(buf);
        self.0.put_reply(buf);
        self.hand_over(REPLY)
    }
}
