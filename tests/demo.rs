//! `tailgate demo` end to end: the regressed endpoint and the improved one are
//! caught, the verdict says the gate would fail the PR, and the demo exits 0.

use std::process::Command;

#[test]
fn demo_catches_the_regression_and_the_improvement() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tailgate"))
        .arg("demo")
        .arg("--out")
        .arg(out_dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no summary line for {name}:\n{stdout}"))
            .to_string()
    };
    assert!(line("GET /users/42").contains("REGRESSED"), "{stdout}");
    assert!(line("GET /orders").contains("IMPROVED"), "{stdout}");
    assert!(
        stdout.contains("the gate FAILS this PR; a real run would exit with code 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("### ❌ tailgate:"),
        "the report leads with the verdict"
    );

    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.path().join("tailgate-results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["schema"], "tailgate.results/v1.1");
    assert_eq!(results["verdict"]["level"], "fail");
    // Sequential looks: the clear improvement of GET /orders (its p50, with a p99
    // the slow base cannot estimate in 8 rounds) is decided at the first look and
    // stops being measured; every endpoint says where it stopped.
    let endpoints = results["endpoints"].as_array().unwrap();
    for e in endpoints {
        assert!(e["stop"]["rounds"].as_u64().is_some(), "{e}");
    }
    let orders = endpoints
        .iter()
        .find(|e| e["name"] == "GET /orders")
        .unwrap();
    assert_eq!(orders["stop"]["reason"], "decided", "{}", orders["stop"]);
    assert!(orders["stop"]["rounds"].as_u64().unwrap() < 8);
    assert_eq!(
        orders["rounds"].as_array().unwrap().len() as u64,
        2 * orders["stop"]["rounds"].as_u64().unwrap()
    );
    let report = std::fs::read_to_string(out_dir.path().join("report.md")).unwrap();
    assert!(
        report.contains("<!-- tailgate:comment"),
        "the report ends with the upsert marker"
    );
}
