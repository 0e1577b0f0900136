//! The GitHub REST client: octocrab pointed at `GITHUB_API_URL`, with tailgate's own
//! retry loop around its raw requests, so that the status, the headers (`Link`,
//! `retry-after`, `x-ratelimit-*`) and the body are all visible.
//!
//! Retried: transport errors and 5xx with exponential backoff and jitter; secondary
//! rate limits (403/429 with `retry-after`, or the "secondary rate limit" message)
//! and an exhausted primary limit (`x-ratelimit-remaining: 0`) wait as GitHub asks,
//! up to [`RetryPolicy::max_wait`]. Everything else is an answer.
//! See <https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api>.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::GithubError;
use crate::context::Token;

/// How hard to try before giving up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Tries in all for a request that meets 5xx or transport errors (at least 1).
    pub attempts: u32,
    /// The first backoff; it doubles per retry.
    pub base_delay: Duration,
    /// The longest single backoff.
    pub max_delay: Duration,
    /// The longest wait a rate limit may ask for; a longer one is an error.
    pub max_wait: Duration,
    /// Per-request timeout (connect and read).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(20),
            max_wait: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
        }
    }
}

/// One call's purpose, for error messages: what tailgate was doing and which
/// `permissions:` entry allows it.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// `updating the PR comment`.
    pub what: &'static str,
    /// `pull-requests: write`.
    pub permission: &'static str,
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// The body as `T`.
    pub fn json<T: DeserializeOwned>(&self, call: &Call) -> Result<T, GithubError> {
        serde_json::from_slice(&self.body).map_err(|e| GithubError::Decode {
            what: call.what.to_string(),
            message: e.to_string(),
        })
    }
}

/// A GitHub REST client for one API base URL and token.
pub struct GitHub {
    octo: Octocrab,
    /// The API base URL without a trailing slash.
    api_url: String,
    token: Token,
    retry: RetryPolicy,
}

impl std::fmt::Debug for GitHub {
    // Not derived: octocrab's client holds the `Authorization` header value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api_url", &self.api_url)
            .field("token", &self.token)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

enum Attempt {
    Done(Reply),
    Failed(GithubError),
    Retry { wait: Duration, why: String },
}

impl GitHub {
    /// A client for `api_url` (`GITHUB_API_URL`) authenticating with `token`.
    pub fn new(api_url: &str, token: &Token, retry: RetryPolicy) -> Result<GitHub, GithubError> {
        let api_url = api_url.trim_end_matches('/').to_string();
        let uri: http::Uri =
            api_url
                .parse()
                .map_err(|e: http::uri::InvalidUri| GithubError::ApiUrl {
                    url: api_url.clone(),
                    message: e.to_string(),
                })?;
        if uri.scheme().is_none() || uri.authority().is_none() {
            return Err(GithubError::ApiUrl {
                url: api_url,
                message: "it needs a scheme and a host".into(),
            });
        }
        let octo = Octocrab::builder()
            .base_uri(uri)
            .map_err(|e| GithubError::Client(token.redact(&e.to_string())))?
            .personal_token(token.expose().to_string())
            .add_header(http::header::ACCEPT, "application/vnd.github+json".into())
            .add_header(
                http::header::USER_AGENT,
                concat!("tailgate/", env!("CARGO_PKG_VERSION")).into(),
            )
            .set_connect_timeout(Some(retry.timeout))
            .set_read_timeout(Some(retry.timeout))
            .build()
            .map_err(|e| GithubError::Client(token.redact(&e.to_string())))?;
        Ok(GitHub {
            octo,
            api_url,
            token: token.clone(),
            retry,
        })
    }

    /// The API base URL.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The path and query of `url` when it points into this API (a `Link` header's
    /// next page); `None` for any other host, which is never followed.
    pub fn relative(&self, url: &str) -> Option<String> {
        let rest = url.strip_prefix(&self.api_url)?;
        (rest.starts_with('/') || rest.starts_with('?') || rest.is_empty())
            .then(|| format!("/{}", rest.trim_start_matches('/')))
    }

    /// Send one request to `path` (relative to the API URL), retrying as the policy
    /// says. Only a 2xx answer is `Ok`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        call: &Call,
    ) -> Result<Reply, GithubError> {
        let attempts = self.retry.attempts.max(1);
        let mut failures = 0;
        let mut waits = 0;
        loop {
            match self.attempt(&method, path, body, call).await {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Failed(err) => return Err(err),
                Attempt::Retry { wait, why } => {
                    let rate_limited = wait > Duration::ZERO;
                    if rate_limited {
                        waits += 1;
                        if waits > attempts {
                            return Err(GithubError::Status {
                                what: call.what.into(),
                                status: 403,
                                message: format!("still rate limited after {attempts} waits"),
                            });
                        }
                        tokio::time::sleep(wait).await;
                    } else {
                        failures += 1;
                        if failures >= attempts {
                            return Err(last_failure(call, attempts, why));
                        }
                        tokio::time::sleep(self.backoff(failures)).await;
                    }
                }
            }
        }
    }

    /// `GET path` decoded as `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        call: &Call,
    ) -> Result<T, GithubError> {
        self.send(Method::GET, path, None, call).await?.json(call)
    }

    /// Every item of a paginated list, following `Link: <...>; rel="next"`.
    pub async fn paginate<T: DeserializeOwned>(
        &self,
        first: &str,
        call: &Call,
    ) -> Result<Vec<T>, GithubError> {
        let mut items = Vec::new();
        let mut next = Some(first.to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > 1000 {
                break;
            }
            let reply = self.send(Method::GET, &path, None, call).await?;
            let page: Vec<T> = reply.json(call)?;
            items.extend(page);
            next = next_link(&reply.headers).and_then(|url| self.relative(&url));
        }
        Ok(items)
    }

    fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .retry
            .base_delay
            .saturating_mul(1 << (failures - 1).min(16))
            .min(self.retry.max_delay);
        // Half fixed, half random ("equal jitter"), so racing clients spread out.
        let half = exp / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis().max(1) as u64);
        half + Duration::from_millis(jitter)
    }

    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        call: &Call,
    ) -> Attempt {
        let sent = match *method {
            Method::GET => self.octo._get(path).await,
            Method::POST => self.octo._post(path, body).await,
            Method::PATCH => self.octo._patch(path, body).await,
            Method::PUT => self.octo._put(path, body).await,
            Method::DELETE => self.octo._delete(path, body).await,
            _ => {
                return Attempt::Failed(GithubError::Client(format!(
                    "method {method} is not used by tailgate"
                )))
            }
        };
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    wait: Duration::ZERO,
                    why: self.token.redact(&error_chain(&e)),
                }
            }
        };
        let (parts, body) = response.into_parts();
        let bytes = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                return Attempt::Retry {
                    wait: Duration::ZERO,
                    why: self.token.redact(&error_chain(&e)),
                }
            }
        };
        let status = parts.status;
        if status.is_success() {
            return Attempt::Done(Reply {
                status,
                headers: parts.headers,
                body: bytes,
            });
        }
        let message = self.token.redact(&error_message(status, &bytes));
        if status.is_server_error() {
            return Attempt::Retry {
                wait: Duration::ZERO,
                why: format!("{} {message}", status.as_u16()),
            };
        }
        if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
            if let Some(wait) = rate_limit_wait(&parts.headers, &message, status) {
                if wait > self.retry.max_wait {
                    return Attempt::Failed(GithubError::RateLimited {
                        what: call.what.into(),
                        wait_secs: wait.as_secs(),
                        max_secs: self.retry.max_wait.as_secs(),
                    });
                }
                return Attempt::Retry {
                    wait: wait.max(Duration::from_millis(1)),
                    why: message,
                };
            }
        }
        let what = call.what.to_string();
        Attempt::Failed(match status.as_u16() {
            401 => GithubError::Unauthorized { what, message },
            403 => GithubError::Forbidden {
                what,
                permission: call.permission,
                message,
            },
            404 => GithubError::NotFound { what, message },
            422 => GithubError::Unprocessable { what, message },
            code => GithubError::Status {
                what,
                status: code,
                message,
            },
        })
    }
}

fn last_failure(call: &Call, attempts: u32, why: String) -> GithubError {
    match why.split_once(' ') {
        Some((code, message)) if code.len() == 3 && code.starts_with('5') => GithubError::Status {
            what: call.what.into(),
            status: code.parse().unwrap_or(500),
            message: format!("{message}; gave up after {attempts} attempts"),
        },
        _ => GithubError::Transport {
            what: call.what.into(),
            attempts,
            message: why,
        },
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// GitHub's `message` (and field `errors` of a 422) from an error body.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    let reason = status.canonical_reason().unwrap_or("error");
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return reason.to_string();
    };
    let mut message = json
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or(reason)
        .to_string();
    if let Some(errors) = json.get("errors").and_then(Value::as_array) {
        let details: Vec<String> = errors
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                other => other
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        format!(
                            "{} {}",
                            other.get("field").and_then(Value::as_str).unwrap_or(""),
                            other.get("code").and_then(Value::as_str).unwrap_or("")
                        )
                        .trim()
                        .to_string()
                    }),
            })
            .filter(|s| !s.is_empty())
            .collect();
        if !details.is_empty() {
            message.push_str(": ");
            message.push_str(&details.join("; "));
        }
    }
    message
}

/// How long a 403/429 asks to wait, when it is a rate limit (not a permission).
fn rate_limit_wait(headers: &HeaderMap, message: &str, status: StatusCode) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(secs) = header("retry-after") {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some(0) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let reset = header("x-ratelimit-reset").unwrap_or(now + 60);
        return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
    }
    let lower = message.to_ascii_lowercase();
    if lower.contains("secondary rate limit") || status == StatusCode::TOO_MANY_REQUESTS {
        // No header: GitHub says to wait at least one minute.
        return Some(Duration::from_secs(60));
    }
    None
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let mut pieces = part.split(';');
            let url = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            });
            is_next.then(|| {
                url.trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_link_header() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::LINK,
            "<https://api.github.com/repositories/1/issues/2/comments?page=2>; rel=\"next\", \
             <https://api.github.com/repositories/1/issues/2/comments?page=5>; rel=\"last\""
                .parse()
                .expect("header"),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?page=2")
        );
        h.insert(
            http::header::LINK,
            "<https://x/y?page=1>; rel=\"prev\""
                .parse()
                .expect("header"),
        );
        assert_eq!(next_link(&h), None);
    }

    #[test]
    fn rate_limits_are_told_apart_from_permissions() {
        let mut h = HeaderMap::new();
        assert_eq!(
            rate_limit_wait(
                &h,
                "Resource not accessible by integration",
                StatusCode::FORBIDDEN
            ),
            None
        );
        h.insert("retry-after", "3".parse().expect("header"));
        assert_eq!(
            rate_limit_wait(&h, "", StatusCode::FORBIDDEN),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            rate_limit_wait(
                &HeaderMap::new(),
                "You have exceeded a secondary rate limit",
                StatusCode::FORBIDDEN
            ),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn error_messages_include_field_errors() {
        let body = br#"{"message":"Validation Failed","errors":[{"resource":"CheckRun","field":"head_sha","code":"invalid"}],"documentation_url":"x"}"#;
        assert_eq!(
            error_message(StatusCode::UNPROCESSABLE_ENTITY, body),
            "Validation Failed: head_sha invalid"
        );
    }

    #[tokio::test]
    async fn only_follows_links_into_the_api() {
        let token = Token::new("t0ken-value").expect("token");
        let gh = GitHub::new("http://127.0.0.1:9/api/v3", &token, RetryPolicy::default())
            .expect("client");
        assert_eq!(
            gh.relative("http://127.0.0.1:9/api/v3/repos/o/r/issues/1/comments?page=2")
                .as_deref(),
            Some("/repos/o/r/issues/1/comments?page=2")
        );
        assert_eq!(gh.relative("https://evil.example/repos/o/r"), None);
        assert!(!format!("{gh:?}").contains("t0ken-value"));
    }
}
