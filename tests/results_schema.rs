//! `docs/results.schema.json` is the contract of `tailgate-results.json`: real
//! output of `tailgate run` (against loopback servers) and of `tailgate compare`
//! validates against it, and files that break the contract do not.

#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use servers::{Behavior, Server};

const BIN: &str = env!("CARGO_BIN_EXE_tailgate");
/// A change to a results document.
type Edit = fn(&mut serde_json::Value);

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/results.schema.json");

/// The published schema, compiled.
fn validator() -> (boon::Schemas, boon::SchemaIndex) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(SCHEMA).unwrap()).unwrap();
    let id = schema["$id"].as_str().unwrap().to_string();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(&id, schema).unwrap();
    let index = compiler.compile(&id, &mut schemas).unwrap();
    (schemas, index)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn assert_valid(v: &(boon::Schemas, boon::SchemaIndex), doc: &serde_json::Value, what: &str) {
    if let Err(e) = v.0.validate(doc, v.1) {
        panic!("{what} does not match docs/results.schema.json: {e:#}");
    }
}

#[test]
fn real_results_match_the_published_schema() {
    let base = Server::start(Behavior::Ok);
    let head = Server::start(Behavior::Delays {
        fast: Duration::from_millis(1),
        slow_fraction: 0.2,
        slow: (Duration::from_millis(2), Duration::from_millis(4)),
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tailgate.yml");
    std::fs::write(
        &config,
        r#"
load: { connections: 2, requests: 20, duration: 10s, warmup: 0s }
compare: { rounds: 2, seed: 11 }
# The targets export no spans: the results still carry the traces section.
traces: { grace: 1s }
defaults:
  slo: { p99: 1s, error_rate: 1% }
  budget: { p99: +50% }
endpoints:
  - name: users
    path: /users/1
  - name: feed
    path: /feed
    load: { rate: 100/s, connections: 2 }
"#,
    )
    .unwrap();
    let out = dir.path().join("run");
    let o = Command::new(BIN)
        .args(["run", "--quiet", "--no-publish", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .args([
            "--base-url",
            &base.base_url(),
            "--head-url",
            &head.base_url(),
        ])
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = validator();
    let results = json(&out.join("tailgate-results.json"));
    assert_eq!(results["schema"], "tailgate.results/v1.1");
    // Real data: both endpoints, every round, an open loop's pacing.
    assert_eq!(results["endpoints"].as_array().unwrap().len(), 2);
    assert!(results["endpoints"][1]["rounds"][0]["pacing"].is_object());
    assert!(
        results["endpoints"][0]["rounds"][0]["data"]["ok"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_valid(&v, &results, "tailgate run's results");
    // The traces section, with no spans from these targets, and one with a round.
    assert_eq!(results["traces"]["counts"]["spans"], 0);
    let mut traced = results.clone();
    traced["traces"]["endpoints"] = serde_json::json!([{
        "name": "users",
        "rounds": [{
            "round": 0, "side": "head", "traces": 2, "root_ms": 4.0,
            "spans": { "app: sqlite SELECT 1": { "calls": 2, "total_ms": 1.0, "self_ms": 1.0 } },
            "groups": { "app: server GET /u": {
                "instances": 2, "sum_ms": 2.0, "union_ms": 1.5, "serial_ms": 0.5,
                "children": ["app: sqlite SELECT 1"]
            } }
        }]
    }]);
    assert_valid(&v, &traced, "results with a traced round");

    let again = dir.path().join("again");
    let o = Command::new(BIN)
        .args(["compare", "--quiet"])
        .arg(out.join("tailgate-results.json"))
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)));
    assert_valid(
        &v,
        &json(&again.join("tailgate-results.json")),
        "tailgate compare's results",
    );

    // The schema is not vacuous: each of these breaks the contract.
    let broken: [(&str, Edit); 5] = [
        ("a newer major", |j| {
            j["schema"] = "tailgate.results/v2".into()
        }),
        ("no verdict", |j| {
            j.as_object_mut().unwrap().remove("verdict");
        }),
        ("a histogram that is not HdrHistogram base64", |j| {
            j["endpoints"][0]["rounds"][0]["data"]["latency"] = "not a histogram".into()
        }),
        ("an unknown side", |j| j["order"][0][0] = "middle".into()),
        ("a negative count", |j| {
            j["endpoints"][0]["rounds"][0]["data"]["ok"] = (-1).into()
        }),
    ];
    for (what, edit) in broken {
        let mut doc = results.clone();
        edit(&mut doc);
        assert!(v.0.validate(&doc, v.1).is_err(), "{what} was accepted");
    }
}

#[test]
fn a_run_that_failed_still_writes_results_of_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there: the run fails, its results say why.
    let url = format!("http://{}", servers::refused_port());
    let config = dir.path().join("tailgate.yml");
    std::fs::write(
        &config,
        format!(
            "deploy:\n  url:\n    base: \"{url}\"\n    head: \"{url}\"\n    ready: {{ timeout: 500ms, interval: 100ms }}\n\
             load: {{ connections: 1, requests: 5, warmup: 0s }}\ncompare: {{ rounds: 2, seed: 1 }}\nendpoints:\n  - path: /\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("run");
    let o = Command::new(BIN)
        .args(["run", "--quiet", "--no-publish", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .args(["--base-url", &url, "--head-url", &url])
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let results = json(&out.join("tailgate-results.json"));
    assert_eq!(results["verdict"]["level"], "error");
    assert_valid(&validator(), &results, "a failed run's results");
}
