//! The results as JSON, written without a JSON library: the document is
//! flat and its strings are few. One row per line, so a diff of two runs
//! reads well.
//!
#![doc = include_str!("json-schema.md")]

use super::load;
use super::peers::Transport;
use super::plan::{Cpus, Placement};
use super::results::{Results, Row};
use super::stats::Summary;
use super::{memory, read, scale, throughput};
use std::fmt::Write as _;
use std::io::{self, Write};

/// The schema's name and version.
pub const SCHEMA: &str = "baton-bench/3";

/// The schema, for `baton bench --help`.
pub const SCHEMA_HELP: &str = include_str!("json-schema.md");

/// Writes `r` as a JSON document to `out`.
pub fn write(r: &Results, out: &mut impl Write) -> io::Result<()> {
    let s = &r.setup;
    let cpus: Vec<String> = s.machine.cpus.iter().map(usize::to_string).collect();
    writeln!(out, "{{")?;
    let sections: Vec<String> = r.sections.iter().map(|s| format!("\"{}\"", s.name())).collect();
    writeln!(out, "  \"schema\": \"{SCHEMA}\",")?;
    writeln!(out, "  \"sections\": [{}],", sections.join(", "))?;
    let sizes: Vec<String> = s.sizes.iter().map(usize::to_string).collect();
    writeln!(out, "  \"sizes\": [{}],", sizes.join(", "))?;
    writeln!(out, "  \"iterations\": {},", s.iterations)?;
    writeln!(out, "  \"warmup\": {},", s.warmup)?;
    writeln!(out, "  \"bytes_per_run\": {},", s.bytes_per_run)?;
    writeln!(out, "  \"runs\": {},", s.runs)?;
    writeln!(out, "  \"timer\": \"clock_gettime(CLOCK_MONOTONIC) once per round trip\",")?;
    writeln!(out, "  \"timer_overhead_ns\": {},", number(s.machine.timer_ns))?;
    writeln!(out, "  \"clocksource\": {},", string(&s.machine.clocksource))?;
    writeln!(out, "  \"kernel\": {},", string(&s.machine.kernel))?;
    writeln!(out, "  \"cpus\": [{}],", cpus.join(", "))?;
    let memcpy: Vec<String> = r
        .memcpy
        .iter()
        .map(|m| format!("{{\"size\": {}, \"gb_per_sec\": {}}}", m.size, significant(m.gb_per_sec, 4)))
        .collect();
    writeln!(out, "  \"memcpy\": [{}],", memcpy.join(", "))?;
    writeln!(out, "  \"load\": {},", load::json::setup(r.load.as_ref()))?;
    writeln!(out, "  \"throughput\": {},", throughput::json::setup(r.throughput.as_ref()))?;
    writeln!(out, "  \"scale\": {},", scale::json::setup(r.scale.as_ref()))?;
    writeln!(out, "  \"memory\": {},", memory::json::object(r.memory.as_ref()))?;
    writeln!(out, "  \"read\": {},", read::json::object(r.read.as_ref()))?;
    let mut rows: Vec<String> = r.rows.iter().map(row).collect();
    rows.extend(r.load.iter().flat_map(load::json::rows));
    rows.extend(r.throughput.iter().flat_map(throughput::json::rows));
    rows.extend(r.scale.iter().flat_map(scale::json::rows));
    writeln!(out, "  \"rows\": [\n    {}\n  ],", rows.join(",\n    "))?;
    let skipped: Vec<String> = r
        .skipped
        .iter()
        .map(|k| {
            let (section, placement) = (k.section.name(), k.placement.name());
            let transport = k.transport.map_or("null".to_owned(), |t| format!("\"{}\"", t.name()));
            let size = k.size.map_or("null".to_owned(), |z| z.to_string());
            format!(
                "{{\"section\": \"{section}\", \"placement\": \"{placement}\", \"transport\": {transport}, \
                 \"size\": {size}, \"reason\": {}}}",
                string(&k.reason)
            )
        })
        .collect();
    writeln!(out, "  \"skipped\": [{}]", skipped.join(", "))?;
    writeln!(out, "}}")
}

fn row(r: &Row) -> String {
    let head = Head {
        transport: r.transport,
        mode: r.transport.mode(),
        placement: r.placement,
        cpus: r.cpus,
        size: r.size,
        n: r.n,
        runs: r.runs,
        latency: &r.latency,
    };
    format!(
        "{{{}, \"round_trips_per_sec\": {}, \"cpu_ns_per_round_trip\": {}, \"baton_p50_ratio\": {}, \
         \"gb_per_sec\": {}, \"memcpy_ratio\": {}}}",
        head.fields(),
        number(r.round_trips_per_sec),
        number(r.cpu_ns_per_round_trip),
        optional(r.baton_ratio),
        significant(r.gb_per_sec, 4),
        r.memcpy_ratio.map_or("null".to_owned(), |x| significant(x, 4))
    )
}

/// The fields every row starts with.
#[derive(Clone, Copy, Debug)]
pub struct Head<'a> {
    pub transport: Transport,
    pub mode: &'a str,
    pub placement: Placement,
    pub cpus: Cpus,
    pub size: usize,
    pub n: u64,
    pub runs: usize,
    pub latency: &'a Summary,
}

impl Head<'_> {
    /// The fields, without the braces.
    pub fn fields(&self) -> String {
        let cpu = |c: Option<usize>| c.map_or("null".to_owned(), |c| c.to_string());
        let l = self.latency;
        format!(
            "\"transport\": \"{}\", \"mode\": \"{}\", \"placement\": \"{}\", \"server_cpu\": {}, \"client_cpu\": {}, \
             \"size\": {}, \"n\": {}, \"runs\": {}, \"p50_ns\": {}, \"p99_ns\": {}, \"p999_ns\": {}, \"max_ns\": {}",
            self.transport.name(),
            self.mode,
            self.placement.name(),
            cpu(self.cpus.server),
            cpu(self.cpus.client),
            self.size,
            self.n,
            self.runs,
            l.p50,
            l.p99,
            l.p999,
            l.max,
        )
    }
}

/// A number, or `null` for none.
pub fn optional(x: Option<f64>) -> String {
    x.map_or("null".to_owned(), number)
}

/// A finite number with at most three decimals; `null` otherwise.
pub fn number(x: f64) -> String {
    if x.is_finite() {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        "null".to_owned()
    }
}

/// A finite number with `digits` significant digits, for figures that
/// span orders of magnitude; `null` otherwise.
pub fn significant(x: f64, digits: i32) -> String {
    if !x.is_finite() {
        return "null".to_owned();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let decimals = (digits - 1 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// A JSON string literal.
pub fn string(s: &str) -> String {
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
        assert_eq!(significant(0.000_512_34, 3), "0.000512");
        assert_eq!(significant(12.8049, 4), "12.8");
        assert_eq!(significant(12345.6, 3), "12346");
        assert_eq!(significant(0.0, 3), "0");
        assert_eq!(significant(f64::INFINITY, 3), "null");
        assert_eq!(string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
