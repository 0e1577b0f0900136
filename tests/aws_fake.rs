//! Where moto differs from AWS, AWS is right: these tests run the AWS edge against a
//! small fake that answers with AWS's real response shapes — a create that fails and
//! rolls back (with the failing resources' reasons in the stack events), an update
//! rejected with "No updates are to be performed.", a SAM template that AWS transforms
//! (HTTP API, arm64), a stack that never settles, paginated CloudWatch Logs, X-Ray
//! traces, the tagging API's pages, and an access error that must not leak the secret.

mod support;

use support::{creds, fake};

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake::{describe_stacks_xml, no_such_stack, ok_xml, stack_event, stack_events_xml, Reply};
use tailgate::aws::AwsError;
use tailgate::config::CloudFormationDeploy;
use tailgate::cost::{ApiGatewayKind, Architecture};
use tailgate::deploy::cloudformation::reap::{self, ReapAction, ReapRequest};
use tailgate::deploy::cloudformation::stack::Applied;
use tailgate::deploy::cloudformation::stack::Polling;
use tailgate::deploy::cloudformation::{functions_of, gateway_of};
use tailgate::deploy::{CloudFormationDeployer, DeployError, Deployer, StackContext, TeardownList};
use tailgate::server_side::{logs, xray};
use tailgate::side::Side;

const HEAD: &str = "tailgate-acme-orders-pr42-head";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws")
        .join(name)
}

fn deployer(template: &str, clients: tailgate::aws::AwsClients) -> CloudFormationDeployer {
    let mut s = CloudFormationDeploy::with_template(fixture(template));
    // A fixture template, not a repository of sides: deploy it as it is.
    s.sides.worktree = Some(false);
    s.sha_parameter = Some("GitSha".into());
    s.poll_interval = Duration::from_millis(5);
    s.timeout = Duration::from_secs(30);
    let context = StackContext {
        repo: "acme/orders".into(),
        pr: Some(42),
        base_sha: "base0000".into(),
        head_sha: "head1111".into(),
    };
    CloudFormationDeployer::new(s, context, clients)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[tokio::test]
async fn a_failed_create_quotes_the_failing_resources_and_is_deleted() {
    #[derive(Default)]
    struct State {
        created: bool,
        deleted: bool,
        describes_after_create: usize,
    }
    let state = Arc::new(Mutex::new(State::default()));
    let s = state.clone();
    let aws = fake::start(move |req| {
        let mut st = s.lock().unwrap();
        match req.operation.as_str() {
            "DescribeStacks" if st.deleted => no_such_stack(HEAD),
            "DescribeStacks" if !st.created => no_such_stack(HEAD),
            "DescribeStacks" => {
                st.describes_after_create += 1;
                let status = match st.describes_after_create {
                    1 => "CREATE_IN_PROGRESS",
                    2 => "ROLLBACK_IN_PROGRESS",
                    _ => "ROLLBACK_COMPLETE",
                };
                Reply::xml(describe_stacks_xml(HEAD, status, &[]))
            }
            "CreateStack" => {
                st.created = true;
                ok_xml("CreateStack", &format!("<StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/{HEAD}/x</StackId>"))
            }
            "DescribeStackEvents" => Reply::xml(stack_events_xml(&[
                stack_event(HEAD, HEAD, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", "", "2024-01-01T00:01:05Z"),
                stack_event(HEAD, "Fn", "AWS::Lambda::Function", "DELETE_COMPLETE", "", "2024-01-01T00:01:04Z"),
                stack_event(HEAD, HEAD, "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS",
                    "The following resource(s) failed to create: [Fn]. Rollback requested by user.", "2024-01-01T00:01:03Z"),
                stack_event(HEAD, "Role", "AWS::IAM::Role", "CREATE_FAILED", "Resource creation cancelled", "2024-01-01T00:01:02Z"),
                stack_event(HEAD, "Fn", "AWS::Lambda::Function", "CREATE_FAILED",
                    "Resource handler returned message: &quot;'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 10240&quot;",
                    "2024-01-01T00:01:01Z"),
                stack_event(HEAD, HEAD, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated", "2024-01-01T00:01:00Z"),
                stack_event(HEAD, "Old", "AWS::SQS::Queue", "CREATE_FAILED", "a reason from an earlier operation", "2023-12-01T00:00:00Z"),
            ])),
            "DeleteStack" => {
                st.deleted = true;
                ok_xml("DeleteStack", "")
            }
            other => Reply::xml_error(400, "InvalidAction", &format!("unexpected {other}")),
        }
    })
    .await;
    let clients = creds::clients_for(&aws.url).await;
    let cleanup = TeardownList::new();
    let err = deployer("preview.json", clients)
        .deploy(Side::Head, &cleanup)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            DeployError::Aws {
                source: AwsError::StackFailed { .. },
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains("ROLLBACK_COMPLETE"), "{text}");
    assert!(
        text.contains("Fn (AWS::Lambda::Function) CREATE_FAILED"),
        "{text}"
    );
    assert!(text.contains("less than or equal to 10240"), "{text}");
    assert!(
        !text.contains("earlier operation") && !text.contains("cancelled"),
        "{text}"
    );
    // The failed stack is still deleted at teardown.
    assert!(cleanup.teardown_all().await.is_empty());
    assert_eq!(aws.count("DeleteStack"), 1);
}

#[tokio::test]
async fn no_updates_to_perform_is_success_and_sam_is_sent_with_auto_expand() {
    let processed = serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Architectures": ["arm64"], "MemorySize": 512}},
            "FnRole": {"Type": "AWS::IAM::Role"},
            "ServerlessHttpApi": {"Type": "AWS::ApiGatewayV2::Api"}
        }
    })
    .to_string();
    let aws = fake::start(move |req| match req.operation.as_str() {
        "DescribeStacks" => Reply::xml(describe_stacks_xml(
            HEAD,
            "UPDATE_COMPLETE",
            &[("ApiUrl", "https://abc123.execute-api.us-east-1.amazonaws.com/")],
        )),
        "UpdateStack" => Reply::xml_error(400, "ValidationError", "No updates are to be performed."),
        "ListStackResources" => ok_xml(
            "ListStackResources",
            &format!(
                "<StackResourceSummaries><member><LogicalResourceId>Fn</LogicalResourceId>\
                 <PhysicalResourceId>{HEAD}-Fn-1A2B3C</PhysicalResourceId><ResourceType>AWS::Lambda::Function</ResourceType>\
                 <LastUpdatedTimestamp>2024-01-01T00:00:00Z</LastUpdatedTimestamp><ResourceStatus>UPDATE_COMPLETE</ResourceStatus></member>\
                 <member><LogicalResourceId>ServerlessHttpApi</LogicalResourceId><PhysicalResourceId>abc123</PhysicalResourceId>\
                 <ResourceType>AWS::ApiGatewayV2::Api</ResourceType><LastUpdatedTimestamp>2024-01-01T00:00:00Z</LastUpdatedTimestamp>\
                 <ResourceStatus>CREATE_COMPLETE</ResourceStatus></member></StackResourceSummaries>"
            ),
        ),
        "GetTemplate" => ok_xml(
            "GetTemplate",
            &format!(
                "<TemplateBody>{}</TemplateBody><StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable>",
                xml_escape(&processed)
            ),
        ),
        other => Reply::xml_error(400, "InvalidAction", &format!("unexpected {other}")),
    })
    .await;
    let clients = creds::clients_for(&aws.url).await;
    let cleanup = TeardownList::new();
    let target = deployer("sam.yaml", clients)
        .deploy(Side::Head, &cleanup)
        .await
        .expect("unchanged is success");
    assert_eq!(
        target.aws.as_ref().unwrap().applied,
        Some(Applied::Unchanged)
    );
    assert_eq!(
        target.base_url,
        "https://abc123.execute-api.us-east-1.amazonaws.com"
    );
    assert_eq!(gateway_of(&target), Some(ApiGatewayKind::Http));
    let fns = functions_of(&target);
    assert_eq!(fns.len(), 1);
    assert_eq!(fns[0].architecture, Some(Architecture::Arm64));

    let update = aws
        .seen()
        .into_iter()
        .find(|s| s.operation == "UpdateStack")
        .unwrap();
    for expected in [
        "CAPABILITY_AUTO_EXPAND",
        "Transform%3A%20AWS%3A%3AServerless-2016-10-31",
        "ParameterKey=GitSha",
        "ParameterValue=head1111",
        "tailgate%3Apr",
        "tailgate%3Aexpires",
    ] {
        assert!(
            update.body.contains(expected),
            "UpdateStack lacks {expected}: {}",
            update.body
        );
    }
    assert_eq!(
        cleanup.len(),
        1,
        "an existing stack is still deleted at the end"
    );
}

#[tokio::test]
async fn a_stack_that_never_settles_times_out() {
    let aws = fake::start(|req| match req.operation.as_str() {
        "DescribeStacks" => Reply::xml(describe_stacks_xml(HEAD, "UPDATE_IN_PROGRESS", &[])),
        other => Reply::xml_error(400, "InvalidAction", &format!("unexpected {other}")),
    })
    .await;
    let clients = creds::clients_for(&aws.url).await;
    let polling = Polling {
        timeout: Duration::from_millis(50),
        interval: Duration::from_millis(5),
    };
    let err =
        tailgate::deploy::cloudformation::stack::settle(&clients.cloudformation, HEAD, polling)
            .await
            .unwrap_err();
    assert!(matches!(err, AwsError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("UPDATE_IN_PROGRESS"));
}

#[tokio::test]
async fn logs_are_read_across_pages_and_a_missing_group_is_empty() {
    let cold = "REPORT RequestId: a\tDuration: 10.00 ms\tBilled Duration: 160 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\tInit Duration: 149.10 ms\t\n";
    let warm = "REPORT RequestId: b\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tMax Memory Used: 51 MB\t\n";
    let json = r#"{"time":"2024-01-01T00:00:00Z","type":"platform.report","record":{"requestId":"c","metrics":{"durationMs":4.2,"billedDurationMs":5,"memorySizeMB":128,"maxMemoryUsedMB":52},"status":"success"}}"#;
    let page1 = serde_json::json!({"events": [
        {"logStreamName": "s", "timestamp": 1000, "message": cold, "ingestionTime": 1001, "eventId": "1"},
        {"logStreamName": "s", "timestamp": 1001, "message": "REPORT RequestId: x\tDuration: nope", "ingestionTime": 1002, "eventId": "2"}
    ], "searchedLogStreams": [], "nextToken": "page-2"})
    .to_string();
    let page2 = serde_json::json!({"events": [
        {"logStreamName": "s", "timestamp": 2000, "message": warm, "ingestionTime": 2001, "eventId": "3"},
        {"logStreamName": "s", "timestamp": 2001, "message": json, "ingestionTime": 2002, "eventId": "4"}
    ], "searchedLogStreams": []})
    .to_string();
    let aws = fake::start(move |req| {
        if req.body.contains("/aws/lambda/missing") {
            return Reply {
                status: 400,
                content_type: "application/x-amz-json-1.1",
                body: r#"{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}"#.into(),
            };
        }
        if req.body.contains("page-2") { Reply::json(page2.clone()) } else { Reply::json(page1.clone()) }
    })
    .await;
    let clients = creds::clients_for(&aws.url).await;
    let got = logs::fetch(&clients.logs, "orders-fn", 0, 10_000)
        .await
        .unwrap();
    assert_eq!(got.events.len(), 3);
    assert_eq!(got.rejected, 1);
    assert_eq!(got.events.iter().filter(|e| e.report.is_cold()).count(), 1);
    assert_eq!(aws.count("FilterLogEvents"), 2);
    let first = &aws.seen()[0];
    assert!(
        first.body.contains("/aws/lambda/orders-fn") && first.body.contains("REPORT RequestId"),
        "{}",
        first.body
    );

    let none = logs::fetch(&clients.logs, "missing", 0, 10_000)
        .await
        .unwrap();
    assert!(none.events.is_empty());
}

#[tokio::test]
async fn xray_gives_the_slowest_downstream_calls() {
    let doc = serde_json::json!({"id": "s1", "name": "orders-fn", "start_time": 10.0, "end_time": 10.4,
        "subsegments": [
            {"id": "a", "name": "DynamoDB", "namespace": "aws", "start_time": 10.0, "end_time": 10.3, "aws": {"operation": "Query"}},
            {"id": "b", "name": "payments.example.com", "namespace": "remote", "start_time": 10.3, "end_time": 10.35,
             "http": {"request": {"method": "POST", "url": "https://payments.example.com/charge"}}}
        ]})
    .to_string();
    let summaries_1 = serde_json::json!({"TraceSummaries": [
        {"Id": "1-aaa", "Duration": 0.41, "ResponseTime": 0.40, "Http": {"HttpURL": "https://x.execute-api.us-east-1.amazonaws.com/prod/orders?id=1", "HttpMethod": "GET", "HttpStatus": 200}}
    ], "NextToken": "next", "TracesProcessedCount": 1, "ApproximateTime": 1.7e9})
    .to_string();
    let summaries_2 = serde_json::json!({"TraceSummaries": [
        {"Id": "1-bbb", "Duration": 0.2, "ResponseTime": 0.2, "Http": {"HttpURL": "https://x.execute-api.us-east-1.amazonaws.com/prod/orders", "HttpMethod": "GET"}}
    ], "TracesProcessedCount": 1, "ApproximateTime": 1.7e9})
    .to_string();
    let traces = serde_json::json!({"Traces": [
        {"Id": "1-aaa", "Duration": 0.41, "Segments": [{"Id": "s1", "Document": doc}]},
        {"Id": "1-bbb", "Duration": 0.2, "Segments": [{"Id": "s2", "Document": doc}]}
    ], "UnprocessedTraceIds": []})
    .to_string();
    let aws = fake::start(move |req| match req.operation.as_str() {
        "TraceSummaries" if req.body.contains("next") => Reply::rest_json(summaries_2.clone()),
        "TraceSummaries" => Reply::rest_json(summaries_1.clone()),
        "Traces" => Reply::rest_json(traces.clone()),
        other => Reply {
            status: 404,
            content_type: "application/json",
            body: format!("{{\"message\":\"{other}\"}}"),
        },
    })
    .await;
    let clients = creds::clients_for(&aws.url).await;
    let calls = xray::slowest_calls(&clients.xray, 0, 60_000, &["orders-fn".to_string()])
        .await
        .unwrap();
    assert_eq!(aws.count("TraceSummaries"), 2, "both pages read");
    assert_eq!(aws.count("Traces"), 1, "two ids fit one BatchGetTraces");
    assert!(
        aws.seen()[0].body.contains(r#"service(\"orders-fn\")"#),
        "{}",
        aws.seen()[0].body
    );
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].endpoint, "GET /prod/orders");
    assert_eq!(calls[0].service, "DynamoDB");
    assert_eq!(calls[0].operation.as_deref(), Some("Query"));
    assert_eq!(calls[0].count, 2);
    assert!((calls[0].mean_ms - 300.0).abs() < 1e-6);
}

#[tokio::test]
async fn the_sweep_follows_tagging_pages_and_skips_deleted_stacks() {
    let arn =
        |name: &str| format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/0000");
    let mapping = |name: &str, expires: &str| {
        serde_json::json!({"ResourceARN": arn(name), "Tags": [
            {"Key": "tailgate:managed", "Value": "true"}, {"Key": "tailgate:repo", "Value": "acme/orders"},
            {"Key": "tailgate:pr", "Value": "1"}, {"Key": "tailgate:expires", "Value": expires}]})
    };
    let page1 = serde_json::json!({"ResourceTagMappingList": [mapping("tailgate-a-pr1-base", "2000-01-01T00:00:00Z")], "PaginationToken": "p2"}).to_string();
    let page2 = serde_json::json!({"ResourceTagMappingList": [mapping("tailgate-a-pr1-head", "2000-01-01T00:00:00Z"), mapping("tailgate-gone-pr1-head", "2000-01-01T00:00:00Z")], "PaginationToken": ""}).to_string();
    let deletes = Arc::new(AtomicUsize::new(0));
    let d = deletes.clone();
    let aws = fake::start(move |req| match req.operation.as_str() {
        "GetResources" if req.body.contains("p2") => Reply::json(page2.clone()),
        "GetResources" => Reply::json(page1.clone()),
        "DescribeStacks" if req.body.contains("gone") => no_such_stack("gone"),
        "DescribeStacks" => Reply::xml(describe_stacks_xml(
            "tailgate-a-pr1-base",
            "CREATE_COMPLETE",
            &[],
        )),
        "DeleteStack" => {
            d.fetch_add(1, Ordering::SeqCst);
            ok_xml("DeleteStack", "")
        }
        other => Reply::xml_error(400, "InvalidAction", &format!("unexpected {other}")),
    })
    .await;
    let clients = creds::clients_for(&aws.url).await;
    let request = ReapRequest {
        repo: Some("acme/orders".into()),
        closed_prs: vec![],
        now: time::OffsetDateTime::now_utc(),
        dry_run: true,
    };
    let polling = Polling {
        timeout: Duration::from_secs(5),
        interval: Duration::from_millis(5),
    };
    let listed = reap::reap(&clients, &request, polling).await.unwrap();
    assert_eq!(aws.count("GetResources"), 2);
    let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["tailgate-a-pr1-base", "tailgate-a-pr1-head"]);
    assert!(listed.iter().all(|s| s.action == ReapAction::WouldDelete));
    assert_eq!(
        deletes.load(Ordering::SeqCst),
        0,
        "a dry run deletes nothing"
    );
    let tag_request = &aws.seen()[0];
    assert!(
        tag_request.body.contains("cloudformation:stack")
            && tag_request.body.contains("tailgate:managed")
    );
}

#[tokio::test]
async fn access_errors_name_the_code_and_never_the_secret() {
    let aws = fake::start(|_| {
        Reply::xml_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    })
    .await;
    let clients = creds::clients_for(&aws.url).await;
    let cleanup = TeardownList::new();
    let err = deployer("preview.json", clients.clone())
        .deploy(Side::Base, &cleanup)
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
    assert!(
        !text.contains(creds::TEST_SECRET),
        "the secret leaked: {text}"
    );
    let failures = cleanup.teardown_all().await;
    for (what, e) in &failures {
        let t = format!("{what} {e} {e:?}");
        assert!(!t.contains(creds::TEST_SECRET), "the secret leaked: {t}");
    }
    let options = tailgate::aws::ClientOptions {
        credentials: Some(creds::test_credentials()),
        ..Default::default()
    };
    assert!(!format!("{options:?}").contains(creds::TEST_SECRET));
    assert!(!format!("{clients:?}").contains(creds::TEST_SECRET));
    // Nothing was signed with the secret in clear either.
    assert!(aws
        .seen()
        .iter()
        .all(|s| !s.body.contains(creds::TEST_SECRET)));
}

#[tokio::test]
async fn a_rolled_back_stack_is_replaced_and_a_raw_create_error_still_deletes() {
    // The stack of an earlier run is in ROLLBACK_COMPLETE (AWS only allows deleting
    // it); this run deletes it, then CreateStack fails with a raw 500 (as moto does
    // for a failing resource) while the stack exists in CREATE_IN_PROGRESS.
    #[derive(Default)]
    struct State {
        phase: u8, // 0 rolled back, 1 deleting, 2 gone, 3 created (stuck), 4 deleted again
    }
    let state = Arc::new(Mutex::new(State::default()));
    let s = state.clone();
    let aws = fake::start(move |req| {
        let mut st = s.lock().unwrap();
        match (req.operation.as_str(), st.phase) {
            ("DescribeStacks", 0) => {
                Reply::xml(describe_stacks_xml(HEAD, "ROLLBACK_COMPLETE", &[]))
            }
            ("DescribeStacks", 1) => {
                st.phase = 2;
                Reply::xml(describe_stacks_xml(HEAD, "DELETE_IN_PROGRESS", &[]))
            }
            ("DescribeStacks", 3) => {
                Reply::xml(describe_stacks_xml(HEAD, "CREATE_IN_PROGRESS", &[]))
            }
            ("DescribeStacks", _) => no_such_stack(HEAD),
            ("DeleteStack", 0) => {
                st.phase = 1;
                ok_xml("DeleteStack", "")
            }
            ("DeleteStack", 3) => {
                st.phase = 4;
                ok_xml("DeleteStack", "")
            }
            ("CreateStack", 2) => {
                st.phase = 3;
                Reply {
                    status: 500,
                    content_type: "text/html",
                    body: "<h1>Internal Server Error</h1>".into(),
                }
            }
            (other, phase) => Reply::xml_error(
                400,
                "InvalidAction",
                &format!("unexpected {other} in phase {phase}"),
            ),
        }
    })
    .await;
    let clients = creds::clients_for(&aws.url).await;
    let cleanup = TeardownList::new();
    let err = deployer("preview.json", clients)
        .deploy(Side::Head, &cleanup)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CreateStack"), "{err}");
    assert_eq!(
        aws.count("DeleteStack"),
        1,
        "the rolled-back stack was deleted first"
    );
    assert!(cleanup.teardown_all().await.is_empty());
    assert_eq!(
        aws.count("DeleteStack"),
        2,
        "the half-created stack is deleted at teardown"
    );
    assert_eq!(state.lock().unwrap().phase, 4);
}

#[tokio::test]
async fn logs_insights_is_asked_per_minute_and_polled_until_complete() {
    use tailgate::server_side::insights;
    // GetQueryResults as CloudWatch Logs answers it: `Running` with partial results,
    // then `Complete`; each row a list of {field, value}, values as text.
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = polls.clone();
    let aws = fake::start(move |req| match req.operation.as_str() {
        "StartQuery" => Reply::json(r#"{"queryId":"12ab3456-12ab-123a-789e-1234567890ab"}"#),
        "GetQueryResults" => {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let status = if n == 0 { "Running" } else { "Complete" };
            Reply::json(
                serde_json::json!({
                    "results": [
                        [
                            {"field": "bin(1m)", "value": "2026-12-03 08:41:00.000"},
                            {"field": "invocations", "value": "300"},
                            {"field": "billedMs", "value": "30100"},
                            {"field": "avgMs", "value": "99.8"},
                            {"field": "p99Ms", "value": "412.3"},
                            {"field": "maxMemoryBytes", "value": "91000000"},
                            {"field": "coldStarts", "value": "2"}
                        ],
                        [
                            {"field": "bin(1m)", "value": "2026-12-03 08:42:00.000"},
                            {"field": "invocations", "value": "1200"},
                            {"field": "billedMs", "value": "122400"},
                            {"field": "avgMs", "value": "101.2"},
                            {"field": "p99Ms", "value": "180.5"},
                            {"field": "maxMemoryBytes", "value": "88000000"},
                            {"field": "coldStarts", "value": "0"}
                        ]
                    ],
                    "statistics": {"recordsMatched": 1500.0, "recordsScanned": 4500.0, "bytesScanned": 912345.0},
                    "status": status
                })
                .to_string(),
            )
        }
        other => panic!("unexpected {other}"),
    })
    .await;
    let clients = creds::clients_for(&aws.url).await;
    let summary = insights::query_window(
        &clients.logs,
        &["orders-fn".to_string()],
        1_764_751_260_250,
        1_764_751_379_900,
        Duration::from_millis(10),
        Duration::from_secs(5),
    )
    .await
    .expect("the query completes");
    assert_eq!(summary.invocations(), 1500);
    assert_eq!(summary.cold_starts(), 2);
    let slow = summary.slowest_minute().unwrap();
    assert_eq!(slow.minute, "2026-12-03 08:41:00.000");
    assert_eq!(slow.p99_ms, Some(412.3));
    assert_eq!(aws.count("GetQueryResults"), 2, "polled until Complete");

    // The request as AWS expects it: log groups, the window in whole seconds
    // (widened), the REPORT query by minute.
    let start: serde_json::Value = serde_json::from_str(&aws.seen()[0].body).unwrap();
    assert_eq!(
        start["logGroupNames"],
        serde_json::json!(["/aws/lambda/orders-fn"])
    );
    assert_eq!(start["startTime"], 1_764_751_260);
    assert_eq!(start["endTime"], 1_764_751_380);
    let q = start["queryString"].as_str().unwrap();
    assert!(q.starts_with("filter @type = \"REPORT\""), "{q}");
    for field in [
        "@duration",
        "@billedDuration",
        "@initDuration",
        "@maxMemoryUsed",
        "bin(1m)",
    ] {
        assert!(q.contains(field), "{q}");
    }
}

#[tokio::test]
async fn a_logs_insights_query_that_never_completes_is_stopped() {
    use tailgate::server_side::insights;
    let aws = fake::start(|req| match req.operation.as_str() {
        "StartQuery" => Reply::json(r#"{"queryId":"q-1"}"#),
        "GetQueryResults" => Reply::json(r#"{"results":[],"statistics":{},"status":"Running"}"#),
        "StopQuery" => Reply::json(r#"{"success":true}"#),
        other => panic!("unexpected {other}"),
    })
    .await;
    let clients = creds::clients_for(&aws.url).await;
    let err = insights::query_window(
        &clients.logs,
        &["f".to_string()],
        0,
        60_000,
        Duration::from_millis(10),
        Duration::from_millis(100),
    )
    .await
    .expect_err("times out");
    assert!(err.to_string().contains("still running"), "{err}");
    assert_eq!(aws.count("StopQuery"), 1);
}
