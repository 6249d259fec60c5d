//! The scale section's figures: one [`Connected`] row per transport and
//! number of connected clients (each figure the median over runs), each
//! p50 set against the same transport's one-client p50; one [`Queued`] row
//! per transport; and the goal, judged on baton's ratio.

use super::runner::{Job, Kind, Outcome};
use crate::bench::peers::Transport;
use crate::bench::proto::Report;
use crate::bench::stats::{median, median_summary, Summary};
use std::collections::BTreeMap;

/// The goal: baton's p50 with the most clients connected at most this many
/// times its p50 with one.
pub const GOAL_RATIO: f64 = 1.2;

/// How the scale section was run.
#[derive(Clone, Debug)]
pub struct Setup {
    pub size: usize,
    /// The active client's round trips per run, and before measuring.
    pub iterations: u64,
    pub warmup: u64,
    pub runs: usize,
    /// The numbers of connected clients, and of queued messages.
    pub connected: Vec<usize>,
    pub queued: usize,
    /// Connections per holder process, at most.
    pub per_holder: usize,
    /// The pause between the last sender's count and the next step, ns.
    pub settle_ns: u64,
}

/// The active client's round trip with `connected` clients connected.
#[derive(Clone, Debug)]
pub struct Connected {
    pub transport: Transport,
    pub connected: usize,
    pub n: u64,
    pub runs: usize,
    pub latency: Summary,
    pub round_trips_per_sec: f64,
    /// This row's p50 ÷ the same transport's p50 with one client.
    pub p50_to_one: Option<f64>,
}

/// One queued run: the server's report, the probe's, and the server's CPU
/// time (ns) while the senders' connections closed.
type QueuedRun<'a> = (&'a Report, &'a Report, u64);

/// A probe message behind `queued` others.
#[derive(Clone, Debug)]
pub struct Queued {
    pub transport: Transport,
    pub queued: usize,
    pub runs: usize,
    /// From the server's go until it had answered every message, ÷ their
    /// number (the queue and the probe), ns.
    pub drain_ns_per_message: f64,
    /// From the server's go until the probe's reply arrived, ns.
    pub probe_ns: f64,
    /// Messages the server answered before the probe's.
    pub probe_position: f64,
    /// The server's CPU time while draining, per message, ns.
    pub server_cpu_ns_per_message: f64,
    /// The server's CPU time while the queued senders' connections closed
    /// (after the drain), per connection, ns.
    pub server_cpu_ns_per_disconnect: f64,
}

/// Everything the scale section found.
#[derive(Clone, Debug)]
pub struct Results {
    pub setup: Setup,
    pub connected: Vec<Connected>,
    pub queued: Vec<Queued>,
}

/// Baton's p50 ratio with the most clients connected (`None`: not measured).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Goal {
    pub connected: usize,
    pub baton: Option<f64>,
    pub socket: Option<f64>,
}

impl Goal {
    pub fn met(&self) -> Option<bool> {
        self.baton.map(|r| r <= GOAL_RATIO)
    }
}

impl Results {
    pub fn new(setup: Setup, runs: &[(Job, Outcome)]) -> Results {
        let mut connected: BTreeMap<(Transport, usize), Vec<&Report>> = BTreeMap::new();
        let mut queued: BTreeMap<(Transport, usize), Vec<QueuedRun<'_>>> = BTreeMap::new();
        for (job, outcome) in runs {
            match (job.kind, outcome) {
                (Kind::Connected(c), Outcome::Connected(r)) => connected.entry((job.transport, c)).or_default().push(r),
                (Kind::Queued(q), Outcome::Queued { server, probe, disconnect_cpu_ns }) => {
                    queued.entry((job.transport, q)).or_default().push((server, probe, *disconnect_cpu_ns));
                }
                _ => {}
            }
        }
        let mut rows: Vec<Connected> = connected
            .into_iter()
            .map(|((transport, connected), reports)| Connected {
                transport,
                connected,
                n: reports[0].n,
                runs: reports.len(),
                latency: median_summary(reports.iter().map(|r| &r.latency)),
                round_trips_per_sec: median(reports.iter().map(|r| r.n as f64 * 1e9 / r.wall_ns.max(1) as f64)),
                p50_to_one: None,
            })
            .collect();
        let one: BTreeMap<Transport, u64> =
            rows.iter().filter(|r| r.connected == 1).map(|r| (r.transport, r.latency.p50)).collect();
        for r in &mut rows {
            r.p50_to_one = one.get(&r.transport).filter(|&&p| p > 0).map(|&p| r.latency.p50 as f64 / p as f64);
        }
        let queued = queued
            .into_iter()
            .map(|((transport, queued), reports)| Queued {
                transport,
                queued,
                runs: reports.len(),
                drain_ns_per_message: median(reports.iter().map(|(s, _, _)| s.wall_ns as f64 / s.n.max(1) as f64)),
                probe_ns: median(reports.iter().map(|(_, p, _)| p.wall_ns as f64)),
                probe_position: median(reports.iter().map(|(s, _, _)| s.flood as f64)),
                server_cpu_ns_per_message: median(reports.iter().map(|(s, _, _)| s.cpu_ns as f64 / s.n.max(1) as f64)),
                server_cpu_ns_per_disconnect: median(reports.iter().map(|(_, _, d)| *d as f64 / queued.max(1) as f64)),
            })
            .collect();
        Results { setup, connected: rows, queued }
    }

    /// The goal, judged on the rows with the most clients connected.
    pub fn goal(&self) -> Goal {
        let most = self.setup.connected.iter().copied().max().unwrap_or(0);
        let ratio =
            |t| self.connected.iter().find(|r| r.transport == t && r.connected == most).and_then(|r| r.p50_to_one);
        Goal { connected: most, baton: ratio(Transport::Baton), socket: ratio(Transport::Seqpacket) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup {
        Setup {
            size: 64,
            iterations: 10,
            warmup: 1,
            runs: 1,
            connected: vec![1, 1000],
            queued: 1000,
            per_holder: 250,
            settle_ns: 1,
        }
    }

    fn connected(transport: Transport, c: usize, p50: u64) -> (Job, Outcome) {
        let latency = Summary { p50, p99: p50, p999: p50, max: p50 };
        (
            Job { run: 0, transport, kind: Kind::Connected(c) },
            Outcome::Connected(Report { n: 10, wall_ns: 10 * p50, latency, ..Report::default() }),
        )
    }

    #[test]
    fn ratios_to_one_client_and_the_goal() {
        let runs = [
            connected(Transport::Baton, 1000, 110),
            connected(Transport::Baton, 1, 100),
            connected(Transport::Seqpacket, 1, 200),
            connected(Transport::Seqpacket, 1000, 400),
        ];
        let r = Results::new(setup(), &runs);
        assert_eq!(r.connected[0].connected, 1);
        assert_eq!(r.connected[1].p50_to_one, Some(1.1));
        assert_eq!(r.connected[0].round_trips_per_sec, 1e7);
        let goal = r.goal();
        assert_eq!((goal.connected, goal.baton, goal.socket), (1000, Some(1.1), Some(2.0)));
        assert_eq!(goal.met(), Some(true));
    }

    #[test]
    fn queued_rows() {
        let server = Report { n: 1001, wall_ns: 2_002_000, cpu_ns: 1_001_000, flood: 1000, ..Report::default() };
        let probe = Report { n: 1, wall_ns: 1_900_000, ..Report::default() };
        let job = Job { run: 0, transport: Transport::Baton, kind: Kind::Queued(1000) };
        let r = Results::new(setup(), &[(job, Outcome::Queued { server, probe, disconnect_cpu_ns: 30_000_000 })]);
        let q = &r.queued[0];
        assert_eq!((q.drain_ns_per_message, q.probe_ns, q.probe_position), (2000.0, 1_900_000.0, 1000.0));
        assert_eq!(q.server_cpu_ns_per_message, 1000.0);
        assert_eq!(q.server_cpu_ns_per_disconnect, 30_000.0);
        assert_eq!(r.goal().met(), None);
    }
}
