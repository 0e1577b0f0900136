//! Why an endpoint's latency moved: which `Server-Timing` entries explain the change.
//!
//! A server that sends `Server-Timing` (W3C Server Timing,
//! <https://www.w3.org/TR/server-timing/>) says where each response's time went:
//! `db;dur=0.6, render;dur=0.2`. Summed per round and side, these give each entry's
//! mean per request in each round, and the rounds give what the rest of the
//! statistics use: paired differences head − base, one per round (base and head of a
//! round ran back to back, so drift cancels).
//!
//! # Method
//!
//! For each usable round `i` (both sides answered, and both have a latency) and
//! each entry `e`:
//!
//! - `d_e,i` = head's mean `dur` of `e` per response − base's, where an entry a side
//!   did not send counts 0 ms there (a cache lost or a call added is a legitimate
//!   cause: `db` absent on base and 0.87 ms on head is +0.87 ms);
//! - `D_i` = head's mean latency per request − base's (the endpoint's own change on
//!   the same scale: the mean, not a percentile, since parts add up to a mean and
//!   not to a p99).
//!
//! Each mean change gets a paired t interval over the R rounds (Student, 1908; the
//! paired design of e.g. Montgomery, *Design and Analysis of Experiments*, §2.5):
//! `x̄ ± t(1 − α/2, ν) · s/√R`, with ν = R − 1 reduced by Satterthwaite's kurtosis
//! correction as elsewhere in [`crate::stats`], so one stall round widens the
//! interval instead of naming a cause. The intervals are explanations, not
//! decisions: they are not Holm-adjusted and never change the verdict.
//!
//! # Which entries are named
//!
//! `total` is the whole, never a part. When the endpoint's mean change is clear
//! (its interval excludes 0 and it is at least [`MIN_CHANGE_MS`]), an entry is a
//! cause when its interval excludes 0 on the side the endpoint moved and its mean
//! change is at least [`MIN_SHARE`] of the endpoint's: its *share*. When the
//! endpoint's mean change is tiny or unclear (a p99 can move with the mean
//! standing still), an entry is a cause when its interval excludes 0, it moved at
//! least [`MIN_CHANGE_MS`], and at least [`MIN_RELATIVE`] of its base mean (or it
//! was absent on base); it then has no share. Causes are ordered by the size of
//! their change, at most [`MAX_CAUSES`]; none is named with fewer than 2 usable
//! rounds ("not enough data" is `None`, not a guess).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::sampling::{satterthwaite_df, Moments, Sampling};

/// An entry whose change is at least this share of the endpoint's mean change
/// (in its direction) is a cause.
pub const MIN_SHARE: f64 = 0.25;

/// Smallest mean change (ms per request) of an endpoint that is not "tiny", and of
/// an entry named on its own when the endpoint's change is tiny.
pub const MIN_CHANGE_MS: f64 = 0.1;

/// When the endpoint's change is tiny: an entry's smallest change relative to its
/// base mean.
pub const MIN_RELATIVE: f64 = 0.2;

/// At most this many causes are named.
pub const MAX_CAUSES: usize = 3;

/// What one side of one round said: how many responses, their mean latency and
/// the `Server-Timing` sums.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimingRound {
    /// Responses received (the denominator of every entry's mean: a response
    /// without an entry counts 0 ms of it).
    pub responses: u64,
    /// Mean latency per successful request, ms; `None` without one.
    pub latency_mean_ms: Option<f64>,
    /// Per `Server-Timing` entry name, the sum of its `dur` over the responses, ms.
    pub timing_ms: BTreeMap<String, f64>,
}

/// Base and head of one round.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimingPair {
    /// Base's side of the round.
    pub base: TimingRound,
    /// Head's side of the round.
    pub head: TimingRound,
}

/// A mean per request on each side and the paired change head − base, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedChange {
    /// Base's mean per request over the usable rounds.
    pub base_ms: f64,
    /// Head's mean per request over the usable rounds.
    pub head_ms: f64,
    /// Mean of the per-round differences head − base (= `head_ms − base_ms`).
    pub change_ms: f64,
    /// Lower bound of the change's interval.
    pub low_ms: f64,
    /// Upper bound of the change's interval.
    pub high_ms: f64,
}

impl PairedChange {
    /// Whether the interval lies wholly above 0 (`up`) or wholly below it.
    fn excludes_zero(&self, up: bool) -> bool {
        if up {
            self.low_ms > 0.0
        } else {
            self.high_ms < 0.0
        }
    }
}

/// A `Server-Timing` entry named as a cause of the endpoint's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingCause {
    /// The entry's name as the server sent it (outside input: escape it).
    pub name: String,
    /// Its mean per request on each side and its change.
    pub change: PairedChange,
    /// Whether base sent it at all (`false`: it is new on head).
    pub on_base: bool,
    /// Whether head sent it at all (`false`: head lost it).
    pub on_head: bool,
    /// Its change as a fraction of the endpoint's mean change, when that change is
    /// clear.
    pub share: Option<f64>,
}

/// Why one endpoint's latency moved, from its `Server-Timing` entries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingAttribution {
    /// Rounds where both sides answered and had a latency.
    pub rounds: usize,
    /// The endpoint's mean latency per request and its change.
    pub endpoint: PairedChange,
    /// Whether the endpoint's change is clear (shares are relative to it).
    pub endpoint_clear: bool,
    /// The entries that explain a meaningful share, largest change first; empty
    /// when none does.
    pub causes: Vec<TimingCause>,
}

/// The paired change of `(base, head)` values, one pair per round.
pub(crate) fn paired(values: &[(f64, f64)], confidence: f64) -> PairedChange {
    let n = values.len() as f64;
    let mut moments = Moments::default();
    let mut diffs = Vec::with_capacity(values.len());
    for (b, h) in values {
        moments.push(h - b);
        diffs.push(h - b);
    }
    let base_ms = values.iter().map(|v| v.0).sum::<f64>() / n;
    let head_ms = values.iter().map(|v| v.1).sum::<f64>() / n;
    let change_ms = diffs.iter().sum::<f64>() / n;
    let sampling = Sampling {
        center: change_ms,
        se: moments.sd() / n.sqrt(),
        df: satterthwaite_df(&diffs),
    };
    let (low_ms, high_ms) = sampling.bounds(confidence);
    PairedChange {
        base_ms,
        head_ms,
        change_ms,
        low_ms,
        high_ms,
    }
}

/// One side's mean `dur` of `name` per response in a round (0 without it).
fn per_response(round: &TimingRound, name: &str) -> f64 {
    round.timing_ms.get(name).copied().unwrap_or(0.0) / round.responses as f64
}

/// Which `Server-Timing` entries explain the endpoint's mean latency change over
/// `pairs` (one per round), with intervals at `confidence`. `None` with fewer than
/// 2 usable rounds.
pub fn attribute(pairs: &[TimingPair], confidence: f64) -> Option<TimingAttribution> {
    let usable: Vec<&TimingPair> = pairs
        .iter()
        .filter(|p| {
            let ok =
                |r: &TimingRound| r.responses > 0 && r.latency_mean_ms.is_some_and(f64::is_finite);
            ok(&p.base) && ok(&p.head)
        })
        .collect();
    if usable.len() < 2 {
        return None;
    }
    let latency: Vec<(f64, f64)> = usable
        .iter()
        .map(|p| {
            (
                p.base.latency_mean_ms.unwrap_or(0.0),
                p.head.latency_mean_ms.unwrap_or(0.0),
            )
        })
        .collect();
    let endpoint = paired(&latency, confidence);
    let up = endpoint.change_ms >= 0.0;
    let endpoint_clear = endpoint.change_ms.abs() >= MIN_CHANGE_MS && endpoint.excludes_zero(up);

    let names: BTreeSet<&String> = usable
        .iter()
        .flat_map(|p| p.base.timing_ms.keys().chain(p.head.timing_ms.keys()))
        .filter(|n| n.as_str() != "total")
        .collect();
    let mut causes: Vec<TimingCause> = names
        .into_iter()
        .filter_map(|name| {
            let values: Vec<(f64, f64)> = usable
                .iter()
                .map(|p| (per_response(&p.base, name), per_response(&p.head, name)))
                .collect();
            if values.iter().any(|(b, h)| !b.is_finite() || !h.is_finite()) {
                return None;
            }
            let change = paired(&values, confidence);
            let named = if endpoint_clear {
                change.excludes_zero(up) && change.change_ms / endpoint.change_ms >= MIN_SHARE
            } else {
                change.excludes_zero(change.change_ms >= 0.0)
                    && change.change_ms.abs() >= MIN_CHANGE_MS
                    && change.change_ms.abs() >= MIN_RELATIVE * change.base_ms
            };
            named.then(|| TimingCause {
                name: name.clone(),
                change,
                on_base: usable.iter().any(|p| p.base.timing_ms.contains_key(name)),
                on_head: usable.iter().any(|p| p.head.timing_ms.contains_key(name)),
                share: endpoint_clear.then(|| change.change_ms / endpoint.change_ms),
            })
        })
        .collect();
    causes.sort_by(|a, b| {
        b.change
            .change_ms
            .abs()
            .total_cmp(&a.change.change_ms.abs())
            .then_with(|| a.name.cmp(&b.name))
    });
    causes.truncate(MAX_CAUSES);
    Some(TimingAttribution {
        rounds: usable.len(),
        endpoint,
        endpoint_clear,
        causes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A round of 100 responses with mean latency `latency` and the entries'
    /// means per response.
    fn round(latency: f64, entries: &[(&str, f64)]) -> TimingRound {
        TimingRound {
            responses: 100,
            latency_mean_ms: Some(latency),
            timing_ms: entries
                .iter()
                .map(|(n, mean)| (n.to_string(), mean * 100.0))
                .collect(),
        }
    }

    /// A small deterministic wobble per round, in ms.
    fn wobble(i: usize, size: f64) -> f64 {
        [0.3, -0.5, 0.1, 0.4, -0.2, -0.1, 0.5, -0.4, 0.0, -0.1][i % 10] * size
    }

    #[test]
    fn an_n_plus_one_query_is_named_with_its_share() {
        // `db` 0.30 -> 0.63 ms per request; the endpoint 1.00 -> 1.47 ms; `render`
        // unchanged.
        let pairs: Vec<TimingPair> = (0..12)
            .map(|i| TimingPair {
                base: round(
                    1.0 + wobble(i, 0.05),
                    &[
                        ("db", 0.30 + wobble(i, 0.02)),
                        ("render", 0.2),
                        ("total", 0.9),
                    ],
                ),
                head: round(
                    1.47 + wobble(i + 3, 0.05),
                    &[
                        ("db", 0.63 + wobble(i + 5, 0.02)),
                        ("render", 0.2),
                        ("total", 1.3),
                    ],
                ),
            })
            .collect();
        let a = attribute(&pairs, 0.95).unwrap();
        assert_eq!(a.rounds, 12);
        assert!(a.endpoint_clear);
        assert_eq!(a.causes.len(), 1, "{a:?}");
        let db = &a.causes[0];
        assert_eq!(db.name, "db");
        assert!((db.change.change_ms - 0.33).abs() < 0.01, "{db:?}");
        assert!(
            db.change.low_ms > 0.25 && db.change.high_ms < 0.41,
            "{db:?}"
        );
        assert!((db.change.base_ms - 0.30).abs() < 0.01);
        assert!((db.change.head_ms - 0.63).abs() < 0.01);
        let share = db.share.unwrap();
        assert!((0.6..0.8).contains(&share), "{share}");
        assert!(db.on_base && db.on_head);
    }

    #[test]
    fn an_entry_absent_on_base_counts_zero_there() {
        // A lost cache: base answers from `cache`, head goes to `db` (absent on
        // base), 0.87 ms per request.
        let pairs: Vec<TimingPair> = (0..10)
            .map(|i| TimingPair {
                base: round(0.4 + wobble(i, 0.02), &[("cache", 0.05)]),
                head: round(1.3 + wobble(i + 1, 0.05), &[("db", 0.87 + wobble(i, 0.03))]),
            })
            .collect();
        let a = attribute(&pairs, 0.95).unwrap();
        assert_eq!(a.causes.len(), 1, "{a:?}");
        let db = &a.causes[0];
        assert_eq!(db.name, "db");
        assert!(!db.on_base && db.on_head);
        assert_eq!(db.change.base_ms, 0.0);
        assert!((db.change.change_ms - 0.87).abs() < 0.01);
        // `cache` went away too, but it moved against the endpoint's change.
        assert!(a.causes.iter().all(|c| c.name != "cache"));
    }

    #[test]
    fn a_noisy_unrelated_entry_is_not_named() {
        // `db` explains the change; `render` swings ±0.5 ms per round around no
        // change, and `total` is the whole.
        let pairs: Vec<TimingPair> = (0..12)
            .map(|i| TimingPair {
                base: round(
                    2.0 + wobble(i, 0.05),
                    &[
                        ("db", 0.5),
                        ("render", 1.0 + wobble(i, 1.0)),
                        ("total", 1.9),
                    ],
                ),
                head: round(
                    3.0 + wobble(i + 2, 0.05),
                    &[
                        ("db", 1.5),
                        ("render", 1.0 + wobble(i + 4, 1.0)),
                        ("total", 2.9),
                    ],
                ),
            })
            .collect();
        let a = attribute(&pairs, 0.95).unwrap();
        let names: Vec<&str> = a.causes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["db"]);
    }

    #[test]
    fn a_small_part_of_a_large_change_is_not_named() {
        // `auth` rose clearly, but by 5 % of the endpoint's change.
        let pairs: Vec<TimingPair> = (0..8)
            .map(|i| TimingPair {
                base: round(10.0 + wobble(i, 0.1), &[("auth", 0.2), ("db", 5.0)]),
                head: round(20.0 + wobble(i + 1, 0.1), &[("auth", 0.7), ("db", 14.5)]),
            })
            .collect();
        let a = attribute(&pairs, 0.95).unwrap();
        let names: Vec<&str> = a.causes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["db"]);
    }

    #[test]
    fn with_a_tiny_endpoint_change_an_entry_needs_its_own_size() {
        // The mean stands still (a p99 moved); `db` rose 0.15 ms (+50 %) and is
        // named without a share; `cache` moved 0.02 ms and is not.
        let pairs: Vec<TimingPair> = (0..10)
            .map(|i| TimingPair {
                base: round(
                    5.0 + wobble(i, 0.3),
                    &[("cache", 0.10), ("db", 0.30 + wobble(i, 0.01))],
                ),
                head: round(
                    5.0 + wobble(i + 3, 0.3),
                    &[("cache", 0.12), ("db", 0.45 + wobble(i + 2, 0.01))],
                ),
            })
            .collect();
        let a = attribute(&pairs, 0.95).unwrap();
        assert!(!a.endpoint_clear, "{a:?}");
        let names: Vec<&str> = a.causes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["db"]);
        assert_eq!(a.causes[0].share, None);
    }

    #[test]
    fn an_improvement_names_what_got_faster() {
        // An index: `db` 0.8 -> 0.3 ms.
        let pairs: Vec<TimingPair> = (0..8)
            .map(|i| TimingPair {
                base: round(1.5 + wobble(i, 0.05), &[("db", 0.8 + wobble(i, 0.02))]),
                head: round(
                    1.0 + wobble(i + 1, 0.05),
                    &[("db", 0.3 + wobble(i + 1, 0.02))],
                ),
            })
            .collect();
        let a = attribute(&pairs, 0.95).unwrap();
        assert_eq!(a.causes.len(), 1);
        assert!(a.causes[0].change.change_ms < -0.45);
        assert!(a.causes[0].share.unwrap() > 0.9);
    }

    #[test]
    fn not_enough_rounds_is_none_and_bad_input_does_not_panic() {
        let one = TimingPair {
            base: round(1.0, &[("db", 0.3)]),
            head: round(2.0, &[("db", 1.3)]),
        };
        assert_eq!(attribute(std::slice::from_ref(&one), 0.95), None);
        let silent = TimingPair {
            base: TimingRound::default(),
            head: round(2.0, &[]),
        };
        assert_eq!(attribute(&[one.clone(), silent], 0.95), None);
        let mut odd = one.clone();
        odd.head.timing_ms.insert("db".into(), f64::NAN);
        odd.base.timing_ms.insert("x".into(), f64::INFINITY);
        let a = attribute(&[odd.clone(), odd], 0.95).unwrap();
        assert!(a.causes.is_empty(), "{a:?}");
        // Identical rounds: the interval is the point.
        let a = attribute(&[one.clone(), one], 0.95).unwrap();
        assert_eq!(a.causes.len(), 1);
        assert_eq!(a.causes[0].change.low_ms, a.causes[0].change.high_ms);
    }
}
