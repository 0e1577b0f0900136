//! Where the config that gated a run came from, recorded in the results and shown
//! in the comment.

use serde::{Deserialize, Serialize};

use crate::judge::verdict::Level;

/// Where the config that gated the run came from, and whether the PR changes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigNote {
    /// The config's path in the repository (`tailgate.yml`).
    pub path: String,
    /// The ref it was read from (`main`), or `working tree`.
    pub read_from: String,
    /// The commit it was read at, when known.
    pub sha: Option<String>,
    /// How it was read.
    pub via: ConfigOrigin,
    /// How the PR's copy differs.
    pub change: ConfigChange,
    /// A unified diff from the gating copy to the PR's copy, when they differ.
    pub diff: Option<String>,
    /// What the verdict would be under the PR's copy (after merge), when computed.
    pub head_verdict: Option<Level>,
}

/// How a config was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigOrigin {
    /// `git show <sha>:<path>` in the checked-out repository.
    Git,
    /// `GET /repos/{owner}/{repo}/contents/{path}?ref={sha}`.
    ContentsApi,
    /// The file in the working tree (not a pull request, or no base copy).
    WorkingTree,
}

/// Whether the PR changes the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigChange {
    /// Not a pull request: the working tree's copy gates.
    NotPullRequest,
    /// The PR leaves the config as it is.
    Unchanged,
    /// The PR changes it: the base copy gated; the PR's copy applies after merge.
    Changed,
    /// The base has no config; the PR adds it, so the PR's copy gated.
    Added,
    /// The PR deletes it: the base copy gated.
    Removed,
}
