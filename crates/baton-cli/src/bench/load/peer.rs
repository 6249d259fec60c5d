//! The peers of a load run, each in its own process (`baton bench-peer`
//! with a load role):
//!
//! - the server: one thread at SCHED_OTHER that answers every request after
//!   the [`Work`], until the bench parent kills it;
//! - a flooder (SCHED_OTHER): calls back to back until the board says stop,
//!   counting its calls on the board;
//! - the real-time client: SCHED_FIFO at the given priority, one call per
//!   period (it sleeps until the next period starts, `clock_nanosleep` on
//!   an absolute `CLOCK_MONOTONIC` time, so it never spins), each call
//!   timed on its own; it reports those times and the flooders' calls
//!   during its measurement.
//!
//! Each asks the kernel to kill it when the bench parent dies, so none can
//! outlive the bench.

use super::board::Board;
use crate::bench::fds;
use crate::bench::peer::{clock_ns, cpu_ns, say, Caller, PeerArgs, Role};
use crate::bench::peers::{Client, Endpoint, Peer};
use crate::bench::proto::{Report, READY};
use crate::bench::stats::Summary;
use crate::bench::work::Work;
use rustix::fd::RawFd;
use rustix::process::{set_parent_process_death_signal, Signal};
use rustix::thread::clock_nanosleep_absolute;
use rustix::time::{ClockId, Timespec};
use std::io;
use std::time::Instant;

/// The parts of the `baton bench-peer` command line only load peers use.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct LoadArgs {
    /// Server: rounds of work per request.
    #[arg(long, default_value_t = 0)]
    pub work_rounds: u32,
    /// Flooders and the real-time client: the inherited board descriptor.
    #[arg(long)]
    pub board: Option<RawFd>,
    /// Flooder: its number, 0-based (its counter on the board).
    #[arg(long, default_value_t = 0)]
    pub flooder: usize,
    /// Real-time client: its SCHED_FIFO priority.
    #[arg(long, default_value_t = 0)]
    pub rt_priority: i32,
    /// Real-time client: from the start of one call to the start of the next, ns.
    #[arg(long, default_value_t = 0)]
    pub period_ns: u64,
}

impl LoadArgs {
    /// The arguments that differ from the defaults.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        let mut add = |key: &str, value: u64| {
            if value != 0 {
                a.push(format!("--{key}={value}"));
            }
        };
        add("work-rounds", u64::from(self.work_rounds));
        add("flooder", self.flooder as u64);
        add("rt-priority", self.rt_priority as u64);
        add("period-ns", self.period_ns);
        a.extend(self.board.map(|fd| format!("--board={fd}")));
        a
    }

    /// The board this peer was handed.
    fn board(&self) -> io::Result<Board> {
        let fd = self.board.ok_or_else(|| io::Error::other("this peer needs --board"))?;
        let fd = fds::adopt(&[fd])?.pop().ok_or_else(|| io::Error::other("no board"))?;
        Board::map(&fd)
    }
}

/// Runs a load peer of `peer`'s transport to the end (the server: until killed).
pub fn run(peer: &dyn Peer, end: Endpoint, args: &PeerArgs) -> io::Result<()> {
    set_parent_process_death_signal(Some(Signal::KILL))?;
    match args.role {
        Role::LoadServer => {
            let mut server = peer.server(end, args.size)?;
            let work = Work { rounds: args.load.work_rounds };
            let mut buf = vec![0u8; args.size];
            say(READY)?;
            loop {
                server.echo(&mut buf, work)?;
            }
        }
        Role::Flooder => flood(&mut *peer.client(end, args.size)?, args),
        Role::RtClient => {
            let mut client = peer.client(end, args.size)?;
            // After connecting, so only this thread runs at real-time priority.
            baton::set_thread_priority(baton::Policy::Fifo, args.load.rt_priority)?;
            let report = measure(&mut *client, args)?;
            say(&report.to_string())
        }
        _ => Err(io::Error::other("not a load role")),
    }
}

/// A flooder: one call, `ready`, then calls until the board says stop.
fn flood(client: &mut dyn Client, args: &PeerArgs) -> io::Result<()> {
    let board = args.load.board()?;
    let mut caller = Caller::new(client, args.size);
    caller.call(0)?;
    say(READY)?;
    let mut calls = 0u32;
    while !board.stopped() {
        calls = calls.wrapping_add(1);
        caller.call(u64::from(calls))?;
        board.count(args.load.flooder, calls);
    }
    Ok(())
}

/// The real-time client: `warmup` paced calls, then `iterations` paced
/// calls, each timed from just before it starts to just after it returns.
fn measure(client: &mut dyn Client, args: &PeerArgs) -> io::Result<Report> {
    let board = args.load.board()?;
    let mut caller = Caller::new(client, args.size);
    let mut pacer = Pacer::new(args.load.period_ns);
    for i in 0..args.warmup {
        pacer.wait()?;
        caller.call(i)?;
    }
    // Written before the clock starts, so no page fault lands in a sample.
    let mut samples = vec![u64::MAX; args.iterations as usize];
    let flood = board.counts();
    let cpu = cpu_ns();
    let start = Instant::now();
    for (i, sample) in (args.warmup..).zip(samples.iter_mut()) {
        pacer.wait()?;
        let t = Instant::now();
        caller.call(i)?;
        *sample = t.elapsed().as_nanos() as u64;
    }
    let wall_ns = start.elapsed().as_nanos() as u64;
    let flood = board.calls_since(&flood);
    let cpu_ns = cpu_ns() - cpu;
    let latency = Summary::of(&mut samples).unwrap_or_default();
    Ok(Report { n: args.iterations, cpu_ns, wall_ns, latency, flood })
}

/// Starts of periods on `CLOCK_MONOTONIC`. A call that overruns its period
/// moves the next start to "now": the client never catches up in a burst.
#[derive(Debug)]
struct Pacer {
    period_ns: u64,
    next_ns: u64,
}

impl Pacer {
    fn new(period_ns: u64) -> Pacer {
        Pacer { period_ns, next_ns: now_ns() }
    }

    /// Sleeps until the next period starts.
    fn wait(&mut self) -> io::Result<()> {
        let now = now_ns();
        if now < self.next_ns {
            let at = Timespec {
                tv_sec: (self.next_ns / 1_000_000_000) as i64,
                tv_nsec: (self.next_ns % 1_000_000_000) as i64,
            };
            loop {
                match clock_nanosleep_absolute(ClockId::Monotonic, &at) {
                    Err(rustix::io::Errno::INTR) => {}
                    other => break other?,
                }
            }
        } else {
            self.next_ns = now;
        }
        self.next_ns += self.period_ns;
        Ok(())
    }
}

fn now_ns() -> u64 {
    clock_ns(ClockId::Monotonic)
}
