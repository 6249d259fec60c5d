//! The memory section's figures: the segment geometry, and per connection
//! the server's growth in memory and descriptors (each the median over
//! runs), idle and after one call each; and the goal.

use super::runner::{Sample, Usage};
use crate::bench::stats::median;
use baton::SegmentGeometry;

/// The goal: an idle connection costs the server at most this many bytes.
pub const GOAL_BYTES: u64 = 64 * 1024;

/// Per-connection growth of the server, bytes (descriptors: a count).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PerConn {
    pub rss: f64,
    pub pss: f64,
    pub anonymous: f64,
    pub pss_shmem: f64,
    pub fds: f64,
}

/// Everything the section found.
#[derive(Clone, Debug)]
pub struct Results {
    pub connections: usize,
    pub runs: usize,
    pub geometry: SegmentGeometry,
    /// The server with no connection (medians).
    pub base: Usage,
    /// Growth per connection: open and idle, and after one call each.
    pub idle: PerConn,
    pub used: PerConn,
    /// The server's RLIMIT_NOFILE while it held them.
    pub nofile: (Option<u64>, Option<u64>),
}

impl Results {
    /// The figures of `samples` (at least one), `connections` each.
    pub fn new(connections: usize, samples: &[Sample]) -> Results {
        let per = |f: fn(&Sample) -> Usage| {
            let d = |g: fn(&Usage) -> u64| {
                median(samples.iter().map(|s| (g(&f(s)) as f64 - g(&s.base) as f64) / connections.max(1) as f64))
            };
            PerConn {
                rss: d(|u| u.rss),
                pss: d(|u| u.pss),
                anonymous: d(|u| u.anonymous),
                pss_shmem: d(|u| u.pss_shmem),
                fds: d(|u| u.fds),
            }
        };
        let base = |g: fn(&Usage) -> u64| median(samples.iter().map(|s| g(&s.base) as f64)).round() as u64;
        Results {
            connections,
            runs: samples.len(),
            geometry: samples[0].geometry,
            base: Usage {
                rss: base(|u| u.rss),
                pss: base(|u| u.pss),
                anonymous: base(|u| u.anonymous),
                pss_shmem: base(|u| u.pss_shmem),
                fds: base(|u| u.fds),
            },
            idle: per(|s| s.idle),
            used: per(|s| s.used),
            nofile: samples[0].nofile,
        }
    }

    /// Whether an idle connection's resident cost is within the goal.
    pub fn goal_met(&self) -> bool {
        self.idle.rss <= GOAL_BYTES as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_per_connection() {
        let g = SegmentGeometry {
            len: 266_240,
            header_len: 4096,
            slot_len: 4096,
            slots: 64,
            inline_size: 3968,
            overflow_size: 1 << 20,
            pulses: 64,
        };
        let u = |rss: u64, fds: u64| Usage { rss, pss: rss / 2, anonymous: rss / 4, pss_shmem: rss / 8, fds };
        let s = Sample {
            geometry: g,
            base: u(1000, 10),
            idle: u(9000, 4010),
            used: u(13000, 4010),
            nofile: (Some(1024), None),
        };
        let r = Results::new(1000, &[s]);
        assert_eq!(r.idle.rss, 8.0);
        assert_eq!(r.idle.fds, 4.0);
        assert_eq!(r.used.rss, 12.0);
        assert_eq!(r.used.pss, 6.0);
        assert!(r.goal_met());
    }
}
