//! Where a run happened, as plain values recorded in its results file.

use serde::{Deserialize, Serialize};

use super::config_note::ConfigNote;

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
    pub config: Option<ConfigNote>,
}
