//! From usage to money: pure functions, no I/O.
//!
//! A side's cost per request is what it used (billed Lambda GB-seconds, invocations,
//! gateway requests, bytes out, or CPU time of a local process) priced with the
//! [`Prices`] in force, divided by the requests the benchmark sent. It is computed per
//! round as well as in total, so the comparison of base and head can use the same
//! statistics over rounds as latency does.

use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{ApiGatewayKind, Architecture, CostError, Currency, Money, Prices};
use crate::side::Side;

/// What one side used in one round (or in total).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// HTTP requests the benchmark sent (the denominator of "per request").
    pub requests: u64,
    /// Response bytes sent to the client (data transfer out).
    pub bytes_out: u64,
    /// Lambda invocations (REPORT lines).
    pub invocations: u64,
    /// Billed Lambda memory x time on x86_64, in MB-milliseconds.
    pub x86_64_mb_ms: u64,
    /// Billed Lambda memory x time on arm64, in MB-milliseconds.
    pub arm64_mb_ms: u64,
    /// Requests that went through an API Gateway of this kind.
    pub gateway: Option<ApiGatewayKind>,
    /// CPU time of a local server process and its children.
    #[serde(with = "opt_secs")]
    pub cpu_time: Option<Duration>,
}

impl Usage {
    /// Count one invocation billed for `billed` at `memory_mb` on `arch`.
    pub fn add_invocation(&mut self, billed: Duration, memory_mb: u32, arch: Architecture) {
        let mb_ms = u64::try_from(billed.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(u64::from(memory_mb));
        self.invocations = self.invocations.saturating_add(1);
        let slot = match arch {
            Architecture::X86_64 => &mut self.x86_64_mb_ms,
            Architecture::Arm64 => &mut self.arm64_mb_ms,
        };
        *slot = slot.saturating_add(mb_ms);
    }

    /// The sum of two usages (the gateway of `self` wins when both name one).
    pub fn merged(&self, other: &Usage) -> Usage {
        Usage {
            requests: self.requests.saturating_add(other.requests),
            bytes_out: self.bytes_out.saturating_add(other.bytes_out),
            invocations: self.invocations.saturating_add(other.invocations),
            x86_64_mb_ms: self.x86_64_mb_ms.saturating_add(other.x86_64_mb_ms),
            arm64_mb_ms: self.arm64_mb_ms.saturating_add(other.arm64_mb_ms),
            gateway: self.gateway.or(other.gateway),
            cpu_time: match (self.cpu_time, other.cpu_time) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            },
        }
    }

    /// Billed GB-seconds on `arch` (1 GB = 1024 MB, as Lambda bills).
    pub fn gb_seconds(&self, arch: Architecture) -> Decimal {
        let mb_ms = match arch {
            Architecture::X86_64 => self.x86_64_mb_ms,
            Architecture::Arm64 => self.arm64_mb_ms,
        };
        Decimal::from(mb_ms) / Decimal::from(1024u32 * 1000)
    }
}

/// A cost split by what it is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostBreakdown {
    /// Lambda compute (GB-seconds x price).
    pub compute: Money,
    /// Lambda request fee.
    pub lambda_requests: Money,
    /// API Gateway request fee.
    pub api_gateway: Money,
    /// Data transfer out.
    pub data_transfer: Money,
    /// CPU time of a local process x the vCPU-hour price.
    pub cpu: Money,
    /// The sum of the above.
    pub total: Money,
}

const MILLION: i64 = 1_000_000;

/// Price `usage` with `prices`.
pub fn price(usage: &Usage, prices: &Prices) -> Result<CostBreakdown, CostError> {
    let currency = prices.vcpu_hour.currency;
    let compute = prices
        .gb_second(Architecture::X86_64)
        .checked_mul(usage.gb_seconds(Architecture::X86_64))?
        .checked_add(
            prices
                .gb_second(Architecture::Arm64)
                .checked_mul(usage.gb_seconds(Architecture::Arm64))?,
        )?;
    let per_unit = |per_1m: Money, count: u64| -> Result<Money, CostError> {
        per_1m.checked_mul(Decimal::from(count) / Decimal::from(MILLION))
    };
    let lambda_requests = per_unit(prices.lambda_requests_per_1m, usage.invocations)?;
    let api_gateway = match usage.gateway.and_then(|g| prices.gateway_per_1m(g)) {
        Some(fee) => per_unit(fee, usage.requests)?,
        None => Money::zero(currency),
    };
    let data_transfer = match prices.data_transfer_per_gb {
        Some(per_gb) => {
            per_gb.checked_mul(Decimal::from(usage.bytes_out) / Decimal::from(1u64 << 30))?
        }
        None => Money::zero(currency),
    };
    let cpu = match usage.cpu_time {
        Some(t) => {
            let seconds = Decimal::from_f64_retain(t.as_secs_f64()).ok_or(CostError::Overflow)?;
            prices
                .vcpu_hour
                .checked_mul(seconds / Decimal::from(3600))?
        }
        None => Money::zero(currency),
    };
    let total = [lambda_requests, api_gateway, data_transfer, cpu]
        .into_iter()
        .try_fold(compute, Money::checked_add)?;
    Ok(CostBreakdown {
        compute,
        lambda_requests,
        api_gateway,
        data_transfer,
        cpu,
        total,
    })
}

/// One round's cost, the unit the comparison's statistics resample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundCost {
    /// 0-based round number.
    pub round: u32,
    /// Requests sent in the round.
    pub requests: u64,
    /// Cost per million requests in the round; `None` when no request was sent.
    pub per_1m: Option<Money>,
}

/// One side's cost over the whole measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideCost {
    /// Which side.
    pub side: Side,
    /// Everything the side used.
    pub usage: Usage,
    /// What it cost, by item.
    pub total: CostBreakdown,
    /// Cost per request; `None` when no request was sent.
    pub per_request: Option<Money>,
    /// Cost per million requests.
    pub per_1m: Option<Money>,
    /// Cost of the configured monthly traffic at this cost per request.
    pub monthly: Option<Money>,
    /// Per round, in round order.
    pub rounds: Vec<RoundCost>,
}

impl SideCost {
    /// Per-round cost per million as plain numbers, for the bootstrap over rounds.
    pub fn round_values(&self) -> Vec<f64> {
        self.rounds
            .iter()
            .filter_map(|r| r.per_1m.map(Money::to_f64))
            .collect()
    }
}

/// Cost per million requests of `usage` (`None` without requests).
pub fn per_million(breakdown: &CostBreakdown, requests: u64) -> Option<Money> {
    if requests == 0 {
        return None;
    }
    breakdown
        .total
        .checked_div(Decimal::from(requests))
        .and_then(|per| per.checked_mul(Decimal::from(MILLION)).ok())
}

/// Price one side: `rounds` are `(round number, usage)` in round order.
pub fn side_cost(
    side: Side,
    rounds: &[(u32, Usage)],
    prices: &Prices,
    monthly_requests: Option<u64>,
) -> Result<SideCost, CostError> {
    let usage = rounds
        .iter()
        .fold(Usage::default(), |acc, (_, u)| acc.merged(u));
    let total = price(&usage, prices)?;
    let per_request = if usage.requests == 0 {
        None
    } else {
        total.total.checked_div(Decimal::from(usage.requests))
    };
    let per_1m = per_million(&total, usage.requests);
    let monthly = match (per_request, monthly_requests) {
        (Some(per), Some(n)) => Some(per.checked_mul(Decimal::from(n))?),
        _ => None,
    };
    let mut round_costs = Vec::with_capacity(rounds.len());
    for (round, u) in rounds {
        let breakdown = price(u, prices)?;
        round_costs.push(RoundCost {
            round: *round,
            requests: u.requests,
            per_1m: per_million(&breakdown, u.requests),
        });
    }
    Ok(SideCost {
        side,
        usage,
        total,
        per_request,
        per_1m,
        monthly,
        rounds: round_costs,
    })
}

/// Base and head priced alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostComparison {
    /// The currency of every amount.
    pub currency: Currency,
    /// Requests per month of the projection, when configured.
    pub monthly_requests: Option<u64>,
    /// Where the usage figures came from (`lambda REPORT lines`, `process CPU time`).
    pub source: String,
    /// The base side.
    pub base: SideCost,
    /// The head side.
    pub head: SideCost,
}

impl CostComparison {
    /// Head's cost per million over base's, minus one (`0.05` is +5 %); `None`
    /// when either side has no requests or base costs nothing.
    pub fn point_change(&self) -> Option<f64> {
        let (b, h) = (self.base.per_1m?, self.head.per_1m?);
        let ratio = h.ratio(b).ok()??;
        use rust_decimal::prelude::ToPrimitive;
        Some(ratio.to_f64()? - 1.0)
    }
}

/// Price local targets by CPU time. `base` and `head` are, per round, `(round,
/// requests, response bytes, CPU time of the server's process tree in that round)`;
/// the CPU time is [`crate::server_side::cpu::CpuReading::since`] of readings taken before and
/// after the round.
pub fn cpu_comparison(
    base: &[(u32, u64, u64, Duration)],
    head: &[(u32, u64, u64, Duration)],
    model: &super::CostModel,
) -> Result<CostComparison, CostError> {
    let prices = model.prices_for(None);
    let rounds = |rows: &[(u32, u64, u64, Duration)]| -> Vec<(u32, Usage)> {
        rows.iter()
            .map(|&(round, requests, bytes_out, cpu)| {
                let usage = Usage {
                    requests,
                    bytes_out,
                    cpu_time: Some(cpu),
                    ..Usage::default()
                };
                (round, usage)
            })
            .collect()
    };
    Ok(CostComparison {
        currency: model.currency,
        monthly_requests: model.monthly_requests,
        source: "process CPU time".into(),
        base: side_cost(Side::Base, &rounds(base), &prices, model.monthly_requests)?,
        head: side_cost(Side::Head, &rounds(head), &prices, model.monthly_requests)?,
    })
}

mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let secs: Option<f64> = Option::deserialize(d)?;
        secs.map(|s| Duration::try_from_secs_f64(s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn lambda_cost_matches_a_hand_computation() {
        // 10 requests via an HTTP API, each one invocation billed 100 ms at 128 MB, x86.
        let mut usage = Usage {
            requests: 10,
            gateway: Some(ApiGatewayKind::Http),
            ..Usage::default()
        };
        for _ in 0..10 {
            usage.add_invocation(ms(100), 128, Architecture::X86_64);
        }
        let b = price(&usage, &Prices::aws_defaults()).unwrap();
        // 10 x 0.1 s x 0.125 GB = 0.125 GB-s x 0.0000166667 = 0.0000020833375
        assert_eq!(b.compute.amount.normalize().to_string(), "0.0000020833375");
        // 10 x 0.20 / 1e6 = 0.000002 ; 10 x 1.00 / 1e6 = 0.00001
        assert_eq!(b.lambda_requests.amount.normalize().to_string(), "0.000002");
        assert_eq!(b.api_gateway.amount.normalize().to_string(), "0.00001");
        assert_eq!(b.total.amount.normalize().to_string(), "0.0000140833375");
        let per_1m = per_million(&b, 10).unwrap();
        assert_eq!(per_1m.amount.normalize().to_string(), "1.40833375");
    }

    #[test]
    fn arm64_is_cheaper_per_gb_second() {
        let mut x86 = Usage::default();
        x86.add_invocation(ms(1000), 1024, Architecture::X86_64);
        let mut arm = Usage::default();
        arm.add_invocation(ms(1000), 1024, Architecture::Arm64);
        let p = Prices::aws_defaults();
        assert!(price(&arm, &p).unwrap().total < price(&x86, &p).unwrap().total);
        assert_eq!(x86.gb_seconds(Architecture::X86_64), Decimal::ONE);
    }

    #[test]
    fn cpu_time_is_priced_by_the_vcpu_hour() {
        let usage = Usage {
            requests: 1000,
            cpu_time: Some(Duration::from_secs(36)),
            ..Usage::default()
        };
        let b = price(&usage, &Prices::aws_defaults()).unwrap();
        // 36 s = 0.01 h x 0.04048 = 0.0004048
        assert_eq!(b.cpu.amount.normalize().to_string(), "0.0004048");
        assert_eq!(b.total, b.cpu);
    }

    #[test]
    fn side_cost_has_rounds_and_a_projection() {
        let round = |n: u32, requests: u64| {
            let mut u = Usage {
                requests,
                ..Usage::default()
            };
            for _ in 0..requests {
                u.add_invocation(ms(10), 256, Architecture::Arm64);
            }
            (n, u)
        };
        let rounds = vec![round(0, 4), round(1, 0), round(2, 6)];
        let side = side_cost(
            Side::Head,
            &rounds,
            &Prices::aws_defaults(),
            Some(1_000_000),
        )
        .unwrap();
        assert_eq!(side.usage.requests, 10);
        assert_eq!(side.rounds.len(), 3);
        assert!(side.rounds[1].per_1m.is_none());
        assert_eq!(side.round_values().len(), 2);
        assert_eq!(side.monthly, side.per_1m);
    }

    #[test]
    fn no_requests_is_no_cost_per_request() {
        let side = side_cost(Side::Base, &[], &Prices::aws_defaults(), Some(5)).unwrap();
        assert!(side.per_request.is_none() && side.per_1m.is_none() && side.monthly.is_none());
    }

    #[test]
    fn cpu_comparison_prices_both_sides_per_round() {
        let model = crate::cost::CostModel {
            monthly_requests: Some(1_000_000),
            ..crate::cost::CostModel::default()
        };
        let s = Duration::from_secs;
        let c = cpu_comparison(
            &[(0, 1000, 0, s(36)), (1, 1000, 0, s(36))],
            &[(0, 1000, 0, s(72)), (1, 1000, 0, s(72))],
            &model,
        )
        .unwrap();
        // base: 72 s = 0.02 h x $0.04048 = $0.0008096 for 2000 requests = $0.4048 per 1M
        assert_eq!(
            c.base.per_1m.unwrap().amount.normalize().to_string(),
            "0.4048"
        );
        assert_eq!(c.head.round_values().len(), 2);
        assert!((c.point_change().unwrap() - 1.0).abs() < 1e-9);
    }
}
