//! Why from traces against real services instrumented with the stock OpenTelemetry
//! SDKs and no code of their own (issue 27): `tailgate run` with a `local` deploy of
//! a Python service (Starlette + sqlite3, `opentelemetry-instrument`) and a Node one
//! (express calling three backends over HTTP, `--require
//! @opentelemetry/auto-instrumentations-node/register`), each side told by the
//! scenario what head changed. The comment's Why line must name the statement or
//! the calls that changed, and name no span when nothing changed.
//!
//! Installed by `.ci/servers-setup.sh` (PyPI and npm only); without
//! `TAILGATE_REQUIRE_SERVERS` a missing install skips with a note. Every server is
//! on 127.0.0.1 on a free port, started and stopped by the run itself; load is
//! bounded by a request count per round. Only outcomes are asserted, never
//! durations: each change costs head several times base's latency.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One gate at a time: the services and the engine share 2 cores with the rest.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn missing(what: &str) -> bool {
    let msg = format!("{what} is not installed (run .ci/servers-setup.sh)");
    if std::env::var_os("TAILGATE_REQUIRE_SERVERS").is_some() {
        panic!("{msg}; TAILGATE_REQUIRE_SERVERS is set, so this is a failure");
    }
    eprintln!("skipped: {msg}");
    true
}

fn python_ready() -> bool {
    let ok = Command::new("opentelemetry-instrument")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("python3")
            .args([
                "-c",
                "import starlette, uvicorn, opentelemetry.instrumentation.sqlite3, opentelemetry.instrumentation.starlette, opentelemetry.exporter.otlp.proto.http",
            ])
            .status()
            .is_ok_and(|s| s.success());
    ok || !missing("the Python OpenTelemetry distro with Starlette and sqlite3 instrumentation")
}

fn node_ready() -> bool {
    let modules = root().join("tests/otel/node/node_modules");
    let ok = modules
        .join("@opentelemetry/auto-instrumentations-node/package.json")
        .exists()
        && modules.join("express/package.json").exists();
    ok || !missing("the Node OpenTelemetry auto-instrumentation (tests/otel/node)")
}

/// What a gate run left.
struct Gate {
    report: String,
    results: serde_json::Value,
}

impl Gate {
    /// The Why lines of the comment.
    fn why_lines(&self) -> Vec<&str> {
        self.report
            .lines()
            .filter(|l| l.starts_with("↳ Why:"))
            .collect()
    }
}

/// `tailgate run` on `service` (a folder under tests/otel) started by `command`
/// with `SCENARIO=scenario`, measuring `path`.
fn gate(service: &str, command: &str, scenario: &str, path: &str) -> Gate {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("a temp dir");
    let repo: PathBuf = root().join("tests/otel").join(service);
    let config = format!(
        r#"
deploy:
  local:
    command: "{command}"
    repo: "{repo}"
    worktree: false
    ready: {{ path: /health, timeout: 90s }}
    stop_timeout: 5s
    env:
      SCENARIO: {scenario}
load:
  connections: 2
  requests: 40
  duration: 20s
  warmup: 1s
  timeout: 10s
compare:
  rounds: 6
  min_rounds: 6
  seed: 27
defaults:
  budget: {{ p50: +10%, p99: +10% }}
traces:
  per_round: 40
  grace: 15s
endpoints:
  - name: {scenario}
    path: {path}
"#,
        repo = repo.display()
    );
    let file = dir.path().join("tailgate.yml");
    std::fs::write(&file, config).expect("write the config");
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_tailgate"))
        .args(["run", "--no-publish", "--quiet", "--config"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_EVENT_NAME")
        .env_remove("GITHUB_REPOSITORY")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .output()
        .expect("tailgate runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let report = std::fs::read_to_string(out.join("report.md"))
        .unwrap_or_else(|e| panic!("no report.md ({e}); tailgate said:\n{log}"));
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("tailgate-results.json")).expect("the results file"),
    )
    .expect("JSON results");
    let traces = &results["traces"];
    assert!(
        traces["counts"]["complete"].as_u64().unwrap_or(0) >= 6 * 2 * 20,
        "most traced requests should have arrived whole: {}\n{report}\n{log}",
        traces["counts"]
    );
    for why in report.lines().filter(|l| l.starts_with("↳ Why:")) {
        eprintln!("{scenario}: {why}");
    }
    Gate { report, results }
}

fn python(scenario: &str, path: &str) -> Option<Gate> {
    python_ready().then(|| {
        gate(
            "python",
            "opentelemetry-instrument python3 shop.py",
            scenario,
            path,
        )
    })
}

/// The Why line of the regression names `span` first, with `detail`.
fn assert_names(g: &Gate, span: &str, detail: &str) {
    let why = g.why_lines();
    assert_eq!(why.len(), 1, "one Why line expected:\n{}", g.report);
    let first = why[0].split("; ").next().unwrap_or_default();
    assert!(
        first.contains(&format!("span `{span}`")) && first.contains(detail),
        "the first cause should be span `{span}` ({detail}):\n{}",
        g.report
    );
    assert!(
        g.report.contains("Where the time went (traces"),
        "the traces details section:\n{}",
        g.report
    );
}

#[test]
fn an_n_plus_one_query_is_named_with_its_calls_per_request() {
    let Some(g) = python("n_plus_one", "/customers/7/orders") else {
        return;
    };
    assert_names(
        &g,
        "app: sqlite SELECT order_id, sku, qty FROM order_items WHERE order_id = ?",
        "37 calls per request",
    );
}

#[test]
fn a_dropped_index_names_the_slow_query() {
    let Some(g) = python("dropped_index", "/users/3/events") else {
        return;
    };
    assert_names(
        &g,
        "app: sqlite SELECT count(*) FROM events WHERE user_id = ?",
        "slower at 1 call per request",
    );
}

#[test]
fn a_lost_cache_names_the_query_that_appeared() {
    let Some(g) = python("lost_cache", "/products/3/rating") else {
        return;
    };
    assert_names(
        &g,
        "app: sqlite SELECT avg(stars) FROM reviews WHERE product_id = ?",
        "new on head",
    );
}

#[test]
fn serial_backend_calls_are_named_with_the_calls() {
    if !node_ready() {
        return;
    }
    let g = gate(
        "node",
        "node --require @opentelemetry/auto-instrumentations-node/register front.js",
        "serial",
        "/product/3",
    );
    let why = g.why_lines();
    assert_eq!(why.len(), 1, "{}", g.report);
    let first = why[0].split("; ").next().unwrap_or_default();
    assert!(
        first.contains("span (lost overlap of the calls of)")
            && first.contains("no longer run in parallel")
            && ["pricing", "inventory", "reviews"]
                .iter()
                .all(|b| first.contains(&format!("`app: server GET /{b}/:id`"))),
        "the serial calls should be named:\n{}",
        g.report
    );
}

#[test]
fn an_unchanged_service_names_no_span() {
    let Some(g) = python("unchanged", "/customers/7/orders") else {
        return;
    };
    assert!(
        !g.report.contains("span `") && !g.report.contains("span (lost overlap"),
        "no span should be named:\n{}",
        g.report
    );
    // The spans were there all the same: the statements of both sides, per round.
    let rounds = g.results["traces"]["endpoints"][0]["rounds"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(rounds, 12, "{}", g.results["traces"]);
}
