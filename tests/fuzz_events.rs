//! Fuzzing the reading of GitHub's event payloads (`GITHUB_EVENT_PATH`) with the
//! real payloads of tests/fixtures/github-events as seeds.
//!
//! Property: for every event name tailgate knows (and some it does not), no payload
//! panics — the real ones with values replaced by any JSON, keys removed, or text
//! edits, and arbitrary text; what is not understood is a `ContextError` with a
//! message.
//!
//! `cargo test --test fuzz_events` runs 10,000 cases; the ignored
//! `fuzz_one_million` runs 1,000,000: `scripts/fuzz.sh`.

use std::collections::HashMap;
use std::path::Path;

mod support;

use support::json;

use json::pointers;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use tailgate::context::Context;

const EVENTS: &[&str] = &[
    "pull_request",
    "pull_request_target",
    "push",
    "release",
    "workflow_run",
    "workflow_dispatch",
    "schedule",
    "issue_comment",
    "",
];

fn seeds() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github-events");
    let mut out: Vec<Value> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap())
        .collect();
    // A workflow_run payload in GitHub's shape (its fields that tailgate reads).
    out.push(serde_json::json!({
        "action": "completed",
        "workflow_run": {
            "id": 30433642, "head_sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            "event": "pull_request", "conclusion": "success",
            "pull_requests": [{ "number": 2, "head": { "sha": "ec26c3e" } }],
            "head_repository": { "full_name": "fork/Hello-World" }
        },
        "repository": { "full_name": "Codertocat/Hello-World", "default_branch": "main" }
    }));
    out
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        Just(Value::String("0".repeat(40))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,12}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, Value),
    Remove(prop::sample::Index),
}

fn payload(seeds: Vec<Value>) -> impl Strategy<Value = String> {
    let edits = prop::collection::vec(
        prop_oneof![
            (any::<prop::sample::Index>(), any_json()).prop_map(|(i, v)| Edit::Replace(i, v)),
            any::<prop::sample::Index>().prop_map(Edit::Remove),
        ],
        0..4,
    );
    let structured = (prop::sample::select(seeds.clone()), edits).prop_map(|(mut doc, edits)| {
        for edit in edits {
            let mut all = Vec::new();
            pointers(&doc, String::new(), &mut all);
            if all.is_empty() {
                break;
            }
            match edit {
                Edit::Replace(i, v) => {
                    if let Some(slot) = doc.pointer_mut(&all[i.index(all.len())]) {
                        *slot = v;
                    }
                }
                Edit::Remove(i) => {
                    let p = &all[i.index(all.len())];
                    let (parent, key) = p.rsplit_once('/').unwrap();
                    if let Some(Value::Object(m)) = doc.pointer_mut(parent) {
                        m.remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                }
            }
        }
        doc.to_string()
    });
    let texts = (
        prop::sample::select(seeds),
        any::<prop::sample::Index>(),
        any::<u8>(),
    )
        .prop_map(|(doc, at, byte)| {
            let mut text = doc.to_string().into_bytes();
            let i = at
                .index(text.len().max(1))
                .min(text.len().saturating_sub(1));
            if !text.is_empty() {
                text[i] = byte;
            }
            String::from_utf8_lossy(&text).into_owned()
        });
    prop_oneof![6 => structured, 2 => texts, 1 => any::<String>()]
}

fn never_panics(cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::sample::select(EVENTS),
        payload(seeds()),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(event, text, actions)| {
            let env: HashMap<String, String> = [
                ("GITHUB_ACTIONS", if actions { "true" } else { "" }),
                ("GITHUB_EVENT_NAME", event),
                ("GITHUB_REPOSITORY", "Codertocat/Hello-World"),
                ("GITHUB_REF", "refs/heads/main"),
                ("GITHUB_SHA", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            match Context::from_env(&env, Some(&text)) {
                Ok(ctx) => {
                    // What the run reads of a context is computable too.
                    let _ = ctx.run_context();
                    let _ = ctx.pull_request();
                    let _ = ctx.run_url();
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn no_payload_panics_10k() {
    never_panics(10_000);
}

#[test]
#[ignore = "1,000,000 inputs: scripts/fuzz.sh"]
fn fuzz_one_million() {
    never_panics(1_000_000);
}
