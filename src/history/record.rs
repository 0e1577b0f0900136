//! What one run of the history branch leaves in the store: a [`Record`] (the
//! whole results file, keyed by commit and config hash, with the environment it
//! ran in), the [`Point`]s the trends read, and the stored baseline's rounds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bench::EndpointRun;
use crate::config::Config;
use crate::judge::verdict::Metric;
use crate::results::RunResults;
use crate::side::Side;

/// The schema of a stored record.
pub const RECORD_SCHEMA: &str = "tailgate.history/v1";

/// Where a run measured: what makes two runs comparable or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Environment {
    /// The runner in words (`Linux X64, ubuntu24`), on GitHub Actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// The AWS region of the stacks, for `cloudformation` deploys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The deployer (`url`, `local`, `cloudformation`, `command`).
    pub deployer: String,
    /// The tailgate version that measured.
    pub tailgate_version: String,
}

impl Environment {
    /// The environment of a run of `config` with `results`.
    pub fn of(config: &Config, results: &RunResults) -> Environment {
        Environment {
            tailgate_version: results.tool_version.clone(),
            ..Environment::current(
                config,
                results.context.runner.clone(),
                &results.settings.deployer,
            )
        }
    }

    /// The environment of a run about to start: `runner`, `deployer`, this tailgate.
    pub fn current(config: &Config, runner: Option<String>, deployer: &str) -> Environment {
        Environment {
            runner,
            region: match &config.deploy {
                crate::config::DeployConfig::CloudFormation(c) => c.region.clone(),
                _ => None,
            },
            deployer: deployer.to_string(),
            tailgate_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// How `other` differs from `self`, in words (empty when it does not).
    pub fn differences(&self, other: &Environment) -> Vec<String> {
        let mut out = Vec::new();
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
        if self.runner != other.runner {
            out.push(format!(
                "runner `{}` vs `{}`",
                show(&self.runner),
                show(&other.runner)
            ));
        }
        if self.region != other.region {
            out.push(format!(
                "region `{}` vs `{}`",
                show(&self.region),
                show(&other.region)
            ));
        }
        if self.deployer != other.deployer {
            out.push(format!(
                "deployer `{}` vs `{}`",
                self.deployer, other.deployer
            ));
        }
        if self.tailgate_version != other.tailgate_version {
            out.push(format!(
                "tailgate {} vs {}",
                self.tailgate_version, other.tailgate_version
            ));
        }
        out
    }
}

/// The metrics a record keeps per endpoint and learns floors for: every metric a
/// comparison judges as a ratio (the error rate's floor is absolute and fixed).
pub const KEPT: [Metric; 6] = [
    Metric::P50,
    Metric::P95,
    Metric::P99,
    Metric::P999,
    Metric::Throughput,
    Metric::Cost,
];

/// The metrics a trend shows and searches for change points.
pub const TREND_METRICS: [Metric; 2] = [Metric::P50, Metric::P99];

/// One endpoint of a stored run, in numbers the trend and the floors read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The endpoint.
    pub endpoint: String,
    /// Requests measured.
    pub requests: u64,
    /// p99 of the measured side, ms (the report's percentile rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    /// An A/A difference of p99 inside the run: odd rounds vs even rounds, scaled by
    /// 1/√2 to the spread of a comparison of two whole sides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aa_p99: Option<f64>,
    /// The measured side's value of each metric of [`KEPT`] it has (ms, req/s,
    /// cost per 1M requests).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<Metric, f64>,
    /// Per metric, the A/A difference inside the run (as `aa_p99`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aa: BTreeMap<Metric, f64>,
}

impl Point {
    /// The value of `metric` in this run (p99: `p99_ms` first, as records of
    /// earlier versions kept it).
    pub fn value(&self, metric: Metric) -> Option<f64> {
        let v = match metric {
            Metric::P99 => self.p99_ms.or_else(|| self.values.get(&metric).copied()),
            _ => self.values.get(&metric).copied(),
        };
        v.filter(|v| v.is_finite() && *v > 0.0)
    }

    /// The A/A difference of `metric` inside this run.
    pub fn aa(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::P99 => self.aa_p99.or_else(|| self.aa.get(&metric).copied()),
            _ => self.aa.get(&metric).copied(),
        }
        .filter(|v| v.is_finite())
    }
}

/// A stored run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Always [`RECORD_SCHEMA`].
    pub schema: String,
    /// The commit measured (head of the run).
    pub commit: String,
    /// The branch it was recorded for.
    pub branch: String,
    /// Hash of what shapes the measurement (endpoints, load, rounds).
    pub config_hash: String,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// Where it ran.
    pub environment: Environment,
    /// Per endpoint, the numbers read back for trends and floors.
    pub points: Vec<Point>,
    /// The whole results file of the run.
    pub results: RunResults,
}

impl Record {
    /// This record's point for `endpoint`.
    pub fn point(&self, endpoint: &str) -> Option<&Point> {
        self.points.iter().find(|p| p.endpoint == endpoint)
    }

    /// Points of a record of an earlier version keep p99 alone: the other metrics
    /// (and their A/A split) are read from the results file it holds. What a point
    /// holds wins.
    pub fn fill_points(&mut self) {
        if self.points.iter().all(|p| !p.values.is_empty()) {
            return;
        }
        let measured = points_of(&self.results);
        for p in self.points.iter_mut().filter(|p| p.values.is_empty()) {
            if let Some(m) = measured.iter().find(|m| m.endpoint == p.endpoint) {
                p.values = m.values.clone();
                p.aa = m.aa.clone();
            }
        }
    }
}

/// The values of [`KEPT`] of `side` of `run`, by the report's rules.
fn values_of(run: &EndpointRun, side: Side) -> BTreeMap<Metric, f64> {
    let mut one = run.clone();
    one.rounds.retain(|r| r.side == side);
    for r in &mut one.rounds {
        r.side = Side::Head;
    }
    let Some(comparison) = crate::judge::comparisons::head_only(std::slice::from_ref(&one))
        .into_iter()
        .next()
    else {
        return BTreeMap::new();
    };
    KEPT.iter()
        .filter_map(|&m| {
            let v = comparison.get(m)?.head?;
            (v.is_finite() && v > 0.0).then_some((m, v))
        })
        .collect()
}

/// The side a record keeps of `run`: head when it was measured, else base.
fn measured_side(run: &EndpointRun) -> Side {
    if run.side(Side::Head).next().is_some() {
        Side::Head
    } else {
        Side::Base
    }
}

/// The points of `results`: per endpoint, the measured side's values and their A/A
/// split.
pub fn points_of(results: &RunResults) -> Vec<Point> {
    results
        .endpoints
        .iter()
        .map(|run| {
            let side = measured_side(run);
            let mut rounds: Vec<_> = run.side(side).cloned().collect();
            rounds.sort_by_key(|r| r.round);
            let half = |odd: bool| {
                let mut part = run.clone();
                part.rounds = rounds
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| (i % 2 == 1) == odd)
                    .map(|(_, r)| r.clone())
                    .collect();
                values_of(&part, side)
            };
            let aa: BTreeMap<Metric, f64> = if rounds.len() >= 4 {
                let (even, odd) = (half(false), half(true));
                even.iter()
                    .filter_map(|(m, e)| {
                        let o = odd.get(m)?;
                        Some((*m, (o / e - 1.0) / std::f64::consts::SQRT_2))
                    })
                    .collect()
            } else {
                BTreeMap::new()
            };
            let values = values_of(run, side);
            Point {
                endpoint: run.name.clone(),
                requests: run.side(side).map(|r| r.data.total()).sum(),
                p99_ms: values.get(&Metric::P99).copied(),
                aa_p99: aa.get(&Metric::P99).copied(),
                values,
                aa,
            }
        })
        .collect()
}

/// A record of `results`, measured under `config`, for `commit` on `branch`.
pub fn record_of(config: &Config, results: &RunResults, commit: &str, branch: &str) -> Record {
    Record {
        schema: RECORD_SCHEMA.to_string(),
        commit: commit.to_string(),
        branch: branch.to_string(),
        config_hash: crate::fingerprint::measurement(config),
        recorded_at: crate::results::now_rfc3339(),
        environment: Environment::of(config, results),
        points: points_of(results),
        results: results.clone(),
    }
}

/// The rounds of a stored baseline, as base rounds per endpoint (by name).
pub fn baseline_rounds(record: &Record) -> BTreeMap<String, Vec<crate::bench::RoundRecord>> {
    record
        .results
        .endpoints
        .iter()
        .map(|run| {
            let side = measured_side(run);
            let rounds = run
                .side(side)
                .cloned()
                .map(|mut r| {
                    r.side = Side::Base;
                    r
                })
                .collect();
            (run.name.clone(), rounds)
        })
        .collect()
}
