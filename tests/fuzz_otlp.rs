//! Fuzzing the OTLP receiver's decoding (issue 27): export bodies from any exporter,
//! broken or hostile, through `traces::decode::decode` and the bounded
//! `traces::store::Store`.
//!
//! Properties: (1) well-formed exports (protobuf, OTLP/JSON, gzip) decode to what
//! was sent and every span of this run's traces is kept and folded; (2) no body
//! panics — random bytes, mutated and truncated protobuf, gzip of anything,
//! broken JSON —, nothing is decompressed past the limit, and the store keeps at
//! most `max_spans` spans per round of this run, at most `MAX_KEYS` keys of at most
//! `MAX_KEY_LEN` bytes, whatever it is sent.
//!
//! `cargo test --test fuzz_otlp` runs 10,000 cases per property; the ignored
//! `fuzz_one_million` runs 1,000,000: `scripts/fuzz.sh`.

mod support;

use std::io::Write as _;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message as _;
use support::otlp::kv;
use tailgate::side::Side;
use tailgate::traceparent::{self, TraceRef};
use tailgate::traces::decode::{decode, DecodeError};
use tailgate::traces::key::MAX_KEY_LEN;
use tailgate::traces::store::{Store, MAX_KEYS};

const RUN: u32 = 0x5eed_0027;
const ROUNDS: u32 = 4;
const MAX_SPANS: usize = 300;
const LIMIT: usize = 64 * 1024;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// One trace of this run: a root server span and `children` statements.
fn trace(round: u32, seq: u32, children: usize, statement: &str) -> Vec<Span> {
    let r = TraceRef {
        endpoint: traceparent::endpoint_hash("GET /x"),
        side: if seq.is_multiple_of(2) {
            Side::Base
        } else {
            Side::Head
        },
        round,
        seq,
    };
    let id = traceparent::trace_id(RUN, &r).to_vec();
    let root = 1_000 + u64::from(seq);
    let mut spans = vec![Span {
        trace_id: id.clone(),
        span_id: root.to_be_bytes().to_vec(),
        parent_span_id: traceparent::parent_id(seq).to_be_bytes().to_vec(),
        name: "GET /x".into(),
        kind: 2,
        start_time_unix_nano: 1_000_000,
        end_time_unix_nano: 9_000_000,
        attributes: vec![kv("http.route", "/x"), kv("http.method", "GET")],
        ..Default::default()
    }];
    for c in 0..children {
        spans.push(Span {
            trace_id: id.clone(),
            span_id: (root * 100 + c as u64).to_be_bytes().to_vec(),
            parent_span_id: root.to_be_bytes().to_vec(),
            name: "SELECT".into(),
            kind: 3,
            start_time_unix_nano: 2_000_000 + c as u64 * 10_000,
            end_time_unix_nano: 2_005_000 + c as u64 * 10_000,
            attributes: vec![kv("db.system", "sqlite"), kv("db.statement", statement)],
            ..Default::default()
        });
    }
    spans
}

fn export(spans: Vec<Span>) -> ExportTraceServiceRequest {
    support::otlp::export("app", spans)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn well_formed_exports_decode_and_fold() {
    runner(10_000)
        .run(
            &(
                prop::collection::vec((0..ROUNDS, 0usize..5), 1..6),
                "[A-Za-z0-9 =?'_*,()]{0,60}",
                0u8..3,
            ),
            |(traces, statement, how)| {
                let spans: Vec<Span> = traces
                    .iter()
                    .enumerate()
                    .flat_map(|(seq, (round, children))| {
                        trace(*round, seq as u32, *children, &statement)
                    })
                    .collect();
                let n = spans.len() as u64;
                let req = export(spans);
                let pb = req.encode_to_vec();
                let decoded = match how {
                    0 => decode(&pb, Some("application/x-protobuf"), None, LIMIT),
                    1 => decode(
                        &serde_json::to_vec(&req).unwrap(),
                        Some("application/json"),
                        None,
                        LIMIT,
                    ),
                    _ => decode(&gzip(&pb), None, Some("gzip"), LIMIT),
                }
                .unwrap();
                prop_assert_eq!(&decoded, &req);
                let mut store = Store::new(RUN, ROUNDS, usize::MAX);
                store.add(&decoded);
                prop_assert_eq!(store.counts.kept, n);
                let folded = store.fold();
                prop_assert_eq!(store.counts.complete, traces.len() as u64);
                let folded_traces: u64 = folded.values().map(|r| r.traces).sum();
                prop_assert_eq!(folded_traces, traces.len() as u64);
                Ok(())
            },
        )
        .unwrap();
}

/// A hostile body: random bytes, a real export mutated (bytes overwritten, cut,
/// a huge length spliced in), gzip of either, or broken JSON.
fn hostile() -> impl Strategy<Value = (Vec<u8>, u8)> {
    let real = (0..ROUNDS, 0u32..1000, 0usize..40, "\\PC{0,300}").prop_map(
        |(round, seq, children, statement)| {
            export(trace(round, seq, children, &statement)).encode_to_vec()
        },
    );
    let mutated = (
        real,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut bytes, flips, cut)| {
            for (at, b) in flips {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = b;
                }
            }
            let keep = cut.index(bytes.len() + 1);
            bytes.truncate(keep.max(bytes.len() / 2));
            bytes
        });
    let huge_length = Just({
        // A field 1 (resource_spans) whose declared length is 2^62.
        let mut b = vec![0x0a];
        b.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f]);
        b
    });
    (
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..600),
            mutated,
            huge_length,
            "\\PC{0,300}".prop_map(String::into_bytes),
            Just(
                br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":1}]}]}]}"#
                    .to_vec()
            ),
        ],
        0u8..4,
    )
}

fn never_panics(cases: u32) {
    runner(cases)
        .run(&prop::collection::vec(hostile(), 1..4), |bodies| {
            let mut store = Store::new(RUN, ROUNDS, MAX_SPANS);
            for (body, how) in bodies {
                let result = match how {
                    0 => decode(&body, None, None, LIMIT),
                    1 => decode(&body, Some("application/json"), None, LIMIT),
                    2 => decode(&gzip(&body), None, Some("gzip"), LIMIT),
                    _ => decode(&body, None, Some("gzip"), LIMIT),
                };
                if let Err(DecodeError::TooLarge { limit }) = result {
                    prop_assert_eq!(limit, LIMIT);
                }
                if let Ok(req) = result {
                    store.add(&req);
                }
            }
            let kept = store.counts.kept as usize;
            prop_assert!(kept <= MAX_SPANS * ROUNDS as usize);
            let folded = store.fold();
            for round in folded.values() {
                prop_assert!(round.spans.len() <= MAX_KEYS + 1);
                prop_assert!(round.spans.keys().all(|k| k.len() <= MAX_KEY_LEN));
                prop_assert!(round.spans.values().all(|s| s.total_ms.is_finite()
                    && s.self_ms >= 0.0
                    && s.self_ms <= s.total_ms + 1e-9));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_gzip_bomb_is_refused_at_the_limit() {
    let body = gzip(&vec![b'{'; 4 * LIMIT]);
    assert_eq!(
        decode(&body, Some("application/json"), Some("gzip"), LIMIT),
        Err(DecodeError::TooLarge { limit: LIMIT })
    );
}

#[test]
fn no_body_panics_or_grows_the_store_10k() {
    never_panics(10_000);
}

#[test]
#[ignore = "1,000,000 inputs: scripts/fuzz.sh"]
fn fuzz_one_million() {
    never_panics(1_000_000);
}
