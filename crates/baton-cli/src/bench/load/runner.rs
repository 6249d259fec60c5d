//! The bench parent's side of one load run: start the server and wait until
//! it is ready, start the flooders and wait until each has made a call,
//! start the real-time client and read its report, then stop the flooders
//! (the board's stop word; each finishes its call and exits) and kill the
//! server. On any error every peer still alive is killed.

use super::board::Board;
use super::peer::LoadArgs;
use crate::bench::peer::{PeerArgs, Role};
use crate::bench::peers::{Endpoint, Transport};
use crate::bench::process::{expect_line, next_lines, Process, SETUP_TIME};
use crate::bench::proto::{Report, READY};
use crate::bench::runner::RUN_TIME;
use crate::bench::work::Work;
use rustix::fd::{AsFd, AsRawFd, OwnedFd};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// One load run: a transport, with or without flooders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// 0-based repetition.
    pub run: usize,
    pub transport: Transport,
    /// Flooder processes (0: the real-time client alone).
    pub flooders: usize,
}

/// What every load run does, beyond its [`Job`].
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    /// Request and reply size, bytes.
    pub size: usize,
    pub work: Work,
    /// The real-time client's SCHED_FIFO priority.
    pub priority: i32,
    pub period: Duration,
    /// Real-time calls before measuring, and measured.
    pub warmup: u64,
    pub calls: u64,
    /// Unique among all runs on the machine (names the channel or socket).
    pub tag: &'a str,
    /// `BATON_RUNTIME_DIR` for the peers, if the bench chose one.
    pub runtime_dir: Option<&'a Path>,
}

/// Runs `job` to the end: the real-time client's report.
pub fn run(job: &Job, plan: &Plan<'_>) -> io::Result<Report> {
    let pair = job.transport.peer().prepare(plan.size, plan.tag)?;
    let (board_fd, board) = Board::create()?;
    let start = |role, end, flooder| spawn(job, plan, role, end, flooder, &board_fd);
    let mut server = start(Role::LoadServer, &pair.server, 0)?;
    expect_line(&mut server, READY, Instant::now() + SETUP_TIME)?;
    let mut flooders =
        (0..job.flooders).map(|i| start(Role::Flooder, &pair.client, i)).collect::<io::Result<Vec<_>>>()?;
    let deadline = Instant::now() + SETUP_TIME;
    for (i, line) in next_lines(&mut flooders.iter_mut().collect::<Vec<_>>(), deadline)?.iter().enumerate() {
        if line != READY {
            return Err(flooders[i].fail(&format!("said {line:?} instead of {READY:?}")));
        }
    }
    let mut client = start(Role::RtClient, &pair.client, 0)?;
    let periods = u32::try_from(plan.warmup + plan.calls).unwrap_or(u32::MAX);
    // Twice the paced time: a client slowed down by the load still makes it.
    let deadline = Instant::now() + SETUP_TIME + RUN_TIME + (plan.period * 2).saturating_mul(periods);
    let line = next_lines(&mut [&mut client], deadline)?.remove(0);
    let report = Report::parse(&line).map_err(|e| client.fail(&e))?;
    client.finish(deadline)?;
    board.stop();
    for flooder in &mut flooders {
        flooder.finish(deadline)?;
    }
    drop(server); // it serves until killed, which dropping it does
    Ok(report)
}

/// Starts one peer of `job` (flooder number `flooder`, if a flooder).
fn spawn(
    job: &Job,
    plan: &Plan<'_>,
    role: Role,
    end: &Endpoint,
    flooder: usize,
    board: &OwnedFd,
) -> io::Result<Process> {
    let clients = role != Role::LoadServer;
    let load = LoadArgs {
        work_rounds: plan.work.rounds,
        board: clients.then(|| board.as_raw_fd()),
        flooder,
        rt_priority: if role == Role::RtClient { plan.priority } else { 0 },
        period_ns: plan.period.as_nanos() as u64,
    };
    let args = PeerArgs {
        size: plan.size,
        warmup: plan.warmup,
        iterations: plan.calls,
        load,
        ..PeerArgs::new(job.transport, role, end)
    };
    let mut fds: Vec<_> = end.fds.iter().map(|fd| fd.as_fd()).collect();
    fds.extend(clients.then(|| board.as_fd()));
    let what = match role {
        Role::Flooder => format!("flooder {flooder}"),
        _ => role.name().to_owned(),
    };
    Process::spawn(format!("the {} {what} (load run)", job.transport.name()), &args, plan.runtime_dir, &fds)
}
