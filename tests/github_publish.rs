//! `tailgate publish` as a process against the GitHub stand-in: the token never
//! leaks, outputs and job summary are written, forks are told plainly, and the
//! fork-safe `workflow_run` half checks that the results belong to it.

mod common;

use common::standin::{StandIn, BASE_SHA, HEAD_SHA, MERGE_SHA, OWNER, PR, REPO};
use common::{actions_env, fixture, measured_results, pr_event, serve_gate, tailgate, CANARY};
use serde_json::json;
use tailgate::bench::ErrorKind;
use tailgate::config::Mode;
use tailgate::judge::verdict::{Level, Verdict};
use tailgate::results::RunResults;

/// A results file measured for PR #2 at `head` (its rounds judged under the gate's
/// config, which `standin` serves at the base commit, as `publish` judges them).
fn write_results(
    standin: &StandIn,
    dir: &std::path::Path,
    head: &str,
    run_id: u64,
    factor: f64,
) -> std::path::PathBuf {
    serve_gate(standin);
    let path = dir.join("tailgate-results.json");
    let res = measured_results(head, run_id, factor);
    std::fs::write(&path, serde_json::to_string_pretty(&res).expect("json")).expect("write");
    path
}

fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push((
                path.clone(),
                String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_appears_only_in_the_authorization_header() {
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let results_path = write_results(&standin, dir.path(), HEAD_SHA, 42, 2.1);
    let event = pr_event(dir.path(), HEAD_SHA);
    let env = actions_env(&standin, dir.path(), "pull_request", &event, 42);
    let out = tailgate(
        &env,
        &["publish", &results_path.display().to_string()],
        dir.path(),
    )
    .await;

    assert_eq!(out.code, 1, "a blocking failure exits 1: {out:?}");
    assert!(
        !out.stdout.contains(CANARY) && !out.stderr.contains(CANARY),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("::error title="),
        "annotations: {}",
        out.stdout
    );
    for (path, text) in all_files(dir.path()) {
        assert!(
            !text.contains(CANARY),
            "{} contains the token",
            path.display()
        );
    }
    let requests = standin.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert!(!r.body.contains(CANARY), "body of {} {}", r.method, r.path);
        assert!(!r.path.contains(CANARY));
        for (name, value) in &r.headers {
            if name != "authorization" {
                assert!(!value.contains(CANARY), "header {name}");
            } else {
                assert_eq!(value, &format!("Bearer {CANARY}"));
            }
        }
    }

    // The other effects of the same run.
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).expect("summary");
    assert!(summary.contains("❌ tailgate"), "{summary}");
    let outputs = std::fs::read_to_string(dir.path().join("output.txt")).expect("outputs");
    assert!(outputs.contains("verdict=fail\n"), "{outputs}");
    assert!(outputs.contains("exit_code=1\n"), "{outputs}");
    assert!(
        outputs.contains("\"GET /users/42\":1.09"),
        "recomputed: {outputs}"
    );
    assert!(outputs.contains("results_path="), "{outputs}");
    assert!(
        outputs.contains("comment_url=https://github.com/"),
        "{outputs}"
    );
    assert!(outputs.contains("check_run_url="), "{outputs}");
    let state = standin.state.lock().expect("state");
    assert_eq!(state.check_runs.len(), 1);
    assert_eq!(state.check_runs[0]["head_sha"], HEAD_SHA);
    assert_ne!(state.check_runs[0]["head_sha"], MERGE_SHA);
    assert_eq!(state.comments.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_command_input_picks_publish() {
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let results_path = write_results(&standin, dir.path(), HEAD_SHA, 5, 1.0);
    let event = pr_event(dir.path(), HEAD_SHA);
    let mut env = actions_env(&standin, dir.path(), "pull_request", &event, 5);
    env.insert("INPUT_COMMAND".into(), "publish".into());
    env.insert("INPUT_RESULTS".into(), results_path.display().to_string());
    env.insert("INPUT_COMMENT".into(), "never".into());
    env.insert("INPUT_CHECK_RUN".into(), "false".into());
    let out = tailgate(&env, &[], dir.path()).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("PR comment skipped"), "{}", out.stderr);
    let state = standin.state.lock().expect("state");
    assert!(state.comments.is_empty() && state.check_runs.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_pr_is_told_about_the_workflow_run_pattern() {
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let results_path = write_results(&standin, dir.path(), HEAD_SHA, 6, 2.1);
    let event = fixture("github-events/pull_request.opened.fork.synthetic.json");
    let env = actions_env(&standin, dir.path(), "pull_request", &event, 6);
    let out = tailgate(
        &env,
        &["publish", &results_path.display().to_string()],
        dir.path(),
    )
    .await;
    assert_eq!(out.code, 1, "the verdict still decides: {out:?}");
    assert!(
        out.stderr.contains("fork (forker/Hello-World)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("workflow_run"), "{}", out.stderr);
    assert!(std::fs::read_to_string(dir.path().join("summary.md"))
        .expect("summary")
        .contains("tailgate"));
    // A read-only token reads the gate's config at the base commit, and writes nothing.
    for r in standin.requests() {
        assert_eq!(r.method, http::Method::GET, "{} {}", r.method, r.path);
        assert!(r.path.contains("/contents/tailgate.yml"), "{}", r.path);
    }
}

fn workflow_run_event(
    dir: &std::path::Path,
    head_sha: &str,
    prs: serde_json::Value,
) -> std::path::PathBuf {
    let repo: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("github-events/pull_request.opened.0.json"))
            .expect("fixture"),
    )
    .expect("json");
    let payload = json!({
        "action": "completed",
        "workflow_run": {
            "id": 30433642,
            "name": "tailgate measure",
            "event": "pull_request",
            "status": "completed",
            "conclusion": "success",
            "head_branch": "changes",
            "head_sha": head_sha,
            "run_number": 562,
            "pull_requests": prs,
            "head_repository": {"full_name": "forker/Hello-World"},
            "repository": {"full_name": format!("{OWNER}/{REPO}")}
        },
        "repository": repo["repository"],
        "sender": repo["sender"],
    });
    let path = dir.join("workflow_run.json");
    std::fs::write(&path, payload.to_string()).expect("write");
    path
}

/// The environment of the privileged `workflow_run` half: on the default branch
/// (`GITHUB_SHA` = the base commit, where the stand-in serves the gate's config).
fn workflow_run_env(
    standin: &StandIn,
    dir: &std::path::Path,
    event: &std::path::Path,
) -> tailgate::context::Env {
    serve_gate(standin);
    let mut env = actions_env(standin, dir, "workflow_run", event, 30433700);
    env.insert("GITHUB_SHA".into(), BASE_SHA.into());
    env.insert("GITHUB_REF".into(), "refs/heads/master".into());
    env
}

fn write_file(dir: &std::path::Path, name: &str, res: &RunResults) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(res).expect("json")).expect("write");
    path
}

async fn publish(
    env: &tailgate::context::Env,
    file: &std::path::Path,
    dir: &std::path::Path,
) -> common::Output {
    tailgate(env, &["publish", &file.display().to_string()], dir).await
}

/// No check run is green, and every comment went to PR #2 only.
fn assert_nothing_green(standin: &StandIn) {
    let state = standin.state.lock().expect("state");
    for run in &state.check_runs {
        assert_ne!(run["conclusion"], "success", "{run}");
        assert_ne!(run["conclusion"], "neutral", "{run}");
        assert_eq!(run["head_sha"], HEAD_SHA, "{run}");
        assert!(
            run["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("tailgate")),
            "{run}"
        );
    }
    for r in &state.requests {
        if r.method == http::Method::POST || r.method == http::Method::PATCH {
            assert!(
                r.path.contains("/check-runs")
                    || r.path.contains(&format!("/issues/{PR}/comments")),
                "{} {}",
                r.method,
                r.path
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_run_publishes_results_that_belong_to_it() {
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let results_path = write_file(
        dir.path(),
        "tailgate-results.json",
        &measured_results(HEAD_SHA, 30433642, 2.1),
    );
    // A fork PR: GitHub lists no pull_requests for it; the API finds PR #2.
    let event = workflow_run_event(dir.path(), HEAD_SHA, json!([]));
    let env = workflow_run_env(&standin, dir.path(), &event);
    let out = publish(&env, &results_path, dir.path()).await;
    assert_eq!(out.code, 1, "{out:?}");
    let ours = standin.comments_with("tailgate:comment");
    assert_eq!(ours.len(), 1, "{}", out.stderr);
    let body = ours[0]["body"].as_str().expect("body");
    assert!(
        body.contains("/actions/runs/30433642"),
        "links the measuring run"
    );
    assert!(body.contains("❌"), "{body}");
    {
        let state = standin.state.lock().expect("state");
        assert_eq!(state.check_runs[0]["head_sha"], HEAD_SHA);
        assert_eq!(state.check_runs[0]["conclusion"], "failure");
        assert!(state
            .requests
            .iter()
            .any(|r| r.path.contains(&format!("/commits/{HEAD_SHA}/pulls"))
                || r.path.contains("/pulls?state=open")));
        assert!(state.requests.iter().any(|r| r
            .path
            .contains(&format!("contents/tailgate.yml?ref={BASE_SHA}"))));
        assert!(state
            .requests
            .iter()
            .any(|r| r.path.contains(&format!("/issues/{PR}/comments"))));
    }

    // Results of another commit are refused, with an error check on the event's commit.
    let forged = write_file(
        dir.path(),
        "other.json",
        &measured_results(OTHER_SHA, 30433642, 1.0),
    );
    let out = publish(&env, &forged, dir.path()).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("refusing"), "{}", out.stderr);
    assert_eq!(standin.comments_with("tailgate:comment").len(), 1);
    let state = standin.state.lock().expect("state");
    let last = state.check_runs.last().expect("an error check");
    assert_eq!(last["conclusion"], "failure");
    assert_eq!(last["head_sha"], HEAD_SHA);
}

/// A failing run's file whose verdict, comparisons and recorded gate were edited
/// to pass.
fn forged_pass(dir: &std::path::Path) -> std::path::PathBuf {
    let mut res = measured_results(HEAD_SHA, 30433642, 2.1);
    assert_eq!(res.verdict.level, Level::Fail, "the honest file fails");
    res.verdict = Verdict {
        level: Level::Pass,
        mode: Mode::Advisory,
        checks: Vec::new(),
        error: None,
    };
    res.comparisons = common::comparisons(1.0);
    for limit in &mut res.limits {
        limit.budget.p99 = Some(tailgate::config::Fraction(100.0));
        limit.slo.p99 = None;
    }
    res.settings.mode = Mode::Advisory;
    res.settings.noise_floor = tailgate::config::Fraction(50.0);
    res.settings.config_source = "build".into();
    write_file(dir, "forged.json", &res)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_pull_request_too_an_edited_verdict_is_recomputed_under_the_base_config() {
    let standin = StandIn::start(CANARY).await;
    serve_gate(&standin);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = forged_pass(dir.path());
    let event = pr_event(dir.path(), HEAD_SHA);
    let env = actions_env(&standin, dir.path(), "pull_request", &event, 30433642);
    let out = publish(&env, &file, dir.path()).await;
    assert_eq!(out.code, 1, "the recomputed verdict decides: {out:?}");
    assert_nothing_green(&standin);
    let state = standin.state.lock().expect("state");
    assert!(
        state.requests.iter().any(|r| r
            .path
            .contains(&format!("contents/tailgate.yml?ref={BASE_SHA}"))),
        "the base commit's config gates"
    );
    assert_eq!(state.check_runs.len(), 1);
    assert_eq!(state.check_runs[0]["conclusion"], "failure");
    assert_eq!(state.check_runs[0]["head_sha"], HEAD_SHA);
    let body = state.comments[0]["body"].as_str().expect("body");
    assert!(body.contains("❌ tailgate"), "{body}");
    assert!(body.contains("blocking"), "the base config's mode: {body}");
    let outputs = std::fs::read_to_string(dir.path().join("output.txt")).expect("outputs");
    assert!(outputs.contains("verdict=fail\n"), "{outputs}");
    assert!(outputs.contains("exit_code=1\n"), "{outputs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_pull_request_a_file_of_another_commit_is_refused() {
    let standin = StandIn::start(CANARY).await;
    serve_gate(&standin);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_file(
        dir.path(),
        "other.json",
        &measured_results(OTHER_SHA, 30433642, 1.0),
    );
    let event = pr_event(dir.path(), HEAD_SHA);
    let env = actions_env(&standin, dir.path(), "pull_request", &event, 30433642);
    let out = publish(&env, &file, dir.path()).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("refusing"), "{}", out.stderr);
    assert_nothing_green(&standin);
    assert!(standin.comments_with("tailgate:comment").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verdict_edited_to_pass_is_recomputed_from_the_rounds() {
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut res = measured_results(HEAD_SHA, 30433642, 2.1);
    assert_eq!(res.verdict.level, Level::Fail, "the honest file fails");
    // The fork edits the conclusions and loosens the gate it recorded.
    res.verdict = Verdict {
        level: Level::Pass,
        mode: Mode::Advisory,
        checks: Vec::new(),
        error: None,
    };
    res.comparisons = common::comparisons(1.0);
    for limit in &mut res.limits {
        limit.budget.p99 = Some(tailgate::config::Fraction(100.0));
        limit.slo.p99 = None;
    }
    res.settings.mode = Mode::Advisory;
    res.settings.noise_floor = tailgate::config::Fraction(50.0);
    res.settings.config_source = "build".into();
    let file = write_file(dir.path(), "forged.json", &res);
    let event = workflow_run_event(dir.path(), HEAD_SHA, json!([{"number": PR}]));
    let env = workflow_run_env(&standin, dir.path(), &event);
    let out = publish(&env, &file, dir.path()).await;
    assert_eq!(out.code, 1, "the recomputed verdict decides: {out:?}");
    assert_nothing_green(&standin);
    let state = standin.state.lock().expect("state");
    assert_eq!(state.check_runs.len(), 1);
    assert_eq!(state.check_runs[0]["conclusion"], "failure");
    assert_eq!(
        state.check_runs[0]["name"], "tailgate",
        "named by the trusted config"
    );
    assert_eq!(state.comments.len(), 1);
    let body = state.comments[0]["body"].as_str().expect("body");
    assert!(body.contains("❌ tailgate"), "{body}");
    assert!(body.contains("blocking"), "the base config's mode: {body}");
    let outputs = std::fs::read_to_string(dir.path().join("output.txt")).expect("outputs");
    assert!(outputs.contains("verdict=fail\n"), "{outputs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_passing_file_gets_a_green_check() {
    // The control for the forgery tests: the same path does post success.
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_file(
        dir.path(),
        "ok.json",
        &measured_results(HEAD_SHA, 30433642, 1.0),
    );
    let event = workflow_run_event(dir.path(), HEAD_SHA, json!([]));
    let env = workflow_run_env(&standin, dir.path(), &event);
    let out = publish(&env, &file, dir.path()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let state = standin.state.lock().expect("state");
    assert_eq!(state.check_runs.len(), 1);
    assert_eq!(state.check_runs[0]["conclusion"], "success");
    assert_eq!(state.comments.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_counts_and_broken_histograms_are_refused() {
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let event = workflow_run_event(dir.path(), HEAD_SHA, json!([]));
    let env = workflow_run_env(&standin, dir.path(), &event);
    let honest = measured_results(HEAD_SHA, 30433642, 2.1);

    let mut forgeries: Vec<(&str, serde_json::Value)> = Vec::new();
    // Fewer errors than happened: `ok` raised without samples behind it.
    let mut res = honest.clone();
    res.endpoints[0].rounds[1].data.ok += 50;
    forgeries.push((
        "ok != latency samples",
        serde_json::to_value(&res).expect("json"),
    ));
    // Errors erased from the counters but not from the timeline.
    let mut res = honest.clone();
    res.endpoints[0].rounds[1]
        .data
        .failure(ErrorKind::Status5xx, 0);
    res.endpoints[0].rounds[1].data.errors.clear();
    forgeries.push((
        "timeline != counters",
        serde_json::to_value(&res).expect("json"),
    ));
    // A head round measured twice (the slow one dropped, a fast one doubled).
    let mut res = honest.clone();
    let copy = res.endpoints[0].rounds[0].clone();
    res.endpoints[0].rounds[1] = copy;
    forgeries.push(("duplicate round", serde_json::to_value(&res).expect("json")));
    // The failing endpoint left out.
    let mut res = honest.clone();
    res.endpoints.retain(|e| e.name != "GET /users/42");
    forgeries.push((
        "endpoint missing",
        serde_json::to_value(&res).expect("json"),
    ));
    // Only one round per side.
    let mut res = honest.clone();
    for e in &mut res.endpoints {
        e.rounds.retain(|r| r.round == 0);
    }
    forgeries.push(("too few rounds", serde_json::to_value(&res).expect("json")));
    // A count that would overflow a sum.
    let mut res = honest.clone();
    res.endpoints[1].rounds[0].data.bytes_in = u64::MAX;
    forgeries.push(("huge count", serde_json::to_value(&res).expect("json")));
    // A histogram that does not decode.
    let mut value = serde_json::to_value(&honest).expect("json");
    value["endpoints"][0]["rounds"][0]["data"]["latency"] = json!("SGVsbG8sIGZvcmsh");
    forgeries.push(("undecodable histogram", value));

    for (i, (what, value)) in forgeries.iter().enumerate() {
        let file = dir.path().join(format!("forged-{i}.json"));
        std::fs::write(&file, value.to_string()).expect("write");
        let out = publish(&env, &file, dir.path()).await;
        assert_eq!(out.code, 2, "{what}: {out:?}");
        assert!(
            out.stderr.contains("refused") || out.stderr.contains("not a tailgate results file"),
            "{what}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains(CANARY) && !out.stdout.contains(CANARY));
        let state = standin.state.lock().expect("state");
        assert_eq!(state.comments.len(), 0, "{what}: no comment");
        assert_eq!(state.check_runs.len(), i + 1, "{what}: one error check");
        let run = &state.check_runs[i];
        assert_eq!(run["conclusion"], "failure", "{what}");
        assert_eq!(run["head_sha"], HEAD_SHA, "{what}");
        assert!(
            run["output"]["title"]
                .as_str()
                .is_some_and(|t| t.contains("refused")),
            "{what}: {run}"
        );
    }
    assert_nothing_green(&standin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_prs_number_never_gets_a_comment() {
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut res = measured_results(HEAD_SHA, 30433642, 1.0);
    res.context.pull_request = Some(7);
    let file = write_file(dir.path(), "pr7.json", &res);
    // Whether GitHub lists the PR or the API finds it, #7 is not the commit's PR.
    for listed in [json!([]), json!([{"number": PR}])] {
        let event = workflow_run_event(dir.path(), HEAD_SHA, listed.clone());
        let env = workflow_run_env(&standin, dir.path(), &event);
        let out = publish(&env, &file, dir.path()).await;
        assert_eq!(out.code, 2, "{listed}: {out:?}");
        assert!(out.stderr.contains("PR #7"), "{}", out.stderr);
    }
    {
        let state = standin.state.lock().expect("state");
        assert!(state.comments.is_empty());
        assert!(!state
            .requests
            .iter()
            .any(|r| r.path.contains("/issues/7/") || r.path.contains("/pulls/7")));
    }
    assert_nothing_green(&standin);

    // A commit that is no open PR's head: a check on the commit, no comment.
    let standin = StandIn::start(CANARY).await;
    standin.state.lock().expect("state").pr_head = OTHER_SHA.into();
    let res = measured_results(HEAD_SHA, 30433642, 1.0);
    let file = write_file(dir.path(), "nopr.json", &res);
    let event = workflow_run_event(dir.path(), HEAD_SHA, json!([]));
    let env = workflow_run_env(&standin, dir.path(), &event);
    let out = publish(&env, &file, dir.path()).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("no comment"), "{}", out.stderr);
    let state = standin.state.lock().expect("state");
    assert!(state.comments.is_empty());
    assert_eq!(state.check_runs.len(), 1);
    assert_eq!(state.check_runs[0]["head_sha"], HEAD_SHA);
}

/// A sha that is not the workflow run's.
const OTHER_SHA: &str = "2222222222222222222222222222222222222222";

/// A base config with three problems (an unknown key, a badly written value, a
/// duplicate endpoint name), on lines 8, 11 and 15.
const THREE_PROBLEMS: &str = include_str!("fixtures/configs/three_problems.yml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_gives_an_annotation_per_problem_a_summary_and_exit_code_2() {
    let standin = StandIn::start(CANARY).await;
    standin.state.lock().expect("state").files.insert(
        (BASE_SHA.into(), "tailgate.yml".into()),
        THREE_PROBLEMS.into(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let event = pr_event(dir.path(), HEAD_SHA);
    let mut env = actions_env(&standin, dir.path(), "pull_request", &event, 7);
    env.insert("GITHUB_WORKSPACE".into(), dir.path().display().to_string());
    env.insert("INPUT_COMMAND".into(), "run".into());
    let out = tailgate(&env, &[], dir.path()).await;
    assert_eq!(out.code, 2, "{out:?}");
    let annotations: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(annotations.len(), 3, "{}", out.stdout);
    for (annotation, (line, col)) in annotations.iter().zip([(8, 3), (11, 10), (15, 11)]) {
        assert!(
            annotation.starts_with(&format!(
                "::error file=tailgate.yml,line={line},col={col},title=tailgate%3A config error in "
            )),
            "{annotation}"
        );
    }
    assert!(annotations[0].contains("confidance"), "{}", annotations[0]);
    assert!(annotations[1].contains("fast"), "{}", annotations[1]);
    // All three on stderr too, for a local reader of the log.
    assert!(out.stderr.contains("3 problems"), "{}", out.stderr);
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).expect("summary");
    assert!(summary.contains("3 problems"), "{summary}");
    for line in ["| 8:3 |", "| 11:10 |", "| 15:11 |"] {
        assert!(summary.contains(line), "{line} in {summary}");
    }
    let outputs = std::fs::read_to_string(dir.path().join("output.txt")).expect("outputs");
    assert!(outputs.contains("verdict=error\n"), "{outputs}");
    assert!(outputs.contains("exit_code=2\n"), "{outputs}");
    for text in [&out.stdout, &out.stderr, &summary, &outputs] {
        assert!(!text.contains(CANARY), "the token leaked");
    }
    // Nothing was measured, so nothing is posted.
    let state = standin.state.lock().expect("state");
    assert!(state.comments.is_empty() && state.check_runs.is_empty());
}

/// What `tailgate run` wrote after the measuring (the right-sizing table, the
/// merged shards' line) is part of the results, so `tailgate publish` of the file
/// posts the same lines the run's own report printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_shows_the_right_sizing_table_and_the_shard_line_as_the_run_printed_them() {
    use rust_decimal::Decimal;
    use tailgate::cost::{Currency, Money};
    use tailgate::results::{Rightsizing, RightsizingRow, ShardInfo};
    let standin = StandIn::start(CANARY).await;
    serve_gate(&standin);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut res = measured_results(HEAD_SHA, 30433642, 1.0);
    let row = |value: &str, cents: i64, level: Level| RightsizingRow {
        value: value.into(),
        p99_ms: Some(41.2),
        cost_per_1m: Some(Money::new(Decimal::new(cents, 2), Currency::USD)),
        cold_starts: Some(1),
        init_p99_ms: Some(210.4),
        level,
        error: None,
    };
    res.rightsizing = Some(Rightsizing {
        parameter: "MemorySize".into(),
        rows: vec![row("512", 391, Level::Fail), row("1024", 412, Level::Pass)],
    });
    res.shard = Some(ShardInfo {
        index: None,
        count: 2,
        config_hash: "0".repeat(64),
        profiles: Vec::new(),
        start: None,
        together: None,
    });
    let printed =
        tailgate::report::render_markdown(&tailgate::report::build_view(&res)).expect("render");
    let file = write_file(dir.path(), "ok.json", &res);
    let event = workflow_run_event(dir.path(), HEAD_SHA, json!([]));
    let env = workflow_run_env(&standin, dir.path(), &event);
    let out = publish(&env, &file, dir.path()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let state = standin.state.lock().expect("state");
    assert_eq!(state.comments.len(), 1);
    let body = state.comments[0]["body"].as_str().expect("body");
    let section: Vec<&str> = printed
        .lines()
        .skip_while(|l| !l.starts_with("#### Right-sizing"))
        .take_while(|l| !l.starts_with("<details>"))
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(section.len(), 6, "{printed}");
    assert!(section[0].contains("`MemorySize`"), "{printed}");
    assert!(
        section.contains(&"| `512` | 41.20 ms | 3.91 USD | 1 | 210.4 ms | ❌ not met |"),
        "{printed}"
    );
    assert!(
        section.contains(
            &"**Cheapest that meets the SLOs: `MemorySize` = `1024`** (4.12 USD per 1M requests)."
        ),
        "{printed}"
    );
    let shard_line = printed
        .lines()
        .find(|l| l.starts_with("🧩 Load split over 2 shards"))
        .expect("the shard line");
    for line in section.iter().chain([&shard_line]) {
        assert!(
            body.contains(line),
            "`{line}` is not in the comment:\n{body}"
        );
    }
}
