//! The `url` deployer: the sides already exist at known URLs.

use std::collections::BTreeMap;

use crate::config::RemoteReady;

use super::{BoxFuture, DeployError, Deployer, Target, TeardownList};
use crate::side::Side;

/// Hands back fixed URLs; creates nothing, so tears down nothing.
#[derive(Debug, Clone)]
pub struct UrlDeployer {
    base: String,
    head: String,
    ready: RemoteReady,
}

impl UrlDeployer {
    /// Base and head URLs (`http://` or `https://`, no path needed).
    pub fn new(base: impl Into<String>, head: impl Into<String>) -> Self {
        UrlDeployer {
            base: base.into(),
            head: head.into(),
            ready: RemoteReady::default(),
        }
    }

    /// Poll each side with `ready` before the first round (default: `GET /`
    /// until it answers below 500, for up to 5 minutes).
    pub fn with_ready(mut self, ready: RemoteReady) -> Self {
        self.ready = ready;
        self
    }
}

/// Check that `url` is an absolute http(s) URL and strip a trailing slash.
pub(crate) fn normalise_url(side: Side, url: &str) -> Result<String, DeployError> {
    let bad = |reason: &str| DeployError::BadUrl {
        side,
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(bad("it must start with http:// or https://")),
    }
    if uri.host().is_none() {
        return Err(bad("it has no host"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

impl Deployer for UrlDeployer {
    fn name(&self) -> &'static str {
        "url"
    }

    fn readiness(&self) -> Option<&RemoteReady> {
        Some(&self.ready)
    }

    fn deploy<'a>(
        &'a self,
        side: Side,
        _cleanup: &'a TeardownList,
    ) -> BoxFuture<'a, Result<Target, DeployError>> {
        Box::pin(async move {
            let url = match side {
                Side::Base => &self.base,
                Side::Head => &self.head,
            };
            Ok(Target {
                side,
                base_url: normalise_url(side, url)?,
                label: url.clone(),
                pid: None,
                checkout: None,
                worktree: None,
                outputs: BTreeMap::new(),
                aws: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_strips_trailing_slash() {
        assert_eq!(
            normalise_url(Side::Base, "http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn rejects_missing_scheme() {
        let err = normalise_url(Side::Head, "127.0.0.1:8080").unwrap_err();
        assert!(err.to_string().contains("http://"), "{err}");
    }
}
