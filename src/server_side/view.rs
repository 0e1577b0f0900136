//! The server-side section of a run as data: serialisable rows and hints (the
//! report words them as markdown, `report/server_side.rs`). Pure.

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
    /// Why the sides could not be priced, when they could not (a function whose
    /// architecture is not known: a price is never guessed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_error: Option<String>,
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cost::{side_cost, Usage};
    use crate::server_side::lambda::Spread;
    use crate::side::Side;

    pub(crate) fn spread(p50_ms: f64, p99_ms: f64) -> Option<Spread> {
        Some(Spread {
            count: 10,
            p50_ms,
            p99_ms,
            max_ms: p99_ms,
        })
    }

    pub(crate) fn side(memory: u32, used: u32, cold: u64, invocations: u64) -> LambdaSide {
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

    pub(crate) fn x86_cost() -> SideCost {
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
}
