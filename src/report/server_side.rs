//! The server-side section of the comment: a markdown fragment from the rows of
//! [`crate::server_side::view`] (REPORT lines, cost, X-Ray, hints), every outside
//! string through the one escape.

use super::escape;
use crate::cost::{CostComparison, Money};
use crate::format;
use crate::server_side::lambda::Spread;
use crate::server_side::ServerSide;

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

/// The cost of both sides under a heading (for the server-side section).
pub fn cost_markdown(cost: &CostComparison) -> String {
    format!(
        "#### Cost ({})\n\n{}",
        escape::inline(&cost.source),
        cost_table(cost)
    )
}

/// The cost of both sides as a markdown table, in units people read: per million
/// requests, and the monthly projection only when `cost.monthly_requests` is set.
pub fn cost_table(cost: &CostComparison) -> String {
    let monthly = cost.monthly_requests;
    let mut md = String::from("| side | per 1M requests |");
    if let Some(n) = monthly {
        md.push_str(&format!(" per month ({} requests) |", format::thousands(n)));
    }
    md.push_str(if monthly.is_some() {
        "\n|---|---:|---:|\n"
    } else {
        "\n|---|---:|\n"
    });
    for side in [&cost.base, &cost.head] {
        md.push_str(&format!("| {} | {} |", side.side, opt_money(side.per_1m)));
        if monthly.is_some() {
            md.push_str(&format!(" {} |", opt_money(side.monthly)));
        }
        md.push('\n');
    }
    if let Some(change) = cost.point_change() {
        md.push_str(&format!(
            "\nHead costs {} per request vs base (point estimate over the whole run; the \
             per-endpoint changes above carry their intervals).\n",
            format::signed_percent(change)
        ));
    }
    md.push('\n');
    md
}

/// A markdown fragment: cold starts and memory per side, cost base vs head, the
/// slowest downstream calls, hints. Every number is in a table.
pub fn markdown(view: &ServerSide) -> String {
    let mut md = String::new();
    if !view.lambda.is_empty() {
        md.push_str("#### Lambda (from REPORT lines)\n\n");
        md.push_str("| side | invocations | requests | cold starts | init p50 / p99 | warm p50 / p99 | billed p50 / p99 | memory used / size |\n");
        md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for s in &view.lambda {
            let cold = match s.cold_start_rate {
                Some(r) => format!("{} ({})", s.cold_starts, format::percent(r)),
                None => "–".into(),
            };
            let mem = match (s.max_memory_used_mb, s.memory_size_mb) {
                (Some(u), Some(m)) => format!("{u} / {m} MB"),
                _ => "–".into(),
            };
            md.push_str(&format!(
                "| {} | {} | {} | {cold} | {} | {} | {} | {mem} |\n",
                s.side,
                s.invocations,
                s.requests_sent,
                spread_text(s.init),
                spread_text(s.warm_duration),
                spread_text(s.billed),
            ));
        }
        for i in &view.insights {
            let lambda = view.lambda.iter().find(|l| l.side == i.side);
            if let Some(slow) = i.summary.slowest_minute() {
                md.push_str(&format!(
                    "\n> {}: slowest minute {} UTC, p99 {} over {} invocations (Logs Insights: {} invocations in the window{}).\n",
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
        if let Some(e) = &view.insights_error {
            md.push_str(&format!(
                "\n> Logs Insights could not be read: {}.\n",
                escape::text(e)
            ));
        }
        for s in &view.lambda {
            if let Some(m) = &s.count_mismatch {
                md.push_str(&format!("\n> {}: {}.\n", s.side, escape::inline(m)));
            }
            if s.rejected_lines > 0 {
                md.push_str(&format!(
                    "\n> {}: {} REPORT lines could not be read.\n",
                    s.side, s.rejected_lines
                ));
            }
        }
        md.push('\n');
    }
    if let Some(cost) = &view.cost {
        md.push_str(&cost_markdown(cost));
    }
    for (label, calls) in [("head", &view.head_calls), ("base", &view.base_calls)] {
        if calls.is_empty() {
            continue;
        }
        md.push_str(&format!(
            "#### Slowest downstream calls ({label}, X-Ray)\n\n"
        ));
        md.push_str("| endpoint | service | operation | calls | mean | max |\n|---|---|---|---:|---:|---:|\n");
        for c in calls {
            let op = c
                .sql
                .as_deref()
                .map(|q| format!("`{}`", escape::cell_code(q)))
                .or_else(|| c.operation.as_deref().map(cell))
                .unwrap_or_else(|| "–".into());
            md.push_str(&format!(
                "| {} | {} | {op} | {} | {} | {} |\n",
                cell(&c.endpoint),
                cell(&c.service),
                c.count,
                format::ms(c.mean_ms),
                format::ms(c.max_ms)
            ));
        }
        md.push('\n');
    }
    if !view.hints.is_empty() {
        md.push_str("#### Hints\n\n");
        for h in &view.hints {
            md.push_str(&format!("- {}\n", escape::inline(&h.message)));
        }
    }
    md
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
        let md = markdown(&view);
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
        insta::assert_snapshot!("server_side_fragment", markdown(&view));
        let alone = CostComparison {
            monthly_requests: None,
            ..comparison
        };
        insta::assert_snapshot!("cost_table_alone", cost_table(&alone));
    }
}
