//! The bench parent's side of one scale run: start the server, then the
//! holders (at most [`PER_HOLDER`] connections each) and wait until all
//! their connections are open; then either time an active client's round
//! trips (connected runs) or set the queue up and let the server drain it
//! (queued runs). Every peer still alive at the end, or on an error, is
//! killed.

use super::board::{Board, Word};
use super::peer::{ManyArgs, GO, PROBE, RELEASE, SEND};
use crate::bench::peer::{PeerArgs, Role};
use crate::bench::peers::{Endpoint, Transport};
use crate::bench::process::{expect_line, next_lines, Process, SETUP_TIME};
use crate::bench::proto::{Report, READY};
use crate::bench::runner::RUN_TIME;
use rustix::fd::{AsFd, AsRawFd, OwnedFd};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// Most connections one holder process opens: few enough that it never
/// needs more than the usual soft limit of 1024 descriptors.
pub const PER_HOLDER: usize = 250;
/// How long the parent waits after the last sender said it is sending,
/// so that its message has arrived before the next step.
pub const SETTLE: Duration = Duration::from_millis(20);

/// What a scale run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An active client's round trips with this many clients connected in
    /// all (it included).
    Connected(usize),
    /// A probe message behind this many queued messages.
    Queued(usize),
}

/// One scale run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// 0-based repetition.
    pub run: usize,
    pub transport: Transport,
    pub kind: Kind,
}

/// What every scale run does, beyond its [`Job`].
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    pub size: usize,
    /// The active client's round trips before measuring, and measured.
    pub warmup: u64,
    pub iterations: u64,
    /// Unique among all runs on the machine.
    pub tag: &'a str,
    pub runtime_dir: Option<&'a Path>,
}

/// What a run found.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    /// The active client's report.
    Connected(Report),
    /// The server's report (`n` answered in `wall_ns`, the probe's place
    /// in `flood`) and the probe's (its latency since the go); and the
    /// server's CPU time, ns, while the queued senders' connections closed
    /// (all threads of its process: a baton server's runtime thread does
    /// that work).
    Queued { server: Report, probe: Report, disconnect_cpu_ns: u64 },
}

/// Runs `job` to the end.
pub fn run(job: &Job, plan: &Plan<'_>) -> io::Result<Outcome> {
    let pair = job.transport.peer().prepare(plan.size, plan.tag)?;
    let (board_fd, board) = Board::create()?;
    let queued = match job.kind {
        Kind::Connected(_) => None,
        Kind::Queued(n) => Some(n),
    };
    let peers = Peers { job, plan, board: &board_fd };
    let server_args = |a: &mut PeerArgs| {
        a.many.queued = queued.is_some();
        a.iterations = queued.map_or(0, |n| n as u64 + 1);
    };
    let mut server = peers.spawn(Role::ScaleServer, &pair.server, "server", server_args)?;
    expect_line(&mut server, READY, Instant::now() + SETUP_TIME)?;
    let held = match job.kind {
        Kind::Connected(n) => n.saturating_sub(1),
        Kind::Queued(n) => n,
    };
    let mut holders = start_holders(&peers, &pair.client, held, queued.is_some())?;
    match queued {
        None => {
            let mut client = peers.spawn(Role::Client, &pair.client, "active client", |a| {
                a.warmup = plan.warmup;
                a.iterations = plan.iterations;
            })?;
            let deadline = Instant::now() + SETUP_TIME + RUN_TIME;
            let line = next_lines(&mut [&mut client], deadline)?.remove(0);
            let report = Report::parse(&line).map_err(|e| client.fail(&e))?;
            client.finish(deadline)?;
            Ok(Outcome::Connected(report))
        }
        Some(n) => {
            let mut probe = peers.spawn(Role::Probe, &pair.client, "probe", |_| {})?;
            expect_line(&mut probe, READY, Instant::now() + SETUP_TIME)?;
            let deadline = Instant::now() + SETUP_TIME + RUN_TIME;
            let mut alive = || -> io::Result<()> {
                server.check_running()?;
                holders.iter_mut().try_for_each(Process::check_running)
            };
            board.set(Word::Phase, SEND);
            board.await_count(Word::Sent, n as u32, deadline, &mut alive)?;
            std::thread::sleep(SETTLE);
            board.set(Word::Phase, PROBE);
            board.await_count(Word::Sent, n as u32 + 1, deadline, &mut alive)?;
            std::thread::sleep(SETTLE);
            board.set(Word::Phase, GO);
            let lines = next_lines(&mut [&mut server, &mut probe], deadline)?;
            let server_report = Report::parse(&lines[0]).map_err(|e| server.fail(&e))?;
            let probe_report = Report::parse(&lines[1]).map_err(|e| probe.fail(&e))?;
            // The probe's connections close first, outside the measure.
            probe.finish(deadline)?;
            let before = settled_cpu_ns(server.id(), deadline)?;
            board.set(Word::Phase, RELEASE);
            for h in &mut holders {
                h.finish(deadline)?;
            }
            let disconnect_cpu_ns = settled_cpu_ns(server.id(), deadline)?.saturating_sub(before);
            Ok(Outcome::Queued { server: server_report, probe: probe_report, disconnect_cpu_ns })
        }
    }
}

/// CPU time, ns, of all threads of process `pid` (the first field of each
/// thread's `/proc/<pid>/task/<tid>/schedstat`: nanoseconds, unlike the
/// clock ticks of `stat`).
fn process_cpu_ns(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        // A thread that exits meanwhile leaves nothing to read.
        let Ok(text) = std::fs::read_to_string(task?.path().join("schedstat")) else { continue };
        let ns = text.split_whitespace().next().and_then(|f| f.parse::<u64>().ok());
        total += ns.ok_or_else(|| io::Error::other(format!("/proc/{pid}: unreadable schedstat {text:?}")))?;
    }
    Ok(total)
}

/// [`process_cpu_ns`] once it has stopped growing: the same over
/// [`CPU_QUIET`] (a server with nothing left to do). An error if it still
/// grows at `deadline`: a figure taken then would be part of the work.
fn settled_cpu_ns(pid: u32, deadline: Instant) -> io::Result<u64> {
    let mut last = process_cpu_ns(pid)?;
    loop {
        std::thread::sleep(CPU_QUIET);
        let now = process_cpu_ns(pid)?;
        if now == last {
            return Ok(now);
        }
        if Instant::now() >= deadline {
            return Err(io::Error::other(format!("the server (pid {pid}) was still using CPU at the run's deadline")));
        }
        last = now;
    }
}

/// How long a server's CPU time must stay the same to count as settled.
const CPU_QUIET: Duration = Duration::from_millis(50);

/// Starts holders for `conns` connections in all (queued: a sending thread
/// each) and waits until every one has opened its connections.
pub fn start_holders(peers: &Peers<'_>, end: &Endpoint, conns: usize, queued: bool) -> io::Result<Vec<Process>> {
    let mut holders = Vec::new();
    let mut left = conns;
    while left > 0 {
        let k = left.min(PER_HOLDER);
        left -= k;
        let what = format!("holder {}", holders.len());
        holders.push(peers.spawn(Role::Holder, end, &what, |a| {
            a.many.conns = k;
            a.many.queued = queued;
        })?);
    }
    let deadline = Instant::now() + SETUP_TIME;
    for (i, line) in next_lines(&mut holders.iter_mut().collect::<Vec<_>>(), deadline)?.iter().enumerate() {
        if line != READY {
            return Err(holders[i].fail(&format!("said {line:?} instead of {READY:?}")));
        }
    }
    Ok(holders)
}

/// Starts the peers of one run.
#[derive(Clone, Copy, Debug)]
pub struct Peers<'a> {
    pub job: &'a Job,
    pub plan: &'a Plan<'a>,
    pub board: &'a OwnedFd,
}

impl Peers<'_> {
    /// Starts a `role` peer with endpoint `end` (the board too, except for
    /// the active client), its arguments adjusted by `adjust`.
    pub fn spawn(
        &self,
        role: Role,
        end: &Endpoint,
        what: &str,
        adjust: impl FnOnce(&mut PeerArgs),
    ) -> io::Result<Process> {
        let boarded = !matches!(role, Role::Client | Role::MemoryServer);
        let mut args = PeerArgs {
            size: self.plan.size,
            many: ManyArgs { board_fd: boarded.then(|| self.board.as_raw_fd()), ..ManyArgs::default() },
            ..PeerArgs::new(self.job.transport, role, end)
        };
        adjust(&mut args);
        let mut fds: Vec<_> = end.fds.iter().map(|fd| fd.as_fd()).collect();
        fds.extend(boarded.then(|| self.board.as_fd()));
        let what = format!("the {} {what} (scale run)", self.job.transport.name());
        Process::spawn(what, &args, self.plan.runtime_dir, &fds)
    }
}
