//! A whole run on the `cloudformation` deployer against moto: both stacks are created
//! from a template, their `ApiUrl` output points at a local server, and that server
//! writes one Lambda REPORT line per request to the function's log group (as Lambda
//! would), billed 100 ms on base and 300 ms on head at 512 MB on arm64. The run reads
//! the lines of every round's window, prices every (round, side), fails the +5 % cost
//! budget with the cost per 1M a hand computation gives, and deletes both stacks.

#[path = "aws_support/creds.rs"]
mod creds;
#[path = "aws_support/moto.rs"]
mod moto_support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use tailgate::aws::{AwsClients, ServerSideOptions};
use tailgate::config;
use tailgate::deploy::{CloudFormationDeployer, StackContext};
use tailgate::pipeline::{self, RunOptions};
use tailgate::progress::Progress;
use tailgate::results::RunContext;
use tailgate::verdict::{CheckKind, Level, Metric};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Requests seen, as (stack name, Unix ms), waiting to be written as REPORT lines.
type Pending = Arc<Mutex<Vec<(String, i64)>>>;

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A keep-alive HTTP/1.1 server on 127.0.0.1 answering 200 `ok`; each request's
/// first path segment (the stack name) and arrival time go to `pending`.
async fn serve(listener: TcpListener, pending: Pending) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let pending = pending.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end + 4);
                    let path = head.split_whitespace().nth(1).unwrap_or("/");
                    let stack = path.trim_start_matches('/').split('/').next().unwrap_or("");
                    pending.lock().unwrap().push((stack.to_string(), now_ms()));
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if stream.write_all(reply).await.is_err() {
                        return;
                    }
                }
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        });
    }
}

fn report_line(n: usize, billed_ms: u32, cold: bool) -> String {
    let init = if cold {
        "Init Duration: 210.40 ms\t"
    } else {
        ""
    };
    format!(
        "REPORT RequestId: 5f0c{n:08x}-0000-4000-8000-000000000000\tDuration: {}.73 ms\t\
         Billed Duration: {billed_ms} ms\tMemory Size: 512 MB\tMax Memory Used: 88 MB\t{init}\n",
        billed_ms - 1
    )
}

/// Lambda's part: every 50 ms, write the pending requests as REPORT lines to the
/// log group of the stack's function (the first line of each function is a cold start).
/// A path segment that is no stack (a `command` deploy) is the function's name.
async fn write_reports(clients: AwsClients, pending: Pending) {
    let mut functions: BTreeMap<String, (String, usize)> = BTreeMap::new();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let batch: Vec<(String, i64)> = std::mem::take(&mut *pending.lock().unwrap());
        let mut by_stack: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (stack, ts) in batch {
            by_stack.entry(stack).or_default().push(ts);
        }
        for (stack, mut times) in by_stack {
            if !functions.contains_key(&stack) {
                let resource = clients
                    .cloudformation
                    .describe_stack_resource()
                    .stack_name(&stack)
                    .logical_resource_id("Fn")
                    .send()
                    .await;
                let name = match resource {
                    Ok(r) => r
                        .stack_resource_detail()
                        .and_then(|d| d.physical_resource_id())
                        .expect("a physical name")
                        .to_string(),
                    Err(_) => stack.clone(),
                };
                let group = format!("/aws/lambda/{name}");
                let _ = clients
                    .logs
                    .create_log_group()
                    .log_group_name(&group)
                    .send()
                    .await;
                clients
                    .logs
                    .create_log_stream()
                    .log_group_name(&group)
                    .log_stream_name("2026/11/27/[$LATEST]0001")
                    .send()
                    .await
                    .expect("a log stream");
                functions.insert(stack.clone(), (group, 0));
            }
            let (group, seen) = functions.get_mut(&stack).unwrap();
            let billed = if stack.ends_with("-head") { 300 } else { 100 };
            times.sort_unstable();
            let events: Vec<InputLogEvent> = times
                .into_iter()
                .map(|ts| {
                    *seen += 1;
                    InputLogEvent::builder()
                        .timestamp(ts)
                        .message(report_line(*seen, billed, *seen == 1))
                        .build()
                        .unwrap()
                })
                .collect();
            clients
                .logs
                .put_log_events()
                .log_group_name(group.as_str())
                .log_stream_name("2026/11/27/[$LATEST]0001")
                .set_log_events(Some(events))
                .send()
                .await
                .expect("put_log_events");
        }
    }
}

/// Cost per 1M requests of one request billed `ms` at 512 MB on arm64 behind a REST
/// API, at AWS's list prices: GB-s x $0.0000133334 + $0.20 + $3.50 per million.
fn per_1m(ms: f64) -> f64 {
    ms / 1000.0 * 0.5 * 0.0000133334 * 1e6 + 0.20 + 3.50
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_on_stacks_prices_every_round_from_report_lines() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let pending: Pending = Arc::default();
    let server = tokio::spawn(serve(listener, pending.clone()));
    let writer = tokio::spawn(write_reports(clients.clone(), pending));

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws");
    let text = format!(
        r#"
deploy:
  cloudformation:
    template: pipeline.json
    worktree: false
    sha_parameter: GitSha
    parameters: {{ TargetUrl: "{url}" }}
    poll_interval: 20ms
    timeout: 60s
load: {{ connections: 2, duration: 300ms, warmup: 0s }}
compare: {{ rounds: 4, seed: 11 }}
cost: {{ monthly_requests: 1M }}
defaults:
  slo: {{ cost_per_1m: $10.00 }}
  budget: {{ p99: +1000%, cost: +5% }}
endpoints:
  - name: orders
    path: /orders
"#
    );
    let config = config::parse(&text, "tailgate.yml", &dir).expect("config");
    let config::DeployConfig::CloudFormation(stack) = &config.deploy else {
        panic!("{:?}", config.deploy)
    };
    let deployer = CloudFormationDeployer::new(
        stack.clone(),
        StackContext {
            repo: "acme/orders".into(),
            pr: Some(9),
            base_sha: "1111111".into(),
            head_sha: "2222222".into(),
        },
        clients.clone(),
    );
    let out = tempfile::tempdir().unwrap();
    let options = RunOptions {
        server_side: ServerSideOptions {
            logs_patience: Duration::from_secs(10),
            poll_interval: Duration::from_millis(100),
            xray: true,
            ..Default::default()
        },
        out_dir: out.path().to_path_buf(),
        context: RunContext::default(),
        release: false,
    };
    let outcome = pipeline::run(&config, &deployer, &options, &Progress::quiet())
        .await
        .expect("the run writes its outputs");
    server.abort();
    writer.abort();
    let results = &outcome.results;
    assert!(
        results.verdict.error.is_none(),
        "{:?}",
        results.verdict.error
    );
    assert!(
        outcome.teardown_failures.is_empty(),
        "{:?}",
        outcome.teardown_failures
    );

    // Every REPORT line of the rounds was read, and matched the requests sent.
    let server_side = results.server.as_ref().expect("the Lambda view");
    assert_eq!(server_side.lambda.len(), 2);
    for side in &server_side.lambda {
        assert!(side.invocations > 0);
        assert_eq!(
            side.invocations, side.requests_sent,
            "{}: {:?}",
            side.side, side.count_mismatch
        );
        assert_eq!(side.memory_size_mb, Some(512));
        // The cold start was the first request, measured apart from the rounds.
        assert_eq!(side.cold_starts, 0);
        assert!(side.outside_rounds >= 1);
    }

    // Every (round, side) priced; the cost per 1M is the hand computation.
    let run = &results.endpoints[0];
    assert!(
        run.rounds.iter().all(|r| r.cost.is_some()),
        "every round priced"
    );
    let cost = results.comparisons[0]
        .get(Metric::Cost)
        .expect("cost compared");
    let (base, head) = (cost.base.unwrap(), cost.head.unwrap());
    assert!((base - per_1m(100.0)).abs() < 1e-6, "base {base}");
    assert!((head - per_1m(300.0)).abs() < 1e-6, "head {head}");
    let total = results.cost.as_ref().expect("the run's cost");
    assert_eq!(total.source, "Lambda REPORT lines");
    assert!((total.head.per_1m.unwrap().to_f64() - per_1m(300.0)).abs() < 1e-6);

    // +30 % per request: over the +5 % budget; under the $10 SLO.
    let check = |kind: CheckKind| {
        results
            .verdict
            .checks
            .iter()
            .find(|c| c.metric == Metric::Cost && c.kind == kind)
            .unwrap_or_else(|| panic!("a cost {kind:?} check"))
    };
    assert_eq!(check(CheckKind::Budget).level, Level::Fail);
    assert_eq!(check(CheckKind::Slo).level, Level::Pass);
    assert_eq!(outcome.exit_code(), 1);
    assert!(outcome.markdown.contains("#### Lambda (from REPORT lines)"));
    assert!(outcome.markdown.contains("| cost / 1M |"));

    // Nothing left running.
    let live = moto_support::live_tailgate_stacks(&clients).await;
    assert!(live.is_empty(), "stacks left behind: {live:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deploy_is_an_error_verdict_and_deletes_both_stacks() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws");
    // Both stacks are created, but neither has the output named here.
    let text = r#"
deploy:
  cloudformation:
    template: pipeline.json
    worktree: false
    url_output: NoSuchOutput
    parameters: { TargetUrl: "http://127.0.0.1:9" }
    poll_interval: 20ms
    timeout: 60s
endpoints:
  - path: /orders
"#;
    let config = config::parse(text, "tailgate.yml", &dir).expect("config");
    let config::DeployConfig::CloudFormation(stack) = &config.deploy else {
        panic!()
    };
    let deployer = CloudFormationDeployer::new(
        stack.clone(),
        StackContext {
            repo: "acme/orders".into(),
            pr: Some(10),
            base_sha: "1111111".into(),
            head_sha: "2222222".into(),
        },
        clients.clone(),
    );
    let out = tempfile::tempdir().unwrap();
    let options = RunOptions {
        server_side: ServerSideOptions::default(),
        out_dir: out.path().to_path_buf(),
        context: RunContext::default(),
        release: false,
    };
    let outcome = pipeline::run(&config, &deployer, &options, &Progress::quiet())
        .await
        .expect("the run writes its outputs");
    assert_eq!(outcome.results.verdict.level, Level::Error);
    let error = outcome.results.verdict.error.as_deref().unwrap_or_default();
    assert!(error.contains("NoSuchOutput"), "{error}");
    assert_eq!(outcome.exit_code(), tailgate::verdict::exit::ERROR);
    assert!(
        outcome.markdown.contains("the run failed"),
        "{}",
        outcome.markdown
    );
    assert!(out.path().join("tailgate-results.json").exists());
    let live = moto_support::live_tailgate_stacks(&clients).await;
    assert!(live.is_empty(), "stacks left behind: {live:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_deploy_that_names_its_functions_is_priced_like_a_stack() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let pending: Pending = Arc::default();
    let server = tokio::spawn(serve(listener, pending.clone()));
    let writer = tokio::spawn(write_reports(clients.clone(), pending));

    // `up` is a SAM/CDK/Terraform deploy as far as tailgate knows: it prints JSON
    // outputs, one of them the side's function.
    let dir = tempfile::tempdir().unwrap();
    let up = dir.path().join("up.sh");
    std::fs::write(
        &up,
        r#"#!/bin/sh
echo "deploying $TAILGATE_SIDE"
echo "{\"url\": \"$TG_URL/orders-fn-$TAILGATE_SIDE\", \"OrdersFunction\": \"arn:aws:lambda:us-east-1:123456789012:function:orders-fn-$TAILGATE_SIDE\"}"
"#,
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&up).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&up, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let text = format!(
        r#"
deploy:
  command:
    up: ./up.sh
    env: {{ TG_URL: "{url}" }}
    worktree: false
    ready: {{ interval: 20ms }}
load: {{ connections: 2, duration: 300ms, warmup: 0s }}
compare: {{ rounds: 4, seed: 11 }}
cost: {{ monthly_requests: 1M, architecture: arm64, api_gateway: rest }}
defaults:
  slo: {{ cost_per_1m: $10.00 }}
  budget: {{ p99: +1000%, cost: +5% }}
endpoints:
  - name: orders
    path: /orders
"#
    );
    let config = config::parse(&text, "tailgate.yml", dir.path()).expect("config");
    let config::DeployConfig::Command(command) = &config.deploy else {
        panic!("{:?}", config.deploy)
    };
    let deployer = tailgate::deploy::CommandDeployer::new(
        command.clone(),
        dir.path().to_path_buf(),
        tailgate::deploy::CommandContext {
            repo: "acme/orders".into(),
            pr: Some(9),
            base_ref: "main".into(),
            head_ref: "HEAD".into(),
        },
    )
    .with_architecture(config.cost.architecture)
    .with_aws(clients.clone());
    let out = tempfile::tempdir().unwrap();
    let options = RunOptions {
        server_side: ServerSideOptions {
            logs_patience: Duration::from_secs(10),
            poll_interval: Duration::from_millis(100),
            xray: false,
            ..Default::default()
        },
        out_dir: out.path().to_path_buf(),
        context: RunContext::default(),
        release: false,
    };
    let outcome = pipeline::run(&config, &deployer, &options, &Progress::quiet())
        .await
        .expect("the run writes its outputs");
    server.abort();
    assert!(
        !writer.is_finished(),
        "the REPORT writer stopped: {:?}",
        writer.await
    );
    writer.abort();
    let results = &outcome.results;
    assert!(
        results.verdict.error.is_none(),
        "{:?}",
        results.verdict.error
    );

    // The same reading as a stack gets: every REPORT line, the cold start apart.
    let server_side = results.server.as_ref().expect("the Lambda view");
    assert_eq!(server_side.lambda.len(), 2);
    for side in &server_side.lambda {
        assert!(side.invocations > 0);
        assert_eq!(
            side.invocations, side.requests_sent,
            "{:?}",
            side.count_mismatch
        );
        assert_eq!(side.memory_size_mb, Some(512));
        assert_eq!(side.cold_starts, 0);
        assert!(side.outside_rounds >= 1);
    }
    // The hand computation: billed 100 ms (base) and 300 ms (head) at 512 MB on arm64
    // behind a REST API.
    let cost = results.comparisons[0]
        .get(Metric::Cost)
        .expect("cost compared");
    let (base, head) = (cost.base.unwrap(), cost.head.unwrap());
    assert!((base - per_1m(100.0)).abs() < 1e-6, "base {base}");
    assert!((head - per_1m(300.0)).abs() < 1e-6, "head {head}");
    assert_eq!(
        results.cost.as_ref().expect("the run's cost").source,
        "Lambda REPORT lines"
    );
    assert_eq!(
        outcome.exit_code(),
        1,
        "+200 % per request is over the +5 % budget"
    );
}
