//! The peers of a scale run (the holders also serve the memory section),
//! each in its own process (`baton bench-peer` with a scale role):
//!
//! - the server: one thread that answers every request, until killed; in a
//!   queued run it stops after the probe's pause call, waits for the
//!   board's go, then times how long it takes to answer the queue;
//! - a holder: opens its connections (distinct server connections: baton's
//!   with `no_share`, one socket each for seqpacket). Idle, it holds them
//!   on one thread (the memory section may ask it to make one call on
//!   each); queued, it gives each its own thread, which sends one message
//!   when the board says so and keeps its connection until the server has
//!   answered them all (so the drain is timed without the disconnects:
//!   a baton server spends some 30 µs of CPU on one, unmapping and
//!   closing, a socket server a few);
//! - the probe (queued runs): pauses the server through one connection,
//!   then sends the measured message through another once the queue is in
//!   place, and reports how long after the server's go its reply arrived.
//!
//! Every process here raises its soft RLIMIT_NOFILE to the hard limit, as
//! baton's runtime does for itself, so the socket server is not held back
//! by a limit baton lifts; and asks the kernel to kill it when the bench
//! parent dies.

use super::board::{Board, Word};
use crate::bench::fds;
use crate::bench::peer::{clock_ns, cpu_ns, say, PeerArgs, Role};
use crate::bench::peers::{Client, Endpoint, Peer, Transport};
use crate::bench::proto::{Report, READY};
use crate::bench::stats::Summary;
use crate::bench::work::Work;
use rustix::fd::{OwnedFd, RawFd};
use rustix::process::{getrlimit, set_parent_process_death_signal, setrlimit, Resource, Rlimit, Signal};
use rustix::time::ClockId;
use std::io;
use std::sync::mpsc;
use std::sync::Arc;

/// Board phases of a queued run: the holders' threads send, then the
/// probe sends, then the server starts answering; once it has reported,
/// the holders' threads let their connections go.
pub const SEND: u32 = 1;
pub const PROBE: u32 = 2;
pub const GO: u32 = 3;
pub const RELEASE: u32 = 4;
/// Board phase of a memory run: each holder calls once on every connection.
pub const CALL: u32 = 1;

/// Where a message says what it is (after the 8-byte stamp).
const MARK_AT: usize = 8;
const ORDINARY: u8 = 0x5a;
const PAUSE: u8 = 1;
const PROBED: u8 = 2;
/// Stack of a queued holder's threads: they only call.
const THREAD_STACK: usize = 128 * 1024;

/// The parts of the `baton bench-peer` command line only throughput, scale
/// and memory peers use.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ManyArgs {
    /// The inherited board descriptor (throughput, scale, memory peers).
    #[arg(long)]
    pub board_fd: Option<RawFd>,
    /// Holder: connections to open; throughput server: clients to accept.
    #[arg(long, default_value_t = 0)]
    pub conns: usize,
    /// Scale server and holders: a queued run.
    #[arg(long)]
    pub queued: bool,
    /// Throughput server: threads that serve.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

impl ManyArgs {
    /// The arguments that differ from the defaults.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        a.extend(self.board_fd.map(|fd| format!("--board-fd={fd}")));
        if self.conns != 0 {
            a.push(format!("--conns={}", self.conns));
        }
        if self.queued {
            a.push("--queued".to_owned());
        }
        if self.threads != 0 {
            a.push(format!("--threads={}", self.threads));
        }
        a
    }

    /// The board descriptor this peer was handed.
    pub fn board_fd(&self) -> io::Result<OwnedFd> {
        let fd = self.board_fd.ok_or_else(|| io::Error::other("this peer needs --board-fd"))?;
        fds::adopt(&[fd])?.pop().ok_or_else(|| io::Error::other("no board"))
    }
}

/// Raises the soft descriptor limit to the hard one.
pub fn raise_nofile() {
    let lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        // An unlimited hard limit may be refused as a soft one; then the
        // soft limit stays, which is as far as baton's runtime gets too.
        let _ = setrlimit(Resource::Nofile, Rlimit { current: lim.maximum, maximum: lim.maximum });
    }
}

/// Runs a scale peer of `peer`'s transport to the end (the server: until killed).
pub fn run(peer: &dyn Peer, end: Endpoint, args: &PeerArgs) -> io::Result<()> {
    set_parent_process_death_signal(Some(Signal::KILL))?;
    raise_nofile();
    match args.role {
        Role::ScaleServer => serve(peer, end, args),
        Role::Holder => hold(end, args),
        Role::Probe => probe(end, args),
        _ => Err(io::Error::other("not a scale role")),
    }
}

/// A new client connection of its own to the server named by `name`.
pub fn connect(transport: Transport, name: Option<&str>, size: usize) -> io::Result<Box<dyn Client>> {
    let name = name.ok_or_else(|| io::Error::other("this peer needs --name"))?;
    match transport {
        Transport::Baton => Ok(Box::new(baton::ConnectBuilder::new().no_share(true).open(name)?)),
        t => t.peer().client(Endpoint { name: Some(name.to_owned()), ..Endpoint::default() }, size),
    }
}

/// One call carrying `stamp` and `mark`; the reply must echo it.
pub fn call(client: &mut dyn Client, size: usize, stamp: u64, mark: u8) -> io::Result<()> {
    let mut msg = vec![ORDINARY; size.max(MARK_AT + 1)];
    msg[..8].copy_from_slice(&stamp.to_le_bytes());
    msg[MARK_AT] = mark;
    let mut reply = vec![0u8; msg.len()];
    client.round_trip(&msg, &mut reply)?;
    if reply != msg {
        return Err(io::Error::other(format!("call {stamp}: the reply is not the request echoed")));
    }
    Ok(())
}

/// The server. Queued: answers until the pause call, waits for the go,
/// answers `iterations` messages (the queue and the probe) and reports
/// their time, and where the probe was among them (`flood`).
fn serve(peer: &dyn Peer, end: Endpoint, args: &PeerArgs) -> io::Result<()> {
    let board = if args.many.queued { Some(Board::map(&args.many.board_fd()?)?) } else { None };
    let mut server = peer.server(end, args.size)?;
    let mut buf = vec![0u8; args.size.max(MARK_AT + 1)];
    say(READY)?;
    if let Some(board) = board {
        loop {
            server.echo(&mut buf, Work::NONE)?;
            if buf[MARK_AT] == PAUSE {
                break;
            }
        }
        board.wait_for(Word::Phase, GO)?;
        let go = clock_ns(ClockId::Monotonic);
        board.set_time(go);
        let cpu = cpu_ns();
        let mut position = None;
        for answered in 0..args.iterations {
            server.echo(&mut buf, Work::NONE)?;
            if buf[MARK_AT] == PROBED {
                position = Some(answered);
            }
        }
        let wall_ns = clock_ns(ClockId::Monotonic) - go;
        let cpu_ns = cpu_ns() - cpu;
        let flood = position.ok_or_else(|| io::Error::other("the probe's message was not among those answered"))?;
        say(&Report { n: args.iterations, cpu_ns, wall_ns, flood, ..Report::default() }.to_string())?;
    }
    loop {
        server.echo(&mut buf, Work::NONE)?;
    }
}

/// A holder of `--conns` connections.
fn hold(end: Endpoint, args: &PeerArgs) -> io::Result<()> {
    let board_fd = Arc::new(args.many.board_fd()?);
    let name = end.name.clone();
    if args.many.queued {
        return hold_queued(&board_fd, name, args);
    }
    let board = Board::map(&board_fd)?;
    let mut conns = (0..args.many.conns)
        .map(|_| connect(args.transport, name.as_deref(), args.size))
        .collect::<io::Result<Vec<_>>>()?;
    say(READY)?;
    board.wait_for(Word::Phase, CALL)?;
    for (i, c) in conns.iter_mut().enumerate() {
        call(&mut **c, args.size, i as u64, ORDINARY)?;
        board.add(Word::Done);
    }
    // Holds on until killed.
    board.wait_for(Word::Phase, u32::MAX)
}

/// A queued holder: a thread per connection, each sending one message
/// once the board's phase is [`SEND`] and closing its connection once it
/// is [`RELEASE`].
fn hold_queued(board_fd: &Arc<OwnedFd>, name: Option<String>, args: &PeerArgs) -> io::Result<()> {
    let (connected, results) = mpsc::channel();
    let mut threads = Vec::with_capacity(args.many.conns);
    for i in 0..args.many.conns {
        let (board_fd, name, connected) = (board_fd.clone(), name.clone(), connected.clone());
        let (transport, size) = (args.transport, args.size);
        let t = std::thread::Builder::new().stack_size(THREAD_STACK).spawn(move || -> io::Result<()> {
            let board = Board::map(&board_fd)?;
            let mut client = match connect(transport, name.as_deref(), size) {
                Ok(c) => c,
                Err(e) => {
                    let _ = connected.send(Err(io::Error::new(e.kind(), e.to_string())));
                    return Err(e);
                }
            };
            let _ = connected.send(Ok(()));
            board.wait_for(Word::Phase, SEND)?;
            board.add(Word::Sent);
            call(&mut *client, size, i as u64, ORDINARY)?;
            // Closed only after the drain was timed: a disconnect is not
            // part of answering a message.
            board.wait_for(Word::Phase, RELEASE)
        })?;
        threads.push(t);
    }
    drop(connected);
    for r in results.iter().take(args.many.conns) {
        r?;
    }
    say(READY)?;
    for t in threads {
        t.join().map_err(|_| io::Error::other("a holder thread panicked"))??;
    }
    Ok(())
}

/// The probe of a queued run.
fn probe(end: Endpoint, args: &PeerArgs) -> io::Result<()> {
    let board = Board::map(&args.many.board_fd()?)?;
    // The pause goes through a connection of its own: a server that looks
    // first at the connection it served last must not favour the probe's.
    let mut pauser = connect(args.transport, end.name.as_deref(), args.size)?;
    let mut client = connect(args.transport, end.name.as_deref(), args.size)?;
    call(&mut *pauser, args.size, 0, PAUSE)?;
    say(READY)?;
    board.wait_for(Word::Phase, PROBE)?;
    board.add(Word::Sent);
    call(&mut *client, args.size, 1, PROBED)?;
    let back = clock_ns(ClockId::Monotonic);
    // The server wrote its go time before it answered anything.
    let latency = back.saturating_sub(board.time());
    let summary = Summary { p50: latency, p99: latency, p999: latency, max: latency };
    say(&Report { n: 1, wall_ns: latency, latency: summary, ..Report::default() }.to_string())
}
