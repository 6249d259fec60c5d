//! `baton bench`: the round trip of a small request and reply between two
//! processes, through baton and, side by side in the same run, through the
//! raw kernel primitives (the floors baton is built from), on one CPU, on
//! two CPUs and unpinned.
//!
//! The bench parent starts two peer processes per run, both re-executions
//! of this binary (`baton bench-peer`, hidden); the client times every
//! round trip and reports order statistics, both report their CPU time.
//!
//! - `mod.rs`: the command line and the run from start to end.
//! - `plan.rs`: placements, CPUs, the interleaved order of the runs.
//! - `runner.rs`: one run in the parent: start the peers, collect reports.
//! - `peer.rs`: one run in a peer: pin, warm up, measure.
//! - `peers/`: the transports, each a client half and a server half.
//! - `proto.rs`: the lines a peer prints for the parent.
//! - `fds.rs`: descriptors handed from the parent to a peer.
//! - `stats.rs`: percentiles and medians.
//! - `machine.rs`: the clock, kernel and CPUs, reported with the figures.
//! - `rundir.rs`: a private baton runtime directory for the bench.
//! - `progress.rs`: progress on stderr.
//! - `results.rs`: rows from runs: medians over runs, ratios to baton.
//! - `table.rs`, `json.rs`: the report as a table and as JSON (the schema
//!   is in `json-schema.md`, also shown by `baton bench --help`).

mod fds;
mod json;
mod machine;
mod peer;
mod peers;
mod plan;
mod progress;
mod proto;
mod results;
mod rundir;
mod runner;
mod stats;
mod table;

pub use json::SCHEMA_HELP as JSON_HELP;
pub use peer::PeerArgs;

use machine::Machine;
use peers::Transport;
use plan::Placement;
use progress::Progress;
use results::{Results, Setup, Skipped};
use rundir::RuntimeDir;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Request and reply size, bytes.
const SIZE: usize = 64;
/// The most round trips a run may measure (the client keeps every sample).
const MAX_ITERATIONS: u64 = 10_000_000;

/// Options of `baton bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A short run for CI: 5000 round trips per run, 3 runs (unless -n or
    /// --runs say otherwise); a few seconds.
    #[arg(long)]
    quick: bool,
    /// Round trips measured per run [default: 100000, 5000 with --quick].
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_ITERATIONS))]
    iterations: Option<u64>,
    /// Round trips before measuring, per run [default: N/10, at least 100].
    #[arg(long, value_name = "N")]
    warmup: Option<u64>,
    /// Runs of each configuration, interleaved; every figure is the median
    /// over them [default: 5, 3 with --quick].
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u64).range(1..1000))]
    runs: Option<u64>,
    /// Transports to measure, comma-separated [default: all].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    transport: Vec<Transport>,
    /// Placements to measure, comma-separated [default: all].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    placement: Vec<Placement>,
    /// Also write every figure to FILE as JSON (schema: see `--help`).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// `baton bench`.
pub fn run(args: &Args) -> io::Result<()> {
    let iterations = args.iterations.unwrap_or(if args.quick { 5_000 } else { 100_000 });
    let warmup = args.warmup.unwrap_or((iterations / 10).max(100));
    let runs = args.runs.unwrap_or(if args.quick { 3 } else { 5 }) as usize;
    let transports = or_all(&args.transport, &Transport::ALL);
    let machine = Machine::probe()?;
    let mut placements = Vec::new();
    let mut skipped = Vec::new();
    for placement in or_all(&args.placement, &Placement::ALL) {
        match placement.cpus(&machine.cpus) {
            Ok(c) => placements.push((placement, c)),
            Err(reason) => skipped.push(Skipped { placement, reason }),
        }
    }
    let jobs = plan::schedule(runs, &placements, &transports, SIZE);
    // Made now, so a bad path fails before the runs rather than after.
    let mut json_file = args.json.as_deref().map(create).transpose()?;
    let runtime = RuntimeDir::new()?;
    let setup = Setup { size: SIZE, iterations, warmup, runs, machine };
    eprintln!(
        "baton bench: {} transport(s) x {} placement(s) x {runs} run(s) of {iterations} round trips (+{warmup} warm-up)",
        transports.len(),
        placements.len()
    );
    let mut progress = Progress::new(jobs.len());
    let mut done = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let tag = format!("{}-{i}", std::process::id());
        let load = runner::Load { warmup, iterations, tag: &tag, runtime_dir: runtime.for_peers() };
        let outcome = runner::run(job, &load)?;
        progress.step(job, &outcome.client.latency);
        done.push((*job, outcome));
    }
    progress.finish();
    let results = Results { setup, rows: results::rows(&done), skipped };
    table::render(&results, &mut io::stdout().lock())?;
    if let (Some(file), Some(path)) = (&mut json_file, &args.json) {
        json::write(&results, file)?;
        file.flush()?;
        eprintln!("baton bench: wrote {}", path.display());
    }
    Ok(())
}

/// `baton bench-peer`: one half of a pair.
pub fn run_peer(args: &PeerArgs) -> io::Result<()> {
    peer::run(args)
}

fn create(path: &Path) -> io::Result<io::BufWriter<std::fs::File>> {
    let file = std::fs::File::create(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display())))?;
    Ok(io::BufWriter::new(file))
}

fn or_all<T: Copy + Ord>(chosen: &[T], all: &[T]) -> Vec<T> {
    let mut v = if chosen.is_empty() { all.to_vec() } else { chosen.to_vec() };
    v.sort_unstable();
    v.dedup();
    v
}
