//! The bench parent's side of one throughput run: start the server and
//! wait until it is ready, start the clients and wait until each has made
//! a call, let them warm up, set the board's phase to measure, wait the
//! measured time, set it to stop, collect every report. Every peer still
//! alive at the end, or on an error, is killed.

use super::peer::{MEASURE, STOP};
use crate::bench::peer::{PeerArgs, Role};
use crate::bench::peers::{Endpoint, Transport};
use crate::bench::process::{expect_line, next_lines, Process, SETUP_TIME};
use crate::bench::proto::{Report, READY};
use crate::bench::runner::RUN_TIME;
use crate::bench::scale::board::{Board, Word};
use crate::bench::scale::peer::ManyArgs;
use rustix::fd::{AsFd, AsRawFd, OwnedFd};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// One throughput run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// 0-based repetition.
    pub run: usize,
    pub transport: Transport,
}

/// What every throughput run does, beyond its [`Job`].
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    pub size: usize,
    pub clients: usize,
    pub threads: usize,
    pub warmup: Duration,
    pub measure: Duration,
    pub tag: &'a str,
    pub runtime_dir: Option<&'a Path>,
}

/// The reports of one run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Its CPU time over the measured phase.
    pub server: Report,
    pub clients: Vec<Report>,
}

/// Runs `job` to the end.
pub fn run(job: &Job, plan: &Plan<'_>) -> io::Result<Outcome> {
    let pair = job.transport.peer().prepare(plan.size, plan.tag)?;
    let (board_fd, board) = Board::create()?;
    let mut server = spawn(job, plan, Role::ThroughputServer, &pair.server, &board_fd, "server")?;
    expect_line(&mut server, READY, Instant::now() + SETUP_TIME)?;
    let mut clients = (0..plan.clients)
        .map(|i| spawn(job, plan, Role::ThroughputClient, &pair.client, &board_fd, &format!("client {i}")))
        .collect::<io::Result<Vec<_>>>()?;
    let deadline = Instant::now() + SETUP_TIME;
    for (i, line) in next_lines(&mut clients.iter_mut().collect::<Vec<_>>(), deadline)?.iter().enumerate() {
        if line != READY {
            return Err(clients[i].fail(&format!("said {line:?} instead of {READY:?}")));
        }
    }
    std::thread::sleep(plan.warmup);
    board.set(Word::Phase, MEASURE);
    std::thread::sleep(plan.measure);
    board.set(Word::Phase, STOP);
    let deadline = Instant::now() + RUN_TIME;
    let mut all: Vec<&mut Process> = vec![&mut server];
    all.extend(clients.iter_mut());
    let lines = next_lines(&mut all, deadline)?;
    let server_report = Report::parse(&lines[0]).map_err(|e| server.fail(&e))?;
    let mut reports = Vec::with_capacity(clients.len());
    for (client, line) in clients.iter_mut().zip(&lines[1..]) {
        reports.push(Report::parse(line).map_err(|e| client.fail(&e))?);
        client.finish(deadline)?;
    }
    drop(server); // it serves until killed, which dropping it does
    Ok(Outcome { server: server_report, clients: reports })
}

fn spawn(job: &Job, plan: &Plan<'_>, role: Role, end: &Endpoint, board: &OwnedFd, what: &str) -> io::Result<Process> {
    let args = PeerArgs {
        size: plan.size,
        many: ManyArgs {
            board_fd: Some(board.as_raw_fd()),
            conns: plan.clients,
            threads: plan.threads,
            ..ManyArgs::default()
        },
        ..PeerArgs::new(job.transport, role, end)
    };
    let mut fds: Vec<_> = end.fds.iter().map(|fd| fd.as_fd()).collect();
    fds.push(board.as_fd());
    Process::spawn(format!("the {} throughput {what}", job.transport.name()), &args, plan.runtime_dir, &fds)
}
