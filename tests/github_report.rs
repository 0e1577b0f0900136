//! The verdict comment, snapshot-tested: the full view with the config note and
//! `Server-Timing`, hostile user strings, the short view over GitHub's limit, and a
//! failed run.

mod common;

use std::time::Duration;

use tailgate::bench::{EndpointRun, Recorder, RoundRecord};
use tailgate::judge::verdict::{Level, Verdict};
use tailgate::report::{build_view, comment_body, render_markdown, Marker, COMMENT_LIMIT};
use tailgate::results::RunResults;
use tailgate::results::{ConfigChange, ConfigNote, ConfigOrigin};
use tailgate::side::Side;

use common::standin::HEAD_SHA;

/// Rounds with `Server-Timing` sums: base spends its time in `cache`, head in `db`
/// (46 ms more per request, and slower by as much).
fn run_with_timings(name: &str) -> EndpointRun {
    let mut rounds = Vec::new();
    for round in 0..4 {
        for (position, side) in Side::BOTH.into_iter().enumerate() {
            let mut data = Recorder::default();
            let latency = match side {
                Side::Base => 5_000 + 100 * u64::from(round),
                Side::Head => 51_000 + 300 * u64::from(3 - round),
            };
            for _ in 0..100 {
                data.success(Duration::from_micros(latency), 0);
                data.status(200);
                match side {
                    Side::Base => data.server_timing("cache;dur=0.3, db;dur=0.4"),
                    Side::Head => data.server_timing(&format!(
                        "db;dur={}, <b>x</b>|y;dur=1",
                        45.55 + 0.3 * f64::from(round)
                    )),
                }
            }
            rounds.push(RoundRecord::new(
                round,
                side,
                position as u8,
                Duration::from_secs(1),
                data,
            ));
        }
    }
    EndpointRun {
        name: name.into(),
        method: "GET".into(),
        path: "/users/42".into(),
        profile: "closed loop, 8 connections, 750 ms per round; warm-up 400 ms".into(),
        rounds,
        first_requests: Vec::new(),
        stop: None,
        missed: Vec::new(),
    }
}

fn failing() -> RunResults {
    let mut results = common::results(HEAD_SHA, 4242, 2.1);
    results.endpoints = vec![run_with_timings("GET /users/42")];
    results.context.config = Some(ConfigNote {
        path: "tailgate.yml".into(),
        read_from: "master".into(),
        sha: Some(common::standin::BASE_SHA.into()),
        via: ConfigOrigin::Git,
        change: ConfigChange::Changed,
        diff: Some("--- a/tailgate.yml (base)\n+++ b/tailgate.yml (this PR)\n@@ -1,3 +1,3 @@\n budget:\n-  p99: +10%\n+  p99: +300%\n".into()),
        head_verdict: Some(Level::Pass),
    });
    results
}

#[test]
fn full_comment() {
    let markdown = render_markdown(&build_view(&failing())).expect("render");
    insta::assert_snapshot!("full_comment", markdown);
    let marker = Marker::parse(&markdown).expect("marker");
    assert_eq!(marker.run, Some(4242));
    assert_eq!(marker.head.as_deref(), Some(HEAD_SHA));
    assert_eq!(marker.verdict.as_deref(), Some("fail"));
}

#[test]
fn the_why_is_said_once_per_endpoint_and_explains_improvements_too() {
    let mut results = failing();
    // A second failing check of the same endpoint: the Why is not repeated.
    let mut second = results
        .verdict
        .checks
        .iter()
        .find(|c| c.level == Level::Fail)
        .expect("a failing check")
        .clone();
    second.metric = tailgate::judge::verdict::Metric::P95;
    results.verdict.checks.push(second);
    // `GET /orders` improved: its `db` went the other way (46 ms -> 0.4 ms).
    let mut orders = run_with_timings("GET /orders");
    for r in &mut orders.rounds {
        r.side = r.side.other();
    }
    results.endpoints.push(orders);
    let view = build_view(&results);
    let whys: Vec<_> = view.findings.iter().filter(|f| f.why.is_some()).collect();
    assert_eq!(whys.len(), 2, "{:#?}", view.findings);
    assert!(whys[0].text.contains("GET /users/42"), "{:?}", whys[0].text);
    assert!(whys[1].text.contains("GET /orders") && whys[1].text.contains("improved"));
    let faster = whys[1].why.as_ref().unwrap();
    assert_eq!(faster.causes[0].metric, "db");
    assert!(faster.causes[0].change.starts_with('−'), "{faster:?}");
    let markdown = render_markdown(&view).expect("render");
    assert_eq!(markdown.matches("↳ Why").count(), 2, "{markdown}");
}

#[test]
fn passing_comment() {
    let results = common::results(HEAD_SHA, 4243, 1.0);
    let markdown = render_markdown(&build_view(&results)).expect("render");
    insta::assert_snapshot!("passing_comment", markdown);
}

#[test]
fn hostile_strings_are_inert() {
    let hostile = "GET /x|y `z` @octocat <img src=x onerror=alert(1)> [a](https://evil)";
    let mut results = common::results(HEAD_SHA, 1, 2.1);
    results.comparisons[1].endpoint = hostile.into();
    for check in &mut results.verdict.checks {
        if check.endpoint == "GET /users/42" {
            check.endpoint = hostile.into();
        }
    }
    results.context.base_label = "main`@evil <script>".into();
    let markdown = render_markdown(&build_view(&results)).expect("render");
    insta::assert_snapshot!("hostile_strings", markdown);
    // Every occurrence of the name is inside a code span, with `|` escaped in the
    // table, so no HTML, mention or link can come alive.
    for line in markdown
        .lines()
        .filter(|l| l.contains("octocat") && !l.starts_with("    x-axis"))
    {
        assert!(line.contains("`GET /x"), "{line}");
        assert!(!line.contains("`z`"), "backticks are neutralised: {line}");
    }
    assert!(
        markdown.contains("| `GET /x\\|y 'z' @octocat"),
        "{markdown}"
    );
    assert!(
        markdown.contains("\"GET /x|y 'z' @octocat ‹img src=x onerror=alert(1)›"),
        "mermaid label: {markdown}"
    );
}

#[test]
fn failed_run_escapes_its_error() {
    let mut results = common::results(HEAD_SHA, 2, 1.0);
    results.comparisons.clear();
    results.verdict = Verdict::error(
        tailgate::config::Mode::Blocking,
        "deploying head failed: `npm start` exited 1\n@maintainers <b>help</b> #12",
    );
    let markdown = render_markdown(&build_view(&results)).expect("render");
    insta::assert_snapshot!("failed_run", markdown);
    assert!(!markdown.contains("@maintainers") && !markdown.contains("<b>"));
}

#[test]
fn over_the_limit_a_short_view_fits() {
    let mut results = common::results(HEAD_SHA, 3, 1.0);
    let template = results.comparisons[2].clone();
    for i in 0..1500 {
        let mut c = template.clone();
        c.endpoint = format!("GET /items/{i:04}/a-rather-long-path/with/segments");
        results.comparisons.push(c);
    }
    let config = tailgate::demo::demo_config(tailgate::config::DeployConfig::Url {
        base: "http://127.0.0.1:1".into(),
        head: "http://127.0.0.1:2".into(),
        ready: tailgate::config::RemoteReady::default(),
    });
    results.verdict = tailgate::judge::verdict::decide(&config, &results.comparisons);
    let markdown = render_markdown(&build_view(&results)).expect("render");
    assert!(
        markdown.chars().count() > COMMENT_LIMIT,
        "the test needs a long report"
    );
    let body = comment_body(&results, &markdown);
    assert!(
        body.chars().count() <= COMMENT_LIMIT,
        "{}",
        body.chars().count()
    );
    assert!(body.contains("Shortened to fit GitHub's limit"), "{body}");
    assert!(
        body.contains("`GET /users/42`"),
        "the failing endpoint comes first"
    );
    assert!(!body.contains("```mermaid"));
    assert_eq!(
        Marker::parse(&body),
        Marker::parse(&markdown),
        "same marker"
    );
    // Under the limit, the full report is the comment.
    let small = common::results(HEAD_SHA, 3, 1.0);
    let full = render_markdown(&build_view(&small)).expect("render");
    assert_eq!(comment_body(&small, &full), full);
}

#[test]
fn a_ladder_shows_the_step_each_side_holds_its_slo_up_to() {
    let mut results = common::results(HEAD_SHA, 4242, 1.0);
    // p99 grows with the step; head is 1.5x slower: the SLO (p99 < 50 ms) breaks
    // one step earlier on head.
    let steps = [(10, 20.0), (50, 30.0), (100, 45.0), (200, 80.0)];
    results.comparisons = steps
        .iter()
        .map(|(c, p99)| common::endpoint(&format!("orders @ {c} connections"), *p99, 1.5))
        .collect();
    let mut limit = results.limits[0].clone();
    limit.slo = tailgate::config::Slo {
        p99: Some(Duration::from_millis(50)),
        ..Default::default()
    };
    results.limits = steps
        .iter()
        .map(|(c, _)| tailgate::judge::verdict::EndpointLimits {
            name: format!("orders @ {c} connections"),
            ..limit.clone()
        })
        .collect();
    let md = render_markdown(&build_view(&results)).expect("render");
    assert!(
        md.contains("| `orders` | 100 connections | 50 connections 🔻 |"),
        "{md}"
    );
}

/// Rounds measured by a saturated client (issue 21, part 2) are said on their
/// endpoint in the comment; unmeasured or idle generators say nothing.
#[test]
fn a_saturated_generator_is_said_on_its_endpoint() {
    let mut results = failing();
    let quiet = render_markdown(&build_view(&results)).expect("render");
    assert!(!quiet.contains("load generator"), "{quiet}");
    for (i, round) in results.endpoints[0].rounds.iter_mut().enumerate() {
        round.generator_cpu = Some(if i % 2 == 0 { 0.99 } else { 0.4 });
    }
    let markdown = render_markdown(&build_view(&results)).expect("render");
    assert!(
        markdown.contains(
            "⚠️ `GET /users/42`: the load generator used 99 % of its core in 4 of 8 rounds\\: latencies include its own queueing."
        ),
        "{markdown}"
    );
}
