//! What the history of the default branch contributed to a run, as its results
//! file records it (filled in by [`crate::history`]): the stored baseline, trends,
//! noise floors, and a label's acceptance.

use serde::{Deserialize, Serialize};

use crate::config::Fraction;

/// What the history contributed to a run, as recorded in its results.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HistoryNote {
    /// The store, in words.
    pub store: String,
    /// The branch whose runs are kept.
    pub branch: String,
    /// The stored run head was compared with (`baseline: stored`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineNote>,
    /// Per endpoint, p99 over the branch's last runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trends: Vec<Trend>,
    /// Per endpoint, the noise floor in force and where it came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub floors: Vec<FloorNote>,
    /// The key this run was recorded under, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
    /// What could not be read or written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The stored run a pull request was compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineNote {
    /// The commit of the stored run.
    pub commit: String,
    /// The commit wanted (the merge-base), when it is another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wanted: Option<String>,
    /// When the stored run was recorded.
    pub recorded_at: String,
    /// How its environment differs from this run's (empty: it does not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
}

/// One endpoint's p99 over the branch's last runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    /// The endpoint.
    pub endpoint: String,
    /// Oldest first.
    pub points: Vec<TrendPoint>,
    /// The latest change point in the series, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<TrendChange>,
}

/// One run in a trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// The commit.
    pub commit: String,
    /// Its p99, ms.
    pub p99_ms: f64,
}

/// A change point in a trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendChange {
    /// The first commit of the new level.
    pub commit: String,
    /// Runs of the branch since (0: the latest run).
    pub runs_ago: usize,
    /// Relative change of the level (`0.12` = +12 %).
    pub change: f64,
}

/// The noise floor one endpoint was judged with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorNote {
    /// The endpoint.
    pub endpoint: String,
    /// The floor.
    pub floor: Fraction,
    /// Stored runs it was learned from (`None`: the config's `noise_floor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned_from: Option<usize>,
}

/// A failing verdict accepted by a label, for one head commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// The label.
    pub label: String,
    /// The pull request.
    pub pull_request: u64,
    /// The head commit it accepts (and no other).
    pub head_sha: String,
    /// When it was recorded.
    pub accepted_at: String,
    /// The checks that failed and were accepted, in words.
    pub failing: Vec<String>,
}
