//! `traces:`: checked into a [`TracesConfig`], each problem located at its key.

use std::net::SocketAddr;
use std::time::Duration;

use super::checker::in_range;
use super::checker::Checker;
use super::index::FieldPath;
use super::model::TracesConfig;
use super::raw::RawTraces;

/// `traces:`; absent means off. A section written is on unless `enabled: false`.
pub(crate) fn traces(
    raw: Option<RawTraces>,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<TracesConfig> {
    let defaults = TracesConfig::default();
    let Some(raw) = raw else {
        return Some(defaults);
    };
    let whole = |value: Option<super::raw::RawWhole>,
                 key: &str,
                 min: u64,
                 max: u64,
                 default: u32,
                 check: &mut Checker| match value {
        Some(n) => in_range(n.0, min, max, &path.key(key), check),
        None => Some(default),
    };
    let per_round = whole(
        raw.per_round,
        "per_round",
        1,
        100_000,
        defaults.per_round,
        check,
    );
    let every = whole(raw.every, "every", 1, 1_000_000, defaults.every, check);
    let max_spans = whole(
        raw.max_spans,
        "max_spans",
        100,
        10_000_000,
        defaults.max_spans,
        check,
    );
    let max_body_kib = whole(
        raw.max_body_kib,
        "max_body_kib",
        16,
        256 * 1024,
        TracesConfig::DEFAULT_MAX_BODY_KIB,
        check,
    );
    let grace = match raw.grace {
        Some(g) if g.0 > Duration::from_secs(600) => {
            check.value(
                &path.key("grace"),
                "`grace` can be at most 10m",
                "the wait after the last round for its spans, e.g. `grace: 6s` (exporters batch every 5 s by default)",
            );
            None
        }
        Some(g) => Some(g.0),
        None => Some(defaults.grace),
    };
    let listen = match raw.listen.as_deref().map(str::trim) {
        None => Some(defaults.listen),
        Some(text) => match text.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                check.value(
                    &path.key("listen"),
                    format!("`{text}` is not an address and port"),
                    "write an IP address and a port, e.g. `127.0.0.1:0` (any free port on loopback) or `0.0.0.0:4318` for a preview that exports to this runner",
                );
                None
            }
        },
    };
    Some(TracesConfig {
        enabled: raw.enabled.unwrap_or(true),
        per_round: per_round?,
        every: every?,
        max_spans: max_spans?,
        max_body: max_body_kib? as usize * 1024,
        grace: grace?,
        listen: listen?,
    })
}
