//! The peers of a throughput run, each in its own process (`baton
//! bench-peer` with a throughput role):
//!
//! - the server: `--threads` threads that answer requests, until killed.
//!   baton: every thread receives on the one channel (baton hands each
//!   message to one of them). seqpacket: the server accepts its
//!   `--conns` clients, deals their sockets out in turn to the threads,
//!   and each thread serves its own sockets through its own level-triggered
//!   epoll set (each request: read, answer; no epoll re-arming, no lock
//!   between the threads: the fastest shape for a fixed set of clients).
//!   Its main thread reads the process's CPU time when the board's phase
//!   turns to measure and to stop, and reports the difference;
//! - a client: calls back to back; from when the phase turns to measure
//!   until it is stop (and for at least one call) it reads CLOCK_MONOTONIC
//!   once between calls (each sample one call) and its CPU time at both
//!   ends, and reports them.
//!
//! Each asks the kernel to kill it when the bench parent dies.

use crate::bench::peer::{cpu_ns, say, Caller, PeerArgs, Role};
use crate::bench::peers::{Endpoint, Transport};
use crate::bench::proto::{Report, READY};
use crate::bench::scale::board::{Board, Word};
use crate::bench::stats::Summary;
use baton::{Channel, Received};
use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, CreateFlags, Event, EventData, EventFlags};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{accept_with, recv, send, RecvFlags, SendFlags, SocketFlags};
use rustix::process::{set_parent_process_death_signal, Signal};
use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Instant;

/// Board phases: the clients measure, then stop.
pub const MEASURE: u32 = 1;
pub const STOP: u32 = 2;
/// Samples a client has room for before it measures (more still fit).
const SAMPLES: usize = 1 << 20;
/// Events a seqpacket thread takes per `epoll_wait`.
const EVENTS: usize = 64;

/// Runs a throughput peer to the end (the server: until killed).
pub fn run(end: Endpoint, args: &PeerArgs) -> io::Result<()> {
    set_parent_process_death_signal(Some(Signal::KILL))?;
    let board = Board::map(&args.many.board_fd()?)?;
    match args.role {
        Role::ThroughputServer => serve(end, args, &board),
        Role::ThroughputClient => {
            let report = calls(end, args, &board)?;
            say(&report.to_string())
        }
        _ => Err(io::Error::other("not a throughput role")),
    }
}

/// The server: starts the serving threads, then reports its CPU time over
/// the measured phase, then serves on until killed.
fn serve(end: Endpoint, args: &PeerArgs, board: &Board) -> io::Result<()> {
    let (threads, size) = (args.many.threads.max(1), args.size);
    match args.transport {
        Transport::Baton => {
            let name = end.name.ok_or_else(|| io::Error::other("the baton server needs --name"))?;
            let channel = Arc::new(Channel::attach(&name)?);
            say(READY)?;
            for _ in 0..threads {
                let channel = channel.clone();
                std::thread::spawn(move || fatal(serve_baton(&channel, size)));
            }
        }
        Transport::Seqpacket => {
            let listener = end.fds.into_iter().next().ok_or_else(|| io::Error::other("no listening socket"))?;
            say(READY)?;
            let mut shares: Vec<HashMap<u64, OwnedFd>> = (0..threads).map(|_| HashMap::new()).collect();
            for i in 0..args.many.conns {
                let fd = accept_with(&listener, SocketFlags::CLOEXEC)?;
                shares[i % threads].insert(fd.as_raw_fd() as u64, fd);
            }
            for socks in shares {
                let epoll = epoll::create(CreateFlags::CLOEXEC)?;
                for (&key, fd) in &socks {
                    epoll::add(&epoll, fd, EventData::new_u64(key), EventFlags::IN)?;
                }
                std::thread::spawn(move || fatal(serve_sockets(&epoll, socks, size)));
            }
        }
        t => return Err(io::Error::other(format!("{} has no throughput server", t.name()))),
    }
    board.wait_for(Word::Phase, MEASURE)?;
    let cpu = cpu_ns();
    board.wait_for(Word::Phase, STOP)?;
    let cpu_ns = cpu_ns() - cpu;
    say(&Report { cpu_ns, ..Report::default() }.to_string())?;
    board.wait_for(Word::Phase, u32::MAX)
}

/// A serving thread that failed ends the whole server (the parent sees it).
fn fatal(r: io::Result<()>) {
    if let Err(e) = r {
        eprintln!("baton: throughput server: {e}");
        std::process::exit(1);
    }
}

/// One baton serving thread: receive, answer with the same bytes.
fn serve_baton(channel: &Channel, size: usize) -> io::Result<()> {
    let mut buf = vec![0u8; size];
    loop {
        match channel.receive(&mut buf)? {
            Received::Message(req) => {
                if req.len() != size {
                    return Err(io::Error::other(format!("baton delivered {} bytes, expected {size}", req.len())));
                }
                req.reply(0, &buf)?;
            }
            Received::Pulse(_) => {} // a client that went away
        }
    }
}

/// One seqpacket serving thread over its own sockets: for each socket
/// epoll reports readable, read the request and answer it.
fn serve_sockets(epoll: &OwnedFd, mut socks: HashMap<u64, OwnedFd>, size: usize) -> io::Result<()> {
    let mut events: Vec<Event> = Vec::with_capacity(EVENTS);
    let mut buf = vec![0u8; size];
    loop {
        events.clear();
        match epoll::wait(epoll, spare_capacity(&mut events), None) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        for key in events.iter().map(|e| e.data.u64()) {
            let Some(fd) = socks.get(&key) else { continue };
            let gone = match recv(fd, &mut buf[..], RecvFlags::DONTWAIT) {
                Ok((_, len)) if len == size => match send(fd, &buf, SendFlags::NOSIGNAL) {
                    Ok(n) if n == size => false,
                    Ok(n) => return Err(io::Error::other(format!("replied {n} of {size} bytes"))),
                    Err(Errno::PIPE | Errno::CONNRESET) => true,
                    Err(e) => return Err(e.into()),
                },
                Ok((_, 0)) | Err(Errno::CONNRESET) => true,
                Ok((_, len)) => return Err(io::Error::other(format!("a client sent {len} bytes, expected {size}"))),
                Err(Errno::AGAIN) => false,
                Err(e) => return Err(e.into()),
            };
            if gone {
                if let Some(fd) = socks.remove(&key) {
                    epoll::delete(epoll, &fd)?;
                }
            }
        }
    }
}

/// A client: one call, `ready`, calls until the phase is measure, then
/// timed calls until it is stop.
fn calls(end: Endpoint, args: &PeerArgs, board: &Board) -> io::Result<Report> {
    let mut client = args.transport.peer().client(end, args.size)?;
    let mut caller = Caller::new(&mut *client, args.size);
    caller.call(0)?;
    say(READY)?;
    let mut i = 1;
    while board.get(Word::Phase) < MEASURE {
        caller.call(i)?;
        i += 1;
    }
    // Written before the clock starts, so few page faults land in samples.
    let mut samples = vec![u64::MAX; SAMPLES];
    samples.clear();
    let cpu = cpu_ns();
    let start = Instant::now();
    let mut last = start;
    // At least one measured call, however late this client got to run:
    // every client reports figures.
    loop {
        caller.call(i)?;
        i += 1;
        let now = Instant::now();
        samples.push((now - last).as_nanos() as u64);
        last = now;
        if board.get(Word::Phase) >= STOP {
            break;
        }
    }
    let cpu_ns = cpu_ns() - cpu;
    let wall_ns = (last - start).as_nanos() as u64;
    let n = samples.len() as u64;
    let latency = Summary::of(&mut samples).unwrap_or_default();
    Ok(Report { n, cpu_ns, wall_ns, latency, ..Report::default() })
}
