//! The baseline file: the instructions per round trip the repository
//! expects, one line per configuration, and the check against it.
//!
//! ```text
//! # mode size client server
//! blocking 64 2718 3141
//! ```
//!
//! A count may grow by at most [`TOLERANCE`] over its baseline; a count
//! that shrank by more is only reported (record it with `--bless`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// How much a count may grow over the baseline before the check fails.
pub const TOLERANCE: f64 = 0.05;

/// Instructions per round trip, client and server, by (mode, size).
pub type Table = BTreeMap<(String, usize), (u64, u64)>;

/// Reads the baseline at `path` (empty if there is none).
pub fn read(path: &Path) -> io::Result<Table> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Table::new()),
        Err(e) => return Err(e),
    };
    let mut table = Table::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || io::Error::other(format!("{}:{}: expected `mode size client server`", path.display(), i + 1));
        let f: Vec<&str> = line.split_whitespace().collect();
        let [mode, size, client, server] = f[..] else { return Err(bad()) };
        let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
        table.insert((mode.to_owned(), num(size)? as usize), (num(client)?, num(server)?));
    }
    Ok(table)
}

/// Writes `table` to `path` as the new baseline, under `header` (comment lines).
pub fn write(path: &Path, header: &str, table: &Table) -> io::Result<()> {
    let mut text = String::new();
    for line in header.lines() {
        let _ = writeln!(text, "# {line}");
    }
    let _ = writeln!(text, "# mode size client server");
    for ((mode, size), (client, server)) in table {
        let _ = writeln!(text, "{mode} {size} {client} {server}");
    }
    std::fs::write(path, text)
}

/// How one count compares with its baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the tolerance either way.
    Same,
    /// Grew more than the tolerance: the check fails.
    Grew,
    /// Shrank more than the tolerance: worth recording.
    Shrank,
    /// No baseline for it: the check fails (record one with `--bless`).
    Missing,
}

/// `now` against `then`.
pub fn judge(now: u64, then: Option<u64>) -> Verdict {
    match then {
        None => Verdict::Missing,
        Some(then) if now as f64 > then as f64 * (1.0 + TOLERANCE) => Verdict::Grew,
        Some(then) if (now as f64) < then as f64 * (1.0 - TOLERANCE) => Verdict::Shrank,
        Some(_) => Verdict::Same,
    }
}

/// The change from `then` to `now`, as "+1.2%" (empty without a baseline).
pub fn change(now: u64, then: Option<u64>) -> String {
    match then {
        Some(then) if then > 0 => format!("{:+.1}%", (now as f64 / then as f64 - 1.0) * 100.0),
        _ => String::new(),
    }
}
