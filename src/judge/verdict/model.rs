//! The comparison the verdict rules read: per endpoint and metric, base, head and
//! the change between them with its interval and state.

use serde::{Deserialize, Serialize};

pub use crate::stats::Metric;

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
    /// The rounds hold too few requests to estimate this percentile (see
    /// [`MetricComparison::not_estimable`]): judged neither way, never a warning.
    NotEstimable,
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
            ChangeState::NotEstimable => "not estimable",
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
    /// Lower end of the interval (`null` in JSON when unbounded).
    #[serde(with = "unbounded_low")]
    pub low: f64,
    /// Upper end of the interval (infinite bounds mean "unbounded"; `null` in JSON).
    #[serde(with = "unbounded_high")]
    pub high: f64,
    /// Confidence level of the interval (Holm-adjusted when the run has several
    /// checks).
    #[serde(default = "default_confidence")]
    pub confidence: f64,
}

fn default_confidence() -> f64 {
    0.95
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
    /// The smallest change in the worse direction this run could have called
    /// regressed (80 % power, at the check's Holm level), as a magnitude: `0.4` is
    /// +40 % latency, a 40 % throughput drop, or +0.4 percentage points of errors.
    /// An inconclusive check whose MDE is above its budget is no warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mde: Option<f64>,
    /// Why a percentile was not judged: the requests a round had and what it needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_estimable: Option<crate::stats::estimable::NotEstimable>,
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

/// An interval bound that may be infinite: JSON has no infinity, so an unbounded
/// end is written as `null` and read back as the infinity of its side.
macro_rules! bound {
    ($name:ident, $infinity:expr) => {
        mod $name {
            use serde::{Deserialize, Deserializer, Serializer};

            pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
                if v.is_finite() {
                    s.serialize_f64(*v)
                } else {
                    s.serialize_none()
                }
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
                Ok(Option::<f64>::deserialize(d)?.unwrap_or($infinity))
            }
        }
    };
}

bound!(unbounded_low, f64::NEG_INFINITY);
bound!(unbounded_high, f64::INFINITY);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbounded_intervals_survive_json() {
        let c = Change {
            kind: ChangeKind::Ratio,
            point: 1.5,
            low: f64::NEG_INFINITY,
            high: f64::INFINITY,
            confidence: 0.95,
        };
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains("\"low\":null"), "{text}");
        let back: Change = serde_json::from_str(&text).unwrap();
        assert_eq!(back, c);
    }
}
