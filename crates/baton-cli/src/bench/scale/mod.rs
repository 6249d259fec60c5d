//! The scale section of `baton bench` (issue 4): does a server slow down
//! as clients pile up? For baton and for the same server on Unix
//! SOCK_SEQPACKET sockets:
//!
//! - connected: one active client's round trips (as in the round-trip
//!   section) while 0, 99 or 999 other client connections are open and
//!   idle, so 1, 100 or 1000 are connected. The idle connections are held
//!   by holder processes, [`runner::PER_HOLDER`] each; every one is a
//!   distinct server connection (baton: `ConnectBuilder::no_share`).
//! - queued: a probe message sent while 1000 others wait: the server is
//!   paused (it stops receiving after a call from the probe), 1000 client
//!   threads (holders, one connection each) each send one message, then
//!   the probe sends its own, then the server is let go. The server times
//!   how long it takes to answer all 1001 and where the probe came; the
//!   probe, how long after the go its reply arrived.
//!   The senders close their connections only after that: a disconnect
//!   is not part of answering a message. The server process's CPU time
//!   while they close is measured apart (per connection).
//!
//! Runs are interleaved (every configuration once, then again), unpinned;
//! each figure is the median over runs.
//!
//! - `runner.rs`: one run in the parent.
//! - `peer.rs`: the server, holder and probe processes (and the command
//!   line they share with the throughput and memory peers).
//! - `board.rs`: the words those processes share (also used by the
//!   throughput and memory sections).
//! - `results.rs`, `table.rs`, `json.rs`: figures, the goal, the report.

pub mod board;
pub mod json;
pub mod peer;
pub mod results;
pub mod runner;
pub mod table;

use super::peers::Transport;
use super::progress::Progress;
use super::stats::Summary;
use results::{Results, Setup};
use runner::{Job, Kind, Outcome};
use std::io;
use std::path::Path;

/// Clients connected in the connected runs (the active one included).
pub const CONNECTED: [usize; 3] = [1, 100, 1000];
/// Messages queued ahead of the probe.
pub const QUEUED: usize = 1000;
/// The transports measured (here and in the throughput section), in table
/// order: baton and a server of the same shape on Unix sockets.
pub const TRANSPORTS: [Transport; 2] = [Transport::Baton, Transport::Seqpacket];

/// What the section is asked to do.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    pub size: usize,
    pub iterations: u64,
    pub warmup: u64,
    pub runs: usize,
    pub transports: &'a [Transport],
    pub runtime_dir: Option<&'a Path>,
}

/// Whether the section can run: `Err` says why not.
pub fn check(transports: &[Transport]) -> Result<(), String> {
    if transports.iter().any(|t| TRANSPORTS.contains(t)) {
        Ok(())
    } else {
        Err("it measures baton and seqpacket, and neither was chosen with --transport".to_owned())
    }
}

/// Runs the section (after [`check`]).
pub fn run(opts: &Options<'_>) -> io::Result<Results> {
    let setup = Setup {
        size: opts.size,
        iterations: opts.iterations,
        warmup: opts.warmup,
        runs: opts.runs,
        connected: CONNECTED.to_vec(),
        queued: QUEUED,
        per_holder: runner::PER_HOLDER,
        settle_ns: runner::SETTLE.as_nanos() as u64,
    };
    let jobs = schedule(opts.runs, opts.transports);
    eprintln!(
        "baton bench: scale: {} run(s): {} round trips (+{} warm-up) with 1, 100 and 1000 clients connected; \
         a probe behind {QUEUED} queued messages",
        jobs.len(),
        opts.iterations,
        opts.warmup
    );
    let mut progress = Progress::new(jobs.len());
    let mut done = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let tag = format!("{}-scale-{i}", std::process::id());
        let plan = runner::Plan {
            size: opts.size,
            warmup: opts.warmup,
            iterations: opts.iterations,
            tag: &tag,
            runtime_dir: opts.runtime_dir,
        };
        let outcome = runner::run(job, &plan)?;
        let (what, latency) = match (job.kind, outcome) {
            (Kind::Connected(c), Outcome::Connected(r)) => (format!("{c} connected"), r.latency),
            (Kind::Queued(q), Outcome::Queued { probe, .. }) => (format!("probe behind {q}"), probe.latency),
            _ => (String::new(), Summary::default()),
        };
        progress.step(job.run, &format!("{:<9} {what:<16}", job.transport.name()), &latency);
        done.push((*job, outcome));
    }
    progress.finish();
    Ok(Results::new(setup, &done))
}

/// The runs, interleaved: run 0 of every transport and configuration, then
/// run 1, and so on.
fn schedule(runs: usize, transports: &[Transport]) -> Vec<Job> {
    let chosen: Vec<Transport> = TRANSPORTS.into_iter().filter(|t| transports.contains(t)).collect();
    let kinds: Vec<Kind> = CONNECTED.iter().map(|&c| Kind::Connected(c)).chain([Kind::Queued(QUEUED)]).collect();
    let mut jobs = Vec::new();
    for run in 0..runs {
        for &transport in &chosen {
            jobs.extend(kinds.iter().map(|&kind| Job { run, transport, kind }));
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_interleaved_and_only_baton_and_seqpacket_run() {
        let jobs = schedule(2, &[Transport::Pipe, Transport::Seqpacket]);
        assert_eq!(jobs.len(), 2 * 4);
        assert!(jobs.iter().all(|j| j.transport == Transport::Seqpacket));
        assert_eq!(jobs[0].kind, Kind::Connected(1));
        assert_eq!(jobs[3].kind, Kind::Queued(QUEUED));
        assert_eq!(jobs[4].run, 1);
        assert!(check(&[Transport::Futex]).unwrap_err().contains("--transport"));
    }
}
