//! The memory section of `baton bench` (issue 4): what a connection costs
//! a baton server. The shared memory of one connection comes from the
//! library's layout (`Channel::segment_geometry`); what the server really
//! spends is measured: its `/proc/<pid>/smaps_rollup` and descriptors with
//! no client, with [`CONNECTIONS`] idle connections (holder processes,
//! `scale/peer.rs`, each connection its own: `no_share`), and after every
//! one of them made one call; the growth divided by the connections.
//! The processes keep the limits they start with, except that each raises
//! its soft RLIMIT_NOFILE to the hard limit (as baton's runtime does).
//!
//! - `runner.rs`: one run in the parent, reading `/proc`.
//! - `peer.rs`: the server process.
//! - `results.rs`, `table.rs`, `json.rs`: figures, the goal, the report.

pub mod json;
pub mod peer;
pub mod results;
mod runner;
pub mod table;

use super::peers::Transport;
use results::Results;
use std::io;
use std::path::Path;

/// Idle connections per run.
pub const CONNECTIONS: usize = 1000;

/// Whether the section can run: `Err` says why not.
pub fn check(transports: &[Transport]) -> Result<(), String> {
    if transports.contains(&Transport::Baton) {
        Ok(())
    } else {
        Err("it measures baton, which was not chosen with --transport".to_owned())
    }
}

/// Runs the section (after [`check`]): `runs` runs.
pub fn run(size: usize, runs: usize, runtime_dir: Option<&Path>) -> io::Result<Results> {
    eprintln!("baton bench: memory: {runs} run(s) of a baton server with 0 and {CONNECTIONS} connections");
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        let tag = format!("{}-memory-{i}", std::process::id());
        let s = runner::run(i, CONNECTIONS, size, &tag, runtime_dir)?;
        let per = (s.idle.rss as f64 - s.base.rss as f64) / CONNECTIONS as f64;
        eprintln!(
            "[{:>3}/{runs}] run {} baton     {CONNECTIONS} idle connections: RSS +{:.1} KiB each",
            i + 1,
            i + 1,
            per / 1024.0
        );
        samples.push(s);
    }
    Ok(Results::new(CONNECTIONS, &samples))
}
