//! The memory section in the JSON document (schema in `json-schema.md`):
//! the `memory` object.

use super::results::{PerConn, Results, GOAL_BYTES};
use crate::bench::json::number;

/// The `memory` object; `null` if the section did not run.
pub fn object(r: Option<&Results>) -> String {
    let Some(r) = r else { return "null".to_owned() };
    let g = &r.geometry;
    let limit = |l: Option<u64>| l.map_or("null".to_owned(), |l| l.to_string());
    format!(
        "{{\"transport\": \"baton\", \"connections\": {}, \"runs\": {}, \"segment_bytes\": {}, \"segment_header_bytes\": {}, \
         \"slot_bytes\": {}, \"slots_per_connection\": {}, \"inline_bytes\": {}, \"overflow_bytes\": {}, \"pulse_capacity\": {}, \
         \"server_base\": {{\"rss_bytes\": {}, \"pss_bytes\": {}, \"fds\": {}}}, \"idle_per_connection\": {}, \
         \"used_per_connection\": {}, \"nofile_soft\": {}, \"nofile_hard\": {}, \"goal_bytes\": {}, \"goal_met\": {}}}",
        r.connections,
        r.runs,
        g.len,
        g.header_len,
        g.slot_len,
        g.slots,
        g.inline_size,
        g.overflow_size,
        g.pulses,
        r.base.rss,
        r.base.pss,
        r.base.fds,
        per(&r.idle),
        per(&r.used),
        limit(r.nofile.0),
        limit(r.nofile.1),
        GOAL_BYTES,
        r.goal_met()
    )
}

fn per(p: &PerConn) -> String {
    format!(
        "{{\"rss_bytes\": {}, \"pss_bytes\": {}, \"anonymous_bytes\": {}, \"pss_shmem_bytes\": {}, \"fds\": {}}}",
        number(p.rss),
        number(p.pss),
        number(p.anonymous),
        number(p.pss_shmem),
        number(p.fds)
    )
}
