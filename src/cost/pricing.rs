//! The price book: what a GB-second, a request, an API Gateway call, a GB out and a
//! vCPU-hour cost, with per-region overrides.
//!
//! Defaults are AWS's published on-demand list prices (us-east-1):
//! <https://aws.amazon.com/lambda/pricing/> (x86 $0.0000166667 and arm64
//! $0.0000133334 per GB-s, $0.20 per million requests) and
//! <https://aws.amazon.com/api-gateway/pricing/> (REST $3.50, HTTP API $1.00 per
//! million). The vCPU-hour default ($0.04048) is Fargate's Linux/x86 price, a fair
//! stand-in for "one core of a small always-on service".

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{CostError, Currency, Money};

/// The CPU architecture of a Lambda function (it sets the GB-second price).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Intel/AMD (`x86_64`), Lambda's default.
    X86_64,
    /// Graviton (`arm64`).
    Arm64,
}

impl Architecture {
    /// Parse Lambda's spelling (`x86_64`, `arm64`).
    pub fn parse(text: &str) -> Option<Architecture> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x86_64" | "x86-64" | "x86" | "amd64" => Some(Architecture::X86_64),
            "arm64" | "aarch64" | "arm" => Some(Architecture::Arm64),
            _ => None,
        }
    }

    /// Lambda's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// Which kind of API Gateway fronts the functions (it sets the per-request fee).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiGatewayKind {
    /// API Gateway REST API (v1, `AWS::ApiGateway::RestApi`, SAM `Api`).
    Rest,
    /// API Gateway HTTP API (v2, `AWS::ApiGatewayV2::Api`, SAM `HttpApi`).
    Http,
    /// No gateway fee (a Lambda function URL, an ALB priced elsewhere, a local target).
    None,
}

/// Prices in force for one region. Every price is in [`CostModel::currency`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Lambda compute per GB-second on x86_64.
    pub x86_64_gb_second: Money,
    /// Lambda compute per GB-second on arm64.
    pub arm64_gb_second: Money,
    /// Lambda request fee per million invocations.
    pub lambda_requests_per_1m: Money,
    /// API Gateway REST API per million requests.
    pub rest_api_per_1m: Money,
    /// API Gateway HTTP API per million requests.
    pub http_api_per_1m: Money,
    /// Data transfer out per GiB, when it should be counted.
    pub data_transfer_per_gb: Option<Money>,
    /// One vCPU for one hour (the CPU-time model of local targets).
    pub vcpu_hour: Money,
}

impl Prices {
    /// AWS list prices in USD (us-east-1).
    pub fn aws_defaults() -> Prices {
        let usd =
            |mantissa: i64, scale: u32| Money::new(Decimal::new(mantissa, scale), Currency::USD);
        Prices {
            x86_64_gb_second: usd(166_667, 10),
            arm64_gb_second: usd(133_334, 10),
            lambda_requests_per_1m: usd(20, 2),
            rest_api_per_1m: usd(350, 2),
            http_api_per_1m: usd(100, 2),
            data_transfer_per_gb: None,
            vcpu_hour: usd(4048, 5),
        }
    }

    /// The GB-second price of `arch`.
    pub fn gb_second(&self, arch: Architecture) -> Money {
        match arch {
            Architecture::X86_64 => self.x86_64_gb_second,
            Architecture::Arm64 => self.arm64_gb_second,
        }
    }

    /// The gateway fee per million requests of `kind`.
    pub fn gateway_per_1m(&self, kind: ApiGatewayKind) -> Option<Money> {
        match kind {
            ApiGatewayKind::Rest => Some(self.rest_api_per_1m),
            ApiGatewayKind::Http => Some(self.http_api_per_1m),
            ApiGatewayKind::None => None,
        }
    }

    fn all(&self) -> impl Iterator<Item = Money> + '_ {
        [
            Some(self.x86_64_gb_second),
            Some(self.arm64_gb_second),
            Some(self.lambda_requests_per_1m),
            Some(self.rest_api_per_1m),
            Some(self.http_api_per_1m),
            self.data_transfer_per_gb,
            Some(self.vcpu_hour),
        ]
        .into_iter()
        .flatten()
    }
}

/// Per-region changes to the prices; `None` keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceOverrides {
    /// Replaces [`Prices::x86_64_gb_second`].
    pub x86_64_gb_second: Option<Money>,
    /// Replaces [`Prices::arm64_gb_second`].
    pub arm64_gb_second: Option<Money>,
    /// Replaces [`Prices::lambda_requests_per_1m`].
    pub lambda_requests_per_1m: Option<Money>,
    /// Replaces [`Prices::rest_api_per_1m`].
    pub rest_api_per_1m: Option<Money>,
    /// Replaces [`Prices::http_api_per_1m`].
    pub http_api_per_1m: Option<Money>,
    /// Replaces [`Prices::data_transfer_per_gb`].
    pub data_transfer_per_gb: Option<Money>,
    /// Replaces [`Prices::vcpu_hour`].
    pub vcpu_hour: Option<Money>,
}

impl PriceOverrides {
    /// Replace every price this names in `prices`.
    pub fn apply(&self, prices: &mut Prices) {
        let set = |slot: &mut Money, value: Option<Money>| {
            if let Some(v) = value {
                *slot = v;
            }
        };
        set(&mut prices.x86_64_gb_second, self.x86_64_gb_second);
        set(&mut prices.arm64_gb_second, self.arm64_gb_second);
        set(
            &mut prices.lambda_requests_per_1m,
            self.lambda_requests_per_1m,
        );
        set(&mut prices.rest_api_per_1m, self.rest_api_per_1m);
        set(&mut prices.http_api_per_1m, self.http_api_per_1m);
        set(&mut prices.vcpu_hour, self.vcpu_hour);
        if self.data_transfer_per_gb.is_some() {
            prices.data_transfer_per_gb = self.data_transfer_per_gb;
        }
    }
}

/// The `cost:` section of the config: prices, the traffic to project a month at, and
/// what to assume where the deployment does not say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    /// The currency of every price.
    pub currency: Currency,
    /// Prices everywhere a region does not override them.
    pub prices: Prices,
    /// Overrides by AWS region name (`eu-west-1`).
    pub regions: BTreeMap<String, PriceOverrides>,
    /// Requests per month for the monthly projection (`None`: no projection).
    pub monthly_requests: Option<u64>,
    /// The gateway in front of the functions when the stack does not show one.
    pub api_gateway: Option<ApiGatewayKind>,
    /// The architecture when the deploy does not say it (a `command` deploy, an
    /// `Architectures` the template computes); `None`: such functions are not priced.
    pub architecture: Option<Architecture>,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            currency: Currency::USD,
            prices: Prices::aws_defaults(),
            regions: BTreeMap::new(),
            monthly_requests: None,
            api_gateway: None,
            architecture: None,
        }
    }
}

impl CostModel {
    /// Check that every price is in [`CostModel::currency`]; call once after building.
    pub fn validate(&self) -> Result<(), CostError> {
        let regional = self.regions.values().flat_map(|o| {
            [
                o.x86_64_gb_second,
                o.arm64_gb_second,
                o.lambda_requests_per_1m,
                o.rest_api_per_1m,
                o.http_api_per_1m,
                o.data_transfer_per_gb,
                o.vcpu_hour,
            ]
            .into_iter()
            .flatten()
        });
        for price in self.prices.all().chain(regional) {
            if price.currency != self.currency {
                return Err(CostError::CurrencyMismatch(self.currency, price.currency));
            }
        }
        Ok(())
    }

    /// The prices in force in `region` (the defaults when `None` or not overridden).
    pub fn prices_for(&self, region: Option<&str>) -> Prices {
        let mut prices = self.prices.clone();
        if let Some(overrides) = region.and_then(|r| self.regions.get(r)) {
            overrides.apply(&mut prices);
        }
        prices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_published_prices() {
        let p = Prices::aws_defaults();
        assert_eq!(p.x86_64_gb_second.amount.to_string(), "0.0000166667");
        assert_eq!(p.arm64_gb_second.amount.to_string(), "0.0000133334");
        assert_eq!(p.lambda_requests_per_1m.amount.to_string(), "0.20");
        assert_eq!(p.rest_api_per_1m.amount.to_string(), "3.50");
        assert_eq!(p.http_api_per_1m.amount.to_string(), "1.00");
    }

    #[test]
    fn region_overrides_replace_only_what_they_name() {
        let mut model = CostModel::default();
        let cheap = Money::parse("0.000015", Currency::USD).unwrap();
        model.regions.insert(
            "eu-central-1".into(),
            PriceOverrides {
                x86_64_gb_second: Some(cheap),
                ..PriceOverrides::default()
            },
        );
        assert!(model.validate().is_ok());
        let eu = model.prices_for(Some("eu-central-1"));
        assert_eq!(eu.x86_64_gb_second, cheap);
        assert_eq!(eu.arm64_gb_second, model.prices.arm64_gb_second);
        assert_eq!(model.prices_for(Some("us-west-2")), model.prices);
        assert_eq!(model.prices_for(None), model.prices);
    }

    #[test]
    fn mixed_currencies_are_rejected() {
        let mut model = CostModel::default();
        model.prices.vcpu_hour = Money::parse("EUR 0.04", Currency::USD).unwrap();
        assert!(model.validate().is_err());
    }

    #[test]
    fn architectures_parse_lambda_spelling() {
        assert_eq!(Architecture::parse("arm64"), Some(Architecture::Arm64));
        assert_eq!(Architecture::parse("x86_64"), Some(Architecture::X86_64));
        assert_eq!(Architecture::parse("sparc"), None);
    }
}
