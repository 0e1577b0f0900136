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
use crate::format;
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
pub struct Check {
    /// The endpoint's name.
    pub endpoint: String,
    /// The metric checked.
    pub metric: Metric,
    /// SLO or budget.
    pub kind: CheckKind,
    /// The outcome.
    pub level: Level,
    /// The limit in words (`p99 < 500 ms`, `p99 +10 %`).
    pub limit: String,
    /// The numbers behind the outcome, in one line.
    pub reason: String,
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
        let target = short[0].1.target_rate;
        out.push(Check {
            endpoint: run.name.clone(),
            metric: Metric::Throughput,
            kind: CheckKind::Load,
            level: Level::Warn,
            limit: format!("open loop at {} req/s", format::rate(target)),
            reason: format!(
                "the open loop fell short of {} req/s in {} of {} rounds (as low as {} of the rate{}): \
                 latencies may be understated; raise `connections` or lower `rate`",
                format::rate(target),
                short.len(),
                paced.len(),
                format::percent(worst),
                if unsent > 0 {
                    format!(", {unsent} planned requests unsent")
                } else {
                    String::new()
                }
            ),
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

/// `value` of `metric` as people read it (costs in `currency`).
pub fn value_text(metric: Metric, value: f64, currency: Currency) -> String {
    match metric {
        Metric::ErrorRate => format::percent(value),
        Metric::Throughput => format!("{} req/s", format::rate(value)),
        Metric::Cost => format::money(value, currency),
        _ => format::ms(value),
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
        let op = match metric {
            Metric::ErrorRate | Metric::Cost => "≤",
            Metric::Throughput => "≥",
            _ => "<",
        };
        let limit_text = format!("{metric} {op} {}", value_text(metric, limit, currency));
        let head = cmp.get(metric).and_then(|m| m.head);
        let (level, reason) = match head {
            None if metric == Metric::Cost => (
                Level::Fail,
                format!(
                    "{metric}: head's cost could not be measured (SLO {limit_text}); cost is measured for \
                     `local` targets (CPU time) and `cloudformation` stacks (Lambda REPORT lines)"
                ),
            ),
            None => (
                Level::Fail,
                format!("{metric}: head has no successful requests to measure (SLO {limit_text})"),
            ),
            Some(value) => {
                let ok = match metric {
                    Metric::ErrorRate | Metric::Cost => value <= limit,
                    Metric::Throughput => value >= limit,
                    _ => value < limit,
                };
                let verb = if ok { "within" } else { "breaks" };
                (
                    if ok { Level::Pass } else { Level::Fail },
                    format!(
                        "{metric} {} on head {verb} the SLO {limit_text}",
                        value_text(metric, value, currency)
                    ),
                )
            }
        };
        out.push(Check {
            endpoint: endpoint.to_string(),
            metric,
            kind: CheckKind::Slo,
            level,
            limit: limit_text,
            reason,
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
        let limit_text = match metric {
            Metric::Throughput => format!("{metric} −{}", format::percent(limit)),
            Metric::ErrorRate => format!("{metric} +{} points", format::percent(limit)),
            _ => format!("{metric} +{}", format::percent(limit)),
        };
        let (level, reason) = judge_budget(metric, m, limit, &limit_text, currency);
        out.push(Check {
            endpoint: endpoint.to_string(),
            metric,
            kind: CheckKind::Budget,
            level,
            limit: limit_text,
            reason,
        });
    }
}

/// The numbers of a change in one line: `p99 212 ms → 287 ms, +35 % [+28 %, +41 %]`.
pub fn describe_change(m: &MetricComparison) -> String {
    describe_change_in(m, Currency::USD)
}

/// [`describe_change`] with costs in `currency`.
pub fn describe_change_in(m: &MetricComparison, currency: Currency) -> String {
    let base = m
        .base
        .map_or("n/a".into(), |v| value_text(m.metric, v, currency));
    let head = m
        .head
        .map_or("n/a".into(), |v| value_text(m.metric, v, currency));
    match m.change {
        Some(c) => {
            let [point, low, high] = match c.kind {
                ChangeKind::Ratio => format::ratio_change(c.point, c.low, c.high),
                ChangeKind::Difference => [c.point, c.low, c.high]
                    .map(|v| format!("{} points", format::signed_percent(v))),
            };
            format!("{} {base} → {head}, {point} [{low}, {high}]", m.metric)
        }
        None => format!("{} {base} → {head}", m.metric),
    }
}

fn judge_budget(
    metric: Metric,
    m: &MetricComparison,
    limit: f64,
    limit_text: &str,
    currency: Currency,
) -> (Level, String) {
    let numbers = describe_change_in(m, currency);
    let Some(change) = m.change else {
        return (
            Level::Warn,
            format!("{numbers}: not enough data to check the budget {limit_text}"),
        );
    };
    // How far past the budget the point estimate is, in the metric's bad direction.
    let past_budget = match (metric, change.kind) {
        (Metric::Throughput, _) => change.point < 1.0 - limit,
        (_, ChangeKind::Ratio) => change.point > 1.0 + limit,
        (_, ChangeKind::Difference) => change.point > limit,
    };
    match (m.state, past_budget) {
        (ChangeState::Regressed, true) => (
            Level::Fail,
            format!("{numbers}, regressed past the budget {limit_text}"),
        ),
        (ChangeState::Inconclusive, true) => (
            Level::Warn,
            format!("{numbers}: may be past the budget {limit_text}, but the rounds disagree (inconclusive)"),
        ),
        (ChangeState::Regressed, false) => (
            Level::Pass,
            format!("{numbers}: regressed, within the budget {limit_text}"),
        ),
        (state, _) => (
            Level::Pass,
            format!("{numbers}: {}, budget {limit_text}", state.label()),
        ),
    }
}

#[cfg(test)]
mod tests;
