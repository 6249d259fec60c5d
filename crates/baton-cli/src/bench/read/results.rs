//! The read section's figures: per way, each figure the median over runs;
//! each way's p50 divided by the tmpfs p50, the bridge's divided by FUSE's
//! floor, and the goal (the client API within 2× of tmpfs).

use super::{Options, Via, READ_SIZE};
use crate::bench::proto::Report;
use crate::bench::stats::{median, median_summary, Summary};

/// The goal: the client API's p50 at most this many times tmpfs's.
pub const GOAL_RATIO: f64 = 2.0;

/// One reader's run.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub via: Via,
    pub report: Report,
    /// The server's and the bridge's CPU time per read of this reader, ns.
    pub others_cpu_ns_per_read: f64,
}

/// One way's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    pub via: Via,
    /// Reads measured per run; runs.
    pub n: u64,
    pub runs: usize,
    pub latency: Summary,
    /// Reads per second of the time the timed reads took.
    pub reads_per_sec: f64,
    /// CPU time per read: the reader's, the server's and the bridge's.
    pub cpu_ns_per_read: f64,
}

/// Everything the section found.
#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    pub size: usize,
    pub iterations: u64,
    pub warmup: u64,
    pub runs: usize,
    /// One per way that ran, in [`Via::ALL`] order.
    pub rows: Vec<Row>,
    /// The ways that did not run, and why.
    pub skipped: Vec<(Via, String)>,
}

impl Results {
    pub fn new(opts: &Options<'_>, samples: &[Sample], skipped: Vec<(Via, String)>) -> Results {
        let rows = Via::ALL
            .iter()
            .filter_map(|&via| {
                let mine: Vec<&Sample> = samples.iter().filter(|s| s.via == via).collect();
                let first = mine.first()?;
                Some(Row {
                    via,
                    n: first.report.n,
                    runs: mine.len(),
                    latency: median_summary(mine.iter().map(|s| &s.report.latency)),
                    reads_per_sec: median(
                        mine.iter().map(|s| s.report.n as f64 * 1e9 / s.report.wall_ns.max(1) as f64),
                    ),
                    cpu_ns_per_read: median(
                        mine.iter()
                            .map(|s| s.report.cpu_ns as f64 / s.report.n.max(1) as f64 + s.others_cpu_ns_per_read),
                    ),
                })
            })
            .collect();
        Results { size: READ_SIZE, iterations: opts.iterations, warmup: opts.warmup, runs: opts.runs, rows, skipped }
    }

    /// The row of `via`, if it ran.
    pub fn row(&self, via: Via) -> Option<&Row> {
        self.rows.iter().find(|r| r.via == via)
    }

    /// `via`'s p50 divided by `base`'s, if both ran.
    fn ratio(&self, via: Via, base: Via) -> Option<f64> {
        let floor = self.row(base)?.latency.p50;
        Some(self.row(via)?.latency.p50 as f64 / floor.max(1) as f64)
    }

    /// `via`'s p50 divided by tmpfs's, if both ran.
    pub fn to_tmpfs(&self, via: Via) -> Option<f64> {
        self.ratio(via, Via::Tmpfs)
    }

    /// The bridge's p50 divided by FUSE's floor's: what the bridge and the
    /// resource manager add to FUSE's own cost.
    pub fn fuse_to_floor(&self) -> Option<f64> {
        self.ratio(Via::Fuse, Via::FuseFloor)
    }

    /// Why `via` did not run, if it did not.
    pub fn skip_reason(&self, via: Via) -> Option<&str> {
        self.skipped.iter().find(|s| s.0 == via).map(|s| s.1.as_str())
    }

    /// Whether the client API is within [`GOAL_RATIO`] of tmpfs (`None`:
    /// not measured).
    pub fn goal_met(&self) -> Option<bool> {
        self.to_tmpfs(Via::Direct).map(|r| r <= GOAL_RATIO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ratios() {
        let report = |p50: u64, cpu_ns: u64| Report {
            n: 1000,
            cpu_ns,
            wall_ns: 1000 * p50,
            latency: Summary { p50, p99: 2 * p50, p999: 3 * p50, max: 4 * p50 },
            flood: 0,
        };
        let s = |via, p50, cpu| Sample { via, report: report(p50, cpu), others_cpu_ns_per_read: 100.0 };
        let samples = [s(Via::Direct, 3000, 1_000_000), s(Via::Tmpfs, 1000, 500_000), s(Via::Direct, 5000, 3_000_000)];
        let opts = Options { iterations: 1000, warmup: 10, runs: 2, runtime_dir: None };
        let r = Results::new(&opts, &samples, vec![(Via::Fuse, "no".into())]);
        assert_eq!(r.rows.len(), 2, "no FUSE row: it did not run");
        assert_eq!((r.skip_reason(Via::Fuse), r.skip_reason(Via::Direct)), (Some("no"), None));
        let d = r.row(Via::Direct).unwrap();
        assert_eq!((d.runs, d.latency.p50), (2, 4000));
        assert_eq!(d.cpu_ns_per_read, 2100.0);
        assert!((d.reads_per_sec - (1e9 / 3000.0 + 1e9 / 5000.0) / 2.0).abs() < 1e-6);
        assert_eq!(r.to_tmpfs(Via::Direct), Some(4.0));
        assert_eq!(r.to_tmpfs(Via::Fuse), None);
        assert_eq!(r.fuse_to_floor(), None);
        let both = [s(Via::Fuse, 30_000, 1), s(Via::FuseFloor, 20_000, 1)];
        assert_eq!(Results::new(&opts, &both, vec![]).fuse_to_floor(), Some(1.5));
        assert_eq!(r.goal_met(), Some(false));
    }
}
