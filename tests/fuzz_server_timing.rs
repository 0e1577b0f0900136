//! Fuzzing the `Server-Timing` parser (W3C Server Timing) and what a recorder keeps
//! of hostile values.
//!
//! Properties: (1) well-formed header values (names, `dur`, `desc`, quoting, spaces)
//! parse back to the durations written; (2) no value panics, every duration kept is
//! finite and not negative, and however many names a server sends, a recorder keeps
//! at most `MAX_TIMING_NAMES` of at most `MAX_TIMING_NAME` bytes.
//!
//! `cargo test --test fuzz_server_timing` runs 10,000 cases per property; the
//! ignored `fuzz_one_million` runs 1,000,000: `scripts/fuzz.sh`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tailgate::bench::record::{parse_server_timing, MAX_TIMING_NAME, MAX_TIMING_NAMES};
use tailgate::bench::Recorder;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn entry() -> impl Strategy<Value = (String, f64, String)> {
    (
        "[a-z][a-z0-9_-]{0,15}",
        (0u32..100_000).prop_map(|n| f64::from(n) / 100.0),
        prop_oneof![
            Just(String::new()),
            Just(";desc=\"cache hit\"".to_string()),
            Just(";desc=plain".to_string()),
        ],
    )
}

#[test]
fn well_formed_values_parse_back() {
    runner(10_000)
        .run(&prop::collection::vec(entry(), 1..6), |entries| {
            let text = entries
                .iter()
                .enumerate()
                .map(|(i, (name, dur, desc))| {
                    if i % 2 == 0 {
                        format!("{name}{desc};dur={dur}")
                    } else {
                        format!(" {name} ; dur=\"{dur}\"{desc}")
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
            let parsed: Vec<(&str, f64)> = parse_server_timing(&text).collect();
            prop_assert_eq!(parsed.len(), entries.len());
            for ((name, dur), (want_name, want_dur, _)) in parsed.iter().zip(&entries) {
                prop_assert_eq!(*name, want_name.as_str());
                prop_assert!((dur - want_dur).abs() < 1e-9);
            }
            Ok(())
        })
        .unwrap();
}

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z;=,\" .0-9eE+-]{0,200}",
        // Endless distinct names, huge names, non-finite and negative durations.
        (1usize..200).prop_map(|n| (0..n)
            .map(|i| format!("m{i};dur=1"))
            .collect::<Vec<_>>()
            .join(",")),
        (65usize..5000).prop_map(|n| format!("{};dur=1", "x".repeat(n))),
        Just("a;dur=NaN, b;dur=inf, c;dur=-1, d;dur=1e999, e;dur=".to_string()),
    ]
}

fn never_panics(cases: u32) {
    runner(cases)
        .run(&prop::collection::vec(hostile(), 1..4), |headers| {
            let mut rec = Recorder::default();
            for h in &headers {
                for (_, dur) in parse_server_timing(h) {
                    prop_assert!(dur.is_finite() && dur >= 0.0);
                }
                rec.server_timing(h);
            }
            let mut merged = Recorder::default();
            merged.merge(&rec);
            merged.merge(&rec);
            for r in [&rec, &merged] {
                prop_assert!(r.server_timing.len() <= MAX_TIMING_NAMES);
                prop_assert!(r.server_timing.keys().all(|k| k.len() <= MAX_TIMING_NAME));
                prop_assert!(r.server_timing.values().all(|s| s.total_ms.is_finite()));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn no_value_panics_or_grows_a_recorder_10k() {
    never_panics(10_000);
}

#[test]
#[ignore = "1,000,000 inputs: scripts/fuzz.sh"]
fn fuzz_one_million() {
    never_panics(1_000_000);
}
