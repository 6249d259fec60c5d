//! The lines a soak peer prints for the parent, and the counters behind
//! its `stats` lines.
//!
//! - `ready <pid>`: set up (channels attached, or connections opened);
//! - `stats k=v ...`: the peer's counters so far (cumulative), every 100 ms
//!   and once more when it stops;
//! - `fail <text>`: something the soak counts as a failure;
//! - `esrch <server pid> <monotonic ns>`: a call failed with `ESRCH` at
//!   that moment (the parent knows when it killed that server);
//! - `idle`: a client stopped calling and closed its connections.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Named counters, shared by a peer's threads.
#[derive(Debug)]
pub struct Counters(BTreeMap<&'static str, AtomicU64>);

impl Counters {
    pub fn new(names: &[&'static str]) -> Counters {
        Counters(names.iter().map(|n| (*n, AtomicU64::new(0))).collect())
    }

    pub fn add(&self, name: &str, n: u64) {
        self.0[name].fetch_add(n, Relaxed);
    }

    pub fn max(&self, name: &str, v: u64) {
        self.0[name].fetch_max(v, Relaxed);
    }

    /// The `stats` line.
    pub fn line(&self) -> String {
        let mut s = String::from("stats");
        for (k, v) in &self.0 {
            s.push_str(&format!(" {k}={}", v.load(Relaxed)));
        }
        s
    }
}

/// Parses a `stats` line's fields.
pub fn parse_stats(rest: &str) -> BTreeMap<String, u64> {
    rest.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

/// Prints one line for the parent (one write, so lines never interleave).
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(format!("{line}\n").as_bytes());
    let _ = out.flush();
}

pub fn fail(what: &str) {
    say(&format!("fail {}", what.replace('\n', " ")));
}

/// Prints `stats` every 100 ms until `stop` has been consumed (e.g. until
/// stdin closes), then once more.
pub fn report_until_eof(c: &Counters, stop: impl Iterator<Item = ()>) {
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Relaxed) {
                say(&c.line());
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        stop.for_each(drop);
        done.store(true, Relaxed);
    });
    say(&c.line());
}

/// The code a client gives a pulse of value `value`, so that the server
/// can tell that the two arrived together.
pub fn pulse_code_of(value: i64) -> i8 {
    (value.rem_euclid(100) + 1) as i8
}

/// CLOCK_MONOTONIC in nanoseconds: the same clock in every process.
pub fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}
