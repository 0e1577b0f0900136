//! Shared helpers of the GitHub integration tests: the API stand-in, sample
//! results, and running the `tailgate` binary with an Actions environment.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

pub mod standin;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tailgate::config::{Fraction, Mode};
use tailgate::context::{Context, Env};
use tailgate::github::RetryPolicy;
use tailgate::judge::verdict::{
    self, Change, ChangeKind, ChangeState, EndpointComparison, Metric, MetricComparison,
};
use tailgate::results::RunContext;
use tailgate::results::{RunResults, Settings, SCHEMA};

use standin::{StandIn, BASE_SHA, HEAD_SHA, OWNER, PR, REPO};

/// A token nobody could mistake for anything else.
pub const CANARY: &str = "ghs_CANARY0tailgate0secret0token0XYZ";

/// Fast retries for tests (no wall-clock assertions are made on them).
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_wait: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
    }
}

fn latency(metric: Metric, base: f64, head: f64, spread: f64) -> MetricComparison {
    let ratio = head / base;
    let (low, high) = (ratio * (1.0 - spread), ratio * (1.0 + spread));
    let state = if low > 1.02 {
        ChangeState::Regressed
    } else if high < 1.0 / 1.02 {
        ChangeState::Improved
    } else if low >= 1.0 / 1.02 && high <= 1.02 {
        ChangeState::Unchanged
    } else {
        ChangeState::Inconclusive
    };
    MetricComparison {
        metric,
        base: Some(base),
        head: Some(head),
        change: Some(Change {
            kind: ChangeKind::Ratio,
            point: ratio,
            low,
            high,
            confidence: 0.95,
        }),
        state,
        mde: None,
        not_estimable: None,
    }
}

/// One endpoint's comparison: p50/p95/p99 scaled by `factor` on head.
pub fn endpoint(name: &str, p99_base: f64, factor: f64) -> EndpointComparison {
    let spread = 0.005;
    EndpointComparison {
        endpoint: name.to_string(),
        metrics: vec![
            latency(Metric::P50, p99_base * 0.4, p99_base * 0.4 * factor, spread),
            latency(Metric::P95, p99_base * 0.8, p99_base * 0.8 * factor, spread),
            latency(Metric::P99, p99_base, p99_base * factor, spread),
            MetricComparison {
                metric: Metric::ErrorRate,
                base: Some(0.0),
                head: Some(0.0),
                change: Some(Change {
                    kind: ChangeKind::Difference,
                    point: 0.0,
                    low: 0.0,
                    high: 0.0,
                    confidence: 0.95,
                }),
                state: ChangeState::Unchanged,
                mde: None,
                not_estimable: None,
            },
            MetricComparison {
                metric: Metric::Throughput,
                base: Some(1000.0 / p99_base),
                head: Some(1000.0 / p99_base / factor),
                change: None,
                state: ChangeState::NoData,
                mde: None,
                not_estimable: None,
            },
        ],
    }
}

/// The demo config's three endpoints, with `GET /users/42` slowed by `factor`.
pub fn comparisons(factor: f64) -> Vec<EndpointComparison> {
    vec![
        endpoint("GET /orders", 96.0, 0.35),
        endpoint("GET /users/42", 41.8, factor),
        endpoint("POST /items", 25.0, 1.0),
    ]
}

/// A results file for PR #2 at `head_sha`, written by run `run_id`; the p99 of
/// `GET /users/42` grows by `factor` (2.1 fails the demo's +10 % budget).
pub fn results(head_sha: &str, run_id: u64, factor: f64) -> RunResults {
    let config = tailgate::demo::demo_config(tailgate::config::DeployConfig::Url {
        base: "http://127.0.0.1:1".into(),
        head: "http://127.0.0.1:2".into(),
        ready: tailgate::config::RemoteReady::default(),
    });
    let comparisons = comparisons(factor);
    let verdict = verdict::decide(&config, &comparisons);
    RunResults {
        schema: SCHEMA.to_string(),
        tool_version: "0.1.0".into(),
        started_at: "2026-11-26T21:04:05Z".into(),
        context: RunContext {
            kind: "pull_request".into(),
            base_label: format!("master@{}", &BASE_SHA[..7]),
            head_label: format!("changes@{}", &head_sha[..7]),
            run_url: Some(format!(
                "https://github.com/{OWNER}/{REPO}/actions/runs/{run_id}"
            )),
            repository: Some(format!("{OWNER}/{REPO}")),
            server_url: Some("https://github.com".into()),
            pull_request: Some(PR),
            base_sha: Some(BASE_SHA.into()),
            head_sha: Some(head_sha.into()),
            run_id: Some(run_id),
            runner: Some("Linux X64, ubuntu24".into()),
            config: None,
        },
        settings: Settings {
            config_source: "tailgate.yml".into(),
            mode: Mode::Blocking,
            deployer: "url".into(),
            rounds: 6,
            min_rounds: 0,
            noise_floor: Fraction(0.02),
            confidence: 0.95,
            resamples: 2000,
            seed: 8123,
            looks: 1,
            extend: 0,
        },
        targets: Vec::new(),
        order: Vec::new(),
        endpoints: Vec::new(),
        comparisons,
        limits: verdict::limits_of(&config),
        verdict,
        cost: None,
        server: None,
        warnings: Vec::new(),
        history: None,
        acceptance: None,
        rightsizing: None,
        shard: None,
        traces: None,
    }
}

/// A fixture's path.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The Actions environment of a run of `event` (payload at `event_path`) against
/// the stand-in, writing its files into `dir`.
pub fn actions_env(
    standin: &StandIn,
    dir: &Path,
    event: &str,
    event_path: &Path,
    run_id: u64,
) -> Env {
    let pairs = [
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", event.to_string()),
        ("GITHUB_EVENT_PATH", event_path.display().to_string()),
        ("GITHUB_REPOSITORY", format!("{OWNER}/{REPO}")),
        ("GITHUB_SHA", standin::MERGE_SHA.to_string()),
        ("GITHUB_REF", format!("refs/pull/{PR}/merge")),
        ("GITHUB_RUN_ID", run_id.to_string()),
        ("GITHUB_RUN_ATTEMPT", "1".to_string()),
        ("GITHUB_SERVER_URL", "https://github.com".to_string()),
        ("GITHUB_API_URL", standin.url()),
        (
            "GITHUB_STEP_SUMMARY",
            dir.join("summary.md").display().to_string(),
        ),
        (
            "GITHUB_OUTPUT",
            dir.join("output.txt").display().to_string(),
        ),
        ("RUNNER_OS", "Linux".to_string()),
        ("RUNNER_ARCH", "X64".to_string()),
        ("INPUT_GITHUB_TOKEN", CANARY.to_string()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The context of `env`, reading the event file.
pub fn context(env: &Env) -> Context {
    let payload = env
        .get("GITHUB_EVENT_PATH")
        .map(|p| std::fs::read_to_string(p).expect("event file"));
    Context::from_env(env, payload.as_deref()).expect("context")
}

/// The PR event payload with the head at `head_sha`, written to `dir`.
pub fn pr_event(dir: &Path, head_sha: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture("github-events/pull_request.synchronize.0.json"))
        .expect("fixture");
    let mut payload: serde_json::Value = serde_json::from_str(&text).expect("json");
    payload["pull_request"]["head"]["sha"] = serde_json::json!(head_sha);
    payload["after"] = serde_json::json!(head_sha);
    let path = dir.join(format!("event-{}.json", &head_sha[..7]));
    std::fs::write(&path, payload.to_string()).expect("write event");
    path
}

/// What a run of the binary printed.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `tailgate ARGS` with exactly `env` (plus PATH).
pub async fn tailgate(env: &Env, args: &[&str], cwd: &Path) -> Output {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tailgate"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .current_dir(cwd)
        .output()
        .await
        .expect("run tailgate");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Head sha of the "newer push" in race tests (a commit the stand-in knows).
pub const NEWER_SHA: &str = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";

/// Register [`NEWER_SHA`] as the PR's head.
pub fn push_newer_head(standin: &StandIn) {
    let mut s = standin.state.lock().expect("state");
    s.commits.push(NEWER_SHA.into());
    s.pr_head = NEWER_SHA.into();
}

/// The head sha the PR fixtures carry.
pub fn head_sha() -> &'static str {
    HEAD_SHA
}

/// The gate's config on the base branch (the contents API serves it at
/// [`BASE_SHA`]): two endpoints, 4 rounds, p99 SLO 250 ms and budget +10 %.
pub const GATE_YML: &str = r#"mode: blocking
deploy:
  url:
    base: "${BASE_URL}"
    head: "${HEAD_URL}"
compare:
  rounds: 4
  resamples: 200
  seed: 7
defaults:
  slo:
    p99: 250ms
  budget:
    p99: +10%
endpoints:
  - name: GET /users/42
    path: /users/42
  - name: GET /orders
    path: /orders
"#;

/// [`GATE_YML`] parsed.
pub fn gate_config() -> tailgate::config::Config {
    let read = tailgate::config::ReadOptions {
        base_url: Some("http://127.0.0.1:1".into()),
        head_url: Some("http://127.0.0.1:2".into()),
        env: tailgate::config::Environment::Fixed(
            [
                ("BASE_URL", "http://127.0.0.1:1"),
                ("HEAD_URL", "http://127.0.0.1:2"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ),
    };
    tailgate::config::parse_with(GATE_YML, "tailgate.yml", Path::new("."), &read)
        .expect("gate config")
}

/// Serve [`GATE_YML`] as `tailgate.yml` at [`BASE_SHA`].
pub fn serve_gate(standin: &StandIn) {
    standin
        .state
        .lock()
        .expect("state")
        .files
        .insert((BASE_SHA.into(), "tailgate.yml".into()), GATE_YML.into());
}

/// One (round, side) of `n` successes around `ms` (a fixed spread, no randomness).
/// 1,000 of them let each round estimate p99 (ten samples beyond it).
fn round_data(ms: f64, n: u32) -> tailgate::bench::Recorder {
    let mut data = tailgate::bench::Recorder::default();
    for i in 0..n {
        let spread = 1.0 + f64::from(i % 50) / 100.0;
        data.success(Duration::from_secs_f64(ms * spread / 1000.0), i / 100);
        data.status(200);
    }
    data
}

/// An honest results file for PR #2 at `head_sha`, measured by run `run_id` under
/// [`GATE_YML`]: head's latencies are base's times `factor` on `GET /users/42`
/// (2.1 fails the +10 % budget; 1.0 passes); comparison and verdict computed from
/// the rounds as `tailgate run` does.
pub fn measured_results(head_sha: &str, run_id: u64, factor: f64) -> RunResults {
    use tailgate::bench::{EndpointRun, RoundRecord};
    use tailgate::side::Side;
    let config = gate_config();
    let mut res = results(head_sha, run_id, factor);
    res.endpoints = config
        .endpoints
        .iter()
        .map(|e| {
            let slow = if e.name == "GET /users/42" {
                factor
            } else {
                1.0
            };
            let mut rounds = Vec::new();
            for round in 0..config.compare.rounds {
                for (position, side) in Side::BOTH.into_iter().enumerate() {
                    let drift = 1.0 + 0.01 * f64::from(round % 3);
                    let ms = 40.0 * drift * if side == Side::Head { slow } else { 1.0 };
                    rounds.push(RoundRecord::new(
                        round,
                        side,
                        position as u8,
                        Duration::from_secs(2),
                        round_data(ms, 1_000),
                    ));
                }
            }
            EndpointRun {
                name: e.name.clone(),
                method: e.method.to_string(),
                path: e.path.clone(),
                profile: "closed loop, 8 connections".into(),
                rounds,
                first_requests: Vec::new(),
                stop: None,
                missed: Vec::new(),
            }
        })
        .collect();
    res.limits = verdict::limits_of(&config);
    res.settings = Settings::new(&config, "url", 7);
    res.settings.config_source = "tailgate.yml".into();
    tailgate::results::recompute(&mut res).expect("recompute");
    res
}
