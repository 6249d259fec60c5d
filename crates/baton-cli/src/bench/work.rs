//! The CPU work a server does on each request before it answers, in the
//! load section (none in the round-trip section): rounds of FNV-1a over the
//! request bytes, each round chained to the last, so the compiler can
//! neither vectorise nor skip it. Every transport's server does the same
//! work; the bench parent picks the number of rounds that takes the target
//! time on this machine and reports the time it then measured.

use super::stats::median;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A fixed amount of work per request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// Passes of the hash over the request.
    pub rounds: u32,
}

impl Work {
    /// No work: the server answers at once.
    pub const NONE: Work = Work { rounds: 0 };

    /// Does the work on `request` (which it only reads) and returns the hash.
    #[inline]
    pub fn run(self, request: &[u8]) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325_u64;
        for _ in 0..self.rounds {
            for &b in black_box(request) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        black_box(h)
    }

    /// The work that takes about `target` on `size`-byte requests here,
    /// and its measured time: the median of many runs, ns.
    pub fn calibrate(target: Duration, size: usize) -> (Work, f64) {
        let request = vec![0x5a_u8; size];
        let probe = Work { rounds: 64 };
        // The least disturbed of several batches gives the time per round.
        let best = (0..50).map(|_| probe.time(&request)).fold(f64::INFINITY, f64::min);
        let per_round = (best / f64::from(probe.rounds)).max(0.1);
        let rounds = (target.as_nanos() as f64 / per_round).round().clamp(1.0, f64::from(u32::MAX)) as u32;
        let work = Work { rounds };
        let ns = median((0..1000).map(|_| work.time(&request)));
        (work, ns)
    }

    /// One run on `request`, ns.
    fn time(self, request: &[u8]) -> f64 {
        let start = Instant::now();
        self.run(request);
        start.elapsed().as_nanos() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_depends_on_the_request_and_the_rounds() {
        let w = Work { rounds: 3 };
        assert_ne!(w.run(b"abc"), w.run(b"abd"));
        assert_ne!(w.run(b"abc"), Work { rounds: 4 }.run(b"abc"));
        assert_eq!(w.run(b"abc"), w.run(b"abc"));
    }

    #[test]
    fn calibration_lands_near_the_target() {
        let (work, ns) = Work::calibrate(Duration::from_micros(20), 64);
        assert!(work.rounds > 0);
        // Loose: a loaded test machine can be far off, but not by 100×.
        assert!(ns > 200.0 && ns < 2_000_000.0, "{ns} ns");
    }
}
