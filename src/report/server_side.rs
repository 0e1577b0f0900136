//! The server-side section of the comment: the rows of
//! [`crate::server_side::view`] (REPORT lines, cost, X-Ray, hints) as a view of
//! escaped, formatted strings, which `templates/server_side.md.j2` lays out (in
//! the comment through an include, alone through [`markdown`]).

use serde::Serialize;

use super::escape;
use super::render::{render_template, RenderError};
use crate::cost::{CostComparison, Money};
use crate::format;
use crate::server_side::lambda::Spread;
use crate::server_side::ServerSide;

/// What the server-side section shows, every string ready to print.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerSideView {
    /// One row per side of the Lambda table (empty: no table).
    pub lambda: Vec<LambdaRow>,
    /// Sentences under the Lambda table (slowest minutes, what could not be read).
    pub notes: Vec<String>,
    /// The cost of both sides.
    pub cost: Option<CostView>,
    /// The slowest downstream calls, head then base.
    pub calls: Vec<CallGroup>,
    /// Hints, one line each.
    pub hints: Vec<String>,
}

/// One side of the Lambda table.
#[derive(Debug, Clone, Serialize)]
pub struct LambdaRow {
    side: String,
    invocations: u64,
    requests: u64,
    cold: String,
    init: String,
    warm: String,
    billed: String,
    memory: String,
}

/// The cost table.
#[derive(Debug, Clone, Serialize)]
pub struct CostView {
    /// Where the cost came from, for its heading (`None`: no heading, the
    /// section's summary names it).
    heading: Option<String>,
    /// The projection's column header, when `monthly_requests` is set.
    monthly_header: Option<String>,
    rows: Vec<CostRow>,
    /// Head's change per request (`+3.5 %`).
    change: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct CostRow {
    side: String,
    per_1m: String,
    monthly: String,
}

/// One side's slowest downstream calls.
#[derive(Debug, Clone, Serialize)]
pub struct CallGroup {
    label: &'static str,
    rows: Vec<CallRow>,
}

#[derive(Debug, Clone, Serialize)]
struct CallRow {
    endpoint: String,
    service: String,
    operation: String,
    count: u64,
    mean: String,
    max: String,
}

fn opt_money(m: Option<Money>) -> String {
    m.map_or_else(|| "n/a".to_string(), |m| m.to_string())
}

fn spread_text(s: Option<Spread>) -> String {
    s.map_or_else(
        || "–".to_string(),
        |s| format!("{} / {}", format::ms(s.p50_ms), format::ms(s.p99_ms)),
    )
}

/// Text from a trace made safe for one table cell (and inert: no HTML, links or
/// mentions).
fn cell(text: &str) -> String {
    escape::text(text)
}

/// The cost of both sides, in units people read: per million requests, and the
/// monthly projection only when `cost.monthly_requests` is set; under a heading
/// naming its source when `heading`.
pub fn cost_view(cost: &CostComparison, heading: bool) -> CostView {
    let monthly = cost.monthly_requests;
    CostView {
        heading: heading.then(|| escape::inline(&cost.source)),
        monthly_header: monthly.map(|n| format!("per month ({} requests)", format::thousands(n))),
        rows: [&cost.base, &cost.head]
            .into_iter()
            .map(|side| CostRow {
                side: side.side.to_string(),
                per_1m: opt_money(side.per_1m),
                monthly: opt_money(side.monthly),
            })
            .collect(),
        change: cost.point_change().map(format::relative_change),
    }
}

/// The view of the whole section: cold starts and memory per side, cost base vs
/// head, the slowest downstream calls, hints. Every number is in a table.
pub fn view(server: &ServerSide) -> ServerSideView {
    let lambda = server
        .lambda
        .iter()
        .map(|s| LambdaRow {
            side: s.side.to_string(),
            invocations: s.invocations,
            requests: s.requests_sent,
            cold: match s.cold_start_rate {
                Some(r) => format!("{} ({})", s.cold_starts, format::percent(r)),
                None => "–".into(),
            },
            init: spread_text(s.init),
            warm: spread_text(s.warm_duration),
            billed: spread_text(s.billed),
            memory: match (s.max_memory_used_mb, s.memory_size_mb) {
                (Some(u), Some(m)) => format!("{u} / {m} MB"),
                _ => "–".into(),
            },
        })
        .collect();
    let mut notes = Vec::new();
    if !server.lambda.is_empty() {
        for i in &server.insights {
            let lambda = server.lambda.iter().find(|l| l.side == i.side);
            if let Some(slow) = i.summary.slowest_minute() {
                notes.push(format!(
                    "{}: slowest minute {} UTC, p99 {} over {} invocations (Logs Insights: {} invocations in the window{})",
                    i.side,
                    escape::text(slow.minute.get(..16).unwrap_or(&slow.minute)),
                    slow.p99_ms.map_or("–".to_string(), |p| format!("{p:.1} ms")),
                    slow.invocations,
                    i.summary.invocations(),
                    match lambda {
                        Some(l) if l.invocations < i.summary.invocations() => format!(
                            "; FilterLogEvents read {} of them",
                            l.invocations
                        ),
                        _ => String::new(),
                    }
                ));
            }
        }
        if let Some(e) = &server.insights_error {
            notes.push(format!(
                "Logs Insights could not be read: {}",
                escape::text(e)
            ));
        }
        if let Some(e) = &server.cost_error {
            notes.push(format!("Cost could not be priced: {}", escape::text(e)));
        }
        for s in &server.lambda {
            if let Some(m) = &s.count_mismatch {
                notes.push(format!("{}: {}", s.side, escape::inline(m)));
            }
            if s.rejected_lines > 0 {
                notes.push(format!(
                    "{}: {} REPORT lines could not be read",
                    s.side, s.rejected_lines
                ));
            }
        }
    }
    let calls = [("head", &server.head_calls), ("base", &server.base_calls)]
        .into_iter()
        .filter(|(_, calls)| !calls.is_empty())
        .map(|(label, calls)| CallGroup {
            label,
            rows: calls
                .iter()
                .map(|c| CallRow {
                    endpoint: cell(&c.endpoint),
                    service: cell(&c.service),
                    operation: c
                        .sql
                        .as_deref()
                        .map(|q| format!("`{}`", escape::cell_code(q)))
                        .or_else(|| c.operation.as_deref().map(cell))
                        .unwrap_or_else(|| "–".into()),
                    count: c.count,
                    mean: format::ms(c.mean_ms),
                    max: format::ms(c.max_ms),
                })
                .collect(),
        })
        .collect();
    ServerSideView {
        lambda,
        notes,
        cost: server.cost.as_ref().map(|c| cost_view(c, true)),
        calls,
        hints: server
            .hints
            .iter()
            .map(|h| escape::inline(&h.message))
            .collect(),
    }
}

/// The section alone as markdown (as the comment includes it).
pub fn markdown(server: &ServerSide) -> Result<String, RenderError> {
    render_template("server_side.md", &view(server))
}

/// The cost table alone as markdown (as the comment shows a cost without a
/// server side).
pub fn cost_table(cost: &CostComparison) -> Result<String, RenderError> {
    render_template(
        "server_side.md",
        &ServerSideView {
            cost: Some(cost_view(cost, false)),
            ..ServerSideView::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::SideCost;
    use crate::server_side::view::tests::{side, x86_cost};
    use crate::server_side::view::{Hint, HintKind};
    use crate::server_side::xray::DownstreamCall;
    use crate::side::Side;

    #[test]
    fn the_fragment_has_every_table() {
        let cost = x86_cost();
        let view = ServerSide {
            insights: Vec::new(),
            insights_error: None,
            cost_error: None,
            lambda: vec![side(1024, 90, 5, 100)],
            cost: Some(CostComparison {
                currency: crate::cost::Currency::USD,
                monthly_requests: Some(1_000_000),
                source: "Lambda REPORT lines".into(),
                base: SideCost {
                    side: Side::Base,
                    ..cost.clone()
                },
                head: cost,
            }),
            head_calls: vec![DownstreamCall {
                endpoint: "GET /orders".into(),
                service: "orders-db".into(),
                operation: None,
                sql: Some("SELECT * FROM t WHERE a | b".into()),
                count: 3,
                mean_ms: 12.0,
                max_ms: 30.0,
            }],
            base_calls: Vec::new(),
            hints: vec![Hint {
                kind: HintKind::Arm64Saving,
                message: "try arm64".into(),
            }],
            window_costs: Vec::new(),
        };
        let md = markdown(&view).unwrap();
        for part in [
            "#### Lambda (from REPORT lines)",
            "| head | 100 | 100 | 5 (5",
            "90 / 1024 MB",
            "#### Cost (Lambda REPORT lines)",
            "| base |",
            "+0",
            "#### Slowest downstream calls (head, X-Ray)",
            "a \\| b",
            "- try arm64",
        ] {
            assert!(md.contains(part), "missing {part:?} in\n{md}");
        }
        assert!(!md.contains("(base, X-Ray)"));
    }

    /// Every branch of the fragment, pinned: two sides (one with a count
    /// mismatch and unreadable lines), the slowest minute with and without a
    /// FilterLogEvents shortfall, an Insights error, the cost with a monthly
    /// projection, calls on both sides, hints; and the cost table alone without
    /// a projection.
    #[test]
    fn the_fragment_word_for_word() {
        use crate::server_side::insights::{InsightsSummary, Minute};
        use crate::server_side::view::SideInsights;
        let cost = x86_cost();
        let mut base = side(1024, 90, 0, 100);
        base.side = Side::Base;
        base.count_mismatch = Some("98 REPORT lines for 100 requests <sent>".into());
        base.rejected_lines = 2;
        base.memory_size_mb = None;
        let head = side(512, 300, 5, 100);
        let minute = |m: &str, p99: f64, n: u64| Minute {
            minute: m.into(),
            invocations: n,
            billed_ms: 1000.0,
            avg_ms: Some(20.0),
            p99_ms: Some(p99),
            max_memory_mb: Some(90.0),
            cold_starts: 0,
        };
        let call = |endpoint: &str, sql: Option<&str>, op: Option<&str>| DownstreamCall {
            endpoint: endpoint.into(),
            service: "orders-db".into(),
            operation: op.map(Into::into),
            sql: sql.map(Into::into),
            count: 3,
            mean_ms: 12.0,
            max_ms: 30.5,
        };
        let comparison = CostComparison {
            currency: crate::cost::Currency::USD,
            monthly_requests: Some(10_000_000),
            source: "Lambda REPORT lines".into(),
            base: SideCost {
                side: Side::Base,
                ..cost.clone()
            },
            head: cost,
        };
        let view = ServerSide {
            insights: vec![
                SideInsights {
                    side: Side::Base,
                    summary: InsightsSummary {
                        minutes: vec![
                            minute("2026-12-03 08:41:00.000", 70.0, 60),
                            minute("2026-12-03 08:42:00.000", 90.0, 60),
                        ],
                    },
                },
                SideInsights {
                    side: Side::Head,
                    summary: InsightsSummary {
                        minutes: vec![minute("2026-12-03 08:43:00.000", 95.0, 100)],
                    },
                },
            ],
            insights_error: Some("AccessDenied for <logs:StartQuery>".into()),
            cost_error: None,
            lambda: vec![base, head],
            cost: Some(comparison.clone()),
            head_calls: vec![
                call("GET /orders", Some("SELECT * FROM t WHERE a | b"), None),
                call("GET /orders", None, Some("GetItem")),
                call("GET /users", None, None),
            ],
            base_calls: vec![call("GET /orders", None, Some("Query"))],
            hints: vec![
                Hint {
                    kind: HintKind::Arm64Saving,
                    message: "try arm64".into(),
                },
                Hint {
                    kind: HintKind::MemoryOverProvisioned,
                    message: "Memory looks over-provisioned: 90 of 1024 MB".into(),
                },
            ],
            window_costs: Vec::new(),
        };
        insta::assert_snapshot!("server_side_fragment", markdown(&view).unwrap());
        let alone = CostComparison {
            monthly_requests: None,
            ..comparison
        };
        insta::assert_snapshot!("cost_table_alone", cost_table(&alone).unwrap());
    }
}
