//! The results as JSON, written without a JSON library: the document is
//! flat and its strings are few. One row per line, so a diff of two runs
//! reads well.
//!
#![doc = include_str!("json-schema.md")]

use super::results::{Results, Row};
use std::fmt::Write as _;
use std::io::{self, Write};

/// The schema, for `baton bench --help`.
pub const SCHEMA_HELP: &str = include_str!("json-schema.md");

/// Writes `r` as a JSON document to `out`.
pub fn write(r: &Results, out: &mut impl Write) -> io::Result<()> {
    let s = &r.setup;
    let cpus: Vec<String> = s.machine.cpus.iter().map(usize::to_string).collect();
    writeln!(out, "{{")?;
    writeln!(out, "  \"schema\": \"baton-bench/1\",")?;
    writeln!(out, "  \"size\": {},", s.size)?;
    writeln!(out, "  \"iterations\": {},", s.iterations)?;
    writeln!(out, "  \"warmup\": {},", s.warmup)?;
    writeln!(out, "  \"runs\": {},", s.runs)?;
    writeln!(out, "  \"timer\": \"clock_gettime(CLOCK_MONOTONIC) once per round trip\",")?;
    writeln!(out, "  \"timer_overhead_ns\": {},", number(s.machine.timer_ns))?;
    writeln!(out, "  \"clocksource\": {},", string(&s.machine.clocksource))?;
    writeln!(out, "  \"kernel\": {},", string(&s.machine.kernel))?;
    writeln!(out, "  \"cpus\": [{}],", cpus.join(", "))?;
    let rows: Vec<String> = r.rows.iter().map(row).collect();
    writeln!(out, "  \"rows\": [\n    {}\n  ],", rows.join(",\n    "))?;
    let skipped: Vec<String> = r
        .skipped
        .iter()
        .map(|k| format!("{{\"placement\": \"{}\", \"reason\": {}}}", k.placement.name(), string(&k.reason)))
        .collect();
    writeln!(out, "  \"skipped\": [{}]", skipped.join(", "))?;
    writeln!(out, "}}")
}

fn row(r: &Row) -> String {
    let cpu = |c: Option<usize>| c.map_or("null".to_owned(), |c| c.to_string());
    let l = &r.latency;
    format!(
        "{{\"transport\": \"{}\", \"mode\": \"{}\", \"placement\": \"{}\", \"server_cpu\": {}, \"client_cpu\": {}, \
         \"size\": {}, \"n\": {}, \"runs\": {}, \"p50_ns\": {}, \"p99_ns\": {}, \"p999_ns\": {}, \"max_ns\": {}, \
         \"round_trips_per_sec\": {}, \"cpu_ns_per_round_trip\": {}, \"baton_p50_ratio\": {}}}",
        r.transport.name(),
        r.transport.mode(),
        r.placement.name(),
        cpu(r.cpus.server),
        cpu(r.cpus.client),
        r.size,
        r.n,
        r.runs,
        l.p50,
        l.p99,
        l.p999,
        l.max,
        number(r.round_trips_per_sec),
        number(r.cpu_ns_per_round_trip),
        r.baton_ratio.map_or("null".to_owned(), number)
    )
}

/// A finite number with at most three decimals; `null` otherwise.
fn number(x: f64) -> String {
    if x.is_finite() {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        "null".to_owned()
    }
}

/// A JSON string literal.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings() {
        assert_eq!(number(1234.5), "1234.5");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(100.0), "100");
        assert_eq!(number(f64::NAN), "null");
        assert_eq!(string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
