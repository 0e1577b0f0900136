//! The AWS edge against the moto server (started here on 127.0.0.1, reset per test):
//! stacks created, updated on rerun, read, tagged and deleted, also when the deploy is
//! cancelled; the cleanup sweep by tag and expiry, as a library call and as the
//! `tailgate cleanup` command through `AWS_ENDPOINT_URL`. After every test no tailgate
//! stack is left that is not deleted. (REPORT lines: `aws_moto_logs.rs`.)

mod support;

use support::{creds, moto as moto_support};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tailgate::aws::AwsClients;
use tailgate::config::CloudFormationDeploy;
use tailgate::cost::{ApiGatewayKind, Architecture};
use tailgate::deploy::cloudformation::reap::{self, ReapAction, ReapReason, ReapRequest};
use tailgate::deploy::cloudformation::stack::Applied;
use tailgate::deploy::cloudformation::stack::{self, Polling, StackSpec};
use tailgate::deploy::cloudformation::tags::{keys, StackIdentity};
use tailgate::deploy::cloudformation::{functions_of, gateway_of};
use tailgate::deploy::Target;
use tailgate::deploy::{CloudFormationDeployer, Deployer, StackContext, TeardownList};
use tailgate::side::Side;

fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws/preview.json")
}

fn settings() -> CloudFormationDeploy {
    let mut s = CloudFormationDeploy::with_template(template());
    // A fixture template, not a repository of sides: deploy it as it is.
    s.sides.worktree = Some(false);
    s.sha_parameter = Some("GitSha".into());
    s.poll_interval = Duration::from_millis(20);
    s.timeout = Duration::from_secs(60);
    s
}

fn context(pr: u64, head_sha: &str) -> StackContext {
    StackContext {
        repo: "acme/orders".into(),
        pr: Some(pr),
        base_sha: "1111111".into(),
        head_sha: head_sha.into(),
    }
}

fn polling() -> Polling {
    Polling {
        timeout: Duration::from_secs(60),
        interval: Duration::from_millis(20),
    }
}

/// After a test: nothing of tailgate's is left running.
async fn assert_nothing_left(clients: &AwsClients) {
    let live = moto_support::live_tailgate_stacks(clients).await;
    assert!(live.is_empty(), "stacks left behind: {live:?}");
}

#[tokio::test]
async fn create_read_tag_and_delete_both_sides() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let deployer = CloudFormationDeployer::new(settings(), context(42, "2222222"), clients.clone());
    let cleanup = TeardownList::new();
    let base = deployer
        .deploy(Side::Base, &cleanup)
        .await
        .expect("base deploys");
    let head = deployer
        .deploy(Side::Head, &cleanup)
        .await
        .expect("head deploys");
    assert_eq!(cleanup.len(), 2, "each stack is registered for deletion");

    assert_eq!(stack_of(&base), "tailgate-acme-orders-pr42-base");
    assert_eq!(stack_of(&head), "tailgate-acme-orders-pr42-head");
    assert!(head.base_url.starts_with("https://") && head.base_url.ends_with("/prod"));
    assert_eq!(head.aws.as_ref().unwrap().applied, Some(Applied::Created));
    assert!(head.outputs.contains_key("FunctionName"));
    // One function; the template says arm64 (moto drops Architectures, the template keeps it).
    let fns = functions_of(&head);
    assert_eq!(fns.len(), 1, "{:?}", head.aws);
    assert_eq!(fns[0].name, head.outputs["FunctionName"]);
    assert_eq!(fns[0].architecture, Some(Architecture::Arm64));
    assert_eq!(gateway_of(&head), Some(ApiGatewayKind::Rest));

    let info = stack::describe(&clients.cloudformation, stack_of(&head))
        .await
        .unwrap()
        .expect("head stack exists");
    assert_eq!(info.tags[keys::REPO], "acme/orders");
    assert_eq!(info.tags[keys::PR], "42");
    assert_eq!(info.tags[keys::SIDE], "head");
    assert_eq!(info.tags[keys::REF], "2222222");
    assert!(info.tags[keys::EXPIRES].ends_with('Z'));

    let failures = cleanup.teardown_all().await;
    assert!(
        failures.is_empty(),
        "{:?}",
        failures
            .iter()
            .map(|(w, e)| format!("{w}: {e}"))
            .collect::<Vec<_>>()
    );
    for name in [stack_of(&base), stack_of(&head)] {
        assert!(stack::describe(&clients.cloudformation, name)
            .await
            .unwrap()
            .is_none());
    }
    assert_nothing_left(&clients).await;
}

#[tokio::test]
async fn a_rerun_updates_the_same_stack() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    // A first run was killed before its teardown: its stack is still there.
    let first = CloudFormationDeployer::new(settings(), context(7, "aaaaaaa"), clients.clone());
    let orphaned = TeardownList::new();
    first
        .deploy(Side::Head, &orphaned)
        .await
        .expect("first run");

    // The rerun (new head sha) updates that stack rather than creating a second one.
    let rerun = CloudFormationDeployer::new(settings(), context(7, "bbbbbbb"), clients.clone());
    let cleanup = TeardownList::new();
    let target = rerun.deploy(Side::Head, &cleanup).await.expect("rerun");
    assert_ne!(target.aws.as_ref().unwrap().applied, Some(Applied::Created));
    let live = moto_support::live_tailgate_stacks(&clients).await;
    assert_eq!(live, vec!["tailgate-acme-orders-pr7-head".to_string()]);
    let info = stack::describe(&clients.cloudformation, &live[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.tags[keys::REF], "bbbbbbb");

    // And a rerun of the same sha is fine too.
    let again = rerun
        .deploy(Side::Head, &cleanup)
        .await
        .expect("same sha again");
    assert_ne!(again.aws.as_ref().unwrap().applied, Some(Applied::Created));

    assert!(cleanup.teardown_all().await.is_empty());
    assert!(orphaned.teardown_all().await.is_empty());
    assert_nothing_left(&clients).await;
}

#[tokio::test]
async fn a_missing_url_output_fails_and_still_deletes_the_stack() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let mut s = settings();
    s.url_output = "NoSuchOutput".into();
    let deployer = CloudFormationDeployer::new(s, context(3, "ccc"), clients.clone());
    let cleanup = TeardownList::new();
    let err = deployer
        .deploy(Side::Base, &cleanup)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("NoSuchOutput") && err.contains("ApiUrl"),
        "{err}"
    );
    assert!(!err.contains(creds::TEST_SECRET));
    assert_eq!(cleanup.len(), 1);
    assert!(cleanup.teardown_all().await.is_empty());
    assert_nothing_left(&clients).await;
}

#[tokio::test]
async fn a_cancelled_deploy_is_still_torn_down() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let deployer = CloudFormationDeployer::new(settings(), context(9, "ddd"), clients.clone());
    let cleanup = TeardownList::new();
    // Drive the deploy until its stack exists, then cancel it (drop the future), as
    // the pipeline does on SIGINT/SIGTERM.
    {
        let mut deploy = Box::pin(deployer.deploy(Side::Head, &cleanup));
        for _ in 0..10_000 {
            tokio::select! {
                biased;
                _ = &mut deploy => break,
                _ = tokio::time::sleep(Duration::from_millis(1)) => {}
            }
            if !moto_support::live_tailgate_stacks(&clients)
                .await
                .is_empty()
            {
                break;
            }
        }
    }
    assert_eq!(
        cleanup.len(),
        1,
        "the stack was registered before it was created"
    );
    assert!(cleanup.teardown_all().await.is_empty());
    assert_nothing_left(&clients).await;
}

async fn tagged_stack(
    clients: &AwsClients,
    pr: u64,
    side: Side,
    expires: time::OffsetDateTime,
) -> String {
    let identity = StackIdentity {
        prefix: "tailgate".into(),
        repo: "acme/orders".into(),
        pr: Some(pr),
        git_ref: "eee".into(),
        side,
    };
    let spec = StackSpec {
        name: identity.stack_name().unwrap(),
        template_body: std::fs::read_to_string(template()).unwrap(),
        template_url: None,
        parameters: BTreeMap::new(),
        capabilities: vec!["CAPABILITY_IAM".into()],
        tags: identity.tags(expires),
    };
    stack::apply(&clients.cloudformation, &spec, polling())
        .await
        .unwrap();
    spec.name
}

#[tokio::test]
async fn cleanup_sweeps_by_tag_and_expiry_with_a_dry_run() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let now = time::OffsetDateTime::now_utc();
    let hour = time::Duration::hours(1);
    let expired = tagged_stack(&clients, 1, Side::Base, now - hour).await;
    let fresh = tagged_stack(&clients, 2, Side::Base, now + hour).await;
    let closed = tagged_stack(&clients, 3, Side::Head, now + hour).await;

    let mut request = ReapRequest {
        repo: Some("acme/orders".into()),
        closed_prs: vec![3],
        now,
        dry_run: true,
    };
    let listed = reap::reap(&clients, &request, polling()).await.unwrap();
    let mut names: Vec<(&str, ReapReason)> =
        listed.iter().map(|s| (s.name.as_str(), s.reason)).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            (expired.as_str(), ReapReason::Expired),
            (closed.as_str(), ReapReason::PrClosed)
        ]
    );
    assert!(listed.iter().all(|s| s.action == ReapAction::WouldDelete));
    assert_eq!(
        moto_support::live_tailgate_stacks(&clients).await.len(),
        3,
        "a dry run deletes nothing"
    );

    request.dry_run = false;
    let swept = reap::reap(&clients, &request, polling()).await.unwrap();
    assert_eq!(swept.len(), 2);
    assert!(swept.iter().all(|s| s.action == ReapAction::Deleted));
    assert_eq!(
        moto_support::live_tailgate_stacks(&clients).await,
        vec![fresh.clone()]
    );
    // A second sweep finds nothing more to do (deleted stacks are skipped).
    assert!(reap::reap(&clients, &request, polling())
        .await
        .unwrap()
        .is_empty());

    stack::delete(&clients.cloudformation, &fresh, polling())
        .await
        .unwrap();
    assert_nothing_left(&clients).await;
}

#[tokio::test]
async fn the_cleanup_command_honours_aws_endpoint_url() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let now = time::OffsetDateTime::now_utc();
    let expired = tagged_stack(&clients, 5, Side::Head, now - time::Duration::hours(2)).await;
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tailgate"))
            .arg("cleanup")
            .args(extra)
            .env("AWS_ENDPOINT_URL", &session.moto.url)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "AKIATAILGATETEST")
            .env("AWS_SECRET_ACCESS_KEY", creds::TEST_SECRET)
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env_remove("GITHUB_EVENT_PATH")
            .env_remove("GITHUB_REPOSITORY")
            .output()
            .expect("tailgate runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(creds::TEST_SECRET));
        (out.status.code(), text)
    };
    let (code, text) = run(&["--dry-run", "--repo", "acme/orders"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("would delete: {expired}")), "{text}");
    assert_eq!(moto_support::live_tailgate_stacks(&clients).await.len(), 1);
    let (code, text) = run(&["--repo", "acme/orders", "--timeout-secs", "60"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("deleted: {expired}")), "{text}");
    assert_nothing_left(&clients).await;
}

/// The stack a target was deployed to.
fn stack_of(target: &Target) -> &str {
    target
        .aws
        .as_ref()
        .and_then(|a| a.stack.as_deref())
        .expect("a stack")
}
