//! Fuzzing the reading of results files, as `tailgate compare`, `tailgate merge` and
//! `tailgate publish` take them from outside: a measured results file (rounds with
//! their histograms) with values replaced by any JSON, keys removed, text edits,
//! and arbitrary text.
//!
//! Property: no input panics or runs away. A file is either refused with a message
//! (not JSON, not a results file, rounds that do not hang together, settings out
//! of bounds) or recomputed and rendered.
//!
//! `cargo test --test fuzz_results` runs 2,000 cases (each one a bootstrap); the
//! ignored `fuzz_one_million` runs 1,000,000: `scripts/fuzz.sh`.

mod common;

mod support;

use support::json;

use json::pointers;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use tailgate::report::{build_view, render_markdown};
use tailgate::results::RunResults;

fn seed() -> Value {
    let mut results = common::measured_results(common::head_sha(), 4242, 2.1);
    // The fewest resamples the config allows: a case is one bootstrap.
    results.settings.resamples = 100;
    serde_json::to_value(&results).unwrap()
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        "[A-Za-z0-9+/=]{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,10}", inner), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn input(seed: Value) -> impl Strategy<Value = String> {
    let mut paths = Vec::new();
    pointers(&seed, String::new(), &mut paths);
    let edits = prop::collection::vec(
        (any::<prop::sample::Index>(), prop::option::of(any_json())),
        1..4,
    );
    let doc = seed.clone();
    let structured = edits.prop_map(move |edits| {
        let mut v = doc.clone();
        for (at, value) in edits {
            let path = &paths[at.index(paths.len())];
            match value {
                Some(value) => {
                    if let Some(slot) = v.pointer_mut(path) {
                        *slot = value;
                    }
                }
                None => {
                    let (parent, key) = path.rsplit_once('/').unwrap();
                    match v.pointer_mut(parent) {
                        Some(Value::Object(m)) => {
                            m.remove(&key.replace("~1", "/").replace("~0", "~"));
                        }
                        Some(Value::Array(items)) => {
                            if let Ok(i) = key.parse::<usize>() {
                                if i < items.len() {
                                    items.remove(i);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        v.to_string()
    });
    let text = seed.to_string();
    let texts = (any::<prop::sample::Index>(), any::<u8>()).prop_map(move |(at, byte)| {
        let mut bytes = text.clone().into_bytes();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        String::from_utf8_lossy(&bytes).into_owned()
    });
    prop_oneof![8 => structured, 2 => texts, 1 => any::<String>()]
}

fn never_panics(cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&input(seed()), |text| {
            let Ok(mut results) = serde_json::from_str::<RunResults>(&text) else {
                return Ok(());
            };
            if tailgate::publish::trust::check_measurements(&results).is_err() {
                return Ok(());
            }
            match tailgate::results::recompute(&mut results) {
                Ok(()) => {
                    let md = render_markdown(&build_view(&results));
                    prop_assert!(md.is_ok(), "{:?}", md.err());
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn no_results_file_panics_2k() {
    never_panics(2_000);
}

#[test]
#[ignore = "1,000,000 inputs: scripts/fuzz.sh"]
fn fuzz_one_million() {
    never_panics(1_000_000);
}

/// A file asking for billions of bootstrap resamples is refused, not run.
#[test]
fn a_file_asking_for_endless_work_is_refused() {
    let mut results = common::measured_results(common::head_sha(), 4242, 2.1);
    results.settings.resamples = u32::MAX;
    let err = tailgate::results::recompute(&mut results).expect_err("refused");
    assert!(err.to_string().contains("at most 1,000,000"), "{err}");
}
