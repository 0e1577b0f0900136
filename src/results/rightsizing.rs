//! Right-sizing measured inside the PR gate (Lambda Power Tuning's question): head
//! deployed once per value of a template parameter and judged by its SLOs alone.
//! The gate fills it in (`gate::rightsize`); the report lays it out.

use serde::{Deserialize, Serialize};

use crate::cost::Money;
use crate::judge::verdict::Level;

/// One value of the swept parameter, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RightsizingRow {
    /// The parameter's value.
    pub value: String,
    /// The highest p99 over the endpoints (ms).
    pub p99_ms: Option<f64>,
    /// Cost per 1M requests over every priced round of head.
    pub cost_per_1m: Option<Money>,
    /// Cold starts inside the rounds (REPORT lines with an init duration).
    pub cold_starts: Option<u64>,
    /// p99 of the init durations, the first request's cold start included (ms).
    pub init_p99_ms: Option<f64>,
    /// `pass`, `warn`, `fail` or `error` under the SLOs.
    pub level: Level,
    /// Why the value could not be measured, when it could not.
    pub error: Option<String>,
}

impl RightsizingRow {
    /// Whether the value meets every SLO.
    pub fn meets_slos(&self) -> bool {
        matches!(self.level, Level::Pass | Level::Warn)
    }
}

/// Every value of the swept parameter, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rightsizing {
    /// The template parameter (`MemorySize`).
    pub parameter: String,
    /// One row per value, in the order written.
    pub rows: Vec<RightsizingRow>,
}

impl Rightsizing {
    /// The cheapest value that meets the SLOs (`None` when none does, or none was
    /// priced). Amounts of different currencies are never compared: the first
    /// priced row's currency is the table's.
    pub fn cheapest(&self) -> Option<&RightsizingRow> {
        let currency = self.rows.iter().find_map(|r| r.cost_per_1m)?.currency;
        self.rows
            .iter()
            .filter(|r| r.meets_slos())
            .filter(|r| r.cost_per_1m.is_some_and(|c| c.currency == currency))
            .min_by_key(|r| r.cost_per_1m.map(|c| c.amount))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::Currency;
    use rust_decimal::Decimal;

    fn r(value: &str, cost: Option<i64>, level: Level) -> RightsizingRow {
        RightsizingRow {
            value: value.into(),
            p99_ms: Some(100.0),
            cost_per_1m: cost.map(|c| Money::new(Decimal::from(c), Currency::USD)),
            cold_starts: Some(1),
            init_p99_ms: Some(210.4),
            level,
            error: None,
        }
    }

    #[test]
    fn the_cheapest_that_meets_the_slos_wins() {
        let t = Rightsizing {
            parameter: "MemorySize".into(),
            rows: vec![
                r("512", Some(3), Level::Fail),
                r("1024", Some(4), Level::Pass),
                r("2048", Some(5), Level::Pass),
                r("4096", None, Level::Pass),
            ],
        };
        assert_eq!(t.cheapest().unwrap().value, "1024");
        let none = Rightsizing {
            parameter: "MemorySize".into(),
            rows: vec![r("512", Some(3), Level::Fail), r("1024", None, Level::Pass)],
        };
        assert_eq!(none.cheapest(), None);
    }
}
