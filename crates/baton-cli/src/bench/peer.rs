//! One half of a benchmark pair, in its own process (`baton bench-peer`,
//! started by the bench parent): pin, set up, warm up, then time each round
//! trip and print a [`Report`].
//!
//! Timing: `clock_gettime(CLOCK_MONOTONIC)` (through [`Instant`]) is read
//! once between consecutive round trips, so each sample is one round trip
//! plus one clock read and the samples add up to the wall time. CPU time is
//! `CLOCK_PROCESS_CPUTIME_ID` (user + system, all threads) over the same
//! round trips, in each process.

use super::fds;
use super::peers::{Client, Endpoint, Server, Transport};
use super::proto::{Report, READY};
use super::stats::Summary;
use rustix::fd::RawFd;
use rustix::thread::{sched_setaffinity, CpuSet};
use rustix::time::{clock_gettime, ClockId};
use std::io::{self, Write};
use std::time::Instant;

/// Which half a peer process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Server,
    Client,
}

impl Role {
    /// The name on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
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
}

impl PeerArgs {
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
        a
    }
}

/// Runs one half to the end and prints its report.
pub fn run(args: &PeerArgs) -> io::Result<()> {
    let end = Endpoint { fds: fds::adopt(&args.fds)?, name: args.name.clone() };
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
    };
    say(&report.to_string())
}

fn say(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// The server loop: warm-up, then `iterations` echoes with CPU time taken.
fn serve(server: &mut dyn Server, args: &PeerArgs) -> io::Result<Report> {
    let mut buf = vec![0u8; args.size];
    for _ in 0..args.warmup {
        server.echo(&mut buf)?;
    }
    let cpu = cpu_ns();
    for _ in 0..args.iterations {
        server.echo(&mut buf)?;
    }
    Ok(Report { n: args.iterations, cpu_ns: cpu_ns() - cpu, ..Report::default() })
}

/// The client loop: warm-up, then `iterations` timed round trips.
fn measure(client: &mut dyn Client, args: &PeerArgs) -> io::Result<Report> {
    let mut msg = vec![0x5a; args.size];
    let mut reply = vec![0u8; args.size];
    let mut call = |i: u64| -> io::Result<()> {
        // A fresh stamp in every request proves the reply is this call's.
        let stamp = i.to_le_bytes();
        let k = stamp.len().min(msg.len());
        msg[..k].copy_from_slice(&stamp[..k]);
        client.round_trip(&msg, &mut reply)?;
        if reply != msg {
            return Err(io::Error::other(format!("round trip {i}: the reply is not the request echoed")));
        }
        Ok(())
    };
    for i in 0..args.warmup {
        call(i)?;
    }
    // Written before the clock starts, so no page fault lands in a sample.
    let mut samples = vec![u64::MAX; args.iterations as usize];
    let cpu = cpu_ns();
    let start = Instant::now();
    let mut last = start;
    for (i, sample) in (args.warmup..).zip(samples.iter_mut()) {
        call(i)?;
        let now = Instant::now();
        *sample = (now - last).as_nanos() as u64;
        last = now;
    }
    let cpu_ns = cpu_ns() - cpu;
    let wall_ns = (last - start).as_nanos() as u64;
    let latency = Summary::of(&mut samples).unwrap_or_default();
    Ok(Report { n: args.iterations, cpu_ns, wall_ns, latency })
}

/// CPU time of this process so far, user + system, all threads.
fn cpu_ns() -> u64 {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}
