//! What the history of the default branch contributed to a run, as its results
//! file records it (filled in by [`crate::history`]): the stored baseline, trends,
//! noise floors, and a label's acceptance.

use serde::{Deserialize, Serialize};

use crate::config::Fraction;
use crate::judge::verdict::Metric;

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

/// One endpoint's latency (p50, p99) over the branch's last runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    /// The endpoint.
    pub endpoint: String,
    /// Oldest first.
    pub points: Vec<TrendPoint>,
    /// The largest named change point of p99 (what files of earlier versions
    /// carried: `changes` has them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<TrendChange>,
    /// Every change point of the series larger than its metric's noise floor, per
    /// metric, in the order of the series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<TrendChange>,
}

impl Trend {
    /// The named change points, largest first (a file of an earlier version: its
    /// one `change`).
    pub fn by_size(&self) -> Vec<&TrendChange> {
        let mut out: Vec<&TrendChange> = if self.changes.is_empty() {
            self.change.iter().collect()
        } else {
            self.changes.iter().collect()
        };
        out.sort_by(|a, b| {
            b.change
                .abs()
                .total_cmp(&a.change.abs())
                .then(a.runs_ago.cmp(&b.runs_ago))
        });
        out
    }

    /// The named change points of `metric`, in the order of the series.
    pub fn changes_of(&self, metric: Metric) -> Vec<&TrendChange> {
        self.by_size()
            .into_iter()
            .filter(|c| c.metric == metric)
            .collect()
    }
}

/// One run in a trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// The commit.
    pub commit: String,
    /// Its p99, ms (absent when the run could not estimate it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    /// Its p50, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
}

impl TrendPoint {
    /// The value of `metric` (p50 or p99), ms.
    pub fn value(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::P50 => self.p50_ms,
            Metric::P99 => self.p99_ms,
            _ => None,
        }
    }
}

fn p99() -> Metric {
    Metric::P99
}

/// A change point in a trend: the level of one metric moved at a commit by more
/// than the metric's noise floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendChange {
    /// The metric (p99 in files of earlier versions).
    #[serde(default = "p99")]
    pub metric: Metric,
    /// The first commit of the new level.
    pub commit: String,
    /// Runs of the branch since (0: the latest run).
    pub runs_ago: usize,
    /// Relative change of the level (`0.12` = +12 %).
    pub change: f64,
    /// The noise floor the change was larger than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<Fraction>,
}

/// Where a noise floor came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloorSource {
    /// The config's `compare.noise_floor` (too few stored runs to learn one).
    Config,
    /// The spread of run-to-run changes between stored runs of the branch with no
    /// change point between them: the noise between two deployments of the same code.
    Deployments,
    /// The A/A split of each stored run's rounds (odd vs even): the noise inside a
    /// run, larger here than between the runs.
    WithinRun,
}

/// The noise floor one endpoint (and metric) was judged with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorNote {
    /// The endpoint.
    pub endpoint: String,
    /// The metric (`None`, in files of earlier versions: every ratio metric of the
    /// endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// The floor.
    pub floor: Fraction,
    /// Stored runs it was learned from (`None`: the config's `noise_floor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned_from: Option<usize>,
    /// Which estimate set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<FloorSource>,
    /// The estimate from run-to-run changes between deployments, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployments: Option<Fraction>,
    /// The estimate from the A/A split inside the runs, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_run: Option<Fraction>,
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
