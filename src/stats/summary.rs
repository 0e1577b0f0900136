//! Per-side summaries: what each side measured, from its merged rounds.

use std::time::Duration;

use serde::{Serialize, Serializer};

use super::bootstrap::{tick_count, LatencyIndex, Merged, Tick, Weights};
use super::input::{Percentile, RoundObs};

/// What one side measured over all its rounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideSummary {
    /// Rounds measured.
    pub rounds: usize,
    /// Requests sent and finished, over all rounds.
    pub requests: u64,
    /// Failed requests, over all rounds.
    pub errors: u64,
    /// `errors / requests`; `None` without requests.
    pub error_rate: Option<f64>,
    /// Successful requests per second of measured time (sum over rounds of
    /// `requests - errors`, divided by the summed elapsed time); `None` when no time
    /// was measured.
    pub throughput_per_s: Option<f64>,
    /// Cost per million requests over the priced rounds; `None` when no round was
    /// priced.
    pub cost_per_1m: Option<f64>,
    /// Latency of successful requests; `None` when there was none.
    pub latency: Option<LatencySummary>,
}

/// Latency percentiles of the merged rounds (nearest rank on the recorded values,
/// so within the histograms' resolution of the raw samples). Serialised in
/// milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Number of latency samples.
    pub samples: u64,
    /// Median.
    #[serde(rename = "p50_ms", serialize_with = "as_ms")]
    pub p50: Duration,
    /// 95th percentile.
    #[serde(rename = "p95_ms", serialize_with = "as_ms")]
    pub p95: Duration,
    /// 99th percentile.
    #[serde(rename = "p99_ms", serialize_with = "as_ms")]
    pub p99: Duration,
    /// 99.9th percentile.
    #[serde(rename = "p999_ms", serialize_with = "as_ms")]
    pub p999: Duration,
    /// Mean of the recorded values.
    #[serde(rename = "mean_ms", serialize_with = "as_ms")]
    pub mean: Duration,
    /// Largest recorded value.
    #[serde(rename = "max_ms", serialize_with = "as_ms")]
    pub max: Duration,
}

impl LatencySummary {
    /// The value of one percentile.
    pub fn percentile(&self, p: Percentile) -> Duration {
        match p {
            Percentile::P50 => self.p50,
            Percentile::P95 => self.p95,
            Percentile::P99 => self.p99,
            Percentile::P999 => self.p999,
        }
    }
}

fn as_ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// Summarises one side's rounds (all of them, paired or not).
pub fn summarize(rounds: &[RoundObs]) -> SideSummary {
    let refs: Vec<&RoundObs> = rounds.iter().collect();
    let index = LatencyIndex::new(Merged::new(&refs), refs.len());
    summarize_indexed(rounds, &index)
}

/// Summary from an index already built over exactly `rounds`.
pub(crate) fn summarize_indexed(rounds: &[RoundObs], index: &LatencyIndex) -> SideSummary {
    let mut requests = 0u64;
    let mut errors = 0u64;
    let mut elapsed = Duration::ZERO;
    let (mut cost, mut priced) = (0.0, 0u64);
    for obs in rounds {
        let c = obs.counters();
        requests += c.requests;
        errors += c.errors;
        elapsed += c.elapsed;
        if let Some(amount) = obs.cost() {
            cost += amount;
            priced += c.requests;
        }
    }
    let cost_per_1m = (priced > 0).then(|| cost / priced as f64 * 1e6);
    let successes = requests - errors;
    let error_rate = (requests > 0).then(|| errors as f64 / requests as f64);
    let throughput_per_s = (!elapsed.is_zero()).then(|| successes as f64 / elapsed.as_secs_f64());
    let merged = index.merged();
    let samples: u64 = index.totals().iter().map(|&t| u64::from(t)).sum();
    let latency = (samples > 0).then(|| {
        let all = Weights::identity(rounds.len());
        let at = |p| Duration::from_micros(index.percentile(&all, samples, p));
        let (values, ticks): (&[u64], &[Tick]) = (&merged.values, &merged.ticks);
        let mut sum = 0f64;
        let mut i = 0;
        while i < values.len() {
            sum += values[i] as f64 * tick_count(ticks[i]) as f64;
            i += 1;
        }
        LatencySummary {
            samples,
            p50: at(Percentile::P50),
            p95: at(Percentile::P95),
            p99: at(Percentile::P99),
            p999: at(Percentile::P999),
            mean: Duration::from_secs_f64(sum / samples as f64 / 1e6),
            max: Duration::from_micros(merged.values[merged.len() - 1]),
        }
    });
    SideSummary {
        rounds: rounds.len(),
        requests,
        errors,
        error_rate,
        throughput_per_s,
        cost_per_1m,
        latency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::input::RoundCounters;

    fn round(runs: Vec<(u64, u64)>, requests: u64, errors: u64, secs: u64) -> RoundObs {
        RoundObs::from_runs(
            runs,
            RoundCounters {
                requests,
                errors,
                elapsed: Duration::from_secs(secs),
            },
        )
        .unwrap()
    }

    #[test]
    fn merges_rounds() {
        let rounds = vec![
            round(vec![(1_000, 90), (2_000, 5)], 100, 5, 2),
            round(vec![(1_500, 98), (50_000, 2)], 100, 0, 2),
        ];
        let s = summarize(&rounds);
        assert_eq!(s.requests, 200);
        assert_eq!(s.errors, 5);
        assert_eq!(s.error_rate, Some(0.025));
        assert_eq!(s.throughput_per_s, Some(195.0 / 4.0));
        let lat = s.latency.unwrap();
        assert_eq!(lat.samples, 195);
        assert_eq!(lat.p50, Duration::from_micros(1_500)); // rank 98: 90 at 1 ms, then 1.5 ms
        assert_eq!(lat.p99, Duration::from_micros(50_000)); // rank 194 of 195
        assert_eq!(lat.max, Duration::from_micros(50_000));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["latency"]["p50_ms"], 1.5);
    }

    #[test]
    fn no_samples_is_none() {
        let s = summarize(&[round(vec![], 10, 10, 1)]);
        assert_eq!(s.latency, None);
        assert_eq!(s.error_rate, Some(1.0));
        assert_eq!(s.throughput_per_s, Some(0.0));
        let empty = summarize(&[]);
        assert_eq!(empty.error_rate, None);
        assert_eq!(empty.throughput_per_s, None);
    }
}
