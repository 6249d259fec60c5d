//! The read section's table: one line per way, the ratios to tmpfs, the goal.

use super::results::{Results, GOAL_RATIO};
use super::Via;
use crate::bench::machine::Machine;
use crate::bench::table::machine_line;
use std::io::{self, Write};

/// Writes the section's report to `out`.
pub fn render(r: &Results, machine: &Machine, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "read: {} B reads of one file, four ways: the resource-manager client API (direct: one", r.size)?;
    writeln!(out, "_IO_READ message to a server process that serves the file from memory), read(2) through the")?;
    writeln!(out, "FUSE mount of the path space (fuse: baton fuse, direct I/O: each read one FUSE request, one")?;
    writeln!(out, "message), read(2) through a FUSE mount mounted the same way that answers from its own memory")?;
    writeln!(out, "(fuse-floor: FUSE's own cost, no resource manager), and pread(2) of a plain file in tmpfs")?;
    writeln!(
        out,
        "(/dev/shm). CPU per read: the reader's, the server's and the FUSE process's. {} reads",
        r.iterations
    )?;
    writeln!(out, "(+{} warm-up) per run; each figure: median of {} runs", r.warmup, r.runs)?;
    writeln!(out, "{}", machine_line(machine))?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>11} {:>9} {:>9}",
        "way", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "reads/s", "CPU µs", "÷ tmpfs"
    )?;
    let us = |ns: u64| ns as f64 / 1000.0;
    for via in Via::ALL {
        match r.row(via) {
            Some(row) => {
                let l = row.latency;
                let ratio = r.to_tmpfs(via).map_or("-".to_owned(), |x| format!("{x:.2}"));
                writeln!(
                    out,
                    "{:<10} {:>9.2} {:>9.2} {:>9.2} {:>9.1} {:>11.0} {:>9.2} {:>9}",
                    via.name(),
                    us(l.p50),
                    us(l.p99),
                    us(l.p999),
                    us(l.max),
                    row.reads_per_sec,
                    row.cpu_ns_per_read / 1000.0,
                    ratio
                )?;
            }
            None => match r.skip_reason(via) {
                Some(why) => writeln!(out, "{:<10} skipped: {why}", via.name())?,
                None => writeln!(out, "{:<10} did not run", via.name())?,
            },
        }
    }
    writeln!(out)?;
    let verdict = match (r.goal_met(), r.to_tmpfs(Via::Direct)) {
        (Some(true), Some(x)) => format!("met: direct p50 is {x:.2}x tmpfs's"),
        (Some(false), Some(x)) => format!("NOT met: direct p50 is {x:.2}x tmpfs's"),
        _ => "not measured".to_owned(),
    };
    writeln!(out, "goal: the client API within {GOAL_RATIO}x of the tmpfs read (p50): {verdict}")?;
    if let Some(x) = r.to_tmpfs(Via::Fuse) {
        writeln!(out, "FUSE's overhead: its p50 is {x:.2}x tmpfs's")?;
    }
    if let (Some(x), Some(floor)) = (r.fuse_to_floor(), r.to_tmpfs(Via::FuseFloor)) {
        writeln!(
            out,
            "of which FUSE itself (fuse-floor) is {floor:.2}x tmpfs; the bridge and the resource manager make it {x:.2}x that"
        )?;
    }
    Ok(())
}
