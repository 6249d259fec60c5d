//! The scale section in the JSON document (schema in `json-schema.md`):
//! the `scale` object (how it ran, the queued figures, the goal) and its
//! rows, `mode` "scale".

use super::results::{Connected, Results, GOAL_RATIO};
use crate::bench::json::{number, optional, Head};
use crate::bench::plan::{Cpus, Placement};

/// The `scale` object; `null` if the section did not run.
pub fn setup(r: Option<&Results>) -> String {
    let Some(r) = r else { return "null".to_owned() };
    let s = &r.setup;
    let goal = r.goal();
    let connected: Vec<String> = s.connected.iter().map(usize::to_string).collect();
    let queued: Vec<String> = r
        .queued
        .iter()
        .map(|q| {
            format!(
                "{{\"transport\": \"{}\", \"queued\": {}, \"runs\": {}, \"drain_ns_per_message\": {}, \"probe_ns\": {}, \
                 \"probe_position\": {}, \"server_cpu_ns_per_message\": {}, \"server_cpu_ns_per_disconnect\": {}}}",
                q.transport.name(),
                q.queued,
                q.runs,
                number(q.drain_ns_per_message),
                number(q.probe_ns),
                number(q.probe_position),
                number(q.server_cpu_ns_per_message),
                number(q.server_cpu_ns_per_disconnect)
            )
        })
        .collect();
    format!(
        "{{\"iterations\": {}, \"warmup\": {}, \"runs\": {}, \"connected\": [{}], \"connections_per_holder\": {}, \
         \"settle_ns\": {}, \"queued\": [{}], \"goal_ratio\": {}, \"goal_connected\": {}, \"baton_p50_ratio\": {}, \
         \"seqpacket_p50_ratio\": {}, \"goal_met\": {}}}",
        s.iterations,
        s.warmup,
        s.runs,
        connected.join(", "),
        s.per_holder,
        s.settle_ns,
        queued.join(", "),
        number(GOAL_RATIO),
        goal.connected,
        optional(goal.baton),
        optional(goal.socket),
        goal.met().map_or("null".to_owned(), |b| b.to_string())
    )
}

/// One JSON object per connected row.
pub fn rows(r: &Results) -> Vec<String> {
    r.connected.iter().map(|row| one(row, r.setup.size)).collect()
}

fn one(r: &Connected, size: usize) -> String {
    let head = Head {
        transport: r.transport,
        mode: "scale",
        placement: Placement::Unpinned,
        cpus: Cpus::default(),
        size,
        n: r.n,
        runs: r.runs,
        latency: &r.latency,
    };
    format!(
        "{{{}, \"connected\": {}, \"round_trips_per_sec\": {}, \"p50_ratio_to_one\": {}}}",
        head.fields(),
        r.connected,
        number(r.round_trips_per_sec),
        optional(r.p50_to_one)
    )
}
