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

use std::path::Path;

use crate::aws::AwsClients;
use crate::config::{CloudFormationDeploy, Config, Sweep};
use crate::cost::Money;
use crate::deploy::{CloudFormationDeployer, StackContext};
use crate::gate::{self, RunOptions};
use crate::judge::verdict::{Level, Metric};
use crate::progress::Progress;
use crate::results::RunContext;
use crate::results::{Rightsizing, RightsizingRow};

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
) -> Rightsizing {
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
            match gate::measure(config, &deployer, &sub, progress).await {
                Ok(outcome) => row(value, &outcome.results),
                Err(e) => RightsizingRow {
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
    Rightsizing {
        parameter: sweep.parameter.clone(),
        rows,
    }
}

fn row(value: &str, results: &crate::results::RunResults) -> RightsizingRow {
    let p99 = results
        .comparisons
        .iter()
        .filter_map(|c| c.get(Metric::P99).and_then(|m| m.head))
        .reduce(f64::max);
    // What head's priced rounds cost, per 1M of their requests: exact sums of
    // money, one division at the end.
    let mut spent: Option<Money> = None;
    let mut requests = 0u64;
    for record in results
        .endpoints
        .iter()
        .flat_map(|e| e.side(crate::side::Side::Head))
    {
        if let Some(cost) = record.cost {
            spent = match spent {
                None => Some(cost),
                Some(sum) => sum.checked_add(cost).ok(),
            };
            requests += record.data.total();
        }
    }
    let cost = spent
        .filter(|_| requests > 0)
        .and_then(|s| {
            s.checked_mul(rust_decimal::Decimal::from(1_000_000u64))
                .ok()
        })
        .and_then(|s| s.checked_div(rust_decimal::Decimal::from(requests)));
    let head_lambda = results
        .server
        .as_ref()
        .and_then(|s| s.lambda.iter().find(|l| l.side == crate::side::Side::Head));
    RightsizingRow {
        value: value.to_string(),
        p99_ms: p99,
        cost_per_1m: cost,
        cold_starts: head_lambda.map(|l| l.cold_starts),
        init_p99_ms: head_lambda.and_then(|l| l.init.map(|i| i.p99_ms)),
        level: results.verdict.level,
        error: results.verdict.error.clone(),
    }
}

/// Where the sweep's table is written.
pub fn table_path(out_dir: &Path) -> std::path::PathBuf {
    out_dir.join("tailgate-sweep.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_becomes_a_stack_name_safe_slug() {
        assert_eq!(slug("arm64"), "arm64");
        assert_eq!(slug("x86_64"), "x8664");
        assert_eq!(slug("!!"), "v");
    }
}
