//! `tailgate publish` as a process against the GitHub stand-in: the token never
//! leaks, outputs and job summary are written, forks are told plainly, and the
//! fork-safe `workflow_run` half checks that the results belong to it.

mod common;

use common::standin::{StandIn, BASE_SHA, HEAD_SHA, MERGE_SHA, OWNER, PR, REPO};
use common::{actions_env, fixture, pr_event, results, tailgate, CANARY};
use serde_json::json;

fn write_results(
    dir: &std::path::Path,
    head: &str,
    run_id: u64,
    factor: f64,
) -> std::path::PathBuf {
    let path = dir.join("tailgate-results.json");
    let res = results(head, run_id, factor);
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
    let results_path = write_results(dir.path(), HEAD_SHA, 42, 2.1);
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
    assert!(outputs.contains("\"GET /users/42\":1.1"), "{outputs}");
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
    let results_path = write_results(dir.path(), HEAD_SHA, 5, 1.0);
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
    let results_path = write_results(dir.path(), HEAD_SHA, 6, 2.1);
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
    assert!(
        standin.requests().is_empty(),
        "no API call with a read-only token"
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_run_publishes_results_that_belong_to_it() {
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let results_path = write_results(dir.path(), HEAD_SHA, 30433642, 2.1);
    // A fork PR: GitHub lists no pull_requests for it.
    let event = workflow_run_event(dir.path(), HEAD_SHA, json!([]));
    let mut env = actions_env(&standin, dir.path(), "workflow_run", &event, 30433700);
    env.insert("GITHUB_SHA".into(), BASE_SHA.into());
    env.insert("GITHUB_REF".into(), "refs/heads/master".into());
    let out = tailgate(
        &env,
        &["publish", &results_path.display().to_string()],
        dir.path(),
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    let ours = standin.comments_with("tailgate:comment");
    assert_eq!(ours.len(), 1, "{}", out.stderr);
    let body = ours[0]["body"].as_str().expect("body");
    assert!(
        body.contains("/actions/runs/30433642"),
        "links the measuring run"
    );
    {
        let state = standin.state.lock().expect("state");
        assert_eq!(state.check_runs[0]["head_sha"], HEAD_SHA);
        assert!(state
            .requests
            .iter()
            .any(|r| r.path.contains(&format!("/issues/{PR}/comments"))));
    }

    // Results of another commit are refused.
    let forged = write_results(dir.path(), OTHER_SHA, 30433642, 1.0);
    let out = tailgate(
        &env,
        &["publish", &forged.display().to_string()],
        dir.path(),
    )
    .await;
    assert!(out.stderr.contains("refusing"), "{}", out.stderr);
    assert_eq!(standin.comments_with("tailgate:comment").len(), 1);
}

/// A sha that is not the workflow run's.
const OTHER_SHA: &str = "2222222222222222222222222222222222222222";
