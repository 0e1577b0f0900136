//! The CPU-time cost model end to end: two local servers that burn a known CPU time
//! per request (1 ms on base, 4 ms on head), a cost budget of +5 % and a cost SLO.
//! The run prices every (round, side) from the servers' CPU time, compares the cost
//! per request like latency, and fails the budget.

use std::path::Path;
use std::process::Command;

use tailgate::results::RunResults;

const BIN: &str = env!("CARGO_BIN_EXE_tailgate");

/// Run a gate over the CPU burner; returns (exit code, results, stdout).
fn gate(extra: &str, release: bool) -> (Option<i32>, RunResults, String) {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/servers/cpu_server.py");
    let config = dir.path().join("tailgate.yml");
    std::fs::write(
        &config,
        format!(
            r#"
deploy:
  local:
    command: "exec python3 {script}"
    worktree: false
    repo: .
    ready: {{ path: /healthz }}
    env: {{ BURN_MS_BASE: "1", BURN_MS_HEAD: "4" }}
load: {{ connections: 2, duration: 400ms, warmup: 100ms }}
compare: {{ rounds: 6, seed: 7 }}
cost: {{ monthly_requests: 10M }}
{extra}
endpoints:
  - path: /work
"#,
            script = script.display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--config"]).arg(&config);
    if release {
        cmd.arg("--release-gate");
    }
    let out = cmd
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("out/tailgate-results.json")).unwrap();
    let results: RunResults = serde_json::from_str(&text).unwrap();
    (
        out.status.code(),
        results,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn python_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_costlier_head_fails_the_cost_budget() {
    if !python_available() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let (code, results, report) = gate(
        "defaults:\n  slo: { cost_per_1m: $5.00 }\n  budget: { p99: +1000%, cost: +5% }\n",
        false,
    );
    assert_eq!(code, Some(1), "{report}");

    // Every (round, side) was priced from the server's CPU time.
    let run = &results.endpoints[0];
    let used = run
        .stop
        .expect("a sequential run says where it stopped")
        .rounds;
    assert_eq!(run.rounds.len(), 2 * used as usize);
    for r in &run.rounds {
        assert!(
            r.cpu.is_some(),
            "round {} {} has no CPU time",
            r.round,
            r.side
        );
        assert!(r.cost.is_some(), "round {} {} has no cost", r.round, r.side);
        assert!(r.window.is_some_and(|w| w.end_ms >= w.start_ms));
    }

    // Head's cost per 1M in the comparison is the hand computation from the rounds:
    // CPU seconds / requests x $0.04048 per vCPU-hour / 3600 x 10^6.
    let side_value = |side: tailgate::side::Side| {
        let (cpu, requests) = run.side(side).fold((0.0, 0u64), |(c, n), r| {
            (c + r.cpu.unwrap().as_secs_f64(), n + r.data.total())
        });
        cpu / requests as f64 * 0.04048 / 3600.0 * 1e6
    };
    let cmp = &results.comparisons[0];
    let cost = cmp
        .get(tailgate::judge::verdict::Metric::Cost)
        .expect("a cost comparison");
    let (head, base) = (cost.head.unwrap(), cost.base.unwrap());
    let expected = side_value(tailgate::side::Side::Head);
    assert!(
        (head - expected).abs() <= expected * 1e-9,
        "{head} vs {expected}"
    );
    assert!((base - side_value(tailgate::side::Side::Base)).abs() <= base * 1e-9);
    // 4 ms against 1 ms of burn (plus the same HTTP overhead on both).
    assert!(head > base * 1.8, "head {head} base {base}");
    assert_eq!(cost.state, tailgate::judge::verdict::ChangeState::Regressed);

    let checks = &results.verdict.checks;
    let budget = checks
        .iter()
        .find(|c| {
            c.metric == tailgate::judge::verdict::Metric::Cost
                && c.kind == tailgate::judge::verdict::CheckKind::Budget
        })
        .expect("a cost budget check");
    assert_eq!(
        budget.level,
        tailgate::judge::verdict::Level::Fail,
        "{}",
        tailgate::report::checks::reason(budget)
    );
    assert!(
        tailgate::report::checks::reason(budget).contains("cost / 1M $"),
        "{}",
        tailgate::report::checks::reason(budget)
    );
    let slo = checks
        .iter()
        .find(|c| {
            c.metric == tailgate::judge::verdict::Metric::Cost
                && c.kind == tailgate::judge::verdict::CheckKind::Slo
        })
        .expect("a cost SLO check");
    assert_eq!(
        slo.level,
        tailgate::judge::verdict::Level::Pass,
        "{}",
        tailgate::report::checks::reason(slo)
    );

    // The whole run's cost, with the monthly projection, is in the results and the report.
    let total = results.cost.as_ref().expect("a cost comparison of the run");
    assert_eq!(total.source, "process CPU time");
    assert!(total.head.monthly.is_some());
    assert!(total.point_change().unwrap() > 0.8);
    assert!(report.contains("| cost / 1M |"), "{report}");
    assert!(
        report.contains("| per month (10,000,000 requests) |"),
        "{report}"
    );
}

#[test]
fn a_release_gate_checks_heads_cost_against_the_slo() {
    if !python_available() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    // 4 ms of CPU per request is ~$0.045 per 1M at $0.04048 per vCPU-hour.
    let (code, results, report) = gate("defaults:\n  slo: { cost_per_1m: $0.01 }\n", true);
    assert_eq!(code, Some(1), "{report}");
    let slo = results
        .verdict
        .checks
        .iter()
        .find(|c| c.metric == tailgate::judge::verdict::Metric::Cost)
        .expect("a cost SLO check");
    assert_eq!(
        slo.level,
        tailgate::judge::verdict::Level::Fail,
        "{}",
        tailgate::report::checks::reason(slo)
    );
    assert!(
        tailgate::report::checks::reason(slo).contains("breaks the SLO cost / 1M ≤ $0.01"),
        "{}",
        tailgate::report::checks::reason(slo)
    );
    assert!(results.cost.is_none(), "no base to compare with");
}
