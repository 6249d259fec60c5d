//! What a bench run does: its sections, the placements, which CPUs they
//! use, and the order of the runs (every configuration once, then all of
//! them again, so that noise that comes and goes on the machine spreads
//! over all of them).

use super::peers::Transport;

/// A part of the bench, with its own table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Section {
    /// Round trips between two processes, every transport and placement.
    RoundTrip,
    /// A real-time client's round trip, idle and while 8 clients flood the server.
    Load,
    /// Calls per second: 4 client processes, a server with 2 threads.
    Throughput,
    /// Round trip with 1, 100 and 1000 clients connected; a probe behind 1000 queued messages.
    Scale,
    /// What a connection costs a baton server: shared memory, bookkeeping, descriptors.
    Memory,
}

impl Section {
    /// Every section, in the order they run.
    pub const ALL: [Section; 5] =
        [Section::RoundTrip, Section::Load, Section::Throughput, Section::Scale, Section::Memory];

    /// The name on the command line and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Section::RoundTrip => "round-trip",
            Section::Load => "load",
            Section::Throughput => "throughput",
            Section::Scale => "scale",
            Section::Memory => "memory",
        }
    }
}

/// Where the two processes of a pair may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Placement {
    /// Both pinned to the same CPU: every hand-off is a context switch.
    SameCpu,
    /// Pinned to two different CPUs: every hand-off is a cross-CPU wake-up.
    CrossCpu,
    /// Wherever the scheduler puts them.
    Unpinned,
}

impl Placement {
    /// Every placement, in table order.
    pub const ALL: [Placement; 3] = [Placement::SameCpu, Placement::CrossCpu, Placement::Unpinned];

    /// The name in the table, the JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Placement::SameCpu => "same-cpu",
            Placement::CrossCpu => "cross-cpu",
            Placement::Unpinned => "unpinned",
        }
    }

    /// The CPUs of the server and the client (`None`: unpinned), chosen from
    /// `allowed`; or why this placement cannot run here.
    pub fn cpus(self, allowed: &[usize]) -> Result<Cpus, String> {
        match (self, allowed) {
            (Placement::Unpinned, _) => Ok(Cpus::default()),
            (Placement::SameCpu, [a, ..]) => Ok(Cpus { server: Some(*a), client: Some(*a) }),
            (Placement::CrossCpu, [a, b, ..]) => Ok(Cpus { server: Some(*a), client: Some(*b) }),
            (_, _) => Err(format!("needs more CPUs than the {} this process may use", allowed.len())),
        }
    }
}

/// The CPU each half is pinned to, if any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpus {
    pub server: Option<usize>,
    pub client: Option<usize>,
}

/// One pair of processes to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// 0-based repetition.
    pub run: usize,
    pub placement: Placement,
    pub cpus: Cpus,
    pub transport: Transport,
    /// Request and reply size, bytes.
    pub size: usize,
}

/// The jobs of `runs` repetitions, interleaved: run 0 of every
/// configuration, then run 1 of every configuration, and so on.
pub fn schedule(runs: usize, placements: &[(Placement, Cpus)], transports: &[Transport], size: usize) -> Vec<Job> {
    let mut jobs = Vec::with_capacity(runs * placements.len() * transports.len());
    for run in 0..runs {
        for &(placement, cpus) in placements {
            jobs.extend(transports.iter().map(|&transport| Job { run, placement, cpus, transport, size }));
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_pick_cpus_or_say_why_not() {
        let both = Cpus { server: Some(2), client: Some(2) };
        assert_eq!(Placement::SameCpu.cpus(&[2, 5]), Ok(both));
        assert_eq!(Placement::CrossCpu.cpus(&[2, 5]), Ok(Cpus { server: Some(2), client: Some(5) }));
        assert_eq!(Placement::Unpinned.cpus(&[2]), Ok(Cpus::default()));
        assert!(Placement::CrossCpu.cpus(&[2]).is_err());
    }

    #[test]
    fn runs_are_interleaved() {
        let places = [(Placement::SameCpu, Cpus::default()), (Placement::Unpinned, Cpus::default())];
        let jobs = schedule(2, &places, &[Transport::Baton, Transport::Pipe], 64);
        let order: Vec<_> = jobs.iter().map(|j| (j.run, j.placement.name(), j.transport.name())).collect();
        assert_eq!(
            order,
            [
                (0, "same-cpu", "baton"),
                (0, "same-cpu", "pipe"),
                (0, "unpinned", "baton"),
                (0, "unpinned", "pipe"),
                (1, "same-cpu", "baton"),
                (1, "same-cpu", "pipe"),
                (1, "unpinned", "baton"),
                (1, "unpinned", "pipe"),
            ]
        );
    }
}
