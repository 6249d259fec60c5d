//! The load section's table: how the figures were taken, one line per
//! transport and load, and the goal with whether it was met.

use super::results::{Goal, Results, Row, GOAL_RATIO};
use crate::bench::machine::Machine;
use crate::bench::table::{machine_line, micros};
use std::io::{self, Write};

/// Writes the section's report to `out`; `machine` is the one it ran on.
pub fn render(r: &Results, machine: &Machine, out: &mut impl Write) -> io::Result<()> {
    let s = &r.setup;
    writeln!(
        out,
        "latency under load: a SCHED_FIFO {} client process calls a server process once every {} µs and",
        s.priority,
        s.period_ns / 1000
    )?;
    writeln!(out, "times each call (CLOCK_MONOTONIC before and after it). The server has one SCHED_OTHER thread,")?;
    writeln!(
        out,
        "which works {} µs on each {}-byte request before it answers ({} rounds of FNV-1a, timed before",
        micros(s.work_ns),
        s.size,
        s.work.rounds
    )?;
    writeln!(
        out,
        "the runs: median of 1000). idle: the real-time client alone; {} flooders: as many SCHED_OTHER",
        s.flooders
    )?;
    writeln!(out, "client processes also call the server, back to back. All processes unpinned; a SCHED_IDLE")?;
    writeln!(out, "spinner per CPU keeps idle CPUs from halting (as idle=poll does), so waking the server costs")?;
    writeln!(out, "a context switch, not a halted (virtual) CPU's wake-up.")?;
    writeln!(
        out,
        "each figure: median of {} interleaved runs of {} real-time calls, after {} warm-up calls",
        s.runs, s.calls, s.warmup
    )?;
    writeln!(out, "{}", machine_line(machine))?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<10} {:<11} {:>7} {:>8} {:>8} {:>9} {:>9} {:>13} {:>11} {:>12}",
        "transport",
        "load",
        "n",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs",
        "flood calls/s",
        "CPU µs/call",
        "p99.9 ÷ idle"
    )?;
    let mut last = None;
    for row in &r.rows {
        let transport = if last == Some(row.transport) { "" } else { row.transport.name() };
        last = Some(row.transport);
        writeln!(out, "{}", line(transport, row))?;
    }
    writeln!(out)?;
    goal(&r.goal(), out)?;
    writeln!(out, "flood calls/s: calls the flooders completed per second while the real-time client measured;")?;
    writeln!(out, "CPU µs/call: the real-time client's user + system time per call (time it spins in the kernel")?;
    writeln!(out, "while waiting counts); p99.9 ÷ idle: the row's p99.9 divided by the same transport's idle p99.9.")?;
    writeln!(out, "seqpacket: a Unix SOCK_SEQPACKET socket per client; the server epolls them and answers whichever")?;
    writeln!(out, "is readable, in the order epoll reports them.")
}

fn line(transport: &str, row: &Row) -> String {
    let l = &row.latency;
    let (load, flood, ratio) = match row.p999_to_idle {
        _ if row.flooders == 0 => ("idle".to_owned(), "-".to_owned(), "-".to_owned()),
        Some(x) => (flooders(row.flooders), format!("{:.0}", row.flood_calls_per_sec), format!("{x:.2}×")),
        None => (flooders(row.flooders), format!("{:.0}", row.flood_calls_per_sec), "n/a".to_owned()),
    };
    format!(
        "{:<10} {:<11} {:>7} {:>8} {:>8} {:>9} {:>9} {:>13} {:>11} {:>12}",
        transport,
        load,
        row.n,
        micros(l.p50 as f64),
        micros(l.p99 as f64),
        micros(l.p999 as f64),
        micros(l.max as f64),
        flood,
        micros(row.rt_cpu_ns_per_call),
        ratio
    )
}

fn flooders(n: usize) -> String {
    format!("{n} flooders")
}

/// The goal and the verdict, from the measured ratios only.
fn goal(g: &Goal, out: &mut impl Write) -> io::Result<()> {
    let verdict = match (g.met(), g.baton) {
        (Some(true), Some(x)) => format!("met ({x:.2}×)"),
        (Some(false), Some(x)) => format!("NOT met ({x:.2}×)"),
        _ => "not judged (baton idle and under load did not both run)".to_owned(),
    };
    writeln!(out, "goal: baton's p99.9 under load within {GOAL_RATIO}× its idle p99.9: {verdict}")?;
    let socket = match (g.socket_grew(), g.socket) {
        (Some(grew), Some(x)) => {
            format!("{x:.2}× its idle p99.9 ({} {GOAL_RATIO}×)", if grew { "grew beyond" } else { "stayed within" })
        }
        _ => "not judged (seqpacket idle and under load did not both run)".to_owned(),
    };
    writeln!(out, "      the socket server's p99.9 under load: {socket}")
}
