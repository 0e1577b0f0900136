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
        for s in &view.lambda {
            if let Some(m) = &s.count_mismatch {
                md.push_str(&format!("\n> {}: {m}.\n", s.side));
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
        md.push_str(&format!("#### Cost ({})\n\n", cost.source));
        md.push_str("| side | per request | per 1M requests | monthly |\n|---|---:|---:|---:|\n");
        for side in [&cost.base, &cost.head] {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                side.side,
                opt_money(side.per_request),
                opt_money(side.per_1m),
                opt_money(side.monthly)
            ));
        }
        if let Some(change) = cost.point_change() {
            md.push_str(&format!(
                "\nHead costs {} per request vs base (point estimate).\n",
                format::signed_percent(change)
            ));
        }
        if let Some(n) = cost.monthly_requests {
            md.push_str(&format!(
                "\nMonthly projection at {n} requests per month.\n"
            ));
        }
        md.push('\n');
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
                .map(|q| format!("`{}`", q.replace('|', "\\|").replace('`', "'")))
                .or_else(|| c.operation.clone())
                .unwrap_or_else(|| "–".into());
            md.push_str(&format!(
                "| {} | {} | {op} | {} | {} | {} |\n",
                c.endpoint,
                c.service,
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
            md.push_str(&format!("- {}\n", h.message));
        }
    }
    md
}
