//! CloudWatch Logs against the moto server: REPORT lines seeded with
//! `put_log_events` are read back into cold starts and a cost per request equal to a
//! hand computation, and the whole server-side stage prices base and head.

mod support;

use support::{creds, moto as moto_support};

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use tailgate::aws::AwsClients;
use tailgate::cost::{self, ApiGatewayKind, Architecture, Prices};
use tailgate::deploy::{AwsTarget, FunctionInfo};
use tailgate::server_side::lambda::{self, RoundWindow};
use tailgate::server_side::logs;
use tailgate::side::Side;

/// After a test: nothing of tailgate's is left running.
async fn assert_nothing_left(clients: &AwsClients) {
    let live = moto_support::live_tailgate_stacks(clients).await;
    assert!(live.is_empty(), "stacks left behind: {live:?}");
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

    let fns = [FunctionInfo {
        name: function.into(),
        logical_id: "Fn".into(),
        architecture: Some(Architecture::X86_64),
    }];
    let rounds = lambda::round_usage(
        Side::Head,
        &fetched.events,
        &windows,
        &fns,
        None,
        ApiGatewayKind::Rest,
    )
    .unwrap();
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
async fn the_server_side_stage_prices_both_sides() {
    use tailgate::cost::CostModel;
    use tailgate::deploy::Target;
    use tailgate::server_side::{stacks, ServerSideOptions};

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
            checkout: None,
            worktree: None,
            outputs: BTreeMap::new(),
            aws: Some(AwsTarget {
                stack: None,
                region: None,
                functions: vec![FunctionInfo {
                    name: function.to_string(),
                    logical_id: String::new(),
                    architecture: Some(Architecture::Arm64),
                }],
                gateway: Some(ApiGatewayKind::Http),
                applied: None,
                packaged: Vec::new(),
            }),
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
        ..Default::default()
    };
    let view = stacks::read(
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
    let md = tailgate::report::server_side::markdown(&view).expect("render");
    assert!(md.contains("| head | 4 | 4 | 1 (25"), "{md}");
    assert!(md.contains("per 1M requests"), "{md}");

    // A function whose architecture nothing says is not priced as a guess...
    for f in &mut targets[0].aws.as_mut().unwrap().functions {
        f.architecture = None;
    }
    let unpriced = stacks::read(
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
    assert!(unpriced.cost.is_none());
    let why = unpriced.cost_error.as_deref().expect("says why");
    assert!(
        why.contains("orders-base") && why.contains("cost.architecture"),
        "{why}"
    );
    assert!(unpriced.window_costs.iter().all(Option::is_none));
    let md = tailgate::report::server_side::markdown(&unpriced).expect("render");
    assert!(md.contains("Cost could not be priced"), "{md}");
    // ...and `cost.architecture` prices it.
    let given = CostModel {
        architecture: Some(Architecture::X86_64),
        ..model
    };
    let priced = stacks::read(
        &clients,
        &targets[0],
        &targets[1],
        &windows,
        &given,
        Some(250.0),
        options,
    )
    .await
    .unwrap();
    assert!(priced.cost_error.is_none());
    assert_eq!(priced.cost.as_ref().unwrap().base.usage.invocations, 4);
    assert_nothing_left(&clients).await;
}
