//! The throughput section of `baton bench` (issue 4): calls per second
//! through one server process with [`THREADS`] serving threads, from
//! [`CLIENTS`] client processes calling back to back, for baton and for a
//! server of the same shape on Unix SOCK_SEQPACKET sockets.
//!
//! Each run starts the server, then the clients; after a warm-up the
//! bench parent lets the clients measure for a fixed time (the board's
//! phase, `scale/board.rs`). The clients report their calls, the time of
//! each and their CPU time; the server reports its CPU time over the same
//! phase. Runs are interleaved (baton, seqpacket, baton, ...), unpinned;
//! each figure is the median over runs.
//!
//! - `runner.rs`: one run in the parent.
//! - `peer.rs`: the server and client processes.
//! - `results.rs`, `table.rs`, `json.rs`: figures, the goal, the report.

pub mod json;
pub mod peer;
pub mod results;
mod runner;
pub mod table;

use super::peers::Transport;
use super::progress::Progress;
use results::{Results, Setup};
use std::io;
use std::path::Path;
use std::time::Duration;

/// Client processes.
pub const CLIENTS: usize = 4;
/// Server threads.
pub const THREADS: usize = 2;
/// Calls before measuring.
const WARMUP: Duration = Duration::from_millis(200);

/// What the section is asked to do.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    pub size: usize,
    /// How long the clients measure, per run.
    pub measure: Duration,
    pub runs: usize,
    pub transports: &'a [Transport],
    pub runtime_dir: Option<&'a Path>,
}

/// Whether the section can run: `Err` says why not.
pub fn check(transports: &[Transport]) -> Result<(), String> {
    super::scale::check(transports)
}

/// Runs the section (after [`check`]).
pub fn run(opts: &Options<'_>) -> io::Result<Results> {
    let setup = Setup {
        size: opts.size,
        clients: CLIENTS,
        threads: THREADS,
        warmup_ns: WARMUP.as_nanos() as u64,
        measure_ns: opts.measure.as_nanos() as u64,
        runs: opts.runs,
    };
    let chosen: Vec<Transport> = super::scale::TRANSPORTS.into_iter().filter(|t| opts.transports.contains(t)).collect();
    let jobs: Vec<runner::Job> =
        (0..opts.runs).flat_map(|run| chosen.iter().map(move |&transport| runner::Job { run, transport })).collect();
    eprintln!(
        "baton bench: throughput: {} run(s) of {CLIENTS} clients x {THREADS} server threads, {} ms each (+{} ms warm-up)",
        jobs.len(),
        opts.measure.as_millis(),
        WARMUP.as_millis()
    );
    let mut progress = Progress::new(jobs.len());
    let mut done = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let tag = format!("{}-throughput-{i}", std::process::id());
        let plan = runner::Plan {
            size: opts.size,
            clients: CLIENTS,
            threads: THREADS,
            warmup: WARMUP,
            measure: opts.measure,
            tag: &tag,
            runtime_dir: opts.runtime_dir,
        };
        let outcome = runner::run(job, &plan)?;
        let calls: u64 = outcome.clients.iter().map(|c| c.n).sum();
        let what = format!("{:<9} {calls} calls, client 0", job.transport.name());
        progress.step(job.run, &what, &outcome.clients[0].latency);
        done.push((*job, outcome));
    }
    progress.finish();
    Ok(Results::new(setup, &done))
}
