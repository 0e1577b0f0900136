//! The view model: every string the templates print, computed here in plain Rust so
//! the templates stay simple and the numbers are formatted in one place.

use serde::Serialize;

use super::escape;
use crate::bench::EndpointRun;
use crate::format;
use crate::results::RunResults;
use crate::side::Side;
use crate::verdict::{
    describe_change, Change, ChangeKind, ChangeState, Check, CheckKind, EndpointComparison, Level,
    Metric, MetricComparison,
};

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    /// The one-line decision.
    pub headline: Headline,
    /// Why, in a few sentences: failures first, then improvements.
    pub findings: Vec<String>,
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
    /// Whether any endpoint was priced (the table gets a cost column).
    pub has_cost: bool,
    /// The server's side of the run (Lambda REPORT lines, cost, X-Ray, hints) as a
    /// markdown fragment built from numbers, when there is one.
    pub server_side: Option<String>,
    /// The summary line of the server-side details.
    pub server_summary: String,
    /// Every check with its outcome.
    pub checks: Vec<CheckRow>,
    /// How the numbers were obtained, in one paragraph.
    pub method: String,
    /// Where the gating config came from and what the PR changes in it.
    pub config: Option<ConfigView>,
    /// Links to the run and the results.
    pub links: String,
    /// Footer facts.
    pub footer: String,
    /// The hidden upsert marker.
    pub marker: String,
    /// Set on the short view: what was left out to fit GitHub's limit.
    pub shortened: Option<String>,
}

/// The config note.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigView {
    /// A line shown under the findings when the PR changes the config.
    pub notice: Option<String>,
    /// The sentence for the details.
    pub source: String,
    /// The diff from the gating config to the PR's.
    pub diff: Option<String>,
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
    /// SLO status cell.
    pub slo: String,
    /// Whether a check of this endpoint failed or warned (kept in the short view).
    pub attention: bool,
}

/// Data of the p99 bar chart.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    /// Endpoint names (escaped for Mermaid).
    pub labels: Vec<String>,
    /// Base p99 per endpoint, ms.
    pub base: Vec<String>,
    /// Head p99 per endpoint, ms.
    pub head: Vec<String>,
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

/// Mean `Server-Timing` duration per response of one side, by metric name.
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

/// The `Server-Timing` metric whose mean moved most, in words, if any moved.
fn biggest_timing_move(run: &EndpointRun) -> Option<String> {
    let base = timing_means(run, Side::Base);
    let head = timing_means(run, Side::Head);
    let mut names: Vec<&String> = base.iter().chain(head.iter()).map(|(n, _)| n).collect();
    names.sort();
    names.dedup();
    let value = |list: &[(String, f64)], name: &str| {
        list.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .unwrap_or(0.0)
    };
    names
        .into_iter()
        .filter(|n| n.as_str() != "total")
        .map(|n| (n, value(&base, n), value(&head, n)))
        .max_by(|a, b| (a.2 - a.1).abs().total_cmp(&(b.2 - b.1).abs()))
        .filter(|(_, b, h)| (h - b).abs() >= 1.0 && (h - b).abs() >= 0.2 * b.max(*h))
        .map(|(n, b, h)| {
            format!(
                "`Server-Timing` `{}` went from {} to {} per request",
                escape::code(n),
                format::ms(b),
                format::ms(h)
            )
        })
}

fn interval_text(c: &Change) -> String {
    match c.kind {
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
    }
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
        ChangeState::NoData => "—",
    }
}

fn latency_cell(m: Option<&MetricComparison>, checks: &[&Check]) -> String {
    change_cell(m, checks, &format::ms_bare)
}

/// `base → head` with the change's state and interval, values shown by `fmt`.
fn change_cell(
    m: Option<&MetricComparison>,
    checks: &[&Check],
    fmt: &dyn Fn(f64) -> String,
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
    let head = m.head.map_or("—".into(), fmt);
    let Some(base) = m.base else {
        // A release gate: head alone.
        return head;
    };
    let base = fmt(base);
    match &m.change {
        Some(c) => format!("{base} → {head}<br>{icon} {}", interval_text(c)),
        None => format!("{base} → {head}"),
    }
}

/// `base → head`, or head alone when there is no base (a release gate).
fn pair_cell(m: &MetricComparison, fmt: fn(f64) -> String) -> String {
    let head = m.head.map_or("—".into(), fmt);
    match m.base {
        Some(base) => format!("{} → {head}", fmt(base)),
        None => head,
    }
}

/// Build the view of `results`.
pub fn build_view(results: &RunResults) -> ReportView {
    let verdict = &results.verdict;
    let failing: Vec<&Check> = verdict.at(Level::Fail).collect();
    let warnings: Vec<&Check> = verdict.at(Level::Warn).collect();
    let advisory = verdict.mode == crate::config::Mode::Advisory;

    let regressed_endpoints = {
        let mut names: Vec<&str> = failing.iter().map(|c| c.endpoint.as_str()).collect();
        names.dedup();
        names.len()
    };
    let improved: Vec<&EndpointComparison> = results
        .comparisons
        .iter()
        .filter(|c| {
            c.get(Metric::P99)
                .is_some_and(|m| m.state == ChangeState::Improved)
        })
        .collect();
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
            text: if improved.is_empty() {
                "no performance regression".into()
            } else {
                format!(
                    "no performance regression, {} improved",
                    plural(improved.len(), "endpoint", "endpoints")
                )
            },
            level: "pass".into(),
        },
    };

    let headline = match &results.acceptance {
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
    };

    let mut findings = super::history::findings(results);
    let history_findings = findings.split_off(usize::from(results.acceptance.is_some()));
    if let Some(err) = &verdict.error {
        findings.push(format!("💥 The run failed: {}", escape::text(err)));
    }
    for check in failing.iter().chain(warnings.iter()) {
        let mut line = format!(
            "{} **`{}`** {}",
            level_icon(check.level),
            escape::code(&check.endpoint),
            escape::inline(&check.reason)
        );
        if check.kind == CheckKind::Budget {
            if let Some(hint) = results
                .endpoints
                .iter()
                .find(|e| e.name == check.endpoint)
                .and_then(biggest_timing_move)
            {
                line.push_str(&format!(". {}", escape::inline(&hint)));
            }
        }
        line.push('.');
        findings.push(line);
    }
    for cmp in &improved {
        if let Some(m) = cmp.get(Metric::P99) {
            findings.push(format!(
                "✅ **`{}`** improved: {}.",
                escape::code(&cmp.endpoint),
                describe_change(m)
            ));
        }
    }

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
        let slo_checks: Vec<&&Check> = checks.iter().filter(|c| c.kind == CheckKind::Slo).collect();
        let slo = if slo_checks.is_empty() {
            "—".into()
        } else {
            let worst = slo_checks
                .iter()
                .map(|c| c.level)
                .max()
                .unwrap_or(Level::Pass);
            let limits: Vec<String> = slo_checks
                .iter()
                .map(|c| escape::inline(&c.limit))
                .collect();
            format!("{} {}", level_icon(worst), limits.join(", "))
        };
        let budget_checks: Vec<&Check> = checks
            .iter()
            .copied()
            .filter(|c| c.kind == CheckKind::Budget)
            .collect();
        let errors = cmp
            .get(Metric::ErrorRate)
            .map_or("—".into(), |m| pair_cell(m, format::percent));
        let rps = cmp
            .get(Metric::Throughput)
            .map_or("—".into(), |m| pair_cell(m, format::rate));
        let cost = change_cell(cmp.get(Metric::Cost), &budget_checks, &|v| {
            format::money(v, currency)
        });
        endpoints.push(EndpointRow {
            name: escape::cell_code(&cmp.endpoint),
            p50: latency_cell(cmp.get(Metric::P50), &budget_checks),
            p95: latency_cell(cmp.get(Metric::P95), &budget_checks),
            p99: latency_cell(cmp.get(Metric::P99), &budget_checks),
            errors,
            rps,
            cost,
            slo,
            attention: checks.iter().any(|c| c.level >= Level::Warn),
        });
    }

    let chart = {
        let points: Vec<(String, f64, f64)> = results
            .comparisons
            .iter()
            .filter_map(|c| {
                let m = c.get(Metric::P99)?;
                Some((escape::mermaid_label(&c.endpoint), m.base?, m.head?))
            })
            .collect();
        (!points.is_empty()).then(|| {
            let max = points
                .iter()
                .map(|(_, b, h)| b.max(*h))
                .fold(0.0_f64, f64::max);
            ChartView {
                labels: points.iter().map(|p| p.0.clone()).collect(),
                base: points.iter().map(|p| format::ms_bare(p.1)).collect(),
                head: points.iter().map(|p| format::ms_bare(p.2)).collect(),
                max: format!("{}", (max * 1.1).ceil().max(1.0)),
            }
        })
    };

    let mut timings = Vec::new();
    for run in &results.endpoints {
        let base = timing_means(run, Side::Base);
        let head = timing_means(run, Side::Head);
        let mut names: Vec<&String> = base.iter().chain(head.iter()).map(|(n, _)| n).collect();
        names.sort();
        names.dedup();
        for name in names {
            let cell = |list: &[(String, f64)]| {
                list.iter()
                    .find(|(n, _)| n == name)
                    .map_or("—".to_string(), |(_, v)| format::ms(*v))
            };
            timings.push(TimingRow {
                endpoint: escape::cell_code(&run.name),
                metric: escape::cell_code(name),
                base: cell(&base),
                head: cell(&head),
            });
        }
    }

    let checks = verdict
        .checks
        .iter()
        .map(|c| CheckRow {
            icon: level_icon(c.level).into(),
            kind: match c.kind {
                CheckKind::Slo => "SLO".into(),
                CheckKind::Budget => "budget".into(),
                CheckKind::Load => "load".into(),
            },
            endpoint: escape::code(&c.endpoint),
            reason: escape::inline(&c.reason),
        })
        .collect();

    findings.extend(history_findings);
    for warning in &results.warnings {
        findings.push(format!("⚠️ {}.", escape::text(warning)));
    }
    if let Some(note) = &results.history {
        findings.extend(super::history::warnings(note));
    }
    let has_cost = results
        .comparisons
        .iter()
        .any(|c| c.get(Metric::Cost).is_some_and(|m| m.head.is_some()));
    let (server_side, server_summary) = match (&results.server, &results.cost) {
        (Some(server), _) => {
            let cold: u64 = server.lambda.iter().map(|l| l.cold_starts).sum();
            (
                Some(crate::aws::view::markdown(server)),
                format!(
                    "Server side (AWS Lambda): {}, cost, hints",
                    plural(cold as usize, "cold start", "cold starts")
                ),
            )
        }
        (None, Some(cost)) => (
            Some(crate::aws::view::cost_markdown(cost)),
            format!("Cost ({})", escape::inline(&cost.source)),
        ),
        (None, None) => (None, String::new()),
    };
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
        has_cost,
        server_side,
        server_summary,
        checks,
        method: details.method,
        config: details.config,
        links: details.links,
        footer: details.footer,
        marker: super::marker_for(results).render(),
        shortened: None,
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
        short.checks = Vec::new();
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
        left_out.push("the chart, the `Server-Timing` breakdown and the list of checks".into());
        short.shortened = Some(format!(
            "Shortened to fit GitHub's limit of 65,536 characters per comment: left out {}. \
             The full report is in the run's job summary and in `tailgate-results.json`.",
            left_out.join(", ")
        ));
        short
    }
}
