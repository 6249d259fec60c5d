//! The memory section's table: the layout of a connection's shared memory,
//! what the server grew by per connection, and the goal.

use super::results::{PerConn, Results, GOAL_BYTES};
use crate::bench::machine::Machine;
use crate::bench::table::machine_line;
use std::io::{self, Write};

/// Writes the section's report to `out`.
pub fn render(r: &Results, machine: &Machine, out: &mut impl Write) -> io::Result<()> {
    let g = &r.geometry;
    writeln!(out, "memory: what a connection costs a baton server (a channel with default options, one thread).")?;
    writeln!(
        out,
        "shared memory per connection (library layout): {} bytes mapped ({} KiB): a {}-byte header",
        g.len,
        g.len / 1024,
        g.header_len
    )?;
    writeln!(
        out,
        "(fixed fields, doorbell, a {}-entry pulse ring), then {} slots of {} bytes each ({} of them inline",
        g.pulses, g.slots, g.slot_len, g.inline_size
    )?;
    writeln!(
        out,
        "message), and past them, mapped but not in the file until a message or reply needs it, an overflow area"
    )?;
    writeln!(
        out,
        "of {} KiB per slot; a page takes memory only once touched, so an idle connection holds little of it.",
        g.overflow_size / 1024
    )?;
    writeln!(
        out,
        "measured: the server's /proc/<pid>/smaps_rollup and /proc/<pid>/fd with no client, with {} idle",
        r.connections
    )?;
    writeln!(out, "connections (held by client processes of at most 250 each, every one its own server connection:")?;
    writeln!(out, "no_share), and after each made one call; the growth divided by the connections. Kernel memory")?;
    writeln!(out, "(sockets, eventfds, epoll entries) is not in these figures.")?;
    writeln!(out, "each figure: median of {} runs", r.runs)?;
    writeln!(out, "{}", machine_line(machine))?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:>10} {:>10} {:>12} {:>11} {:>8}",
        "per connection", "RSS KiB", "PSS KiB", "heap+stk KiB", "shm PSS KiB", "fds"
    )?;
    for (what, p) in [("idle (connected)", &r.idle), ("after one call each", &r.used)] {
        writeln!(out, "{}", line(what, p))?;
    }
    writeln!(
        out,
        "server with no client: RSS {} KiB, PSS {} KiB, {} descriptors",
        r.base.rss / 1024,
        r.base.pss / 1024,
        r.base.fds
    )?;
    writeln!(out)?;
    let limit = |l: Option<u64>| l.map_or("unlimited".to_owned(), |l| l.to_string());
    let verdict = if r.goal_met() { "met" } else { "NOT met" };
    writeln!(
        out,
        "goal: an idle connection costs the server at most {} KiB (RSS growth): {verdict} ({:.1} KiB);",
        GOAL_BYTES / 1024,
        r.idle.rss / 1024.0
    )?;
    writeln!(
        out,
        "      {} connections to one server worked (each made a call), with RLIMIT_NOFILE {} soft / {} hard",
        r.connections,
        limit(r.nofile.0),
        limit(r.nofile.1)
    )?;
    writeln!(out, "RSS: resident pages mapped by the server (shared ones counted in full); PSS: shared pages divided")?;
    writeln!(out, "among the processes mapping them (a segment: the server and its client); heap+stk: the server's")?;
    writeln!(out, "private anonymous memory (bookkeeping); shm PSS: its share of the segments' resident pages.")
}

fn line(what: &str, p: &PerConn) -> String {
    let k = |b: f64| format!("{:.2}", b / 1024.0);
    format!(
        "{:<24} {:>10} {:>10} {:>12} {:>11} {:>8.2}",
        what,
        k(p.rss),
        k(p.pss),
        k(p.anonymous),
        k(p.pss_shmem),
        p.fds
    )
}
