//! The human-readable report: a header that says how and where the figures
//! were taken, then for each message size `memcpy`'s bandwidth and one
//! table line per placement and transport (or why it was skipped); then the
//! load section's table (`load/table.rs`).

use super::load;
use super::machine::Machine;
use super::peers::Transport;
use super::plan::{Placement, Section};
use super::results::{Results, Row};
use super::size_name;
use super::{memory, read, scale, throughput};
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
            Section::Read => match &r.read {
                Some(x) => read::table::render(x, &r.setup.machine, out)?,
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

/// The round-trip section's table: a block per size, in it a group per
/// placement.
fn round_trips(r: &Results, out: &mut impl Write) -> io::Result<()> {
    let s = &r.setup;
    let sizes: Vec<String> = s.sizes.iter().map(|&z| size_name(z)).collect();
    writeln!(out, "baton bench: a request and a reply of the same size between two processes: {}", sizes.join(", "))?;
    writeln!(
        out,
        "each figure: median of {} interleaved runs of {} round trips after {} warm-up ones; big messages make fewer",
        s.runs, s.iterations, s.warmup
    )?;
    writeln!(out, "(a run moves at most {} MiB, request and reply counted; n is per row)", s.bytes_per_run >> 20)?;
    writeln!(
        out,
        "timer: clock_gettime(CLOCK_MONOTONIC) read once per round trip ({:.0} ns a read, inside every sample; clocksource {})",
        s.machine.timer_ns, s.machine.clocksource
    )?;
    writeln!(out, "{}", machine_line(&s.machine))?;
    for &size in &s.sizes {
        writeln!(out)?;
        let copy = r.memcpy.iter().find(|m| m.size == size).map_or("n/a".to_owned(), |m| gb(m.gb_per_sec));
        let name = size_name(size);
        writeln!(out, "{name} request + {name} reply; memcpy of {name} in one process: {copy} GB/s")?;
        writeln!(
            out,
            "{:<10} {:<9} {:<8} {:>7} {:>8} {:>8} {:>9} {:>9} {:>10} {:>9} {:>7} {:>8} {:>8}",
            "placement",
            "transport",
            "mode",
            "n",
            "p50 µs",
            "p99 µs",
            "p99.9 µs",
            "max µs",
            "rt/s",
            "CPU µs/rt",
            "GB/s",
            "÷memcpy",
            "baton ÷"
        )?;
        for placement in Placement::ALL {
            let mut lines: Vec<(Transport, String)> = r
                .rows
                .iter()
                .filter(|row| row.size == size && row.placement == placement)
                .map(|row| (row.transport, line(row)))
                .collect();
            for skip in r
                .skipped
                .iter()
                .filter(|k| k.section == Section::RoundTrip && k.placement == placement && k.size == Some(size))
            {
                if let Some(t) = skip.transport {
                    lines.push((t, format!("{:<9} skipped: {}", t.name(), skip.reason)));
                }
            }
            lines.sort_by_key(|l| l.0);
            for (i, (_, text)) in lines.iter().enumerate() {
                let first = if i == 0 { placement.name() } else { "" };
                writeln!(out, "{first:<10} {text}")?;
            }
        }
    }
    for skip in r.skipped.iter().filter(|k| k.section == Section::RoundTrip && k.transport.is_none()) {
        writeln!(out, "{:<10} skipped: {}", skip.placement.name(), skip.reason)?;
    }
    writeln!(out)?;
    for text in FOOTNOTES {
        writeln!(out, "{text}")?;
    }
    Ok(())
}

/// What the round-trip table's columns and names mean.
const FOOTNOTES: [&str; 11] = [
    "rt/s: round trips per second of wall time; CPU µs/rt: user + system time of both processes per round",
    "trip; GB/s: request + reply bytes per p50 round trip; ÷memcpy: that divided by memcpy's bandwidth for",
    "the size; baton ÷: baton's p50 divided by the row's p50 in the same placement and size (< 1: baton is",
    "faster). same-cpu: both processes pinned to the first CPU; cross-cpu: server on the first, client on",
    "the second; unpinned: the scheduler decides. futex, eventfd, spin: the bytes on a shared memfd page, a",
    "futex word, an eventfd each way, or both sides spinning on a shared cache line (no system calls);",
    "pipe: a pipe each way. seqpacket, stream: a Unix SOCK_SEQPACKET or SOCK_STREAM socket, tcp: TCP on",
    "127.0.0.1 (TCP_NODELAY), each to a server that epolls its sockets (the load section's server, without",
    "the work); a stream is read and written in loops until the whole message has moved.",
    "iceoryx2: request-response, both sides sleeping on iceoryx2 events; dbus: a zbus method call through",
    "a private dbus-daemon (each call crosses the daemon twice; CPU µs/rt leaves the daemon's time out).",
];

/// One row, without the placement column.
fn line(row: &Row) -> String {
    let l = &row.latency;
    let ratio = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{}×", ratio(x)));
    let baton = if row.transport == Transport::Baton { "-".to_owned() } else { ratio(row.baton_ratio) };
    format!(
        "{:<9} {:<8} {:>7} {:>8} {:>8} {:>9} {:>9} {:>10.0} {:>9} {:>7} {:>8} {:>8}",
        row.transport.name(),
        row.transport.mode(),
        row.n,
        micros(l.p50 as f64),
        micros(l.p99 as f64),
        micros(l.p999 as f64),
        micros(l.max as f64),
        row.round_trips_per_sec,
        micros(row.cpu_ns_per_round_trip),
        gb(row.gb_per_sec),
        ratio(row.memcpy_ratio),
        baton
    )
}

/// A ratio with two decimals, or two significant digits below 0.1.
fn ratio(x: f64) -> String {
    match x {
        _ if x >= 0.1 || x <= 0.0 => format!("{x:.2}"),
        _ if x >= 0.01 => format!("{x:.3}"),
        _ => format!("{x:.4}"),
    }
}

/// GB/s with two decimals, or three significant digits from 10 up.
fn gb(x: f64) -> String {
    match x {
        _ if x < 10.0 => format!("{x:.2}"),
        _ if x < 100.0 => format!("{x:.1}"),
        _ => format!("{x:.0}"),
    }
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
    use super::{gb, micros, ratio};

    #[test]
    fn ratios_keep_two_digits() {
        assert_eq!(ratio(1.234), "1.23");
        assert_eq!(ratio(0.0567), "0.057");
        assert_eq!(ratio(0.00512), "0.0051");
    }

    #[test]
    fn gigabytes_keep_significant_digits() {
        assert_eq!(gb(0.0123), "0.01");
        assert_eq!(gb(9.876), "9.88");
        assert_eq!(gb(12.34), "12.3");
        assert_eq!(gb(123.4), "123");
    }

    #[test]
    fn micros_keep_significant_digits() {
        assert_eq!(micros(8_123.0), "8.12");
        assert_eq!(micros(123_456.0), "123.5");
        assert_eq!(micros(12_345_678.0), "12346");
    }
}
