//! The load profile, layered key by key: built-in defaults <- top-level `load`
//! <- an endpoint's `load`.
//!
//! The schedule is chosen by two keys: `rate` makes an open loop, `ladder` a
//! ladder of connection counts or of rates; with neither it is a closed loop.
//! A layer that writes one of them replaces the inherited schedule, and `~` for
//! either goes back to a closed loop. `connections` is layered on its own, so an
//! endpoint can change the connections of an inherited open loop, or leave a
//! concurrency ladder and get the inherited count back. A concurrency ladder's
//! steps are its connection counts; `connections` is kept but unused there (so
//! uncommenting a `ladder:` line under `connections: 10` just works).

use std::time::Duration;

use super::checker::Checker;
use super::checker::{in_range, positive};
use super::error::shape_help;
use super::index::FieldPath;
use super::model::{HttpVersion, LadderKind, Load, Profile};
use super::raw::{RawLadder, RawLoad};

/// The most connections a profile may use at once.
pub(crate) const MAX_CONNECTIONS: u64 = 10_000;

/// How requests are paced, before connections are attached.
#[derive(Debug, Clone, PartialEq)]
enum Pacing {
    Closed,
    Open(f64),
    Ladder(LadderKind, Vec<f64>),
}

/// The load settings after some layers: what [`Load`] holds, with the
/// `connections` setting kept apart from the schedule (a concurrency ladder
/// does not use it, but a later layer may go back to a loop that does).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LoadLayers {
    connections: u32,
    pacing: Pacing,
    duration: Option<Duration>,
    requests: Option<u64>,
    warmup: Duration,
    timeout: Duration,
    http: HttpVersion,
}

impl LoadLayers {
    /// The layers as a domain [`Load`].
    pub fn load(&self) -> Load {
        let connections = self.connections;
        let profile = match &self.pacing {
            Pacing::Closed => Profile::Closed { connections },
            Pacing::Open(rate) => Profile::Open {
                rate: *rate,
                connections,
            },
            // The steps are the connection counts: the top step is the most used.
            Pacing::Ladder(LadderKind::Concurrency, steps) => Profile::Ladder {
                kind: LadderKind::Concurrency,
                steps: steps.clone(),
                connections: steps.iter().copied().fold(1.0, f64::max) as u32,
            },
            Pacing::Ladder(LadderKind::Rate, steps) => Profile::Ladder {
                kind: LadderKind::Rate,
                steps: steps.clone(),
                connections,
            },
        };
        Load {
            profile,
            duration: self.duration,
            requests: self.requests,
            warmup: self.warmup,
            timeout: self.timeout,
            http: self.http,
        }
    }

    /// The built-in defaults, taken from [`Load::default`].
    fn defaults() -> LoadLayers {
        let load = Load::default();
        let (connections, pacing) = match load.profile {
            Profile::Closed { connections } => (connections, Pacing::Closed),
            Profile::Open { rate, connections } => (connections, Pacing::Open(rate)),
            Profile::Ladder {
                kind,
                steps,
                connections,
            } => (connections, Pacing::Ladder(kind, steps)),
        };
        LoadLayers {
            connections,
            pacing,
            duration: load.duration,
            requests: load.requests,
            warmup: load.warmup,
            timeout: load.timeout,
            http: load.http,
        }
    }
}

/// The top-level `load`, over the built-in defaults.
pub(crate) fn top_load(
    raw: Option<&RawLoad>,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<LoadLayers> {
    let default = RawLoad::default();
    layer(
        &LoadLayers::defaults(),
        raw.unwrap_or(&default),
        path,
        check,
    )
}

/// An endpoint's own `load` over the top-level one. With a broken top-level
/// `load` (`None`), the endpoint's own is still checked, over the defaults.
pub(crate) fn endpoint_load(
    top: Option<&LoadLayers>,
    own: Option<&RawLoad>,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<LoadLayers> {
    let layered = match own {
        Some(own) => layer(
            &top.cloned().unwrap_or_else(LoadLayers::defaults),
            own,
            path,
            check,
        ),
        None => top.cloned(),
    };
    layered.filter(|_| top.is_some())
}

/// `raw` over `base`, key by key; `~` for `duration`/`requests` removes the
/// limit, `~` for `rate`/`ladder` goes back to a closed loop.
fn layer(
    base: &LoadLayers,
    raw: &RawLoad,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<LoadLayers> {
    let connections = match raw.connections {
        Some(c) => in_range(c.0, 1, MAX_CONNECTIONS, &path.key("connections"), check),
        None => Some(base.connections),
    };
    let pacing = pacing(base, raw, path, check);
    let duration = match raw.duration {
        Some(d) => d.map(|d| d.0),
        None => base.duration,
    };
    if let Some(Some(d)) = raw.duration {
        positive(d.0, &path.key("duration"), check);
    }
    let requests = match raw.requests {
        Some(r) => r.map(|r| r.0),
        None => base.requests,
    };
    if requests == Some(0) {
        check.value(
            &path.key("requests"),
            "`requests` is 0; it must be at least 1",
            "write how many requests to measure per round and side, e.g. `requests: 10000`",
        );
    }
    if duration.is_none() && requests.is_none() {
        let at = if check.written(&path.key("duration")) {
            path.key("duration")
        } else {
            path.clone()
        };
        check.value(
            &at,
            "no `duration` and no `requests`: a round would never end",
            "give `duration: 5s`, `requests: 10000`, or both (whichever is reached first ends the round)",
        );
    }
    let timeout = raw.timeout.map(|d| d.0).unwrap_or(base.timeout);
    if raw.timeout.is_some() {
        positive(timeout, &path.key("timeout"), check);
    }
    Some(LoadLayers {
        connections: connections?,
        pacing: pacing?,
        duration,
        requests,
        warmup: raw.warmup.map(|d| d.0).unwrap_or(base.warmup),
        timeout,
        http: raw.http.map(|h| h.0).unwrap_or(base.http),
    })
}

/// The schedule of this layer: its own `rate` or `ladder`, else the inherited one.
fn pacing(
    base: &LoadLayers,
    raw: &RawLoad,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<Pacing> {
    match (&raw.rate, &raw.ladder) {
        (Some(Some(_)), Some(Some(_))) => {
            let (rate, ladder) = (path.key("rate"), path.key("ladder"));
            let (second, first) = if check.key_pos(&ladder) > check.key_pos(&rate) {
                (ladder, "rate")
            } else {
                (rate, "ladder")
            };
            let key = second.last_key().unwrap_or("");
            check.key(
                &second,
                format!("`{key}` and `{first}` are both given"),
                "keep one: `rate` for an open loop at one arrival rate, `ladder` for steps of connections or rates",
            );
            None
        }
        (Some(Some(rate)), _) => Some(Pacing::Open(rate.0)),
        (_, Some(Some(ladder))) => ladder_steps(ladder, &path.key("ladder"), check),
        (Some(None), _) | (_, Some(None)) => Some(Pacing::Closed),
        (None, None) => Some(base.pacing.clone()),
    }
}

/// Check a ladder's steps: at least one, each in range, strictly ascending.
fn ladder_steps(raw: &RawLadder, path: &FieldPath, check: &mut Checker) -> Option<Pacing> {
    let (kind, list_path, steps) = match raw {
        RawLadder::Connections(steps) => {
            let mut ok = true;
            for (i, step) in steps.iter().enumerate() {
                let message = match step.0 {
                    0 => "a step of 0 connections sends nothing; steps start at 1".to_string(),
                    n if n > MAX_CONNECTIONS => {
                        format!("a step of {n} connections is over the limit of {MAX_CONNECTIONS}")
                    }
                    _ => continue,
                };
                check.value(&path.index(i), message, shape_help(path));
                ok = false;
            }
            if !ok {
                return None;
            }
            let steps: Vec<f64> = steps.iter().map(|s| s.0 as f64).collect();
            (LadderKind::Concurrency, path.clone(), steps)
        }
        RawLadder::Rate(None) => {
            check.missing(&path.key("rate"));
            return None;
        }
        RawLadder::Rate(Some(rates)) => (
            LadderKind::Rate,
            path.key("rate"),
            rates.iter().map(|r| r.0).collect(),
        ),
    };
    if steps.is_empty() {
        check.value(
            &list_path,
            "the ladder has no steps",
            shape_help(&list_path),
        );
        return None;
    }
    let (unit, example) = match kind {
        LadderKind::Concurrency => ("", "[1, 10, 100]"),
        LadderKind::Rate => ("/s", "[100/s, 200/s, 400/s]"),
    };
    let mut ascending = true;
    for (i, pair) in steps.windows(2).enumerate() {
        let [low, high] = pair else { continue };
        if high <= low {
            check.value(
                &list_path.index(i + 1),
                format!("the ladder's steps must go up, but {high}{unit} comes after {low}{unit}"),
                format!("write the steps in ascending order without repeats, e.g. `{example}`"),
            );
            ascending = false;
            break;
        }
    }
    ascending.then_some(Pacing::Ladder(kind, steps))
}
