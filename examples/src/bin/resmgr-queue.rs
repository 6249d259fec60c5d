//! A blocking queue device: what is written can be read once, in order; a
//! read of an empty queue waits until a write arrives. The waiting read is
//! a *deferred reply*: the handler keeps the request and answers it from
//! the write handler, so no thread is blocked meanwhile. A reader that
//! gives up (a client timeout) is taken out of the line by the unblock
//! handler; an `O_NONBLOCK` read of an empty queue fails with `EAGAIN`
//! (also when `O_NONBLOCK` was set after the open, `fcntl(F_SETFL)`). A
//! queue has no positions: `pread`/`pwrite` fail with `ESPIPE`, as a
//! pipe's do.
//! `devctl` [`QUEUE_LEN`] tells how many bytes are queued. `select`-style
//! notification works: an event armed for input (`ionotify`,
//! [`baton_resmgr::File::notify_arm`]) is delivered when a write leaves
//! data in the queue.
//!
//! ```text
//! cargo run -p baton-examples --bin resmgr-queue -- /dev/queue
//! ```
//!
//! It prints `ready` once the path is attached, `unblock` when a waiting
//! reader gives up, and a `close` line each time an open ends.

use baton::ReceiveId;
use baton_resmgr::msg::{self, dcmd, notify};
use baton_resmgr::{Attr, Context, Errno, Ocb, Pending, ResourceManager, Server};
use clap::Parser;
use std::collections::VecDeque;
use std::sync::Mutex;

/// `devctl` command: the number of bytes queued (an `i32`, from the device).
const QUEUE_LEN: u32 = dcmd::diof(b'q', 1, 4);

/// Serves a queue whose reads wait for writes.
#[derive(Parser, Debug)]
struct Args {
    /// The path to attach (absolute).
    path: String,
}

#[derive(Default)]
struct Queue {
    /// Bytes written and not read yet.
    data: VecDeque<u8>,
    /// Readers waiting for data, first come first served, with the most
    /// bytes each wants.
    readers: VecDeque<(Pending, usize)>,
}

#[derive(Default)]
struct QueueDevice(Mutex<Queue>);

impl QueueDevice {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ResourceManager for QueueDevice {
    type State = ();

    fn read(&self, ctx: &mut Context<'_>, _: &mut Ocb<()>, nbytes: usize, out: &mut Vec<u8>) -> Result<(), Errno> {
        if ctx.xtype_offset().is_some() {
            return Err(Errno(libc::ESPIPE));
        }
        let mut q = self.lock();
        if nbytes == 0 {
            return Ok(());
        }
        if !q.data.is_empty() {
            let n = nbytes.min(q.data.len());
            out.extend(q.data.drain(..n));
            return Ok(());
        }
        if ctx.nonblocking() {
            return Err(Errno(libc::EAGAIN));
        }
        // Keep the request; a write answers it.
        let pending = ctx.defer().expect("not deferred yet");
        q.readers.push_back((pending, nbytes));
        Ok(())
    }

    fn write(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<()>, data: &[u8]) -> Result<usize, Errno> {
        if ctx.xtype_offset().is_some() {
            return Err(Errno(libc::ESPIPE));
        }
        let mut q = self.lock();
        q.data.extend(data);
        while !q.data.is_empty() {
            let Some((reader, want)) = q.readers.pop_front() else { break };
            let n = want.min(q.data.len());
            let bytes: Vec<u8> = q.data.drain(..n).collect();
            // A reader that is gone gets nothing; put its bytes back.
            if reader.reply(n as i64, &bytes).is_err() {
                for b in bytes.into_iter().rev() {
                    q.data.push_front(b);
                }
            }
        }
        // Data left for readers that are not waiting: tell those that armed
        // for input (with the queue locked, so that an arming poll sees the
        // data or gets the event).
        if !q.data.is_empty() {
            ocb.attr.notify_trigger(notify::COND_INPUT);
        }
        Ok(data.len())
    }

    fn notify(&self, ctx: &mut Context<'_>, ocb: &mut Ocb<()>, req: &msg::Notify) -> Result<u32, Errno> {
        let q = self.lock();
        let input = if q.data.is_empty() { 0 } else { notify::COND_INPUT };
        ctx.notify(ocb, req, input | notify::COND_OUTPUT)
    }

    fn devctl(
        &self,
        _: &mut Context<'_>,
        ocb: &mut Ocb<()>,
        dcmd: u32,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<i32, Errno> {
        match dcmd {
            QUEUE_LEN => {
                let n = self.lock().data.len() as i32;
                out.extend_from_slice(&n.to_le_bytes());
                Ok(0)
            }
            // The commands every device has (the open flags).
            _ => baton_resmgr::server::devctl_default(ocb, dcmd, data, out),
        }
    }

    fn unblock(&self, id: ReceiveId) {
        let mut q = self.lock();
        if let Some(i) = q.readers.iter().position(|(p, _)| p.id() == id) {
            let (reader, _) = q.readers.remove(i).expect("found");
            let _ = reader.error(libc::EINTR);
            println!("unblock: a reader gave up");
        }
    }

    fn close(&self, ocb: &mut Ocb<()>) {
        println!("close scoid {} coid {}", ocb.scoid(), ocb.coid());
    }
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let server = Server::new()?;
    server.attach(&args.path, 0, Attr::new(libc::S_IFCHR | 0o666), QueueDevice::default())?;
    println!("resmgr-queue: ready at {} (pid {})", args.path, std::process::id());
    server.run()
}
