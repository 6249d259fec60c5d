//! The load section of `baton bench`: the round trip of a real-time client
//! while ordinary clients flood the same server, for baton and for the same
//! server on a Unix SOCK_SEQPACKET socket (issue 3, "Benchmark").
//!
//! Each run starts a server process (one SCHED_OTHER thread that does a
//! fixed [`Work`] per request), then [`FLOODERS`] SCHED_OTHER processes
//! calling it back to back (none in the idle runs), then one SCHED_FIFO
//! [`PRIORITY`] process that calls it once every [`PERIOD`] and times each
//! call. Runs are interleaved (every transport idle and under load, then
//! all again) and always unpinned; every figure is the median over runs.
//! Without permission for SCHED_FIFO the section is skipped, with the reason.
//!
//! - `runner.rs`: one run in the parent: start the peers, collect, stop them.
//! - `peer.rs`: the server, flooder and real-time client processes.
//! - `awake.rs`: spinners that keep the CPUs from halting while it runs.
//! - `board.rs`: what they share: the stop word and the flooders' counters.
//! - `results.rs`: rows, ratios to idle, the goal.
//! - `table.rs`, `json.rs`: the section as a table and as JSON rows.

mod awake;
mod board;
pub mod json;
pub mod peer;
pub mod results;
mod runner;
pub mod table;

use super::peers::Transport;
use super::progress::Progress;
use super::work::Work;
use results::{Results, Setup};
use std::io;
use std::path::Path;
use std::time::Duration;

/// Flooder processes in a run under load.
pub const FLOODERS: usize = 8;
/// The real-time client's SCHED_FIFO priority.
pub const PRIORITY: i32 = 50;
/// How often the real-time client calls.
pub const PERIOD: Duration = Duration::from_millis(1);
/// The server's CPU time per request the work is calibrated to.
const WORK_TARGET: Duration = Duration::from_micros(20);

/// What the section is asked to do.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    /// Request and reply size, bytes.
    pub size: usize,
    /// Real-time calls measured per run, and before measuring.
    pub calls: u64,
    pub warmup: u64,
    pub runs: usize,
    /// Transports chosen on the command line (those that take many
    /// clients run).
    pub transports: &'a [Transport],
    /// `BATON_RUNTIME_DIR` for the peers, if the bench chose one.
    pub runtime_dir: Option<&'a Path>,
    /// The CPUs the peers may run on (each gets a spinner, see `awake.rs`).
    pub cpus: &'a [usize],
}

/// Whether the section can run here: `Err` says why not.
pub fn check(transports: &[Transport]) -> Result<(), String> {
    if !transports.iter().any(|t| Transport::MANY_CLIENTS.contains(t)) {
        return Err("it measures baton and seqpacket, and neither was chosen with --transport".to_owned());
    }
    realtime_allowed(PRIORITY)
}

/// Tries SCHED_FIFO at `priority` on a scratch thread (which then ends).
fn realtime_allowed(priority: i32) -> Result<(), String> {
    let tried = std::thread::spawn(move || baton::set_thread_priority(baton::Policy::Fifo, priority)).join();
    match tried {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) if e.errno() == libc::EPERM => Err(format!(
            "SCHED_FIFO priority {priority} is not permitted here (EPERM); the real-time client needs root, \
             CAP_SYS_NICE or RLIMIT_RTPRIO >= {priority}"
        )),
        Ok(Err(e)) => Err(format!("SCHED_FIFO priority {priority} cannot be set here: {e}")),
        Err(_) => Err("the SCHED_FIFO probe thread panicked".to_owned()),
    }
}

/// Runs the section (after [`check`]).
pub fn run(opts: &Options<'_>) -> io::Result<Results> {
    let (work, work_ns) = Work::calibrate(WORK_TARGET, opts.size);
    let setup = Setup {
        size: opts.size,
        calls: opts.calls,
        warmup: opts.warmup,
        runs: opts.runs,
        priority: PRIORITY,
        period_ns: PERIOD.as_nanos() as u64,
        flooders: FLOODERS,
        work,
        work_ns,
    };
    let jobs = schedule(opts.runs, opts.transports);
    eprintln!(
        "baton bench: latency under load: {} run(s) of {} real-time calls every {} µs (+{} warm-up), \
         server work {:.1} µs per request",
        jobs.len(),
        opts.calls,
        PERIOD.as_micros(),
        opts.warmup,
        work_ns / 1000.0
    );
    let _awake = awake::Awake::start(opts.cpus);
    let mut progress = Progress::new(jobs.len());
    let mut done = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let tag = format!("{}-load-{i}", std::process::id());
        let plan = runner::Plan {
            size: opts.size,
            work,
            priority: PRIORITY,
            period: PERIOD,
            warmup: opts.warmup,
            calls: opts.calls,
            tag: &tag,
            runtime_dir: opts.runtime_dir,
        };
        let report = runner::run(job, &plan)?;
        let load = if job.flooders == 0 { "idle".to_owned() } else { format!("{} flooders", job.flooders) };
        progress.step(job.run, &format!("{:<9} {:<11}", job.transport.name(), load), &report.latency);
        done.push((*job, report));
    }
    progress.finish();
    Ok(Results::new(setup, &done))
}

/// The runs, interleaved: run 0 of every transport idle then under load,
/// then run 1, and so on.
fn schedule(runs: usize, transports: &[Transport]) -> Vec<runner::Job> {
    let chosen: Vec<Transport> = Transport::MANY_CLIENTS.into_iter().filter(|t| transports.contains(t)).collect();
    let mut jobs = Vec::with_capacity(runs * chosen.len() * 2);
    for run in 0..runs {
        for &transport in &chosen {
            jobs.extend([0, FLOODERS].map(|flooders| runner::Job { run, transport, flooders }));
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_interleaved_and_only_many_client_transports_run() {
        let jobs = schedule(2, &[Transport::Pipe, Transport::Baton, Transport::Seqpacket]);
        let order: Vec<_> = jobs.iter().map(|j| (j.run, j.transport.name(), j.flooders)).collect();
        assert_eq!(
            order,
            [
                (0, "baton", 0),
                (0, "baton", FLOODERS),
                (0, "seqpacket", 0),
                (0, "seqpacket", FLOODERS),
                (1, "baton", 0),
                (1, "baton", FLOODERS),
                (1, "seqpacket", 0),
                (1, "seqpacket", FLOODERS),
            ]
        );
    }

    #[test]
    fn without_a_many_client_transport_the_section_says_why() {
        assert!(check(&[Transport::Futex, Transport::Pipe]).unwrap_err().contains("--transport"));
    }
}
