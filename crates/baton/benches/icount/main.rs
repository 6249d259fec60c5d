//! Instruction counts of baton's hot path: `Connection::send` answered by
//! `Channel::receive` + `Request::reply`, counted by callgrind, so a change
//! that makes the path longer shows without timing noise.
//!
//! `cargo bench -p baton --bench icount` runs every configuration (wait
//! mode x message size) under `valgrind --tool=callgrind`, prints the
//! instructions per round trip of the client and the server thread, and
//! fails if one grew more than 5% over `benches/icount-baseline.txt` (a
//! spinning client's count is shown, not checked: see [`MODES`]).
//! `cargo bench -p baton --bench icount -- --bless` records the counts as
//! the new baseline; `-- --checked` measures only the checked
//! configurations (CI: the spinning ones are the slowest under valgrind and
//! decide nothing), keeping the others' baseline rows. See docs/icount.md.
//!
//! - `main.rs`: the configurations, the report and the check.
//! - `workload.rs`: the measured process (run as `icount --run MODE SIZE CALLS`).
//! - `callgrind.rs`: one configuration under callgrind, its counts read back.
//! - `baseline.rs`: the baseline file and the tolerance.
//!
//! A small harness rather than a benchmark framework (`gungraun`, formerly
//! `iai-callgrind`): its runner is a separate binary with a few dozen
//! dependencies to `cargo install` (minutes of CI on two cores), it needs a
//! newer Rust than this workspace promises, and its baselines live under
//! `target/`, not in the repository. What it would give here, one toggled
//! function per thread and a total per thread, is a valgrind command line.

mod baseline;
mod callgrind;
mod workload;

use baseline::Verdict;
use baton::WaitMode;
use std::io;
use std::path::Path;
use std::process::ExitCode;

/// The baseline, in the repository.
const BASELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/icount-baseline.txt");

/// Wait modes measured, by the names the baseline uses, and whether their
/// counts are checked: in spin mode both sides' counts are mostly waiting
/// turns, and how many each makes depends on when valgrind lets the other
/// thread run (identical runs gave 14,000 to 24,000 per round trip for the
/// client at 64 B, and the server's moved by 7% and by 37%), so they are
/// shown but not checked. The default mode's server spins now and then
/// (when it gets back to `receive` before the client has called again),
/// which moved its least-of-5 count between 1800 and 2000 at 64 B: its
/// count may grow up to [`SPIN_SLACK`] over the baseline.
const MODES: [(&str, WaitMode, bool); 3] =
    [("default", WaitMode::Adaptive, true), ("blocking", WaitMode::Blocking, true), ("spin", WaitMode::Spin, false)];
/// How far the default mode's server count may grow over its baseline.
const SPIN_SLACK: f64 = 1.15;
/// Request and reply sizes, bytes.
const SIZES: [usize; 3] = [64, 4096, 1 << 20];
/// Measured round trips per configuration: the counts are per round trip.
const CALLS: u32 = 200;
/// Round trips of messages of 1 MiB and more: their count is nearly all
/// the copies, the same in each round trip, and 200 of them took 50 s a
/// run under valgrind.
const BIG_CALLS: u32 = 20;

/// Measured round trips of `size`-byte messages.
fn calls(size: usize) -> u32 {
    if size >= 1 << 20 {
        BIG_CALLS
    } else {
        CALLS
    }
}
/// Runs of each configuration; each count is the least of them. Waiting
/// only adds instructions, and how much a side waits depends on how
/// valgrind and the kernel hand the CPU between the threads (the adaptive
/// server spins when it gets back to `receive` before the client has
/// called again); the least is the path with the least waiting.
const RUNS: usize = 5;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--run") => run_workload(&args[1..]),
        // `cargo bench` passes `--bench`; nothing else is an option here.
        _ => report(args.iter().any(|a| a == "--bless"), args.iter().any(|a| a == "--checked")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("icount: {e}");
            ExitCode::FAILURE
        }
    }
}

/// In the process under callgrind: `MODE SIZE CALLS`.
fn run_workload(args: &[String]) -> io::Result<bool> {
    let bad = || io::Error::other("usage: icount --run MODE SIZE CALLS");
    let [mode, size, calls] = args else { return Err(bad()) };
    let mode = MODES.iter().find(|m| m.0 == mode).ok_or_else(bad)?.1;
    workload::run(mode, size.parse().map_err(|_| bad())?, calls.parse().map_err(|_| bad())?)?;
    Ok(true)
}

/// Measures every configuration (with `checked_only`, every checked one),
/// prints the table, and checks it against the baseline (or, with `bless`,
/// records it as the baseline).
fn report(bless: bool, checked_only: bool) -> io::Result<bool> {
    callgrind::check_valgrind()?;
    let path = Path::new(BASELINE);
    let old = baseline::read(path)?;
    let scratch = std::env::temp_dir().join(format!("baton-icount-callgrind-{}", std::process::id()));
    println!(
        "instructions (callgrind Ir) per round trip, the least of {RUNS} runs of {CALLS} round trips ({BIG_CALLS} of 1 MiB) after {} warm-up",
        workload::WARMUP
    );
    println!("{:<9} {:>8} {:>9} {:>9}  {:>7} {:>7}  verdict", "mode", "size", "client", "server", "client", "server");
    let mut new = baseline::Table::new();
    let mut ok = true;
    for (name, _, checked) in MODES {
        for size in SIZES {
            let key = (name.to_owned(), size);
            if checked_only && !checked {
                if let Some(&then) = old.get(&key) {
                    new.insert(key, then);
                }
                println!("{name:<9} {:>8}  not measured (--checked)", size_name(size));
                continue;
            }
            let (client, server) = measure(&scratch.join(format!("{name}-{size}")), name, size).inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&scratch);
            })?;
            let then = old.get(&key);
            let mut verdicts = Vec::new();
            if checked {
                verdicts.push(match baseline::judge(server, then.map(|t| t.1)) {
                    // The default mode's server may have spun a little more.
                    Verdict::Grew
                        if name == "default" && then.is_some_and(|t| server as f64 <= t.1 as f64 * SPIN_SLACK) =>
                    {
                        Verdict::Same
                    }
                    v => v,
                });
                verdicts.push(baseline::judge(client, then.map(|t| t.0)));
            }
            let verdict = if !checked {
                "unchecked (spinning)"
            } else if verdicts.contains(&Verdict::Missing) {
                "no baseline"
            } else if verdicts.contains(&Verdict::Grew) {
                "GREW"
            } else if verdicts.contains(&Verdict::Shrank) {
                "shrank (record it with --bless)"
            } else {
                "ok"
            };
            ok &= !matches!(verdict, "no baseline" | "GREW");
            let client_change = baseline::change(client, then.map(|t| t.0));

            println!(
                "{name:<9} {:>8} {client:>9} {server:>9}  {client_change:>7} {:>7}  {verdict}",
                size_name(size),
                baseline::change(server, then.map(|t| t.1)),
            );
            new.insert(key, (client, server));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if bless {
        baseline::write(path, HEADER, &new)?;
        println!("icount: recorded {}", path.display());
        return Ok(true);
    }
    if !ok {
        let pct = baseline::TOLERANCE * 100.0;
        eprintln!("icount: a count grew more than {pct}% over {} or has no baseline;", path.display());
        eprintln!("icount: if that is meant, record the new counts: cargo bench -p baton --bench icount -- --bless");
    }
    Ok(ok)
}

/// Instructions per round trip of the client and the server in
/// configuration `mode`, `size`: the least of [`RUNS`] runs under callgrind.
fn measure(scratch: &Path, mode: &str, size: usize) -> io::Result<(u64, u64)> {
    let calls = calls(size);
    let args = ["--run".to_owned(), mode.to_owned(), size.to_string(), calls.to_string()];
    let (mut client, mut server) = (u64::MAX, u64::MAX);
    for _ in 0..RUNS {
        let counts = callgrind::measure(scratch, &args)?;
        client = client.min(counts.client);
        server = server.min(counts.server);
    }
    let per = |n: u64| (n as f64 / f64::from(calls)).round() as u64;
    Ok((per(client), per(server)))
}

/// The baseline file's header.
const HEADER: &str = "\
Instructions (callgrind Ir) per round trip of baton's hot path, client and
server thread: written by `cargo bench -p baton --bench icount -- --bless`,
checked by `cargo bench -p baton --bench icount` (fails if a count grows
more than 5%, the default-mode server 15%; spin-mode counts are recorded
but not checked).
Counts depend on the compiler and the machine's CPU features: see
docs/icount.md.";

/// A size as the table shows it: "64 B", "4 KiB", "1 MiB".
fn size_name(size: usize) -> String {
    match size {
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 && s % (1 << 10) == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}
