//! The results file: everything a run measured and decided, in one JSON document
//! (`tailgate-results.json`). The report is rendered from it, and it holds the raw
//! per-round histograms, so a verdict can be reproduced offline.
//!
//! The contract is `schema` = [`SCHEMA`], described by `docs/results.schema.json`
//! (JSON Schema 2020-12, checked against real output by `tests/results_schema.rs`).
//! Fields are only ever added within a major version: a reader of `v1` reads any
//! `v1.x` file, and refuses another major version before reading anything else.
//! [`read`] is the one reader every command uses (`compare`, `merge`, `publish`),
//! [`write`] the one writer (`run`, `compare`, `merge`).

use serde::{Deserialize, Serialize};

use crate::bench::EndpointRun;
use crate::config::{Config, Fraction, Mode};
use crate::deploy::Target;
use crate::judge::verdict::{EndpointComparison, EndpointLimits, Verdict};
use crate::side::Side;

mod config_note;
mod file;
mod notes;
mod recompute;
mod rightsizing;
mod run_context;
mod together;
mod traces;

pub use config_note::{ConfigChange, ConfigNote, ConfigOrigin};
pub use file::{check_schema, parse, read, schema_major, write, ReadError};
pub use notes::{
    Acceptance, BaselineNote, FloorNote, FloorSource, HistoryNote, Trend, TrendChange, TrendPoint,
};
pub use recompute::recompute;
pub use rightsizing::{Rightsizing, RightsizingRow};
pub use run_context::RunContext;
pub use together::{Dropped, PhaseTogether, ShardClock, Together};
pub use traces::{TraceCounts, TracedEndpoint, TracedRound, TracesResults};

/// Now, as RFC 3339 in UTC: how the results file writes a time.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// The schema identifier written to every results file.
pub const SCHEMA: &str = "tailgate.results/v1.1";

/// The major version this tailgate reads (and every minor of it).
pub const SCHEMA_MAJOR: u32 = 1;

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
    pub server: Option<crate::server_side::ServerSide>,
    /// What the run could not read or do, without failing (e.g. logs unavailable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What the history of the default branch contributed: the stored baseline,
    /// trends, noise floors (`history:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryNote>,
    /// A failing verdict accepted by the pull request's `accept_label` for this
    /// head commit: the verdict then passes, and this says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Acceptance>,
    /// For a shard of a run split over several machines (`tailgate run --shard
    /// I/N`), which one; for the merge of all of them (`tailgate merge`), the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// Right-sizing (`deploy.cloudformation.sweep`): head measured once per value
    /// of a template parameter, judged by its SLOs alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rightsizing: Option<Rightsizing>,
    /// What the run's traces said (`traces:` enabled): the spans of each side of
    /// each round and what the receiver dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces: Option<TracesResults>,
}

/// A shard of a run (`tailgate run --shard I/N`), or the merge of all N.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Which shard (1-based, I of `count`); absent in the merged file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// How many shards the run was split into (N).
    pub count: u32,
    /// SHA-256 (hex) of the whole run's config and seed (see
    /// `tailgate::fingerprint::run`): shards merge only when theirs agree.
    pub config_hash: String,
    /// Per endpoint (in the order of `endpoints`), the whole run's load in words,
    /// before it was split.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// A shard's: how it met the shared start (`--start-at`). Absent in files of
    /// shards that ran on their own clocks (earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<ShardStart>,
    /// The merge's: how well the shards' rounds overlapped, and what was dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub together: Option<Together>,
}

/// How a shard met the shared start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardStart {
    /// T0 as given (RFC 3339).
    pub start_at: String,
    /// How late the shard was ready after T0, ms (0 when on time); a late shard
    /// joined at the next slot and missed the slots before it.
    pub late_ms: u64,
    /// The target's clock minus this shard's, from its `Date` headers, when it
    /// could be told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<crate::deploy::clock::ClockOffset>,
    /// Why the offset could not be told, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_error: Option<String>,
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
    /// Rounds per side (the most rounds, when the run looked sequentially).
    pub rounds: u32,
    /// Rounds before the first sequential look (looks every
    /// [`crate::config::LOOK_EVERY`] rounds from here to `rounds`); 0 or `rounds`
    /// for a run decided once, at the end (files of earlier versions).
    #[serde(default)]
    pub min_rounds: u32,
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
            min_rounds: config.compare.min_rounds.min(config.compare.rounds),
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

/// A results file with nothing measured (a local run, blocking, passing), for the
/// unit tests of the modules that read results.
#[cfg(test)]
pub(crate) fn empty_for_tests() -> RunResults {
    serde_json::from_value(serde_json::json!({
        "schema": SCHEMA, "tool_version": "0", "started_at": "",
        "context": {"kind": "local", "base_label": "", "head_label": "", "run_url": null},
        "settings": {"config_source": "t", "mode": "blocking", "deployer": "url",
            "rounds": 2, "noise_floor": 0.02, "confidence": 0.95, "resamples": 10, "seed": 1},
        "targets": [], "order": [], "endpoints": [], "comparisons": [],
        "verdict": {"level": "pass", "mode": "blocking", "checks": [], "error": null}
    }))
    .expect("results")
}
