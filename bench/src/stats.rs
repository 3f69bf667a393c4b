//! Latency statistics over every recorded sample (no sampling, no histogram buckets): the
//! samples are sorted and percentiles taken by the nearest-rank method.

use std::time::Duration;

/// What a set of latencies comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub count: usize,
    pub mean: Duration,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// The summary of `samples`; `None` when there are none.
pub fn summarize(mut samples: Vec<Duration>) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    let count = samples.len();
    Some(Summary {
        count,
        mean: total / u32::try_from(count).unwrap_or(u32::MAX),
        p50: percentile(&samples, 50.0),
        p95: percentile(&samples, 95.0),
        p99: percentile(&samples, 99.0),
        max: samples[count - 1],
    })
}

/// The `p`-th percentile (0 < p <= 100) of sorted, non-empty `sorted` by the nearest-rank
/// method: the smallest sample that at least `p` percent of the samples do not exceed.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let n = sorted.len();
    // Rounded first, so that e.g. 0.95 * 100 (94.999…) is rank 95, not 96.
    let exact = (p / 100.0 * n as f64 * 1e6).round() / 1e6;
    let rank = (exact.ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// Units per second over `elapsed`.
pub fn throughput(units: usize, elapsed: Duration) -> f64 {
    if elapsed.is_zero() {
        0.0
    } else {
        units as f64 / elapsed.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_of_one_to_a_hundred_are_their_rank() {
        // Shuffled on purpose: summarize sorts.
        let samples: Vec<Duration> = (1..=100).rev().map(ms).collect();
        let s = summarize(samples).expect("samples");
        assert_eq!(s.count, 100);
        assert_eq!(
            (s.p50, s.p95, s.p99, s.max),
            (ms(50), ms(95), ms(99), ms(100))
        );
        assert_eq!(s.mean, Duration::from_micros(50_500));
    }

    #[test]
    fn nearest_rank_rounds_up_between_samples() {
        let sorted = [ms(10), ms(20), ms(30)];
        assert_eq!(percentile(&sorted, 50.0), ms(20));
        assert_eq!(percentile(&sorted, 34.0), ms(20));
        assert_eq!(percentile(&sorted, 33.0), ms(10));
        assert_eq!(percentile(&sorted, 99.0), ms(30));
    }

    #[test]
    fn a_single_sample_is_every_percentile() {
        let s = summarize(vec![ms(7)]).expect("one sample");
        assert_eq!(
            (s.p50, s.p95, s.p99, s.max, s.mean),
            (ms(7), ms(7), ms(7), ms(7), ms(7))
        );
    }

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(summarize(Vec::new()), None);
    }

    #[test]
    fn throughput_is_units_per_second() {
        assert!((throughput(50, ms(2_000)) - 25.0).abs() < 1e-9);
        assert_eq!(throughput(5, Duration::ZERO), 0.0);
    }
}
