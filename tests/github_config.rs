//! The gate's config comes from the base commit: read with git when the repository
//! is checked out, else with the contents API; a config change in the PR does not
//! change the verdict, and the comment reports it.

mod common;

use std::path::Path;
use std::process::Command;

use common::standin::StandIn;
use common::{comparisons, fast_retry, CANARY};
use tailgate::config::{Config, Fraction};
use tailgate::context::Token;
use tailgate::context::{Context, Env};
use tailgate::github::{gate_config, GitHub};
use tailgate::judge::verdict::{self, Level};
use tailgate::report::{build_view, render_markdown};
use tailgate::results::{ConfigChange, ConfigOrigin};

const BASE_YML: &str = "mode: blocking\nbudget:\n  p99: +10%\nendpoints:\n  - GET /users/42\n";
const HEAD_YML: &str = "mode: blocking\nbudget:\n  p99: +300%\nendpoints:\n  - GET /users/42\n";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn pr_context(base_sha: &str, head_sha: &str, api_url: &str) -> Context {
    let text = std::fs::read_to_string(common::fixture("github-events/pull_request.opened.0.json"))
        .expect("fixture");
    let mut payload: serde_json::Value = serde_json::from_str(&text).expect("json");
    payload["pull_request"]["base"]["sha"] = serde_json::json!(base_sha);
    payload["pull_request"]["head"]["sha"] = serde_json::json!(head_sha);
    let env: Env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_REPOSITORY", "Codertocat/Hello-World"),
        ("GITHUB_API_URL", api_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Context::from_env(&env, Some(&payload.to_string())).expect("context")
}

/// The demo config with a p99 budget of `budget` (what the two YAML files say).
fn config_with_budget(budget: f64) -> Config {
    let mut config = tailgate::demo::demo_config(tailgate::config::DeployConfig::Url {
        base: "http://127.0.0.1:1".into(),
        head: "http://127.0.0.1:2".into(),
        ready: tailgate::config::RemoteReady::default(),
    });
    for e in &mut config.endpoints {
        e.budget.p50 = Some(Fraction(budget));
        e.budget.p99 = Some(Fraction(budget));
    }
    config
}

#[tokio::test]
async fn base_copy_gates_with_git_and_the_change_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git(repo, &["init", "-q"]);
    std::fs::write(repo.join("tailgate.yml"), BASE_YML).expect("write");
    git(repo, &["add", "tailgate.yml"]);
    git(repo, &["commit", "-qm", "base"]);
    let base_sha = git(repo, &["rev-parse", "HEAD"]);
    std::fs::write(repo.join("tailgate.yml"), HEAD_YML).expect("write");
    git(repo, &["commit", "-qam", "loosen the gate"]);
    let head_sha = git(repo, &["rev-parse", "HEAD"]);

    // No API client: git alone must do it.
    let ctx = pr_context(&base_sha, &head_sha, "http://127.0.0.1:9");
    let gate = gate_config(&ctx, Path::new("tailgate.yml"), repo, None)
        .await
        .expect("gate config");
    assert_eq!(gate.gate.text, BASE_YML, "the base copy decides");
    assert_eq!(gate.gate.origin, ConfigOrigin::Git);
    assert_eq!(gate.head.as_ref().map(|h| h.text.as_str()), Some(HEAD_YML));
    let mut note = gate.note.clone();
    assert_eq!(note.change, ConfigChange::Changed);
    assert_eq!(note.read_from, "master");
    let diff = note.diff.clone().expect("diff");
    assert!(
        diff.contains("-  p99: +10%") && diff.contains("+  p99: +300%"),
        "{diff}"
    );

    // The verdict comes from the base config; the PR's would pass.
    let cmp = comparisons(2.1);
    let gating = verdict::decide(&config_with_budget(0.10), &cmp);
    let after_merge = verdict::decide(&config_with_budget(3.0), &cmp);
    assert_eq!(gating.level, Level::Fail);
    assert_eq!(after_merge.level, Level::Pass);
    note.head_verdict = Some(after_merge.level);

    let mut results = common::results(&head_sha, 1, 2.1);
    results.verdict = gating;
    results.context.config = Some(note);
    let markdown = render_markdown(&build_view(&results)).expect("render");
    assert!(markdown.starts_with("### ❌ tailgate"), "{markdown}");
    assert!(
        markdown.contains("⚙️ This PR changes `tailgate.yml`"),
        "{markdown}"
    );
    assert!(
        markdown.contains("**✅ pass** instead of ❌ fail"),
        "{markdown}"
    );
    assert!(markdown.contains("```diff"), "{markdown}");
    assert!(markdown.contains(&format!(
        "Config read from `master` at `{}`",
        &base_sha[..7]
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contents_api_when_there_is_no_checkout() {
    let standin = StandIn::start(CANARY).await;
    let base_sha = common::standin::BASE_SHA;
    standin.state.lock().expect("state").files.insert(
        (base_sha.to_string(), "perf/tailgate.yml".into()),
        BASE_YML.into(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("perf")).expect("mkdir");
    std::fs::write(dir.path().join("perf/tailgate.yml"), HEAD_YML).expect("write");
    let ctx = pr_context(base_sha, common::standin::HEAD_SHA, &standin.url());
    let token = Token::new(CANARY).expect("token");
    let gh = GitHub::new(&standin.url(), &token, fast_retry()).expect("client");

    let gate = gate_config(
        &ctx,
        &dir.path().join("perf/tailgate.yml"),
        dir.path(),
        Some(&gh),
    )
    .await
    .expect("gate config");
    assert_eq!(gate.gate.text, BASE_YML);
    assert_eq!(gate.gate.origin, ConfigOrigin::ContentsApi);
    assert_eq!(gate.note.change, ConfigChange::Changed);
    assert_eq!(gate.note.via, ConfigOrigin::ContentsApi);
    assert!(standin.requests().iter().any(|r| r.path
        == format!("/repos/Codertocat/Hello-World/contents/perf/tailgate.yml?ref={base_sha}")));

    // A config the base does not have yet: the PR adds it, and its copy gates.
    let added = gate_config(&ctx, Path::new("new.yml"), dir.path(), Some(&gh)).await;
    assert!(added.is_err(), "neither side has new.yml");
    std::fs::write(dir.path().join("new.yml"), HEAD_YML).expect("write");
    let added = gate_config(&ctx, Path::new("new.yml"), dir.path(), Some(&gh))
        .await
        .expect("added");
    assert_eq!(added.note.change, ConfigChange::Added);
    assert_eq!(added.gate.text, HEAD_YML);
}

#[tokio::test]
async fn outside_a_pull_request_the_working_tree_gates() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tailgate.yml"), HEAD_YML).expect("write");
    let ctx = Context::from_env(&Env::new(), None).expect("local");
    let gate = gate_config(&ctx, Path::new("tailgate.yml"), dir.path(), None)
        .await
        .expect("gate");
    assert_eq!(gate.note.change, ConfigChange::NotPullRequest);
    assert_eq!(gate.gate.origin, ConfigOrigin::WorkingTree);
}
