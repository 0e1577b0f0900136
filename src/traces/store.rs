//! The spans of one run, kept compact and bounded, and folded per endpoint, side
//! and round into [`SpanRound`]s when the run is over.
//!
//! # Memory bound
//!
//! A kept span is a [`Compact`] (56 bytes) plus its key, interned once: at most
//! [`MAX_KEYS`] keys of at most [`super::key::MAX_KEY_LEN`] bytes. At most
//! `max_spans` spans are kept per round (all endpoints and sides together) and only
//! rounds `0..rounds` of this run are accepted, so the store holds at most
//! `rounds × max_spans × 56 B + MAX_KEYS × ~300 B` (30 rounds × 20,000 spans:
//! about 34 MB + 3 MB). Spans past a cap are counted, not kept.

use std::collections::{BTreeMap, HashMap};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::key;
use crate::results::TraceCounts;
use crate::side::Side;
use crate::stats::{SpanRound, MAX_CHILDREN};
use crate::traceparent::{self as id, TraceRef};

/// At most this many distinct span keys; the spans of further keys are kept under
/// [`OTHER`].
pub const MAX_KEYS: usize = 10_000;

/// The key of spans past [`MAX_KEYS`].
pub const OTHER: &str = "(other spans)";

/// One kept span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compact {
    /// Where its trace belongs.
    pub trace: TraceRef,
    /// Its span id (the first 8 bytes).
    pub span: u64,
    /// Its parent's span id (0 for none).
    pub parent: u64,
    /// Start, ns since the epoch.
    pub start: u64,
    /// End, ns since the epoch (≥ start).
    pub end: u64,
    /// Its key (index into the interned keys).
    pub key: u32,
    /// Its kind (OTLP `SpanKind`: 2 server, 3 client, …).
    pub kind: u8,
}

/// The spans of one run.
#[derive(Debug)]
pub struct Store {
    run: u32,
    rounds: u32,
    max_spans: usize,
    keys: HashMap<String, u32>,
    names: Vec<String>,
    spans: Vec<Compact>,
    per_round: HashMap<u32, usize>,
    /// The receiver's counters so far.
    pub counts: TraceCounts,
    /// Whether the last round has ended (later spans are counted as such).
    pub measuring_done: bool,
}

fn id8(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(b)
}

impl Store {
    /// A store for run tag `run`, accepting rounds `0..rounds`, at most
    /// `max_spans` spans per round.
    pub fn new(run: u32, rounds: u32, max_spans: usize) -> Store {
        Store {
            run,
            rounds,
            max_spans,
            keys: HashMap::new(),
            names: Vec::new(),
            spans: Vec::new(),
            per_round: HashMap::new(),
            counts: TraceCounts::default(),
            measuring_done: false,
        }
    }

    fn intern(&mut self, key: String) -> u32 {
        if let Some(&i) = self.keys.get(&key) {
            return i;
        }
        let key = if self.names.len() >= MAX_KEYS {
            OTHER.to_string()
        } else {
            key
        };
        if let Some(&i) = self.keys.get(&key) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(key.clone());
        self.keys.insert(key, i);
        i
    }

    /// Take in one decoded export.
    pub fn add(&mut self, request: &ExportTraceServiceRequest) {
        self.counts.exports += 1;
        for rs in &request.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| key::attr(&r.attributes, "service.name"))
                .map(|s| key::cut(&s, 80).to_string())
                .unwrap_or_default();
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    self.counts.spans += 1;
                    if self.measuring_done {
                        self.counts.after_last_round += 1;
                    }
                    let Some(trace) = id::parse(self.run, &span.trace_id) else {
                        self.counts.foreign += 1;
                        continue;
                    };
                    if trace.round >= self.rounds {
                        self.counts.foreign += 1;
                        continue;
                    }
                    let held = self.per_round.entry(trace.round).or_insert(0);
                    if *held >= self.max_spans {
                        self.counts.over_cap += 1;
                        continue;
                    }
                    *held += 1;
                    let key = key::span_key(&service, &span.name, span.kind, &span.attributes);
                    let key = self.intern(key);
                    let start = span.start_time_unix_nano;
                    self.spans.push(Compact {
                        trace,
                        span: id8(&span.span_id),
                        parent: id8(&span.parent_span_id),
                        start,
                        end: span.end_time_unix_nano.max(start),
                        key,
                        kind: u8::try_from(span.kind).unwrap_or(0),
                    });
                    self.counts.kept += 1;
                }
            }
        }
    }

    /// Fold the kept spans per (endpoint hash, side, round). A trace counts when its
    /// root (the span whose parent is the id the engine sent) arrived.
    pub fn fold(&mut self) -> BTreeMap<(u32, Side, u32), SpanRound> {
        self.spans
            .sort_unstable_by_key(|s| (s.trace, s.start, s.span));
        let mut out: BTreeMap<(u32, Side, u32), SpanRound> = BTreeMap::new();
        let mut complete = 0;
        let mut incomplete = 0;
        for trace in self.spans.chunk_by(|a, b| a.trace == b.trace) {
            let t = trace[0].trace;
            let root = id::parent_id(t.seq);
            if !trace.iter().any(|s| s.parent == root) {
                incomplete += 1;
                continue;
            }
            complete += 1;
            let round = out.entry((t.endpoint, t.side, t.round)).or_default();
            round.root_ms += trace
                .iter()
                .filter(|s| s.parent == root)
                .map(|s| (s.end - s.start) as f64 / MS)
                .max_by(f64::total_cmp)
                .unwrap_or(0.0);
            fold_trace(trace, &self.names, round);
        }
        self.counts.complete = complete;
        self.counts.incomplete = incomplete;
        out
    }
}

/// The length of the union of `intervals` (sorted by start), ns.
fn union_ns(intervals: &mut [(u64, u64)]) -> u64 {
    intervals.sort_unstable();
    let mut total = 0;
    let mut current: Option<(u64, u64)> = None;
    for &(s, e) in intervals.iter() {
        match current {
            Some((cs, ce)) if s <= ce => current = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                current = Some((s, e));
            }
            None => current = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = current {
        total += ce - cs;
    }
    total
}

const MS: f64 = 1e6;

/// Add one complete trace's spans to `round`.
fn fold_trace(trace: &[Compact], names: &[String], round: &mut SpanRound) {
    round.traces += 1;
    let mut children: HashMap<u64, Vec<&Compact>> = HashMap::new();
    for s in trace {
        if s.parent != 0 && s.parent != s.span {
            children.entry(s.parent).or_default().push(s);
        }
    }
    let mut intervals = Vec::new();
    for s in trace {
        let name = &names[s.key as usize];
        let duration = s.end - s.start;
        let kids = children.get(&s.span).map(Vec::as_slice).unwrap_or_default();
        // Self time: the span's own interval less its children's (clipped to it).
        intervals.clear();
        intervals.extend(
            kids.iter()
                .map(|c| (c.start.max(s.start), c.end.min(s.end)))
                .filter(|(a, b)| a < b),
        );
        let covered = union_ns(&mut intervals);
        let sums = round.spans.entry(name.clone()).or_default();
        sums.calls += 1;
        sums.total_ms += duration as f64 / MS;
        sums.self_ms += duration.saturating_sub(covered) as f64 / MS;
        if kids.len() >= 2 {
            // How the children overlapped (not clipped: a handler span may end
            // before the calls it started).
            intervals.clear();
            intervals.extend(kids.iter().map(|c| (c.start, c.end)));
            let union = union_ns(&mut intervals);
            let longest = kids.iter().map(|c| c.end - c.start).max().unwrap_or(0);
            let sum: u64 = kids.iter().map(|c| c.end - c.start).sum();
            let group = round.groups.entry(name.clone()).or_default();
            group.instances += 1;
            group.sum_ms += sum as f64 / MS;
            group.union_ms += union as f64 / MS;
            group.serial_ms += union.saturating_sub(longest) as f64 / MS;
            for c in kids {
                if group.children.len() >= MAX_CHILDREN {
                    break;
                }
                // A call is named by what answered it: the server span under a
                // client span, when it is there (`pricing: server GET /p/:id`).
                let answered = children
                    .get(&c.span)
                    .and_then(|under| under.iter().find(|u| u.kind == 2))
                    .filter(|_| c.kind == 3);
                let child = answered.unwrap_or(c);
                group.children.insert(names[child.key as usize].clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    use super::*;

    const RUN: u32 = 0x1234_5678;

    fn r(round: u32, seq: u32) -> TraceRef {
        TraceRef {
            endpoint: id::endpoint_hash("GET /o"),
            side: Side::Head,
            round,
            seq,
        }
    }

    /// A span of trace `t`: id, parent, start and end in ms.
    fn span(t: &TraceRef, id: u64, parent: u64, name: &str, ms: (u64, u64)) -> Span {
        Span {
            trace_id: id::trace_id(RUN, t).to_vec(),
            span_id: id.to_be_bytes().to_vec(),
            parent_span_id: if parent == 0 {
                Vec::new()
            } else {
                parent.to_be_bytes().to_vec()
            },
            name: name.into(),
            kind: 2,
            start_time_unix_nano: ms.0 * 1_000_000,
            end_time_unix_nano: ms.1 * 1_000_000,
            ..Default::default()
        }
    }

    fn export(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: Some(AnyValue {
                            value: Some(Value::StringValue("svc".into())),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn self_time_and_serial_time_of_a_trace() {
        let t = r(0, 1);
        let root = id::parent_id(1);
        let mut store = Store::new(RUN, 4, 100);
        // handler 0..40 ms with three 10 ms calls one after another.
        store.add(&export(vec![
            span(&t, 10, root, "handler", (0, 40)),
            span(&t, 11, 10, "a", (2, 12)),
            span(&t, 12, 10, "b", (12, 22)),
        ]));
        // The third call arrives in another export (another service's batch).
        store.add(&export(vec![span(&t, 13, 10, "c", (22, 32))]));
        let folded = store.fold();
        let round = &folded[&(t.endpoint, Side::Head, 0)];
        assert_eq!(round.traces, 1);
        let h = round.spans["svc: server handler"];
        assert_eq!(h.calls, 1);
        assert!((h.total_ms - 40.0).abs() < 1e-9);
        assert!((h.self_ms - 10.0).abs() < 1e-9, "{h:?}");
        let g = &round.groups["svc: server handler"];
        assert!((g.union_ms - 30.0).abs() < 1e-9);
        assert!((g.serial_ms - 20.0).abs() < 1e-9);
        assert_eq!(g.children.len(), 3);
        assert_eq!(store.counts.complete, 1);
    }

    #[test]
    fn foreign_rootless_and_capped_spans_are_counted_not_kept() {
        let mut store = Store::new(RUN, 2, 2);
        let other = Span {
            trace_id: vec![9; 16],
            ..Default::default()
        };
        let t = r(0, 1);
        let late_round = r(5, 1);
        store.add(&export(vec![
            other,
            span(&late_round, 1, id::parent_id(1), "x", (0, 1)),
            span(&t, 1, 77, "orphan", (0, 1)),
            span(&t, 2, 77, "orphan", (0, 1)),
            span(&t, 3, 77, "orphan", (0, 1)),
        ]));
        assert_eq!(store.counts.spans, 5);
        assert_eq!(store.counts.foreign, 2);
        assert_eq!(store.counts.kept, 2);
        assert_eq!(store.counts.over_cap, 1);
        assert!(store.fold().is_empty());
        assert_eq!(store.counts.incomplete, 1);
    }

    #[test]
    fn keys_past_the_cap_share_one_key() {
        let mut store = Store::new(RUN, 1, usize::MAX);
        for i in 0..MAX_KEYS + 5 {
            store.intern(format!("k{i}"));
        }
        assert_eq!(store.names.len(), MAX_KEYS + 1);
        assert_eq!(store.names.last().map(String::as_str), Some(OTHER));
    }
}
