//! The throughput section in the JSON document (schema in
//! `json-schema.md`): the `throughput` object (how it ran, the ratio, the
//! goal) and its rows, `mode` "throughput".

use super::results::{Results, Row, GOAL_RATIO};
use crate::bench::json::{number, optional, Head};
use crate::bench::plan::{Cpus, Placement};

/// The `throughput` object; `null` if the section did not run.
pub fn setup(r: Option<&Results>) -> String {
    let Some(r) = r else { return "null".to_owned() };
    let s = &r.setup;
    format!(
        "{{\"clients\": {}, \"server_threads\": {}, \"warmup_ns\": {}, \"measure_ns\": {}, \"runs\": {}, \
         \"goal_ratio\": {}, \"baton_to_seqpacket\": {}, \"goal_met\": {}}}",
        s.clients,
        s.threads,
        s.warmup_ns,
        s.measure_ns,
        s.runs,
        number(GOAL_RATIO),
        optional(r.ratio()),
        r.goal_met().map_or("null".to_owned(), |b| b.to_string())
    )
}

/// One JSON object per row.
pub fn rows(r: &Results) -> Vec<String> {
    r.rows.iter().map(|row| one(row, r.setup.size)).collect()
}

fn one(r: &Row, size: usize) -> String {
    let head = Head {
        transport: r.transport,
        mode: "throughput",
        placement: Placement::Unpinned,
        cpus: Cpus::default(),
        size,
        n: r.calls.round() as u64,
        runs: r.runs,
        latency: &r.latency,
    };
    let clients: Vec<String> = r
        .clients
        .iter()
        .map(|c| {
            format!(
                "{{\"p50_ns\": {}, \"p99_ns\": {}, \"calls_per_sec\": {}}}",
                c.latency.p50,
                c.latency.p99,
                number(c.calls_per_sec)
            )
        })
        .collect();
    format!(
        "{{{}, \"calls_per_sec\": {}, \"cpu_ns_per_call\": {}, \"clients\": [{}]}}",
        head.fields(),
        number(r.calls_per_sec),
        number(r.cpu_ns_per_call),
        clients.join(", ")
    )
}
