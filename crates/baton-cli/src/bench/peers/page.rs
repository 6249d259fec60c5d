//! The shared page through which the raw shared-memory peers (futex,
//! eventfd, spin) exchange a request and its reply: a control line of
//! words the two sides hand over, then the request bytes, then the reply
//! bytes, each area on cache lines of its own.
//!
//! ```text
//! offset 0          control words (32-bit, at most 16), each peer's own use
//! offset 64         request bytes
//! offset 64 + size  reply bytes (rounded up to 64)
//! ```

use super::shm::{self, Shared};
use rustix::fd::{AsFd, OwnedFd};
use std::io;
use std::sync::atomic::AtomicU32;

/// One cache line.
const LINE: usize = 64;

/// A request area and a reply area of `size` bytes each, with control words.
#[derive(Debug)]
pub struct Page {
    shared: Shared,
    request_at: usize,
    reply_at: usize,
}

impl Page {
    /// The offsets of the request and the reply, and the page's length.
    fn layout(size: usize) -> (usize, usize, usize) {
        let request_at = LINE;
        let reply_at = request_at + size.next_multiple_of(LINE);
        (request_at, reply_at, reply_at + size)
    }

    /// In the parent: a shared file big enough for `size`-byte messages.
    pub fn create(size: usize) -> io::Result<OwnedFd> {
        shm::create(Page::layout(size).2)
    }

    /// In a peer: maps the file the parent created for `size`-byte messages.
    pub fn map(fd: impl AsFd, size: usize) -> io::Result<Page> {
        let (request_at, reply_at, len) = Page::layout(size);
        Ok(Page { shared: Shared::map(fd, len)?, request_at, reply_at })
    }

    /// Control word `i` (0..16), in the first cache line.
    pub fn word(&self, i: usize) -> &AtomicU32 {
        assert!(i < LINE / 4, "control word {i} outside the control line");
        self.shared.word(4 * i)
    }

    pub fn put_request(&self, msg: &[u8]) {
        self.shared.write(self.request_at, msg);
    }

    pub fn take_request(&self, buf: &mut [u8]) {
        self.shared.read(self.request_at, buf);
    }

    pub fn put_reply(&self, buf: &[u8]) {
        self.shared.write(self.reply_at, buf);
    }

    pub fn take_reply(&self, reply: &mut [u8]) {
        self.shared.read(self.reply_at, reply);
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn areas_are_on_their_own_lines() {
        assert_eq!(Page::layout(64), (64, 128, 192));
        assert_eq!(Page::layout(100), (64, 192, 292));
        assert_eq!(Page::layout(1 << 20), (64, 64 + (1 << 20), 64 + (2 << 20)));
    }
}
