//! The p99 chart: head ÷ base per endpoint, for a Mermaid bar chart.

use serde::Serialize;

use super::escape;
use crate::judge::verdict::Metric;
use crate::results::RunResults;

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

/// A ratio for the chart: two decimals below 10, whole numbers above.
fn chart_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.2}")
    }
}

/// The p99 chart's data: head ÷ base per endpoint, when any has both.
pub(super) fn chart(results: &RunResults) -> Option<ChartView> {
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
