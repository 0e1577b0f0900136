//! `tailgate bench` as a binary against servers on 127.0.0.1: the wrk-style
//! summary, the JSON results and their schema, the ladder's finding, and usage
//! errors. Assertions are about behaviour, never about speed.

#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::time::Duration;

use servers::{Behavior, Server};
use tailgate::bench::standalone::{BenchReport, BENCH_SCHEMA};

fn tailgate(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tailgate"))
        .args(args)
        .output()
        .expect("run tailgate")
}

#[test]
fn bench_binary_prints_a_wrk_style_summary_and_writes_json() {
    let server = Server::start(Behavior::Ok);
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("out.json");
    let url = format!("{}/hello", server.base_url());
    let out = tailgate(&[
        "bench",
        &url,
        "-c",
        "4",
        "-n",
        "500",
        "-H",
        "x-test: 1",
        "--json",
        json.to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "closed loop, 4 connections",
        "Latency distribution",
        "99%",
        "500 requests in",
        "Requests/sec:",
        "Status codes: 200: 500",
        "First request:",
    ] {
        assert!(stdout.contains(needle), "no `{needle}` in:\n{stdout}");
    }
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid JSON");
    assert_eq!(v["schema"], BENCH_SCHEMA);
    assert_eq!(v["schema"], "tailgate.bench/v1");
    assert_eq!(v["url"], server.base_url());
    let e = &v["endpoints"][0];
    assert!(e["profile"]
        .as_str()
        .is_some_and(|s| s.starts_with("closed loop")));
    let p = &e["phases"][0];
    assert_eq!(p["ok"], 500);
    assert_eq!(p["statuses"]["200"], 500);
    for key in ["p50", "p90", "p95", "p99", "p999", "max", "mean", "stdev"] {
        assert!(p["latency"][key].is_f64(), "latency.{key} in {p}");
    }
    for key in ["requests_per_sec", "seconds"] {
        assert!(p[key].is_f64(), "{key} in {p}");
    }
    assert!(p["timeline"].is_array());
    // The JSON reads back into the report type.
    let _: BenchReport = serde_json::from_value(v.clone()).expect("the schema round-trips");
}

/// A rate ladder against a server that takes 20 ms per request over one
/// connection (about 45 req/s at most): 10 req/s meets a 100 ms p99, 200 req/s
/// queues far past it.
#[test]
fn bench_binary_ladder_names_the_highest_step_meeting_the_slo() {
    let server = Server::start(Behavior::Delays {
        fast: Duration::from_millis(20),
        slow_fraction: 0.0,
        slow: (Duration::ZERO, Duration::ZERO),
    });
    let url = format!("{}/", server.base_url());
    let out = tailgate(&[
        "bench",
        &url,
        "-c",
        "1",
        "-d",
        "1s",
        "-t",
        "1s",
        "--rate-ladder",
        "10,200",
        "--slo-p99",
        "100ms",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("meets the SLO"), "{stdout}");
    assert!(stdout.contains("breaks the SLO"), "{stdout}");
    let best = stdout
        .lines()
        .find(|l| l.contains("Highest step meeting p99 < 100"))
        .unwrap_or_else(|| panic!("no ladder finding in:\n{stdout}"));
    assert!(best.trim_end().ends_with(": 10"), "{best}");
}

#[test]
fn bench_binary_rejects_bad_flags_with_exit_2() {
    for args in [
        vec!["bench"],
        vec!["bench", "http://127.0.0.1:1/", "-d", "banana"],
        vec!["bench", "http://127.0.0.1:1/", "-r", "-5"],
        vec!["bench", "http://127.0.0.1:1/", "--rate-ladder", "10,0"],
        vec!["bench", "http://127.0.0.1:1/", "--rate-ladder", "NaN"],
        vec!["bench", "http://127.0.0.1:1/", "-H", "no colon"],
        vec!["bench", "http://127.0.0.1:1/", "-m", "GE T"],
        vec!["bench", "http://127.0.0.1:1/", "--no-such-flag"],
        vec!["bench", "not a url"],
    ] {
        let out = tailgate(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn more_connections_than_a_low_soft_open_files_limit() {
    // A desktop's soft limit is often 1,024; here 64, with 200 connections. The
    // bench raises its soft limit to the hard one, so no request fails to connect.
    let hard = std::process::Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .expect("sh");
    let hard: u64 = String::from_utf8_lossy(&hard.stdout)
        .trim()
        .parse()
        .unwrap_or(u64::MAX);
    if hard < 400 {
        eprintln!("skipped: the hard limit of open files is {hard}");
        return;
    }
    let server = Server::start(Behavior::Ok);
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("out.json");
    let script = format!(
        "ulimit -Sn 64 && exec \"$0\" bench {}/ -c 200 -n 4000 --json {}",
        server.base_url(),
        json.display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_tailgate")])
        .output()
        .expect("run tailgate under a low limit");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid JSON");
    let p = &v["endpoints"][0]["phases"][0];
    assert_eq!(p["ok"], 4000, "no request may fail to connect: {p}");
}
