//! Progress on stderr while the runs go: one line per run, rewritten in
//! place when stderr is a terminal.

use super::stats::Summary;
use std::io::{self, IsTerminal};

/// Counts finished runs out of `total`.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    done: usize,
    tty: bool,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress { total, done: 0, tty: io::stderr().is_terminal() }
    }

    /// Run `run` (0-based) of configuration `what` finished with `latency`.
    pub fn step(&mut self, run: usize, what: &str, latency: &Summary) {
        self.done += 1;
        let line = format!(
            "[{:>3}/{}] run {} {what} p50 {:.2} µs, max {:.0} µs",
            self.done,
            self.total,
            run + 1,
            latency.p50 as f64 / 1000.0,
            latency.max as f64 / 1000.0
        );
        if self.tty {
            eprint!("\r{line}\x1b[K");
        } else {
            eprintln!("{line}");
        }
    }

    /// All runs finished.
    pub fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}
