//! GitHub: the edge that publishes a verdict where maintainers see it.
//!
//! - one sticky PR comment, found again by a hidden marker and its author, updated in
//!   place ([`comment`]);
//! - a check run on the PR's head commit ([`check`]);
//! - the job summary, step outputs and `::error::`/`::warning::` annotations
//!   ([`workflow`]);
//! - the gate's config read at the base commit ([`gate_config`]);
//! - what `tailgate publish` trusts in a results file from a fork ([`trust`]).
//!
//! Every call goes through [`api::GitHub`] (octocrab pointed at `GITHUB_API_URL`),
//! which retries 5xx and transport errors with backoff and honours `retry-after` on
//! secondary rate limits
//! (<https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>).
//! Publishing is best-effort: [`publish`] never changes the exit code, and a 403
//! names the `permissions:` entry the workflow is missing.

pub mod api;
pub mod check;
pub mod comment;
pub mod gate_config;
mod publish;
mod token;
pub mod trust;
pub mod workflow;

use std::fmt;
use std::str::FromStr;

pub use api::{GitHub, RetryPolicy};
pub use gate_config::{gate_config, note_for, ConfigCopy, GateConfig};
pub use publish::{
    adopt_context, client, marker_for, publish, publish_refusal, read_results, PublishOptions,
    PublishReport, StepOutcome,
};
pub use token::Token;

/// What went wrong talking to GitHub. The messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// The API URL is not a URL.
    #[error("GITHUB_API_URL `{url}` is not a valid URL: {message}")]
    ApiUrl {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("could not set up the GitHub client: {0}")]
    Client(String),
    /// 401: the token is missing, expired or wrong.
    #[error("{what}: GitHub rejected the token (401 {message}); check the `github_token` input")]
    Unauthorized {
        /// What tailgate was doing.
        what: String,
        /// GitHub's message.
        message: String,
    },
    /// 403 without a rate limit: the token lacks a permission.
    #[error(
        "{what}: GitHub refused it (403 {message}); add `{permission}` to the job's `permissions:`"
    )]
    Forbidden {
        /// What tailgate was doing.
        what: String,
        /// The `permissions:` entry that allows it (`pull-requests: write`).
        permission: &'static str,
        /// GitHub's message.
        message: String,
    },
    /// 404.
    #[error("{what}: not found (404 {message})")]
    NotFound {
        /// What tailgate was doing.
        what: String,
        /// GitHub's message.
        message: String,
    },
    /// 422: GitHub understood the request and refused its content.
    #[error("{what}: GitHub refused the request (422 {message})")]
    Unprocessable {
        /// What tailgate was doing.
        what: String,
        /// GitHub's message and field errors.
        message: String,
    },
    /// Any other status, after retries where they apply.
    #[error("{what}: GitHub answered {status} ({message})")]
    Status {
        /// What tailgate was doing.
        what: String,
        /// The HTTP status.
        status: u16,
        /// GitHub's message.
        message: String,
    },
    /// A rate limit that lasts longer than tailgate waits.
    #[error("{what}: rate limited by GitHub for {wait_secs} s more, longer than tailgate waits ({max_secs} s)")]
    RateLimited {
        /// What tailgate was doing.
        what: String,
        /// How long GitHub asked to wait.
        wait_secs: u64,
        /// The longest wait tailgate accepts.
        max_secs: u64,
    },
    /// The connection failed, after retries.
    #[error("{what}: could not reach GitHub after {attempts} attempts: {message}")]
    Transport {
        /// What tailgate was doing.
        what: String,
        /// How many times it tried.
        attempts: u32,
        /// The last error.
        message: String,
    },
    /// The answer did not have the expected shape.
    #[error("{what}: unexpected answer from GitHub: {message}")]
    Decode {
        /// What tailgate was doing.
        what: String,
        /// The decoder's message.
        message: String,
    },
    /// A `git` command failed.
    #[error("git {args}: {message}")]
    Git {
        /// The git arguments.
        args: String,
        /// stderr or the spawn error.
        message: String,
    },
    /// Reading a file failed.
    #[error("could not read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// The run has no repository or pull request to publish to.
    #[error("{0}")]
    NoTarget(String),
}

impl GithubError {
    /// The HTTP status GitHub answered, when the error is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            GithubError::Unauthorized { .. } => Some(401),
            GithubError::Forbidden { .. } => Some(403),
            GithubError::NotFound { .. } => Some(404),
            GithubError::Unprocessable { .. } => Some(422),
            GithubError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// When to post (or update) the PR comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommentPolicy {
    /// On every run: create it, or update it in place.
    #[default]
    Always,
    /// Only when performance changed (a regression, an improvement, a warning or a
    /// failure) or the verdict differs from the existing comment's; an existing
    /// comment is always kept current.
    OnChange,
    /// Only when the verdict is `fail` or `error`; an existing comment is always
    /// kept current (so a fixed PR does not keep showing a failure).
    OnFailure,
    /// Never.
    Never,
}

impl FromStr for CommentPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "always" | "true" => Ok(CommentPolicy::Always),
            "on-change" => Ok(CommentPolicy::OnChange),
            "on-failure" => Ok(CommentPolicy::OnFailure),
            "never" | "false" => Ok(CommentPolicy::Never),
            other => Err(format!(
                "unknown comment policy `{other}`: use always, on-change, on-failure or never"
            )),
        }
    }
}

impl fmt::Display for CommentPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CommentPolicy::Always => "always",
            CommentPolicy::OnChange => "on-change",
            CommentPolicy::OnFailure => "on-failure",
            CommentPolicy::Never => "never",
        })
    }
}
