//! Every string of a results file poisoned, everything rendered from it inert.
//!
//! A results file published from a `workflow_run` was written by a workflow a fork
//! controls. This test takes a rich file (failed checks, hints, `Server-Timing`,
//! cost, Lambda REPORT data, X-Ray calls, warnings, a config note with a diff, a
//! failed-run error), finds every string in its JSON that can hold any text (map
//! keys included), fills all of them with generated hostile text, and checks the
//! comment, the check run's title and summary, the job summary and the annotations:
//! no table breakout, no HTML beyond the template's own tags, no image, no link to
//! another host, no autolink, no mention or issue reference, no line break in an
//! annotation.

mod common;

use std::time::Duration;
use tailgate::results::{
    Acceptance, BaselineNote, FloorNote, FloorSource, HistoryNote, Trend, TrendChange, TrendPoint,
};

use proptest::prelude::*;
use serde_json::Value;
use tailgate::cost::{side_cost, Architecture, CostComparison, Prices, Usage};
use tailgate::judge::verdict::{Check, CheckKind, Level, Metric, Observation};
use tailgate::publish::workflow;
use tailgate::report::{build_view, comment_body, headline_text, render_markdown, COMMENT_LIMIT};
use tailgate::results::RunResults;
use tailgate::results::{ConfigChange, ConfigNote, ConfigOrigin};
use tailgate::server_side::lambda::{LambdaSide, Spread};
use tailgate::server_side::view::{Hint, HintKind};
use tailgate::server_side::xray::DownstreamCall;
use tailgate::server_side::ServerSide;
use tailgate::side::Side;

use common::standin::HEAD_SHA;

/// The one server the report may link to (the file's `server_url` is replaced by
/// the workflow's own in `publish`, so it is left unpoisoned here).
const SERVER: &str = "https://github.com/";

fn lambda(side: Side) -> LambdaSide {
    let spread = |p50_ms, p99_ms| {
        Some(Spread {
            count: 10,
            p50_ms,
            p99_ms,
            max_ms: p99_ms,
        })
    };
    LambdaSide {
        side,
        functions: vec!["orders-fn".into()],
        invocations: 100,
        requests_sent: 101,
        count_mismatch: Some("1 request has no REPORT line".into()),
        outside_rounds: 0,
        rejected_lines: 2,
        cold_starts: 5,
        cold_start_rate: Some(0.05),
        init: spread(900.0, 1200.0),
        warm_duration: spread(20.0, 80.0),
        cold_duration: None,
        billed: spread(21.0, 81.0),
        memory_size_mb: Some(1024),
        max_memory_used_mb: Some(90),
        failed_invocations: 0,
    }
}

fn call(endpoint: &str) -> DownstreamCall {
    DownstreamCall {
        endpoint: endpoint.into(),
        service: "orders-db".into(),
        operation: Some("Query".into()),
        sql: Some("SELECT * FROM t".into()),
        count: 3,
        mean_ms: 12.0,
        max_ms: 30.0,
    }
}

/// A results file with every kind of string the report shows.
fn rich() -> RunResults {
    let mut res = common::measured_results(HEAD_SHA, 4242, 2.1);
    for run in &mut res.endpoints {
        for r in &mut run.rounds {
            match r.side {
                Side::Base => r.data.server_timing("db;dur=1, cache;dur=0.5"),
                Side::Head => r.data.server_timing("db;dur=40, cache;dur=0.5"),
            }
        }
    }
    res.endpoints[0].first_requests.clear();
    let mut usage = Usage {
        requests: 100,
        ..Usage::default()
    };
    for _ in 0..100 {
        usage.add_invocation(Duration::from_millis(100), 1024, Architecture::X86_64);
    }
    let head = side_cost(Side::Head, &[(0, usage)], &Prices::aws_defaults(), None).expect("cost");
    let mut base = head.clone();
    base.side = Side::Base;
    let cost = CostComparison {
        currency: tailgate::cost::Currency::USD,
        monthly_requests: Some(1_000_000),
        source: "Lambda REPORT lines".into(),
        base,
        head,
    };
    res.server = Some(ServerSide {
        lambda: vec![lambda(Side::Base), lambda(Side::Head)],
        cost: Some(cost.clone()),
        head_calls: vec![call("GET /users/42")],
        base_calls: vec![call("GET /orders")],
        hints: vec![Hint {
            kind: HintKind::MemoryOverProvisioned,
            message: "Memory looks over-provisioned".into(),
        }],
        insights: Vec::new(),
        insights_error: Some("AccessDenied".into()),
        cost_error: None,
        window_costs: Vec::new(),
    });
    res.cost = Some(cost);
    res.warnings = vec!["logs unavailable".into()];
    // A check as a v1 file holds it: its limit and reason in words only.
    res.verdict.checks.push(Check {
        endpoint: res.endpoints[0].name.clone(),
        metric: Metric::P99,
        kind: CheckKind::Slo,
        level: Level::Warn,
        observed: Observation::Words {
            limit: "p99 < 1 s".into(),
            reason: "p99 2 s on head breaks the SLO p99 < 1 s".into(),
        },
        words: None,
    });
    // What a history brings: a stored baseline, a trend with a change point,
    // learned floors, a warning; and an accepted regression.
    let point = |commit: &str, p99_ms: f64| TrendPoint {
        commit: commit.into(),
        p99_ms: Some(p99_ms),
        p50_ms: Some(p99_ms / 4.0),
    };
    res.history = Some(HistoryNote {
        store: "s3://perf-history/main".into(),
        branch: "main".into(),
        baseline: Some(BaselineNote {
            commit: common::standin::BASE_SHA.into(),
            wanted: Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c".into()),
            recorded_at: "2026-12-01T10:00:00Z".into(),
            differences: vec!["runner `Linux X64` vs `Linux ARM64`".into()],
        }),
        trends: vec![Trend {
            endpoint: "GET /users/42".into(),
            points: vec![
                point("aaaaaaa1", 40.0),
                point("bbbbbbb2", 41.0),
                point("ccccccc3", 52.0),
            ],
            change: Some(TrendChange {
                metric: Metric::P99,
                commit: "ccccccc3".into(),
                runs_ago: 0,
                change: 0.27,
                floor: Some(tailgate::config::Fraction(0.031)),
            }),
            changes: vec![TrendChange {
                metric: Metric::P99,
                commit: "ccccccc3".into(),
                runs_ago: 0,
                change: 0.27,
                floor: Some(tailgate::config::Fraction(0.031)),
            }],
        }],
        floors: vec![FloorNote {
            endpoint: "GET /users/42".into(),
            metric: Some(Metric::P99),
            floor: tailgate::config::Fraction(0.031),
            learned_from: Some(12),
            source: Some(FloorSource::Deployments),
            deployments: Some(tailgate::config::Fraction(0.031)),
            within_run: Some(tailgate::config::Fraction(0.01)),
        }],
        recorded: Some("runs/main/x.json".into()),
        warnings: vec!["a stored record could not be read".into()],
    });
    // A merged run of two shards, one of its rounds left out.
    let endpoint = res.endpoints[0].name.clone();
    res.shard = Some(tailgate::results::ShardInfo {
        index: None,
        count: 2,
        config_hash: "0".repeat(64),
        profiles: Vec::new(),
        start: None,
        together: Some(tailgate::results::Together {
            start_at: Some("2026-12-01T09:58:00Z".into()),
            min_overlap: 0.95,
            on_target_clock: true,
            shards: (1..=2)
                .map(|index| tailgate::results::ShardClock {
                    index,
                    late_ms: if index == 2 { 1_800 } else { 0 },
                    clock: Some(tailgate::deploy::clock::ClockOffset {
                        offset_ms: 4.0,
                        uncertainty_ms: 19.0,
                        samples: 28,
                    }),
                    correction_ms: 4.0,
                })
                .collect(),
            phases: vec![tailgate::results::PhaseTogether {
                endpoint: endpoint.clone(),
                round: 1,
                side: Side::Base,
                skew_ms: 3.0,
                overlap: 0.991,
                rate: 812.5,
            }],
            dropped: vec![tailgate::results::Dropped {
                endpoint,
                round: 0,
                reason: "shard 2/2 joined late (1.8 s late for the shared start) and did not measure its base side".into(),
            }],
            max_skew_ms: 3.0,
            median_skew_ms: 2.0,
            least_overlap: 0.991,
        }),
    });
    res.acceptance = Some(Acceptance {
        label: "perf-accepted".into(),
        pull_request: 2,
        head_sha: HEAD_SHA.into(),
        accepted_at: "2026-12-01T10:00:00Z".into(),
        failing: vec!["GET /users/42 p99 regressed".into()],
    });
    res.context.config = Some(ConfigNote {
        path: "tailgate.yml".into(),
        read_from: "master".into(),
        sha: Some(common::standin::BASE_SHA.into()),
        via: ConfigOrigin::Git,
        change: ConfigChange::Changed,
        diff: Some("-  p99: +10%\n+  p99: +90%\n".into()),
        head_verdict: None,
    });
    res
}

/// JSON pointers of the strings in `v`, and of the keys of its string-keyed maps.
fn string_paths(v: &Value, at: String, out: &mut Vec<(String, bool)>) {
    match v {
        Value::String(_) => out.push((at, false)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_paths(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                out.push((format!("{at}/{key}"), true));
                string_paths(item, format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
}

/// `v` with the string (or the key) at `path` replaced by `text`.
fn poison(v: &mut Value, path: &str, is_key: bool, text: &str) {
    if is_key {
        let (parent, key) = path.rsplit_once('/').expect("a key path");
        let key = key.replace("~1", "/").replace("~0", "~");
        if let Some(Value::Object(map)) = v.pointer_mut(parent) {
            if let Some(item) = map.remove(&key) {
                map.insert(text.to_string(), item);
            }
        }
    } else if let Some(s) = v.pointer_mut(path) {
        *s = Value::String(text.to_string());
    }
}

/// Paths whose strings any text fits into (not schema ids, enum tags, histograms,
/// numbers in strings, or the server URL).
fn free_paths(base: &Value) -> Vec<(String, bool)> {
    let mut all = Vec::new();
    string_paths(base, String::new(), &mut all);
    let probe = "x <y> @z";
    let mut free = Vec::new();
    for (path, is_key) in all {
        if path == "/schema" || path.ends_with("/server_url") {
            continue;
        }
        let mut v = base.clone();
        poison(&mut v, &path, is_key, probe);
        if v == *base {
            continue;
        }
        if serde_json::from_value::<RunResults>(v).is_ok() {
            free.push((path, is_key));
        }
    }
    free
}

/// `line` without its code spans (CommonMark: a run of n backticks up to the next
/// run of exactly n) and without backslash-escaped characters.
fn prose(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() => i += 2,
            '`' => {
                let n = chars[i..].iter().take_while(|c| **c == '`').count();
                let mut j = i + n;
                let mut close = None;
                while j < chars.len() {
                    if chars[j] == '`' {
                        let m = chars[j..].iter().take_while(|c| **c == '`').count();
                        if m == n {
                            close = Some(j + m);
                            break;
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                }
                match close {
                    Some(end) => i = end,
                    None => {
                        out.extend(std::iter::repeat_n('`', n));
                        i += n;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Unescaped `|` of a table row (GFM splits cells on them, in code spans too). A
/// pipe counts as escaped only when both readings agree: right after a backslash
/// (cmark-gfm's cell scanner) and after an odd run of backslashes (CommonMark's
/// backslash escapes); anything else is counted as a cell boundary.
fn cells(line: &str) -> usize {
    let mut n = 0;
    let mut run = 0;
    for c in line.chars() {
        match c {
            '\\' => run += 1,
            '|' => {
                if run % 2 == 0 {
                    n += 1;
                }
                run = 0;
            }
            _ => run = 0,
        }
    }
    n
}

const TAGS: [&str; 8] = [
    "<details>",
    "</details>",
    "<summary>",
    "</summary>",
    "<sub>",
    "</sub>",
    "<br>",
    "<!-- tailgate:comment ",
];

/// What is wrong with `md` as markdown for GitHub, if anything.
fn hostile_constructs(md: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lines: Vec<&str> = md.lines().collect();
    let mut in_fence = false;
    let mut table: Option<usize> = None;
    for (no, line) in lines.iter().enumerate() {
        if no + 1 == lines.len() && line.starts_with("<!-- tailgate:comment ") {
            // The marker: an HTML comment GitHub does not render, which must end
            // only where it ends.
            let inner = &line[4..line.len().saturating_sub(3)];
            if inner.contains("--") || !line.ends_with(" -->") {
                found.push(format!("a marker that ends early: {line}"));
            }
            continue;
        }
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if line.starts_with('|') {
            let n = cells(line);
            match table {
                None => table = Some(n),
                Some(m) if m != n => found.push(format!("table breakout on line {no}: {line}")),
                Some(_) => {}
            }
        } else {
            table = None;
        }
        let text = prose(line);
        let mut rest = text.as_str();
        while let Some(at) = rest.find('<') {
            let tail = &rest[at..];
            if !TAGS.iter().any(|t| tail.starts_with(t)) {
                found.push(format!("HTML on line {no}: {line}"));
            }
            if tail.starts_with("<!--") {
                found.push(format!("an HTML comment before the end, line {no}: {line}"));
            }
            rest = &tail[1..];
        }
        if text.contains("![") {
            found.push(format!("an image on line {no}: {line}"));
        }
        for (at, _) in text.match_indices("](") {
            if !text[at + 2..].starts_with(SERVER) {
                found.push(format!("a link elsewhere on line {no}: {line}"));
            }
        }
        for scheme in ["http://", "https://", "www."] {
            for (at, _) in text.match_indices(scheme) {
                let linked = text[..at].ends_with("](") && text[at..].starts_with(SERVER);
                if !linked {
                    found.push(format!("an autolink on line {no}: {line}"));
                }
            }
        }
        let chars: Vec<char> = text.chars().collect();
        for w in chars.windows(2) {
            if w[0] == '@' && w[1].is_alphanumeric() {
                found.push(format!("a mention on line {no}: {line}"));
            }
            if w[0] == '#' && w[1].is_ascii_digit() {
                found.push(format!("an issue reference on line {no}: {line}"));
            }
        }
    }
    found
}

fn hostile_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("|".to_string()),
        Just("\n".to_string()),
        Just("\r\n| a | b |\n".to_string()),
        Just("<img src=x onerror=alert(1)>".to_string()),
        Just("<details open>".to_string()),
        Just("<!-- x -->".to_string()),
        Just("-->".to_string()),
        Just("@octocat".to_string()),
        Just("#12".to_string()),
        Just("[click](https://evil.example/)".to_string()),
        Just("![i](https://evil.example/i.png)".to_string()),
        Just("https://evil.example/x".to_string()),
        Just("www.evil.example".to_string()),
        Just("`".to_string()),
        Just("``".to_string()),
        Just("\\".to_string()),
        Just("&lt;b&gt;".to_string()),
        Just("\n```\n".to_string()),
        Just("\u{0}\u{1b}[31m".to_string()),
        Just("::error::forged".to_string()),
        "[ a-z0-9]{0,6}",
    ]
}

fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_piece(), 1..8).prop_map(|p| p.concat())
}

/// Everything published from `res`: comment, check title and summary, job summary.
fn rendered(res: &RunResults) -> Vec<(&'static str, String)> {
    let markdown = render_markdown(&build_view(res)).expect("render");
    vec![
        ("comment", comment_body(res, &markdown)),
        ("check summary", comment_body(res, &markdown)),
        ("job summary", markdown),
    ]
}

#[test]
fn the_rich_file_renders_every_part_cleanly() {
    let res = rich();
    // Its whole comment (server side, cost, history, acceptance) pinned word for
    // word (insta ignores trailing newlines: their count is pinned apart).
    let markdown = render_markdown(&build_view(&res)).expect("render");
    insta::assert_snapshot!("rich_comment", markdown);
    assert_eq!(
        markdown.len(),
        markdown.trim_end().len(),
        "no trailing newline"
    );
    for (what, md) in rendered(&res) {
        assert_eq!(
            hostile_constructs(&md),
            Vec::<String>::new(),
            "{what}:\n{md}"
        );
        for part in [
            "Server-Timing",
            "Lambda (from REPORT lines)",
            "Hints",
            "X-Ray",
            "Cost (",
        ] {
            assert!(md.contains(part), "{what} lacks {part}:\n{md}");
        }
    }
    let (_, free) = fixture();
    assert!(free.len() > 40, "poisons {} strings", free.len());
    // The fields the report shows from outside are among them.
    for field in [
        "/reason",
        "/message",
        "/source",
        "/endpoint",
        "/profile",
        "/count_mismatch",
    ] {
        assert!(
            free.iter().any(|(p, _)| p.ends_with(field)),
            "{field} is poisoned"
        );
    }
}

/// The rich file as JSON and its free string paths, found once.
fn fixture() -> &'static (Value, Vec<(String, bool)>) {
    static FIXTURE: std::sync::OnceLock<(Value, Vec<(String, bool)>)> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let base = serde_json::to_value(rich()).expect("json");
        let free = free_paths(&base);
        (base, free)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_string_poisoned_renders_inert(text in hostile(), rotate in 0usize..7) {
        let (base, free) = fixture();
        let free = free.clone();
        let mut v = base.clone();
        // Keys last: a poisoned key moves its value, whose paths were found first.
        let (keys, values): (Vec<_>, Vec<_>) = free.into_iter().partition(|(_, k)| *k);
        for (i, (path, is_key)) in values.iter().chain(keys.iter()).enumerate() {
            // Different fields get different rotations of the text, so that pieces
            // meet across field boundaries too.
            let cut = text
                .char_indices()
                .nth((i + rotate) % text.chars().count().max(1))
                .map_or(0, |(b, _)| b);
            let piece = format!("{}{}", &text[cut..], &text[..cut]);
            poison(&mut v, path, *is_key, &piece);
        }
        let poisoned: RunResults = serde_json::from_value(v).expect("still a results file");
        for (what, md) in rendered(&poisoned) {
            let bad = hostile_constructs(&md);
            prop_assert!(bad.is_empty(), "{}: {:?}\n{}", what, bad, md);
            prop_assert!(md.chars().count() <= COMMENT_LIMIT || what == "job summary");
        }
        let title = headline_text(&poisoned);
        prop_assert!(!title.contains('\n') && hostile_constructs(&title).is_empty(), "{}", title);
        for line in workflow::annotations(&poisoned) {
            prop_assert!(!line.contains('\n') && !line.contains('\r'), "{}", line);
            prop_assert!(line.starts_with("::error ") || line.starts_with("::warning "), "{}", line);
        }
    }
}

#[test]
fn a_huge_marker_and_labels_still_fit_in_one_comment() {
    let mut res = rich();
    let long = "tailgate-".repeat(50_000);
    res.settings.config_source = long.clone();
    if let Some(note) = &mut res.context.config {
        note.path = long.clone();
    }
    res.context.head_sha = Some(long.clone());
    res.context.base_label = long.clone();
    res.context.head_label = long;
    let markdown = render_markdown(&build_view(&res)).expect("render");
    let body = comment_body(&res, &markdown);
    assert!(
        body.chars().count() <= COMMENT_LIMIT,
        "{}",
        body.chars().count()
    );
    let last = body.lines().last().expect("a marker line");
    assert!(
        last.starts_with("<!-- tailgate:comment config=tailgate-"),
        "{last}"
    );
    assert!(last.ends_with(" -->"));
    assert!(last.len() < 4096, "the marker is bounded: {}", last.len());
}
