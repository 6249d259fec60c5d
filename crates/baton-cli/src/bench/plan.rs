//! What a bench run does: its sections, the placements, which CPUs they
//! use, how many round trips a run of each message size makes, and the
//! order of the runs (every configuration once, then all of them again, so
//! that noise that comes and goes on the machine spreads over all of them).

use super::peers::Transport;

/// A part of the bench, with its own table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Section {
    /// Round trips between two processes, every transport, placement and size.
    RoundTrip,
    /// A real-time client's round trip, idle and while 8 clients flood the server.
    Load,
    /// Calls per second: 4 client processes, a server with 2 threads.
    Throughput,
    /// Round trip with 1, 100 and 1000 clients connected; a probe behind 1000 queued messages.
    Scale,
    /// What a connection costs a baton server: shared memory, bookkeeping, descriptors.
    Memory,
    /// 4 KiB reads through the resource-manager client API, through FUSE, and from tmpfs.
    Read,
}

impl Section {
    /// Every section, in the order they run.
    pub const ALL: [Section; 6] =
        [Section::RoundTrip, Section::Load, Section::Throughput, Section::Scale, Section::Memory, Section::Read];

    /// The name on the command line and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Section::RoundTrip => "round-trip",
            Section::Load => "load",
            Section::Throughput => "throughput",
            Section::Scale => "scale",
            Section::Memory => "memory",
            Section::Read => "read",
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

/// What one row measures: a transport, in a placement, with a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub placement: Placement,
    pub cpus: Cpus,
    pub transport: Transport,
    /// Request and reply size, bytes.
    pub size: usize,
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

/// The jobs of `runs` repetitions of `configs`, interleaved: run 0 of every
/// configuration, then run 1 of every configuration, and so on.
pub fn schedule(runs: usize, configs: &[Config]) -> Vec<Job> {
    let mut jobs = Vec::with_capacity(runs * configs.len());
    for run in 0..runs {
        jobs.extend(configs.iter().map(|c| Job {
            run,
            placement: c.placement,
            cpus: c.cpus,
            transport: c.transport,
            size: c.size,
        }));
    }
    jobs
}

/// Fewest round trips a run measures, however big the messages (unless
/// fewer were asked for).
pub const MIN_ROUND_TRIPS: u64 = 100;
/// Fewest warm-up round trips (unless fewer were asked for).
const MIN_WARMUP: u64 = 10;

/// How many round trips a run makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Measured.
    pub iterations: u64,
    /// Before measuring.
    pub warmup: u64,
}

impl Counts {
    /// The counts asked for, cut for `size`-byte messages so that a run's
    /// measured round trips move at most `bytes_per_run` bytes (request plus
    /// reply), but no fewer than [`MIN_ROUND_TRIPS`]; the warm-up shrinks in
    /// the same proportion, to no fewer than 10.
    pub fn for_size(self, size: usize, bytes_per_run: u64) -> Counts {
        let fit = bytes_per_run / (2 * size as u64).max(1);
        let iterations = self.iterations.min(fit.max(MIN_ROUND_TRIPS));
        let scaled = (u128::from(self.warmup) * u128::from(iterations) / u128::from(self.iterations.max(1))) as u64;
        Counts { iterations, warmup: scaled.max(self.warmup.min(MIN_WARMUP)) }
    }

    /// The counts cut to at most `cap` measured round trips (a slow
    /// transport's), the warm-up in the same proportion.
    pub fn at_most(self, cap: Option<u64>) -> Counts {
        match cap {
            Some(cap) if cap < self.iterations => {
                let warmup = (u128::from(self.warmup) * u128::from(cap) / u128::from(self.iterations)) as u64;
                Counts { iterations: cap, warmup: warmup.max(self.warmup.min(MIN_WARMUP)) }
            }
            _ => self,
        }
    }
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
        let mut configs = Vec::new();
        for placement in [Placement::SameCpu, Placement::Unpinned] {
            for transport in [Transport::Baton, Transport::Pipe] {
                configs.push(Config { placement, cpus: Cpus::default(), transport, size: 64 });
            }
        }
        let jobs = schedule(2, &configs);
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

    #[test]
    fn big_messages_make_fewer_round_trips() {
        let asked = Counts { iterations: 100_000, warmup: 10_000 };
        let gib = 1 << 30;
        assert_eq!(asked.for_size(64, gib), asked);
        assert_eq!(asked.for_size(4096, gib), asked);
        assert_eq!(asked.for_size(65536, gib), Counts { iterations: 8192, warmup: 819 });
        assert_eq!(asked.for_size(1 << 20, gib), Counts { iterations: 512, warmup: 51 });
        // Never below the floors, never above what was asked.
        assert_eq!(asked.for_size(1 << 30, gib), Counts { iterations: 100, warmup: 10 });
        let few = Counts { iterations: 50, warmup: 5 };
        assert_eq!(few.for_size(1 << 30, gib), few);
        // A slow transport's cap.
        assert_eq!(asked.at_most(Some(5000)), Counts { iterations: 5000, warmup: 500 });
        assert_eq!(few.at_most(Some(5000)), few);
        assert_eq!(asked.at_most(None), asked);
    }
}
