//! Statistics: is head slower than base, and how sure are we?
//!
//! Pure functions over measured rounds: no I/O, no clock, no async. The input is, per
//! endpoint, R paired rounds ([`PairedRounds`]); each (round, side) carries the
//! latencies of its successful requests (its HdrHistogram in compact form, see
//! [`RoundObs::from_histogram`]) and its request, error and elapsed-time counters.
//!
//! # Why rounds, not requests
//!
//! Requests are not independent: GC pauses, noisy neighbours and stalls hit bursts of
//! them, and a machine or a cloud drifts over minutes. Pooling requests and treating
//! them as independent understates the noise many times over and produces gates that
//! fail docs-only commits. The unit of replication is therefore the *round*: base and
//! head are measured back to back in each round (BH or HB), so what drifts between
//! rounds hits both sides, and rounds are what gets resampled.
//!
//! # Estimates
//!
//! - Per side ([`SideSummary`]): p50/p95/p99/p99.9 (nearest rank), mean and max of the
//!   merged rounds; error rate `Σ errors / Σ requests`; throughput
//!   `Σ (requests − errors) / Σ elapsed`.
//! - Head vs base ([`compare`]): the ratio head/base of each percentile and of the
//!   throughput, and the difference head − base of the error rate, all from the merged
//!   (pooled) rounds. Ratios are analysed on the log scale. A latency below 1 µs (the
//!   histograms' resolution) counts as 1 µs.
//!
//! # Intervals: the paired round bootstrap
//!
//! With R ≥ 8 usable rounds ([`DEFAULT_MIN_BOOTSTRAP_ROUNDS`]) the standard error comes
//! from a paired bootstrap over rounds (Efron & Tibshirani, *An Introduction to the
//! Bootstrap*, 1993, ch. 6): each of B resamples (2,000 by default) draws R round
//! indices with replacement, the *same* indices for base and head, merges the chosen
//! rounds of each side (a round drawn twice counts twice) and recomputes the log
//! ratio (or difference). The generator is ChaCha8 seeded with
//! [`CompareOptions::seed`] (latency resamples on stream 0; the counters share them,
//! or use stream 1 when their usable rounds differ); the seed is part of the output,
//! so a verdict can be reproduced exactly.
//!
//! The interval is `θ̂ ± t(1 − α/2, ν) · se`, where θ̂ is the pooled estimate and
//! `se = sd(replicates) · √(R/(R−1))`: the bootstrap standard error, with the
//! small-sample correction of Hesterberg ("What teachers should know about the
//! bootstrap", *The American Statistician* 69(4), 2015) for a spread computed with
//! divisor R. This is the "standard" bootstrap interval (Efron & Tibshirani §12.2)
//! with t instead of normal quantiles. Percentile intervals were tried and rejected:
//! the Holm-adjusted levels below go out to tails of α/(2m), beyond what 2,000
//! resamples resolve (at R = 12 and six checks the expanded-percentile tail needs the
//! 0.04th percentile, i.e. no replicate at all), and their extreme order statistics
//! made power erratic. The standard error uses every replicate at any level, and the
//! p-value of a threshold is exact for the interval.
//!
//! The degrees of freedom ν are R − 1, reduced when a few rounds carry the estimate:
//! from the kurtosis κ of the jackknife influence values (the statistic recomputed
//! with each round left out), Satterthwaite's `ν = 2 / (2/(R−1) + (κ−3)/R)`
//! (Satterthwaite, "An approximate distribution of estimates of variance
//! components", *Biometrics Bulletin* 2, 1946, with the variance of a sample variance
//! under kurtosis κ). One stall round driving p99.9 gives κ ≈ R and ν ≈ 2; the
//! interval widens instead of calling a regression on one burst.
//!
//! With 2 ≤ R < 8 usable rounds the standard error comes from the spread of the
//! per-round statistics instead (per-round log ratios of each percentile or of the
//! throughput; per-round error-rate differences): `s/√R`, around the pooled estimate,
//! ν as above from their kurtosis. Below 8 rounds the bootstrap has too few distinct
//! resamples (126 at R = 5, 1,716 at R = 7, 6,435 at R = 8) for a stable spread.
//! With fewer than 2 usable rounds, or a side without data, the result is
//! [`Estimate::NotEnoughData`], never a guess. Latency uses the rounds where both
//! sides have samples; the counters the rounds where both sides sent requests.
//!
//! The p-value of "not worse than threshold c" is the dual of the interval: the
//! smallest α at which the interval lies wholly beyond c,
//! `2 · (1 − F_t((θ̂ − c)/se; ν))`.
//!
//! # Decisions
//!
//! Per check ([`decide`]), with noise floor f (default 2 %, [`DEFAULT_NOISE_FLOOR`]; for
//! the error rate 0.1 percentage points, [`DEFAULT_ERROR_RATE_NOISE_FLOOR`]) and
//! tolerance t (the budget, or f without one), for metrics where higher is worse
//! (mirrored for throughput; differences instead of ratios for the error rate):
//!
//! - **regressed**: the whole (Holm-adjusted) interval is above `1 + f`;
//! - **improved**: the whole (Holm-adjusted) interval is below `1 / (1 + f)`;
//! - **unchanged**: the interval lies inside `[1/(1 + t), 1 + t]`;
//! - **inconclusive**: otherwise.
//!
//! A run checks many endpoint × metric pairs, so both claims — regressed and
//! improved — are controlled family-wise with Holm's step-down procedure (S. Holm,
//! "A simple sequentially rejective multiple test procedure", *Scandinavian
//! Journal of Statistics* 6, 1979), carried out on the intervals: the checks are
//! ranked by the p-value of "within the noise floor" (in the direction the estimate
//! points); rank k of m (from 0) is decided on its interval at confidence
//! `1 − α/(m − k)` and is regressed or improved only if that interval lies wholly
//! beyond the floor on that side; at the first rank that is not, the procedure
//! stops and that check and all after it are decided (unchanged or inconclusive) at
//! that rank's level. Every interval a decision rests on is thus widened to its Holm
//! level, and the family-wise chance of any false claim is at most α, about α/2 in
//! each direction (directional decisions after Holm: J. P. Shaffer, *Annals of
//! Statistics* 8, 1980). The family is whatever the caller passes: the checks that
//! can fail the run.
//!
//! Each decision carries its **minimum detectable effect** ([`Decision::mde`]): the
//! smallest change in the worse direction the run would have called regressed with
//! 80 % power at the check's level, `f + (t(1 − a/2, ν) + t(0.8, ν)) · se`. A run
//! whose MDE exceeds a budget could not have seen a change of the budget's size; its
//! "inconclusive" is stated as such, never a warning.
//!
//! # Which percentiles can be estimated
//!
//! A percentile is judged only where what it is estimated from holds at least ten
//! samples beyond it (p99: 1,000 requests); smaller rounds are pooled into blocks
//! of consecutive round pairs, or the bootstrap judges the merged rounds, and a run
//! with too few requests in all reports it *not estimable at this load*
//! ([`estimable`]).
//!
//! A run looks at its data **sequentially** ([`sequential`]): from a first look after
//! a few rounds, every two rounds, with the error spent over the looks by the
//! Lan–DeMets O'Brien–Fleming function, each check read at its look's boundary
//! ([`decide_with`]), and an endpoint stops being measured once its checks are
//! decided. Looking more often is thus paid for in the boundaries, never "retry
//! until significant". Results files of earlier versions that bought one extension
//! were decided at [`per_look_confidence`] (α split in two, Bonferroni) and are
//! judged again that way.
//!
//! # Sizing
//!
//! [`RECOMMENDED_ROUNDS`] is 24. In the simulations (`tests/stats_simulation.rs`,
//! 2,000 requests per round and side) a true +10 % p99 shift is caught in 77 % of
//! gates at 12 rounds, 93 % at 16, 96 % at 20 and 98–99.7 % at 24; 20 rounds are at
//! the edge of the 95 % target, 24 clear it. A/A gates on p99, errors and throughput
//! never regressed (0 of 1,000); over all six metrics at most 2 of 300 did, at any R
//! from 12 to 30. [`calibrate`] reads an A/A run (base against itself) and returns the
//! round-to-round noise and the rounds needed to detect a given change with a given
//! power (see [`calibrate()`]); on the simulated service it asks for 19.
//!
//! # Why: `Server-Timing` attribution
//!
//! [`attribute`] names the `Server-Timing` entries that explain an endpoint's mean
//! latency change, from paired per-round differences with t intervals (see
//! `attribution.rs` for the rule). It explains; it never decides.
//!
//! # Performance
//!
//! Resamples do not merge histograms: each side's rounds are merged once into
//! value-sorted events with per-round cumulative counts at checkpoints, and a weighted
//! percentile is a short interpolation search over checkpoints plus a walk of a few
//! events (see `bootstrap.rs`). Measured in a release build at 24 rounds of 2,000
//! requests: about 0.25 µs per percentile and side per resample, and about 9 ms for a
//! whole comparison (six metrics, 2,000 resamples); merging one side's 24 histograms
//! with `Histogram::add` and reading four quantiles takes about 1 ms *per resample*.

mod attribution;
mod bootstrap;
mod calibrate;
mod compare;
mod decide;
pub mod estimable;
mod evaluate;
mod input;
mod numeric;
mod sampling;
pub mod sequential;
mod spans;
mod summary;

pub use attribution::{
    attribute, PairedChange, TimingAttribution, TimingCause, TimingPair, TimingRound, MAX_CAUSES,
    MIN_CHANGE_MS, MIN_RELATIVE, MIN_SHARE,
};
pub use calibrate::{
    calibrate, recommend, rounds_needed, CalibrateOptions, Calibration, MetricNoise,
    Recommendation, RoundsNeeded, MAX_ROUNDS, SEQUENTIAL_INFLATION,
};
pub use compare::{
    compare, ChangeEstimate, CompareOptions, EndpointStats, Estimate, Interval, Method,
    MetricStats, NotEnoughData, DEFAULT_MIN_BOOTSTRAP_ROUNDS, DEFAULT_RESAMPLES, MAX_RESAMPLES,
    RECOMMENDED_ROUNDS,
};
pub use decide::{
    decide, decide_with, per_look_confidence, Decision, Finding, Hypothesis, Thresholds,
    DEFAULT_ERROR_RATE_NOISE_FLOOR, DEFAULT_NOISE_FLOOR, MAX_LOOKS, MDE_POWER,
};
pub use input::{
    nearest_rank, quantile_ms, quantile_us, Metric, PairedRounds, Percentile, RoundCounters,
    RoundObs, Scale, StatsError,
};
pub use spans::{
    compare_spans, GroupSums, SpanCause, SpanComparison, SpanHow, SpanPair, SpanRound, SpanRow,
    SpanSums, MAX_CHILDREN,
};
pub use summary::{summarize, LatencySummary, SideSummary};
