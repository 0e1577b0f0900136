//! The view model: every string the templates print, computed here in plain Rust so
//! the templates stay simple and the numbers are formatted in one place.

use serde::Serialize;

use super::checks::describe_change;
use super::escape;
use super::why::{why, Direction, WhyView};
use crate::bench::EndpointRun;
use crate::format;
use crate::judge::verdict::{
    Change, ChangeKind, ChangeState, Check, CheckKind, EndpointComparison, Level, Metric,
    MetricComparison,
};
use crate::results::RunResults;
use crate::side::Side;

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    /// The one-line decision.
    pub headline: Headline,
    /// Why, in a few sentences: failures first, then improvements.
    pub findings: Vec<FindingView>,
    /// One row per endpoint.
    pub endpoints: Vec<EndpointRow>,
    /// p99 base vs head, for a Mermaid bar chart.
    pub chart: Option<ChartView>,
    /// Ladder endpoints: the highest step their SLOs hold on, base vs head.
    pub ladders: Vec<super::ladder::LadderRow>,
    /// p99 over the history branch's last runs, per endpoint.
    pub trend: Option<super::history::TrendView>,
    /// `Server-Timing` breakdown.
    pub timings: Vec<TimingRow>,
    /// Where the time went by span, for the endpoints with a finding, when the
    /// run received traces (`traces:`).
    pub traces: Option<super::traces::TracesView>,
    /// Whether any endpoint was priced (the table gets a cost column).
    pub has_cost: bool,
    /// The server's side of the run (Lambda REPORT lines, cost, X-Ray, hints) as a
    /// view of formatted, escaped strings (`templates/server_side.md.j2`), when
    /// there is one.
    pub server_side: Option<super::server_side::ServerSideView>,
    /// The summary line of the server-side details.
    pub server_summary: String,
    /// The failing and warning checks (passes are only counted).
    pub checks: Vec<CheckRow>,
    /// How many checks passed.
    pub checks_passed: usize,
    /// The SLOs every endpoint shares (`p99 < 250 ms, error rate ≤ 0.1 %`), named
    /// once under the table instead of in every row.
    pub common_slos: Option<String>,
    /// The run's confidence level, `95 %`.
    pub confidence: String,
    /// How the numbers were obtained, in one paragraph.
    pub method: String,
    /// Where the gating config came from and what the PR changes in it.
    pub config: Option<super::details::ConfigView>,
    /// Links to the run and the results.
    pub links: String,
    /// Footer facts.
    pub footer: String,
    /// The hidden upsert marker.
    pub marker: String,
    /// Set on the short view: what was left out to fit GitHub's limit.
    pub shortened: Option<String>,
    /// A merged run of shards: how many, how together, the load at once.
    pub sharded: Option<String>,
    /// One shard's report (`tailgate run --shard I/N`): it judges only its share.
    pub shard_note: Option<String>,
    /// Right-sizing: head per value of a swept template parameter.
    pub rightsizing: Option<super::rightsizing::RightsizingView>,
}

/// One finding: a line of the report's opening, with the `Server-Timing` entries
/// that explain it under it (an endpoint's first finding only).
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    /// The line (formatted and escaped).
    pub text: String,
    /// Why the endpoint moved, when its `Server-Timing` entries say.
    pub why: Option<WhyView>,
}

impl FindingView {
    /// A line with no Why under it.
    pub fn line(text: String) -> FindingView {
        FindingView { text, why: None }
    }
}

/// The decision in one line.
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// An emoji a reviewer sees from across the room.
    pub emoji: String,
    /// `1 regression blocks this PR`.
    pub text: String,
    /// `pass`, `warn`, `fail`, `error`.
    pub level: String,
}

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

/// Data of the p99 chart: one bar per endpoint, head's p99 as a multiple of
/// base's (1 = unchanged), and a line at 1, so a regression is a bar above the
/// line and an improvement one below it whatever the endpoints' absolute
/// latencies are, and no series can hide another.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    /// Endpoint names (escaped for Mermaid).
    pub labels: Vec<String>,
    /// Head p99 ÷ base p99 per endpoint.
    pub ratios: Vec<String>,
    /// The reference line: 1 per endpoint.
    pub unchanged: Vec<String>,
    /// Top of the y axis.
    pub max: String,
}

/// One `Server-Timing` metric of one endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct TimingRow {
    /// Endpoint name.
    pub endpoint: String,
    /// Metric name.
    pub metric: String,
    /// Mean per request on base (`—` when absent).
    pub base: String,
    /// Mean per request on head.
    pub head: String,
    /// Set when this part's mean exceeds the endpoint's `total` on a side: the
    /// server's own numbers disagree, and the report says so.
    pub note: String,
}

/// One check, for the details list.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    /// ✅ ⚠️ ❌.
    pub icon: String,
    /// `SLO` or `budget`.
    pub kind: String,
    /// Endpoint name.
    pub endpoint: String,
    /// The reason text.
    pub reason: String,
}

fn level_icon(level: Level) -> &'static str {
    match level {
        Level::Pass => "✅",
        Level::Warn => "⚠️",
        Level::Fail => "❌",
        Level::Error => "💥",
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Mean `Server-Timing` duration per response of one side, by metric name: every
/// metric over the same denominator (all responses, counting 0 where a response
/// did not carry it), so parts and their total are comparable.
fn timing_means(run: &EndpointRun, side: Side) -> Vec<(String, f64)> {
    let merged = run.merged(side);
    let responses: u64 = merged.statuses.values().sum();
    if responses == 0 {
        return Vec::new();
    }
    merged
        .server_timing
        .iter()
        .map(|(name, sum)| (name.clone(), sum.total_ms / responses as f64))
        .collect()
}

/// One line per gated percentile the rounds could not estimate, naming its
/// endpoints: not a warning (the check passes), but a gate that judged nothing on
/// that percentile must say so where the reviewer looks, not only in the details.
fn not_judged(verdict: &crate::judge::verdict::Verdict) -> Vec<String> {
    let mut by_metric: Vec<(Metric, Vec<&str>, u64, u64)> = Vec::new();
    for check in &verdict.checks {
        let crate::judge::verdict::Observation::Budget { comparison: m, .. } = &check.observed
        else {
            continue;
        };
        let Some(why) = m.not_estimable else {
            continue;
        };
        match by_metric
            .iter_mut()
            .find(|(metric, ..)| *metric == m.metric)
        {
            Some((_, names, per_round, _)) => {
                names.push(&check.endpoint);
                *per_round = (*per_round).max(why.per_round);
            }
            None => by_metric.push((m.metric, vec![&check.endpoint], why.per_round, why.needed)),
        }
    }
    by_metric
        .into_iter()
        .map(|(metric, names, per_round, needed)| {
            let names: Vec<String> = names
                .iter()
                .map(|n| format!("`{}`", escape::code(n)))
                .collect();
            format!(
                "ℹ️ {metric} is not judged on {}: rounds of about {} requests are too few to estimate it \
                 ({}); raise the rate or the round's duration.",
                names.join(", "),
                format::thousands(per_round),
                super::details::estimable_rule(needed)
            )
        })
        .collect()
}

/// A change and its interval as one unbreakable piece (non-breaking spaces), so a
/// narrow table cell never wraps a bracket away from its number.
fn interval_text(c: &Change) -> String {
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
fn point_text(c: &Change) -> String {
    nbsp(&match c.kind {
        ChangeKind::Ratio => {
            let [point, _, _] = format::ratio_change(c.point, c.low, c.high);
            point
        }
        ChangeKind::Difference => format!("{} points", format::signed_percent(c.point)),
    })
}

/// `s` with its spaces made non-breaking.
fn nbsp(s: &str) -> String {
    s.replace(' ', "\u{a0}")
}

fn state_icon(m: &MetricComparison, failing: bool, warning: bool) -> &'static str {
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

/// A ratio for the chart: two decimals below 10, whole numbers above.
fn chart_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.2}")
    }
}

/// The SLO limits every endpoint shares (`p99 < 250 ms, error rate ≤ 0.1 %`), if
/// they all have the same ones, so the table names them once in its header.
fn common_slos(results: &RunResults) -> Option<String> {
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

/// The decision in one line: the verdict's level, or the acceptance of a failing one.
fn headline(
    results: &RunResults,
    failing: &[&Check],
    warnings: &[&Check],
    improved: &[(&EndpointComparison, &MetricComparison)],
) -> Headline {
    let verdict = &results.verdict;
    let advisory = verdict.mode == crate::config::Mode::Advisory;
    let regressed_endpoints = {
        let mut names: Vec<&str> = failing.iter().map(|c| c.endpoint.as_str()).collect();
        names.dedup();
        names.len()
    };
    let release = results.context.kind == "release";
    let broken_slos = failing.iter().filter(|c| c.kind == CheckKind::Slo).count();
    let headline = match verdict.level {
        Level::Fail if release => Headline {
            emoji: "❌".into(),
            text: format!(
                "release gate: {} broken{}",
                plural(broken_slos, "SLO", "SLOs"),
                if advisory {
                    " (advisory mode: not blocking)"
                } else {
                    ""
                }
            ),
            level: "fail".into(),
        },
        Level::Pass if release => Headline {
            emoji: "✅".into(),
            text: "release gate: every SLO is met".into(),
            level: "pass".into(),
        },
        Level::Error => Headline {
            emoji: "💥".into(),
            text: "the run failed, so there is no verdict".into(),
            level: "error".into(),
        },
        Level::Fail => Headline {
            emoji: "❌".into(),
            text: if advisory {
                format!(
                    "{} would block this PR (advisory mode: not blocking)",
                    plural(failing.len(), "failed check", "failed checks")
                )
            } else {
                format!(
                    "{} on {} {} this PR",
                    plural(failing.len(), "failed check", "failed checks"),
                    plural(regressed_endpoints, "endpoint", "endpoints"),
                    if failing.len() == 1 {
                        "blocks"
                    } else {
                        "block"
                    }
                )
            },
            level: "fail".into(),
        },
        Level::Warn => Headline {
            emoji: "⚠️".into(),
            text: format!(
                "passed with {}",
                plural(warnings.len(), "warning", "warnings")
            ),
            level: "warn".into(),
        },
        Level::Pass => Headline {
            emoji: "✅".into(),
            text: match improved {
                [] => "no performance regression".into(),
                [(cmp, m)] => format!(
                    "no performance regression, `{}` improved ({} {})",
                    escape::code(&cmp.endpoint),
                    m.metric,
                    m.change.as_ref().map_or(String::new(), point_text)
                ),
                many => {
                    let mut metrics: Vec<&str> =
                        many.iter().map(|(_, m)| m.metric.label()).collect();
                    metrics.sort_unstable();
                    metrics.dedup();
                    format!(
                        "no performance regression, {} improved ({})",
                        plural(many.len(), "endpoint", "endpoints"),
                        metrics.join(", ")
                    )
                }
            },
            level: "pass".into(),
        },
    };

    match &results.acceptance {
        Some(a) => Headline {
            emoji: "☑️".into(),
            text: format!(
                "{} accepted with the label `{}`",
                plural(failing.len(), "failed check", "failed checks"),
                escape::code(&a.label)
            ),
            level: "pass".into(),
        },
        None => headline,
    }
}

/// One row per endpoint: the gate cell, each metric base → head with its change.
fn endpoint_rows(results: &RunResults, with_slos: bool) -> Vec<EndpointRow> {
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

/// The p99 chart's data: head ÷ base per endpoint, when any has both.
fn chart(results: &RunResults) -> Option<ChartView> {
    let points: Vec<(String, f64)> = results
        .comparisons
        .iter()
        .filter_map(|c| {
            let m = c.get(Metric::P99)?;
            let (base, head) = (m.base?, m.head?);
            (base > 0.0 && head.is_finite())
                .then(|| (escape::mermaid_label(&c.endpoint), head / base))
        })
        .collect();
    (!points.is_empty()).then(|| {
        let max = points.iter().map(|p| p.1).fold(1.0_f64, f64::max);
        ChartView {
            labels: points.iter().map(|p| p.0.clone()).collect(),
            ratios: points.iter().map(|p| chart_ratio(p.1)).collect(),
            unchanged: points.iter().map(|_| "1".to_string()).collect(),
            max: format!("{}", (max * 1.1).ceil().max(2.0)),
        }
    })
}

/// The `Server-Timing` breakdown: per endpoint and metric, the mean per request
/// on each side, and a note where a part is more than `total`.
fn timing_rows(results: &RunResults) -> Vec<TimingRow> {
    let mut timings = Vec::new();
    for run in &results.endpoints {
        let base = timing_means(run, Side::Base);
        let head = timing_means(run, Side::Head);
        let total = |list: &[(String, f64)]| list.iter().find(|(n, _)| n == "total").map(|p| p.1);
        let (base_total, head_total) = (total(&base), total(&head));
        let mut names: Vec<&String> = base.iter().chain(head.iter()).map(|(n, _)| n).collect();
        names.sort();
        names.dedup();
        for name in names {
            let cell = |list: &[(String, f64)]| {
                list.iter()
                    .find(|(n, _)| n == name)
                    .map_or("—".to_string(), |(_, v)| format::ms(*v))
            };
            let over = |list: &[(String, f64)], total: Option<f64>| {
                let part = list.iter().find(|(n, _)| n == name).map(|p| p.1);
                name.as_str() != "total"
                    && matches!((part, total), (Some(p), Some(t)) if p > t * 1.05 + 0.005)
            };
            let note = match (over(&base, base_total), over(&head, head_total)) {
                (false, false) => String::new(),
                (true, false) => {
                    "⚠️ more than `total` on base: the server's numbers disagree".into()
                }
                (false, true) => {
                    "⚠️ more than `total` on head: the server's numbers disagree".into()
                }
                (true, true) => "⚠️ more than `total`: the server's numbers disagree".into(),
            };
            timings.push(TimingRow {
                endpoint: escape::cell_code(&run.name),
                metric: escape::cell_code(name),
                base: cell(&base),
                head: cell(&head),
                note,
            });
        }
    }
    timings
}

/// The server-side section and its summary line: Lambda's REPORT lines, cost and
/// hints, or the cost alone.
fn server_side(results: &RunResults) -> (Option<super::server_side::ServerSideView>, String) {
    match (&results.server, &results.cost) {
        (Some(server), _) => {
            let cold: u64 = server.lambda.iter().map(|l| l.cold_starts).sum();
            (
                Some(super::server_side::view(server)),
                format!(
                    "Server side (AWS Lambda): {}, cost, hints",
                    plural(cold as usize, "cold start", "cold starts")
                ),
            )
        }
        (None, Some(cost)) => (
            Some(super::server_side::ServerSideView {
                cost: Some(super::server_side::cost_view(cost, false)),
                ..Default::default()
            }),
            format!("Cost ({})", escape::inline(&cost.source)),
        ),
        (None, None) => (None, String::new()),
    }
}

/// Build the view of `results`.
pub fn build_view(results: &RunResults) -> ReportView {
    let verdict = &results.verdict;
    let failing: Vec<&Check> = verdict.at(Level::Fail).collect();
    let warnings: Vec<&Check> = verdict.at(Level::Warn).collect();
    let improved: Vec<(&EndpointComparison, &MetricComparison)> = results
        .comparisons
        .iter()
        .filter_map(|c| crate::judge::verdict::improvement(&results.limits, c).map(|m| (c, m)))
        .collect();
    let headline = headline(results, &failing, &warnings, &improved);

    let mut findings: Vec<FindingView> = super::history::findings(results)
        .into_iter()
        .map(FindingView::line)
        .collect();
    let history_findings = findings.split_off(usize::from(results.acceptance.is_some()));
    if let Some(err) = &verdict.error {
        findings.push(FindingView::line(format!(
            "💥 The run failed: {}",
            escape::text(err)
        )));
    }
    // The Why goes once per endpoint, under its first finding it explains.
    let mut explained: Vec<String> = Vec::new();
    let mut why_of = |endpoint: &str, direction: Direction| {
        if explained.iter().any(|e| e == endpoint) {
            return None;
        }
        let found = results
            .endpoints
            .iter()
            .find(|e| e.name == endpoint)
            .and_then(|run| {
                let traced = results.traces.as_ref().and_then(|t| t.endpoint(endpoint));
                why(run, traced, direction, results.settings.confidence)
            });
        if found.is_some() {
            explained.push(endpoint.to_string());
        }
        found
    };
    for check in failing.iter().chain(warnings.iter()) {
        let text = format!(
            "{} **`{}`** {}.",
            level_icon(check.level),
            escape::code(&check.endpoint),
            escape::inline(&super::checks::reason(check))
        );
        let why = match check.kind {
            CheckKind::Budget | CheckKind::Slo => why_of(&check.endpoint, Direction::Slower),
            CheckKind::Load => None,
        };
        findings.push(FindingView { text, why });
    }
    for (cmp, m) in &improved {
        findings.push(FindingView {
            text: format!(
                "✅ **`{}`** improved: {}.",
                escape::code(&cmp.endpoint),
                describe_change(m)
            ),
            why: why_of(&cmp.endpoint, Direction::Faster),
        });
    }
    findings.extend(not_judged(verdict).into_iter().map(FindingView::line));
    // The traces details: the endpoints with a finding, failing ones first.
    let mut traced_endpoints: Vec<&str> = Vec::new();
    for name in failing
        .iter()
        .chain(warnings.iter())
        .map(|c| c.endpoint.as_str())
        .chain(improved.iter().map(|(c, _)| c.endpoint.as_str()))
    {
        if !traced_endpoints.contains(&name) {
            traced_endpoints.push(name);
        }
    }
    let traces = results.traces.as_ref().map(|t| {
        super::traces::view(
            t,
            &results.endpoints,
            &traced_endpoints,
            results.settings.confidence,
        )
    });

    let common_slos = common_slos(results);
    let endpoints = endpoint_rows(results, common_slos.is_none());

    let chart = chart(results);

    let timings = timing_rows(results);

    let checks_passed = verdict
        .checks
        .iter()
        .filter(|c| c.level == Level::Pass)
        .count();
    let checks = verdict
        .checks
        .iter()
        .filter(|c| c.level != Level::Pass)
        .map(|c| CheckRow {
            icon: level_icon(c.level).into(),
            kind: match c.kind {
                CheckKind::Slo => "SLO".into(),
                CheckKind::Budget => "budget".into(),
                CheckKind::Load => "load".into(),
            },
            endpoint: escape::code(&c.endpoint),
            reason: escape::inline(&super::checks::reason(c)),
        })
        .collect();

    findings.extend(history_findings);
    for warning in &results.warnings {
        findings.push(FindingView::line(format!("⚠️ {}.", escape::text(warning))));
    }
    // Endpoints measured by a saturated client (`bench::saturation`).
    for run in &results.endpoints {
        if let Some(saturation) = crate::bench::saturation::endpoint_saturation(run) {
            findings.push(FindingView::line(format!(
                "⚠️ `{}`: {}.",
                escape::code(&run.name),
                escape::text(&saturation.sentence())
            )));
        }
    }
    if let Some(note) = &results.history {
        findings.extend(
            super::history::warnings(note)
                .into_iter()
                .map(FindingView::line),
        );
    }
    let has_cost = results
        .comparisons
        .iter()
        .any(|c| c.get(Metric::Cost).is_some_and(|m| m.head.is_some()));
    let (server_side, server_summary) = server_side(results);
    let mut details = super::details::build(results);
    if let Some(sentence) = results
        .history
        .as_ref()
        .and_then(super::history::floors_sentence)
    {
        details.method.push_str("\n\n");
        details.method.push_str(&sentence);
    }
    ReportView {
        headline,
        findings,
        endpoints,
        chart,
        trend: results.history.as_ref().and_then(super::history::trend),
        ladders: super::ladder::rows(results),
        timings,
        traces,
        has_cost,
        server_side,
        server_summary,
        checks,
        checks_passed,
        common_slos,
        confidence: format::percent(results.settings.confidence),
        method: details.method,
        config: details.config,
        links: details.links,
        footer: details.footer,
        marker: super::marker_for(results).render(),
        shortened: None,
        sharded: super::shards::line(results),
        shard_note: super::shards::note(results),
        rightsizing: super::rightsizing::view(results),
    }
}

impl ReportView {
    /// The short view for GitHub's comment limit: at most `findings` findings and
    /// `rows` table rows (endpoints that need attention first), no chart, no
    /// `Server-Timing` breakdown, no list of checks, no config diff, and a note
    /// saying what was left out and where the full report is.
    pub fn shortened(&self, findings: usize, rows: usize) -> ReportView {
        let mut short = self.clone();
        short.findings.truncate(findings);
        let mut endpoints: Vec<EndpointRow> = self
            .endpoints
            .iter()
            .filter(|e| e.attention)
            .chain(self.endpoints.iter().filter(|e| !e.attention))
            .take(rows)
            .cloned()
            .collect();
        endpoints.shrink_to_fit();
        short.endpoints = endpoints;
        short.chart = None;
        short.trend = None;
        short.timings = Vec::new();
        short.traces = None;
        short.checks = Vec::new();
        short.checks_passed = 0;
        if let Some(config) = &mut short.config {
            config.diff = None;
        }
        let mut left_out = Vec::new();
        let missing_rows = self.endpoints.len() - short.endpoints.len();
        if missing_rows > 0 {
            left_out.push(format!(
                "{missing_rows} of {} endpoints",
                self.endpoints.len()
            ));
        }
        let missing_findings = self.findings.len() - short.findings.len();
        if missing_findings > 0 {
            left_out.push(format!("{missing_findings} findings"));
        }
        left_out.push(
            "the chart, the `Server-Timing` and traces breakdowns and the list of checks".into(),
        );
        short.shortened = Some(format!(
            "Shortened to fit GitHub's limit of 65,536 characters per comment: left out {}. \
             The full report is in the run's job summary and in `tailgate-results.json`.",
            left_out.join(", ")
        ));
        short
    }
}
