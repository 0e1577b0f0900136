//! Sizing a gate from an A/A run (base measured against itself).
//!
//! Two measures of noise come out of an A/A run, where any difference is noise:
//!
//! - the **round-to-round noise**: the standard deviation of the per-round log ratios
//!   `ln(head_r / base_r)` of each metric;
//! - the **noise per round of the gate's estimate** `σ`: the standard error of the
//!   pooled log ratio (from the same bootstrap the gate uses) times `√R`. This is what
//!   sizes the gate. It is smaller than the round-to-round noise when stalls hit single
//!   rounds: a stall moves one round's p99 a lot, but the merged p99 little.
//!
//! The gate's estimate over R rounds has a standard error of about `σ / √R`, so
//! detecting a true change `δ` beyond the noise floor `f` with power `1 - β` at
//! two-sided level `a` needs the smallest R with
//!
//! ```text
//! √R · Δ / σ  >=  t(1 - a/2, R - 1) + t(1 - β, R - 1),    Δ = ln(1 + δ) - ln(1 + f)
//! ```
//!
//! — the sample-size formula of the one-sample (paired) t-test with the noncentral t
//! approximated by a shifted central t (Chow, Shao & Wang, *Sample Size Calculations
//! in Clinical Research*, 2nd ed., 2008, §3.1–3.2). The level `a` is the run's
//! `1 - confidence` divided by the checks in the Holm family and by the planned looks:
//! the Bonferroni bound on Holm's first step, so the figure is conservative when only
//! one check changes.

use serde::Serialize;

use super::compare::{check_confidence, compare, CompareOptions};
use super::evaluate::round_statistic;
use super::input::{Metric, PairedRounds, StatsError};
use super::numeric::t_quantile;
use crate::side::Side;

/// Give up beyond this many rounds: the change is not detectable in practice.
pub const MAX_ROUNDS: u32 = 10_000;

/// What the calibration is for.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrateOptions {
    /// Family confidence of the gate (`0.95`).
    pub confidence: f64,
    /// Power wanted (`0.95`: a true change of the given size is caught 95 % of the
    /// time).
    pub power: f64,
    /// Noise floor of the checks (relative).
    pub noise_floor: f64,
    /// Checks in the run's Holm family (endpoints × checked metrics), at least 1.
    pub family_size: u32,
    /// Planned looks: 1, or 2 when the gate may extend an inconclusive run.
    pub planned_looks: u32,
    /// Relative changes to size for (`0.05`, `0.10`).
    pub changes: Vec<f64>,
    /// Seed of the bootstrap that measures the estimate's noise.
    pub seed: u64,
    /// Resamples of that bootstrap.
    pub resamples: u32,
}

impl Default for CalibrateOptions {
    fn default() -> Self {
        CalibrateOptions {
            confidence: 0.95,
            power: 0.95,
            noise_floor: super::decide::DEFAULT_NOISE_FLOOR,
            family_size: 1,
            planned_looks: 1,
            changes: vec![0.05, 0.10],
            seed: 0,
            resamples: super::compare::DEFAULT_RESAMPLES,
        }
    }
}

/// Noise and gate size for each ratio metric of an A/A run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// Rounds in the A/A run.
    pub rounds: usize,
    /// Seed of the bootstrap behind `noise_per_round`.
    pub seed: u64,
    /// Per metric.
    pub metrics: Vec<MetricNoise>,
}

/// Round-to-round noise of one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricNoise {
    /// The metric (latency percentiles and throughput).
    pub metric: Metric,
    /// Rounds with data on both sides.
    pub rounds: usize,
    /// Mean per-round log ratio: near 0 in a healthy A/A run; far from 0 means an
    /// order or position effect the interleaving did not cancel.
    pub mean_log_ratio: Option<f64>,
    /// Round-to-round noise: standard deviation of the per-round log ratios; `None`
    /// with fewer than 2 rounds.
    pub sd_log_ratio: Option<f64>,
    /// Noise per round of the gate's estimate: its standard error times `√rounds`;
    /// `None` when it cannot be estimated.
    pub noise_per_round: Option<f64>,
    /// Rounds needed per change (from `noise_per_round`), in the order of
    /// [`CalibrateOptions::changes`].
    pub required: Vec<RoundsNeeded>,
}

/// Rounds needed to detect one change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RoundsNeeded {
    /// The relative change (`0.10` is +10 %).
    pub change: f64,
    /// Rounds per side; `None` when the change is within the noise floor, the noise is
    /// unknown, or more than [`MAX_ROUNDS`] would be needed.
    pub rounds: Option<u32>,
}

impl CalibrateOptions {
    fn validate(&self) -> Result<(), StatsError> {
        check_confidence(self.confidence)?;
        let bad = |name, value: f64, expected| {
            Err(StatsError::InvalidOption {
                name,
                value,
                expected,
            })
        };
        if !(self.power > 0.0 && self.power < 1.0) {
            return bad("power", self.power, "strictly between 0 and 1");
        }
        if !(self.noise_floor.is_finite() && self.noise_floor >= 0.0) {
            return bad(
                "noise_floor",
                self.noise_floor,
                "a finite, non-negative fraction",
            );
        }
        if self.resamples < 2 {
            return bad("resamples", f64::from(self.resamples), "at least 2");
        }
        if self.family_size == 0 {
            return bad("family_size", 0.0, "at least 1");
        }
        if !(1..=super::decide::MAX_LOOKS).contains(&self.planned_looks) {
            return bad("planned_looks", f64::from(self.planned_looks), "1 or 2");
        }
        for &c in &self.changes {
            if !(c.is_finite() && c > 0.0) {
                return bad("changes", c, "positive fractions");
            }
        }
        Ok(())
    }
}

/// Rounds needed to detect a relative `change` given the noise per round `noise` (on
/// the log scale; see the module docs for the formula).
pub fn rounds_needed(
    noise: f64,
    change: f64,
    opts: &CalibrateOptions,
) -> Result<Option<u32>, StatsError> {
    opts.validate()?;
    let delta = change.ln_1p() - opts.noise_floor.ln_1p();
    // NaN deltas and noises fail these comparisons too.
    let usable = delta > 0.0 && noise.is_finite() && noise >= 0.0;
    if !usable {
        return Ok(None);
    }
    let a = (1.0 - opts.confidence) / (f64::from(opts.family_size) * f64::from(opts.planned_looks));
    for r in 2..=MAX_ROUNDS {
        let df = f64::from(r - 1);
        let need = t_quantile(1.0 - a / 2.0, df) + t_quantile(opts.power, df);
        if f64::from(r).sqrt() * delta >= need * noise {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// Measures the noise of an A/A run and sizes the gate for `opts.changes`.
pub fn calibrate(aa: &PairedRounds, opts: &CalibrateOptions) -> Result<Calibration, StatsError> {
    opts.validate()?;
    let base = aa.side(Side::Base);
    let head = aa.side(Side::Head);
    let metrics = [
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::P999,
        Metric::Throughput,
    ];
    let compare_opts = CompareOptions {
        confidence: opts.confidence,
        resamples: opts.resamples,
        seed: opts.seed,
        ..CompareOptions::default()
    };
    let gate = compare(aa, &metrics, &compare_opts)?;
    let mut out = Vec::with_capacity(metrics.len());
    for (metric, comparison) in metrics.into_iter().zip(&gate.metrics) {
        let set = if metric.percentile().is_some() {
            aa.latency_rounds()
        } else {
            aa.count_rounds()
        };
        let ys: Vec<f64> = set
            .iter()
            .map(|&r| round_statistic(metric, &base[r], &head[r]))
            .collect();
        let k = ys.len() as f64;
        let mean = (!ys.is_empty()).then(|| ys.iter().sum::<f64>() / k);
        let sd = mean
            .filter(|_| ys.len() >= 2)
            .map(|m| (ys.iter().map(|y| (y - m) * (y - m)).sum::<f64>() / (k - 1.0)).sqrt())
            .filter(|s| s.is_finite());
        let noise = comparison
            .estimate
            .change()
            .map(|c| c.standard_error * (c.rounds as f64).sqrt())
            .filter(|s| s.is_finite());
        let mut required = Vec::with_capacity(opts.changes.len());
        for &change in &opts.changes {
            let rounds = match noise {
                Some(s) => rounds_needed(s, change, opts)?,
                None => None,
            };
            required.push(RoundsNeeded { change, rounds });
        }
        out.push(MetricNoise {
            metric,
            rounds: ys.len(),
            mean_log_ratio: mean,
            sd_log_ratio: sd,
            noise_per_round: noise,
            required,
        });
    }
    Ok(Calibration {
        rounds: aa.rounds(),
        seed: opts.seed,
        metrics: out,
    })
}

/// What `tailgate calibrate` recommends for a sequential gate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Recommendation {
    /// `compare.rounds`, the most rounds: the fixed design's rounds for the
    /// smallest change, raised by [`SEQUENTIAL_INFLATION`] for the looks.
    pub rounds: u32,
    /// `compare.min_rounds`: the first look.
    pub min_rounds: u32,
    /// The shortest round (seconds) at which a round still estimates p99 on its
    /// own (1,000 requests), from the A/A run's requests per second; `None` when
    /// it served none.
    pub round_seconds: Option<f64>,
}

/// The most rounds of an O'Brien–Fleming design with many looks, as a multiple of
/// the fixed design's: its maximum-sample-size inflation is about 1.02–1.04 for
/// five to twenty looks (C. Jennison and B. W. Turnbull, *Group Sequential
/// Methods*, 2000, ch. 2), rounded up here.
pub const SEQUENTIAL_INFLATION: f64 = 1.05;

/// The sequential settings for a gate that must see a change needing
/// `fixed_rounds` rounds in the fixed design, on a service that served
/// `requests_per_second` (the A/A run's slower side).
pub fn recommend(fixed_rounds: u32, requests_per_second: f64) -> Recommendation {
    let rounds = ((f64::from(fixed_rounds) * SEQUENTIAL_INFLATION).ceil() as u32).max(4);
    let needed = super::estimable::samples_needed(super::input::Percentile::P99) as f64;
    Recommendation {
        rounds,
        min_rounds: 4.min(rounds),
        round_seconds: (requests_per_second > 0.0 && requests_per_second.is_finite())
            .then(|| needed / requests_per_second),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn recommendations_inflate_for_the_looks_and_keep_p99_estimable() {
        let r = recommend(19, 400.0);
        assert_eq!(r.rounds, 20);
        assert_eq!(r.min_rounds, 4);
        assert_eq!(r.round_seconds, Some(2.5));
        assert_eq!(recommend(2, 0.0).rounds, 4);
        assert_eq!(recommend(2, 0.0).round_seconds, None);
    }

    use super::*;

    #[test]
    fn textbook_sample_size() {
        // sigma = delta: the classic paired-t answer for alpha 0.05 two-sided, power
        // 0.95 is n = 16 (z-formula 13.0, plus the t correction).
        let opts = CalibrateOptions {
            noise_floor: 0.0,
            ..CalibrateOptions::default()
        };
        let delta = 0.10_f64.ln_1p();
        assert_eq!(rounds_needed(delta, 0.10, &opts).unwrap(), Some(16));
        // Within the noise floor: never.
        let floor = CalibrateOptions::default();
        assert_eq!(rounds_needed(0.05, 0.02, &floor).unwrap(), None);
        assert_eq!(rounds_needed(0.0, 0.10, &floor).unwrap(), Some(2));
        // More checks in the family, more rounds.
        let family = CalibrateOptions {
            family_size: 6,
            ..CalibrateOptions::default()
        };
        let one = rounds_needed(0.06, 0.10, &floor).unwrap().unwrap();
        let six = rounds_needed(0.06, 0.10, &family).unwrap().unwrap();
        assert!(six > one, "{six} vs {one}");
    }
}
