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

/// A config whose own load would run for a minute per endpoint after a warm-up.
fn slow_config(dir: &std::path::Path, load: &str) -> std::path::PathBuf {
    let path = dir.join("tailgate.yml");
    std::fs::write(
        &path,
        format!(
            "deploy:\n  url:\n    base: \"http://127.0.0.1:1\"\n    head: \"http://127.0.0.1:2\"\n\
             load: {load}\nendpoints:\n  - name: hello\n    path: /hello\n"
        ),
    )
    .expect("write config");
    path
}

fn bench_json(args: &[&str], json: &std::path::Path) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--json", json.to_str().expect("utf-8 path")]);
    let out = tailgate(&all);
    assert!(
        out.status.success(),
        "{all:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(json).expect("json written")).expect("valid JSON")
}

#[test]
fn with_a_config_the_load_flags_override_every_endpoints_load() {
    let server = Server::start(Behavior::Ok);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = slow_config(
        dir.path(),
        "{ connections: 2, duration: 60s, warmup: 5s, timeout: 30s }",
    );
    let config = config.to_str().expect("utf-8 path");
    let json = dir.path().join("out.json");
    let target = server.base_url();

    // -d, -r, -c and --warmup replace the config's load.
    let v = bench_json(
        &[
            "bench", "--config", config, "--target", &target, "-d", "300ms", "-r", "50", "-c", "3",
            "--warmup", "0s",
        ],
        &json,
    );
    let e = &v["endpoints"][0];
    let profile = e["profile"].as_str().expect("profile");
    for needle in [
        "open loop at 50 req/s",
        "up to 3 connections",
        "300 ms per round",
        "no warm-up",
    ] {
        assert!(profile.contains(needle), "no `{needle}` in `{profile}`");
    }
    let seconds = e["phases"][0]["seconds"].as_f64().expect("seconds");
    assert!(seconds < 30.0, "the config's 60 s ran: {seconds} s");

    // -n alone: the request count is the stopping rule, not the config's 60 s.
    let v = bench_json(
        &[
            "bench", "--config", config, "--target", &target, "-n", "40", "--warmup", "0s",
        ],
        &json,
    );
    let e = &v["endpoints"][0];
    let profile = e["profile"].as_str().expect("profile");
    assert!(profile.contains("closed loop, 2 connections"), "{profile}");
    assert!(!profile.contains("60 s"), "{profile}");
    assert_eq!(e["phases"][0]["ok"], 40);
}

#[test]
fn with_a_config_a_flag_that_cannot_apply_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let closed = slow_config(dir.path(), "{ connections: 2 }");
    let closed = closed.to_str().expect("utf-8 path");
    let target = "http://127.0.0.1:1";
    for (args, flag) in [
        (vec!["-m", "POST"], "--method"),
        (vec!["-H", "x: 1"], "--header"),
        (vec!["-b", "{}"], "--body"),
        (vec!["--expect-status", "204"], "--expect-status"),
        (vec!["--ladder", "1,2"], "--ladder"),
    ] {
        let mut all = vec!["bench", "--config", closed, "--target", target];
        all.extend(args.iter().copied());
        let out = tailgate(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(stderr.contains(flag), "{all:?}: no `{flag}` in {stderr}");
    }
    let ladder = dir.path().join("ladder.yml");
    std::fs::write(
        &ladder,
        "deploy:\n  url:\n    base: \"http://127.0.0.1:1\"\n    head: \"http://127.0.0.1:2\"\n\
         load: { ladder: [1, 2] }\nendpoints:\n  - path: /\n",
    )
    .expect("write config");
    let ladder = ladder.to_str().expect("utf-8 path");
    for (flag, value) in [("-r", "10"), ("-c", "4")] {
        let out = tailgate(&["bench", "--config", ladder, "--target", target, flag, value]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        let name = if flag == "-r" {
            "--rate"
        } else {
            "--connections"
        };
        assert!(stderr.contains(name), "{flag}: {stderr}");
    }
}
