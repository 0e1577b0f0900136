//! History: what runs of the default branch measured, kept between runs.
//!
//! Runs on the history branch (`history.branch`, by default the repository's
//! default branch) append a [`Record`]: the whole results file, keyed by commit and
//! config hash, with the environment it ran in. From the records a run reads back:
//! - the **stored baseline** of a pull request (`history.baseline: stored`): the
//!   record of its merge-base, or of the nearest earlier stored commit;
//! - the **trend** of each endpoint's p50 and p99 over the last runs, with every
//!   change point larger than the metric's noise floor ([`changepoint`],
//!   [`trends`]);
//! - **learned noise floors**: per endpoint and metric, from the run-to-run changes
//!   between stored runs with no change point between them (the noise between two
//!   deployments of the same code), never below the A/A split inside the runs
//!   ([`floors`], [`learned_floors`]).
//!
//! Acceptances of a known regression (the `accept_label` on a pull request) are
//! recorded next to the runs, per head commit (and in the PR comment's marker:
//! `cli/accept.rs`).

pub mod changepoint;
pub mod floors;
mod series;
mod store;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bench::EndpointRun;
use crate::config::{Config, Fraction, HistoryConfig, StoreLocation};
use crate::judge::verdict::Metric;
use crate::results::{Acceptance, BaselineNote, FloorNote, FloorSource, HistoryNote, RunResults};
use crate::side::Side;

pub use series::{beyond_floor, learned_floors, trends, LearnedFloor};
pub use store::{DirStore, S3Store, Store, StoreError};

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

/// Why the history could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document is not a record.
    #[error("history store {store}: `{key}` is not a tailgate history record: {message}")]
    Bad {
        /// The store.
        store: String,
        /// The key.
        key: String,
        /// Why.
        message: String,
    },
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

/// `main` -> `main`, `release/1.x` -> `release_1.x`: a branch as one key segment.
fn branch_segment(branch: &str) -> String {
    branch
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('.')
        .to_string()
}

fn sha_segment(sha: &str) -> Option<String> {
    let s = sha.trim();
    (!s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_ascii_lowercase())
}

/// `2026-12-03T12:00:00.123456Z` -> `20261203T120000123Z`: sorts in time order,
/// to the millisecond (two runs recorded in one second keep their order; keys of
/// earlier versions, to the second, sort with their second).
fn time_segment(rfc3339: &str) -> String {
    let digits: String = rfc3339
        .chars()
        .take_while(|c| *c != '.' && *c != '+' && *c != 'Z')
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let millis: String = rfc3339
        .split_once('.')
        .map(|(_, f)| f.chars().take_while(char::is_ascii_digit).take(3).collect())
        .unwrap_or_default();
    format!("{digits}{millis:0<3}Z")
}

/// An opened history.
pub struct History {
    store: Box<dyn Store>,
    branch: String,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("store", &self.store.describe())
            .field("branch", &self.branch)
            .finish()
    }
}

impl History {
    /// The history of `branch` in `store`.
    pub fn new(store: Box<dyn Store>, branch: impl Into<String>) -> History {
        History {
            store,
            branch: branch.into(),
        }
    }

    /// The history `config` names, for `default_branch` when the config names none;
    /// `None` when the config keeps no history.
    pub async fn open(config: &HistoryConfig, default_branch: Option<&str>) -> Option<History> {
        let store: Box<dyn Store> = match config.store.as_ref()? {
            StoreLocation::Dir(path) => Box::new(DirStore::new(path.clone())),
            StoreLocation::S3 {
                bucket,
                prefix,
                region,
            } => {
                let clients = crate::aws::AwsClients::load(&crate::aws::ClientOptions {
                    region: region.clone(),
                    ..Default::default()
                })
                .await;
                Box::new(S3Store::new(clients.s3, bucket.clone(), prefix.clone()))
            }
        };
        let branch = config
            .branch
            .clone()
            .or_else(|| default_branch.map(str::to_string))
            .unwrap_or_else(|| "main".into());
        Some(History::new(store, branch))
    }

    /// The branch whose runs are recorded.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The store in words.
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    fn runs_prefix(&self) -> String {
        format!("runs/{}/", branch_segment(&self.branch))
    }

    /// Append `record`; returns its key.
    pub async fn append(&self, record: &Record) -> Result<String, HistoryError> {
        let sha = sha_segment(&record.commit).ok_or_else(|| HistoryError::Bad {
            store: self.describe(),
            key: String::new(),
            message: format!("`{}` is not a commit sha", record.commit),
        })?;
        let key = format!(
            "{}{}-{sha}-{}.json",
            self.runs_prefix(),
            time_segment(&record.recorded_at),
            record.config_hash
        );
        let body = serde_json::to_vec(record).map_err(|e| HistoryError::Bad {
            store: self.describe(),
            key: key.clone(),
            message: e.to_string(),
        })?;
        self.store.put(&key, body).await?;
        Ok(key)
    }

    /// Keys of the branch's runs, oldest first.
    pub async fn keys(&self) -> Result<Vec<String>, HistoryError> {
        let mut keys = self.store.list(&self.runs_prefix()).await?;
        keys.retain(|k| k.ends_with(".json"));
        Ok(keys)
    }

    /// The record under `key`.
    pub async fn load(&self, key: &str) -> Result<Record, HistoryError> {
        let bad = |message: String| HistoryError::Bad {
            store: self.describe(),
            key: key.to_string(),
            message,
        };
        let bytes = self
            .store
            .get(key)
            .await?
            .ok_or_else(|| bad("it is gone".into()))?;
        let mut record: Record = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if record.schema != RECORD_SCHEMA {
            return Err(bad(format!(
                "schema `{}` is not `{RECORD_SCHEMA}`",
                record.schema
            )));
        }
        record.fill_points();
        Ok(record)
    }

    /// The last `n` records of the branch with `config_hash` (any hash when `None`),
    /// oldest first. Records that cannot be read are reported in `warnings` and
    /// skipped.
    pub async fn recent(
        &self,
        n: usize,
        config_hash: Option<&str>,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Record>, HistoryError> {
        let keys = self.keys().await?;
        let mut out = Vec::new();
        for key in keys.iter().rev() {
            if out.len() >= n {
                break;
            }
            if let Some(hash) = config_hash {
                if !key.ends_with(&format!("-{hash}.json")) {
                    continue;
                }
            }
            match self.load(key).await {
                Ok(r) => out.push(r),
                Err(e) => warnings.push(e.to_string()),
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The newest record of the first commit of `candidates` (in order: the
    /// merge-base, then its ancestors) that has one with `config_hash`, else with
    /// any hash. `None` when no candidate has a record.
    pub async fn find(
        &self,
        candidates: &[String],
        config_hash: &str,
    ) -> Result<Option<(usize, Record)>, HistoryError> {
        let keys = self.keys().await?;
        // Key: `<time>-<sha>-<hash>.json` under the branch prefix.
        let parsed: Vec<(&str, &str, &String)> = keys
            .iter()
            .filter_map(|k| {
                let name = k.rsplit('/').next()?.strip_suffix(".json")?;
                let mut parts = name.splitn(3, '-');
                let _time = parts.next()?;
                Some((parts.next()?, parts.next()?, k))
            })
            .collect();
        for (i, commit) in candidates.iter().enumerate() {
            let Some(sha) = sha_segment(commit) else {
                continue;
            };
            let matching: Vec<_> = parsed.iter().filter(|(s, _, _)| *s == sha).collect();
            let pick = matching
                .iter()
                .rev()
                .find(|(_, h, _)| *h == config_hash)
                .or_else(|| matching.last());
            if let Some((_, _, key)) = pick {
                return Ok(Some((i, self.load(key).await?)));
            }
        }
        Ok(None)
    }

    fn acceptance_key(&self, head_sha: &str) -> Option<String> {
        sha_segment(head_sha).map(|sha| format!("accepted/{sha}.json"))
    }

    /// Record `acceptance`.
    pub async fn accept(&self, acceptance: &Acceptance) -> Result<(), HistoryError> {
        let key = self
            .acceptance_key(&acceptance.head_sha)
            .ok_or_else(|| HistoryError::Bad {
                store: self.describe(),
                key: String::new(),
                message: format!("`{}` is not a commit sha", acceptance.head_sha),
            })?;
        let body = serde_json::to_vec_pretty(acceptance).unwrap_or_default();
        self.store.put(&key, body).await?;
        Ok(())
    }

    /// The acceptance recorded for `head_sha`, if any.
    pub async fn acceptance(&self, head_sha: &str) -> Result<Option<Acceptance>, HistoryError> {
        let Some(key) = self.acceptance_key(head_sha) else {
            return Ok(None);
        };
        let Some(bytes) = self.store.get(&key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| HistoryError::Bad {
                store: self.describe(),
                key,
                message: e.to_string(),
            })
    }
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

/// What the history hands a run before it measures.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// What to record in the results (baseline, trends, floors, warnings).
    pub note: HistoryNote,
    /// The stored baseline's base rounds per endpoint (`baseline: stored`).
    pub baseline: Option<BTreeMap<String, Vec<crate::bench::RoundRecord>>>,
    /// Learned noise floors per endpoint and metric.
    pub floors: BTreeMap<String, BTreeMap<Metric, Fraction>>,
}

/// The commits a stored baseline may come from, best first: the merge-base of
/// `base` and `head` in the repository at `repo_dir`, then its first-parent
/// ancestors (at most 200). Without git (or the commits), just `base`.
pub async fn candidates(repo_dir: &std::path::Path, base: &str, head: Option<&str>) -> Vec<String> {
    use crate::git::run;
    let mut merge_base = match head {
        Some(h) => run(repo_dir, &["merge-base", base, h])
            .await
            .ok()
            .filter(|s| !s.is_empty()),
        None => None,
    };
    if merge_base.is_none() {
        let spec = format!("{base}^{{commit}}");
        merge_base = run(repo_dir, &["rev-parse", "--verify", &spec]).await.ok();
    }
    let merge_base = merge_base.unwrap_or_else(|| base.to_string());
    let rev_list = ["rev-list", "--first-parent", "--max-count=200", &merge_base];
    let mut out: Vec<String> = run(repo_dir, &rev_list)
        .await
        .ok()
        .map(|text| text.lines().map(str::to_string).collect())
        .unwrap_or_default();
    if out.first() != Some(&merge_base) {
        out.insert(0, merge_base);
    }
    out
}

/// The plan of a run of `config`: the stored baseline (when `baseline: stored` and
/// `candidates` are given), the trend of the branch, and the noise floors.
pub async fn plan(
    history: &History,
    config: &Config,
    environment: &Environment,
    candidates: Option<&[String]>,
) -> Plan {
    let hash = crate::fingerprint::measurement(config);
    let mut note = HistoryNote {
        store: history.describe(),
        branch: history.branch().to_string(),
        ..HistoryNote::default()
    };
    let mut out = Plan::default();
    if let Some(candidates) = candidates {
        match history.find(candidates, &hash).await {
            Ok(Some((i, record))) => {
                if record.config_hash != hash {
                    note.warnings.push(format!(
                        "the stored baseline `{}` measured another config (endpoints, load or rounds differ)",
                        short(&record.commit)
                    ));
                }
                note.baseline = Some(BaselineNote {
                    commit: record.commit.clone(),
                    wanted: (i > 0).then(|| candidates[0].clone()),
                    recorded_at: record.recorded_at.clone(),
                    differences: record.environment.differences(environment),
                });
                out.baseline = Some(baseline_rounds(&record));
            }
            Ok(None) => note.warnings.push(format!(
                "no stored run of `{}` or of its last {} ancestors on `{}`: base was deployed fresh instead",
                candidates.first().map(|c| short(c)).unwrap_or_default(),
                candidates.len().saturating_sub(1),
                history.branch()
            )),
            Err(e) => note.warnings.push(e.to_string()),
        }
    }
    let wanted = (config.history.trend as usize).max(config.history.min_runs as usize);
    let mut warnings = Vec::new();
    let records = match history.recent(wanted, Some(&hash), &mut warnings).await {
        Ok(r) => r,
        Err(e) => {
            warnings.push(e.to_string());
            Vec::new()
        }
    };
    note.warnings.extend(warnings);
    let learned = learned_floors(&records, config.history.min_runs as usize);
    let floor_of = |endpoint: &str, metric: Metric| {
        learned
            .get(endpoint)
            .and_then(|m| m.get(&metric))
            .map_or(config.compare.noise_floor, |f| f.floor)
    };
    let shown = records.len().saturating_sub(config.history.trend as usize);
    if config.history.trend > 0 {
        note.trends = trends(&records[shown..], &floor_of);
        note.trends.retain(|t| t.points.len() >= 2);
    }
    // Ladder endpoints are judged (and recorded) step by step.
    for e in &crate::bench::expand_ladders(&config.endpoints) {
        let Some(by_metric) = learned.get(&e.name) else {
            note.floors.push(FloorNote {
                endpoint: e.name.clone(),
                metric: None,
                floor: config.compare.noise_floor,
                learned_from: None,
                source: Some(FloorSource::Config),
                deployments: None,
                within_run: None,
            });
            continue;
        };
        for (metric, f) in by_metric {
            out.floors
                .entry(e.name.clone())
                .or_default()
                .insert(*metric, f.floor);
            note.floors.push(FloorNote {
                endpoint: e.name.clone(),
                metric: Some(*metric),
                floor: f.floor,
                learned_from: Some(f.runs),
                source: Some(f.source),
                deployments: f.deployments,
                within_run: f.within_run,
            });
        }
    }
    out.note = note;
    out
}

/// The first 7 characters of a commit.
pub fn short(sha: &str) -> String {
    sha.chars().take(7).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(runner: &str) -> Environment {
        Environment {
            runner: Some(runner.into()),
            region: None,
            deployer: "url".into(),
            tailgate_version: "0.1.0".into(),
        }
    }

    #[test]
    fn environments_say_how_they_differ() {
        assert!(env("Linux X64").differences(&env("Linux X64")).is_empty());
        let diff = env("Linux X64").differences(&Environment {
            region: Some("eu-west-1".into()),
            tailgate_version: "0.2.0".into(),
            ..env("Linux ARM64")
        });
        assert_eq!(
            diff,
            [
                "runner `Linux X64` vs `Linux ARM64`",
                "region `unknown` vs `eu-west-1`",
                "tailgate 0.1.0 vs 0.2.0"
            ]
        );
    }

    #[test]
    fn keys_sort_in_time_and_name_their_commit() {
        assert_eq!(
            time_segment("2026-12-03T12:00:05.123456Z"),
            "20261203T120005123Z"
        );
        assert_eq!(
            time_segment("2026-12-03T12:00:05.5Z"),
            "20261203T120005500Z"
        );
        assert_eq!(time_segment("2026-12-03T12:00:05Z"), "20261203T120005000Z");
        assert!(time_segment("2026-12-03T12:00:05.999Z") < time_segment("2026-12-03T12:00:06Z"));
        assert_eq!(branch_segment("release/1.x"), "release_1.x");
        assert_eq!(branch_segment("../main"), "_main");
        assert_eq!(sha_segment("ABCDEF0123"), Some("abcdef0123".into()));
        assert_eq!(sha_segment("HEAD"), None);
        assert_eq!(sha_segment("../x"), None);
    }

    /// A stored run of `users` with this p99 (and half of it as p50).
    pub(super) fn record(commit: &str, p99: f64) -> Record {
        Record {
            schema: RECORD_SCHEMA.into(),
            commit: commit.into(),
            branch: "main".into(),
            config_hash: "abc".into(),
            recorded_at: "2026-12-03T12:00:00Z".into(),
            environment: env("Linux X64"),
            points: vec![Point {
                endpoint: "users".into(),
                requests: 100,
                p99_ms: Some(p99),
                aa_p99: Some(0.01),
                values: [(Metric::P50, p99 / 2.0), (Metric::P99, p99)].into(),
                aa: [(Metric::P50, 0.01), (Metric::P99, 0.01)].into(),
            }],
            results: serde_json::from_value(serde_json::json!({
                "schema": crate::results::SCHEMA, "tool_version": "0.1.0",
                "started_at": "2026-12-03T12:00:00Z",
                "context": { "kind": "release", "base_label": "", "head_label": "main", "run_url": null },
                "settings": { "config_source": "tailgate.yml", "mode": "blocking", "deployer": "url",
                    "rounds": 2, "noise_floor": 0.02, "confidence": 0.95, "resamples": 2000, "seed": 1 },
                "targets": [], "order": [], "endpoints": [], "comparisons": [],
                "verdict": { "level": "pass", "mode": "blocking", "checks": [], "error": null }
            }))
            .expect("a minimal results file"),
        }
    }

    #[tokio::test]
    async fn the_merge_base_wins_else_the_nearest_earlier_commit() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::new(Box::new(DirStore::new(dir.path())), "main");
        let (old, newer) = ("a".repeat(40), "b".repeat(40));
        history.append(&record(&old, 10.0)).await.unwrap();
        history.append(&record(&newer, 11.0)).await.unwrap();
        let wanted = "c".repeat(40);
        let found = history
            .find(&[wanted.clone(), newer.clone(), old.clone()], "abc")
            .await
            .unwrap()
            .expect("a record");
        assert_eq!((found.0, found.1.commit.as_str()), (1, newer.as_str()));
        let found = history
            .find(std::slice::from_ref(&old), "other")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.1.commit, old, "another config hash is the fallback");
        assert!(history.find(&[wanted], "abc").await.unwrap().is_none());
        let mut warnings = Vec::new();
        let recent = history
            .recent(10, Some("abc"), &mut warnings)
            .await
            .unwrap();
        assert_eq!(recent.len(), 2);
        assert!(warnings.is_empty());
    }
}
