//! What users write in `tailgate.yml`, as serde structs.
//!
//! Every struct denies unknown keys. Leaf values with a format (durations,
//! percentages, budgets, counts, status codes) are newtypes whose `Deserialize`
//! parses and checks the text; the problem is located at the value by its field
//! path (`index.rs`). Whether values make sense together (p50 below p99, a unique
//! endpoint name) is checked later, in `validate.rs`.
//!
//! Most keys are `Option`: a missing key and an explicit `~` both mean "not given"
//! (except `duration`, `requests`, `rate` and `ladder` in `load`, where `~`
//! removes an inherited value), and required keys are checked in `validate.rs` so that all of them are
//! reported at once.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::error::leaf_error;
use super::model::{Fraction, HttpVersion};
use super::units::{self, DURATION_HELP, PERCENT_HELP};

/// The whole file.
#[derive(Debug, Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with keys like `deploy:` and `endpoints:`"
)]
pub(crate) struct RawConfig {
    pub mode: Option<RawMode>,
    pub deploy: Option<RawDeploy>,
    pub load: Option<RawLoad>,
    pub compare: Option<RawCompare>,
    pub defaults: Option<RawDefaults>,
    pub endpoints: Option<Vec<RawEndpoint>>,
    pub tls: Option<RawTls>,
    pub cost: Option<RawCost>,
    pub history: Option<RawHistory>,
    pub accept_label: Option<String>,
    pub traces: Option<RawTraces>,
}

/// `traces:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with keys like `enabled:` and `per_round:`"
)]
pub(crate) struct RawTraces {
    pub enabled: Option<bool>,
    pub per_round: Option<RawWhole>,
    pub every: Option<RawWhole>,
    pub max_spans: Option<RawWhole>,
    pub max_body_kib: Option<RawWhole>,
    pub grace: Option<RawDuration>,
    pub listen: Option<String>,
}

/// `history:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with keys like `store:` and `baseline:`"
)]
pub(crate) struct RawHistory {
    pub store: Option<String>,
    pub region: Option<String>,
    pub branch: Option<String>,
    pub baseline: Option<RawBaseline>,
    pub trend: Option<RawWhole>,
    pub min_runs: Option<RawWhole>,
}

/// `history.baseline:`.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase", expecting = "`fresh` or `stored`")]
pub(crate) enum RawBaseline {
    Fresh,
    Stored,
}

/// `mode:`.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase", expecting = "`blocking` or `advisory`")]
pub(crate) enum RawMode {
    Blocking,
    Advisory,
}

/// `deploy:` (exactly one of the keys).
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with one of `url:`, `local:`, `cloudformation:` or `command:`"
)]
pub(crate) struct RawDeploy {
    pub url: Option<RawUrlDeploy>,
    pub local: Option<RawLocalDeploy>,
    pub cloudformation: Option<RawCloudFormationDeploy>,
    pub command: Option<RawCommandDeploy>,
}

/// `deploy.cloudformation:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with at least `template:`")]
pub(crate) struct RawCloudFormationDeploy {
    pub template: Option<String>,
    pub stack_prefix: Option<String>,
    pub url_output: Option<String>,
    pub sha_parameter: Option<String>,
    pub parameters: Option<StringMap>,
    pub capabilities: Option<Vec<String>>,
    pub region: Option<String>,
    pub timeout: Option<RawDuration>,
    pub poll_interval: Option<RawDuration>,
    pub ttl: Option<RawDuration>,
    pub tags: Option<StringMap>,
    pub ready: Option<RawRemoteReady>,
    pub bucket: Option<String>,
    pub build: Option<String>,
    pub build_timeout: Option<RawDuration>,
    pub worktree: Option<bool>,
    pub sweep: Option<RawSweep>,
}

/// `deploy.cloudformation.sweep:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `parameter:` and `values:`, like `{ parameter: MemorySize, values: [512, 1024] }`"
)]
pub(crate) struct RawSweep {
    pub parameter: Option<String>,
    pub values: Option<Vec<String>>,
}

/// `deploy.command:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with at least `up:`")]
pub(crate) struct RawCommandDeploy {
    pub up: Option<String>,
    pub down: Option<String>,
    pub url_output: Option<String>,
    pub dir: Option<String>,
    pub env: Option<StringMap>,
    pub up_timeout: Option<RawDuration>,
    pub down_timeout: Option<RawDuration>,
    pub ready: Option<RawRemoteReady>,
    pub build: Option<String>,
    pub build_timeout: Option<RawDuration>,
    pub worktree: Option<bool>,
    pub functions: Option<Vec<String>>,
}

/// `cost:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with keys like `monthly_requests:` and `prices:`"
)]
pub(crate) struct RawCost {
    pub currency: Option<String>,
    pub monthly_requests: Option<RawCount>,
    pub api_gateway: Option<RawGateway>,
    pub architecture: Option<RawArchitecture>,
    pub prices: Option<RawPrices>,
    pub regions: Option<std::collections::BTreeMap<String, RawPrices>>,
}

/// `cost.prices:` and each region of `cost.regions:`.
#[derive(Debug, Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of prices like `x86_64_gb_second: \"0.0000166667\"`"
)]
pub(crate) struct RawPrices {
    pub x86_64_gb_second: Option<RawMoney>,
    pub arm64_gb_second: Option<RawMoney>,
    pub lambda_requests_per_1m: Option<RawMoney>,
    pub rest_api_per_1m: Option<RawMoney>,
    pub http_api_per_1m: Option<RawMoney>,
    pub data_transfer_per_gb: Option<RawMoney>,
    pub vcpu_hour: Option<RawMoney>,
}

/// `cost.api_gateway:`.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase", expecting = "`rest`, `http` or `none`")]
pub(crate) enum RawGateway {
    Rest,
    Http,
    None,
}

/// `cost.architecture:`.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(expecting = "`x86_64` or `arm64`")]
pub(crate) enum RawArchitecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

/// `deploy.url:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `base:` and `head:` URLs"
)]
pub(crate) struct RawUrlDeploy {
    pub base: Option<String>,
    pub head: Option<String>,
    pub ready: Option<RawRemoteReady>,
}

/// `ready:` of the `url`, `command` and `cloudformation` deployers.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with keys like `path:`, `timeout:` and `interval:`"
)]
pub(crate) struct RawRemoteReady {
    pub path: Option<String>,
    pub timeout: Option<RawDuration>,
    pub interval: Option<RawDuration>,
    pub status: Option<RawStatusList>,
}

/// `deploy.local:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with at least `command:`")]
pub(crate) struct RawLocalDeploy {
    pub command: Option<String>,
    pub repo: Option<String>,
    pub worktree: Option<bool>,
    pub base_ref: Option<String>,
    pub head_ref: Option<String>,
    pub ready: Option<RawReady>,
    pub stop_timeout: Option<RawDuration>,
    pub env: Option<StringMap>,
}

/// `deploy.local.ready:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `path:` and `timeout:`"
)]
pub(crate) struct RawReady {
    pub path: Option<String>,
    pub timeout: Option<RawDuration>,
}

/// `load:`, at the top level or in an endpoint.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with keys like `connections:` and `duration:`"
)]
pub(crate) struct RawLoad {
    pub connections: Option<RawWhole>,
    /// Outer `None`: not written; `Some(None)`: written as `~`.
    #[serde(default, deserialize_with = "present")]
    pub duration: Option<Option<RawDuration>>,
    /// Outer `None`: not written; `Some(None)`: written as `~`.
    #[serde(default, deserialize_with = "present")]
    pub requests: Option<Option<RawWhole>>,
    pub warmup: Option<RawDuration>,
    pub timeout: Option<RawDuration>,
    /// Outer `None`: not written; `Some(None)`: written as `~` (back to a closed loop).
    #[serde(default, deserialize_with = "present")]
    pub rate: Option<Option<RawRate>>,
    /// Outer `None`: not written; `Some(None)`: written as `~` (back to a closed loop).
    #[serde(default, deserialize_with = "present")]
    pub ladder: Option<Option<RawLadder>>,
    pub http: Option<RawHttp>,
}

/// `load.ladder:`: a list of connection counts, or `{ rate: [...] }`.
#[derive(Debug, Clone)]
pub(crate) enum RawLadder {
    /// `ladder: [1, 10, 100]`: closed-loop connection counts.
    Connections(Vec<RawWhole>),
    /// `ladder: { rate: [100/s, 200/s] }`: open-loop rates (`None`: `rate` left out).
    Rate(Option<Vec<RawRate>>),
}

/// The mapping form of `load.ladder:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping like `{ rate: [100/s, 200/s, 400/s] }`"
)]
struct RawRateLadder {
    rate: Option<Vec<RawRate>>,
}

impl<'de> Deserialize<'de> for RawLadder {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LadderVisitor;

        impl<'de> Visitor<'de> for LadderVisitor {
            type Value = RawLadder;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a list of connection counts like `[1, 10, 100]` or a mapping like `{ rate: [100/s, 200/s] }`",
                )
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut steps = Vec::new();
                while let Some(step) = seq.next_element::<RawWhole>()? {
                    steps.push(step);
                }
                Ok(RawLadder::Connections(steps))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let rates = RawRateLadder::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawLadder::Rate(rates.rate))
            }
        }

        deserializer.deserialize_any(LadderVisitor)
    }
}

/// `tls:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with keys like `ca_file:` and `insecure:`"
)]
pub(crate) struct RawTls {
    pub ca_file: Option<String>,
    pub insecure: Option<bool>,
}

/// `compare:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with keys like `rounds:` and `noise_floor:`"
)]
pub(crate) struct RawCompare {
    pub rounds: Option<RawWhole>,
    pub min_rounds: Option<RawWhole>,
    pub noise_floor: Option<RawPercent>,
    pub confidence: Option<RawPercent>,
    pub resamples: Option<RawWhole>,
    pub seed: Option<RawWhole>,
    pub extend: Option<RawWhole>,
}

/// `defaults:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with `slo:` and `budget:`")]
pub(crate) struct RawDefaults {
    pub slo: Option<RawSlo>,
    pub budget: Option<RawBudget>,
}

/// `slo:`, in `defaults` or in an endpoint.
#[derive(Debug, Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with keys like `p99: 500ms`"
)]
pub(crate) struct RawSlo {
    pub p50: Option<RawDuration>,
    pub p95: Option<RawDuration>,
    pub p99: Option<RawDuration>,
    #[serde(rename = "p99.9", alias = "p999")]
    pub p999: Option<RawDuration>,
    pub error_rate: Option<RawPercent>,
    pub min_throughput: Option<RawNumber>,
    pub cost_per_1m: Option<RawMoney>,
}

/// `budget:`, in `defaults` or in an endpoint.
#[derive(Debug, Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with keys like `p99: +10%`"
)]
pub(crate) struct RawBudget {
    pub p50: Option<RawGrowth>,
    pub p95: Option<RawGrowth>,
    pub p99: Option<RawGrowth>,
    #[serde(rename = "p99.9", alias = "p999")]
    pub p999: Option<RawGrowth>,
    pub error_rate: Option<RawGrowth>,
    pub throughput: Option<RawDrop>,
    pub cost: Option<RawGrowth>,
}

/// One item of `endpoints:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with at least `path:`")]
pub(crate) struct RawEndpoint {
    pub name: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub headers: Option<StringMap>,
    pub body: Option<String>,
    pub body_file: Option<String>,
    pub expect_status: Option<RawStatusList>,
    pub items: Option<Vec<RawItem>>,
    pub items_file: Option<String>,
    pub items_column: Option<String>,
    pub load: Option<RawLoad>,
    pub slo: Option<RawSlo>,
    pub budget: Option<RawBudget>,
}

/// Deserialize a key that is present (possibly `~`) as `Some(..)`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Implement `Deserialize` for a leaf newtype by parsing the scalar's text.
macro_rules! leaf {
    ($ty:ident, $expecting:literal, $parse:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(LeafVisitor {
                    expecting: $expecting,
                    parse: $parse,
                    marker: PhantomData,
                })
            }
        }
    };
}

/// A visitor for one scalar whose text `parse` turns into a value or a
/// `(what, help)` complaint.
struct LeafVisitor<T, F> {
    expecting: &'static str,
    parse: F,
    marker: PhantomData<T>,
}

impl<'de, T, F> Visitor<'de> for LeafVisitor<T, F>
where
    F: FnOnce(&str) -> Result<T, (String, &'static str)>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(|(what, help)| leaf_error(what, help))
    }
}

/// A duration: `500ms`, `2s`, `1.5s`, `1m`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawDuration(pub Duration);

leaf!(RawDuration, "a duration like `500ms`", |s: &str| {
    units::parse_duration(s)
        .map(RawDuration)
        .map_err(|e| (e, DURATION_HELP))
});

/// A non-negative percentage: `0.1%`, `95%`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawPercent(pub Fraction);

leaf!(RawPercent, "a percentage like `10%`", |s: &str| {
    units::parse_percent(s)
        .map(RawPercent)
        .map_err(|e| (e, PERCENT_HELP))
});

/// How much head may grow: `+10%` or `10%`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawGrowth(pub Fraction);

const GROWTH_HELP: &str = "a budget is how much head may grow; write +10%";

leaf!(RawGrowth, "a growth budget like `+10%`", |s: &str| {
    match units::parse_signed_percent(s) {
        Ok(v) if v >= 0.0 => Ok(RawGrowth(Fraction(v))),
        Ok(_) => Err((format!("{s:?} is negative"), GROWTH_HELP)),
        Err(e) => Err((e, GROWTH_HELP)),
    }
});

/// How much head's throughput may drop: `-10%` or `10%`, stored positive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawDrop(pub Fraction);

const DROP_HELP: &str = "the throughput budget is how much head may drop; write -10%";

leaf!(RawDrop, "a throughput drop like `-10%`", |s: &str| {
    match units::parse_signed_percent(s) {
        Ok(v) if s.trim_start().starts_with('+') && v != 0.0 => {
            Err((format!("{s:?} is a rise, not a drop"), DROP_HELP))
        }
        Ok(v) => Ok(RawDrop(Fraction(v.abs()))),
        Err(e) => Err((e, DROP_HELP)),
    }
});

/// An amount of money as written (`$2.00`, `0.0000166667`, `EUR 0.20`); checked
/// here, turned into [`crate::cost::Money`] once the config's currency is known.
#[derive(Debug, Clone)]
pub(crate) struct RawMoney(pub String);

const MONEY_HELP: &str = "write an amount like `$2.00` or `\"0.0000166667\"` (quote long decimals)";

leaf!(RawMoney, "an amount like `$2.00`", |s: &str| {
    crate::cost::Money::parse(s, crate::cost::Currency::USD)
        .map(|_| RawMoney(s.to_string()))
        .map_err(|_| (format!("{s:?} is not an amount of money"), MONEY_HELP))
});

/// A count that may use a suffix: `30M`, `1.5k`, `2_000_000`, `1B`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawCount(pub u64);

const COUNT_HELP: &str = "write a number of requests, e.g. `30M` or `2500000`";

leaf!(RawCount, "a count like `30M`", |s: &str| {
    let t = s.trim().replace(['_', ','], "");
    let (number, factor) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        Some('b' | 'B' | 'g' | 'G') => (&t[..t.len() - 1], 1e9),
        _ => (t.as_str(), 1.0),
    };
    let plain = number.bytes().any(|b| b.is_ascii_digit())
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().filter(|&b| b == b'.').count() <= 1;
    match number.parse::<f64>() {
        Ok(v) if plain && (v * factor) < 1e18 && (v * factor).fract() == 0.0 => {
            Ok(RawCount((v * factor) as u64))
        }
        Ok(_) if plain => Err((format!("{s:?} is not a whole count"), COUNT_HELP)),
        _ if t.starts_with('-') => Err((format!("{s:?} is negative"), COUNT_HELP)),
        _ => Err((format!("{s:?} is not a count"), COUNT_HELP)),
    }
});

/// A whole number, not negative: `10`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawWhole(pub u64);

const WHOLE_HELP: &str = "write a whole number, e.g. `10`";

leaf!(RawWhole, "a whole number like `10`", |s: &str| {
    let t = s.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        let what = if t.starts_with('-') {
            format!("{s:?} is negative")
        } else {
            format!("{s:?} is not a whole number")
        };
        return Err((what, WHOLE_HELP));
    }
    t.parse::<u64>().map(RawWhole).map_err(|_| {
        (
            format!("{s:?} is too large (at most {})", u64::MAX),
            WHOLE_HELP,
        )
    })
});

/// A finite, non-negative number: `50` or `12.5`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawNumber(pub f64);

const NUMBER_HELP: &str = "write a plain number of requests per second, e.g. `50`";

leaf!(RawNumber, "a number like `50`", |s: &str| {
    let t = s.trim();
    let digits = t.strip_prefix('+').unwrap_or(t);
    let plain = digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1;
    if t.starts_with('-') {
        return Err((format!("{s:?} is negative"), NUMBER_HELP));
    }
    match digits.parse::<f64>() {
        Ok(v) if plain && v.is_finite() => Ok(RawNumber(v)),
        Ok(v) if plain || v.is_infinite() => Err((format!("{s:?} is too large"), NUMBER_HELP)),
        _ => Err((format!("{s:?} is not a number"), NUMBER_HELP)),
    }
});

/// An arrival rate in requests per second: `200`, `200/s`, `200 rps`, `0.5/s`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRate(pub f64);

/// The highest rate accepted, in requests per second.
pub(crate) const MAX_RATE: f64 = 10_000_000.0;

const RATE_HELP: &str = "write requests per second, e.g. `200/s`";

leaf!(RawRate, "a rate like `200/s`", |s: &str| {
    let t = s.trim();
    let number = ["req/s", "rps", "/s"]
        .iter()
        .find_map(|unit| t.strip_suffix(unit))
        .unwrap_or(t)
        .trim_end();
    let digits = number.strip_prefix('+').unwrap_or(number);
    if number.starts_with('-') {
        return Err((format!("{s:?} is negative"), RATE_HELP));
    }
    let plain = digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1;
    match digits.parse::<f64>() {
        Ok(v) if plain && v > 0.0 && v <= MAX_RATE => Ok(RawRate(v)),
        Ok(v) if plain && v > MAX_RATE => {
            Err((format!("{s:?} is too high (at most 10000000/s)"), RATE_HELP))
        }
        Ok(_) if plain => Err((
            format!("{s:?} sends nothing; a rate must be more than 0"),
            RATE_HELP,
        )),
        _ => Err((format!("{s:?} is not a rate"), RATE_HELP)),
    }
});

/// `http:`: the HTTP version, `"1.1"` or `"2"` (and common spellings of both).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawHttp(pub HttpVersion);

const HTTP_HELP: &str = "write `http: \"1.1\"` (HTTP/1.1, the default) or `http: \"2\"` (HTTP/2)";

leaf!(
    RawHttp,
    "an HTTP version, `\"1.1\"` or `\"2\"`",
    |s: &str| {
        match s.trim().to_ascii_lowercase().as_str() {
            "1.1" | "1" | "h1" | "http/1.1" | "http1.1" | "http1" => {
                Ok(RawHttp(HttpVersion::Http1))
            }
            "2" | "2.0" | "h2" | "h2c" | "http/2" | "http/2.0" | "http2" => {
                Ok(RawHttp(HttpVersion::Http2))
            }
            _ => Err((
                format!("{s:?} is not an HTTP version (the choices are \"1.1\" and \"2\")"),
                HTTP_HELP,
            )),
        }
    }
);

/// An HTTP status code, 100 to 599.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawStatus(pub u16);

const STATUS_HELP: &str = "write a status code from 100 to 599, or a list like `[200, 201]`";

fn parse_status(s: &str) -> Result<RawStatus, (String, &'static str)> {
    match s.trim().parse::<u16>() {
        Ok(code @ 100..=599) => Ok(RawStatus(code)),
        Ok(_) => Err((
            format!("{s} is not an HTTP status code (they run from 100 to 599)"),
            STATUS_HELP,
        )),
        Err(_) => Err((format!("{s:?} is not an HTTP status code"), STATUS_HELP)),
    }
}

leaf!(RawStatus, "a status code like `200`", parse_status);

/// `expect_status:`: one code or a list of codes.
#[derive(Debug, Clone)]
pub(crate) struct RawStatusList(pub Vec<u16>);

impl<'de> Deserialize<'de> for RawStatusList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusListVisitor;

        impl<'de> Visitor<'de> for StatusListVisitor {
            type Value = RawStatusList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a status code like `200` or a list like `[200, 201]`")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_str(&v.to_string())
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                self.visit_str(&v.to_string())
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_status(v)
                    .map(|code| RawStatusList(vec![code.0]))
                    .map_err(|(what, help)| leaf_error(what, help))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut codes = Vec::new();
                while let Some(code) = seq.next_element::<RawStatus>()? {
                    codes.push(code.0);
                }
                Ok(RawStatusList(codes))
            }
        }

        deserializer.deserialize_any(StatusListVisitor)
    }
}

/// One value of `items:`: a scalar, taken as written (`42` is the text `42`).
#[derive(Debug, Clone)]
pub(crate) struct RawItem(pub String);

impl<'de> Deserialize<'de> for RawItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;

        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = RawItem;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a text or a number, like `ada` or `42`")
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Err(leaf_error(
                    "an item is empty (null)".to_string(),
                    "write a value, or quote it to send the text: `\"~\"`",
                ))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                self.visit_none()
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                String::deserialize(d).map(RawItem)
            }
        }

        deserializer.deserialize_option(ItemVisitor)
    }
}

/// A mapping of names to text values (`headers:`, `env:`), in file order.
/// Scalars are taken as written (`PORT: 8080` is the text `8080`).
#[derive(Debug, Clone, Default)]
pub(crate) struct StringMap(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;

        impl<'de> Visitor<'de> for MapVisitor {
            type Value = StringMap;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names to values, like `Accept: application/json`")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, String)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(k, _)| *k == key) {
                        // Two keys the parser tells apart (`1` and `"1"`) but that
                        // are the same name.
                        return Err(leaf_error(
                            format!("`{key}` is given twice"),
                            "keep one of the two",
                        ));
                    }
                    let value = map.next_value::<String>()?;
                    entries.push((key, value));
                }
                Ok(StringMap(entries))
            }
        }

        deserializer.deserialize_map(MapVisitor)
    }
}
