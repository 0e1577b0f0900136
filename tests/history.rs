//! History on loopback: runs of the history branch are stored (a folder, or S3 on
//! moto), a pull request with `baseline: stored` deploys head alone and is compared
//! with the stored run of its merge-base (or the nearest earlier stored commit),
//! named in the report; the accept label passes a failing verdict for the head
//! commit it was added on, and only that one.

mod support;

use support::{creds, moto as moto_support};
#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Value};
use servers::{Behavior, Server};

const BIN: &str = env!("CARGO_BIN_EXE_tailgate");

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A server answering every request after `ms` milliseconds.
fn server(ms: u64) -> Server {
    Server::start(Behavior::Delays {
        fast: Duration::from_millis(ms),
        slow_fraction: 0.0,
        slow: (Duration::ZERO, Duration::ZERO),
    })
}

/// The history tests' config: short rounds, but long enough (8 connections,
/// 300 ms) that a 60 ms head still sends ≥ 20 requests a round, so its p50 is
/// estimable (ten requests beyond it).
fn config_text(store: &str, extra: &str) -> String {
    format!(
        r#"
load:
  connections: 8
  duration: 300ms
  warmup: 0s
compare:
  rounds: 6
  seed: 7
history:
  store: "{store}"
  baseline: stored
  min_runs: 3
{extra}
defaults:
  budget: {{ p50: +10%, p99: +10% }}
endpoints:
  - name: users
    path: /users/1
"#
    )
}

/// A repository with the config committed on `main`; returns main's commit.
fn repo(dir: &Path, config: &str) -> String {
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("tailgate.yml"), config).unwrap();
    std::fs::write(dir.join(".gitignore"), "out*/\nhist/\n").unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "config"]);
    git(dir, &["rev-parse", "HEAD"])
}

fn commit(dir: &Path, file: &str) -> String {
    std::fs::write(dir.join(file), file).unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", file]);
    git(dir, &["rev-parse", "HEAD"])
}

/// `doc` matches the published schema of results files.
fn assert_schema(doc: &Value) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/results.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let id = schema["$id"].as_str().unwrap().to_string();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(&id, schema).unwrap();
    let index = compiler.compile(&id, &mut schemas).unwrap();
    if let Err(e) = schemas.validate(doc, index) {
        panic!("does not match docs/results.schema.json: {e:#}");
    }
}

struct Run {
    code: i32,
    stderr: String,
    results: Value,
    report: String,
}

fn run(dir: &Path, out: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out_dir = dir.join(out);
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--quiet", "--no-publish", "--out"])
        .arg(&out_dir)
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_NAME")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_WORKSPACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let results = std::fs::read_to_string(out_dir.join("tailgate-results.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_else(|e| panic!("no results ({e}): {stderr}"));
    let report = std::fs::read_to_string(out_dir.join("report.md")).unwrap_or_default();
    Run {
        code: output.status.code().unwrap_or(-1),
        stderr,
        results,
        report,
    }
}

/// main is recorded (twice, from two commits), a PR branched off an unrecorded
/// commit of main is compared with the nearest earlier stored one; only head's
/// server is loaded; the report names the baseline commit.
fn stored_baseline_end_to_end(dir: &Path, store: &str, env: &[(&str, &str)]) {
    let main_sha = repo(dir, &config_text(store, ""));
    let fast = server(2);
    let slow = server(60);
    let fast_url = fast.base_url();
    let slow_url = slow.base_url();

    // A push to main: head alone, recorded.
    let first = run(
        dir,
        "out-main",
        &[
            "--release-gate",
            "--record",
            "--head-ref",
            "main",
            "--base-url",
            &fast_url,
            "--head-url",
            &fast_url,
        ],
        env,
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let key = first.results["history"]["recorded"]
        .as_str()
        .unwrap_or_else(|| panic!("recorded: {}", first.results["history"]))
        .to_string();
    assert!(key.contains(&main_sha), "{key}");

    // A pull request off main: slower head. Base is not deployed again.
    git(dir, &["checkout", "-q", "-b", "feature"]);
    let feature = commit(dir, "feature.txt");
    let before = fast.state.requests.load(Ordering::Relaxed);
    let pr = run(
        dir,
        "out-pr",
        &[
            "--base-ref",
            "main",
            "--head-ref",
            "feature",
            "--base-url",
            &fast_url,
            "--head-url",
            &slow_url,
        ],
        env,
    );
    assert_eq!(
        fast.state.requests.load(Ordering::Relaxed),
        before,
        "base was not deployed or loaded: its stored run stands in"
    );
    assert_eq!(
        pr.code, 1,
        "a 30x slower head fails its budget: {}",
        pr.stderr
    );
    assert_schema(&pr.results);
    let baseline = &pr.results["history"]["baseline"];
    assert_eq!(baseline["commit"], json!(main_sha), "{baseline}");
    assert!(
        baseline.get("wanted").is_none(),
        "the merge-base itself was stored"
    );
    assert!(
        pr.report
            .contains(&format!("stored run of `{}`", &main_sha[..7])),
        "{}",
        pr.report
    );
    let targets: Vec<&str> = pr.results["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["side"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["head"]);
    let p99_of = |results: &Value| {
        results["comparisons"][0]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == "p99")
            .unwrap()
            .clone()
    };
    let p99 = p99_of(&pr.results);
    assert_eq!(
        p99["base"],
        p99_of(&first.results)["head"],
        "base is main's stored run, exactly: {p99}"
    );

    // main moves on without a recorded run; a PR off it gets the nearest earlier one.
    git(dir, &["checkout", "-q", "main"]);
    let unrecorded = commit(dir, "later.txt");
    git(dir, &["checkout", "-q", "-b", "feature2"]);
    commit(dir, "feature2.txt");
    let pr2 = run(
        dir,
        "out-pr2",
        &[
            "--base-ref",
            "main",
            "--head-ref",
            "feature2",
            "--base-url",
            &fast_url,
            "--head-url",
            &slow_url,
        ],
        env,
    );
    // Two runs apart are not interleaved: the verdict is not the point here.
    assert!(pr2.code == 0 || pr2.code == 1, "{}", pr2.stderr);
    let baseline = &pr2.results["history"]["baseline"];
    assert_eq!(baseline["commit"], json!(main_sha));
    assert_eq!(baseline["wanted"], json!(unrecorded));
    assert!(
        pr2.report.contains("nearest earlier stored commit"),
        "{}",
        pr2.report
    );
    let _ = feature;
}

#[test]
fn a_pull_request_is_compared_with_the_stored_run_of_its_merge_base_in_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    stored_baseline_end_to_end(dir.path(), "hist", &[]);
    let stored = std::fs::read_dir(dir.path().join("hist/runs/main"))
        .unwrap()
        .count();
    assert_eq!(stored, 1, "one run of main recorded");
}

#[tokio::test]
async fn the_same_with_the_history_in_s3_on_moto() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let moto = session.moto.url.clone();
    let clients = creds::clients_for(&moto).await;
    clients
        .s3
        .create_bucket()
        .bucket("tailgate-history")
        .send()
        .await
        .expect("CreateBucket");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let endpoint = moto.clone();
    tokio::task::spawn_blocking(move || {
        let env = [
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKIATAILGATETEST"),
            ("AWS_SECRET_ACCESS_KEY", creds::TEST_SECRET),
        ];
        stored_baseline_end_to_end(&path, "s3://tailgate-history/perf", &env)
    })
    .await
    .unwrap();
    let listed = clients
        .s3
        .list_objects_v2()
        .bucket("tailgate-history")
        .prefix("perf/runs/main/")
        .send()
        .await
        .expect("ListObjectsV2");
    assert_eq!(listed.contents().len(), 1, "{listed:?}");
}

#[test]
fn trends_and_learned_noise_floors_come_from_the_stored_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    repo(d, &config_text("hist", "  trend: 10"));
    let fast = server(2);
    let url = fast.base_url();
    for i in 0..4 {
        let sha = commit(d, &format!("c{i}.txt"));
        let r = run(
            d,
            &format!("out-{i}"),
            // `--record` alone measures as a push to main does: head alone.
            &[
                "--record",
                "--head-ref",
                &sha,
                "--base-url",
                &url,
                "--head-url",
                &url,
            ],
            &[],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.results["targets"].as_array().unwrap().len(), 1);
        assert_eq!(r.results["targets"][0]["side"], "head");
        assert_eq!(r.results["context"]["kind"], "release");
        assert!(
            r.stderr.contains("--record measures head alone"),
            "{}",
            r.stderr
        );
        let trends = r.results["history"]["trends"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // The trend read before this run holds the runs recorded before it.
        let shown = trends
            .first()
            .map_or(0, |t| t["points"].as_array().unwrap().len());
        assert_eq!(shown, if i >= 2 { i } else { 0 }, "run {i}: {trends:?}");
        let floors = r.results["history"]["floors"].as_array().unwrap().clone();
        let learned = floors[0].get("learned_from").and_then(Value::as_u64);
        // min_runs: 3 stored runs before an endpoint's floor is learned.
        assert_eq!(learned, (i >= 3).then_some(3), "run {i}: {floors:?}");
        if i == 3 {
            assert_schema(&r.results);
            assert!(r.report.contains("Trend on `main`"), "{}", r.report);
            assert!(r.report.contains("line ["), "{}", r.report);
            assert!(r.report.contains("Noise floors learned"), "{}", r.report);
        } else {
            assert!(r.report.contains("the config's 2 %"), "{}", r.report);
        }
    }
}

/// The PR event `action` at `head`, with `labels` on the PR, written to `dir`.
fn pr_event(
    dir: &Path,
    name: &str,
    action: &str,
    base: &str,
    head: &str,
    labels: &[&str],
) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/github-events/pull_request.synchronize.0.json"),
    )
    .unwrap();
    let mut payload: Value = serde_json::from_str(&text).unwrap();
    payload["action"] = json!(action);
    payload["pull_request"]["base"]["sha"] = json!(base);
    payload["pull_request"]["base"]["ref"] = json!("main");
    payload["pull_request"]["head"]["sha"] = json!(head);
    payload["pull_request"]["labels"] = json!(labels
        .iter()
        .map(|l| json!({ "name": l, "color": "ededed" }))
        .collect::<Vec<_>>());
    if action == "labeled" {
        payload["label"] = json!({ "name": labels[0], "color": "ededed" });
    }
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, payload.to_string()).unwrap();
    path.display().to_string()
}

#[test]
fn the_accept_label_passes_its_head_commit_only_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = config_text("hist", "").replace("  baseline: stored\n", "")
        + "accept_label: perf-accepted\n";
    let base = repo(d, &text);
    git(d, &["checkout", "-q", "-b", "feature"]);
    let head = commit(d, "slow.txt");
    let fast = server(2);
    // Far slower: the regression fails the gate even on a busy machine.
    let slow = server(60);
    let (fast_url, slow_url) = (fast.base_url(), slow.base_url());
    let events = tempfile::tempdir().unwrap();
    let actions = |event: &str| {
        vec![
            ("GITHUB_ACTIONS", "true".to_string()),
            ("GITHUB_EVENT_NAME", "pull_request".to_string()),
            ("GITHUB_EVENT_PATH", event.to_string()),
            ("GITHUB_REPOSITORY", "Codertocat/Hello-World".to_string()),
            ("GITHUB_WORKSPACE", d.display().to_string()),
        ]
    };
    let gate = |name: &str, event: &str| {
        let env = actions(event);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(
            d,
            name,
            &["--base-url", &fast_url, "--head-url", &slow_url],
            &env,
        )
    };

    // Without the label: the regression fails the PR.
    let e = pr_event(events.path(), "sync", "synchronize", &base, &head, &["bug"]);
    let plain = gate("out-1", &e);
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    assert!(plain.results.get("acceptance").is_none());

    // The label is added: this head commit passes, with the reason shown, recorded.
    let e = pr_event(
        events.path(),
        "labeled",
        "labeled",
        &base,
        &head,
        &["perf-accepted"],
    );
    let accepted = gate("out-2", &e);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    assert_eq!(accepted.results["verdict"]["level"], "pass");
    assert_eq!(accepted.results["acceptance"]["head_sha"], json!(head));
    assert_schema(&accepted.results);
    assert!(
        accepted
            .report
            .contains("accepted with the label `perf-accepted`"),
        "{}",
        accepted.report
    );
    assert!(
        accepted.report.contains("❌"),
        "the accepted failures stay listed: {}",
        accepted.report
    );
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(d.join(format!("hist/accepted/{head}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(recorded["pull_request"], json!(2));
    assert_eq!(recorded["label"], "perf-accepted");

    // A re-run of the same commit (label still on): still accepted, from the record.
    let e = pr_event(
        events.path(),
        "rerun",
        "synchronize",
        &base,
        &head,
        &["perf-accepted"],
    );
    let rerun = gate("out-3", &e);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);

    // The next push: the label is still on the PR but does not accept the new commit.
    let newer = commit(d, "slower.txt");
    let e = pr_event(
        events.path(),
        "push2",
        "synchronize",
        &base,
        &newer,
        &["perf-accepted"],
    );
    let pushed = gate("out-4", &e);
    assert_eq!(pushed.code, 1, "{}", pushed.stderr);
    assert!(pushed.results.get("acceptance").is_none());
    assert!(pushed.report.contains("add it again"), "{}", pushed.report);
}

/// A deployment of the sample service: `ms` per request, times `1 + jitter` (the
/// difference one deployment of the same code shows from the next).
fn deployment(ms: f64, jitter: f64) -> Server {
    Server::start(Behavior::Delays {
        fast: Duration::from_secs_f64(ms * (1.0 + jitter) / 1000.0),
        slow_fraction: 0.0,
        slow: (Duration::ZERO, Duration::ZERO),
    })
}

/// The noise tests' config: enough requests a round (32 connections, 400 ms at
/// ~10 ms) for p99 to be estimable, floors learned from 10 runs, 25 runs shown.
fn noise_config(store: &str) -> String {
    format!(
        r#"
load:
  connections: 32
  duration: 400ms
  warmup: 0s
compare:
  rounds: 6
  seed: 7
history:
  store: "{store}"
  min_runs: 10
  trend: 25
defaults:
  budget: {{ p50: +50%, p99: +50% }}
endpoints:
  - name: users
    path: /users/1
"#
    )
}

/// The named change points of the first trend of `results`: (metric, commit,
/// change), largest first.
fn named_steps(results: &Value) -> Vec<(String, String, f64)> {
    let mut steps: Vec<(String, String, f64)> = results["history"]["trends"][0]["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c["metric"].as_str().unwrap().to_string(),
                c["commit"].as_str().unwrap().to_string(),
                c["change"].as_f64().unwrap(),
            )
        })
        .collect();
    steps.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
    steps
}

/// The states of every metric of every comparison of `results`.
fn states(results: &Value) -> Vec<(String, String)> {
    results["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["metrics"].as_array().unwrap().clone())
        .map(|m| {
            (
                m["metric"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap_or("none").to_string(),
            )
        })
        .collect()
}

/// 25 recorded runs of main, each a fresh deployment whose speed differs by up to
/// ±3 % from the last (as two service processes of the same code do), with a
/// +30 % step at commit 15. Then: pull requests that change nothing (base and head
/// two more such deployments) get no `regressed` or `improved` state on any
/// metric, the floors say they were learned between deployments, and the comment
/// names commit 15 with its size. The same measured runs replayed into a store
/// with the level after commit 15 made flat (the runs before the step stand in)
/// name no step at all.
#[test]
fn jitter_between_deployments_is_learned_and_the_step_is_named_where_it_happened() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    repo(d, &noise_config("hist"));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
    let mut jitter = || rng.gen_range(-0.03..0.03);
    let mut shas = Vec::new();
    for i in 0..25 {
        let sha = commit(d, &format!("c{i}.txt"));
        let ms = if i < 15 { 10.0 } else { 13.0 };
        let service = deployment(ms, jitter());
        let url = service.base_url();
        let r = run(
            d,
            &format!("out-main-{i}"),
            &[
                "--release-gate",
                "--record",
                "--head-ref",
                &sha,
                "--base-url",
                &url,
                "--head-url",
                &url,
            ],
            &[],
        );
        assert_eq!(r.code, 0, "run {i}: {}", r.stderr);
        assert!(r.results["history"]["recorded"].is_string(), "run {i}");
        shas.push(sha);
    }
    let step = &shas[15];

    // Pull requests that change nothing: the code after the step, deployed twice.
    git(d, &["checkout", "-q", "-b", "feature"]);
    for n in 0..3 {
        commit(d, &format!("noop{n}.txt"));
        let (base, head) = (deployment(13.0, jitter()), deployment(13.0, jitter()));
        let pr = run(
            d,
            &format!("out-pr-{n}"),
            &[
                "--base-ref",
                "main",
                "--head-ref",
                "feature",
                "--base-url",
                &base.base_url(),
                "--head-url",
                &head.base_url(),
            ],
            &[],
        );
        assert_eq!(pr.code, 0, "PR {n}: {}", pr.stderr);
        assert_schema(&pr.results);
        let called: Vec<_> = states(&pr.results)
            .into_iter()
            .filter(|(_, s)| s == "regressed" || s == "improved")
            .collect();
        assert!(
            called.is_empty(),
            "PR {n} changed nothing but was called {called:?}: floors {}",
            pr.results["history"]["floors"]
        );
        // p50 and p99 each have their own floor, learned from the 25 runs (those on
        // both sides of the step included): the larger of the noise between
        // deployments (which sees the ±3 % jitter: run-to-run changes of up to 6 %)
        // and the A/A split within the runs, and it says which one it is.
        let floors = pr.results["history"]["floors"].as_array().unwrap().clone();
        for metric in ["p50", "p99"] {
            let f = floors
                .iter()
                .find(|f| f["metric"] == metric)
                .unwrap_or_else(|| panic!("a {metric} floor: {floors:?}"));
            assert_eq!(f["learned_from"], 25, "{f}");
            let between = f["deployments"].as_f64().unwrap_or_else(|| panic!("{f}"));
            let within = f["within_run"].as_f64().unwrap_or_else(|| panic!("{f}"));
            assert!(
                between >= 0.03,
                "the jitter between deployments is seen: {f}"
            );
            assert_eq!(f["floor"].as_f64().unwrap(), between.max(within), "{f}");
            let larger = if between >= within {
                "deployments"
            } else {
                "within_run"
            };
            assert_eq!(f["source"], larger, "{f}");
        }
        // p50 of a 10 ms handler barely moves between a run's rounds, so its floor is
        // the jitter between deployments. (p99 on a machine other builds load can
        // move more within a run than between deployments: the within-run floor
        // then wins, as above.)
        let p50 = floors.iter().find(|f| f["metric"] == "p50").unwrap();
        assert_eq!(p50["source"], "deployments", "{p50}");
        assert!(pr.report.contains("between deployments"), "{}", pr.report);
        // `tailgate compare` reproduces the verdict from the file, with the floors
        // the file records.
        let again = Command::new(BIN)
            .args(["compare", "--quiet", "--out"])
            .arg(d.join(format!("out-compare-{n}")))
            .arg(d.join(format!("out-pr-{n}/tailgate-results.json")))
            .output()
            .unwrap();
        let recomputed: Value = serde_json::from_str(
            &std::fs::read_to_string(d.join(format!("out-compare-{n}/tailgate-results.json")))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            states(&recomputed),
            states(&pr.results),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_eq!(
            recomputed["verdict"]["level"],
            pr.results["verdict"]["level"]
        );
        assert!(!pr.report.contains("noise floor 2 %"), "{}", pr.report);

        // The step is named at commit 15, with its size, the largest first, for
        // p50 and p99 each. p50 names no other step; p99 on a machine shared with
        // other builds may see the machine's load change too.
        let steps = named_steps(&pr.results);
        let context = format!(
            "{steps:?}\n{}\n{}",
            pr.results["history"]["trends"][0]["points"], pr.results["history"]["floors"]
        );
        let (_, commit, change) = steps
            .iter()
            .find(|(m, _, _)| m == "p50")
            .unwrap_or_else(|| panic!("a p50 step is named: {context}"));
        assert_eq!(commit, step, "p50: {context}");
        assert!((0.15..0.5).contains(change), "p50: {context}");
        // p99 on a machine other builds load can move by more than the step from
        // run to run (its floor then says so) or shift with the load: where it
        // names the step, the size is right. src/history/mod.rs replays a series
        // recorded here on a quiet machine, where p99 names it too.
        for (_, _, change) in steps.iter().filter(|(m, c, _)| m == "p99" && c == step) {
            assert!((0.15..0.5).contains(change), "p99: {context}");
        }
        assert!(
            steps.iter().all(|(m, c, _)| m != "p50" || c == step),
            "no other p50 step is larger than the noise: {context}"
        );
        assert!(
            pr.report
                .contains(&format!("at `{}` (9 runs ago)", &step[..7])),
            "{}",
            pr.report
        );
        assert!(
            pr.report.contains(&format!("% {}\"", &step[..7])) && pr.report.contains("\"▲ +"),
            "the chart marks the step: {}",
            pr.report
        );
    }

    // The same measured runs replayed into a store: before the step as they were,
    // after it the runs before the step again (new commits): a flat series.
    let source = d.join("hist/runs/main");
    let mut keys: Vec<_> = std::fs::read_dir(&source)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    keys.sort();
    assert_eq!(keys.len(), 25);
    let flat = d.join("flat/runs/main");
    std::fs::create_dir_all(&flat).unwrap();
    for i in 0..25 {
        let from = if i < 15 { i } else { i - 15 };
        let mut record: Value =
            serde_json::from_str(&std::fs::read_to_string(&keys[from]).unwrap()).unwrap();
        let sha = format!("{:040x}", 0xf1a7_0000 + i);
        record["commit"] = json!(sha);
        let hash = record["config_hash"].as_str().unwrap().to_string();
        std::fs::write(
            flat.join(format!("20270101T0000{i:02}Z-{sha}-{hash}.json")),
            record.to_string(),
        )
        .unwrap();
    }
    let service = deployment(10.0, 0.0);
    let url = service.base_url();
    let replay_config = noise_config("flat");
    std::fs::write(d.join("flat.yml"), &replay_config).unwrap();
    let replayed = run(
        d,
        "out-flat",
        &[
            "--config",
            "flat.yml",
            "--release-gate",
            "--base-url",
            &url,
            "--head-url",
            &url,
        ],
        &[],
    );
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    let trend = &replayed.results["history"]["trends"][0];
    assert_eq!(trend["points"].as_array().unwrap().len(), 25, "{trend}");
    // No p50 step, and no step where the replay made the level flat (p99 on a
    // shared machine may have seen its load change while the runs were recorded;
    // src/history/mod.rs replays a recorded series without it).
    let steps = named_steps(&replayed.results);
    let boundary = format!("{:040x}", 0xf1a7_0000_usize + 15);
    assert!(
        steps.iter().all(|(m, c, _)| m != "p50" && *c != boundary),
        "{steps:?}\n{trend}"
    );
    if steps.is_empty() {
        assert!(
            replayed
                .report
                .contains("no change point beyond the noise floor"),
            "{}",
            replayed.report
        );
    }
}
