//! The throughput section's figures: one [`Row`] per transport (each
//! figure the median over runs), baton's calls per second set against
//! seqpacket's, and the goal judged on that ratio.

use super::runner::{Job, Outcome};
use crate::bench::peers::Transport;
use crate::bench::stats::{median, median_summary, Summary};
use std::collections::BTreeMap;

/// The goal: baton at least this many times seqpacket's calls per second.
pub const GOAL_RATIO: f64 = 3.0;

/// How the section was run.
#[derive(Clone, Debug)]
pub struct Setup {
    pub size: usize,
    pub clients: usize,
    pub threads: usize,
    pub warmup_ns: u64,
    pub measure_ns: u64,
    pub runs: usize,
}

/// One client's figures, medians over runs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClientRow {
    pub latency: Summary,
    pub calls_per_sec: f64,
}

/// One transport's figures.
#[derive(Clone, Debug)]
pub struct Row {
    pub transport: Transport,
    pub runs: usize,
    /// Calls all clients completed per run (median).
    pub calls: f64,
    /// Calls per second, all clients together.
    pub calls_per_sec: f64,
    /// CPU time (user + system) of the server and every client, per call, ns.
    pub cpu_ns_per_call: f64,
    /// Each client's figures, in client order.
    pub clients: Vec<ClientRow>,
    /// The median over clients of each latency figure.
    pub latency: Summary,
}

/// Everything the section found.
#[derive(Clone, Debug)]
pub struct Results {
    pub setup: Setup,
    pub rows: Vec<Row>,
}

impl Results {
    pub fn new(setup: Setup, runs: &[(Job, Outcome)]) -> Results {
        let mut groups: BTreeMap<Transport, Vec<&Outcome>> = BTreeMap::new();
        for (job, outcome) in runs {
            groups.entry(job.transport).or_default().push(outcome);
        }
        let rows = groups.into_iter().map(|(t, outcomes)| row(t, &outcomes)).collect();
        Results { setup, rows }
    }

    /// baton's calls per second ÷ seqpacket's (`None`: either missing).
    pub fn ratio(&self) -> Option<f64> {
        let rate = |t| self.rows.iter().find(|r| r.transport == t).map(|r| r.calls_per_sec);
        match (rate(Transport::Baton), rate(Transport::Seqpacket)) {
            (Some(b), Some(s)) if s > 0.0 => Some(b / s),
            _ => None,
        }
    }

    /// Whether the goal was met (`None`: not judged).
    pub fn goal_met(&self) -> Option<bool> {
        self.ratio().map(|r| r >= GOAL_RATIO)
    }
}

fn rate(n: u64, wall_ns: u64) -> f64 {
    n as f64 * 1e9 / wall_ns.max(1) as f64
}

fn row(transport: Transport, outcomes: &[&Outcome]) -> Row {
    let clients = outcomes.iter().map(|o| o.clients.len()).min().unwrap_or(0);
    let per_client: Vec<ClientRow> = (0..clients)
        .map(|i| ClientRow {
            latency: median_summary(outcomes.iter().map(|o| &o.clients[i].latency)),
            calls_per_sec: median(outcomes.iter().map(|o| rate(o.clients[i].n, o.clients[i].wall_ns))),
        })
        .collect();
    let calls = |o: &Outcome| o.clients.iter().map(|c| c.n).sum::<u64>();
    Row {
        transport,
        runs: outcomes.len(),
        calls: median(outcomes.iter().map(|o| calls(o) as f64)),
        calls_per_sec: median(outcomes.iter().map(|o| o.clients.iter().map(|c| rate(c.n, c.wall_ns)).sum::<f64>())),
        cpu_ns_per_call: median(outcomes.iter().map(|o| {
            let cpu = o.server.cpu_ns + o.clients.iter().map(|c| c.cpu_ns).sum::<u64>();
            cpu as f64 / calls(o).max(1) as f64
        })),
        latency: median_summary(per_client.iter().map(|c| &c.latency)),
        clients: per_client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::proto::Report;

    fn outcome(p50: u64) -> Outcome {
        let client = |p50| Report {
            n: 1000,
            cpu_ns: 1_000_000,
            wall_ns: 1_000_000_000,
            latency: Summary { p50, p99: 2 * p50, p999: 3 * p50, max: 4 * p50 },
            flood: 0,
        };
        Outcome {
            server: Report { cpu_ns: 4_000_000, ..Report::default() },
            clients: vec![client(p50), client(3 * p50)],
        }
    }

    #[test]
    fn rows_ratio_and_goal() {
        let setup = Setup { size: 64, clients: 2, threads: 2, warmup_ns: 1, measure_ns: 1, runs: 1 };
        let mut seq = outcome(100);
        for c in &mut seq.clients {
            c.n = 500;
        }
        let runs = [
            (Job { run: 0, transport: Transport::Seqpacket }, seq),
            (Job { run: 0, transport: Transport::Baton }, outcome(10)),
        ];
        let r = Results::new(setup, &runs);
        let baton = &r.rows[0];
        assert_eq!(baton.transport, Transport::Baton);
        assert_eq!(baton.calls_per_sec, 2000.0);
        assert_eq!(baton.calls, 2000.0);
        assert_eq!(baton.cpu_ns_per_call, 3000.0);
        assert_eq!(baton.clients[1].latency.p50, 30);
        assert_eq!(baton.latency.p50, 20);
        assert_eq!(r.ratio(), Some(2.0));
        assert_eq!(r.goal_met(), Some(false));
    }
}
