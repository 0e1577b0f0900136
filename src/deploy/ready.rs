//! Readiness: the one probe of a side (a `GET` on a fresh connection, its status or
//! what went wrong), used by the readiness poll of targets tailgate did not start
//! itself ([`ReadinessPoller`]: a preview URL, a `command` deploy's output, a
//! stack's API, which answers 403 or 5xx while its stage deploys) and by the wait
//! for a service it started ([`LocalProbe`], in [`super::process`]). A side is
//! measured only once it answers, so a preview that is still starting is not
//! counted as errors.
//!
//! Each probe opens its own connection (no pooled socket), so a server which
//! accepted a connection before it was ready, or a stale keep-alive socket, cannot
//! hide its state. Probes go through reqwest (the product's client for its own, non-load HTTP) with
//! the same rustls settings as the engine (ring, the system's roots, `tls.ca_file`,
//! `tls.insecure`). Between polls the wait doubles from `ready.interval` up to
//! [`MAX_INTERVAL`], with jitter, until `ready.timeout` has passed.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio::time::Instant;

use super::DeployError;
use crate::config::{RemoteReady, TlsSettings};
use crate::side::Side;

/// The longest wait between two polls.
pub const MAX_INTERVAL: Duration = Duration::from_secs(15);

/// The longest one poll may take.
const POLL_TIMEOUT: Duration = Duration::from_secs(10);

/// Polls the targets of one run; one connection pool for both sides.
#[derive(Debug, Clone)]
pub struct ReadinessPoller {
    client: reqwest::Client,
}

impl ReadinessPoller {
    /// A poller that trusts what the engine trusts.
    pub fn new(tls: &TlsSettings) -> Result<Self, String> {
        let client = client(&crate::tls::TlsOptions {
            ca_file: tls.ca_file.clone(),
            insecure: tls.insecure,
        })?;
        Ok(ReadinessPoller { client })
    }

    /// The offset of the target's clock at `base_url` from ours, from its `Date`
    /// headers ([`super::clock`]), probing until `until_ms` at the latest.
    pub async fn clock_offset(
        &self,
        base_url: &str,
        until_ms: i64,
    ) -> Result<super::clock::ClockOffset, String> {
        super::clock::probe(&self.client, base_url, until_ms).await
    }

    /// Poll `base_url` + `ready.path` until it answers ready or `ready.timeout`
    /// passes. Returns how many polls it took.
    pub async fn wait(
        &self,
        side: Side,
        base_url: &str,
        ready: &RemoteReady,
    ) -> Result<u32, DeployError> {
        let url = format!("{}{}", base_url.trim_end_matches('/'), ready.path);
        let started = Instant::now();
        let deadline = started + ready.timeout;
        let polls = std::sync::atomic::AtomicU32::new(0);
        let poll = || async {
            polls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = left.clamp(Duration::from_millis(1), POLL_TIMEOUT);
            let status = probe(&self.client, &url, timeout).await?;
            if ready.is_ready(status) {
                Ok(())
            } else {
                Err(format!("it answered {status}"))
            }
        };
        let backoff = ExponentialBuilder::new()
            .with_min_delay(ready.interval)
            .with_max_delay(MAX_INTERVAL.max(ready.interval))
            .with_factor(2.0)
            .with_jitter()
            .without_max_times();
        let result = tokio::time::timeout_at(
            deadline,
            poll.retry(backoff)
                .sleep(tokio::time::sleep)
                // A poll would end after the deadline: stop at the last miss.
                .adjust(|_, delay| delay.filter(|d| Instant::now() + *d < deadline)),
        )
        .await;
        let polls = polls.load(std::sync::atomic::Ordering::Relaxed);
        match result {
            Ok(Ok(())) => Ok(polls),
            Ok(Err(last)) => Err(not_ready(side, url, started, polls, last)),
            Err(_) => Err(not_ready(
                side,
                url,
                started,
                polls,
                "the last poll did not finish in time".to_string(),
            )),
        }
    }
}

/// The readiness client: no pooled connection, no redirect, no proxy, `tls` trust.
fn client(tls: &crate::tls::TlsOptions) -> Result<reqwest::Client, String> {
    let tls = crate::tls::client_config(tls).map_err(|e| format!("TLS setup failed: {e}"))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!(
            "tailgate/",
            env!("CARGO_PKG_VERSION"),
            " (readiness)"
        ))
        .connect_timeout(POLL_TIMEOUT)
        .timeout(POLL_TIMEOUT)
        // Each poll asks afresh: a pooled socket could hide a restarting server.
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build the readiness client: {e}"))
}

/// One probe: `GET url` within `timeout`, the status it answered or what went wrong.
async fn probe(client: &reqwest::Client, url: &str, timeout: Duration) -> Result<u16, String> {
    let response = client
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    Ok(response.status().as_u16())
}

/// The probe of a service tailgate started on this machine: plain `http://`.
#[derive(Debug, Clone)]
pub(crate) struct LocalProbe {
    client: reqwest::Client,
    url: String,
}

impl LocalProbe {
    /// A probe of `url`, an absolute `http://` URL. The error says what is wrong
    /// with it.
    pub(crate) fn new(url: &str) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| match url.contains("://") {
            true => e.to_string(),
            false => "it must start with http://".to_string(),
        })?;
        match parsed.scheme() {
            "http" => {}
            other => return Err(format!("readiness probes speak plain http, not `{other}`")),
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err("it has no host".to_string());
        }
        Ok(LocalProbe {
            client: client(&crate::tls::TlsOptions::default())?,
            url: url.to_string(),
        })
    }

    /// One `GET` within `timeout`: the status, or what went wrong.
    pub(crate) async fn probe(&self, timeout: Duration) -> Result<u16, String> {
        probe(&self.client, &self.url, timeout).await
    }
}

fn not_ready(side: Side, url: String, started: Instant, polls: u32, last: String) -> DeployError {
    DeployError::RemoteNotReady {
        side,
        url,
        waited: started.elapsed(),
        polls,
        last,
    }
}

/// What a failed poll ran into, without reqwest's nested wording.
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "it did not answer in time"
    } else if e.is_connect() {
        "the connection failed"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_probe_wants_an_absolute_http_url() {
        assert!(LocalProbe::new("http://127.0.0.1:8080/health?x=1").is_ok());
        assert!(LocalProbe::new("http://[::1]").is_ok());
        assert!(LocalProbe::new("https://example.com/")
            .unwrap_err()
            .contains("plain http"));
        assert!(LocalProbe::new("/health")
            .unwrap_err()
            .contains("must start with http://"));
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_outcome() {
        let port = crate::deploy::free_port().unwrap();
        let probe = LocalProbe::new(&format!("http://127.0.0.1:{port}/")).unwrap();
        let err = probe.probe(Duration::from_secs(1)).await.unwrap_err();
        assert!(err.contains("connection failed"), "{err}");
    }
}
