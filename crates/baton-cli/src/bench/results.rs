//! The figures of a whole bench: one [`Row`] per size, placement and
//! transport, each figure the median over that configuration's runs;
//! baton's p50 set against each row's, and each row's bandwidth against
//! `memcpy`'s for the same size.

use super::load;
use super::machine::Machine;
use super::peers::Transport;
use super::plan::{Cpus, Job, Placement, Section};
use super::runner::Outcome;
use super::stats::{median, median_summary, Summary};
use super::{memory, read, scale, throughput};
use std::collections::BTreeMap;

/// How the bench was run and on what.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    /// Request and reply sizes of the round-trip section, bytes.
    pub sizes: Vec<usize>,
    /// Round trips asked for per run, and warm-up round trips; runs of big
    /// messages make fewer (`plan::Counts::for_size`).
    pub iterations: u64,
    pub warmup: u64,
    /// The most bytes a run's measured round trips move (request + reply).
    pub bytes_per_run: u64,
    pub runs: usize,
    pub machine: Machine,
}

/// One configuration's figures.
#[derive(Clone, Debug)]
pub struct Row {
    pub placement: Placement,
    pub cpus: Cpus,
    pub transport: Transport,
    /// Request and reply size, bytes.
    pub size: usize,
    /// Round trips measured per run.
    pub n: u64,
    pub runs: usize,
    /// Round-trip latency, ns: per-run order statistics, median over runs.
    pub latency: Summary,
    pub round_trips_per_sec: f64,
    /// CPU time (user + system) of both processes per round trip, ns.
    pub cpu_ns_per_round_trip: f64,
    /// baton's p50 divided by this row's, in the same placement and size.
    pub baton_ratio: Option<f64>,
    /// Bytes moved per second at the p50 round trip (request + reply), GB/s.
    pub gb_per_sec: f64,
    /// This row's bandwidth divided by `memcpy`'s for the same size.
    pub memcpy_ratio: Option<f64>,
}

/// `memcpy`'s bandwidth for one size: the median over the rounds of runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Memcpy {
    pub size: usize,
    pub gb_per_sec: f64,
}

/// What could not run here, and why: a whole placement of a section, or
/// (round-trip section) one transport in a placement, with one size.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub section: Section,
    pub placement: Placement,
    /// `None`: every transport.
    pub transport: Option<Transport>,
    /// `None`: every size.
    pub size: Option<usize>,
    pub reason: String,
}

impl Skipped {
    /// All of `placement` in `section`.
    pub fn placement(section: Section, placement: Placement, reason: String) -> Skipped {
        Skipped { section, placement, transport: None, size: None, reason }
    }
}

/// Everything a bench found.
#[derive(Clone, Debug, Default)]
pub struct Results {
    pub setup: Setup,
    /// The sections asked for.
    pub sections: Vec<Section>,
    /// The round-trip section's rows, by size, then placement, then transport.
    pub rows: Vec<Row>,
    /// `memcpy`'s bandwidth for each size of the round-trip section.
    pub memcpy: Vec<Memcpy>,
    /// The load section's figures, if it ran.
    pub load: Option<load::results::Results>,
    /// The throughput, scale and memory sections' figures, if they ran.
    pub throughput: Option<throughput::results::Results>,
    pub scale: Option<scale::results::Results>,
    pub memory: Option<memory::results::Results>,
    /// The read section's figures, if it ran, and why its FUSE way did
    /// not, if it did not.
    pub read: Option<read::results::Results>,
    pub skipped: Vec<Skipped>,
}

/// What a row is about: the runs with the same key make one row.
type Key = (usize, Placement, Transport);

/// The rows of `runs`, in size, placement, then transport order, set
/// against baton's and `memcpy`'s.
pub fn rows(runs: &[(Job, Outcome)], memcpy: &[Memcpy]) -> Vec<Row> {
    let mut groups: BTreeMap<Key, Vec<&(Job, Outcome)>> = BTreeMap::new();
    for run in runs {
        groups.entry((run.0.size, run.0.placement, run.0.transport)).or_default().push(run);
    }
    let mut rows: Vec<Row> = groups.into_values().map(|g| row(&g)).collect();
    let baton: BTreeMap<(Placement, usize), u64> = rows
        .iter()
        .filter(|r| r.transport == Transport::Baton)
        .map(|r| ((r.placement, r.size), r.latency.p50))
        .collect();
    for r in &mut rows {
        let p50 = r.latency.p50;
        r.baton_ratio = baton.get(&(r.placement, r.size)).filter(|_| p50 > 0).map(|&b| b as f64 / p50 as f64);
        let copy = memcpy.iter().find(|m| m.size == r.size).map(|m| m.gb_per_sec);
        r.memcpy_ratio = copy.filter(|&c| c > 0.0).map(|c| r.gb_per_sec / c);
    }
    rows
}

/// One configuration's row from its runs (at least one).
fn row(runs: &[&(Job, Outcome)]) -> Row {
    let (job, _) = runs[0];
    let med = |f: &dyn Fn(&Outcome) -> f64| median(runs.iter().map(|(_, o)| f(o)));
    let latency = median_summary(runs.iter().map(|(_, o)| &o.client.latency));
    Row {
        placement: job.placement,
        cpus: job.cpus,
        transport: job.transport,
        size: job.size,
        n: runs[0].1.client.n,
        runs: runs.len(),
        latency,
        round_trips_per_sec: med(&|o| o.client.n as f64 * 1e9 / o.client.wall_ns.max(1) as f64),
        cpu_ns_per_round_trip: med(&|o| (o.client.cpu_ns + o.server.cpu_ns) as f64 / o.client.n.max(1) as f64),
        baton_ratio: None,
        gb_per_sec: (2 * job.size) as f64 / latency.p50.max(1) as f64,
        memcpy_ratio: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::proto::Report;

    fn run(run: usize, transport: Transport, p50: u64) -> (Job, Outcome) {
        let job = Job { run, placement: Placement::SameCpu, cpus: Cpus::default(), transport, size: 64 };
        let latency = Summary { p50, p99: 2 * p50, p999: 3 * p50, max: 4 * p50 };
        let client = Report { n: 1000, cpu_ns: 1_000_000, wall_ns: 1000 * p50, latency, flood: 0 };
        let server = Report { n: 1000, cpu_ns: 500_000, ..Report::default() };
        (job, Outcome { client, server })
    }

    #[test]
    fn medians_over_runs_and_ratio_to_baton() {
        let runs = [
            run(0, Transport::Pipe, 4000),
            run(0, Transport::Baton, 1000),
            run(1, Transport::Pipe, 6000),
            run(1, Transport::Baton, 3000),
            run(2, Transport::Pipe, 5000),
            run(2, Transport::Baton, 2000),
        ];
        let memcpy = [Memcpy { size: 64, gb_per_sec: 0.5 }];
        let rows = rows(&runs, &memcpy);
        assert_eq!(rows.len(), 2);
        let (baton, pipe) = (&rows[0], &rows[1]);
        assert_eq!((baton.transport, pipe.transport), (Transport::Baton, Transport::Pipe));
        assert_eq!(baton.latency, Summary { p50: 2000, p99: 4000, p999: 6000, max: 8000 });
        assert_eq!(pipe.latency.p50, 5000);
        assert_eq!(pipe.runs, 3);
        assert_eq!(baton.round_trips_per_sec, 500_000.0);
        assert_eq!(baton.cpu_ns_per_round_trip, 1500.0);
        assert_eq!(baton.baton_ratio, Some(1.0));
        assert_eq!(pipe.baton_ratio, Some(0.4));
        // 128 bytes in 2000 ns (baton) and in 5000 ns (pipe); memcpy 0.5 GB/s.
        assert_eq!(baton.gb_per_sec, 0.064);
        assert_eq!(baton.memcpy_ratio, Some(0.128));
        assert_eq!(pipe.gb_per_sec, 0.0256);
    }

    #[test]
    fn rows_go_by_size_then_placement() {
        let mut big = run(0, Transport::Baton, 1000);
        big.0.size = 1 << 20;
        let mut unpinned = run(0, Transport::Baton, 1000);
        unpinned.0.placement = Placement::Unpinned;
        let runs = [big, unpinned, run(0, Transport::Pipe, 1000)];
        let order: Vec<_> = rows(&runs, &[]).iter().map(|r| (r.size, r.placement, r.transport)).collect();
        assert_eq!(
            order,
            [
                (64, Placement::SameCpu, Transport::Pipe),
                (64, Placement::Unpinned, Transport::Baton),
                (1 << 20, Placement::SameCpu, Transport::Baton)
            ]
        );
        assert!(rows(&runs, &[]).iter().all(|r| r.memcpy_ratio.is_none()));
    }
}
