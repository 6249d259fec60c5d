//! Facts about the machine that go with the figures: the clock and its
//! cost, the kernel, the CPUs the bench may use.

use std::io;
use std::time::Instant;

/// What the bench ran on.
#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// Mean cost of one `clock_gettime(CLOCK_MONOTONIC)`, ns.
    pub timer_ns: f64,
    pub clocksource: String,
    /// The Linux release.
    pub kernel: String,
    /// The CPUs this process may run on, lowest first.
    pub cpus: Vec<usize>,
}

impl Machine {
    /// Looks at this machine (a few milliseconds).
    pub fn probe() -> io::Result<Machine> {
        let set = rustix::thread::sched_getaffinity(None)?;
        Ok(Machine {
            timer_ns: timer_cost_ns(),
            clocksource: read_trimmed("/sys/devices/system/clocksource/clocksource0/current_clocksource"),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            cpus: (0..rustix::thread::CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect(),
        })
    }
}

/// The mean cost of one `clock_gettime(CLOCK_MONOTONIC)` (what [`Instant`]
/// reads), ns.
fn timer_cost_ns() -> f64 {
    const READS: u32 = 200_000;
    let start = Instant::now();
    for _ in 0..READS {
        std::hint::black_box(Instant::now());
    }
    start.elapsed().as_nanos() as f64 / f64::from(READS)
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path).map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned())
}
