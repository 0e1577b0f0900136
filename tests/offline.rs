//! `tailgate compare` reproduces a run's verdict from its results file, and
//! combines a base run and a head run measured separately.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tailgate");

/// A config that runs the sample service, variant chosen per side by `command`.
fn config(dir: &Path, command: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
deploy:
  local:
    command: "{command}"
    worktree: false
    repo: .
    ready: {{ path: /healthz }}
load:
  connections: 4
  duration: 150ms
  warmup: 0s
compare:
  rounds: 8
defaults:
  # p99 of ~50 requests a round over 8 rounds is not estimable: p50 gates.
  budget: {{ p50: +10%, p99: +10% }}
endpoints:
  - name: users
    path: /users/1
"#
    );
    let path = dir.join(format!("tailgate-{}.yml", text.len()));
    std::fs::write(&path, text).unwrap();
    path
}

fn run(config: &Path, out: &Path) -> serde_json::Value {
    let status = Command::new(BIN)
        .args(["run", "--quiet", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .status()
        .unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "{status:?}");
    serde_json::from_str(&std::fs::read_to_string(out.join("tailgate-results.json")).unwrap())
        .unwrap()
}

#[test]
fn compare_reproduces_the_verdict_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &format!("exec {BIN} sample-service"));
    let original = run(&cfg, &dir.path().join("run"));
    // The head variant lost its cache: /users regresses.
    assert_eq!(original["verdict"]["level"], "fail");

    let out = Command::new(BIN)
        .args(["compare", "--quiet"])
        .arg(dir.path().join("run/tailgate-results.json"))
        .arg("--out")
        .arg(dir.path().join("again"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("again/tailgate-results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        again["comparisons"], original["comparisons"],
        "same seed, same intervals"
    );
    assert_eq!(again["verdict"], original["verdict"]);
}

#[test]
fn compare_combines_a_base_file_and_a_head_file() {
    let dir = tempfile::tempdir().unwrap();
    // Two A/A runs, one of each variant: base.json measured base twice, head.json head twice.
    let base = config(
        dir.path(),
        &format!("exec {BIN} sample-service --variant base"),
    );
    let head = config(
        dir.path(),
        &format!("exec {BIN} sample-service --variant head #"),
    );
    run(&base, &dir.path().join("base"));
    run(&head, &dir.path().join("head"));
    let out = Command::new(BIN)
        .args(["compare", "--quiet"])
        .arg(dir.path().join("base/tailgate-results.json"))
        .arg(dir.path().join("head/tailgate-results.json"))
        .arg("--out")
        .arg(dir.path().join("both"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let both: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("both/tailgate-results.json")).unwrap(),
    )
    .unwrap();
    // p50 is what these short rounds can estimate (p99 needs 1,000 requests).
    let p50 = both["comparisons"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "p50")
        .unwrap()
        .clone();
    assert_eq!(p50["state"], "regressed", "{p50}");
}

#[test]
fn compare_rejects_a_file_that_is_not_results() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    let out = Command::new(BIN).arg("compare").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a tailgate results file"), "{stderr}");
}

mod common;

#[test]
fn tampered_rounds_are_an_error_not_an_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let honest = common::measured_results(common::standin::HEAD_SHA, 1, 1.0);
    let mut cases = Vec::new();
    // An error count that overflows `ok + errors`.
    let mut res = honest.clone();
    res.endpoints[0].rounds[0]
        .data
        .errors
        .insert(tailgate::bench::ErrorKind::Timeout, u64::MAX);
    cases.push(("overflowing counts", res));
    // Successes without samples behind them.
    let mut res = honest.clone();
    res.endpoints[1].rounds[2].data.ok += 1000;
    cases.push(("ok != samples", res));
    for (what, res) in cases {
        let path = dir.path().join("forged.json");
        std::fs::write(&path, serde_json::to_string(&res).unwrap()).unwrap();
        let out = Command::new(BIN)
            .arg("compare")
            .arg(&path)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains("refused"), "{what}: {stderr}");
    }
    // The honest file still compares.
    let path = dir.path().join("honest.json");
    std::fs::write(&path, serde_json::to_string(&honest).unwrap()).unwrap();
    let out = Command::new(BIN)
        .args(["compare", "--quiet"])
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn calibrate_sizes_a_sequential_gate_from_an_a_a_run() {
    let dir = tempfile::tempdir().unwrap();
    // Both sides serve the base variant: an A/A run.
    let cfg = config(
        dir.path(),
        &format!("exec {BIN} sample-service --variant base"),
    );
    let out = Command::new(BIN)
        .args(["calibrate", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("cal"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("cal/calibration.json").exists());
    // For the smallest change asked about: the most rounds, the first look and
    // the round length that keeps p99 estimable — or, when this machine's noise
    // puts a +5 % p99 change out of reach, that said instead (the numbers depend
    // on the load the machine is under; `stats::recommend` is unit-tested).
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Sequential gate for +5.0 %: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        (line.contains("`min_rounds: 4`") && line.contains("keep p99 estimable"))
            || line.contains("out of reach at this noise"),
        "{line}"
    );
}
