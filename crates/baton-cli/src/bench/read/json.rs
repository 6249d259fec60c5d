//! The read section in the JSON document (schema in `json-schema.md`):
//! the `read` object.

use super::results::{Results, GOAL_RATIO};
use super::Via;
use crate::bench::json::{number, optional, string};

/// The `read` object; `null` if the section did not run.
pub fn object(r: Option<&Results>) -> String {
    let Some(r) = r else { return "null".to_owned() };
    let ways: Vec<String> = r
        .rows
        .iter()
        .map(|row| {
            let l = row.latency;
            format!(
                "{{\"way\": \"{}\", \"n\": {}, \"runs\": {}, \"p50_ns\": {}, \"p99_ns\": {}, \"p999_ns\": {}, \"max_ns\": {}, \
                 \"reads_per_sec\": {}, \"cpu_ns_per_read\": {}, \"tmpfs_p50_ratio\": {}}}",
                row.via.name(),
                row.n,
                row.runs,
                l.p50,
                l.p99,
                l.p999,
                l.max,
                number(row.reads_per_sec),
                number(row.cpu_ns_per_read),
                optional(r.to_tmpfs(row.via))
            )
        })
        .collect();
    format!(
        "{{\"size\": {}, \"iterations\": {}, \"warmup\": {}, \"runs\": {}, \"file_bytes\": {}, \"ways\": [{}], \"skipped\": [{}], \
         \"direct_to_tmpfs\": {}, \"fuse_to_tmpfs\": {}, \"fuse_to_floor\": {}, \"goal_ratio\": {}, \"goal_met\": {}}}",
        r.size,
        r.iterations,
        r.warmup,
        r.runs,
        super::FILE_BYTES,
        ways.join(", "),
        r.skipped
            .iter()
            .map(|(via, why)| format!("{{\"way\": \"{}\", \"reason\": {}}}", via.name(), string(why)))
            .collect::<Vec<_>>()
            .join(", "),
        optional(r.to_tmpfs(Via::Direct)),
        optional(r.to_tmpfs(Via::Fuse)),
        optional(r.fuse_to_floor()),
        number(GOAL_RATIO),
        r.goal_met().map_or("null".to_owned(), |b| b.to_string())
    )
}
