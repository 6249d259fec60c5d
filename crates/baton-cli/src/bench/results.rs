//! The figures of a whole bench: one [`Row`] per placement and transport,
//! each figure the median over that configuration's runs, and baton's p50
//! set against each row's.

use super::load;
use super::machine::Machine;
use super::peers::Transport;
use super::plan::{Cpus, Job, Placement, Section};
use super::runner::Outcome;
use super::stats::{median, median_summary, Summary};
use super::{memory, scale, throughput};
use std::collections::BTreeMap;

/// How the bench was run and on what.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    pub size: usize,
    pub iterations: u64,
    pub warmup: u64,
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
}

/// A placement of a section that could not run here, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub section: Section,
    pub placement: Placement,
    pub reason: String,
}

/// Everything a bench found.
#[derive(Clone, Debug, Default)]
pub struct Results {
    pub setup: Setup,
    /// The sections asked for.
    pub sections: Vec<Section>,
    /// The round-trip section's rows.
    pub rows: Vec<Row>,
    /// The load section's figures, if it ran.
    pub load: Option<load::results::Results>,
    /// The throughput, scale and memory sections' figures, if they ran.
    pub throughput: Option<throughput::results::Results>,
    pub scale: Option<scale::results::Results>,
    pub memory: Option<memory::results::Results>,
    pub skipped: Vec<Skipped>,
}

/// What a row is about: the runs with the same key make one row.
type Config = (Placement, Transport, usize);

/// The rows of `runs`, in placement then transport order.
pub fn rows(runs: &[(Job, Outcome)]) -> Vec<Row> {
    let mut groups: BTreeMap<Config, Vec<&(Job, Outcome)>> = BTreeMap::new();
    for run in runs {
        groups.entry((run.0.placement, run.0.transport, run.0.size)).or_default().push(run);
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
    }
    rows
}

/// One configuration's row from its runs (at least one).
fn row(runs: &[&(Job, Outcome)]) -> Row {
    let (job, _) = runs[0];
    let med = |f: &dyn Fn(&Outcome) -> f64| median(runs.iter().map(|(_, o)| f(o)));
    Row {
        placement: job.placement,
        cpus: job.cpus,
        transport: job.transport,
        size: job.size,
        n: runs[0].1.client.n,
        runs: runs.len(),
        latency: median_summary(runs.iter().map(|(_, o)| &o.client.latency)),
        round_trips_per_sec: med(&|o| o.client.n as f64 * 1e9 / o.client.wall_ns.max(1) as f64),
        cpu_ns_per_round_trip: med(&|o| (o.client.cpu_ns + o.server.cpu_ns) as f64 / o.client.n.max(1) as f64),
        baton_ratio: None,
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
        let rows = rows(&runs);
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
    }
}
