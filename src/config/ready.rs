//! `ready:` of a deployer whose targets tailgate polls before the first round
//! (`url`, `cloudformation`, `command`).

use super::checker::{positive, Checker};
use super::index::FieldPath;
use super::model::RemoteReady;
use super::raw::RawRemoteReady;

/// `ready:` of a deployer whose targets tailgate polls before the first round.
pub(crate) fn remote_ready(
    raw: Option<RawRemoteReady>,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<RemoteReady> {
    let defaults = RemoteReady::default();
    let Some(raw) = raw else {
        return Some(defaults);
    };
    let ready_path = raw.path.unwrap_or(defaults.path);
    if !ready_path.starts_with('/') {
        check.value(
            &path.key("path"),
            format!("{ready_path:?} does not start with `/`"),
            "write the path to poll until the side answers, e.g. `/healthz`",
        );
        return None;
    }
    let timeout = raw.timeout.map_or(defaults.timeout, |d| d.0);
    positive(timeout, &path.key("timeout"), check);
    let interval = raw.interval.map_or(defaults.interval, |d| d.0);
    positive(interval, &path.key("interval"), check);
    if interval > timeout {
        check.value(
            &path.key("interval"),
            "the interval is longer than the timeout, so the side would be polled once",
            "make `interval` shorter than `timeout`, e.g. `interval: 1s`",
        );
    }
    Some(RemoteReady {
        path: ready_path,
        timeout,
        interval,
        status: raw.status.map(|s| s.0).unwrap_or_default(),
    })
}
