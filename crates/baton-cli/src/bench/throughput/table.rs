//! The throughput section's table: how the figures were taken, one line
//! per transport, each client's latency, and the goal with whether it was
//! met.

use super::results::{Results, GOAL_RATIO};
use crate::bench::machine::Machine;
use crate::bench::table::{machine_line, micros};
use std::io::{self, Write};

/// Writes the section's report to `out`.
pub fn render(r: &Results, machine: &Machine, out: &mut impl Write) -> io::Result<()> {
    let s = &r.setup;
    writeln!(
        out,
        "throughput: {} client processes call one server process with {} serving threads back to back,",
        s.clients, s.threads
    )?;
    writeln!(
        out,
        "{0}-byte request, {0}-byte reply. baton: both threads receive on one channel. seqpacket: a Unix",
        s.size
    )?;
    writeln!(
        out,
        "SOCK_SEQPACKET socket per client; the server deals the accepted sockets out in turn to its threads,"
    )?;
    writeln!(out, "each serving its own through its own level-triggered epoll set (no re-arming, no shared lock).")?;
    writeln!(
        out,
        "Each client times every call (CLOCK_MONOTONIC read once between calls) for {} ms after {} ms of",
        s.measure_ns / 1_000_000,
        s.warmup_ns / 1_000_000
    )?;
    writeln!(out, "warm-up; all processes unpinned. each figure: median of {} interleaved runs", s.runs)?;
    writeln!(out, "{}", machine_line(machine))?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<10} {:>10} {:>11} {:>10}   {:<28} p99 µs, each client",
        "transport", "calls/s", "CPU µs/call", "calls/run", "p50 µs, each client"
    )?;
    for row in &r.rows {
        let p50: Vec<String> = row.clients.iter().map(|c| micros(c.latency.p50 as f64)).collect();
        let p99: Vec<String> = row.clients.iter().map(|c| micros(c.latency.p99 as f64)).collect();
        writeln!(
            out,
            "{:<10} {:>10.0} {:>11} {:>10.0}   {:<28} {}",
            row.transport.name(),
            row.calls_per_sec,
            micros(row.cpu_ns_per_call),
            row.calls,
            p50.join(" "),
            p99.join(" ")
        )?;
    }
    writeln!(out)?;
    let verdict = match (r.goal_met(), r.ratio()) {
        (Some(true), Some(x)) => format!("met ({x:.2}×)"),
        (Some(false), Some(x)) => format!("NOT met ({x:.2}×)"),
        _ => "not judged (baton and seqpacket did not both run)".to_owned(),
    };
    writeln!(out, "goal: baton's calls/s at least {GOAL_RATIO}× seqpacket's: {verdict}")?;
    writeln!(out, "calls/s: calls all clients completed per second of the measured time; CPU µs/call: user + system")?;
    writeln!(out, "time of the server and all clients over the measured time, per call; p50/p99 per client: each")?;
    writeln!(out, "client's own percentiles, in client order.")
}
