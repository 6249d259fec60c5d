//! The load section in the JSON document (schema in `json-schema.md`): the
//! `load` object (how the section ran, the ratios and the verdict) and its
//! rows, `mode` "rt-idle" and "rt-under-load".

use super::results::{Results, Row, GOAL_RATIO};
use crate::bench::json::{number, optional, Head};
use crate::bench::plan::{Cpus, Placement};

/// The `load` object; `null` if the section did not run.
pub fn setup(r: Option<&Results>) -> String {
    let Some(r) = r else { return "null".to_owned() };
    let s = &r.setup;
    let goal = r.goal();
    let flag = |b: Option<bool>| b.map_or("null".to_owned(), |b| b.to_string());
    format!(
        "{{\"rt_policy\": \"SCHED_FIFO\", \"rt_priority\": {}, \"rt_period_ns\": {}, \"rt_calls\": {}, \"rt_warmup\": {}, \
         \"runs\": {}, \"flooders\": {}, \"server_threads\": 1, \"server_work_rounds\": {}, \"server_work_ns\": {}, \
         \"goal_ratio\": {}, \"baton_p999_ratio\": {}, \"seqpacket_p999_ratio\": {}, \"goal_met\": {}, \"socket_grew\": {}}}",
        s.priority,
        s.period_ns,
        s.calls,
        s.warmup,
        s.runs,
        s.flooders,
        s.work.rounds,
        number(s.work_ns),
        number(GOAL_RATIO),
        optional(goal.baton),
        optional(goal.socket),
        flag(goal.met()),
        flag(goal.socket_grew())
    )
}

/// One JSON object per row.
pub fn rows(r: &Results) -> Vec<String> {
    r.rows.iter().map(|row| one(row, r.setup.size)).collect()
}

fn one(r: &Row, size: usize) -> String {
    let head = Head {
        transport: r.transport,
        mode: if r.flooders == 0 { "rt-idle" } else { "rt-under-load" },
        placement: Placement::Unpinned,
        cpus: Cpus::default(),
        size,
        n: r.n,
        runs: r.runs,
        latency: &r.latency,
    };
    format!(
        "{{{}, \"flooders\": {}, \"flood_calls_per_sec\": {}, \"rt_cpu_ns_per_call\": {}, \"p999_ratio_to_idle\": {}}}",
        head.fields(),
        r.flooders,
        number(r.flood_calls_per_sec),
        number(r.rt_cpu_ns_per_call),
        optional(r.p999_to_idle)
    )
}
