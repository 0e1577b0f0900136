//! The right-sizing table (`deploy.cloudformation.sweep`): per value of the swept
//! parameter, head's p99, cost per 1M requests, cold starts and whether it met the
//! SLOs, then the cheapest value that did. Every cell is formatted and escaped here;
//! `templates/comment.md.j2` lays it out.

use serde::Serialize;

use super::escape;
use crate::judge::verdict::Level;
use crate::results::{Rightsizing, RunResults};

/// The table as the template shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RightsizingView {
    /// The parameter in a heading (`` `MemorySize` ``).
    pub parameter: String,
    /// The parameter as the first column's header (escaped for a table cell).
    pub column: String,
    /// One row per value, in the order written.
    pub rows: Vec<RightsizingRowView>,
    /// The closing sentence: the cheapest value that met every SLO, or that none did.
    pub cheapest: String,
    /// Why a value could not be measured, one line per such value.
    pub errors: Vec<String>,
}

/// One value's row.
#[derive(Debug, Clone, Serialize)]
pub struct RightsizingRowView {
    /// The value (`` `1024` ``).
    pub value: String,
    /// `100.00 ms` or `–`.
    pub p99: String,
    /// `3.91 USD` or `–`.
    pub cost: String,
    /// `1` or `–`.
    pub cold_starts: String,
    /// `210.4 ms` or `–`.
    pub init_p99: String,
    /// `✅ met`, `❌ not met`, `⚠️ not measured`.
    pub slos: String,
}

/// The view of `results`' right-sizing, when the run had one.
pub fn view(results: &RunResults) -> Option<RightsizingView> {
    results.rightsizing.as_ref().map(build)
}

fn build(table: &Rightsizing) -> RightsizingView {
    let code = |s: &str| format!("`{}`", escape::code(s));
    let cell = |s: &str| format!("`{}`", escape::cell_code(s));
    let money = |m: crate::cost::Money| format!("{:.2} {}", m.round(2).amount, m.currency);
    let rows = table
        .rows
        .iter()
        .map(|r| RightsizingRowView {
            value: cell(&r.value),
            p99: r.p99_ms.map_or("–".into(), |p| format!("{p:.2} ms")),
            cost: r.cost_per_1m.map_or("–".into(), money),
            cold_starts: r.cold_starts.map_or("–".into(), |c| c.to_string()),
            init_p99: r.init_p99_ms.map_or("–".into(), |p| format!("{p:.1} ms")),
            slos: match (&r.error, r.level) {
                (Some(_), _) | (None, Level::Error) => "⚠️ not measured",
                (None, Level::Pass | Level::Warn) => "✅ met",
                (None, Level::Fail) => "❌ not met",
            }
            .to_string(),
        })
        .collect();
    let cheapest = match table.cheapest() {
        Some(r) => format!(
            "**Cheapest that meets the SLOs: {} = {}** ({} per 1M requests).",
            code(&table.parameter),
            code(&r.value),
            r.cost_per_1m.map(money).unwrap_or_default()
        ),
        None => "No value met every SLO with a measured cost.".to_string(),
    };
    RightsizingView {
        parameter: code(&table.parameter),
        column: cell(&table.parameter),
        rows,
        cheapest,
        errors: table
            .rows
            .iter()
            .filter_map(|r| {
                r.error
                    .as_deref()
                    .map(|e| format!("{}: {}", code(&r.value), escape::text(e)))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{Currency, Money};
    use crate::results::RightsizingRow;
    use rust_decimal::Decimal;

    #[test]
    fn cells_are_formatted_and_escaped() {
        let row = |value: &str, cents: Option<i64>, level, error: Option<&str>| RightsizingRow {
            value: value.into(),
            p99_ms: Some(100.0),
            cost_per_1m: cents.map(|c| Money::new(Decimal::new(c, 2), Currency::USD)),
            cold_starts: Some(1),
            init_p99_ms: Some(210.4),
            level,
            error: error.map(str::to_string),
        };
        let v = build(&Rightsizing {
            parameter: "MemorySize".into(),
            rows: vec![
                row("512", Some(300), Level::Fail, None),
                row("1024", Some(391), Level::Pass, None),
                row("a|b", None, Level::Error, Some("stack <b>failed</b>")),
            ],
        });
        assert_eq!(v.rows[0].cost, "3.00 USD");
        assert_eq!(v.rows[0].slos, "❌ not met");
        assert_eq!(v.rows[2].slos, "⚠️ not measured");
        assert!(!v.rows[2].value.contains("a|b"), "{}", v.rows[2].value);
        assert_eq!(
            v.cheapest,
            "**Cheapest that meets the SLOs: `MemorySize` = `1024`** (3.91 USD per 1M requests)."
        );
        assert!(!v.errors[0].contains("<b>"), "{}", v.errors[0]);
    }
}
