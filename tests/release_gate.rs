//! A release gate deploys head alone and judges it by its SLOs only.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tailgate");

fn gate(slo_p99: &str) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tailgate.yml");
    std::fs::write(
        &config,
        format!(
            r#"
deploy:
  local:
    command: "exec {BIN} sample-service"
    worktree: false
    repo: .
    ready: {{ path: /healthz }}
load: {{ connections: 2, duration: 150ms, warmup: 0s }}
compare: {{ rounds: 3 }}
defaults:
  slo: {{ p99: {slo_p99} }}
  budget: {{ p99: +10% }}
endpoints:
  - path: /users/7
"#
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["run", "--release-gate", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let results = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/tailgate-results.json")).unwrap(),
    )
    .unwrap();
    (
        out.status.code(),
        results,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn head_alone_is_judged_by_its_slos() {
    // The head variant reads the database on every request (~12 ms).
    let (code, results, report) = gate("2ms");
    assert_eq!(code, Some(1), "{report}");
    let targets = results["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "only head is deployed");
    assert_eq!(targets[0]["side"], "head");
    let checks = results["verdict"]["checks"].as_array().unwrap();
    assert!(
        checks.iter().all(|c| c["kind"] == "slo"),
        "no budget without a base: {checks:?}"
    );
    assert!(report.contains("release gate: 1 SLO broken"), "{report}");

    let (code, _, report) = gate("5s");
    assert_eq!(code, Some(0), "{report}");
    assert!(
        report.contains("release gate: every SLO is met"),
        "{report}"
    );
}
