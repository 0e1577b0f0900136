//! What the statistics consume: per endpoint, R paired rounds of base and head.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::side::Side;

/// Why input to the statistics was rejected. These are caller bugs (mismatched
/// vectors, impossible counters), not "not enough data", which is a result state.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// Base and head must have one observation per round each.
    #[error("base has {base} rounds but head has {head}; pass one observation per round and side")]
    RoundCountMismatch {
        /// Rounds given for base.
        base: usize,
        /// Rounds given for head.
        head: usize,
    },
    /// A round reported more failed requests than requests.
    #[error("{errors} errors out of {requests} requests; errors are a subset of requests")]
    ErrorsExceedRequests {
        /// Requests counted.
        requests: u64,
        /// Errors counted.
        errors: u64,
    },
    /// Latency runs must be strictly increasing values with positive counts.
    #[error("latency runs must be sorted by strictly increasing value with non-zero counts (at run {index})")]
    UnsortedRuns {
        /// Index of the first offending run.
        index: usize,
    },
    /// A round holds more latency samples than the statistics count per round.
    #[error("a round holds {samples} latency samples; at most {max} per round are supported", max = u32::MAX)]
    TooManySamples {
        /// Samples in the round.
        samples: u64,
    },
    /// A numeric option is outside its domain.
    #[error("invalid {name}: {value} ({expected})")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What is expected instead.
        expected: &'static str,
    },
}

/// A latency percentile the gate reports, as an exact fraction so that ranks are
/// computed in integers (nearest-rank definition: the smallest recorded value with at
/// least `⌈q·N⌉` samples at or below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Percentile {
    /// The median.
    P50,
    /// The 95th percentile.
    P95,
    /// The 99th percentile.
    P99,
    /// The 99.9th percentile.
    P999,
}

impl Percentile {
    /// All reported percentiles, ascending.
    pub const ALL: [Percentile; 4] = [
        Percentile::P50,
        Percentile::P95,
        Percentile::P99,
        Percentile::P999,
    ];

    /// The quantile as `numerator / 1000`.
    fn per_mille(self) -> u64 {
        match self {
            Percentile::P50 => 500,
            Percentile::P95 => 950,
            Percentile::P99 => 990,
            Percentile::P999 => 999,
        }
    }

    /// The quantile as a fraction (`0.99` for p99).
    pub fn quantile(self) -> f64 {
        self.per_mille() as f64 / 1000.0
    }

    /// Nearest rank `⌈q·n⌉` (at least 1) of this percentile among `n` samples.
    pub fn rank(self, n: u64) -> u64 {
        nearest_rank(n, self.per_mille())
    }

    /// `"p50"`, `"p95"`, `"p99"` or `"p999"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P95 => "p95",
            Percentile::P99 => "p99",
            Percentile::P999 => "p999",
        }
    }
}

/// A compared quantity. Latency percentiles and throughput are compared as the ratio
/// head / base; the error rate as the difference head − base (a fraction, so `0.001`
/// is +0.1 percentage points).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Median latency of successful requests.
    P50,
    /// 95th percentile latency.
    P95,
    /// 99th percentile latency.
    P99,
    /// 99.9th percentile latency.
    P999,
    /// Failed requests / all requests.
    ErrorRate,
    /// Successful requests per second of measured time.
    Throughput,
    /// Cost per million requests (`Σ cost / Σ requests × 10⁶`), where the rounds
    /// were priced (a CPU-time or Lambda cost model).
    Cost,
}

impl Metric {
    /// The metrics of every run, in report order (cost is added where priced).
    pub const ALL: [Metric; 6] = [
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::P999,
        Metric::ErrorRate,
        Metric::Throughput,
    ];

    /// [`Metric::ALL`] and the cost per request, for rounds a cost model priced.
    pub const WITH_COST: [Metric; 7] = [
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::P999,
        Metric::ErrorRate,
        Metric::Throughput,
        Metric::Cost,
    ];

    /// The latency percentile, for latency metrics.
    pub fn percentile(self) -> Option<Percentile> {
        match self {
            Metric::P50 => Some(Percentile::P50),
            Metric::P95 => Some(Percentile::P95),
            Metric::P99 => Some(Percentile::P99),
            Metric::P999 => Some(Percentile::P999),
            Metric::ErrorRate | Metric::Throughput | Metric::Cost => None,
        }
    }

    /// The metric of a latency percentile.
    pub fn from_percentile(p: Percentile) -> Metric {
        match p {
            Percentile::P50 => Metric::P50,
            Percentile::P95 => Metric::P95,
            Percentile::P99 => Metric::P99,
            Percentile::P999 => Metric::P999,
        }
    }

    /// How head and base are compared for this metric.
    pub fn scale(self) -> Scale {
        match self {
            Metric::ErrorRate => Scale::Difference,
            _ => Scale::Ratio,
        }
    }

    /// Whether a larger value is worse (latency, errors) or better (throughput).
    pub fn higher_is_worse(self) -> bool {
        !matches!(self, Metric::Throughput)
    }

    /// The latency percentiles, in report order.
    pub const LATENCIES: [Metric; 4] = [Metric::P50, Metric::P95, Metric::P99, Metric::P999];

    /// The quantile of a latency metric (`0.99` for p99).
    pub fn quantile(self) -> Option<f64> {
        self.percentile().map(|p| match p {
            Percentile::P50 => 0.50,
            Percentile::P95 => 0.95,
            Percentile::P99 => 0.99,
            Percentile::P999 => 0.999,
        })
    }

    /// Short label for people (`p99`, `p99.9`, `error rate`).
    pub fn label(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::P999 => "p99.9",
            Metric::ErrorRate => "error rate",
            Metric::Throughput => "throughput",
            Metric::Cost => "cost / 1M",
        }
    }

    /// `"p99"`, `"error_rate"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::P999 => "p999",
            Metric::ErrorRate => "error_rate",
            Metric::Throughput => "throughput",
            Metric::Cost => "cost_per_1m",
        }
    }
}

/// How a change is expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// head / base; 1.0 is no change. Analysed on the log scale.
    Ratio,
    /// head − base; 0.0 is no change.
    Difference,
}

/// The counters of one (round, side) besides its latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundCounters {
    /// Requests sent and finished (successful or failed) in the round.
    pub requests: u64,
    /// Requests that failed (any error kind); a subset of `requests`.
    pub errors: u64,
    /// Measured wall time of the round.
    pub elapsed: Duration,
}

/// Nearest rank `⌈n · per_mille / 1000⌉` (at least 1) among `n` samples, in
/// integers: p99 of 100 samples is the 99th, where a float `0.99 * 100.0` rounds
/// up to the 100th.
pub fn nearest_rank(n: u64, per_mille: u64) -> u64 {
    let per_mille = per_mille.min(1000);
    let rank = match n.checked_mul(per_mille) {
        Some(scaled) => scaled.div_ceil(1000),
        // n · q <= n, so the rank fits in a u64.
        None => (u128::from(n) * u128::from(per_mille)).div_ceil(1000) as u64,
    };
    rank.max(1)
}

/// The one percentile rule of every number tailgate shows (the comparison, the
/// report, `tailgate bench`, REPORT-line spreads, pacing lag, hints): the value
/// at the [`nearest_rank`] of `per_mille` (`990` for p99, `1000` for the
/// maximum), valued at its bucket's highest equivalent value, as
/// [`RoundObs::from_histogram`] values runs. `None` for an empty histogram.
pub fn quantile_us(hist: &Histogram<u64>, per_mille: u64) -> Option<u64> {
    let n = hist.len();
    if n == 0 {
        return None;
    }
    let target = nearest_rank(n, per_mille);
    let mut seen = 0u64;
    let mut last = None;
    for v in hist.iter_recorded() {
        seen += v.count_at_value();
        last = Some(v.value_iterated_to());
        if seen >= target {
            return last;
        }
    }
    last
}

/// [`quantile_us`] of a histogram in microseconds, in milliseconds.
pub fn quantile_ms(hist: &Histogram<u64>, per_mille: u64) -> Option<f64> {
    quantile_us(hist, per_mille).map(|us| us as f64 / 1000.0)
}

/// One (round, side): the latencies of its successful requests as sorted
/// `(value in µs, count)` runs — the compact form of its HdrHistogram, built once —
/// plus its counters.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundObs {
    runs: Vec<(u64, u64)>,
    samples: u64,
    counters: RoundCounters,
    cost: Option<f64>,
}

impl RoundObs {
    /// From a round's histogram of successful-request latencies in microseconds.
    /// Each recorded bucket becomes one run valued at the bucket's highest equivalent
    /// value (what `Histogram::value_at_quantile` reports), so percentiles are within
    /// the histogram's resolution (0.1 % at 3 significant figures) of the raw samples.
    pub fn from_histogram(
        hist: &Histogram<u64>,
        counters: RoundCounters,
    ) -> Result<Self, StatsError> {
        let runs: Vec<(u64, u64)> = hist
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        RoundObs::from_runs(runs, counters)
    }

    /// From latency runs `(value in µs, count)` with strictly increasing values and
    /// non-zero counts (e.g. a histogram exported elsewhere, or simulated data).
    pub fn from_runs(runs: Vec<(u64, u64)>, counters: RoundCounters) -> Result<Self, StatsError> {
        if counters.errors > counters.requests {
            return Err(StatsError::ErrorsExceedRequests {
                requests: counters.requests,
                errors: counters.errors,
            });
        }
        let mut samples: u64 = 0;
        let slice: &[(u64, u64)] = &runs;
        let mut i = 0;
        while i < slice.len() {
            let (value, count) = slice[i];
            if count == 0 || (i > 0 && slice[i - 1].0 >= value) {
                return Err(StatsError::UnsortedRuns { index: i });
            }
            samples = samples.saturating_add(count);
            i += 1;
        }
        if samples > u64::from(u32::MAX) {
            return Err(StatsError::TooManySamples { samples });
        }
        Ok(RoundObs {
            runs,
            samples,
            counters,
            cost: None,
        })
    }

    /// The same round with what it cost (in currency units, all its requests
    /// together); a negative or non-finite amount is ignored.
    pub fn with_cost(mut self, cost: Option<f64>) -> Self {
        self.cost = cost.filter(|c| c.is_finite() && *c >= 0.0);
        self
    }

    /// What the round cost, when it was priced.
    pub fn cost(&self) -> Option<f64> {
        self.cost
    }

    /// The latency runs `(value in µs, count)`, ascending.
    pub fn runs(&self) -> &[(u64, u64)] {
        &self.runs
    }

    /// Number of latency samples.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The round's counters.
    pub fn counters(&self) -> RoundCounters {
        self.counters
    }

    /// Successful requests: `requests - errors`.
    pub fn successes(&self) -> u64 {
        self.counters.requests - self.counters.errors
    }

    /// Consecutive rounds of one side as one block: their latency runs merged, their
    /// counters and times added, priced only when every round was.
    pub(crate) fn merged(rounds: &[RoundObs]) -> RoundObs {
        let mut runs: Vec<(u64, u64)> =
            rounds.iter().flat_map(|r| r.runs.iter().copied()).collect();
        runs.sort_unstable_by_key(|r| r.0);
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(runs.len());
        for (value, count) in runs {
            match merged.last_mut() {
                Some(last) if last.0 == value => last.1 += count,
                _ => merged.push((value, count)),
            }
        }
        let sum = |f: fn(&RoundCounters) -> u64| rounds.iter().map(|r| f(&r.counters)).sum();
        RoundObs {
            runs: merged,
            samples: rounds.iter().map(|r| r.samples).sum(),
            counters: RoundCounters {
                requests: sum(|c| c.requests),
                errors: sum(|c| c.errors),
                elapsed: rounds.iter().map(|r| r.counters.elapsed).sum(),
            },
            cost: rounds.iter().map(|r| r.cost).sum(),
        }
    }

    /// The value of `p` in this round alone, in µs; `None` without samples.
    pub fn percentile(&self, p: Percentile) -> Option<u64> {
        if self.samples == 0 {
            return None;
        }
        let target = p.rank(self.samples);
        let mut seen = 0u64;
        for &(value, count) in &self.runs {
            seen += count;
            if seen >= target {
                return Some(value);
            }
        }
        self.runs.last().map(|r| r.0)
    }
}

/// R rounds of base and head; index `i` of each is round `i`. Only rounds measured
/// back to back (one interleaved round: BH or HB) make a pair, which is what removes
/// drift of the machine or the cloud from the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedRounds {
    base: Vec<RoundObs>,
    head: Vec<RoundObs>,
}

impl PairedRounds {
    /// Pairs the rounds; both sides need the same number.
    pub fn new(base: Vec<RoundObs>, head: Vec<RoundObs>) -> Result<Self, StatsError> {
        if base.len() != head.len() {
            return Err(StatsError::RoundCountMismatch {
                base: base.len(),
                head: head.len(),
            });
        }
        Ok(PairedRounds { base, head })
    }

    /// Blocks of rounds paired as rounds are (both sides built from the same round
    /// ranges, so of equal length).
    pub(crate) fn from_blocks(base: Vec<RoundObs>, head: Vec<RoundObs>) -> Self {
        debug_assert_eq!(base.len(), head.len());
        PairedRounds { base, head }
    }

    /// Number of rounds R.
    pub fn rounds(&self) -> usize {
        self.base.len()
    }

    /// The rounds of one side.
    pub fn side(&self, side: Side) -> &[RoundObs] {
        match side {
            Side::Base => &self.base,
            Side::Head => &self.head,
        }
    }

    /// Rounds usable for latency: both sides recorded at least one sample.
    pub(crate) fn latency_rounds(&self) -> Vec<usize> {
        (0..self.rounds())
            .filter(|&r| self.base[r].samples > 0 && self.head[r].samples > 0)
            .collect()
    }

    /// Rounds usable for error rate and throughput: both sides sent requests and
    /// measured a positive time.
    pub(crate) fn count_rounds(&self) -> Vec<usize> {
        let usable = |o: &RoundObs| o.counters.requests > 0 && !o.counters.elapsed.is_zero();
        (0..self.rounds())
            .filter(|&r| usable(&self.base[r]) && usable(&self.head[r]))
            .collect()
    }

    /// Rounds usable for cost: usable for the counters and priced on both sides.
    pub(crate) fn cost_rounds(&self) -> Vec<usize> {
        self.count_rounds()
            .into_iter()
            .filter(|&r| self.base[r].cost.is_some() && self.head[r].cost.is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_percentile_rule_for_histograms_and_rounds() {
        // 1..=100 ms: p99 is the 99th value (a float 0.99 * 100 would pick the 100th).
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for ms in 1..=100u64 {
            h.record(ms * 1000).unwrap();
        }
        assert_eq!(quantile_us(&h, 990), Some(h.highest_equivalent(99_000)));
        assert_eq!(quantile_us(&h, 500), Some(h.highest_equivalent(50_000)));
        assert_eq!(quantile_us(&h, 1000), Some(h.highest_equivalent(100_000)));
        assert_eq!(quantile_us(&h, 0), Some(h.highest_equivalent(1_000)));
        assert_eq!(
            quantile_ms(&h, 990),
            Some(h.highest_equivalent(99_000) as f64 / 1000.0)
        );
        assert_eq!(quantile_us(&Histogram::<u64>::new(3).unwrap(), 990), None);
        // The same rule as a round's percentiles (what the comparison and report use).
        let round = RoundObs::from_histogram(&h, counters(100, 0)).unwrap();
        for p in Percentile::ALL {
            assert_eq!(round.percentile(p), quantile_us(&h, p.per_mille()), "{p:?}");
        }
    }

    fn counters(requests: u64, errors: u64) -> RoundCounters {
        RoundCounters {
            requests,
            errors,
            elapsed: Duration::from_secs(1),
        }
    }

    #[test]
    fn nearest_rank_is_exact() {
        assert_eq!(Percentile::P99.rank(100), 99);
        assert_eq!(Percentile::P99.rank(101), 100);
        assert_eq!(Percentile::P999.rank(1000), 999);
        assert_eq!(Percentile::P50.rank(1), 1);
        assert_eq!(Percentile::P50.rank(0), 1);
        assert_eq!(Percentile::P95.rank(20), 19);
        assert_eq!(Percentile::P999.rank(u64::MAX), u64::MAX - u64::MAX / 1000);
    }

    #[test]
    fn runs_must_be_sorted() {
        let err = RoundObs::from_runs(vec![(5, 1), (5, 2)], counters(3, 0)).unwrap_err();
        assert_eq!(err, StatsError::UnsortedRuns { index: 1 });
        let err = RoundObs::from_runs(vec![(5, 0)], counters(0, 0)).unwrap_err();
        assert_eq!(err, StatsError::UnsortedRuns { index: 0 });
    }

    #[test]
    fn per_round_percentile() {
        let obs =
            RoundObs::from_runs(vec![(10, 50), (20, 49), (1000, 1)], counters(100, 0)).unwrap();
        assert_eq!(obs.percentile(Percentile::P50), Some(10));
        assert_eq!(obs.percentile(Percentile::P99), Some(20));
        assert_eq!(obs.percentile(Percentile::P999), Some(1000));
    }

    #[test]
    fn histogram_runs_use_highest_equivalent_values() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        h.record_n(123_456, 3).unwrap();
        h.record(7).unwrap();
        let obs = RoundObs::from_histogram(&h, counters(4, 0)).unwrap();
        assert_eq!(obs.samples(), 4);
        assert_eq!(obs.runs()[0], (7, 1));
        assert_eq!(obs.runs()[1], (h.highest_equivalent(123_456), 3));
    }

    #[test]
    fn pairing_checks_lengths_and_counters() {
        let ok = RoundObs::from_runs(vec![(1, 1)], counters(1, 0)).unwrap();
        assert!(matches!(
            PairedRounds::new(vec![ok], vec![]),
            Err(StatsError::RoundCountMismatch { base: 1, head: 0 })
        ));
        assert_eq!(
            RoundObs::from_runs(vec![], counters(1, 2)),
            Err(StatsError::ErrorsExceedRequests {
                requests: 1,
                errors: 2
            })
        );
    }
}
