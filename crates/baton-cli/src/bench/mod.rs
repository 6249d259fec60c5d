//! `baton bench`: six sections, each with its table.
//!
//! - round-trip: the round trip of a request and a reply of the same size
//!   (64 B to 1 MiB) between two processes, through baton and, side by
//!   side in the same run, through the floors written plainly (futex,
//!   eventfd, spinning, pipes) and what users use today (Unix
//!   SOCK_SEQPACKET and SOCK_STREAM sockets, TCP on 127.0.0.1, iceoryx2
//!   request-response, a D-Bus method call), on one CPU,
//!   on two CPUs and unpinned; and `memcpy`'s bandwidth for each size;
//! - load: a SCHED_FIFO client's round trip to a one-thread server, idle
//!   and while 8 SCHED_OTHER clients flood it, for baton and for the same
//!   server on SOCK_SEQPACKET sockets (`load/`);
//! - throughput: calls per second from 4 client processes to a server with
//!   2 threads, baton and seqpacket (`throughput/`);
//! - scale: the round trip with 1, 100 and 1000 clients connected, and a
//!   probe message's reply behind 1000 queued ones, baton and seqpacket
//!   (`scale/`);
//! - memory: what a connection costs a baton server (`memory/`);
//! - read: 4 KiB reads of a resource manager's file through its client
//!   API and through the FUSE bridge, and of a tmpfs file (`read/`).
//!
//! The bench parent starts the peer processes of each run, re-executions
//! of this binary (`baton bench-peer`, hidden); a client times every
//! round trip and reports order statistics, peers report their CPU time.
//!
//! - `mod.rs`: the command line and the run from start to end.
//! - `plan.rs`: sections, placements, CPUs, round trips per size, the
//!   interleaved order of the runs.
//! - `runner.rs`: one round-trip run in the parent: start the peers, collect reports.
//! - `process.rs`: a peer process seen from the parent: spawn, read, reap, kill.
//! - `peer.rs`: one run in a peer: pin, warm up, measure.
//! - `peers/`: the transports, each a client half and a server half.
//! - `work.rs`: the CPU work a load server does per request.
//! - `memcpy.rs`: `memcpy`'s bandwidth, the yardstick for big messages.
//! - `load/`, `throughput/`, `scale/`, `memory/`, `read/`: those sections.
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
mod load;
mod machine;
mod memcpy;
mod memory;
mod peer;
mod peers;
mod plan;
mod process;
mod progress;
mod proto;
pub(crate) mod read;
mod results;
mod rundir;
mod runner;
mod scale;
mod stats;
mod table;
mod throughput;
mod work;

pub use json::SCHEMA_HELP as JSON_HELP;
pub use peer::PeerArgs;

use machine::Machine;
use peers::Transport;
use plan::{Config, Counts, Placement, Section};
use progress::Progress;
use results::{Memcpy, Results, Setup, Skipped};
use rundir::RuntimeDir;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Request and reply sizes of the round-trip section, bytes, unless chosen.
const SIZES: [usize; 4] = [64, 4096, 65536, 1 << 20];
/// The same with `--quick`.
const QUICK_SIZES: [usize; 2] = [64, 1 << 20];
/// The largest size that may be chosen.
const MAX_SIZE: usize = 64 << 20;
/// The most bytes a round-trip run's measured round trips move (request +
/// reply); runs of big messages make fewer round trips.
const BYTES_PER_RUN: u64 = 1 << 30;
/// The same with `--quick`.
const QUICK_BYTES_PER_RUN: u64 = 128 << 20;
/// Request and reply size of the load, throughput, scale and memory sections, bytes.
const LOAD_SIZE: usize = 64;
/// The most round trips a run may measure (the client keeps every sample).
const MAX_ITERATIONS: u64 = 10_000_000;
/// The most real-time calls a load run may measure (one per millisecond).
const MAX_RT_CALLS: u64 = 1_000_000;

/// Options of `baton bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A short run for CI: 5000 round trips (at most 128 MiB moved) and
    /// 2000 real-time calls per run, 500 ms throughput runs, 3 runs, sizes
    /// 64 and 1048576 (unless -n, --rt-calls, --throughput-ms, --runs or
    /// --size say otherwise); about a minute.
    #[arg(long)]
    quick: bool,
    /// Sections to run, comma-separated [default: all]: round-trip (the
    /// first table: every transport, placement and size), load (the second: a
    /// SCHED_FIFO 50 client calling every 1 ms a one-thread server that
    /// works ~20 µs per request, idle and while 8 SCHED_OTHER clients flood
    /// it, for baton and seqpacket, unpinned; skipped, with the reason, if
    /// SCHED_FIFO is not permitted), throughput (4 client processes x 2
    /// server threads, calls/s, baton and seqpacket), scale (round trip
    /// with 1, 100 and 1000 clients connected; a probe behind 1000 queued
    /// messages), memory (a baton server's cost per connection: shared
    /// memory, RSS/PSS, descriptors, with 1000 connections) and read (4 KiB
    /// reads of a resource manager's file through the client API and
    /// through a FUSE mount, `baton fuse`, of a FUSE mount answering from
    /// memory (FUSE's floor), and of a tmpfs file; N reads per way and
    /// run; the FUSE ways skipped, with the reason, without /dev/fuse or if
    /// mounting fails).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    section: Vec<Section>,
    /// Request and reply sizes of the round-trip section, bytes,
    /// comma-separated: every transport that can carry a size gets a row
    /// for it (one that cannot is reported skipped, with the reason)
    /// [default: 64,4096,65536,1048576; 64,1048576 with --quick].
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1..=MAX_SIZE as u64))]
    size: Vec<u64>,
    /// Round trips measured per round-trip run, and per scale run, and
    /// reads per way and run of the read section [default:
    /// 100000, 5000 with --quick]. Big messages make fewer: a run's measured
    /// round trips move at most 1 GiB (128 MiB with --quick), request and
    /// reply counted, so a run of S-byte messages makes
    /// min(N, max(that / 2S, 100)) round trips (each row reports its n);
    /// D-Bus, at ~300 µs a call, makes at most 5000.
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_ITERATIONS))]
    iterations: Option<u64>,
    /// Round trips before measuring, per round-trip run [default: N/10, at
    /// least 100; cut in proportion with N for big messages, to no fewer
    /// than 10].
    #[arg(long, value_name = "N")]
    warmup: Option<u64>,
    /// Real-time calls measured per load run, one every 1 ms, after N/10
    /// (at least 100) warm-up calls [default: 10000, 2000 with --quick].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_RT_CALLS))]
    rt_calls: Option<u64>,
    /// How long the clients of each throughput run measure, ms [default:
    /// 2000, 500 with --quick].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    throughput_ms: Option<u64>,
    /// Runs of each configuration, interleaved; every figure is the median
    /// over them [default: 5, 3 with --quick].
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u64).range(1..1000))]
    runs: Option<u64>,
    /// Transports to measure, comma-separated [default: all]; the load,
    /// throughput and scale sections measure baton and seqpacket among
    /// them, the memory section baton.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    transport: Vec<Transport>,
    /// Placements of the round-trip section, comma-separated [default:
    /// all]; the load section always runs unpinned.
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
    let sections = or_all(&args.section, &Section::ALL);
    let transports = or_all(&args.transport, &Transport::ALL);
    let sizes: Vec<usize> = args.size.iter().map(|&s| s as usize).collect();
    let sizes = or_all(&sizes, if args.quick { &QUICK_SIZES } else { &SIZES });
    let bytes_per_run = if args.quick { QUICK_BYTES_PER_RUN } else { BYTES_PER_RUN };
    let machine = Machine::probe()?;
    // Made now, so a bad path fails before the runs rather than after.
    let mut json_file = args.json.as_deref().map(create).transpose()?;
    let runtime = RuntimeDir::new()?;
    let setup = Setup { sizes, iterations, warmup, bytes_per_run, runs, machine };
    let mut results = Results { setup, sections: sections.clone(), ..Results::default() };
    if sections.contains(&Section::RoundTrip) {
        round_trips(args, &transports, &runtime, &mut results)?;
    }
    if sections.contains(&Section::Load) {
        match load::check(&transports) {
            Ok(()) => {
                let calls = args.rt_calls.unwrap_or(if args.quick { 2_000 } else { 10_000 });
                let opts = load::Options {
                    size: LOAD_SIZE,
                    calls,
                    warmup: (calls / 10).max(100),
                    runs,
                    transports: &transports,
                    runtime_dir: runtime.for_peers(),
                    cpus: &results.setup.machine.cpus,
                };
                results.load = Some(load::run(&opts)?);
            }
            Err(reason) => {
                eprintln!("baton bench: load section skipped: {reason}");
                results.skipped.push(Skipped::placement(Section::Load, Placement::Unpinned, reason));
            }
        }
    }
    if sections.contains(&Section::Throughput) {
        match throughput::check(&transports) {
            Ok(()) => {
                let ms = args.throughput_ms.unwrap_or(if args.quick { 500 } else { 2000 });
                let opts = throughput::Options {
                    size: LOAD_SIZE,
                    measure: std::time::Duration::from_millis(ms),
                    runs,
                    transports: &transports,
                    runtime_dir: runtime.for_peers(),
                };
                results.throughput = Some(throughput::run(&opts)?);
            }
            Err(reason) => skip(&mut results, Section::Throughput, reason),
        }
    }
    if sections.contains(&Section::Scale) {
        match scale::check(&transports) {
            Ok(()) => {
                let opts = scale::Options {
                    size: LOAD_SIZE,
                    iterations,
                    warmup,
                    runs,
                    transports: &transports,
                    runtime_dir: runtime.for_peers(),
                };
                results.scale = Some(scale::run(&opts)?);
            }
            Err(reason) => skip(&mut results, Section::Scale, reason),
        }
    }
    if sections.contains(&Section::Memory) {
        match memory::check(&transports) {
            Ok(()) => results.memory = Some(memory::run(LOAD_SIZE, runs, runtime.for_peers())?),
            Err(reason) => skip(&mut results, Section::Memory, reason),
        }
    }
    if sections.contains(&Section::Read) {
        let opts = read::Options { iterations, warmup, runs, runtime_dir: runtime.for_peers() };
        let figures = read::run(&opts)?;
        for (via, reason) in &figures.skipped {
            results.skipped.push(Skipped {
                section: Section::Read,
                placement: Placement::Unpinned,
                transport: None,
                size: Some(read::READ_SIZE),
                reason: format!("{}: {reason}", via.name()),
            });
        }
        results.read = Some(figures);
    }
    table::render(&results, &mut io::stdout().lock())?;
    if let (Some(file), Some(path)) = (&mut json_file, &args.json) {
        json::write(&results, file)?;
        file.flush()?;
        eprintln!("baton bench: wrote {}", path.display());
    }
    Ok(())
}

/// The round-trip section: its rows, `memcpy`'s figures and what was
/// skipped, into `results`.
fn round_trips(args: &Args, transports: &[Transport], runtime: &RuntimeDir, results: &mut Results) -> io::Result<()> {
    let Setup { iterations, warmup, bytes_per_run, runs, .. } = results.setup;
    let sizes = results.setup.sizes.clone();
    let mut configs = Vec::new();
    for placement in or_all(&args.placement, &Placement::ALL) {
        let cpus = match placement.cpus(&results.setup.machine.cpus) {
            Ok(cpus) => cpus,
            Err(reason) => {
                results.skipped.push(Skipped::placement(Section::RoundTrip, placement, reason));
                continue;
            }
        };
        for &size in &sizes {
            for &transport in transports {
                match transport.peer().refuse(size, placement) {
                    None => configs.push(Config { placement, cpus, transport, size }),
                    Some(reason) => {
                        let (p, t, z) = (placement.name(), transport.name(), size_name(size));
                        eprintln!("baton bench: {p} {t} {z} skipped: {reason}");
                        let (transport, size) = (Some(transport), Some(size));
                        results.skipped.push(Skipped {
                            section: Section::RoundTrip,
                            placement,
                            transport,
                            size,
                            reason,
                        });
                    }
                }
            }
        }
    }
    // Sizes, then placements, then transports: the table's order.
    configs.sort_by_key(|c| (c.size, c.placement, c.transport));
    let jobs = plan::schedule(runs, &configs);
    eprintln!(
        "baton bench: {} configuration(s) (transport x placement x size) x {runs} run(s) of up to {iterations} round trips (+{warmup} warm-up)",
        configs.len()
    );
    let asked = Counts { iterations, warmup };
    let mut progress = Progress::new(jobs.len());
    let mut done = Vec::with_capacity(jobs.len());
    let mut copies: Vec<(usize, f64)> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        if i == 0 || job.run != jobs[i - 1].run {
            // Once per round of runs, between runs (the parent is otherwise idle).
            copies.extend(sizes.iter().map(|&size| (size, memcpy::gb_per_sec(size))));
        }
        let tag = format!("{}-{i}", std::process::id());
        let counts = asked.for_size(job.size, bytes_per_run).at_most(job.transport.max_round_trips());
        let load = runner::Load {
            warmup: counts.warmup,
            iterations: counts.iterations,
            tag: &tag,
            runtime_dir: runtime.for_peers(),
        };
        let outcome = runner::run(job, &load)?;
        let what = format!("{:<8} {:<9} {:<9}", size_name(job.size), job.placement.name(), job.transport.name());
        progress.step(job.run, &what, &outcome.client.latency);
        done.push((*job, outcome));
    }
    progress.finish();
    results.memcpy = sizes
        .iter()
        .map(|&size| Memcpy { size, gb_per_sec: stats::median(copies.iter().filter(|c| c.0 == size).map(|c| c.1)) })
        .collect();
    results.rows = results::rows(&done, &results.memcpy);
    Ok(())
}

/// A size in bytes as the table shows it: "64 B", "4 KiB", "1 MiB".
pub fn size_name(size: usize) -> String {
    match size {
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 && s % (1 << 10) == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

/// Records that `section` could not run, and why.
fn skip(results: &mut Results, section: Section, reason: String) {
    eprintln!("baton bench: {} section skipped: {reason}", section.name());
    results.skipped.push(Skipped::placement(section, Placement::Unpinned, reason));
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

#[cfg(test)]
mod tests {
    use super::size_name;

    #[test]
    fn size_names() {
        assert_eq!(size_name(64), "64 B");
        assert_eq!(size_name(1000), "1000 B");
        assert_eq!(size_name(4096), "4 KiB");
        assert_eq!(size_name(65536), "64 KiB");
        assert_eq!(size_name(1 << 20), "1 MiB");
        assert_eq!(size_name(3 << 19), "1536 KiB");
    }
}
