//! The scale section's table: how the figures were taken, one line per
//! transport and number of connected clients, one per transport for the
//! queue, and the goal with whether it was met.

use super::results::{Goal, Results, GOAL_RATIO};
use crate::bench::machine::Machine;
use crate::bench::table::{machine_line, micros};
use std::io::{self, Write};

/// Writes the section's report to `out`.
pub fn render(r: &Results, machine: &Machine, out: &mut impl Write) -> io::Result<()> {
    let s = &r.setup;
    writeln!(
        out,
        "scale: one active client process calls a one-thread server process ({0}-byte request, {0}-byte",
        s.size
    )?;
    writeln!(out, "reply, CLOCK_MONOTONIC read once between round trips) while other client connections to the")?;
    writeln!(out, "same server are open and idle: 1, 100 or 1000 connected in all. The idle connections are held by")?;
    writeln!(
        out,
        "holder processes of at most {} connections each, every one its own server connection (baton:",
        s.per_holder
    )?;
    writeln!(out, "ConnectBuilder::no_share; seqpacket: a socket each). All processes unpinned; every process raises")?;
    writeln!(out, "its soft RLIMIT_NOFILE to the hard limit (baton's runtime does so itself).")?;
    writeln!(
        out,
        "each figure: median of {} interleaved runs of {} round trips, after {} warm-up round trips",
        s.runs, s.iterations, s.warmup
    )?;
    writeln!(out, "{}", machine_line(machine))?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<10} {:>9} {:>7} {:>8} {:>8} {:>9} {:>9} {:>10} {:>8}",
        "transport", "connected", "n", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "rt/s", "p50 ÷ 1"
    )?;
    let mut last = None;
    for row in &r.connected {
        let transport = if last == Some(row.transport) { "" } else { row.transport.name() };
        last = Some(row.transport);
        let l = &row.latency;
        let ratio = row.p50_to_one.map_or("n/a".to_owned(), |x| format!("{x:.2}×"));
        writeln!(
            out,
            "{:<10} {:>9} {:>7} {:>8} {:>8} {:>9} {:>9} {:>10.0} {:>8}",
            transport,
            row.connected,
            row.n,
            micros(l.p50 as f64),
            micros(l.p99 as f64),
            micros(l.p999 as f64),
            micros(l.max as f64),
            row.round_trips_per_sec,
            ratio
        )?;
    }
    writeln!(out)?;
    goal(&r.goal(), out)?;
    writeln!(out, "rt/s: the active client's round trips per second; p50 ÷ 1: the row's p50 divided by the same")?;
    writeln!(out, "transport's p50 with one client connected.")?;
    writeln!(out)?;
    writeln!(
        out,
        "queued: the server stops receiving (after answering a call from the probe client), {} client",
        s.queued
    )?;
    writeln!(out, "threads (in holder processes, a connection each) each send one message, and once all have said")?;
    writeln!(
        out,
        "they are sending and {} ms have passed, the probe sends its message; {} ms later the server starts",
        s.settle_ns / 1_000_000,
        s.settle_ns / 1_000_000
    )?;
    writeln!(out, "answering. drain: the server's time from that start until it had answered all of them, the")?;
    writeln!(out, "probe's included, per message; probe: from that start until the probe had its reply; place:")?;
    writeln!(out, "messages the server answered before the probe's; CPU: the server's CPU time per message. The")?;
    writeln!(out, "senders close their connections only after that (a disconnect is not in these figures); CPU per")?;
    writeln!(out, "disconnect: the server process's CPU time (all its threads) while they close, per connection.")?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<10} {:>7} {:>12} {:>10} {:>7} {:>9} {:>13}",
        "transport", "queued", "drain µs/msg", "probe µs", "place", "CPU µs", "CPU µs/disc."
    )?;
    for q in &r.queued {
        writeln!(
            out,
            "{:<10} {:>7} {:>12} {:>10} {:>7.0} {:>9} {:>13}",
            q.transport.name(),
            q.queued,
            micros(q.drain_ns_per_message),
            micros(q.probe_ns),
            q.probe_position,
            micros(q.server_cpu_ns_per_message),
            micros(q.server_cpu_ns_per_disconnect)
        )?;
    }
    Ok(())
}

fn goal(g: &Goal, out: &mut impl Write) -> io::Result<()> {
    let verdict = match (g.met(), g.baton) {
        (Some(true), Some(x)) => format!("met ({x:.2}×)"),
        (Some(false), Some(x)) => format!("NOT met ({x:.2}×)"),
        _ => "not judged (baton with 1 and with the most clients did not both run)".to_owned(),
    };
    writeln!(
        out,
        "goal: baton's p50 with {} clients connected within {GOAL_RATIO}× its p50 with 1: {verdict}",
        g.connected
    )?;
    if let Some(x) = g.socket {
        writeln!(out, "      seqpacket's: {x:.2}×")?;
    }
    Ok(())
}
