//! The read section's resource manager (`baton bench-peer --role
//! read-server`): one file, attached at `--name`, served by the
//! `baton_resmgr` framework as any resource manager is (its dispatch,
//! OCBs, permission checks and defaults), whose bytes come from memory and
//! repeat every [`FILE_BYTES`] (a read past the end wraps to the start, so
//! a reader never meets end of file). It prints `ready` once attached,
//! asks the kernel to kill it when the bench parent dies, and otherwise
//! serves until killed.
//!
//! One framework thread (`threads(1, 1, 1)`), as the QNX resource
//! manager of the book's first chapter is (a `dispatch_block` /
//! `dispatch_handler` loop); `BATON_BENCH_READ_THREADS=lo,hi,max` runs a
//! pool instead.

use super::{byte_at, FILE_BYTES};
use crate::bench::peer::{say, PeerArgs};
use crate::bench::proto::READY;
use baton_resmgr::{Attr, Context, Errno, Ocb, ResourceManager, Server};
use rustix::process::{set_parent_process_death_signal, Signal};
use std::io;

/// The file: its bytes twice, so that any read of up to a whole file is
/// one slice, however it wraps.
struct Pattern(Vec<u8>);

impl ResourceManager for Pattern {
    type State = ();

    /// Replies from the pattern itself (`Context::reply`: one copy, into
    /// the client's reply buffer), as a QNX read handler replies from its
    /// buffer (`MsgReply`, `_RESMGR_NOREPLY`).
    fn read(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<()>, nbytes: usize, _: &mut Vec<u8>) -> Result<(), Errno> {
        let n = nbytes.min(FILE_BYTES);
        let at = (ocb.offset % FILE_BYTES as u64) as usize;
        ocb.offset += n as u64;
        ctx.reply(n as i64, &self.0[at..at + n])
    }
}

/// Runs the server until killed.
pub fn run(args: &PeerArgs) -> io::Result<()> {
    set_parent_process_death_signal(Some(Signal::KILL))?;
    let path = args.name.as_deref().ok_or_else(|| io::Error::other("the read server needs --name (its path)"))?;
    let (lo, hi, max) = threads()?;
    let server = Server::builder().threads(lo, hi, max).build()?;
    let mut attr = Attr::new(libc::S_IFREG | 0o444);
    attr.size = FILE_BYTES as u64;
    server.attach(path, 0, attr, Pattern((0..2 * FILE_BYTES).map(byte_at).collect()))?;
    say(READY)?;
    server.run()
}

/// The pool's water marks: one thread unless the environment says otherwise.
fn threads() -> io::Result<(usize, usize, usize)> {
    let Ok(v) = std::env::var("BATON_BENCH_READ_THREADS") else { return Ok((1, 1, 1)) };
    let n: Vec<usize> = v.split(',').filter_map(|s| s.trim().parse().ok()).collect();
    match n[..] {
        [lo, hi, max] => Ok((lo, hi, max)),
        _ => Err(io::Error::other(format!("BATON_BENCH_READ_THREADS={v:?}: want lo,hi,max"))),
    }
}
