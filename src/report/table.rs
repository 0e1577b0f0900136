//! The table of endpoints: one row per endpoint, each cell base → head with its
//! change and interval, and the gate cell (the worst of the endpoint's checks).

use serde::Serialize;

use super::escape;
use crate::format;
use crate::judge::verdict::{
    Change, ChangeKind, ChangeState, Check, CheckKind, Level, Metric, MetricComparison,
};
use crate::results::RunResults;

/// One endpoint's row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    /// `GET /orders` (user text, escaped by the template).
    pub name: String,
    /// p50 cell.
    pub p50: String,
    /// p95 cell.
    pub p95: String,
    /// p99 cell.
    pub p99: String,
    /// Error rate cell.
    pub errors: String,
    /// Throughput cell.
    pub rps: String,
    /// Cost per million requests cell (`—` when not priced).
    pub cost: String,
    /// The endpoint's outcome over all its checks: the worst level, the limits it
    /// broke or may break, and its SLOs unless the column header names them.
    pub gate: String,
    /// Whether a check of this endpoint failed or warned (kept in the short view).
    pub attention: bool,
}

pub(super) fn level_icon(level: Level) -> &'static str {
    match level {
        Level::Pass => "✅",
        Level::Warn => "⚠️",
        Level::Fail => "❌",
        Level::Error => "💥",
    }
}

/// A change and its interval as one unbreakable piece (non-breaking spaces), so a
/// narrow table cell never wraps a bracket away from its number.
pub(super) fn interval_text(c: &Change) -> String {
    nbsp(&match c.kind {
        ChangeKind::Ratio => {
            let [point, low, high] = format::ratio_change(c.point, c.low, c.high);
            format!("{point} [{low}, {high}]")
        }
        ChangeKind::Difference => format!(
            "{} [{}, {}] points",
            format::signed_percent(c.point),
            format::signed_percent(c.low),
            format::signed_percent(c.high)
        ),
    })
}

/// A change without its interval: `−65 %`, `×104`, `+0.1 % points`.
pub(super) fn point_text(c: &Change) -> String {
    nbsp(&match c.kind {
        ChangeKind::Ratio => {
            let [point, _, _] = format::ratio_change(c.point, c.low, c.high);
            point
        }
        ChangeKind::Difference => format!("{} points", format::signed_percent(c.point)),
    })
}

/// `s` with its spaces made non-breaking.
pub(super) fn nbsp(s: &str) -> String {
    s.replace(' ', "\u{a0}")
}

pub(super) fn state_icon(m: &MetricComparison, failing: bool, warning: bool) -> &'static str {
    if failing {
        return "❌";
    }
    if warning {
        return "⚠️";
    }
    match m.state {
        ChangeState::Improved => "✅",
        ChangeState::Unchanged => "≈",
        ChangeState::Regressed => "🔺",
        ChangeState::Inconclusive => "❔",
        ChangeState::NoData | ChangeState::NotEstimable => "—",
    }
}

/// The SLO limits every endpoint shares (`p99 < 250 ms, error rate ≤ 0.1 %`), if
/// they all have the same ones, so the table names them once in its header.
pub(super) fn common_slos(results: &RunResults) -> Option<String> {
    let per_endpoint: Vec<Vec<String>> = results
        .comparisons
        .iter()
        .map(|cmp| {
            results
                .verdict
                .checks
                .iter()
                .filter(|c| c.endpoint == cmp.endpoint && c.kind == CheckKind::Slo)
                .map(super::checks::limit)
                .collect()
        })
        .collect();
    let first = per_endpoint.first()?;
    (!first.is_empty() && per_endpoint.iter().all(|l| l == first)).then(|| {
        first
            .iter()
            .map(|l| escape::inline(l))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The gate cell of one endpoint: the worst level over all its checks (SLOs and
/// budgets), the limits that failed or warned, and its SLOs when `with_slos`.
fn gate_cell(checks: &[&Check], with_slos: bool) -> String {
    let Some(worst) = checks.iter().map(|c| c.level).max() else {
        return "—".into();
    };
    let mut parts: Vec<String> = checks
        .iter()
        .filter(|c| c.level == worst && worst >= Level::Warn)
        .map(|c| {
            let kind = match c.kind {
                CheckKind::Slo => "SLO",
                CheckKind::Budget => "budget",
                CheckKind::Load => "load",
            };
            format!("{kind} {}", escape::inline(&super::checks::limit(c)))
        })
        .collect();
    if with_slos && worst < Level::Warn {
        parts.extend(
            checks
                .iter()
                .filter(|c| c.kind == CheckKind::Slo)
                .map(|c| format!("SLO {}", escape::inline(&super::checks::limit(c)))),
        );
    }
    if parts.is_empty() {
        level_icon(worst).to_string()
    } else {
        format!("{} {}", level_icon(worst), parts.join(", "))
    }
}

fn latency_cell(m: Option<&MetricComparison>, checks: &[&Check], interval: bool) -> String {
    change_cell(m, checks, &format::ms_bare, interval)
}

/// `base → head` with the change's state, values shown by `fmt`; with the change's
/// interval when `interval` or when a check of this metric failed or warned (the
/// table keeps to 900 px: the other intervals are in the results file).
fn change_cell(
    m: Option<&MetricComparison>,
    checks: &[&Check],
    fmt: &dyn Fn(f64) -> String,
    interval: bool,
) -> String {
    let Some(m) = m else {
        return "—".into();
    };
    let level = checks
        .iter()
        .filter(|c| c.metric == m.metric)
        .map(|c| c.level)
        .max();
    let icon = state_icon(m, level == Some(Level::Fail), level == Some(Level::Warn));
    let head = m.head.map_or("—".into(), |v| nbsp(&fmt(v)));
    let Some(base) = m.base else {
        // A release gate: head alone.
        return head;
    };
    let base = nbsp(&fmt(base));
    let interval = interval || level.is_some_and(|l| l >= Level::Warn);
    match &m.change {
        Some(c) if interval => format!("{base} → {head}<br>{icon}\u{a0}{}", interval_text(c)),
        Some(c) => format!("{base} → {head}<br>{icon}\u{a0}{}", point_text(c)),
        None => format!("{base} → {head}"),
    }
}

/// `base → head`, or head alone when there is no base (a release gate).
fn pair_cell(m: &MetricComparison, fmt: fn(f64) -> String) -> String {
    let head = m.head.map_or("—".into(), |v| nbsp(&fmt(v)));
    match m.base {
        Some(base) => format!("{} → {head}", nbsp(&fmt(base))),
        None => head,
    }
}

/// Throughput `base → head`, marked when it moved: 🔻 fell, 🔼 rose (with the
/// change and its interval), so a collapse of req/s is seen even though no budget
/// gates it.
fn rate_cell(m: &MetricComparison) -> String {
    let pair = pair_cell(m, format::rate);
    match (&m.change, m.state) {
        (Some(c), ChangeState::Improved | ChangeState::Regressed) => {
            let fell = match c.kind {
                ChangeKind::Ratio => c.point < 1.0,
                ChangeKind::Difference => c.point < 0.0,
            };
            let icon = if fell { "🔻" } else { "🔼" };
            format!("{pair}<br>{icon}\u{a0}{}", point_text(c))
        }
        _ => pair,
    }
}

/// One row per endpoint: the gate cell, each metric base → head with its change.
pub(super) fn endpoint_rows(results: &RunResults, with_slos: bool) -> Vec<EndpointRow> {
    let verdict = &results.verdict;
    let currency = results
        .cost
        .as_ref()
        .map(|c| c.currency)
        .or_else(|| results.limits.first().map(|l| l.currency))
        .unwrap_or(crate::cost::Currency::USD);
    let mut endpoints = Vec::new();
    for cmp in &results.comparisons {
        let checks: Vec<&Check> = verdict
            .checks
            .iter()
            .filter(|c| c.endpoint == cmp.endpoint)
            .collect();
        let gate = gate_cell(&checks, with_slos);
        let budget_checks: Vec<&Check> = checks
            .iter()
            .copied()
            .filter(|c| c.kind == CheckKind::Budget)
            .collect();
        let errors = cmp
            .get(Metric::ErrorRate)
            .map_or("—".into(), |m| pair_cell(m, format::percent));
        let rps = cmp.get(Metric::Throughput).map_or("—".into(), rate_cell);
        let cost = change_cell(
            cmp.get(Metric::Cost),
            &budget_checks,
            &|v| format::money(v, currency),
            false,
        );
        endpoints.push(EndpointRow {
            name: escape::cell_code(&cmp.endpoint),
            p50: latency_cell(cmp.get(Metric::P50), &budget_checks, false),
            p95: latency_cell(cmp.get(Metric::P95), &budget_checks, false),
            p99: latency_cell(cmp.get(Metric::P99), &budget_checks, true),
            errors,
            rps,
            cost,
            gate,
            attention: checks.iter().any(|c| c.level >= Level::Warn),
        });
    }

    endpoints
}
