//! GitHub: the API client [`crate::publish`] posts through, and the gate's config
//! read at the base commit ([`gate_config`]).
//!
//! Every call goes through [`api::GitHub`] (octocrab pointed at `GITHUB_API_URL`),
//! which retries 5xx and transport errors with backoff and honours `retry-after` on
//! secondary rate limits
//! (<https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>).
//! A 403 names the `permissions:` entry the workflow is missing.

pub mod api;
pub mod gate_config;

pub use api::{GitHub, RetryPolicy};
pub use gate_config::{gate_config, note_for, ConfigCopy, GateConfig};

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
