//! Verdict: pure rules over the comparison.
//!
//! - **SLOs** are absolute limits on head (`p99 < 500 ms`, `error rate <= 0.1 %`,
//!   `throughput >= 50 req/s`), checked on head's point estimate from all its rounds.
//! - **Budgets** are limits on the change vs base (`p99 +10 %`). A budget *fails*
//!   only when the statistics say "regressed" (the whole confidence interval is past
//!   the noise floor) *and* the estimated change is past the budget; a change past the
//!   budget that the data cannot confirm ("inconclusive") is a *warning*. A point
//!   estimate alone never fails a PR.
//!
//! The verdict is the worst level of all checks; `error` when the run itself failed.
//! In advisory mode the verdict is reported unchanged but never fails the job.

pub mod model;

use serde::{Deserialize, Serialize};

use crate::config::{Budget, Config, Fraction, Mode, Slo};
use crate::cost::Currency;
pub use model::{Change, ChangeKind, ChangeState, EndpointComparison, Metric, MetricComparison};

/// The outcome of a check or of the whole run, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Within every limit.
    Pass,
    /// Worth a look; does not fail the check.
    Warn,
    /// A limit is broken: a blocking gate fails the job.
    Fail,
    /// The run itself failed (deploy, unreachable target): no verdict on the code.
    Error,
}

impl Level {
    /// `pass`, `warn`, `fail`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Pass => "pass",
            Level::Warn => "warn",
            Level::Fail => "fail",
            Level::Error => "error",
        }
    }
}

/// What kind of limit a check enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// An absolute limit on head.
    Slo,
    /// A limit on the change from base to head.
    Budget,
    /// Whether the measurement itself can be trusted (e.g. an open loop that did
    /// not deliver its rate).
    Load,
}

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CheckOnDisk")]
pub struct Check {
    /// The endpoint's name.
    pub endpoint: String,
    /// The metric checked.
    pub metric: Metric,
    /// SLO or budget.
    pub kind: CheckKind,
    /// The outcome.
    pub level: Level,
    /// What the check saw: the numbers behind the outcome (the report words
    /// them, `report::checks`).
    pub observed: Observation,
    /// The check in words (`limit`, `reason`), as the report says it, written
    /// beside `observed` for the results file's readers when the file is written
    /// (`report::checks::word`). tailgate itself never reads them: it words
    /// `observed`.
    #[serde(flatten)]
    pub words: Option<CheckWords>,
}

/// A check's limit and reason in words, as the report says them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckWords {
    /// The limit (`p99 < 500 ms`, `p99 +10 %`).
    pub limit: String,
    /// The numbers behind the outcome, in one line.
    pub reason: String,
}

/// What a check saw, as numbers: the verdict decides on them, the report words
/// them (`p99 287 ms on head breaks the SLO p99 < 250 ms`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Observation {
    /// An SLO: head's value of the metric (`None` when nothing measured it)
    /// against the limit, in the metric's unit (costs in `currency`).
    Slo {
        /// The limit.
        limit: f64,
        /// Head's value.
        head: Option<f64>,
        /// The currency of a cost.
        currency: Currency,
    },
    /// A budget: the change from base to head against the budget (a fraction:
    /// `0.1` for +10 %, points for the error rate, −10 % for throughput).
    Budget {
        /// The budget.
        limit: f64,
        /// Base, head and the change with its interval and state.
        comparison: MetricComparison,
        /// Whether the change's point estimate is past the budget.
        past_budget: bool,
        /// The currency of a cost.
        currency: Currency,
    },
    /// An open loop that fell short of its rate (or left planned requests
    /// unsent) in some rounds.
    ShortLoad {
        /// The rate asked for, requests per second.
        target_rate: f64,
        /// Rounds that fell short.
        short_rounds: usize,
        /// Open-loop rounds in all.
        paced_rounds: usize,
        /// The lowest achieved share of the rate.
        worst: f64,
        /// Planned requests never sent, over the short rounds.
        unsent: u64,
    },
    /// A check of a results file written before checks carried numbers
    /// (schema `tailgate.results/v1`): its limit and reason in words only.
    Words {
        /// The limit in words.
        limit: String,
        /// The reason in words.
        reason: String,
    },
}

/// A check as a results file holds it: `observed` (and its words) since schema
/// v1.1, `limit` and `reason` in words alone before.
#[derive(Deserialize)]
struct CheckOnDisk {
    endpoint: String,
    metric: Metric,
    kind: CheckKind,
    level: Level,
    #[serde(default)]
    observed: Option<Observation>,
    #[serde(default)]
    limit: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

impl TryFrom<CheckOnDisk> for Check {
    type Error = String;

    fn try_from(c: CheckOnDisk) -> Result<Check, String> {
        let (observed, words) = match (c.observed, c.limit, c.reason) {
            (Some(observed), limit, reason) => (
                observed,
                limit
                    .zip(reason)
                    .map(|(limit, reason)| CheckWords { limit, reason }),
            ),
            (None, Some(limit), Some(reason)) => (Observation::Words { limit, reason }, None),
            (None, _, _) => {
                return Err("a check has no `observed` (nor `limit` and `reason`)".into());
            }
        };
        Ok(Check {
            endpoint: c.endpoint,
            metric: c.metric,
            kind: c.kind,
            level: c.level,
            observed,
            words,
        })
    }
}

/// The verdict of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The worst level of all checks, or `error`.
    pub level: Level,
    /// Advisory or blocking.
    pub mode: Mode,
    /// Every check, in endpoint then metric order.
    pub checks: Vec<Check>,
    /// Why the run failed, when `level` is `error`.
    pub error: Option<String>,
}

/// Process exit codes (documented in the README).
pub mod exit {
    /// The gate passed (or warned), or advisory mode.
    pub const PASS: i32 = 0;
    /// The gate failed in blocking mode.
    pub const FAIL: i32 = 1;
    /// Bad config or command-line usage.
    pub const USAGE: i32 = 2;
    /// The run itself failed (deploy, target unreachable, I/O).
    pub const ERROR: i32 = 3;
    /// Interrupted by SIGINT/SIGTERM (after teardown).
    pub const INTERRUPTED: i32 = 130;
}

impl Verdict {
    /// A verdict for a run that failed before it could judge anything.
    pub fn error(mode: Mode, message: impl Into<String>) -> Verdict {
        Verdict {
            level: Level::Error,
            mode,
            checks: Vec::new(),
            error: Some(message.into()),
        }
    }

    /// The exit code a real run gives for this verdict.
    pub fn exit_code(&self) -> i32 {
        match (self.level, self.mode) {
            (Level::Error, _) => exit::ERROR,
            (Level::Fail, Mode::Blocking) => exit::FAIL,
            _ => exit::PASS,
        }
    }

    /// Checks at `level`.
    pub fn at(&self, level: Level) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(move |c| c.level == level)
    }
}

/// Warnings about the measurement itself: open-loop rounds that did not deliver
/// their rate (the generator or the connections could not keep up, so latency may
/// be understated) or left planned requests unsent.
pub fn load_checks(runs: &[crate::bench::EndpointRun]) -> Vec<Check> {
    let mut out = Vec::new();
    for run in runs {
        let paced: Vec<_> = run
            .rounds
            .iter()
            .filter_map(|r| r.pacing.map(|p| (r, p)))
            .collect();
        let short: Vec<_> = paced.iter().filter(|(_, p)| !p.valid).collect();
        if short.is_empty() {
            continue;
        }
        let worst = short
            .iter()
            .map(|(_, p)| p.achieved_rate / p.target_rate)
            .fold(f64::INFINITY, f64::min);
        let unsent: u64 = short.iter().map(|(_, p)| p.unsent).sum();
        out.push(Check {
            endpoint: run.name.clone(),
            metric: Metric::Throughput,
            kind: CheckKind::Load,
            level: Level::Warn,
            observed: Observation::ShortLoad {
                target_rate: short[0].1.target_rate,
                short_rounds: short.len(),
                paced_rounds: paced.len(),
                worst,
                unsent,
            },
            words: None,
        });
    }
    out
}

/// One endpoint's limits, as recorded in the results so that a verdict can be
/// reproduced offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointLimits {
    /// The endpoint's name.
    pub name: String,
    /// Its SLOs (absolute limits on head).
    pub slo: Slo,
    /// Its budgets (limits on the change vs base).
    pub budget: Budget,
    /// The currency costs are counted in.
    #[serde(default = "usd")]
    pub currency: Currency,
}

fn usd() -> Currency {
    Currency::USD
}

/// The limits of every endpoint of `config`.
pub fn limits_of(config: &Config) -> Vec<EndpointLimits> {
    config
        .endpoints
        .iter()
        .map(|e| EndpointLimits {
            name: e.name.clone(),
            slo: e.slo.clone(),
            budget: e.budget.clone(),
            currency: config.cost.currency,
        })
        .collect()
}

/// The same limits without budgets: a release gate has no base to compare with.
pub fn slo_only(limits: &[EndpointLimits]) -> Vec<EndpointLimits> {
    limits
        .iter()
        .map(|l| EndpointLimits {
            budget: Budget::default(),
            ..l.clone()
        })
        .collect()
}

/// Apply every endpoint's SLOs and budgets to the comparison.
pub fn decide(config: &Config, comparisons: &[EndpointComparison]) -> Verdict {
    decide_limits(config.mode, &limits_of(config), comparisons)
}

/// Apply `limits` to the comparison (the pure core of [`decide`]).
pub fn decide_limits(
    mode: Mode,
    limits: &[EndpointLimits],
    comparisons: &[EndpointComparison],
) -> Verdict {
    let mut checks = Vec::new();
    for endpoint in limits {
        let Some(cmp) = comparisons.iter().find(|c| c.endpoint == endpoint.name) else {
            continue;
        };
        slo_checks(&endpoint.name, &endpoint.slo, cmp, &mut checks);
        budget_checks(
            &endpoint.name,
            &endpoint.budget,
            endpoint.currency,
            cmp,
            &mut checks,
        );
    }
    let level = checks.iter().map(|c| c.level).max().unwrap_or(Level::Pass);
    Verdict {
        level,
        mode,
        checks,
        error: None,
    }
}

/// Whether every SLO of `slo` holds on `side` of `cmp` (for base: as if base were
/// head). `None` when `slo` sets no limit.
pub fn slo_holds(slo: &Slo, cmp: &EndpointComparison, side: crate::side::Side) -> Option<bool> {
    let mirrored;
    let cmp = if side == crate::side::Side::Base {
        mirrored = EndpointComparison {
            endpoint: cmp.endpoint.clone(),
            metrics: cmp
                .metrics
                .iter()
                .map(|m| MetricComparison {
                    head: m.base,
                    ..m.clone()
                })
                .collect(),
        };
        &mirrored
    } else {
        cmp
    };
    let mut checks = Vec::new();
    slo_checks(&cmp.endpoint, slo, cmp, &mut checks);
    (!checks.is_empty()).then(|| checks.iter().all(|c| c.level == Level::Pass))
}

fn slo_checks(endpoint: &str, slo: &Slo, cmp: &EndpointComparison, out: &mut Vec<Check>) {
    let latency_limits = [
        (Metric::P50, slo.p50),
        (Metric::P95, slo.p95),
        (Metric::P99, slo.p99),
        (Metric::P999, slo.p999),
    ];
    let mut limits: Vec<(Metric, f64)> = latency_limits
        .into_iter()
        .filter_map(|(m, d)| d.map(|d| (m, d.as_secs_f64() * 1000.0)))
        .collect();
    if let Some(Fraction(rate)) = slo.error_rate {
        limits.push((Metric::ErrorRate, rate));
    }
    if let Some(min) = slo.min_throughput {
        limits.push((Metric::Throughput, min));
    }
    let currency = slo.cost_per_1m.map_or(Currency::USD, |m| m.currency);
    if let Some(max) = slo.cost_per_1m {
        limits.push((Metric::Cost, max.to_f64()));
    }
    for (metric, limit) in limits {
        let head = cmp.get(metric).and_then(|m| m.head);
        let holds = head.is_some_and(|value| match metric {
            Metric::ErrorRate | Metric::Cost => value <= limit,
            Metric::Throughput => value >= limit,
            _ => value < limit,
        });
        out.push(Check {
            endpoint: endpoint.to_string(),
            metric,
            kind: CheckKind::Slo,
            level: if holds { Level::Pass } else { Level::Fail },
            observed: Observation::Slo {
                limit,
                head,
                currency,
            },
            words: None,
        });
    }
}

/// The budget `budget` sets for `metric`, if any: the one lookup of a metric's
/// budget (the comparison, the verdict and `tailgate calibrate` use it).
pub fn budget_for(budget: &Budget, metric: Metric) -> Option<Fraction> {
    match metric {
        Metric::P50 => budget.p50,
        Metric::P95 => budget.p95,
        Metric::P99 => budget.p99,
        Metric::P999 => budget.p999,
        Metric::ErrorRate => budget.error_rate,
        Metric::Throughput => budget.throughput,
        Metric::Cost => budget.cost,
    }
}

fn budget_checks(
    endpoint: &str,
    budget: &Budget,
    currency: Currency,
    cmp: &EndpointComparison,
    out: &mut Vec<Check>,
) {
    for metric in Metric::WITH_COST {
        let limit = budget_for(budget, metric);
        let Some(Fraction(limit)) = limit else {
            continue;
        };
        let Some(m) = cmp.get(metric) else {
            continue;
        };
        let (level, past_budget) = judge_budget(metric, m, limit);
        out.push(Check {
            endpoint: endpoint.to_string(),
            metric,
            kind: CheckKind::Budget,
            level,
            observed: Observation::Budget {
                limit,
                comparison: m.clone(),
                past_budget,
                currency,
            },
            words: None,
        });
    }
}

/// The gated metrics of `cmp` (those with a budget in `limits`) in the given
/// state.
fn gated_in<'a>(
    limits: &[EndpointLimits],
    cmp: &'a EndpointComparison,
    state: ChangeState,
) -> impl Iterator<Item = &'a MetricComparison> {
    let budget = limits
        .iter()
        .find(|l| l.name == cmp.endpoint)
        .map(|l| l.budget.clone())
        .unwrap_or_default();
    cmp.metrics
        .iter()
        .filter(move |m| m.state == state && budget_for(&budget, m.metric).is_some())
}

/// The gated metric an endpoint regressed on (the largest regression), if any.
pub fn regression<'a>(
    limits: &[EndpointLimits],
    cmp: &'a EndpointComparison,
) -> Option<&'a MetricComparison> {
    let size = |m: &MetricComparison| m.change.map_or(0.0, |c| c.relative().abs());
    gated_in(limits, cmp, ChangeState::Regressed).max_by(|a, b| size(a).total_cmp(&size(b)))
}

/// The metric an endpoint improved on, if it did: an endpoint improved when any
/// of its gated latency metrics (those with a budget, decided in the same Holm
/// family as the regressions) improved and none of its gated metrics regressed.
/// The one named is the largest improvement, p99 first on ties.
pub fn improvement<'a>(
    limits: &[EndpointLimits],
    cmp: &'a EndpointComparison,
) -> Option<&'a MetricComparison> {
    if regression(limits, cmp).is_some() {
        return None;
    }
    let size = |m: &MetricComparison| m.change.map_or(0.0, |c| -c.point.ln());
    let order = |m: &MetricComparison| u8::from(m.metric != Metric::P99);
    gated_in(limits, cmp, ChangeState::Improved)
        .filter(|m| m.metric.percentile().is_some())
        .max_by(|a, b| size(a).total_cmp(&size(b)).then(order(b).cmp(&order(a))))
}

/// Whether an endpoint's gated checks are all decided at this look: regressed,
/// improved or unchanged; without data; or a percentile not estimable even if
/// every remaining round came (its rounds are too small for any block). An
/// endpoint without gated checks has nothing to wait for. A gated metric the
/// look has no comparison for is not decided: cost per request is priced after
/// the measuring (from the server's CPU time or the functions' logs), so an
/// endpoint with a cost budget is measured to the most rounds.
pub fn decided(cmp: &EndpointComparison, limits: &[EndpointLimits], most_rounds: u32) -> bool {
    let Some(limit) = limits.iter().find(|l| l.name == cmp.endpoint) else {
        return true;
    };
    Metric::WITH_COST
        .into_iter()
        .filter(|&metric| budget_for(&limit.budget, metric).is_some())
        .all(|metric| {
            cmp.get(metric).is_some_and(|m| match m.state {
                ChangeState::Regressed
                | ChangeState::Improved
                | ChangeState::Unchanged
                | ChangeState::NoData => true,
                ChangeState::NotEstimable => m.not_estimable.is_some_and(|why| {
                    why.per_round.saturating_mul(u64::from(most_rounds)) < why.needed
                }),
                ChangeState::Inconclusive => false,
            })
        })
}

/// A budget's level, and whether the change's point estimate is past it. Only a
/// regression the statistics confirm past the budget fails. A change the data
/// cannot confirm (inconclusive) with its point past the budget warns only when
/// the run could have seen a change of the budget's size — its minimum detectable
/// effect is at most the budget; otherwise the run was too noisy or too short to
/// tell, which the report states under "How this was measured", not as a warning.
/// A percentile the rounds cannot estimate passes (reported as not estimable); a
/// metric without data at all warns.
fn judge_budget(metric: Metric, m: &MetricComparison, limit: f64) -> (Level, bool) {
    if m.state == ChangeState::NotEstimable {
        return (Level::Pass, false);
    }
    let Some(change) = m.change else {
        return (Level::Warn, false);
    };
    // How far past the budget the point estimate is, in the metric's bad direction.
    let past_budget = match (metric, change.kind) {
        (Metric::Throughput, _) => change.point < 1.0 - limit,
        (_, ChangeKind::Ratio) => change.point > 1.0 + limit,
        (_, ChangeKind::Difference) => change.point > limit,
    };
    let could_detect = m.mde.is_none_or(|mde| mde <= limit);
    let level = match (m.state, past_budget) {
        (ChangeState::Regressed, true) => Level::Fail,
        (ChangeState::Inconclusive, true) if could_detect => Level::Warn,
        _ => Level::Pass,
    };
    (level, past_budget)
}

#[cfg(test)]
mod tests;
