//! One half of a benchmark pair, in its own process (`baton bench-peer`,
//! started by the bench parent): pin, set up, warm up, then time each round
//! trip and print a [`Report`]. The peers of the load section (a server
//! that works on each request, flooders, the real-time client) are in
//! `load/peer.rs`; they share this command line.
//!
//! Timing: `clock_gettime(CLOCK_MONOTONIC)` (through [`Instant`]) is read
//! once between consecutive round trips, so each sample is one round trip
//! plus one clock read and the samples add up to the wall time. CPU time is
//! `CLOCK_PROCESS_CPUTIME_ID` (user + system, all threads) over the same
//! round trips, in each process.
//!
//! Checking: every request carries its call's number at both ends, and the
//! reply must be the request echoed: every byte of it during the warm-up,
//! the numbers while timing (comparing a whole 1 MiB reply would cost as
//! much as moving it).

use super::fds;
use super::load::peer::{self as load_peer, LoadArgs};
use super::memory::peer as memory_peer;
use super::peers::{Client, Endpoint, Server, Transport};
use super::proto::{Report, READY};
use super::read::{self, ReadArgs};
use super::scale::peer::{self as scale_peer, ManyArgs};
use super::stats::Summary;
use super::throughput::peer as throughput_peer;
use super::work::Work;
use rustix::fd::{AsRawFd, RawFd};
use rustix::thread::{sched_setaffinity, CpuSet};
use rustix::time::{clock_gettime, ClockId};
use std::io::{self, Write};
use std::time::Instant;

/// Which half a peer process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Server,
    Client,
    /// The load section's server: answers forever, with work per request.
    LoadServer,
    /// A load section client that calls back to back until told to stop.
    Flooder,
    /// The load section's real-time client: paced calls, each timed.
    RtClient,
    /// The throughput section's server: several threads answering.
    ThroughputServer,
    /// A throughput section client: calls back to back, each timed.
    ThroughputClient,
    /// The scale section's server (queued runs: paused, then timed).
    ScaleServer,
    /// Holds idle connections (scale, memory) or queued senders (scale).
    Holder,
    /// The scale section's probe: the message behind the queue.
    Probe,
    /// The memory section's server: baton, reports its segment geometry.
    MemoryServer,
    /// The read section's resource manager: one file served from memory.
    ReadServer,
    /// The read section's reader: timed 4 KiB reads, one way.
    ReadClient,
}

impl Role {
    /// The name on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
            Role::LoadServer => "load-server",
            Role::Flooder => "flooder",
            Role::RtClient => "rt-client",
            Role::ThroughputServer => "throughput-server",
            Role::ThroughputClient => "throughput-client",
            Role::ScaleServer => "scale-server",
            Role::Holder => "holder",
            Role::Probe => "probe",
            Role::MemoryServer => "memory-server",
            Role::ReadServer => "read-server",
            Role::ReadClient => "read-client",
        }
    }
}

/// The hidden `baton bench-peer` command line; the bench parent builds it
/// with [`PeerArgs::to_args`].
#[derive(Clone, Debug, clap::Args)]
pub struct PeerArgs {
    #[arg(long)]
    pub transport: Transport,
    #[arg(long)]
    pub role: Role,
    /// Pin to this CPU before anything else (threads started later inherit it).
    #[arg(long)]
    pub cpu: Option<usize>,
    /// Request and reply size in bytes.
    #[arg(long)]
    pub size: usize,
    #[arg(long)]
    pub warmup: u64,
    #[arg(long)]
    pub iterations: u64,
    /// Inherited descriptors this half owns, in its transport's order.
    #[arg(long = "fd")]
    pub fds: Vec<RawFd>,
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub many: ManyArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

impl PeerArgs {
    /// The arguments of a `role` peer of `transport` with endpoint `end`;
    /// the counts are 0 and nothing is pinned until the caller says otherwise.
    pub fn new(transport: Transport, role: Role, end: &Endpoint) -> PeerArgs {
        PeerArgs {
            transport,
            role,
            cpu: None,
            size: 0,
            warmup: 0,
            iterations: 0,
            fds: end.fds.iter().map(|fd| fd.as_raw_fd()).collect(),
            name: end.name.clone(),
            load: LoadArgs::default(),
            many: ManyArgs::default(),
            read: ReadArgs::default(),
        }
    }

    /// The arguments after `baton bench-peer`.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = vec![
            format!("--transport={}", self.transport.name()),
            format!("--role={}", self.role.name()),
            format!("--size={}", self.size),
            format!("--warmup={}", self.warmup),
            format!("--iterations={}", self.iterations),
        ];
        a.extend(self.cpu.map(|c| format!("--cpu={c}")));
        a.extend(self.fds.iter().map(|fd| format!("--fd={fd}")));
        a.extend(self.name.as_ref().map(|n| format!("--name={n}")));
        a.extend(self.load.to_args());
        a.extend(self.many.to_args());
        a.extend(self.read.to_args());
        a
    }
}

/// Runs one half to the end and prints its report.
pub fn run(args: &PeerArgs) -> io::Result<()> {
    let end = Endpoint { fds: fds::adopt(&args.fds)?, name: args.name.clone(), ..Endpoint::default() };
    if let Some(cpu) = args.cpu {
        let mut set = CpuSet::new();
        set.set(cpu);
        sched_setaffinity(None, &set)?;
    }
    let peer = args.transport.peer();
    let report = match args.role {
        Role::Server => {
            let mut server = peer.server(end, args.size)?;
            say(READY)?;
            serve(&mut *server, args)?
        }
        Role::Client => measure(&mut *peer.client(end, args.size)?, args)?,
        Role::LoadServer | Role::Flooder | Role::RtClient => return load_peer::run(peer, end, args),
        Role::ThroughputServer | Role::ThroughputClient => return throughput_peer::run(end, args),
        Role::ScaleServer | Role::Holder | Role::Probe => return scale_peer::run(peer, end, args),
        Role::MemoryServer => return memory_peer::run(end, args),
        Role::ReadServer => return read::server::run(args),
        Role::ReadClient => read::client::run(args)?,
    };
    say(&report.to_string())
}

/// Prints one line for the parent.
pub fn say(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// The server loop: warm-up, then `iterations` echoes with CPU time taken.
fn serve(server: &mut dyn Server, args: &PeerArgs) -> io::Result<Report> {
    let mut buf = vec![0u8; args.size];
    for _ in 0..args.warmup {
        server.echo(&mut buf, Work::NONE)?;
    }
    let cpu = cpu_ns();
    for _ in 0..args.iterations {
        server.echo(&mut buf, Work::NONE)?;
    }
    Ok(Report { n: args.iterations, cpu_ns: cpu_ns() - cpu, ..Report::default() })
}

/// The client loop: warm-up, then `iterations` timed round trips. Warm-up
/// calls check every byte of each reply; timed calls check only the
/// call's stamps, so that a big message's check costs next to nothing.
fn measure(client: &mut dyn Client, args: &PeerArgs) -> io::Result<Report> {
    let mut caller = Caller::new(client, args.size);
    for i in 0..args.warmup {
        caller.call(i)?;
    }
    // Written before the clock starts, so no page fault lands in a sample.
    let mut samples = vec![u64::MAX; args.iterations as usize];
    let cpu = cpu_ns();
    let start = Instant::now();
    let mut last = start;
    for (i, sample) in (args.warmup..).zip(samples.iter_mut()) {
        caller.call_checking(i, Check::Stamps)?;
        let now = Instant::now();
        *sample = (now - last).as_nanos() as u64;
        last = now;
    }
    let cpu_ns = cpu_ns() - cpu;
    let wall_ns = (last - start).as_nanos() as u64;
    let latency = Summary::of(&mut samples).unwrap_or_default();
    Ok(Report { n: args.iterations, cpu_ns, wall_ns, latency, ..Report::default() })
}

/// How much of a reply a call checks against its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Every byte.
    Whole,
    /// The call's stamps: its number in the first 8 bytes and, from 16
    /// bytes up, its number inverted in the last 8 (both ends of a big
    /// message, which a stream moves in many pieces).
    Stamps,
}

/// A client with its request and reply buffers, making checked calls.
pub struct Caller<'a> {
    client: &'a mut dyn Client,
    msg: Vec<u8>,
    reply: Vec<u8>,
}

/// Bytes of a stamp.
const STAMP: usize = 8;

impl<'a> Caller<'a> {
    /// Calls through `client` with `size`-byte requests and replies.
    pub fn new(client: &'a mut dyn Client, size: usize) -> Caller<'a> {
        // A pattern rather than one repeated byte: bytes out of place show.
        let msg = (0..size).map(|j| ((j as u32).wrapping_mul(0x9e37_79b1) >> 24) as u8).collect();
        Caller { client, msg, reply: vec![0u8; size] }
    }

    /// Round trip `i`: its request carries `i`, and the reply must be the
    /// request echoed, every byte of it.
    pub fn call(&mut self, i: u64) -> io::Result<()> {
        self.call_checking(i, Check::Whole)
    }

    /// Round trip `i`, its reply checked as `check` says.
    pub fn call_checking(&mut self, i: u64, check: Check) -> io::Result<()> {
        // Fresh stamps in every request prove the reply is this call's.
        let len = self.msg.len();
        let head = STAMP.min(len);
        self.msg[..head].copy_from_slice(&i.to_le_bytes()[..head]);
        let tail = if len >= 2 * STAMP { len - STAMP } else { len };
        self.msg[tail..].copy_from_slice(&(!i).to_le_bytes()[..len - tail]);
        self.client.round_trip(&self.msg, &mut self.reply)?;
        let echoed = match check {
            Check::Whole => self.reply == self.msg,
            Check::Stamps => self.reply[..head] == self.msg[..head] && self.reply[tail..] == self.msg[tail..],
        };
        if !echoed {
            return Err(io::Error::other(format!("round trip {i}: the reply is not the request echoed")));
        }
        Ok(())
    }
}

/// CPU time of this process so far, user + system, all threads.
pub fn cpu_ns() -> u64 {
    clock_ns(ClockId::ProcessCPUTime)
}

/// Clock `id` now, ns.
pub fn clock_ns(id: ClockId) -> u64 {
    let t = clock_gettime(id);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echoes the request, then spoils byte `spoil` of the reply, if any.
    struct Echo {
        spoil: Option<usize>,
    }

    impl Client for Echo {
        fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()> {
            reply.copy_from_slice(msg);
            if let Some(at) = self.spoil {
                reply[at] ^= 1;
            }
            Ok(())
        }
    }

    #[test]
    fn whole_checks_every_byte_stamps_only_the_ends() {
        for size in [1, 8, 15, 16, 4096] {
            let mut echo = Echo { spoil: None };
            let mut caller = Caller::new(&mut echo, size);
            caller.call(7).unwrap();
            caller.call_checking(8, Check::Stamps).unwrap();
        }
        let mut middle = Echo { spoil: Some(100) };
        let mut caller = Caller::new(&mut middle, 4096);
        assert!(caller.call(1).is_err());
        caller.call_checking(2, Check::Stamps).unwrap();
        for end in [0, 4095] {
            let mut end = Echo { spoil: Some(end) };
            assert!(Caller::new(&mut end, 4096).call_checking(3, Check::Stamps).is_err());
        }
    }

    #[test]
    fn every_call_stamps_its_request() {
        let mut echo = Echo { spoil: None };
        let mut caller = Caller::new(&mut echo, 32);
        caller.call(0x0102).unwrap();
        assert_eq!(caller.msg[..8], 0x0102u64.to_le_bytes());
        assert_eq!(caller.msg[24..], (!0x0102u64).to_le_bytes());
    }
}
