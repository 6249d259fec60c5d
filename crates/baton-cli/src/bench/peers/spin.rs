//! The floor of spinning: both sides spin on one shared cache line, with no
//! system call at all. The client copies its request into the shared page
//! and sets the state word to REQUEST; the server, spinning on that word,
//! copies the request out, the reply in, and sets REPLY, on which the
//! client spins. Nothing sleeps, so both processes burn a CPU each for the
//! whole run (the CPU column shows it).
//!
//! On one CPU, pure spinning hands over only when the scheduler preempts
//! the spinner, a time slice each way: that measures the scheduler, not a
//! transport, so the same-cpu placement is refused (reported as skipped).
//!
//! A spinner must not outlive the bench: each side asks the kernel to kill
//! it when the bench parent dies, and while waiting it looks, every few
//! thousand spins, at a word the other side sets when it lets go of the
//! page (on a failed check, say), so it fails instead of spinning forever.
//! The parent's run deadline and its killing of peers still stand behind.

use super::page::Page;
use super::{Client, Endpoint, Pair, Peer, Server, Work};
use crate::bench::plan::Placement;
use rustix::process::{getppid, set_parent_process_death_signal, Signal};
use std::hint::spin_loop;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

/// Spinning on a shared memfd page.
#[derive(Debug)]
pub struct Spin;

/// Control word 0: 0 -> REQUEST (by the client) -> REPLY (by the server) -> REQUEST ...
const STATE: usize = 0;
/// Control word 1: set to 1 by a side that lets go of the page. On the
/// state word's line, so looking at it costs no extra cache miss.
const GONE: usize = 1;
const REQUEST: u32 = 1;
const REPLY: u32 = 2;
/// Spins between looks at [`GONE`].
const LOOK_EVERY: u32 = 4096;

/// One side's view of the page.
#[derive(Debug)]
struct Side(Page);

impl Side {
    fn map(end: Endpoint, size: usize) -> io::Result<Side> {
        let [fd] = end.fds()?;
        die_with_parent()?;
        Ok(Side(Page::map(fd, size)?))
    }

    fn state(&self) -> &AtomicU32 {
        self.0.word(STATE)
    }

    fn gone(&self) -> &AtomicU32 {
        self.0.word(GONE)
    }

    /// Spins until the state word is `want`; fails if the other side has
    /// let go of the page first.
    fn wait_for(&self, want: u32) -> io::Result<()> {
        let mut spins = 0u32;
        while self.state().load(Ordering::Acquire) != want {
            spin_loop();
            spins = spins.wrapping_add(1);
            if spins % LOOK_EVERY == 0 && self.gone().load(Ordering::Acquire) != 0 {
                // A side sets the state before it lets go: look once more.
                if self.state().load(Ordering::Acquire) == want {
                    break;
                }
                return Err(io::Error::other("the other side of the spin pair has gone"));
            }
        }
        Ok(())
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        self.gone().store(1, Ordering::Release);
    }
}

/// Asks the kernel to kill this process when the bench parent dies.
fn die_with_parent() -> io::Result<()> {
    let parent = getppid();
    set_parent_process_death_signal(Some(Signal::KILL))?;
    // The parent may have died before the request took effect.
    if getppid() != parent {
        return Err(io::Error::other("the bench parent has gone"));
    }
    Ok(())
}

impl Peer for Spin {
    fn prepare(&self, size: usize, _tag: &str) -> io::Result<Pair> {
        let fd = Page::create(size)?;
        let server = Endpoint { fds: vec![fd.try_clone()?], ..Endpoint::default() };
        Ok(Pair { server, client: Endpoint { fds: vec![fd], ..Endpoint::default() } })
    }

    fn refuse(&self, _size: usize, placement: Placement) -> Option<String> {
        (placement == Placement::SameCpu).then(|| {
            "two spinners on one CPU hand over only when the scheduler preempts one (a time slice each way)".to_owned()
        })
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
        self.state().store(REQUEST, Ordering::Release);
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
        self.state().store(REPLY, Ordering::Release);
        Ok(())
    }
}
