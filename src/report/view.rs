//! The view model: every string the templates print, computed here in plain Rust so
//! the templates stay simple and the numbers are formatted in one place.

use serde::Serialize;

use super::chart::{chart, ChartView};
use super::checks::describe_change;
use super::escape;
use super::table::{common_slos, endpoint_rows, level_icon, point_text, EndpointRow};
use super::timings::{timing_rows, TimingRow};
use super::why::{why, Direction, WhyView};
use crate::format;
use crate::judge::verdict::{
    Check, CheckKind, EndpointComparison, Level, Metric, MetricComparison,
};
use crate::results::RunResults;

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

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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
