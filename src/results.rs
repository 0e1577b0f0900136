//! The results file: everything a run measured and decided, in one JSON document
//! (`tailgate-results.json`). The report is rendered from it, and it holds the raw
//! per-round histograms, so a verdict can be reproduced offline.
//!
//! The contract is `schema` = [`SCHEMA`], described by `docs/results.schema.json`
//! (JSON Schema 2020-12, checked against real output by `tests/results_schema.rs`).
//! Fields are only ever added within a major version: a reader of `v1` reads any
//! `v1.x` file, and refuses another major version before reading anything else.
//! [`read`] is the one reader every command uses (`compare`, `merge`, `publish`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bench::EndpointRun;
use crate::config::{Config, Fraction, Mode};
use crate::deploy::Target;
use crate::side::Side;
use crate::verdict::{EndpointComparison, EndpointLimits, Verdict};

/// The schema identifier written to every results file.
pub const SCHEMA: &str = "tailgate.results/v1";

/// The major version this tailgate reads (and every minor of it).
pub const SCHEMA_MAJOR: u32 = 1;

const SCHEMA_PREFIX: &str = "tailgate.results/v";

/// Why a results file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or JSON of another shape.
    #[error("{path}:{line}:{column}: not a tailgate results file: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What serde said.
        message: String,
    },
    /// A `schema` this tailgate does not read.
    #[error("{path}: {message}")]
    Schema {
        /// The file.
        path: String,
        /// What is wrong with the schema identifier, and what to do.
        message: String,
    },
}

/// The major version of a results schema identifier: `tailgate.results/v1` and
/// `tailgate.results/v1.3` are major 1. `None` when it is not a results identifier.
pub fn schema_major(schema: &str) -> Option<u32> {
    let version = schema.strip_prefix(SCHEMA_PREFIX)?;
    let (major, minor) = match version.split_once('.') {
        Some((major, minor)) => (major, Some(minor)),
        None => (version, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || minor.is_some_and(|m| !digits(m)) {
        return None;
    }
    major.parse().ok()
}

/// Whether this tailgate reads files of `schema`; the error says why not.
pub fn check_schema(schema: &str) -> Result<(), String> {
    match schema_major(schema) {
        Some(SCHEMA_MAJOR) => Ok(()),
        Some(major) if major > SCHEMA_MAJOR => Err(format!(
            "schema `{schema}` is major version {major}, newer than this tailgate reads \
             (`{SCHEMA}` and its minor versions); use the tailgate release that wrote it"
        )),
        Some(major) => Err(format!(
            "schema `{schema}` is major version {major}, older than this tailgate reads \
             (`{SCHEMA}` and its minor versions); use the tailgate release that wrote it"
        )),
        None => Err(format!(
            "schema `{schema}` is not a tailgate results schema (expected `{SCHEMA}`)"
        )),
    }
}

/// Read and check a results file: its `schema` first (a file of another major
/// version is refused before its shape is looked at), then the whole document.
pub fn read(path: &Path) -> Result<RunResults, ReadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown)
}

/// [`read`] of a text already in memory; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<RunResults, ReadError> {
    let parse_err = |e: serde_json::Error| ReadError::Parse {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    /// Just the identifier, so a file of another major is named as such even when
    /// the rest of it has another shape.
    #[derive(Deserialize)]
    struct Head {
        schema: Option<serde_json::Value>,
    }
    let head: Head = serde_json::from_str(text).map_err(parse_err)?;
    match head.schema {
        Some(serde_json::Value::String(schema)) => {
            check_schema(&schema).map_err(|message| ReadError::Schema {
                path: path.to_string(),
                message,
            })?
        }
        _ => {
            return Err(ReadError::Schema {
                path: path.to_string(),
                message: format!(
                    "no `schema` string: not a tailgate results file (expected `{SCHEMA}`)"
                ),
            })
        }
    }
    serde_json::from_str(text).map_err(parse_err)
}

/// A whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResults {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The tailgate version that wrote the file.
    pub tool_version: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// Where the run happened (pull request, release, local).
    pub context: RunContext,
    /// The settings that shaped the run.
    pub settings: Settings,
    /// The deployed sides, when the deploy got that far.
    pub targets: Vec<TargetInfo>,
    /// Side order of each round (`[first, second]`).
    pub order: Vec<[Side; 2]>,
    /// Per endpoint, every (round, side) with its histogram and counters.
    pub endpoints: Vec<EndpointRun>,
    /// Per endpoint, base vs head per metric.
    pub comparisons: Vec<EndpointComparison>,
    /// Per endpoint, the SLOs and budgets the verdict applied.
    #[serde(default)]
    pub limits: Vec<EndpointLimits>,
    /// The decision.
    pub verdict: Verdict,
    /// Base vs head cost over the whole run, when both sides were priced (CPU time
    /// of local targets, or Lambda REPORT lines of stacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::cost::CostComparison>,
    /// What the functions of stacks said about the rounds (REPORT lines, X-Ray).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<crate::aws::ServerSide>,
    /// What the run could not read or do, without failing (e.g. logs unavailable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What the history of the default branch contributed: the stored baseline,
    /// trends, noise floors (`history:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<crate::history::HistoryNote>,
    /// A failing verdict accepted by the pull request's `accept_label` for this
    /// head commit: the verdict then passes, and this says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<crate::history::Acceptance>,
    /// For a shard of a run split over several machines (`tailgate run --shard
    /// I/N`), which one; for the merge of all of them (`tailgate merge`), the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
}

/// A shard of a run (`tailgate run --shard I/N`), or the merge of all N.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Which shard (1-based, I of `count`); absent in the merged file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// How many shards the run was split into (N).
    pub count: u32,
    /// SHA-256 (hex) of the whole run's config and seed (see
    /// `tailgate::shard::config_hash`): shards merge only when theirs agree.
    pub config_hash: String,
    /// Per endpoint (in the order of `endpoints`), the whole run's load in words,
    /// before it was split.
    #[serde(default)]
    pub profiles: Vec<String>,
}

/// Where a run happened, as plain values.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunContext {
    /// `pull_request`, `release`, `local`, ...
    pub kind: String,
    /// The base side's ref or label.
    pub base_label: String,
    /// The head side's ref or label.
    pub head_label: String,
    /// A link to the CI run, when there is one.
    pub run_url: Option<String>,
    /// `owner/name` of the repository, on GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The GitHub server (`https://github.com`), on GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    /// The pull request number, when a PR is gated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
    /// The base commit, when a PR is gated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_sha: Option<String>,
    /// The head commit (the PR's last commit, not the merge commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    /// The workflow run id, on GitHub Actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
    /// The runner in words (`Linux X64, ubuntu24`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// Where the config that gated the run came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<crate::context::ConfigNote>,
}

/// The settings that shaped the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// The config file.
    pub config_source: String,
    /// Advisory or blocking.
    pub mode: Mode,
    /// The deployer used.
    pub deployer: String,
    /// Rounds per side.
    pub rounds: u32,
    /// Changes smaller than this are noise.
    pub noise_floor: Fraction,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Bootstrap resamples.
    pub resamples: u32,
    /// Seed of the side order and the bootstrap: rerunning the comparison with it
    /// reproduces the verdict exactly.
    pub seed: u64,
    /// Looks at the data: 1, or 2 when an inconclusive run bought its one extension
    /// (both looks then decided at half the error rate).
    #[serde(default = "one")]
    pub looks: u32,
    /// Extension rounds allowed (`compare.extend`).
    #[serde(default)]
    pub extend: u32,
}

fn one() -> u32 {
    1
}

impl Settings {
    /// The settings of `config` with the seed in force.
    pub fn new(config: &Config, deployer: &str, seed: u64) -> Settings {
        Settings {
            config_source: config.source.clone(),
            mode: config.mode,
            deployer: deployer.to_string(),
            rounds: config.compare.rounds,
            noise_floor: config.compare.noise_floor,
            confidence: config.compare.confidence,
            resamples: config.compare.resamples,
            seed,
            looks: 1,
            extend: config.compare.extend,
        }
    }
}

/// A deployed side, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Which side.
    pub side: Side,
    /// Its base URL.
    pub url: String,
    /// The ref or label it was built from.
    pub label: String,
}

impl From<&Target> for TargetInfo {
    fn from(t: &Target) -> Self {
        TargetInfo {
            side: t.side,
            url: t.base_url.clone(),
            label: t.label.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors_and_minors() {
        assert_eq!(schema_major("tailgate.results/v1"), Some(1));
        assert_eq!(schema_major("tailgate.results/v1.7"), Some(1));
        assert_eq!(schema_major("tailgate.results/v2"), Some(2));
        assert_eq!(schema_major("tailgate.results/v1."), None);
        assert_eq!(schema_major("tailgate.results/vx"), None);
        assert_eq!(schema_major("tailgate.bench/v1"), None);
        assert!(check_schema(SCHEMA).is_ok());
        assert!(check_schema("tailgate.results/v1.2").is_ok());
        let newer = check_schema("tailgate.results/v2").unwrap_err();
        assert!(newer.contains("major version 2, newer"), "{newer}");
        assert!(check_schema("tailgate.results/v0").is_err());
        assert!(check_schema("something/v1")
            .unwrap_err()
            .contains("not a tailgate"));
    }

    #[test]
    fn another_major_is_refused_before_its_shape_is_read() {
        let err = parse(r#"{"schema": "tailgate.results/v2", "new": []}"#, "x.json").unwrap_err();
        assert!(matches!(err, ReadError::Schema { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("x.json: schema `tailgate.results/v2`"),
            "{err}"
        );
        let err = parse(r#"{"hello": 1}"#, "y.json").unwrap_err();
        assert!(err.to_string().contains("no `schema`"), "{err}");
        let err = parse("not json", "z.json").unwrap_err();
        assert!(
            err.to_string().contains("not a tailgate results file"),
            "{err}"
        );
    }
}
