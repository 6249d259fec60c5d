//! What a peer tells the bench parent, one line at a time on its stdout:
//! [`READY`] once it is set up (a server; the parent then starts the
//! clients; a flooder, once it has made its first call), and a `done` line
//! with its [`Report`] when it has finished.

use super::stats::Summary;
use std::fmt;

/// The line a server prints when clients may connect.
pub const READY: &str = "ready";

/// One peer's figures over its measured round trips (warm-up excluded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Round trips measured.
    pub n: u64,
    /// CPU time, user + system, of all the peer's threads.
    pub cpu_ns: u64,
    /// Wall time from the start of the first to the end of the last round
    /// trip (the client's; 0 from a server).
    pub wall_ns: u64,
    /// Latency per round trip (the client's; zeros from a server).
    pub latency: Summary,
    /// Calls the flooders completed while the client measured (the load
    /// section's real-time client; 0 from every other peer).
    pub flood: u64,
}

/// The `done` line, without the newline.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Summary { p50, p99, p999, max } = self.latency;
        write!(f, "done n={} cpu_ns={} wall_ns={} ", self.n, self.cpu_ns, self.wall_ns)?;
        write!(f, "p50={p50} p99={p99} p999={p999} max={max} flood={}", self.flood)
    }
}

impl Report {
    /// Reads a `done` line; every field must be there.
    pub fn parse(line: &str) -> Result<Report, String> {
        let mut words = line.split_whitespace();
        if words.next() != Some("done") {
            return Err(format!("expected a `done` line, got {line:?}"));
        }
        const KEYS: [&str; 8] = ["n", "cpu_ns", "wall_ns", "p50", "p99", "p999", "max", "flood"];
        let mut values = [None; KEYS.len()];
        for word in words {
            let (key, value) = word.split_once('=').ok_or_else(|| format!("bad field {word:?}"))?;
            let i = KEYS.iter().position(|k| *k == key).ok_or_else(|| format!("unknown field {key:?}"))?;
            values[i] = Some(value.parse::<u64>().map_err(|e| format!("field {key}: {e}"))?);
        }
        if let Some(i) = values.iter().position(Option::is_none) {
            return Err(format!("field {} missing in {line:?}", KEYS[i]));
        }
        let [n, cpu_ns, wall_ns, p50, p99, p999, max, flood] = values.map(Option::unwrap_or_default);
        Ok(Report { n, cpu_ns, wall_ns, latency: Summary { p50, p99, p999, max }, flood })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let r = Report { n: 9, cpu_ns: 8, wall_ns: 7, latency: Summary { p50: 1, p99: 2, p999: 3, max: 4 }, flood: 5 };
        assert_eq!(Report::parse(&r.to_string()), Ok(r));
    }

    #[test]
    fn rejects_partial_and_foreign_lines() {
        assert!(Report::parse("ready").is_err());
        assert!(Report::parse("done n=1").is_err());
        assert!(Report::parse("done n=x cpu_ns=1 wall_ns=1 p50=1 p99=1 p999=1 max=1 flood=0").is_err());
        assert!(Report::parse("done n=1 cpu_ns=1 wall_ns=1 p50=1 p99=1 p999=1 max=1").is_err());
    }
}
