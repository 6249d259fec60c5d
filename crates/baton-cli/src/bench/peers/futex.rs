//! The floor: a futex ping-pong on one shared page, written plainly. The
//! client copies its request in, flips the state word and always wakes the
//! server, then sleeps until the state says "reply"; the server does the
//! mirror image. Shared (not `FUTEX_PRIVATE_FLAG`) futexes, as baton's must be.
//!
//! ```text
//! offset 0          state word: 0 -> REQUEST (by the client) -> REPLY (by the server) -> REQUEST ...
//! offset 64         request bytes
//! offset 64 + size  reply bytes (rounded up to 64)
//! ```

use super::shm::{self, Shared};
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

/// The page as both sides see it.
#[derive(Debug)]
struct Page {
    shared: Shared,
    request_at: usize,
    reply_at: usize,
}

impl Page {
    const STATE_AT: usize = 0;

    fn offsets(size: usize) -> (usize, usize, usize) {
        let request_at = 64;
        let reply_at = request_at + size.next_multiple_of(64);
        (request_at, reply_at, reply_at + size)
    }

    fn map(end: Endpoint, size: usize) -> io::Result<Page> {
        let [fd] = end.fds()?;
        let (request_at, reply_at, len) = Page::offsets(size);
        Ok(Page { shared: Shared::map(fd, len)?, request_at, reply_at })
    }

    fn state(&self) -> &AtomicU32 {
        self.shared.word(Page::STATE_AT)
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
        let fd = shm::create(Page::offsets(size).2)?;
        let server = Endpoint { fds: vec![fd.try_clone()?], ..Endpoint::default() };
        Ok(Pair { server, client: Endpoint { fds: vec![fd], ..Endpoint::default() } })
    }

    fn server(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Server>> {
        Ok(Box::new(Page::map(end, size)?))
    }

    fn client(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Client>> {
        Ok(Box::new(Page::map(end, size)?))
    }
}

impl Client for Page {
    fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()> {
        self.shared.write(self.request_at, msg);
        self.hand_over(REQUEST)?;
        self.wait_for(REPLY)?;
        self.shared.read(self.reply_at, reply);
        Ok(())
    }
}

impl Server for Page {
    fn echo(&mut self, buf: &mut [u8], work: Work) -> io::Result<()> {
        self.wait_for(REQUEST)?;
        self.shared.read(self.request_at, buf);
        work.run(buf);
        self.shared.write(self.reply_at, buf);
        self.hand_over(REPLY)
    }
}
