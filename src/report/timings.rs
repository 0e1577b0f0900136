//! The `Server-Timing` breakdown: per endpoint and metric, the mean per request on
//! each side, and a note where a part is more than `total`.

use serde::Serialize;

use super::escape;
use crate::bench::EndpointRun;
use crate::format;
use crate::results::RunResults;
use crate::side::Side;

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

/// The `Server-Timing` breakdown: per endpoint and metric, the mean per request
/// on each side, and a note where a part is more than `total`.
pub(super) fn timing_rows(results: &RunResults) -> Vec<TimingRow> {
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
