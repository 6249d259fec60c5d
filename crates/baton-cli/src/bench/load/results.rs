//! The load section's figures: one [`Row`] per transport and load (idle or
//! with flooders), each figure the median over that configuration's runs;
//! each transport's p99.9 under load set against its idle p99.9; and the
//! issue's goal, judged on those ratios.

use super::runner::Job;
use crate::bench::peers::Transport;
use crate::bench::proto::Report;
use crate::bench::stats::{median, median_summary, Summary};
use crate::bench::work::Work;
use std::collections::BTreeMap;

/// The goal: baton's p99.9 under load at most this many times its idle p99.9.
pub const GOAL_RATIO: f64 = 2.0;

/// How the load section was run.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Request and reply size, bytes.
    pub size: usize,
    /// Real-time calls measured per run, and before measuring.
    pub calls: u64,
    pub warmup: u64,
    pub runs: usize,
    /// The real-time client's SCHED_FIFO priority and period.
    pub priority: i32,
    pub period_ns: u64,
    /// Flooder processes in the runs under load.
    pub flooders: usize,
    /// The server's work per request, and its time as measured before the runs.
    pub work: Work,
    pub work_ns: f64,
}

/// One configuration's figures.
#[derive(Clone, Debug)]
pub struct Row {
    pub transport: Transport,
    /// Flooder processes (0: idle).
    pub flooders: usize,
    /// Real-time calls measured per run.
    pub n: u64,
    pub runs: usize,
    /// The real-time client's round trip, ns: per-run order statistics,
    /// median over runs.
    pub latency: Summary,
    /// Calls the flooders completed per second while the client measured.
    pub flood_calls_per_sec: f64,
    /// The real-time client's CPU time (user + system) per call, ns.
    pub rt_cpu_ns_per_call: f64,
    /// This row's p99.9 divided by the same transport's idle p99.9.
    pub p999_to_idle: Option<f64>,
}

/// Everything the load section found.
#[derive(Clone, Debug)]
pub struct Results {
    pub setup: Setup,
    pub rows: Vec<Row>,
}

/// The goal as measured: each transport's under-load ÷ idle p99.9.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Goal {
    pub baton: Option<f64>,
    pub socket: Option<f64>,
}

impl Goal {
    /// Whether baton stayed within [`GOAL_RATIO`] (`None`: not measured).
    pub fn met(&self) -> Option<bool> {
        self.baton.map(|r| r <= GOAL_RATIO)
    }

    /// Whether the socket server's p99.9 grew beyond the same bound.
    pub fn socket_grew(&self) -> Option<bool> {
        self.socket.map(|r| r > GOAL_RATIO)
    }
}

impl Results {
    /// The rows of `runs`, in transport then load order.
    pub fn new(setup: Setup, runs: &[(Job, Report)]) -> Results {
        let mut groups: BTreeMap<(Transport, usize), Vec<&Report>> = BTreeMap::new();
        for (job, report) in runs {
            groups.entry((job.transport, job.flooders)).or_default().push(report);
        }
        let mut rows: Vec<Row> = groups.into_iter().map(|((t, f), reports)| row(t, f, &reports)).collect();
        let idle: BTreeMap<Transport, u64> =
            rows.iter().filter(|r| r.flooders == 0).map(|r| (r.transport, r.latency.p999)).collect();
        for r in &mut rows {
            r.p999_to_idle = idle.get(&r.transport).filter(|&&i| i > 0).map(|&i| r.latency.p999 as f64 / i as f64);
        }
        Results { setup, rows }
    }

    /// The goal, judged on the rows under load.
    pub fn goal(&self) -> Goal {
        let ratio = |t| self.rows.iter().find(|r| r.transport == t && r.flooders > 0).and_then(|r| r.p999_to_idle);
        Goal { baton: ratio(Transport::Baton), socket: ratio(Transport::Seqpacket) }
    }
}

/// One configuration's row from its runs' reports (at least one).
fn row(transport: Transport, flooders: usize, reports: &[&Report]) -> Row {
    Row {
        transport,
        flooders,
        n: reports[0].n,
        runs: reports.len(),
        latency: median_summary(reports.iter().map(|r| &r.latency)),
        flood_calls_per_sec: median(reports.iter().map(|r| r.flood as f64 * 1e9 / r.wall_ns.max(1) as f64)),
        rt_cpu_ns_per_call: median(reports.iter().map(|r| r.cpu_ns as f64 / r.n.max(1) as f64)),
        p999_to_idle: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(transport: Transport, flooders: usize, p999: u64) -> (Job, Report) {
        let latency = Summary { p50: 10, p99: 20, p999, max: 2 * p999 };
        let flood = if flooders > 0 { 5000 } else { 0 };
        (Job { run: 0, transport, flooders }, Report { n: 100, wall_ns: 100_000_000, latency, flood, cpu_ns: 500 })
    }

    fn setup() -> Setup {
        let work = Work { rounds: 1 };
        Setup { size: 64, calls: 100, warmup: 10, runs: 1, priority: 50, period_ns: 1, flooders: 8, work, work_ns: 1.0 }
    }

    #[test]
    fn ratios_to_idle_and_the_goal() {
        let runs = [
            run(Transport::Seqpacket, 8, 900),
            run(Transport::Baton, 0, 100),
            run(Transport::Baton, 8, 150),
            run(Transport::Seqpacket, 0, 100),
        ];
        let r = Results::new(setup(), &runs);
        let order: Vec<_> = r.rows.iter().map(|r| (r.transport, r.flooders)).collect();
        assert_eq!(
            order,
            [(Transport::Baton, 0), (Transport::Baton, 8), (Transport::Seqpacket, 0), (Transport::Seqpacket, 8)]
        );
        assert_eq!(r.rows[0].p999_to_idle, Some(1.0));
        assert_eq!(r.rows[1].flood_calls_per_sec, 50_000.0);
        assert_eq!(r.rows[0].flood_calls_per_sec, 0.0);
        assert_eq!(r.rows[0].rt_cpu_ns_per_call, 5.0);
        let goal = r.goal();
        assert_eq!(goal, Goal { baton: Some(1.5), socket: Some(9.0) });
        assert_eq!((goal.met(), goal.socket_grew()), (Some(true), Some(true)));
    }

    #[test]
    fn a_missing_idle_row_leaves_the_goal_unjudged() {
        let r = Results::new(setup(), &[run(Transport::Baton, 8, 300)]);
        assert_eq!(r.goal(), Goal::default());
        assert_eq!(r.goal().met(), None);
    }
}
