//! Head vs base per metric: a point estimate and a confidence interval from the paired
//! round bootstrap (or the t fallback for few rounds).

use serde::Serialize;

use super::bootstrap::{Resampler, Weights};
use super::estimable::{self, Blocking};
use super::evaluate::{jackknife_df, per_round_se, round_statistic, Evaluator, SideData, Sums};
use super::input::{Metric, PairedRounds, Scale, StatsError};
use super::sampling::{satterthwaite_df, Moments, Sampling};
use super::summary::{summarize_indexed, SideSummary};
use crate::side::Side;

/// Resamples by default; the issue asks for at least 2,000.
pub const DEFAULT_RESAMPLES: u32 = 2_000;

/// Rounds per side recommended for a gate: with the default 5 s rounds (2,000 or more
/// requests per round and side for a service around 20 ms), 2 % round-to-round noise,
/// drift and stalls, 24 rounds catch a true +10 % p99 shift in at least 95 % of runs
/// at a 2 % noise floor, with room to spare (20 rounds are at the edge; see
/// `tests/stats_simulation.rs`). Run [`calibrate`](crate::stats::calibrate()) to size a
/// noisier or quieter service.
pub const RECOMMENDED_ROUNDS: usize = 24;

/// Below this many usable rounds the standard error comes from the spread of the
/// per-round values (a t-interval) instead of the bootstrap. With R rounds the
/// bootstrap has only `C(2R-1, R)` distinct resamples (126 at R = 5, 1,716 at R = 7,
/// 6,435 at R = 8): below 8 its spread is a coarse, unstable estimate of a nonlinear
/// statistic's standard error, while the t-interval on per-round log ratios is exact
/// when they are normal and says honestly how few degrees of freedom there are.
pub const DEFAULT_MIN_BOOTSTRAP_ROUNDS: usize = 8;

/// How to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// Two-sided confidence level of the reported intervals, in (0, 1).
    pub confidence: f64,
    /// Bootstrap resamples (at least 2; use 2,000 or more to decide).
    pub resamples: u32,
    /// Seed of the ChaCha8 generator; recorded in the output.
    pub seed: u64,
    /// Use the bootstrap from this many usable rounds on, the t-interval below
    /// (at least 3).
    pub min_bootstrap_rounds: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            confidence: 0.95,
            resamples: DEFAULT_RESAMPLES,
            seed: 0,
            min_bootstrap_rounds: DEFAULT_MIN_BOOTSTRAP_ROUNDS,
        }
    }
}

/// The most bootstrap resamples a comparison runs (the config allows as many).
pub const MAX_RESAMPLES: u32 = 1_000_000;

impl CompareOptions {
    fn validate(&self) -> Result<(), StatsError> {
        check_confidence(self.confidence)?;
        if self.resamples < 2 {
            return Err(StatsError::InvalidOption {
                name: "resamples",
                value: f64::from(self.resamples),
                expected: "at least 2 (2,000 or more to decide)",
            });
        }
        // A results file from outside may ask for billions: bounded work.
        if self.resamples > MAX_RESAMPLES {
            return Err(StatsError::InvalidOption {
                name: "resamples",
                value: f64::from(self.resamples),
                expected: "at most 1,000,000",
            });
        }
        if self.min_bootstrap_rounds < 3 {
            return Err(StatsError::InvalidOption {
                name: "min_bootstrap_rounds",
                value: self.min_bootstrap_rounds as f64,
                expected: "at least 3",
            });
        }
        Ok(())
    }
}

pub(crate) fn check_confidence(confidence: f64) -> Result<(), StatsError> {
    if confidence > 0.0 && confidence < 1.0 {
        Ok(())
    } else {
        Err(StatsError::InvalidOption {
            name: "confidence",
            value: confidence,
            expected: "strictly between 0 and 1",
        })
    }
}

/// Head vs base for one endpoint: both sides' summaries and one comparison per metric.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointStats {
    /// Rounds per side.
    pub rounds: usize,
    /// Confidence level of the intervals in `metrics`.
    pub confidence: f64,
    /// Bootstrap resamples.
    pub resamples: u32,
    /// Seed of the resampling; the same input, options and seed give the same result.
    pub seed: u64,
    /// What base measured.
    pub base: SideSummary,
    /// What head measured.
    pub head: SideSummary,
    /// One entry per requested metric, in request order.
    pub metrics: Vec<MetricStats>,
}

impl EndpointStats {
    /// The comparison of one metric, if it was requested.
    pub fn metric(&self, metric: Metric) -> Option<&MetricStats> {
        self.metrics.iter().find(|m| m.metric == metric)
    }
}

/// Head vs base for one metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricStats {
    /// The metric.
    pub metric: Metric,
    /// The estimated change, or why there is none.
    pub estimate: Estimate,
}

/// An estimated change, or the explicit absence of one.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimate {
    /// The change with its interval.
    Change(ChangeEstimate),
    /// Nothing can be said; never replaced by a guess.
    NotEnoughData(NotEnoughData),
}

impl Estimate {
    /// The change, when there is one.
    pub fn change(&self) -> Option<&ChangeEstimate> {
        match self {
            Estimate::Change(c) => Some(c),
            Estimate::NotEnoughData(_) => None,
        }
    }
}

/// Why a metric could not be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum NotEnoughData {
    /// A side has no data for this metric at all (no successful request for latency,
    /// no request for error rate and throughput).
    NoSamples {
        /// The side without data.
        side: Side,
    },
    /// The rounds hold too few requests to estimate this percentile, even pooled
    /// into blocks ([`crate::stats::estimable`]): judged neither way.
    NotEstimable {
        /// Successful requests in a typical round.
        per_round: u64,
        /// Samples a round (or block) needs for this percentile.
        needed: u64,
        /// Rounds per side measured.
        rounds: usize,
    },
    /// Fewer rounds than an interval needs have data on both sides.
    TooFewRounds {
        /// Rounds with data on both sides.
        usable: usize,
        /// Rounds needed.
        needed: usize,
    },
}

/// How an interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Standard error from the paired bootstrap over rounds, t quantiles.
    PairedBootstrap,
    /// Standard error from the spread of per-round values, t quantiles (few rounds).
    StudentT,
}

/// A two-sided confidence interval on the metric's scale (a ratio head/base, or a
/// difference head − base). A missing bound is unbounded (degenerate data, such as a
/// side whose throughput is zero in some resamples).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Confidence level.
    pub confidence: f64,
    /// Lower bound.
    pub lower: Option<f64>,
    /// Upper bound.
    pub upper: Option<f64>,
}

/// The change of one metric from base to head.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeEstimate {
    /// Ratio or difference.
    pub scale: Scale,
    /// Point estimate from all usable rounds: ratio of the merged values, or
    /// difference of the pooled error rates. A throughput ratio is 0 when head served
    /// nothing and infinite (serialised as `null`) when base served nothing.
    pub estimate: f64,
    /// The interval at the comparison's confidence level (not adjusted for multiple
    /// checks; see [`crate::stats::decide`] for the adjusted one).
    pub interval: Interval,
    /// How the interval was computed.
    pub method: Method,
    /// Units with data on both sides that went into it: rounds, or blocks of
    /// `block` rounds.
    pub rounds: usize,
    /// Rounds per unit: 1, or the block size a percentile needed
    /// ([`crate::stats::estimable`]).
    pub block: usize,
    /// Degrees of freedom of the t quantiles: `rounds - 1`, reduced (Satterthwaite)
    /// when a few rounds carry the estimate, e.g. a stall dominating p99.9.
    pub degrees_of_freedom: f64,
    /// Standard error on the analysis scale (of the log ratio, or of the
    /// difference); infinite when undefined (serialised as `null`).
    pub standard_error: f64,
    #[serde(skip)]
    sampling: Sampling,
}

impl ChangeEstimate {
    fn new(
        metric: Metric,
        method: Method,
        confidence: f64,
        rounds: usize,
        sampling: Sampling,
    ) -> ChangeEstimate {
        let scale = metric.scale();
        let point = sampling.center;
        let mut change = ChangeEstimate {
            scale,
            estimate: match scale {
                Scale::Ratio => point.exp(),
                Scale::Difference => point,
            },
            interval: Interval {
                confidence,
                lower: None,
                upper: None,
            },
            method,
            rounds,
            block: 1,
            degrees_of_freedom: sampling.df,
            standard_error: sampling.se,
            sampling,
        };
        change.interval = change.interval_at(confidence);
        change
    }

    /// The interval at another confidence level (same standard error).
    pub fn interval_at(&self, confidence: f64) -> Interval {
        let (lo, hi) = self.sampling.bounds(confidence);
        let to_scale = |x: f64| {
            let v = match self.scale {
                Scale::Ratio => x.exp(),
                Scale::Difference => x,
            };
            v.is_finite().then_some(v)
        };
        Interval {
            confidence,
            lower: to_scale(lo),
            upper: to_scale(hi),
        }
    }

    /// `(lower, upper)` on the analysis scale (log ratio or difference), infinite
    /// where unbounded.
    pub(crate) fn analysis_bounds(&self, confidence: f64) -> (f64, f64) {
        self.sampling.bounds(confidence)
    }

    /// The p-value (as a two-sided level: the smallest `1 - confidence` at which the
    /// interval excludes `threshold`) for "not beyond `threshold`", on the analysis
    /// scale: `θ <= threshold` if `upward`, else `θ >= threshold`.
    pub(crate) fn p_value(&self, threshold: f64, upward: bool) -> f64 {
        self.sampling.p_value(threshold, upward)
    }
}

#[cfg(test)]
impl MetricStats {
    /// A comparison with a given centre, standard error and degrees of freedom on the
    /// analysis scale, for tests of the decisions.
    pub(crate) fn synthetic(metric: Metric, center: f64, se: f64, df: f64) -> MetricStats {
        let sampling = Sampling { center, se, df };
        MetricStats {
            metric,
            estimate: Estimate::Change(ChangeEstimate::new(
                metric,
                Method::PairedBootstrap,
                0.95,
                df as usize + 1,
                sampling,
            )),
        }
    }
}

/// Compares head with base on `metrics` for one endpoint.
///
/// Latency metrics use the rounds where both sides recorded samples; error rate and
/// throughput the rounds where both sides sent requests and measured time. Each
/// resample draws round indices once and applies them to both sides (paired) and to
/// every metric on the same set of rounds. A percentile that a single round cannot
/// estimate is compared over blocks of consecutive rounds, or reported
/// [`NotEnoughData::NotEstimable`] ([`crate::stats::estimable`]).
pub fn compare(
    rounds: &PairedRounds,
    metrics: &[Metric],
    opts: &CompareOptions,
) -> Result<EndpointStats, StatsError> {
    opts.validate()?;
    // Metrics by the units they are compared on: rounds (block 1) or blocks.
    let mut out: Vec<Option<MetricStats>> = vec![None; metrics.len()];
    let mut by_block: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, &m) in metrics.iter().enumerate() {
        let size = match m
            .percentile()
            .map(|p| estimable::blocking(rounds, p, opts.min_bootstrap_rounds))
        {
            None => 1,
            Some(Blocking::Rounds(size)) => size,
            Some(Blocking::NotEstimable(why)) => {
                out[i] = Some(MetricStats {
                    metric: m,
                    estimate: Estimate::NotEnoughData(NotEnoughData::NotEstimable {
                        per_round: why.per_round,
                        needed: why.needed,
                        rounds: why.rounds,
                    }),
                });
                continue;
            }
        };
        match by_block.iter_mut().find(|(s, _)| *s == size) {
            Some((_, list)) => list.push(i),
            None => by_block.push((size, vec![i])),
        }
    }
    by_block.sort_by_key(|(size, _)| *size);
    let mut whole = None;
    for (size, list) in &by_block {
        let subset: Vec<Metric> = list.iter().map(|&i| metrics[i]).collect();
        let compared = if *size == 1 {
            compare_units(rounds, &subset, opts)
        } else {
            let mut c = compare_units(&estimable::into_blocks(rounds, *size), &subset, opts);
            for m in &mut c.metrics {
                if let Estimate::Change(change) = &mut m.estimate {
                    change.block = *size;
                }
            }
            c
        };
        for (&i, m) in list.iter().zip(compared.metrics.iter()) {
            out[i] = Some(m.clone());
        }
        if *size == 1 {
            whole = Some(compared);
        }
    }
    // The sides' summaries always come from the rounds themselves.
    let mut stats = match whole {
        Some(w) => w,
        None => compare_units(rounds, &[], opts),
    };
    stats.metrics = out.into_iter().flatten().collect();
    Ok(stats)
}

/// [`compare`] on given units (rounds or blocks), every metric estimable.
fn compare_units(
    rounds: &PairedRounds,
    metrics: &[Metric],
    opts: &CompareOptions,
) -> EndpointStats {
    let n = rounds.rounds();
    let base = SideData::new(rounds.side(Side::Base));
    let head = SideData::new(rounds.side(Side::Head));
    let eval = Evaluator {
        base: &base,
        head: &head,
    };
    let latency_set: Vec<u32> = rounds
        .latency_rounds()
        .into_iter()
        .map(|r| r as u32)
        .collect();
    let count_set: Vec<u32> = rounds
        .count_rounds()
        .into_iter()
        .map(|r| r as u32)
        .collect();
    let cost_set: Vec<u32> = rounds.cost_rounds().into_iter().map(|r| r as u32).collect();
    let set_of = |m: Metric| {
        if m.percentile().is_some() {
            &latency_set
        } else if m == Metric::Cost {
            &cost_set
        } else {
            &count_set
        }
    };

    // Per metric: Err(why not), Ok(method).
    let plans: Vec<Result<Method, NotEnoughData>> = metrics
        .iter()
        .map(|&m| plan(m, &base, &head, set_of(m).len(), opts))
        .collect();

    // Bootstrap moments, resamples shared between metrics on the same round set.
    let boot: Vec<Metric> = metrics
        .iter()
        .zip(&plans)
        .filter(|(_, p)| **p == Ok(Method::PairedBootstrap))
        .map(|(&m, _)| m)
        .collect();
    let mut moments = vec![Moments::default(); boot.len()];
    if !boot.is_empty() {
        // One joint resample when both kinds of metric use the same rounds (stream 0),
        // else the counters resample their own rounds on stream 1.
        let any_latency = boot.iter().any(|m| m.percentile().is_some());
        let any_counter = boot.iter().any(|m| m.percentile().is_none());
        let shared = any_latency && latency_set == count_set;
        let mut lat_rs = Resampler::new(opts.seed, 0);
        let mut cnt_rs = Resampler::new(opts.seed, 1);
        let mut lat_w = Weights::subset(n, &latency_set);
        let mut cnt_w = Weights::subset(n, &count_set);
        for _ in 0..opts.resamples {
            let samples = if any_latency {
                lat_rs.draw(&mut lat_w, &latency_set);
                eval.samples(&lat_w)
            } else {
                (0, 0)
            };
            let sums = if shared {
                eval.sums(&lat_w)
            } else if any_counter {
                cnt_rs.draw(&mut cnt_w, &count_set);
                eval.sums(&cnt_w)
            } else {
                (Sums::default(), Sums::default())
            };
            for (i, &m) in boot.iter().enumerate() {
                let x = match m.percentile() {
                    Some(p) => eval.latency(&lat_w, samples, p),
                    None => Evaluator::counter(m, sums),
                };
                moments[i].push(x);
            }
        }
    }

    let mut moments = moments.into_iter();
    let mut out = Vec::with_capacity(metrics.len());
    for (&metric, p) in metrics.iter().zip(plans) {
        let estimate = match p {
            Err(reason) => Estimate::NotEnoughData(reason),
            Ok(method) => {
                let set = set_of(metric);
                let r = set.len() as f64;
                let center = eval.statistic(metric, &Weights::subset(n, set));
                let se = match method {
                    // The bootstrap spread has divisor R; sqrt(R / (R - 1)) restores the
                    // usual s / sqrt(R) scale (Hesterberg 2015).
                    Method::PairedBootstrap => {
                        let sd = moments.next().map_or(f64::INFINITY, |m| m.sd());
                        sd * (r / (r - 1.0)).sqrt()
                    }
                    Method::StudentT => per_round_se(metric, &base, &head, set),
                };
                let df = match method {
                    Method::PairedBootstrap => jackknife_df(metric, &eval, n, set),
                    Method::StudentT => {
                        let ys: Vec<f64> = set
                            .iter()
                            .map(|&r| {
                                round_statistic(
                                    metric,
                                    &base.rounds[r as usize],
                                    &head.rounds[r as usize],
                                )
                            })
                            .collect();
                        satterthwaite_df(&ys)
                    }
                };
                let sampling = Sampling { center, se, df };
                let change =
                    ChangeEstimate::new(metric, method, opts.confidence, set.len(), sampling);
                Estimate::Change(change)
            }
        };
        out.push(MetricStats { metric, estimate });
    }

    EndpointStats {
        rounds: n,
        confidence: opts.confidence,
        resamples: opts.resamples,
        seed: opts.seed,
        base: summarize_indexed(base.rounds, &base.latency),
        head: summarize_indexed(head.rounds, &head.latency),
        metrics: out,
    }
}

/// Whether `metric` can be compared, and how.
fn plan(
    metric: Metric,
    base: &SideData,
    head: &SideData,
    usable: usize,
    opts: &CompareOptions,
) -> Result<Method, NotEnoughData> {
    for (side, data) in [(Side::Base, base), (Side::Head, head)] {
        let has_data = if metric.percentile().is_some() {
            data.latency.totals().iter().any(|&t| t > 0)
        } else if metric == Metric::Cost {
            data.has_cost()
        } else {
            data.requests.iter().any(|&r| r > 0.0)
        };
        if !has_data {
            return Err(NotEnoughData::NoSamples { side });
        }
    }
    if usable < 2 {
        return Err(NotEnoughData::TooFewRounds { usable, needed: 2 });
    }
    Ok(if usable >= opts.min_bootstrap_rounds {
        Method::PairedBootstrap
    } else {
        Method::StudentT
    })
}
