//! The human-readable report: a header that says how and where the figures
//! were taken, and one table line per placement and transport; then the
//! load section's table (`load/table.rs`).

use super::load;
use super::machine::Machine;
use super::peers::Transport;
use super::plan::Section;
use super::results::{Results, Row};
use super::{memory, scale, throughput};
use std::io::{self, Write};

/// Writes the whole report to `out`: each section asked for, its table or
/// why it was skipped.
pub fn render(r: &Results, out: &mut impl Write) -> io::Result<()> {
    for (i, &section) in r.sections.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        match section {
            Section::RoundTrip => round_trips(r, out)?,
            Section::Load => match &r.load {
                Some(load) => load::table::render(load, &r.setup.machine, out)?,
                None => skipped(r, Section::Load, out)?,
            },
            Section::Throughput => match &r.throughput {
                Some(t) => throughput::table::render(t, &r.setup.machine, out)?,
                None => skipped(r, section, out)?,
            },
            Section::Scale => match &r.scale {
                Some(s) => scale::table::render(s, &r.setup.machine, out)?,
                None => skipped(r, section, out)?,
            },
            Section::Memory => match &r.memory {
                Some(m) => memory::table::render(m, &r.setup.machine, out)?,
                None => skipped(r, section, out)?,
            },
        }
    }
    Ok(())
}

/// The skipped configurations of `section`.
fn skipped(r: &Results, section: Section, out: &mut impl Write) -> io::Result<()> {
    for skip in r.skipped.iter().filter(|s| s.section == section) {
        writeln!(out, "{} section, {}: skipped: {}", section.name(), skip.placement.name(), skip.reason)?;
    }
    Ok(())
}

/// The round-trip section's table.
fn round_trips(r: &Results, out: &mut impl Write) -> io::Result<()> {
    let s = &r.setup;
    writeln!(out, "baton bench: {0}-byte request + {0}-byte reply between two processes", s.size)?;
    writeln!(
        out,
        "each figure: median of {} interleaved runs of {} round trips, after {} warm-up round trips",
        s.runs, s.iterations, s.warmup
    )?;
    writeln!(
        out,
        "timer: clock_gettime(CLOCK_MONOTONIC) read once per round trip ({:.0} ns a read, inside every sample; clocksource {})",
        s.machine.timer_ns, s.machine.clocksource
    )?;
    writeln!(out, "{}", machine_line(&s.machine))?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<10} {:<9} {:<8} {:>7} {:>8} {:>8} {:>9} {:>9} {:>10} {:>9} {:>9}",
        "placement", "transport", "mode", "n", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "rt/s", "CPU µs/rt", "baton ÷"
    )?;
    let mut last = None;
    for row in &r.rows {
        let placement = if last == Some(row.placement) { "" } else { row.placement.name() };
        last = Some(row.placement);
        writeln!(out, "{}", line(placement, row))?;
    }
    for skip in r.skipped.iter().filter(|s| s.section == Section::RoundTrip) {
        writeln!(out, "{:<10} skipped: {}", skip.placement.name(), skip.reason)?;
    }
    writeln!(out)?;
    writeln!(out, "rt/s: round trips per second of wall time; CPU µs/rt: user + system time of both processes")?;
    writeln!(out, "per round trip; baton ÷: baton's p50 divided by the row's p50 in the same placement (< 1: baton")?;
    writeln!(out, "is faster). same-cpu: both processes pinned to the first CPU; cross-cpu: server on the first,")?;
    writeln!(out, "client on the second; unpinned: the scheduler decides. seqpacket: a Unix SOCK_SEQPACKET socket")?;
    writeln!(out, "to a server that epolls its sockets (the load section's server, without the work).")
}

fn line(placement: &str, row: &Row) -> String {
    let l = &row.latency;
    let ratio = match row.baton_ratio {
        _ if row.transport == Transport::Baton => "-".to_owned(),
        Some(x) => format!("{x:.2}×"),
        None => "n/a".to_owned(),
    };
    format!(
        "{:<10} {:<9} {:<8} {:>7} {:>8} {:>8} {:>9} {:>9} {:>10.0} {:>9} {:>9}",
        placement,
        row.transport.name(),
        row.transport.mode(),
        row.n,
        micros(l.p50 as f64),
        micros(l.p99 as f64),
        micros(l.p999 as f64),
        micros(l.max as f64),
        row.round_trips_per_sec,
        micros(row.cpu_ns_per_round_trip),
        ratio
    )
}

/// The kernel and the CPUs, one line.
pub fn machine_line(m: &Machine) -> String {
    let cpus: Vec<String> = m.cpus.iter().map(usize::to_string).collect();
    format!("machine: Linux {}, CPUs usable: {}", m.kernel, cpus.join(","))
}

/// Nanoseconds as microseconds with three or four significant digits.
pub fn micros(ns: f64) -> String {
    let us = ns / 1000.0;
    match us {
        _ if us < 100.0 => format!("{us:.2}"),
        _ if us < 10_000.0 => format!("{us:.1}"),
        _ => format!("{us:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::micros;

    #[test]
    fn micros_keep_significant_digits() {
        assert_eq!(micros(8_123.0), "8.12");
        assert_eq!(micros(123_456.0), "123.5");
        assert_eq!(micros(12_345_678.0), "12346");
    }
}
