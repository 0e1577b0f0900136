//! Compare: head vs base per endpoint and metric, from the rounds.
//!
//! This stage turns measured rounds into [`EndpointComparison`]s with the
//! statistics of [`crate::stats`]: per side, point values from the merged rounds;
//! per metric, the change with its interval from the paired bootstrap over rounds
//! (or the t-interval with few rounds); per check, a state decided with Holm's
//! procedure over the whole run.
//!
//! Two families are decided, each with its own Holm correction: the checks that
//! can fail the run (every endpoint x metric with a budget), and the rest (shown in
//! the report, never failing anything). The interval kept with each metric is the
//! one its decision rests on, at the Holm-adjusted confidence level recorded with it.

use std::collections::BTreeMap;

use crate::bench::{EndpointRun, RoundRecord};
use crate::config::{CompareConfig, Fraction};
use crate::judge::verdict::{
    Change, ChangeKind, ChangeState, EndpointComparison, EndpointLimits, Metric, MetricComparison,
};
use crate::side::Side;
use crate::stats::{
    self, CompareOptions, Decision, PairedRounds, RoundCounters, RoundObs, Scale, StatsError,
    Thresholds, DEFAULT_ERROR_RATE_NOISE_FLOOR,
};

/// One side's rounds of one endpoint as the statistics take them, in round order.
fn side_obs(run: &EndpointRun, side: Side) -> Result<Vec<RoundObs>, StatsError> {
    let mut rounds: Vec<&RoundRecord> = run.side(side).collect();
    rounds.sort_by_key(|r| r.round);
    rounds
        .into_iter()
        .map(|r| {
            RoundObs::from_histogram(
                &r.data.latency,
                RoundCounters {
                    requests: r.data.total(),
                    errors: r.data.error_count(),
                    elapsed: r.elapsed,
                },
            )
            .map(|obs| obs.with_cost(r.cost.map(crate::cost::Money::to_f64)))
        })
        .collect()
}

/// The metrics compared for `run`: all of them, cost only where rounds were priced.
fn metrics_of(run: &EndpointRun) -> Vec<Metric> {
    let priced = run.rounds.iter().any(|r| r.cost.is_some());
    Metric::WITH_COST
        .into_iter()
        .filter(|&m| m != Metric::Cost || priced)
        .collect()
}

/// The rounds of one endpoint as the statistics take them (base and head paired by
/// round number).
pub fn paired_rounds(run: &EndpointRun) -> Result<PairedRounds, StatsError> {
    PairedRounds::new(side_obs(run, Side::Base)?, side_obs(run, Side::Head)?)
}

fn thresholds(
    cfg: &CompareConfig,
    endpoint: &str,
    metric: Metric,
    budget: Option<Fraction>,
) -> Thresholds {
    let floor = match metric.scale() {
        Scale::Ratio => cfg.floor_of(endpoint, metric).0,
        Scale::Difference => DEFAULT_ERROR_RATE_NOISE_FLOOR,
    };
    Thresholds::new(floor, budget.map(|b| b.0)).unwrap_or_else(|_| Thresholds::default_for(metric))
}

fn side_value(summary: &stats::SideSummary, metric: Metric) -> Option<f64> {
    match metric.percentile() {
        Some(p) => summary
            .latency
            .map(|l| l.percentile(p).as_secs_f64() * 1000.0),
        None => match metric {
            Metric::ErrorRate => summary.error_rate,
            Metric::Cost => summary.cost_per_1m,
            _ => summary.throughput_per_s,
        },
    }
}

/// The boundaries of a run's looks, computed once per Holm level; the fixed
/// design for a run decided once at the end.
struct SequentialLevels {
    looks: stats::sequential::Looks,
    sequential: bool,
    cache: std::cell::RefCell<Vec<Boundaries>>,
}

/// A Holm level (its bits) and its boundaries for regressed/improved and for
/// unchanged.
type Boundaries = (u64, Vec<f64>, Vec<f64>);

impl SequentialLevels {
    fn new(looks: stats::sequential::Looks, sequential: bool) -> SequentialLevels {
        SequentialLevels {
            looks,
            sequential,
            cache: Default::default(),
        }
    }

    /// Where a check stopped at look `look`, for Holm's level `a`.
    fn stop(&self, a: f64, look: usize) -> stats::sequential::StopLook {
        if !self.sequential {
            return stats::sequential::StopLook::fixed(a);
        }
        let key = a.to_bits();
        let mut cache = self.cache.borrow_mut();
        let i = match cache.iter().position(|(k, ..)| *k == key) {
            Some(i) => i,
            None => {
                cache.push((
                    key,
                    self.looks.boundaries(a),
                    self.looks.unchanged_boundaries(a),
                ));
                cache.len() - 1
            }
        };
        let (_, c, unchanged) = &cache[i];
        self.looks.stop_look(look, a, c, unchanged)
    }
}

/// Why a comparison could not be made at all.
#[derive(Debug, thiserror::Error)]
#[error("comparing `{endpoint}` failed: {source}")]
pub struct CompareError {
    endpoint: String,
    #[source]
    source: StatsError,
}

/// Compare every endpoint's rounds and decide each check. `limits` gives the
/// budgets (matched by name); `seed` makes the bootstrap reproducible.
pub fn compare_all(
    runs: &[EndpointRun],
    limits: &[EndpointLimits],
    cfg: &CompareConfig,
    seed: u64,
) -> Result<Vec<EndpointComparison>, CompareError> {
    let options = CompareOptions {
        confidence: cfg.confidence,
        resamples: cfg.resamples,
        seed,
        ..CompareOptions::default()
    };
    let mut compared = Vec::with_capacity(runs.len());
    for run in runs {
        let err = |source| CompareError {
            endpoint: run.name.clone(),
            source,
        };
        let paired = paired_rounds(run).map_err(err)?;
        let cmp = stats::compare(&paired, &metrics_of(run), &options).map_err(err)?;
        compared.push(cmp);
    }
    // The two Holm families: (endpoint index, metric index) of each check.
    let mut gating = Vec::new();
    let mut display = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let budget = limits
            .iter()
            .find(|e| e.name == run.name)
            .map(|e| e.budget.clone())
            .unwrap_or_default();
        for (j, m) in compared[i].metrics.iter().enumerate() {
            let b = crate::judge::verdict::budget_for(&budget, m.metric);
            let check = stats::Hypothesis {
                comparison: m,
                thresholds: thresholds(cfg, &run.name, m.metric, b),
            };
            if b.is_some() {
                gating.push(((i, j), check));
            } else {
                display.push(((i, j), check));
            }
        }
    }
    // A sequential run reads each endpoint's checks at the look where it stopped
    // (the last planned look its rounds reach): the repeated confidence intervals
    // of `stats::sequential`.
    let looks = cfg.looks();
    let look_of: Vec<usize> = runs
        .iter()
        .map(|run| {
            let n = run
                .side(Side::Base)
                .count()
                .min(run.side(Side::Head).count()) as u32;
            looks.rounds().iter().rposition(|&r| r <= n).unwrap_or(0)
        })
        .collect();
    let levels = SequentialLevels::new(looks, cfg.sequential());
    let mut decisions: BTreeMap<(usize, usize), Decision> = BTreeMap::new();
    for family in [gating, display] {
        let checks: Vec<stats::Hypothesis<'_>> = family.iter().map(|(_, c)| *c).collect();
        let stop_of = |k: usize, a: f64| levels.stop(a, look_of[family[k].0 .0]);
        let decided = stats::decide_with(&checks, cfg.confidence, &stop_of).map_err(|source| {
            CompareError {
                endpoint: "all endpoints".into(),
                source,
            }
        })?;
        for ((key, _), d) in family.iter().zip(decided) {
            decisions.insert(*key, d);
        }
    }

    Ok(runs
        .iter()
        .zip(&compared)
        .enumerate()
        .map(|(i, (run, cmp))| EndpointComparison {
            endpoint: run.name.clone(),
            metrics: cmp
                .metrics
                .iter()
                .enumerate()
                .map(|(j, m)| {
                    let base = side_value(&cmp.base, m.metric);
                    let head = side_value(&cmp.head, m.metric);
                    let decision = decisions.get(&(i, j));
                    let change = m.estimate.change().and_then(|c| {
                        let interval = decision.and_then(|d| d.interval).unwrap_or(c.interval);
                        Some(Change {
                            kind: match c.scale {
                                Scale::Ratio => ChangeKind::Ratio,
                                Scale::Difference => ChangeKind::Difference,
                            },
                            point: c.estimate.is_finite().then_some(c.estimate)?,
                            low: interval.lower.unwrap_or(f64::NEG_INFINITY),
                            high: interval.upper.unwrap_or(f64::INFINITY),
                            confidence: interval.confidence,
                        })
                    });
                    let not_estimable = match m.estimate {
                        stats::Estimate::NotEnoughData(stats::NotEnoughData::NotEstimable {
                            per_round,
                            needed,
                            rounds,
                        }) => Some(stats::estimable::NotEstimable {
                            per_round,
                            needed,
                            rounds,
                        }),
                        _ => None,
                    };
                    let state = match decision.map(|d| d.state) {
                        Some(stats::Finding::Regressed) => ChangeState::Regressed,
                        Some(stats::Finding::Improved) => ChangeState::Improved,
                        Some(stats::Finding::Unchanged) => ChangeState::Unchanged,
                        Some(stats::Finding::Inconclusive) => ChangeState::Inconclusive,
                        Some(stats::Finding::NotEnoughData) | None if not_estimable.is_some() => {
                            ChangeState::NotEstimable
                        }
                        Some(stats::Finding::NotEnoughData) | None => ChangeState::NoData,
                    };
                    MetricComparison {
                        metric: m.metric,
                        base,
                        head,
                        change,
                        state,
                        mde: decision.and_then(|d| d.mde),
                        not_estimable,
                    }
                })
                .collect(),
        })
        .collect())
}

/// A release gate's "comparison": head's values alone, no base, no change.
pub fn head_only(runs: &[EndpointRun]) -> Vec<EndpointComparison> {
    runs.iter()
        .map(|run| {
            let obs = side_obs(run, Side::Head).unwrap_or_default();
            let summary = stats::summarize(&obs);
            EndpointComparison {
                endpoint: run.name.clone(),
                metrics: metrics_of(run)
                    .into_iter()
                    .map(|metric| MetricComparison {
                        metric,
                        base: None,
                        head: side_value(&summary, metric),
                        change: None,
                        state: ChangeState::NoData,
                        mde: None,
                        not_estimable: None,
                    })
                    .collect(),
            }
        })
        .collect()
}
