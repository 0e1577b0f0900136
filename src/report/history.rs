//! What the history adds to a report: the stored baseline, change points on the
//! branch, the trend charts, the noise floors in force, and an accepted regression.

use serde::Serialize;

use super::escape;
use crate::format;
use crate::history::short;
use crate::results::RunResults;
use crate::results::{FloorNote, FloorSource, HistoryNote};

/// The trend section: one small line chart per endpoint and metric.
#[derive(Debug, Clone, Serialize)]
pub struct TrendView {
    /// The `<summary>` line.
    pub summary: String,
    /// One chart per endpoint.
    pub charts: Vec<TrendChart>,
}

/// One metric over the branch's last runs for one endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct TrendChart {
    /// The chart's title (a Mermaid string).
    pub title: String,
    /// Short commits, oldest first (Mermaid strings).
    pub labels: Vec<String>,
    /// The y axis' label (a Mermaid string).
    pub axis: String,
    /// The metric per commit, ms.
    pub values: Vec<String>,
    /// Top of the y axis.
    pub max: String,
}

/// The lines the history adds under the findings.
pub fn findings(results: &RunResults) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(a) = &results.acceptance {
        out.push(format!(
            "☑️ Accepted with the label `{}` for `{}` only: the next push is gated again.",
            escape::code(&a.label),
            short(&escape::code(&a.head_sha))
        ));
    }
    let Some(note) = &results.history else {
        return out;
    };
    if let Some(b) = &note.baseline {
        let mut line = format!(
            "🗄️ Compared with the stored run of `{}` on `{}` (recorded {}), not a fresh deploy of base",
            short(&escape::code(&b.commit)),
            escape::code(&note.branch),
            b.recorded_at
                .chars()
                .take(10)
                .filter(|c| c.is_ascii_digit() || *c == '-')
                .collect::<String>(),
        );
        if let Some(wanted) = &b.wanted {
            line.push_str(&format!(
                "; the merge-base `{}` has none, this is the nearest earlier stored commit",
                short(&escape::code(wanted))
            ));
        }
        line.push('.');
        out.push(line);
        if !b.differences.is_empty() {
            let diffs: Vec<String> = b.differences.iter().map(|d| escape::text(d)).collect();
            out.push(format!(
                "⚠️ The stored baseline ran elsewhere ({}): part of any difference may be the environment.",
                diffs.join(", ")
            ));
        }
    }
    for t in &note.trends {
        let named = t.by_size();
        if named.is_empty() {
            continue;
        }
        // The largest steps first; the chart marks them all.
        let steps: Vec<String> = named
            .iter()
            .take(MAX_NAMED)
            .map(|c| {
                format!(
                    "{} {} at `{}` ({})",
                    c.metric,
                    format::relative_change(c.change),
                    short(&escape::code(&c.commit)),
                    runs_ago(c.runs_ago)
                )
            })
            .collect();
        let more = named.len().saturating_sub(MAX_NAMED);
        let up = named.first().is_some_and(|c| c.change > 0.0);
        out.push(format!(
            "{} **`{}`** on `{}`: {}{}: {} no single pull request showed.",
            if up { "📈" } else { "📉" },
            escape::code(&t.endpoint),
            escape::code(&note.branch),
            steps.join("; "),
            match more {
                0 => String::new(),
                1 => " (and 1 smaller step)".to_string(),
                n => format!(" (and {n} smaller steps)"),
            },
            if named.len() == 1 { "a step" } else { "steps" }
        ));
    }
    out
}

/// Change points named per endpoint in the findings, largest first.
const MAX_NAMED: usize = 3;

fn runs_ago(n: usize) -> String {
    match n {
        0 => "in the latest run".to_string(),
        1 => "1 run ago".to_string(),
        n => format!("{n} runs ago"),
    }
}

/// The trend charts, when the history has at least two runs of an endpoint: one
/// per endpoint and metric (p50, p99), the commits of its change points marked
/// `▲` (up) or `▼` (down) on the x axis.
pub fn trend(note: &HistoryNote) -> Option<TrendView> {
    let mut charts = Vec::new();
    for t in note.trends.iter().filter(|t| t.points.len() >= 2) {
        for metric in crate::history::TREND_METRICS {
            let values: Vec<Option<f64>> = t.points.iter().map(|p| p.value(metric)).collect();
            if values.iter().flatten().count() < 2 {
                continue;
            }
            let max = values.iter().flatten().fold(0.0_f64, |a, b| a.max(*b));
            let changes = t.changes_of(metric);
            charts.push(TrendChart {
                title: escape::mermaid_label(&format!(
                    "{}: {metric} (ms) by commit{}",
                    t.endpoint,
                    if changes.is_empty() {
                        String::new()
                    } else {
                        ", ▲▼ change points".to_string()
                    }
                )),
                axis: escape::mermaid_label(&format!("{metric} (ms)")),
                labels: t
                    .points
                    .iter()
                    .map(|p| {
                        let mark = changes
                            .iter()
                            .find(|c| c.commit == p.commit)
                            .map(|c| {
                                format!(
                                    "{} {} ",
                                    if c.change > 0.0 { "▲" } else { "▼" },
                                    format::relative_change(c.change)
                                )
                            })
                            .unwrap_or_default();
                        escape::mermaid_label(&format!("{mark}{}", short(&p.commit)))
                    })
                    .collect(),
                // A run that could not estimate the metric: the line carries on at
                // the level before it (the table of the run says n/a).
                values: values
                    .iter()
                    .scan(None, |last, v| {
                        *last = v.or(*last);
                        Some(*last)
                    })
                    .map(|v| format::ms_bare(v.unwrap_or(0.0)))
                    .collect(),
                max: format!("{}", (max * 1.1).ceil().max(1.0)),
            });
        }
    }
    if charts.is_empty() {
        return None;
    }
    let runs = note
        .trends
        .iter()
        .map(|t| t.points.len())
        .max()
        .unwrap_or(0);
    let changes: usize = note.trends.iter().map(|t| t.by_size().len()).sum();
    Some(TrendView {
        summary: format!(
            "Trend on `{}`: p50 and p99 over the last {runs} runs{}",
            escape::code(&note.branch),
            match changes {
                0 => ", no change point beyond the noise floor".to_string(),
                1 => ", 1 change point".to_string(),
                n => format!(", {n} change points"),
            }
        ),
        charts,
    })
}

/// What "How this was measured" says of the noise floors the history set: which
/// floor each endpoint and metric used, what it was learned from and from how
/// many stored runs.
pub fn floors_sentence(note: &HistoryNote) -> Option<String> {
    let learned: Vec<&FloorNote> = note
        .floors
        .iter()
        .filter(|f| f.learned_from.is_some())
        .collect();
    let config = note
        .floors
        .iter()
        .find(|f| f.learned_from.is_none())
        .map(|f| format::percent(f.floor.0));
    if learned.is_empty() {
        return config.map(|g| {
            format!(
                "Noise floor: the config's {g} (too few stored runs of `{}` to learn one).",
                escape::code(&note.branch)
            )
        });
    }
    let mut text = format!(
        "Noise floors learned from the stored runs of `{}`: the spread of run-to-run changes \
         between runs with no change point between them (the noise between two deployments \
         of the same code, 99 % of it), never below the A/A split of each run's rounds{}:\n\n\
         | endpoint | metric | floor | learned from |\n|---|---|---|---|\n",
        escape::code(&note.branch),
        match &config {
            Some(g) => format!("; the others use the config's {g}"),
            None => String::new(),
        }
    );
    for f in learned {
        let metric = f
            .metric
            .map_or("all".to_string(), |m| m.as_str().to_string());
        let runs = f.learned_from.unwrap_or(0);
        let from = match f.source {
            Some(FloorSource::Deployments) => format!(
                "{runs} runs, between deployments{}",
                f.within_run
                    .map(|w| format!(" (within a run {})", format::percent(w.0)))
                    .unwrap_or_default()
            ),
            Some(FloorSource::WithinRun) => format!(
                "{runs} runs, A/A split within the runs{}",
                f.deployments
                    .map(|d| format!(" (between deployments {})", format::percent(d.0)))
                    .unwrap_or_default()
            ),
            _ => format!("{runs} runs"),
        };
        text.push_str(&format!(
            "| `{}` | {metric} | {} | {from} |\n",
            escape::cell_code(&f.endpoint),
            format::percent(f.floor.0),
        ));
    }
    // A blank line ends the table before whatever follows.
    Some(text)
}

/// The history's warnings, for the findings.
pub fn warnings(note: &HistoryNote) -> Vec<String> {
    note.warnings
        .iter()
        .map(|w| format!("⚠️ History: {}.", escape::text(w.trim_end_matches('.'))))
        .collect()
}
