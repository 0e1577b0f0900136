//! The server-side section of the report: serialisable rows, hints, and a markdown
//! fragment the comment template can include as is. Pure.

use serde::{Deserialize, Serialize};

use super::lambda::LambdaSide;
use super::xray::DownstreamCall;
use crate::cost::{Architecture, CostComparison, Money, Prices, SideCost};
use crate::format;

/// Everything AWS told us about one run, for the results file and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSide {
    /// Base then head, when REPORT lines were read.
    pub lambda: Vec<LambdaSide>,
    /// Base vs head cost, when priced.
    pub cost: Option<CostComparison>,
    /// Slowest downstream calls of head (from X-Ray), when traced.
    pub head_calls: Vec<DownstreamCall>,
    /// Slowest downstream calls of base.
    pub base_calls: Vec<DownstreamCall>,
    /// What the data suggests.
    pub hints: Vec<Hint>,
    /// Logs Insights' per-minute view of each side, when it was asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insights: Vec<SideInsights>,
    /// Why the Logs Insights query failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insights_error: Option<String>,
    /// The cost of each window passed to [`super::server_side`], in its order
    /// (`None` where the side has no functions or could not be priced): the
    /// per-round values the comparison resamples.
    #[serde(skip)]
    pub window_costs: Vec<Option<Money>>,
}

/// One side's Logs Insights summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideInsights {
    /// The side.
    pub side: crate::side::Side,
    /// Per minute.
    pub summary: super::insights::InsightsSummary,
}

/// What kind of suggestion a hint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HintKind {
    /// Peak memory far below the configured size.
    MemoryOverProvisioned,
    /// Cold starts are frequent and slow enough to set p99.
    ColdStartsDominateP99,
    /// The same work on arm64 would cost less.
    Arm64Saving,
}

/// One suggestion, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hint {
    /// What kind.
    pub kind: HintKind,
    /// One sentence for the comment.
    pub message: String,
}

/// Hints for head (the code under review), from its REPORT lines and cost.
/// `head_p99_ms` is the client-side p99 the benchmark measured.
pub fn hints(
    head: &LambdaSide,
    head_cost: Option<&SideCost>,
    prices: &Prices,
    head_p99_ms: Option<f64>,
) -> Vec<Hint> {
    let mut out = Vec::new();
    if let (Some(size), Some(used)) = (head.memory_size_mb, head.max_memory_used_mb) {
        if size > 256 && u64::from(used) * 100 < u64::from(size) * 40 {
            let suggest = (u64::from(used) * 2).next_power_of_two().max(128);
            out.push(Hint {
                kind: HintKind::MemoryOverProvisioned,
                message: format!(
                    "Memory looks over-provisioned: at most {used} MB used of {size} MB. Try ~{suggest} MB \
                     (CPU scales with memory, so check duration does not grow more than cost falls)."
                ),
            });
        }
    }
    if let (Some(rate), Some(init), Some(p99)) = (head.cold_start_rate, head.init, head_p99_ms) {
        let warm_p99 = head.warm_duration.map_or(0.0, |w| w.p99_ms);
        if rate >= 0.01 && init.p50_ms > warm_p99 && init.p50_ms >= 0.5 * p99 {
            out.push(Hint {
                kind: HintKind::ColdStartsDominateP99,
                message: format!(
                    "Cold starts set the tail: {} of {} invocations ({}) were cold, with init p50 {} against a \
                     p99 of {}. Provisioned concurrency, SnapStart or a smaller package would help.",
                    head.cold_starts,
                    head.invocations,
                    format::percent(rate),
                    format::ms(init.p50_ms),
                    format::ms(p99)
                ),
            });
        }
    }
    if let Some(cost) = head_cost {
        let gb_s = cost.usage.gb_seconds(Architecture::X86_64);
        if !gb_s.is_zero() && cost.usage.requests > 0 {
            let per_gb_s = prices
                .x86_64_gb_second
                .amount
                .checked_sub(prices.arm64_gb_second.amount)
                .unwrap_or_default();
            let saving = Money::new(per_gb_s * gb_s, prices.x86_64_gb_second.currency);
            let per_1m = saving
                .checked_div(rust_decimal::Decimal::from(cost.usage.requests))
                .and_then(|m| m.checked_mul(rust_decimal::Decimal::from(1_000_000)).ok());
            if let Some(per_1m) = per_1m.filter(|m| m.amount > rust_decimal::Decimal::ZERO) {
                out.push(Hint {
                    kind: HintKind::Arm64Saving,
                    message: format!(
                        "At the measured duration, arm64 would save {per_1m} per 1M requests on compute \
                         (if the code runs as fast on Graviton)."
                    ),
                });
            }
        }
    }
    out
}

fn opt_money(m: Option<Money>) -> String {
    m.map_or_else(|| "n/a".to_string(), |m| m.to_string())
}

fn spread_text(s: Option<super::lambda::Spread>) -> String {
    s.map_or_else(
        || "–".to_string(),
        |s| format!("{} / {}", format::ms(s.p50_ms), format::ms(s.p99_ms)),
    )
}

/// Text from a trace made safe for one table cell (and inert: no HTML, links or
/// mentions).
fn cell(text: &str) -> String {
    crate::report::escape::text(text)
}

/// The cost of both sides under a heading (for the server-side section).
pub fn cost_markdown(cost: &CostComparison) -> String {
    format!(
        "#### Cost ({})\n\n{}",
        crate::report::escape::inline(&cost.source),
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
                    crate::report::escape::text(slow.minute.get(..16).unwrap_or(&slow.minute)),
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
                crate::report::escape::text(e)
            ));
        }
        for s in &view.lambda {
            if let Some(m) = &s.count_mismatch {
                md.push_str(&format!(
                    "\n> {}: {}.\n",
                    s.side,
                    crate::report::escape::inline(m)
                ));
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
                .map(|q| format!("`{}`", crate::report::escape::cell_code(q)))
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
            md.push_str(&format!(
                "- {}\n",
                crate::report::escape::inline(&h.message)
            ));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::lambda::Spread;
    use crate::cost::{side_cost, Usage};
    use crate::side::Side;

    fn spread(p50_ms: f64, p99_ms: f64) -> Option<Spread> {
        Some(Spread {
            count: 10,
            p50_ms,
            p99_ms,
            max_ms: p99_ms,
        })
    }

    fn side(memory: u32, used: u32, cold: u64, invocations: u64) -> LambdaSide {
        LambdaSide {
            side: Side::Head,
            functions: vec!["f".into()],
            invocations,
            requests_sent: invocations,
            count_mismatch: None,
            outside_rounds: 0,
            rejected_lines: 0,
            cold_starts: cold,
            cold_start_rate: Some(cold as f64 / invocations as f64),
            init: (cold > 0).then_some(Spread {
                count: cold,
                p50_ms: 900.0,
                p99_ms: 1200.0,
                max_ms: 1200.0,
            }),
            warm_duration: spread(20.0, 80.0),
            cold_duration: None,
            billed: spread(21.0, 81.0),
            memory_size_mb: Some(memory),
            max_memory_used_mb: Some(used),
            failed_invocations: 0,
        }
    }

    fn x86_cost() -> SideCost {
        let mut usage = Usage {
            requests: 100,
            ..Usage::default()
        };
        for _ in 0..100 {
            usage.add_invocation(
                std::time::Duration::from_millis(100),
                1024,
                Architecture::X86_64,
            );
        }
        side_cost(Side::Head, &[(0, usage)], &Prices::aws_defaults(), None).unwrap()
    }

    #[test]
    fn each_hint_fires_only_on_its_evidence() {
        let prices = Prices::aws_defaults();
        let busy = side(1024, 700, 0, 100);
        assert!(hints(&busy, None, &prices, Some(100.0)).is_empty());

        let idle = side(1024, 90, 0, 100);
        let h = hints(&idle, None, &prices, Some(100.0));
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].kind, HintKind::MemoryOverProvisioned);
        assert!(
            h[0].message.contains("90 MB used of 1024 MB"),
            "{}",
            h[0].message
        );

        let cold = side(1024, 700, 5, 100);
        let h = hints(&cold, None, &prices, Some(1000.0));
        assert_eq!(
            h.iter().map(|h| h.kind).collect::<Vec<_>>(),
            vec![HintKind::ColdStartsDominateP99]
        );
        assert!(
            hints(&cold, None, &prices, Some(5000.0)).is_empty(),
            "p99 far above init: not cold starts"
        );

        let h = hints(&busy, Some(&x86_cost()), &prices, None);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].kind, HintKind::Arm64Saving);
        // 100 x 0.1 s x 1 GB = 10 GB-s x (0.0000166667 - 0.0000133334) = $0.000033333
        // per 100 requests = $0.33333 per 1M
        assert!(h[0].message.contains("$0.333"), "{}", h[0].message);
    }

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
}
