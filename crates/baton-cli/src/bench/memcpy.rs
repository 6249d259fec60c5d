//! The bandwidth of a plain `memcpy` in one process, the yardstick for the
//! transports' bandwidth with big messages: measured in the bench parent
//! for each message size, once per round of runs (so it sees the same
//! machine as the runs around it), buffer to buffer with both buffers
//! already touched.

use super::stats::median;
use std::hint::black_box;
use std::time::Instant;

/// Timed repetitions per measurement; the figure is their median.
const REPETITIONS: usize = 15;
/// Bytes copied per repetition, at least: small copies are repeated in a
/// loop so that a repetition is long enough to time.
const BYTES_PER_REPETITION: usize = 4 << 20;

/// `memcpy` bandwidth for `size`-byte copies here, GB/s (10^9 bytes a
/// second): the median of [`REPETITIONS`].
pub fn gb_per_sec(size: usize) -> f64 {
    let src = vec![0x5a_u8; size];
    let mut dst = vec![0xa5_u8; size];
    let copies = (BYTES_PER_REPETITION / size.max(1)).max(1);
    let bytes = (copies * size) as f64;
    dst.copy_from_slice(&src); // one untimed copy: caches and TLB warm
    median((0..REPETITIONS).map(|_| {
        let start = Instant::now();
        for _ in 0..copies {
            // black_box: every copy must happen, none hoisted or merged.
            black_box(&mut dst).copy_from_slice(black_box(&src));
        }
        bytes / start.elapsed().as_nanos().max(1) as f64
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn copies_at_some_positive_speed() {
        for size in [64, 1 << 20] {
            let gbs = super::gb_per_sec(size);
            assert!(gbs.is_finite() && gbs > 0.0, "{size}: {gbs}");
        }
    }
}
