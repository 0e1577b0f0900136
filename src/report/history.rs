//! What the history adds to a report: the stored baseline, change points on the
//! branch, the trend charts, the noise floors in force, and an accepted regression.

use serde::Serialize;

use super::escape;
use crate::format;
use crate::history::short;
use crate::results::HistoryNote;
use crate::results::RunResults;

/// The trend section: one small line chart per endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct TrendView {
    /// The `<summary>` line.
    pub summary: String,
    /// One chart per endpoint.
    pub charts: Vec<TrendChart>,
}

/// p99 over the branch's last runs for one endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct TrendChart {
    /// The chart's title (a Mermaid string).
    pub title: String,
    /// Short commits, oldest first (Mermaid strings).
    pub labels: Vec<String>,
    /// p99 per commit, ms.
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
        if let Some(c) = &t.change {
            let ago = match c.runs_ago {
                0 => "in the latest run".to_string(),
                1 => "1 run ago".to_string(),
                n => format!("{n} runs ago"),
            };
            out.push(format!(
                "{} **`{}`** p99 on `{}` moved {} at `{}` ({ago}): a step no single pull request showed.",
                if c.change > 0.0 { "📈" } else { "📉" },
                escape::code(&t.endpoint),
                escape::code(&note.branch),
                format::relative_change(c.change),
                short(&escape::code(&c.commit)),
            ));
        }
    }
    out
}

/// The trend charts, when the history has at least two runs of an endpoint.
pub fn trend(note: &HistoryNote) -> Option<TrendView> {
    let charts: Vec<TrendChart> = note
        .trends
        .iter()
        .filter(|t| t.points.len() >= 2)
        .map(|t| {
            let max = t.points.iter().map(|p| p.p99_ms).fold(0.0_f64, f64::max);
            TrendChart {
                title: escape::mermaid_label(&format!("{}: p99 (ms) by commit", t.endpoint)),
                labels: t
                    .points
                    .iter()
                    .map(|p| escape::mermaid_label(&short(&p.commit)))
                    .collect(),
                values: t.points.iter().map(|p| format::ms_bare(p.p99_ms)).collect(),
                max: format!("{}", (max * 1.1).ceil().max(1.0)),
            }
        })
        .collect();
    if charts.is_empty() {
        return None;
    }
    let runs = note
        .trends
        .iter()
        .map(|t| t.points.len())
        .max()
        .unwrap_or(0);
    let changes = note.trends.iter().filter(|t| t.change.is_some()).count();
    Some(TrendView {
        summary: format!(
            "Trend on `{}`: p99 over the last {runs} runs{}",
            escape::code(&note.branch),
            match changes {
                0 => ", no change point".to_string(),
                1 => ", 1 change point".to_string(),
                n => format!(", {n} change points"),
            }
        ),
        charts,
    })
}

/// The sentence on noise floors for "How this was measured".
pub fn floors_sentence(note: &HistoryNote) -> Option<String> {
    let learned: Vec<String> = note
        .floors
        .iter()
        .filter_map(|f| {
            f.learned_from.map(|n| {
                format!(
                    "`{}` {} ({n} runs)",
                    escape::code(&f.endpoint),
                    format::percent(f.floor.0)
                )
            })
        })
        .collect();
    let global = note
        .floors
        .iter()
        .find(|f| f.learned_from.is_none())
        .map(|f| format::percent(f.floor.0));
    match (learned.is_empty(), global) {
        (true, Some(g)) => Some(format!(
            "Noise floor: the config's {g} (too few stored runs of `{}` to learn one).",
            escape::code(&note.branch)
        )),
        (true, None) => None,
        (false, g) => Some(format!(
            "Noise floors learned from stored runs of `{}` (A/A split of each run's rounds): {}{}.",
            escape::code(&note.branch),
            learned.join(", "),
            g.map(|g| format!("; the others the config's {g}"))
                .unwrap_or_default()
        )),
    }
}

/// The history's warnings, for the findings.
pub fn warnings(note: &HistoryNote) -> Vec<String> {
    note.warnings
        .iter()
        .map(|w| format!("⚠️ History: {}.", escape::text(w.trim_end_matches('.'))))
        .collect()
}
