//! Order statistics of latency samples, and the median over repeated runs.

/// Latency figures of one run, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Summary {
    /// Sorts `samples` and summarises them; `None` if there are none.
    pub fn of(samples: &mut [u64]) -> Option<Summary> {
        samples.sort_unstable();
        Some(Summary {
            p50: percentile(samples, 0.50)?,
            p99: percentile(samples, 0.99)?,
            p999: percentile(samples, 0.999)?,
            max: *samples.last()?,
        })
    }
}

/// Each figure's median over several runs' summaries.
pub fn median_summary<'a>(runs: impl Iterator<Item = &'a Summary> + Clone) -> Summary {
    let med = |f: fn(&Summary) -> u64| median(runs.clone().map(|s| f(s) as f64)).round() as u64;
    Summary { p50: med(|s| s.p50), p99: med(|s| s.p99), p999: med(|s| s.p999), max: med(|s| s.max) }
}

/// Nearest-rank percentile of sorted samples: the smallest sample with at
/// least `q` of all samples at or below it.
fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.max(1) - 1).copied()
}

/// The median of `values` (the mean of the middle two for an even count);
/// 0 for none.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_unstable_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s: Vec<u64> = (1..=1000).rev().collect();
        let sum = Summary::of(&mut s).unwrap();
        assert_eq!(sum, Summary { p50: 500, p99: 990, p999: 999, max: 1000 });
    }

    #[test]
    fn tiny_and_empty() {
        assert_eq!(Summary::of(&mut [7]), Some(Summary { p50: 7, p99: 7, p999: 7, max: 7 }));
        assert_eq!(Summary::of(&mut []), None);
    }

    #[test]
    fn median_summaries() {
        let runs = [Summary { p50: 1, p99: 9, p999: 5, max: 7 }, Summary { p50: 3, p99: 2, p999: 6, max: 8 }];
        assert_eq!(median_summary(runs.iter()), Summary { p50: 2, p99: 6, p999: 6, max: 8 });
    }

    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median([]), 0.0);
    }
}
