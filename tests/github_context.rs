//! Context parsing of every real event payload in the fixtures (and, when the
//! shared fixtures folder is beside the repository, of every file there too).

mod common;

use std::path::{Path, PathBuf};

use common::fixture;
use tailgate::context::{Context, Env, Trigger};

fn env(event: &str) -> Env {
    [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", event),
        ("GITHUB_REPOSITORY", "Codertocat/Hello-World"),
        ("GITHUB_SHA", "c4295bd74fb0f4fda03689c3df3f2803b658fd85"),
        ("GITHUB_REF", "refs/pull/2/merge"),
        ("GITHUB_RUN_ID", "4242"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_API_URL", "https://api.github.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn parse(file: &str, event: &str) -> Context {
    let text = std::fs::read_to_string(fixture(&format!("github-events/{file}"))).expect("fixture");
    Context::from_env(&env(event), Some(&text)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn pull_request_opened() {
    let ctx = parse("pull_request.opened.0.json", "pull_request");
    let pr = ctx.pull_request().expect("a PR");
    assert_eq!(pr.number, 2);
    assert_eq!(pr.base_ref, "master");
    assert_eq!(pr.base_sha, "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
    assert_eq!(pr.head_ref, "changes");
    assert_eq!(pr.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    assert!(!pr.fork);
    assert!(!ctx.is_unprivileged_fork());
    let rc = ctx.run_context();
    assert_eq!(rc.head_sha.as_deref(), Some(pr.head_sha.as_str()));
    assert_ne!(rc.head_sha, ctx.sha, "the head, not the merge commit");
    assert_eq!(
        rc.run_url.as_deref(),
        Some("https://github.com/Codertocat/Hello-World/actions/runs/4242")
    );
}

#[test]
fn pull_request_from_a_fork() {
    let ctx = parse("pull_request.opened.fork.synthetic.json", "pull_request");
    let pr = ctx.pull_request().expect("a PR");
    assert!(pr.fork);
    assert_eq!(pr.head_repo.as_deref(), Some("forker/Hello-World"));
    assert!(ctx.is_unprivileged_fork());
    // Under pull_request_target the run has the base's token: not unprivileged.
    let target = parse(
        "pull_request.opened.fork.synthetic.json",
        "pull_request_target",
    );
    assert!(!target.is_unprivileged_fork());
    assert!(matches!(
        target.trigger,
        Trigger::PullRequest { target: true, .. }
    ));
}

#[test]
fn pull_request_synchronize() {
    let ctx = parse("pull_request.synchronize.0.json", "pull_request");
    let pr = ctx.pull_request().expect("a PR");
    assert_eq!(pr.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
}

#[test]
fn push_of_a_tag_is_a_release_gate() {
    let ctx = parse("push.0.json", "push");
    match &ctx.trigger {
        Trigger::Release { tag, sha, git_ref } => {
            assert_eq!(tag.as_deref(), Some("simple-tag"));
            assert_eq!(git_ref.as_deref(), Some("refs/tags/simple-tag"));
            assert_eq!(
                sha.as_deref(),
                Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ctx.run_context().kind, "release");
}

#[test]
fn release_published_is_a_release_gate() {
    let ctx = parse("release.0.json", "release");
    assert!(matches!(&ctx.trigger, Trigger::Release { tag: Some(t), .. } if t == "0.0.1"));
    assert!(ctx.pull_request().is_none());
}

#[test]
fn workflow_dispatch_is_a_release_gate() {
    let ctx = parse("workflow_dispatch.0.json", "workflow_dispatch");
    assert!(matches!(
        &ctx.trigger,
        Trigger::Release { git_ref: Some(r), tag: None, .. } if r == "refs/heads/main"
    ));
}

#[test]
fn merge_group_compares_the_group_with_its_base_commit() {
    let ctx = parse("merge_group.checks_requested.0.json", "merge_group");
    let Trigger::MergeGroup(group) = &ctx.trigger else {
        panic!("{:?}", ctx.trigger);
    };
    assert_eq!(group.head_sha, "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d");
    assert_eq!(group.base_sha, "380387fbc80638b734a49e1be1c4dfec1c01b33c");
    assert_eq!(group.base_ref, "main");
    assert_eq!(
        group.head_ref,
        "gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64"
    );
    assert!(ctx.pull_request().is_none(), "no PR to comment on");
    let compared = ctx.compared().expect("base vs head");
    assert_eq!(compared.base_sha, group.base_sha);
    assert_eq!(compared.head_sha, group.head_sha);
    let rc = ctx.run_context();
    assert_eq!(rc.kind, "merge_group");
    assert_eq!(rc.head_sha.as_deref(), Some(group.head_sha.as_str()));
    assert_eq!(rc.base_sha.as_deref(), Some(group.base_sha.as_str()));
    assert_eq!(rc.pull_request, None);
    assert_eq!(rc.base_label, "main@380387f");
    let broken = Context::from_env(
        &env("merge_group"),
        Some("{\"merge_group\":{\"head_sha\":\"abc\"}}"),
    )
    .expect_err("no base");
    assert!(
        broken.to_string().contains("merge_group.base_ref"),
        "{broken}"
    );
}

#[test]
fn schedule_has_no_payload_fields_and_still_parses() {
    let ctx = Context::from_env(&env("schedule"), Some("{\"schedule\":\"0 3 * * *\"}"))
        .expect("schedule");
    assert!(matches!(ctx.trigger, Trigger::Release { .. }));
}

#[test]
fn a_broken_payload_is_a_clear_error() {
    let err = Context::from_env(&env("pull_request"), Some("{\"action\":\"opened\"}"))
        .expect_err("no pull_request");
    assert!(err.to_string().contains("pull_request"), "{err}");
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
}

fn event_of(file: &Path) -> String {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.split('.').next().unwrap_or_default().to_string()
}

#[test]
fn every_fixture_parses() {
    let ours = fixture("github-events");
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/github-events");
    let mut files = json_files(&ours);
    assert!(files.len() >= 6, "fixtures missing in {}", ours.display());
    files.extend(json_files(&shared));
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let event = event_of(&file);
        let ctx = Context::from_env(&env(&event), Some(&text))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        match event.as_str() {
            "pull_request" => assert!(ctx.pull_request().is_some(), "{}", file.display()),
            "merge_group" => assert!(
                matches!(ctx.trigger, Trigger::MergeGroup(_)),
                "{}",
                file.display()
            ),
            _ => assert!(
                matches!(ctx.trigger, Trigger::Release { .. }),
                "{}",
                file.display()
            ),
        }
        assert_eq!(ctx.api_url, "https://api.github.com");
    }
}
