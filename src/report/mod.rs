//! Report: one serialisable view model, rendered by minijinja templates from
//! `templates/` (compiled into the binary) to the PR comment / job summary markdown.
//!
//! The order of information follows `COMMENT.md`: the decision first, then the
//! evidence a reviewer needs to trust it (a table with every number and its
//! interval), then the details for whoever digs.

mod render;
mod view;

pub use render::{render_markdown, RenderError};
pub use view::{build_view, ChartView, EndpointRow, Headline, ReportView, TimingRow};

/// The hidden marker that ends every comment, used to find it again for upsert.
pub fn marker(config_source: &str) -> String {
    format!(
        "<!-- tailgate:comment config={} -->",
        config_source.replace("--", "-")
    )
}
