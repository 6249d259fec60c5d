//! The `baton` command.
//!
//! - `baton bench`: round-trip latency of baton side by side with the raw
//!   kernel primitives it is built from (see [`mod@bench`]).
#![deny(unsafe_code)]

mod bench;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Tools for baton, QNX-style synchronous message passing on Linux.
#[derive(Debug, Parser)]
#[command(name = "baton", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure round trips between two processes: baton next to a futex
    /// ping-pong and a pipe pair, on one CPU, on two CPUs and unpinned.
    ///
    /// Each run starts a server and a client process (this binary, run
    /// again) that exchange a 64-byte request and a 64-byte reply. After a
    /// warm-up the client reads CLOCK_MONOTONIC once between round trips,
    /// so every round trip is one sample; each process measures its own CPU
    /// time. Every configuration runs several times, interleaved with the
    /// others, and each figure is the median over those runs. Progress goes
    /// to stderr, the table to stdout.
    #[command(after_long_help = bench::JSON_HELP)]
    Bench(bench::Args),
    /// One side of a benchmark pair; `baton bench` starts two of these.
    #[command(hide = true)]
    BenchPeer(bench::PeerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(&args),
        Command::BenchPeer(args) => bench::run_peer(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton: {e}");
            ExitCode::FAILURE
        }
    }
}
