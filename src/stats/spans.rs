//! Why an endpoint's latency moved, from its traces: which span, which query, which
//! call got slower, more frequent, serial, or appeared.
//!
//! The load engine sends a W3C `traceparent` on a bounded share of each round's
//! requests (<https://www.w3.org/TR/trace-context/>); the services export their
//! spans (OpenTelemetry, OTLP) and `crate::traces` folds each side of each round
//! into a [`SpanRound`]: per span key (service, kind, name, route, statement with
//! literals stripped, peer), the calls, the total and the *self* time (a span's
//! duration less the union of its children's), summed over the round's complete
//! traces; and per parent key, the time its children's calls lost by not
//! overlapping ([`GroupSums::serial_ms`]).
//!
//! # Method
//!
//! The same as `Server-Timing`'s ([`super::attribute`]): per round, each entry's
//! mean per traced request on each side, paired head − base over the rounds, a
//! paired t interval (Satterthwaite's kurtosis-corrected degrees of freedom), and
//! the same rule for which entries are causes (a share of at least
//! [`super::attribution::MIN_SHARE`] of the whole's mean change, interval
//! excluding 0). The whole is the root spans' duration (the server's time per
//! request, which the spans add up to), not the client's latency, which also
//! holds the network, queueing and the SDK's own export work. The entries are:
//!
//! - each span key's **self time** per request: self times add up along a trace
//!   without counting a parent and its child twice, so a slow statement is named
//!   and not also the HTTP call and the handler around it;
//! - each parent key's **serial time** per request: Σ over its instances of
//!   (union of its children's intervals − the longest child). Children that
//!   overlap completely lose nothing; three 10 ms calls made one after another
//!   lose 20 ms. It grows when calls that overlapped in base run one after
//!   another in head, and not when one child merely got slower.
//!
//! Many keys are tested at once, so the intervals are Bonferroni-widened to the
//! run's confidence over the number of entries (Dunn, "Multiple comparisons among
//! means", JASA 56, 1961): on an unchanged service the chance that any key is
//! named stays at most 1 − confidence. The causes are explanations: they never
//! change the verdict.
//!
//! Causes that changed structure (calls per request that grew by half or more,
//! appeared, disappeared, or calls that stopped overlapping) are listed before
//! those that only took longer: the handler's own time grows with each call it
//! makes, so an N+1 query also shows as handler self time, and the query is why.
//!
//! Each cause also carries its calls per request on each side, which says *how*
//! it grew: a statement run 1 → 37 times per request is an N+1 query, one at the
//! same count is a slower query, one absent on base appeared (a cache no longer
//! hit), one absent on head disappeared.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::attribution::{
    attribute, paired, PairedChange, TimingPair, TimingRound, MAX_CAUSES, MIN_CHANGE_MS,
};

/// At most this many child keys are kept per parent key (in [`GroupSums`]).
pub const MAX_CHILDREN: usize = 8;

/// Children overlapped when Σ of their durations is at least this multiple of
/// their union (a serial cause needs it on the side that ran them in parallel).
pub const MIN_OVERLAP: f64 = 1.25;

/// Prefix of a parent key's serial-time entry in the attribution.
const SERIAL: &str = "\u{1}serial\u{1}";

/// One span key's sums over a side's complete traces in one round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanSums {
    /// Spans of this key.
    pub calls: u64,
    /// Their summed duration, ms.
    pub total_ms: f64,
    /// Their summed self time (duration less the union of their children), ms.
    pub self_ms: f64,
}

/// One parent key's children over a side's complete traces in one round.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupSums {
    /// Instances of the parent that had at least two children.
    pub instances: u64,
    /// Σ of the children's durations, ms.
    pub sum_ms: f64,
    /// Σ of the union of the children's intervals, ms (the time the children took
    /// on the parent's critical path).
    pub union_ms: f64,
    /// Σ of (union − the longest child), ms: the time lost by not overlapping.
    pub serial_ms: f64,
    /// The children's keys (at most [`MAX_CHILDREN`]).
    pub children: BTreeSet<String>,
}

/// What the traces of one side of one round said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanRound {
    /// Traced requests whose root span arrived (the denominator of every mean).
    pub traces: u64,
    /// Σ of the root spans' durations (the server's time per traced request), ms.
    #[serde(default)]
    pub root_ms: f64,
    /// Per span key, its sums.
    #[serde(default)]
    pub spans: BTreeMap<String, SpanSums>,
    /// Per parent key with two or more children, how they overlapped.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, GroupSums>,
}

impl SpanRound {
    /// Add `other`'s sums (the same round traced by another shard).
    pub fn add(&mut self, other: &SpanRound) {
        self.traces += other.traces;
        self.root_ms += other.root_ms;
        for (k, s) in &other.spans {
            let mine = self.spans.entry(k.clone()).or_default();
            mine.calls += s.calls;
            mine.total_ms += s.total_ms;
            mine.self_ms += s.self_ms;
        }
        for (k, g) in &other.groups {
            let mine = self.groups.entry(k.clone()).or_default();
            mine.instances += g.instances;
            mine.sum_ms += g.sum_ms;
            mine.union_ms += g.union_ms;
            mine.serial_ms += g.serial_ms;
            for c in &g.children {
                if mine.children.len() < MAX_CHILDREN {
                    mine.children.insert(c.clone());
                }
            }
        }
    }
}

/// Base and head of one round.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanPair<'a> {
    /// Base's spans.
    pub base: &'a SpanRound,
    /// Head's spans.
    pub head: &'a SpanRound,
}

/// How a cause changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanHow {
    /// Its time per request changed at about the same calls per request.
    Time,
    /// Its calls per request grew by half or more (N+1).
    MoreCalls,
    /// Its calls per request fell by a third or more.
    FewerCalls,
    /// Absent on base.
    Appeared,
    /// Absent on head.
    Disappeared,
    /// The parent's children overlapped less (ran one after another).
    Serial,
    /// The parent's children overlapped more (ran in parallel).
    Parallel,
}

/// A span (or a parent's children) named as a cause of the endpoint's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanCause {
    /// The span key (outside input: escape it); for [`SpanHow::Serial`] and
    /// [`SpanHow::Parallel`] the parent's.
    pub span: String,
    /// How it changed.
    pub how: SpanHow,
    /// Its self time (or serial time) per request on each side and the change.
    pub change: PairedChange,
    /// Calls per traced request on base and head.
    pub calls: (f64, f64),
    /// The change as a fraction of the endpoint's mean change, when that is clear.
    pub share: Option<f64>,
    /// For [`SpanHow::Serial`]/[`SpanHow::Parallel`]: the children's keys.
    pub children: Vec<String>,
}

/// One span key's means per traced request on each side (for the details table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanRow {
    /// The span key.
    pub span: String,
    /// Mean duration per request (all its calls) on base and head, ms.
    pub total_ms: (f64, f64),
    /// Mean self time per request on base and head, ms.
    pub self_ms: (f64, f64),
    /// Calls per request on base and head.
    pub calls: (f64, f64),
}

/// Why one endpoint moved, from its spans.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanComparison {
    /// Rounds with traces on both sides.
    pub rounds: usize,
    /// Traced requests on base and head over those rounds.
    pub traces: (u64, u64),
    /// The root spans' mean duration per traced request and its change: the
    /// server's time, what the spans can explain (the client's latency also holds
    /// the network, queueing and the SDK's own work outside the spans).
    pub endpoint: PairedChange,
    /// The causes, largest change first (at most
    /// [`super::attribution::MAX_CAUSES`]).
    pub causes: Vec<SpanCause>,
    /// Every span key, largest time per request first.
    pub rows: Vec<SpanRow>,
}

/// Mean per traced request of `f` over the rounds `(traces, value)`.
fn mean_per_trace(rounds: &[(u64, f64)]) -> f64 {
    let traces: u64 = rounds.iter().map(|r| r.0).sum();
    if traces == 0 {
        return 0.0;
    }
    rounds.iter().map(|r| r.1).sum::<f64>() / traces as f64
}

/// Which spans explain an endpoint's mean latency change over `pairs` (one per
/// round), at `confidence` over all the entries together. `None` with fewer than
/// 2 rounds traced on both sides.
pub fn compare_spans(pairs: &[SpanPair<'_>], confidence: f64) -> Option<SpanComparison> {
    let usable: Vec<&SpanPair> = pairs
        .iter()
        .filter(|p| p.base.traces > 0 && p.head.traces > 0)
        .collect();
    if usable.len() < 2 {
        return None;
    }
    let keys: BTreeSet<&String> = usable
        .iter()
        .flat_map(|p| p.base.spans.keys().chain(p.head.spans.keys()))
        .collect();
    let groups: BTreeSet<&String> = usable
        .iter()
        .flat_map(|p| p.base.groups.keys().chain(p.head.groups.keys()))
        .collect();
    let timing = |r: &SpanRound| TimingRound {
        responses: r.traces,
        latency_mean_ms: Some(r.root_ms / r.traces as f64),
        timing_ms: r
            .spans
            .iter()
            .map(|(k, s)| (k.clone(), s.self_ms))
            .chain(
                r.groups
                    .iter()
                    .map(|(k, g)| (format!("{SERIAL}{k}"), g.serial_ms)),
            )
            .collect(),
    };
    let timing_pairs: Vec<TimingPair> = usable
        .iter()
        .map(|p| TimingPair {
            base: timing(p.base),
            head: timing(p.head),
        })
        .collect();
    let entries = (keys.len() + groups.len()).max(1) as f64;
    let widened = 1.0 - (1.0 - confidence) / entries;
    let attribution = attribute(&timing_pairs, widened)?;

    let side_sums = |key: &str, head: bool, f: fn(&SpanSums) -> f64| -> f64 {
        let rounds: Vec<(u64, f64)> = usable
            .iter()
            .map(|p| {
                let r = if head { p.head } else { p.base };
                (r.traces, r.spans.get(key).map_or(0.0, f))
            })
            .collect();
        mean_per_trace(&rounds)
    };
    let calls_of = |key: &str| {
        (
            side_sums(key, false, |s| s.calls as f64),
            side_sums(key, true, |s| s.calls as f64),
        )
    };
    // How much a side's children of `parent` overlapped: Σ durations ÷ union.
    let overlap = |parent: &str, head: bool| {
        let (sum, union) = usable
            .iter()
            .map(|p| if head { p.head } else { p.base })
            .filter_map(|r| r.groups.get(parent))
            .fold((0.0, 0.0), |(s, u), g| (s + g.sum_ms, u + g.union_ms));
        if union > 0.0 {
            sum / union
        } else {
            1.0
        }
    };
    let causes: Vec<SpanCause> = attribution
        .causes
        .iter()
        .filter(|c| match c.name.strip_prefix(SERIAL) {
            // Calls that "no longer run in parallel" overlapped in base (and the
            // other way round): children that were always one after another and
            // merely took longer are not a change of overlap.
            Some(parent) => {
                let before = if c.change.change_ms > 0.0 {
                    overlap(parent, false)
                } else {
                    overlap(parent, true)
                };
                before >= MIN_OVERLAP
            }
            None => true,
        })
        .map(|c| {
            if let Some(parent) = c.name.strip_prefix(SERIAL) {
                let children: BTreeSet<String> = usable
                    .iter()
                    .flat_map(|p| [p.base, p.head])
                    .filter_map(|r| r.groups.get(parent))
                    .flat_map(|g| g.children.iter().cloned())
                    .take(MAX_CHILDREN)
                    .collect();
                SpanCause {
                    span: parent.to_string(),
                    how: if c.change.change_ms > 0.0 {
                        SpanHow::Serial
                    } else {
                        SpanHow::Parallel
                    },
                    change: c.change,
                    calls: calls_of(parent),
                    share: c.share,
                    children: children.into_iter().collect(),
                }
            } else {
                let calls = calls_of(&c.name);
                let how = if !c.on_base {
                    SpanHow::Appeared
                } else if !c.on_head {
                    SpanHow::Disappeared
                } else if calls.1 >= 1.5 * calls.0 {
                    SpanHow::MoreCalls
                } else if calls.1 * 1.5 <= calls.0 {
                    SpanHow::FewerCalls
                } else {
                    SpanHow::Time
                };
                SpanCause {
                    span: c.name.clone(),
                    how,
                    change: c.change,
                    calls,
                    share: c.share,
                    children: Vec::new(),
                }
            }
        })
        .collect();
    // A span whose calls per request changed structurally (appeared, went,
    // multiplied or shrank by half) in every round is named on that evidence, with
    // its time change (at least MIN_CHANGE_MS, the way its calls went) and
    // whatever its share: the time its calls drag along (the handler's loop, the
    // driver, the instrumentation) shows as its parent's self time, not its own,
    // and on a loaded machine the time of many small calls is noisier than their
    // count. Calls per request do not move by noise, so an unchanged service has
    // none of these (a sign test: every one of R ≥ 2 rounds, p ≤ 2^-R per key when
    // calls only wobble).
    let mut causes: Vec<SpanCause> = causes;
    for key in &keys {
        if causes.iter().any(|c| &c.span == *key) {
            continue;
        }
        let calls = calls_of(key);
        let grew = |b: f64, h: f64| (b == 0.0 && h > 0.0) || (b > 0.0 && h >= 1.5 * b);
        let per_round =
            |r: &SpanRound| r.spans.get(*key).map_or(0.0, |s| s.calls as f64) / r.traces as f64;
        let up = usable
            .iter()
            .all(|p| grew(per_round(p.base), per_round(p.head)));
        let down = usable
            .iter()
            .all(|p| grew(per_round(p.head), per_round(p.base)));
        if !up && !down {
            continue;
        }
        let values: Vec<(f64, f64)> = usable
            .iter()
            .map(|p| {
                let per =
                    |r: &SpanRound| r.spans.get(*key).map_or(0.0, |s| s.self_ms) / r.traces as f64;
                (per(p.base), per(p.head))
            })
            .collect();
        let change = paired(&values, widened);
        if (change.change_ms > 0.0) != up || change.change_ms.abs() < MIN_CHANGE_MS {
            continue;
        }
        let how = if calls.0 == 0.0 {
            SpanHow::Appeared
        } else if calls.1 == 0.0 {
            SpanHow::Disappeared
        } else if calls.1 > calls.0 {
            SpanHow::MoreCalls
        } else {
            SpanHow::FewerCalls
        };
        causes.push(SpanCause {
            span: (*key).clone(),
            how,
            change,
            calls,
            share: attribution
                .endpoint_clear
                .then(|| change.change_ms / attribution.endpoint.change_ms),
            children: Vec::new(),
        });
    }
    // A change of structure (calls that multiplied, appeared, went, or stopped
    // overlapping) comes first: it is why the time around it moved too. Then the
    // largest change.
    causes.sort_by(|a, b| {
        (a.how == SpanHow::Time)
            .cmp(&(b.how == SpanHow::Time))
            .then(
                b.change
                    .change_ms
                    .abs()
                    .total_cmp(&a.change.change_ms.abs()),
            )
    });
    causes.truncate(MAX_CAUSES);
    let mut rows: Vec<SpanRow> = keys
        .iter()
        .map(|key| SpanRow {
            span: (*key).clone(),
            total_ms: (
                side_sums(key, false, |s| s.total_ms),
                side_sums(key, true, |s| s.total_ms),
            ),
            self_ms: (
                side_sums(key, false, |s| s.self_ms),
                side_sums(key, true, |s| s.self_ms),
            ),
            calls: calls_of(key),
        })
        .collect();
    rows.sort_by(|a, b| {
        let size = |r: &SpanRow| r.total_ms.0.max(r.total_ms.1);
        size(b)
            .total_cmp(&size(a))
            .then_with(|| a.span.cmp(&b.span))
    });
    Some(SpanComparison {
        rounds: usable.len(),
        traces: (
            usable.iter().map(|p| p.base.traces).sum(),
            usable.iter().map(|p| p.head.traces).sum(),
        ),
        endpoint: attribution.endpoint,
        causes,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic wobble per round, in ms.
    fn wobble(i: usize, size: f64) -> f64 {
        [0.3, -0.5, 0.1, 0.4, -0.2, -0.1, 0.5, -0.4, 0.0, -0.1][i % 10] * size
    }

    /// One side of a round: 50 traces of a handler with the given spans, each
    /// `(key, calls per request, self ms per call)`; the root's duration = Σ of
    /// the self times plus the serial time.
    fn side(i: usize, spans: &[(&str, f64, f64)], serial: Option<f64>) -> SpanRound {
        let traces = 50u64;
        let mut r = SpanRound {
            traces,
            ..Default::default()
        };
        let mut latency = 0.0;
        for (k, calls, ms) in spans {
            let ms = ms * (1.0 + wobble(i + k.len(), 0.05));
            r.spans.insert(
                k.to_string(),
                SpanSums {
                    calls: (calls * traces as f64) as u64,
                    total_ms: calls * ms * traces as f64,
                    self_ms: calls * ms * traces as f64,
                },
            );
            latency += calls * ms;
        }
        if let Some(serial) = serial {
            r.groups.insert(
                "handler".into(),
                GroupSums {
                    instances: traces,
                    sum_ms: 30.0 * traces as f64,
                    union_ms: (10.0 + serial) * traces as f64,
                    serial_ms: serial * traces as f64,
                    children: ["pricing", "inventory", "reviews"]
                        .map(String::from)
                        .into_iter()
                        .collect(),
                },
            );
            latency += serial;
        }
        r.root_ms = (latency + 0.2 + wobble(i, 0.02)) * traces as f64;
        r
    }

    fn compare(
        base: &[(&str, f64, f64)],
        head: &[(&str, f64, f64)],
        serial: (Option<f64>, Option<f64>),
    ) -> SpanComparison {
        let rounds: Vec<(SpanRound, SpanRound)> = (0..10)
            .map(|i| (side(i, base, serial.0), side(i + 3, head, serial.1)))
            .collect();
        let pairs: Vec<SpanPair> = rounds
            .iter()
            .map(|(b, h)| SpanPair { base: b, head: h })
            .collect();
        compare_spans(&pairs, 0.95).unwrap()
    }

    #[test]
    fn an_n_plus_one_is_named_with_its_calls() {
        let q = "sqlite SELECT * FROM order_items WHERE order_id = ?";
        let c = compare(
            &[("handler", 1.0, 0.5), (q, 1.0, 0.1)],
            &[("handler", 1.0, 0.5), (q, 37.0, 0.1)],
            (None, None),
        );
        assert_eq!(c.causes[0].span, q, "{c:?}");
        assert_eq!(c.causes[0].how, SpanHow::MoreCalls);
        assert!((c.causes[0].calls.0 - 1.0).abs() < 1e-9);
        assert!((c.causes[0].calls.1 - 37.0).abs() < 1e-9);
        assert!(c.causes[0].share.is_some());
        assert!(c.causes.iter().all(|x| x.span != "handler"), "{c:?}");
    }

    #[test]
    fn an_n_plus_one_comes_before_the_handler_time_it_drags_along() {
        let q = "sqlite SELECT * FROM order_items WHERE order_id = ?";
        // Each query costs 0.05 ms in its span and 0.1 ms of the handler's own
        // time around it (the loop, the driver, the instrumentation).
        let c = compare(
            &[("handler", 1.0, 1.0), (q, 1.0, 0.05)],
            &[("handler", 1.0, 4.7), (q, 37.0, 0.05)],
            (None, None),
        );
        assert_eq!(c.causes.len(), 2, "{c:?}");
        assert_eq!(c.causes[0].span, q);
        assert_eq!(c.causes[0].how, SpanHow::MoreCalls);
        assert_eq!(c.causes[1].span, "handler");
        // Still named when its own time is a small share of the change.
        let small = compare(
            &[("handler", 1.0, 1.0), (q, 1.0, 0.01)],
            &[("handler", 1.0, 8.0), (q, 37.0, 0.01)],
            (None, None),
        );
        assert_eq!(small.causes[0].span, q, "{small:?}");
        assert!(small.causes[0].share.is_some_and(|s| s < 0.25));
    }

    /// Rounds of 50 traces: `(calls per request, self ms per request)` of key `q`
    /// on base and head, with a root of 5 ms plus `q`'s time.
    fn rounds_of(base: &[(f64, f64)], head: &[(f64, f64)]) -> Vec<(SpanRound, SpanRound)> {
        let side = |(calls, ms): (f64, f64)| {
            let mut r = SpanRound {
                traces: 50,
                root_ms: 50.0 * (5.0 + ms),
                ..Default::default()
            };
            if calls > 0.0 {
                r.spans.insert(
                    "q".into(),
                    SpanSums {
                        calls: (calls * 50.0) as u64,
                        total_ms: ms * 50.0,
                        self_ms: ms * 50.0,
                    },
                );
            }
            r
        };
        base.iter()
            .zip(head)
            .map(|(b, h)| (side(*b), side(*h)))
            .collect()
    }

    fn pairs(rounds: &[(SpanRound, SpanRound)]) -> Vec<SpanPair<'_>> {
        rounds
            .iter()
            .map(|(b, h)| SpanPair { base: b, head: h })
            .collect()
    }

    #[test]
    fn calls_that_multiplied_in_every_round_are_named_through_a_noisy_round() {
        // One stalled round makes the time's interval useless; the calls say it.
        let head = [
            (37.0, 0.5),
            (37.0, 9.0),
            (37.0, 0.6),
            (37.0, 0.4),
            (37.0, 0.7),
            (37.0, 0.5),
        ];
        let rounds = rounds_of(&[(1.0, 0.02); 6], &head);
        let c = compare_spans(&pairs(&rounds), 0.95).unwrap();
        assert_eq!(c.causes.len(), 1, "{c:?}");
        assert_eq!(c.causes[0].how, SpanHow::MoreCalls);
        // Calls that only wobble (a retry now and then) are no change of structure.
        let wobbly = [
            (1.0, 0.5),
            (1.2, 0.6),
            (1.0, 0.5),
            (1.6, 0.8),
            (1.0, 0.5),
            (1.0, 0.5),
        ];
        let rounds = rounds_of(&[(1.0, 0.5); 6], &wobbly);
        let c = compare_spans(&pairs(&rounds), 0.95).unwrap();
        assert!(c.causes.is_empty(), "{c:?}");
    }

    #[test]
    fn a_slow_query_a_lost_cache_and_serial_calls() {
        let q = "sqlite SELECT * FROM orders WHERE customer = ?";
        let slow = compare(
            &[("handler", 1.0, 0.5), (q, 1.0, 0.2)],
            &[("handler", 1.0, 0.5), (q, 1.0, 4.0)],
            (None, None),
        );
        assert_eq!(slow.causes[0].span, q);
        assert_eq!(slow.causes[0].how, SpanHow::Time);

        let lost = compare(
            &[("handler", 1.0, 0.5)],
            &[("handler", 1.0, 0.5), (q, 1.0, 3.0)],
            (None, None),
        );
        assert_eq!(lost.causes[0].span, q);
        assert_eq!(lost.causes[0].how, SpanHow::Appeared);

        let serial = compare(
            &[("handler", 1.0, 0.5), ("pricing", 1.0, 0.1)],
            &[("handler", 1.0, 0.5), ("pricing", 1.0, 0.1)],
            (Some(0.5), Some(20.0)),
        );
        assert_eq!(serial.causes.len(), 1, "{serial:?}");
        // (The helper's base overlaps: Σ 30 ms over a union of 10.5 ms.)
        assert_eq!(serial.causes[0].span, "handler");
        assert_eq!(serial.causes[0].how, SpanHow::Serial);
        assert_eq!(serial.causes[0].children.len(), 3);
        // Calls that ran one after another on base too are no lost overlap.
        let never = compare(
            &[("handler", 1.0, 0.5)],
            &[("handler", 1.0, 0.5)],
            (Some(20.0), Some(25.0)),
        );
        assert!(
            never.causes.iter().all(|c| c.how != SpanHow::Serial),
            "{never:?}"
        );
    }

    #[test]
    fn an_unchanged_service_names_nothing() {
        let spans = [("handler", 1.0, 0.5), ("q", 3.0, 0.2), ("call", 1.0, 2.0)];
        let c = compare(&spans, &spans, (Some(1.0), Some(1.0)));
        assert!(c.causes.is_empty(), "{c:?}");
        assert_eq!(c.rows.len(), 3);
        assert_eq!(c.rows[0].span, "call");
    }

    #[test]
    fn too_few_traced_rounds_are_not_enough_data() {
        let r = side(0, &[("a", 1.0, 1.0)], None);
        let empty = SpanRound::default();
        let pairs = [
            SpanPair { base: &r, head: &r },
            SpanPair {
                base: &empty,
                head: &r,
            },
        ];
        assert_eq!(compare_spans(&pairs, 0.95), None);
    }
}
