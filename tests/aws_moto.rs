//! The AWS edge against the moto server (started here on 127.0.0.1, reset per test):
//! stacks created, updated on rerun, read, tagged and deleted; the cleanup sweep by
//! tag and expiry; REPORT lines seeded with `put_log_events` read back into cold
//! starts and a cost per request computed by hand. After every test no tailgate
//! stack is left that is not deleted.

#[path = "aws_support/creds.rs"]
mod creds;
#[path = "aws_support/moto.rs"]
mod moto_support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use tailgate::aws::lambda::{self, RoundWindow};
use tailgate::aws::stack::{self, Polling, StackSpec};
use tailgate::aws::sweep::{self, SweepAction, SweepReason, SweepRequest};
use tailgate::aws::tags::{keys, StackIdentity};
use tailgate::aws::{logs, AwsClients};
use tailgate::config::CloudFormationDeploy;
use tailgate::cost::{self, ApiGatewayKind, Architecture, Prices};
use tailgate::deploy::cloudformation::{functions_of, gateway_of, meta};
use tailgate::deploy::{Cleanup, CloudFormationDeployer, Deployer, StackContext};
use tailgate::side::Side;

fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws/preview.json")
}

fn settings() -> CloudFormationDeploy {
    let mut s = CloudFormationDeploy::with_template(template());
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
    let cleanup = Cleanup::new();
    let base = deployer
        .deploy(Side::Base, &cleanup)
        .await
        .expect("base deploys");
    let head = deployer
        .deploy(Side::Head, &cleanup)
        .await
        .expect("head deploys");
    assert_eq!(cleanup.len(), 2, "each stack is registered for deletion");

    assert_eq!(base.meta[meta::STACK], "tailgate-acme-orders-pr42-base");
    assert_eq!(head.meta[meta::STACK], "tailgate-acme-orders-pr42-head");
    assert!(head.base_url.starts_with("https://") && head.base_url.ends_with("/prod"));
    assert_eq!(head.meta[meta::APPLIED], "created");
    assert!(head.meta.contains_key("output.FunctionName"));
    // One function; the template says arm64 (moto drops Architectures, the template keeps it).
    let fns = functions_of(&head);
    assert_eq!(fns.len(), 1, "{:?}", head.meta);
    assert_eq!(fns[0].name, head.meta["output.FunctionName"]);
    assert_eq!(fns[0].architecture, Architecture::Arm64);
    assert_eq!(gateway_of(&head), Some(ApiGatewayKind::Rest));

    let info = stack::describe(&clients.cloudformation, &head.meta[meta::STACK])
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
    for name in [&base.meta[meta::STACK], &head.meta[meta::STACK]] {
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
    let orphaned = Cleanup::new();
    first
        .deploy(Side::Head, &orphaned)
        .await
        .expect("first run");

    // The rerun (new head sha) updates that stack rather than creating a second one.
    let rerun = CloudFormationDeployer::new(settings(), context(7, "bbbbbbb"), clients.clone());
    let cleanup = Cleanup::new();
    let target = rerun.deploy(Side::Head, &cleanup).await.expect("rerun");
    assert_ne!(target.meta[meta::APPLIED], "created");
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
    assert_ne!(again.meta[meta::APPLIED], "created");

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
    let cleanup = Cleanup::new();
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
    let cleanup = Cleanup::new();
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

    let mut request = SweepRequest {
        repo: Some("acme/orders".into()),
        closed_prs: vec![3],
        now,
        dry_run: true,
    };
    let listed = sweep::sweep(&clients, &request, polling()).await.unwrap();
    let mut names: Vec<(&str, SweepReason)> =
        listed.iter().map(|s| (s.name.as_str(), s.reason)).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            (expired.as_str(), SweepReason::Expired),
            (closed.as_str(), SweepReason::PrClosed)
        ]
    );
    assert!(listed.iter().all(|s| s.action == SweepAction::WouldDelete));
    assert_eq!(
        moto_support::live_tailgate_stacks(&clients).await.len(),
        3,
        "a dry run deletes nothing"
    );

    request.dry_run = false;
    let swept = sweep::sweep(&clients, &request, polling()).await.unwrap();
    assert_eq!(swept.len(), 2);
    assert!(swept.iter().all(|s| s.action == SweepAction::Deleted));
    assert_eq!(
        moto_support::live_tailgate_stacks(&clients).await,
        vec![fresh.clone()]
    );
    // A second sweep finds nothing more to do (deleted stacks are skipped).
    assert!(sweep::sweep(&clients, &request, polling())
        .await
        .unwrap()
        .is_empty());

    stack::delete(&clients.cloudformation, &fresh, polling())
        .await
        .unwrap();
    assert_nothing_left(&clients).await;
}

/// The start of the first round: ten minutes ago (CloudWatch Logs, like moto,
/// rejects events older than 14 days or more than 2 hours in the future).
fn first_round_start() -> i64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    now - 600_000
}

fn report(id: &str, billed_ms: u32, cold: bool) -> String {
    let init = if cold {
        "Init Duration: 180.25 ms\t"
    } else {
        ""
    };
    format!(
        "REPORT RequestId: {id}\tDuration: {}.50 ms\tBilled Duration: {billed_ms} ms\tMemory Size: 256 MB\tMax Memory Used: 71 MB\t{init}\n"
    , billed_ms - 1)
}

#[tokio::test]
async fn report_lines_give_cold_starts_and_the_cost_per_request() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let t0 = first_round_start();
    let function = "tailgate-acme-orders-pr5-head-Fn-ABC123";
    let group = logs::log_group(function);
    clients
        .logs
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    clients
        .logs
        .create_log_stream()
        .log_group_name(&group)
        .log_stream_name("2024/01/01/[$LATEST]abc")
        .send()
        .await
        .unwrap();

    // Round 0: 3 requests, 1 cold (billed 201 ms) + 2 warm (21 ms); round 1: 2 warm (11 ms).
    // Plus a warm-up invocation before the rounds and the usual START/END lines.
    let lines: Vec<(i64, String)> = vec![
        (t0 - 5_000, report("warmup", 300, true)),
        (t0 + 100, "START RequestId: a Version: $LATEST".into()),
        (t0 + 200, report("a", 201, true)),
        (t0 + 210, "END RequestId: a".into()),
        (t0 + 300, report("b", 21, false)),
        (t0 + 400, report("c", 21, false)),
        (t0 + 400, "REPORT RequestId: broken\tDuration: soon".into()),
        (t0 + 10_100, report("d", 11, false)),
        (t0 + 10_200, report("e", 11, false)),
    ];
    let events: Vec<InputLogEvent> = lines
        .iter()
        .map(|(ts, msg)| {
            InputLogEvent::builder()
                .timestamp(*ts)
                .message(msg)
                .build()
                .unwrap()
        })
        .collect();
    clients
        .logs
        .put_log_events()
        .log_group_name(&group)
        .log_stream_name("2024/01/01/[$LATEST]abc")
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();

    let windows = [
        RoundWindow {
            round: 0,
            side: Side::Head,
            start_ms: t0,
            end_ms: t0 + 1_000,
            requests: 3,
            bytes_in: 0,
        },
        RoundWindow {
            round: 1,
            side: Side::Head,
            start_ms: t0 + 10_000,
            end_ms: t0 + 11_000,
            requests: 2,
            bytes_in: 0,
        },
    ];
    let fetched = logs::fetch_settled(
        &clients.logs,
        &[function.to_string()],
        t0 - 60_000,
        t0 + 60_000,
        6,
        Duration::from_secs(5),
        Duration::from_millis(50),
    )
    .await
    .unwrap();
    assert_eq!(fetched.events.len(), 6, "every REPORT, START/END skipped");
    assert_eq!(fetched.rejected, 1, "the broken line is counted, not fatal");

    let summary = lambda::summarize(
        Side::Head,
        &[function.into()],
        &fetched.events,
        fetched.rejected,
        &windows,
    );
    assert_eq!(summary.invocations, 5);
    assert_eq!(summary.cold_starts, 1);
    assert_eq!(summary.outside_rounds, 1);
    assert!(summary.count_mismatch.is_none());
    assert_eq!(summary.memory_size_mb, Some(256));
    assert_eq!(summary.max_memory_used_mb, Some(71));

    let fns = [lambda::FunctionInfo {
        name: function.into(),
        logical_id: "Fn".into(),
        architecture: Architecture::X86_64,
    }];
    let rounds = lambda::round_usage(
        Side::Head,
        &fetched.events,
        &windows,
        &fns,
        Architecture::X86_64,
        ApiGatewayKind::Rest,
    );
    let side = cost::side_cost(
        Side::Head,
        &rounds,
        &Prices::aws_defaults(),
        Some(10_000_000),
    )
    .unwrap();

    // By hand: billed ms = 201 + 21 + 21 + 11 + 11 = 265 ms at 256 MB = 0.25 GB
    //   compute  = 0.265 s x 0.25 GB x 0.0000166667 $/GB-s = 0.00000110416887500
    //   requests = 5 x 0.20 / 1e6                          = 0.000001
    //   REST API = 5 x 3.50 / 1e6                          = 0.0000175
    //   total    = 0.000019604168875 for 5 requests -> 0.000003920833775 per request
    assert_eq!(
        side.per_request.unwrap().amount.normalize().to_string(),
        "0.000003920833775"
    );
    assert_eq!(
        side.per_1m.unwrap().amount.normalize().to_string(),
        "3.920833775"
    );
    assert_eq!(
        side.monthly.unwrap().amount.normalize().to_string(),
        "39.20833775"
    );
    assert_eq!(side.rounds.len(), 2);
    assert_eq!(side.round_values().len(), 2);
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

#[tokio::test]
async fn the_server_side_stage_prices_both_sides() {
    use tailgate::aws::{server_side, ServerSideOptions};
    use tailgate::cost::CostModel;
    use tailgate::deploy::Target;

    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let t0 = first_round_start();
    let mut windows = Vec::new();
    let mut targets = Vec::new();
    for (n, side) in [Side::Base, Side::Head].into_iter().enumerate() {
        let function = format!("orders-{side}");
        let group = logs::log_group(&function);
        clients
            .logs
            .create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .unwrap();
        clients
            .logs
            .create_log_stream()
            .log_group_name(&group)
            .log_stream_name("s")
            .send()
            .await
            .unwrap();
        let start = t0 + n as i64 * 2_000;
        // Base: 4 warm invocations billed 20 ms; head: 1 cold (200 ms) + 3 warm (40 ms).
        let events: Vec<InputLogEvent> = (0..4)
            .map(|i| {
                let billed = match (side, i) {
                    (Side::Base, _) => 20,
                    (Side::Head, 0) => 200,
                    (Side::Head, _) => 40,
                };
                let msg = report(&format!("{side}{i}"), billed, side == Side::Head && i == 0);
                InputLogEvent::builder()
                    .timestamp(start + 100 + i)
                    .message(msg)
                    .build()
                    .unwrap()
            })
            .collect();
        clients
            .logs
            .put_log_events()
            .log_group_name(&group)
            .log_stream_name("s")
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
        windows.push(RoundWindow {
            round: 0,
            side,
            start_ms: start,
            end_ms: start + 1_000,
            requests: 4,
            bytes_in: 0,
        });
        targets.push(Target {
            side,
            base_url: "https://example.invalid".into(),
            label: side.to_string(),
            pid: None,
            meta: BTreeMap::from([
                (meta::FUNCTIONS.to_string(), format!("{function}=arm64")),
                (meta::GATEWAY.to_string(), "http".to_string()),
            ]),
        });
    }
    let model = CostModel {
        monthly_requests: Some(1_000_000),
        ..CostModel::default()
    };
    let options = ServerSideOptions {
        logs_patience: Duration::from_secs(5),
        poll_interval: Duration::from_millis(50),
        xray: true,
    };
    let view = server_side(
        &clients,
        &targets[0],
        &targets[1],
        &windows,
        &model,
        Some(250.0),
        options,
    )
    .await
    .unwrap();
    assert_eq!(view.lambda.len(), 2);
    assert_eq!(view.lambda[1].cold_starts, 1);
    let cost = view.cost.as_ref().expect("both sides priced");
    assert_eq!(cost.base.usage.invocations, 4);
    assert_eq!(cost.head.usage.arm64_mb_ms, (200 + 3 * 40) * 256);
    assert!(
        cost.point_change().unwrap() > 0.0,
        "head bills more time per request"
    );
    let md = tailgate::aws::view::markdown(&view);
    assert!(md.contains("| head | 4 | 4 | 1 (25"), "{md}");
    assert!(md.contains("per 1M requests"), "{md}");
    assert_nothing_left(&clients).await;
}
