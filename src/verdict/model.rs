//! The comparison the verdict rules read: per endpoint and metric, base, head and
//! the change between them with its interval and state.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A metric compared between base and head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Median latency.
    P50,
    /// 95th percentile latency.
    P95,
    /// 99th percentile latency.
    P99,
    /// 99.9th percentile latency.
    P999,
    /// Failed / all requests.
    ErrorRate,
    /// Successful requests per second.
    Throughput,
}

impl Metric {
    /// The latency percentiles, in report order.
    pub const LATENCIES: [Metric; 4] = [Metric::P50, Metric::P95, Metric::P99, Metric::P999];

    /// Every metric, in report order.
    pub const ALL: [Metric; 6] = [
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::P999,
        Metric::ErrorRate,
        Metric::Throughput,
    ];

    /// The quantile of a latency metric.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Metric::P50 => Some(0.50),
            Metric::P95 => Some(0.95),
            Metric::P99 => Some(0.99),
            Metric::P999 => Some(0.999),
            Metric::ErrorRate | Metric::Throughput => None,
        }
    }

    /// Whether a larger value is worse.
    pub fn higher_is_worse(self) -> bool {
        !matches!(self, Metric::Throughput)
    }

    /// Short label (`p99`, `error rate`).
    pub fn label(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::P999 => "p99.9",
            Metric::ErrorRate => "error rate",
            Metric::Throughput => "throughput",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What the statistics say about a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    /// The whole interval is on the better side of the noise floor.
    Improved,
    /// The interval lies inside the tolerance band.
    Unchanged,
    /// The whole interval is on the worse side of the noise floor.
    Regressed,
    /// The interval straddles the noise floor: more data is needed to tell.
    Inconclusive,
    /// A side has no data for this metric (e.g. no successful request).
    NoData,
}

impl ChangeState {
    /// Lower-case word for reports.
    pub fn label(self) -> &'static str {
        match self {
            ChangeState::Improved => "improved",
            ChangeState::Unchanged => "unchanged",
            ChangeState::Regressed => "regressed",
            ChangeState::Inconclusive => "inconclusive",
            ChangeState::NoData => "no data",
        }
    }
}

/// How a change is expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// head / base (latencies, throughput).
    Ratio,
    /// head - base (error rate, as a fraction).
    Difference,
}

/// A change between base and head with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Ratio or difference.
    pub kind: ChangeKind,
    /// Point estimate.
    pub point: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
}

impl Change {
    /// The point estimate as a relative change (`+0.35` for a ratio of 1.35).
    pub fn relative(&self) -> f64 {
        match self.kind {
            ChangeKind::Ratio => self.point - 1.0,
            ChangeKind::Difference => self.point,
        }
    }
}

/// One metric of one endpoint, base vs head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// Which metric.
    pub metric: Metric,
    /// Base value (ms for latencies, fraction for error rate, req/s for throughput).
    pub base: Option<f64>,
    /// Head value, same unit.
    pub head: Option<f64>,
    /// The change with its interval, when both sides have data.
    pub change: Option<Change>,
    /// What the statistics conclude.
    pub state: ChangeState,
}

/// All metrics of one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointComparison {
    /// The endpoint's name.
    pub endpoint: String,
    /// One entry per metric in [`Metric::ALL`] order.
    pub metrics: Vec<MetricComparison>,
}

impl EndpointComparison {
    /// The comparison of `metric`, if present.
    pub fn get(&self, metric: Metric) -> Option<&MetricComparison> {
        self.metrics.iter().find(|m| m.metric == metric)
    }
}
