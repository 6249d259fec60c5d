//! What callgrind watches: one process, a server thread answering a client
//! thread over a baton channel, in one wait mode and one message size.
//!
//! Both threads warm up first (the connection's first calls set things up
//! that later calls reuse), then each enters its measured function:
//! [`client_calls`] makes the calls, [`server_calls`] receives and replies
//! to them. Callgrind counts only inside those two functions
//! (`--toggle-collect`), so their names are part of the harness: they must
//! stay un-inlined, and nothing inside them may have a name that matches.
//!
//! The process pins itself to one CPU before the threads start. valgrind
//! runs one thread at a time anyway; on one CPU the adaptive mode's choice
//! (spin only while the peer runs on another CPU) cannot depend on where
//! the kernel happened to put the threads, so the counts repeat.

use baton::{Channel, Connection, Received, WaitMode};
use std::io;

/// Calls before the measured ones, in each configuration.
pub const WARMUP: u32 = 20;

/// Runs `calls` measured round trips of `size` bytes in `mode`.
pub fn run(mode: WaitMode, size: usize, calls: u32) -> io::Result<()> {
    pin_to_one_cpu()?;
    let dir = std::env::temp_dir().join(format!("baton-icount-{}", std::process::id()));
    baton::set_runtime_dir(&dir)?;
    let result = round_trips(mode, size, calls);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn round_trips(mode: WaitMode, size: usize, calls: u32) -> io::Result<()> {
    let channel = Channel::builder().wait_mode(mode).create()?;
    let chid = channel.id();
    std::thread::scope(|s| {
        let server = s.spawn(|| {
            let mut buf = vec![0u8; size];
            serve(&channel, &mut buf, WARMUP)?;
            server_calls(&channel, &mut buf, calls)
        });
        let client = s.spawn(move || {
            let conn = Connection::builder().wait_mode(mode).attach(0, chid)?;
            let msg: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut reply = vec![0u8; size];
            call(&conn, &msg, &mut reply, WARMUP)?;
            reply.fill(0);
            client_calls(&conn, &msg, &mut reply, calls)?;
            // The server echoes: the last reply must be the message.
            if reply != msg {
                return Err(io::Error::other("the reply is not the message echoed"));
            }
            Ok(())
        });
        let client = client.join().map_err(|_| io::Error::other("the client thread panicked"))?;
        let server = server.join().map_err(|_| io::Error::other("the server thread panicked"))?;
        client.and(server)
    })
}

/// The measured calls (callgrind collects inside this function only, on
/// the client's side).
#[inline(never)]
fn client_calls(conn: &Connection, msg: &[u8], reply: &mut [u8], calls: u32) -> io::Result<()> {
    call(conn, msg, reply, calls)
}

/// The measured receives and replies (callgrind collects inside this
/// function only, on the server's side).
#[inline(never)]
fn server_calls(channel: &Channel, buf: &mut [u8], calls: u32) -> io::Result<()> {
    serve(channel, buf, calls)
}

#[inline(always)]
fn call(conn: &Connection, msg: &[u8], reply: &mut [u8], calls: u32) -> io::Result<()> {
    for _ in 0..calls {
        let r = conn.send(msg, reply)?;
        if r.len != reply.len() {
            return Err(io::Error::other(format!("baton replied {} bytes, expected {}", r.len, reply.len())));
        }
    }
    Ok(())
}

#[inline(always)]
fn serve(channel: &Channel, buf: &mut [u8], calls: u32) -> io::Result<()> {
    let mut served = 0;
    while served < calls {
        match channel.receive(buf)? {
            Received::Message(req) => {
                if req.len() != buf.len() {
                    return Err(io::Error::other(format!(
                        "baton delivered {} bytes, expected {}",
                        req.len(),
                        buf.len()
                    )));
                }
                req.reply(0, buf)?;
                served += 1;
            }
            Received::Pulse(_) => {} // not part of the round trip
        }
    }
    Ok(())
}

/// Pins this process (and so the threads it starts) to the first CPU it may use.
fn pin_to_one_cpu() -> io::Result<()> {
    let allowed = rustix::thread::sched_getaffinity(None)?;
    let first = (0..rustix::thread::CpuSet::MAX_CPU)
        .find(|&c| allowed.is_set(c))
        .ok_or_else(|| io::Error::other("no CPU to run on"))?;
    let mut only = rustix::thread::CpuSet::new();
    only.set(first);
    Ok(rustix::thread::sched_setaffinity(None, &only)?)
}
