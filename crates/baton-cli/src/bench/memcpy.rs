//! The bandwidth of a plain `memcpy` in one process, the yardstick for the
//! transports' bandwidth with big messages: measured in the bench parent
//! for each message size, once per round of runs (so it sees the same
//! machine as the runs around it), buffer to buffer with both buffers
//! already touched and page-aligned.
//!
//! Page-aligned because of where two heap buffers of a few KiB land: one
//! right after the other, the destination 16 bytes past the source modulo
//! the page size, and with that distance `rep movsb` (glibc's `memcpy` for
//! these sizes) on AMD Zen runs at about a twentieth of its speed (measured
//! here: 1.8 GB/s against 40–56 GB/s for 4 KiB and 64 KiB). That would
//! measure an alignment accident, not the bandwidth a copy can have.

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
    let mut src_buf = vec![0x5a_u8; size + PAGE];
    let mut dst_buf = vec![0xa5_u8; size + PAGE];
    let src = page_aligned(&mut src_buf, size);
    let dst = page_aligned(&mut dst_buf, size);
    let copies = (BYTES_PER_REPETITION / size.max(1)).max(1);
    let bytes = (copies * size) as f64;
    dst.copy_from_slice(src); // one untimed copy: caches and TLB warm
    median((0..REPETITIONS).map(|_| {
        let start = Instant::now();
        for _ in 0..copies {
            // black_box: every copy must happen, none hoisted or merged.
            black_box(&mut *dst).copy_from_slice(black_box(&*src));
        }
        bytes / start.elapsed().as_nanos().max(1) as f64
    }))
}

const PAGE: usize = 4096;

/// The `size` bytes of `buf` (which has `size + PAGE`) that start on a page
/// boundary.
fn page_aligned(buf: &mut [u8], size: usize) -> &mut [u8] {
    let skip = (PAGE - buf.as_ptr() as usize % PAGE) % PAGE;
    &mut buf[skip..skip + size]
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
