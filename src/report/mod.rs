//! Report: one serialisable view model, rendered by minijinja templates from
//! `templates/` (compiled into the binary) to the PR comment / job summary markdown.
//!
//! The order of information: the decision first, the failing endpoints and why,
//! then the evidence a reviewer needs to trust it (a table with every number and
//! its interval), then the details for whoever digs (docs/architecture.md). User-supplied strings are escaped
//! ([`escape`]); over GitHub's comment limit a shorter view is rendered
//! ([`comment_body`]).

mod cause;
mod chart;
pub mod checks;
mod details;
pub mod escape;
mod history;
mod ladder;
mod marker;
mod render;
mod rightsizing;
pub mod server_side;
mod shards;
mod table;
mod timings;
mod traces;
mod view;
mod why;

pub use chart::ChartView;
pub use details::ConfigView;
pub use marker::Marker;
pub use render::RenderError;
pub use table::EndpointRow;
pub use timings::TimingRow;
pub use traces::{TraceRowView, TracedEndpointView, TracesView};
pub use view::{build_view, CheckRow, FindingView, Headline, ReportView};
pub use why::{WhyCause, WhyView};

use crate::results::RunResults;

/// Render the markdown used for the PR comment, the job summary and the terminal.
pub fn render_markdown(view: &ReportView) -> Result<String, RenderError> {
    render::render_comment(view)
}

/// GitHub's limit on a comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// The hidden marker of a comment for `config_source` alone (no head, run or
/// verdict). Prefer [`marker_for`].
pub fn marker(config_source: &str) -> String {
    Marker {
        config: config_source.to_string(),
        ..Marker::default()
    }
    .render()
}

/// The marker of the comment for `results`: keyed by the config's path (one
/// comment per config), recording the head, the run and the verdict.
pub fn marker_for(results: &RunResults) -> Marker {
    let ctx = &results.context;
    Marker {
        config: ctx
            .config
            .as_ref()
            .map(|n| n.path.clone())
            .unwrap_or_else(|| results.settings.config_source.clone()),
        head: ctx.head_sha.clone(),
        run: ctx.run_id,
        verdict: Some(results.verdict.level.as_str().to_string()),
        accepted: results
            .acceptance
            .as_ref()
            .filter(|a| ctx.head_sha.as_deref() == Some(a.head_sha.as_str()))
            .map(|a| a.label.clone()),
    }
}

/// The headline in one line (`❌ tailgate: 1 failed check on 1 endpoint blocks this
/// PR`), for a check run's title.
pub fn headline_text(results: &RunResults) -> String {
    let view = build_view(results);
    format!("{} tailgate: {}", view.headline.emoji, view.headline.text)
}

fn fits(text: &str) -> bool {
    text.chars().count() <= COMMENT_LIMIT
}

/// The PR comment for `results`: `markdown` (the full report) when it fits in
/// [`COMMENT_LIMIT`], else a shorter view that keeps the decision, the worst
/// endpoints and a pointer to the full report.
pub fn comment_body(results: &RunResults, markdown: &str) -> String {
    if fits(markdown) {
        return markdown.to_string();
    }
    let view = build_view(results);
    for (findings, rows) in [(10, 40), (3, 10), (0, 0)] {
        if let Ok(text) = render_markdown(&view.shortened(findings, rows)) {
            if fits(&text) {
                return text;
            }
        }
    }
    // Only an absurd config path or label could get here: cut, keep the marker.
    // The marker is bounded ([`Marker::render`]), and the subtraction saturates all
    // the same: a results file is outside input.
    let marker = marker_for(results).render();
    let keep = COMMENT_LIMIT
        .saturating_sub(marker.chars().count())
        .saturating_sub(2);
    let cut: String = markdown.chars().take(keep).collect();
    format!("{cut}\n{marker}")
}
