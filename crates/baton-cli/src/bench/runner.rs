//! The bench parent's side of one run: prepare the transport, start the
//! server peer, wait until it is ready, start the client peer, collect both
//! reports. A peer that fails, hangs or exits early fails the run; peers
//! still alive then are killed.

use super::peer::{PeerArgs, Role};
use super::peers::Endpoint;
use super::plan::Job;
use super::process::{expect_line, next_lines, Process, SETUP_TIME};
use super::proto::{Report, READY};
use rustix::fd::AsFd;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// Fixed allowance for a run, on top of [`PER_ROUND_TRIP`] and
/// [`PER_BYTE`] for each.
pub const RUN_TIME: Duration = Duration::from_secs(60);
/// Allowance per round trip: far beyond any sane one, so only a stuck peer
/// runs out of time.
const PER_ROUND_TRIP: Duration = Duration::from_micros(500);
/// Allowance per byte moved (request and reply): 100 MB/s, far below any
/// sane transport.
const PER_BYTE: Duration = Duration::from_nanos(10);

/// What a run is asked to do beyond its [`Job`].
#[derive(Clone, Copy, Debug)]
pub struct Load<'a> {
    pub warmup: u64,
    pub iterations: u64,
    /// Unique among all runs on the machine (baton names the channel after it).
    pub tag: &'a str,
    /// `BATON_RUNTIME_DIR` for the peers, if the bench chose one.
    pub runtime_dir: Option<&'a Path>,
}

/// Both peers' reports of one run.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub client: Report,
    pub server: Report,
}

/// Runs one pair of peers to the end.
pub fn run(job: &Job, load: &Load<'_>) -> io::Result<Outcome> {
    let pair = job.transport.peer().prepare(job.size, load.tag)?;
    let mut server = spawn(job, load, Role::Server, &pair.server)?;
    expect_line(&mut server, READY, Instant::now() + SETUP_TIME)?;
    let mut client = spawn(job, load, Role::Client, &pair.client)?;
    let count = u32::try_from(load.warmup + load.iterations).unwrap_or(u32::MAX);
    let bytes = u32::try_from(2 * job.size).unwrap_or(u32::MAX);
    let each = PER_ROUND_TRIP.saturating_add(PER_BYTE.saturating_mul(bytes));
    let deadline = Instant::now() + SETUP_TIME + RUN_TIME + each.saturating_mul(count);
    let lines = next_lines(&mut [&mut client, &mut server], deadline)?;
    let client_report = Report::parse(&lines[0]).map_err(|e| client.fail(&e))?;
    let server_report = Report::parse(&lines[1]).map_err(|e| server.fail(&e))?;
    client.finish(deadline)?;
    server.finish(deadline)?;
    Ok(Outcome { client: client_report, server: server_report })
}

/// Starts one half of `job`'s pair with its endpoint `end`.
fn spawn(job: &Job, load: &Load<'_>, role: Role, end: &Endpoint) -> io::Result<Process> {
    let cpu = if role == Role::Server { job.cpus.server } else { job.cpus.client };
    let args = PeerArgs {
        cpu,
        size: job.size,
        warmup: load.warmup,
        iterations: load.iterations,
        ..PeerArgs::new(job.transport, role, end)
    };
    let fds: Vec<_> = end.fds.iter().map(|fd| fd.as_fd()).collect();
    let what = format!("the {} {} ({})", job.transport.name(), role.name(), job.placement.name());
    Process::spawn(what, &args, load.runtime_dir, &fds)
}
