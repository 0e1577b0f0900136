//! The sticky comment and the check run against the local GitHub stand-in:
//! pagination, marker-and-author matching, races, retries and error mapping.

mod common;

use common::standin::{Fault, StandIn, BOT, HEAD_SHA, MERGE_SHA};
use common::{actions_env, context, fast_retry, pr_event, results, CANARY, NEWER_SHA};
use http::Method;
use tailgate::context;
use tailgate::publish::{self, PublishOptions, StepOutcome};
use tailgate::report::{build_view, render_markdown, Marker};

fn options() -> PublishOptions {
    PublishOptions {
        retry: fast_retry(),
        ..PublishOptions::default()
    }
}

async fn publish_once(
    standin: &StandIn,
    dir: &std::path::Path,
    head: &str,
    run_id: u64,
    factor: f64,
) -> publish::PublishReport {
    let event = pr_event(dir, head);
    let env = actions_env(standin, dir, "pull_request", &event, run_id);
    let ctx = context(&env);
    let res = results(head, run_id, factor);
    let markdown = render_markdown(&build_view(&res)).expect("render");
    publish::publish(&ctx, &res, &markdown, &options()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_comment_updated_in_place_across_pages() {
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // 150 earlier comments; ours is number 120, on page 2 of 100.
    for i in 0..150 {
        if i == 119 {
            let old = results(HEAD_SHA, 41, 1.0);
            let body = render_markdown(&build_view(&old)).expect("render");
            standin.add_comment(BOT, &body);
        } else if i == 10 {
            // Someone quoting our marker: same marker, another author. Never touched.
            standin.add_comment(
                "octocat",
                "quoting: <!-- tailgate:comment config=tailgate.yml run=1 -->",
            );
        } else {
            standin.add_comment("Codertocat", &format!("comment {i} @someone"));
        }
    }
    let ours_before = standin.comments_with("<!-- tailgate:comment");
    assert_eq!(ours_before.len(), 2);

    let first = publish_once(&standin, dir.path(), HEAD_SHA, 42, 2.1).await;
    assert!(
        matches!(&first.comment, StepOutcome::Done(s) if s.starts_with("updated")),
        "{first:?}"
    );
    let second = publish_once(&standin, dir.path(), HEAD_SHA, 43, 2.1).await;
    assert!(
        matches!(&second.comment, StepOutcome::Done(s) if s.starts_with("updated")),
        "{second:?}"
    );

    let state = standin.state.lock().expect("state");
    assert_eq!(state.comments.len(), 150, "no comment created or lost");
    let ours: Vec<_> = state
        .comments
        .iter()
        .filter(|c| c["user"]["login"] == BOT)
        .filter(|c| {
            c["body"]
                .as_str()
                .unwrap_or_default()
                .contains("tailgate:comment")
        })
        .collect();
    assert_eq!(ours.len(), 1, "exactly one tailgate comment");
    let body = ours[0]["body"].as_str().expect("body");
    let marker = Marker::parse(body).expect("marker");
    assert_eq!(marker.run, Some(43));
    assert_eq!(marker.head.as_deref(), Some(HEAD_SHA));
    assert!(body.contains("❌ tailgate"), "{body}");
    // The quoted marker by another author was left alone.
    assert!(state.comments[10]["body"]
        .as_str()
        .unwrap_or_default()
        .starts_with("quoting"));
    // Page 2 was read through the Link header.
    assert!(state
        .requests
        .iter()
        .any(|r| r.path.contains("/repositories/") && r.path.contains("page=2")));
    // Check runs went to the PR's head commit, not the merge commit.
    assert_eq!(state.check_runs.len(), 2);
    for run in &state.check_runs {
        assert_eq!(run["head_sha"], HEAD_SHA);
        assert_ne!(run["head_sha"], MERGE_SHA);
        assert_eq!(run["conclusion"], "failure");
        assert_eq!(run["name"], "tailgate");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_runs_leave_one_comment_for_the_newer_head() {
    for round in 0..4 {
        let standin = StandIn::start(CANARY).await;
        common::push_newer_head(&standin);
        let dir = tempfile::tempdir().expect("tempdir");
        let older = publish_once(&standin, dir.path(), HEAD_SHA, 100, 1.0);
        let newer = publish_once(&standin, dir.path(), NEWER_SHA, 101, 2.1);
        let (a, b) = tokio::join!(older, newer);
        let ours = standin.comments_with("<!-- tailgate:comment");
        assert_eq!(ours.len(), 1, "round {round}: {a:?} {b:?}");
        let marker = Marker::parse(ours[0]["body"].as_str().expect("body")).expect("marker");
        assert_eq!(marker.head.as_deref(), Some(NEWER_SHA), "round {round}");
        // Then the stale run reruns: it must not overwrite the newer comment.
        let again = publish_once(&standin, dir.path(), HEAD_SHA, 100, 1.0).await;
        assert!(
            matches!(again.comment, StepOutcome::Skipped(_)),
            "{again:?}"
        );
        let ours = standin.comments_with("<!-- tailgate:comment");
        let marker = Marker::parse(ours[0]["body"].as_str().expect("body")).expect("marker");
        assert_eq!(marker.head.as_deref(), Some(NEWER_SHA));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_gateway_and_secondary_rate_limit_are_retried() {
    let standin = StandIn::start(CANARY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    standin.fault(Fault::bad_gateway(Method::GET, "/issues/2/comments", 2));
    standin.fault(Fault::secondary_rate_limit(
        Method::POST,
        "/issues/2/comments",
        1,
    ));
    standin.fault(Fault::bad_gateway(Method::POST, "/check-runs", 1));
    let report = publish_once(&standin, dir.path(), HEAD_SHA, 7, 1.0).await;
    assert!(
        matches!(&report.comment, StepOutcome::Done(s) if s.starts_with("created")),
        "{report:?}"
    );
    assert!(
        matches!(&report.check_run, StepOutcome::Done(_)),
        "{report:?}"
    );
    assert_eq!(standin.comments_with("tailgate:comment").len(), 1);
    let requests = standin.requests();
    let posts = requests
        .iter()
        .filter(|r| r.method == Method::POST && r.path.ends_with("/issues/2/comments"))
        .count();
    assert_eq!(posts, 2, "the rate-limited create was sent again once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_what_to_fix() {
    let dir = tempfile::tempdir().expect("tempdir");

    // 403 on check runs: the missing permission is named; the comment still works.
    let standin = StandIn::start(CANARY).await;
    standin.fault(Fault::forbidden(Method::POST, "/check-runs"));
    let report = publish_once(&standin, dir.path(), HEAD_SHA, 8, 1.0).await;
    match &report.check_run {
        StepOutcome::Failed(msg) => assert!(msg.contains("checks: write"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(report.comment, StepOutcome::Done(_)));

    // 401: a wrong token is reported as such, without the token.
    let standin = StandIn::start("some-other-token-value").await;
    let report = publish_once(&standin, dir.path(), HEAD_SHA, 9, 1.0).await;
    match &report.comment {
        StepOutcome::Failed(msg) => {
            assert!(msg.contains("401") && msg.contains("github_token"), "{msg}");
            assert!(!msg.contains(CANARY));
        }
        other => panic!("{other:?}"),
    }

    // 404: PR comments on a repository the token cannot see.
    let standin = StandIn::start(CANARY).await;
    let event = pr_event(dir.path(), HEAD_SHA);
    let mut env = actions_env(&standin, dir.path(), "pull_request", &event, 10);
    env.insert("GITHUB_REPOSITORY".into(), "Codertocat/Private".into());
    let ctx = context(&env);
    let res = results(HEAD_SHA, 10, 1.0);
    let report = publish::publish(&ctx, &res, "body", &options()).await;
    assert!(
        matches!(&report.comment, StepOutcome::Failed(m) if m.contains("404")),
        "{report:?}"
    );

    // 422: a check run on a commit GitHub does not know.
    let standin = StandIn::start(CANARY).await;
    let event = pr_event(dir.path(), "1111111111111111111111111111111111111111");
    let env = actions_env(&standin, dir.path(), "pull_request", &event, 11);
    let ctx = context(&env);
    let res = results("1111111111111111111111111111111111111111", 11, 1.0);
    let report = publish::publish(&ctx, &res, "body", &options()).await;
    assert!(
        matches!(&report.check_run, StepOutcome::Failed(m) if m.contains("422") && m.contains("No commit found")),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_decide_whether_to_comment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let standin = StandIn::start(CANARY).await;
    let event = pr_event(dir.path(), HEAD_SHA);
    let env = actions_env(&standin, dir.path(), "pull_request", &event, 20);
    let ctx = context(&env);
    let passing = results(HEAD_SHA, 20, 1.0);
    let opts = PublishOptions {
        comment: context::CommentPolicy::OnFailure,
        ..options()
    };
    let report = publish::publish(&ctx, &passing, "body", &opts).await;
    assert!(
        matches!(report.comment, StepOutcome::Skipped(_)),
        "{report:?}"
    );
    assert!(standin.comments_with("tailgate").is_empty());

    let failing = results(HEAD_SHA, 21, 2.1);
    let markdown = render_markdown(&build_view(&failing)).expect("render");
    let report = publish::publish(&ctx, &failing, &markdown, &opts).await;
    assert!(matches!(report.comment, StepOutcome::Done(_)), "{report:?}");

    // Fixed: an existing failure comment is kept current even under on-failure.
    let fixed = results(HEAD_SHA, 22, 1.0);
    let markdown = render_markdown(&build_view(&fixed)).expect("render");
    let report = publish::publish(&ctx, &fixed, &markdown, &opts).await;
    assert!(
        matches!(&report.comment, StepOutcome::Done(s) if s.starts_with("updated")),
        "{report:?}"
    );
    let ours = standin.comments_with("tailgate:comment");
    assert_eq!(ours.len(), 1);
    assert!(ours[0]["body"].as_str().unwrap_or_default().contains("✅"));
}
