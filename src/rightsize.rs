//! Right-sizing inside the PR gate (Lambda Power Tuning's question): head is
//! deployed once per value of a template parameter (`sweep: { parameter:
//! MemorySize, values: [512, 1024, 2048] }`), each stack measured with the same
//! rounds and judged by the SLOs alone (as a release gate judges head), and the
//! table says p99, cost per 1M requests and cold starts per value, and which is
//! the cheapest value that meets every SLO. The heuristic hints stay hints: this
//! is measured.
//!
//! Each value is one more stack (`<prefix>-sw<value>-...-head`), created, measured
//! and deleted like any other, in turn, so their costs and cold starts do not mix.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::aws::AwsClients;
use crate::config::{CloudFormationDeploy, Config, Sweep};
use crate::context::RunContext;
use crate::deploy::{CloudFormationDeployer, StackContext};
use crate::judge::verdict::{Level, Metric};
use crate::pipeline::{self, RunOptions};
use crate::progress::Progress;

/// One value of the swept parameter, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// The parameter's value.
    pub value: String,
    /// The highest p99 over the endpoints (ms).
    pub p99_ms: Option<f64>,
    /// Cost per 1M requests over every priced round, in the config's currency.
    pub cost_per_1m: Option<f64>,
    /// Cold starts inside the rounds (REPORT lines with an init duration).
    pub cold_starts: Option<u64>,
    /// p99 of the init durations, the first request's cold start included (ms).
    pub init_p99_ms: Option<f64>,
    /// `pass`, `warn`, `fail` or `error` under the SLOs.
    pub level: Level,
    /// Why the value could not be measured, when it could not.
    pub error: Option<String>,
}

impl SweepRow {
    /// Whether the value meets every SLO.
    pub fn meets_slos(&self) -> bool {
        matches!(self.level, Level::Pass | Level::Warn)
    }
}

/// The whole sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepTable {
    /// The parameter.
    pub parameter: String,
    /// The currency of `cost_per_1m`.
    pub currency: String,
    /// One row per value, in the order written.
    pub rows: Vec<SweepRow>,
}

impl SweepTable {
    /// The cheapest value that meets the SLOs (`None` when none does, or none was
    /// priced).
    pub fn cheapest(&self) -> Option<&SweepRow> {
        self.rows
            .iter()
            .filter(|r| r.meets_slos())
            .filter(|r| r.cost_per_1m.is_some())
            .min_by(|a, b| {
                a.cost_per_1m
                    .partial_cmp(&b.cost_per_1m)
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }

    /// The table as a markdown section of the report.
    pub fn markdown(&self) -> String {
        let code = |s: &str| format!("`{}`", crate::report::escape::code(s));
        let cell = |s: &str| format!("`{}`", crate::report::escape::cell_code(s));
        let mut md = format!(
            "#### Right-sizing: {} on head\n\n| {} | p99 | cost / 1M | cold starts | init p99 | SLOs |\n|---:|---:|---:|---:|---:|---|\n",
            code(&self.parameter),
            cell(&self.parameter)
        );
        for r in &self.rows {
            let slo = match (&r.error, r.level) {
                (Some(_), _) | (None, Level::Error) => "⚠️ not measured",
                (None, Level::Pass | Level::Warn) => "✅ met",
                (None, Level::Fail) => "❌ not met",
            };
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {slo} |\n",
                cell(&r.value),
                r.p99_ms.map_or("–".into(), |p| format!("{p:.2} ms")),
                r.cost_per_1m
                    .map_or("–".into(), |c| format!("{:.2} {}", c, self.currency)),
                r.cold_starts.map_or("–".into(), |c| c.to_string()),
                r.init_p99_ms.map_or("–".into(), |p| format!("{p:.1} ms")),
            ));
        }
        match self.cheapest() {
            Some(r) => md.push_str(&format!(
                "\n**Cheapest that meets the SLOs: {} = {}** ({:.2} {} per 1M requests).\n",
                code(&self.parameter),
                code(&r.value),
                r.cost_per_1m.unwrap_or_default(),
                self.currency
            )),
            None => md.push_str("\nNo value met every SLO with a measured cost.\n"),
        }
        for r in self.rows.iter().filter(|r| r.error.is_some()) {
            md.push_str(&format!(
                "\n> {}: {}\n",
                code(&r.value),
                crate::report::escape::text(r.error.as_deref().unwrap_or_default())
            ));
        }
        md
    }
}

/// A stack-name-safe form of a value (`1024` -> `1024`, `arm64` -> `arm64`).
fn slug(value: &str) -> String {
    let s: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(12)
        .collect::<String>()
        .to_ascii_lowercase();
    if s.is_empty() {
        "v".into()
    } else {
        s
    }
}

/// Measure head once per value of `sweep`, into `out_dir/sweep-<value>/`.
#[expect(clippy::too_many_arguments, reason = "the run's state, passed once")]
pub async fn run(
    config: &Config,
    stack: &CloudFormationDeploy,
    sweep: &Sweep,
    context: &StackContext,
    clients: &AwsClients,
    dir: &Path,
    options: &RunOptions,
    progress: &Progress,
) -> SweepTable {
    let mut rows = Vec::new();
    for value in &sweep.values {
        let mut settings = stack.clone();
        settings.sweep = None;
        settings.stack_prefix = format!("{}-sw{}", stack.stack_prefix, slug(value));
        settings.parameters.retain(|(k, _)| k != &sweep.parameter);
        settings
            .parameters
            .push((sweep.parameter.clone(), value.clone()));
        let deployer = CloudFormationDeployer::new(settings, context.clone(), clients.clone())
            .in_dir(dir.to_path_buf());
        let sub = RunOptions {
            server_side: options.server_side,
            out_dir: options.out_dir.join(format!("sweep-{}", slug(value))),
            context: RunContext {
                kind: "sweep".into(),
                ..options.context.clone()
            },
            release: true,
            history: None,
            shard: None,
            start: None,
            traces: None,
        };
        progress.log(&format!("right-sizing: {} = {value}", sweep.parameter));
        rows.push(
            match pipeline::run(config, &deployer, &sub, progress).await {
                Ok(outcome) => row(value, &outcome.results),
                Err(e) => SweepRow {
                    value: value.clone(),
                    p99_ms: None,
                    cost_per_1m: None,
                    cold_starts: None,
                    init_p99_ms: None,
                    level: Level::Error,
                    error: Some(e.to_string()),
                },
            },
        );
    }
    SweepTable {
        parameter: sweep.parameter.clone(),
        currency: config.cost.currency.to_string(),
        rows,
    }
}

fn row(value: &str, results: &crate::results::RunResults) -> SweepRow {
    let head = |metric: Metric| -> Vec<f64> {
        results
            .comparisons
            .iter()
            .filter_map(|c| c.get(metric).and_then(|m| m.head))
            .collect()
    };
    let p99 = head(Metric::P99).into_iter().reduce(f64::max);
    // What head's priced rounds cost, per 1M of their requests.
    let (mut spent, mut requests) = (0.0, 0u64);
    for record in results
        .endpoints
        .iter()
        .flat_map(|e| e.side(crate::side::Side::Head))
    {
        if let Some(cost) = record.cost {
            spent += cost.to_f64();
            requests += record.data.total();
        }
    }
    let cost = (requests > 0).then(|| spent / requests as f64 * 1e6);
    let cold = results.server.as_ref().and_then(|s| {
        s.lambda
            .iter()
            .find(|l| l.side == crate::side::Side::Head)
            .map(|l| l.cold_starts)
    });
    let init = results.server.as_ref().and_then(|s| {
        s.lambda
            .iter()
            .find(|l| l.side == crate::side::Side::Head)
            .and_then(|l| l.init.map(|i| i.p99_ms))
    });
    SweepRow {
        value: value.to_string(),
        p99_ms: p99,
        cost_per_1m: cost,
        cold_starts: cold,
        init_p99_ms: init,
        level: results.verdict.level,
        error: results.verdict.error.clone(),
    }
}

/// Where the sweep's table is written.
pub fn table_path(out_dir: &Path) -> PathBuf {
    out_dir.join("tailgate-sweep.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(value: &str, cost: Option<f64>, level: Level) -> SweepRow {
        SweepRow {
            value: value.into(),
            p99_ms: Some(100.0),
            cost_per_1m: cost,
            cold_starts: Some(1),
            init_p99_ms: Some(210.4),
            level,
            error: None,
        }
    }

    #[test]
    fn the_cheapest_that_meets_the_slos_wins() {
        let t = SweepTable {
            parameter: "MemorySize".into(),
            currency: "USD".into(),
            rows: vec![
                r("512", Some(3.0), Level::Fail),
                r("1024", Some(4.0), Level::Pass),
                r("2048", Some(5.0), Level::Pass),
            ],
        };
        assert_eq!(t.cheapest().unwrap().value, "1024");
        let md = t.markdown();
        assert!(
            md.contains("| `512` | 100.00 ms | 3.00 USD | 1 | 210.4 ms | ❌ not met |"),
            "{md}"
        );
        assert!(
            md.contains("Cheapest that meets the SLOs: `MemorySize` = `1024`"),
            "{md}"
        );
        assert_eq!(slug("arm64"), "arm64");
        assert_eq!(slug("x86_64"), "x8664");
    }
}
