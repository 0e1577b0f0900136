//! The servers users run (issue 21): real uvicorn (`--timeout-keep-alive 1`)
//! and real Node (`http` and express, `server.keepAliveTimeout = 1000`) on
//! 127.0.0.1, measured in rounds with pauses longer than their keep-alive
//! timeout, as a run's base and head rounds leave each side's connections idle.
//! Every connection the engine kept is closed by the server in between; not one
//! request may fail for it.
//!
//! The servers are installed by `.ci/servers-setup.sh` (`scripts/test.sh` sources
//! it and sets `TAILGATE_REQUIRE_SERVERS=1`, which turns a missing server into a
//! failure); without that variable a missing server skips its test with a note.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tailgate::bench::{Engine, Pacing, Recorder, RequestPlan, Schedule, TargetSpec, TlsOptions};
use tailgate::config::{Endpoint, HttpVersion, Load, Profile};

/// A server process of ours, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A tool is missing: a failure when `TAILGATE_REQUIRE_SERVERS` is set, a
/// skip (with a note) otherwise.
fn missing(what: &str) {
    let msg = format!("{what} is not installed (run .ci/servers-setup.sh)");
    if std::env::var_os("TAILGATE_REQUIRE_SERVERS").is_some() {
        panic!("{msg}; TAILGATE_REQUIRE_SERVERS is set, so this is a failure");
    }
    eprintln!("skipped: {msg}");
}

/// Start `cmd` and wait for the line in its output that names its port
/// (`find` returns it); the port on 127.0.0.1.
fn start(mut cmd: Command, stderr: bool, find: fn(&str) -> Option<u16>) -> (Process, u16) {
    if stderr {
        cmd.stderr(Stdio::piped()).stdout(Stdio::null());
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    }
    let mut child = cmd.stdin(Stdio::null()).spawn().expect("start the server");
    let out: Box<dyn std::io::Read + Send> = if stderr {
        Box::new(child.stderr.take().expect("its stderr"))
    } else {
        Box::new(child.stdout.take().expect("its stdout"))
    };
    let process = Process(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            eprintln!("  server: {line}");
            if !sent {
                if let Some(port) = find(&line) {
                    let _ = tx.send(port);
                    sent = true;
                }
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server says where it listens within 30 s");
    (process, port)
}

fn endpoint() -> Endpoint {
    Endpoint {
        name: "GET /".into(),
        method: http::Method::GET,
        path: "/".into(),
        headers: http::HeaderMap::new(),
        body: None,
        expect_status: Vec::new(),
        items: Vec::new(),
        load: Load {
            profile: Profile::Closed { connections: 4 },
            duration: None,
            requests: None,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(5),
            http: HttpVersion::Http1,
        },
        slo: Default::default(),
        budget: Default::default(),
    }
}

/// 3 closed-loop rounds of 200 requests on 4 connections, then an open loop at
/// 20 req/s for 1 s (each connection idle between its requests), with pauses of
/// 1.5 s (longer than the 1 s keep-alive) between them.
async fn rounds(url: &str) -> Recorder {
    const TIMEOUT: Duration = Duration::from_secs(5);
    let engine = Engine::new(2).expect("generator threads");
    let target = TargetSpec::resolve(url, HttpVersion::Http1, &TlsOptions::default())
        .await
        .expect("the target resolves");
    let plan = RequestPlan::new(&endpoint(), &target, Vec::new(), None).expect("the request plan");
    let mut all = Recorder::default();
    let closed = (Pacing::Closed, None, Some(200));
    let open = (
        Pacing::Open { rate: 20.0 },
        Some(Duration::from_secs(1)),
        None,
    );
    for (pacing, duration, requests) in [closed, closed, closed, open] {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let schedule = Arc::new(Schedule::new(pacing, duration, requests, TIMEOUT));
        let outcome = engine.run_phase(&target, &plan, schedule, 4, TIMEOUT).await;
        all.merge(&outcome.recorder);
    }
    all
}

fn check(name: &str, r: &Recorder) {
    eprintln!(
        "{name}: ok {}, errors {:?}, reconnects {}, replays {}",
        r.ok, r.errors, r.reconnects, r.replays
    );
    assert_eq!(r.error_count(), 0, "{name}: {:?}", r.errors);
    assert_eq!(r.ok, 620, "{name}");
    assert!(
        r.reconnects > 0,
        "{name}: the server closed the idle connections"
    );
}

fn python() -> Option<PathBuf> {
    let ok = Command::new("python3")
        .args(["-c", "import uvicorn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| PathBuf::from("python3"))
}

#[tokio::test]
async fn uvicorn_closing_idle_connections_costs_no_error() {
    let Some(py) = python() else {
        return missing("uvicorn (python3 -m pip install uvicorn)");
    };
    let mut cmd = Command::new(py);
    cmd.current_dir(repo().join("tests/python")).args([
        "-m",
        "uvicorn",
        "app:app",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--timeout-keep-alive",
        "1",
        "--no-access-log",
    ]);
    let (_server, port) = start(cmd, true, |line| {
        let rest = line.split("running on http://127.0.0.1:").nth(1)?;
        rest.split_whitespace().next()?.parse().ok()
    });
    let r = rounds(&format!("http://127.0.0.1:{port}")).await;
    check("uvicorn", &r);
}

#[tokio::test]
async fn node_closing_idle_connections_costs_no_error() {
    let node_dir = repo().join("tests/node");
    let has_node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_node {
        return missing("node");
    }
    if !node_dir.join("node_modules/express").is_dir() {
        return missing("express (npm ci in tests/node)");
    }
    for kind in ["http", "express"] {
        let mut cmd = Command::new("node");
        cmd.current_dir(&node_dir).args(["server.js", kind]);
        let (_server, port) = start(cmd, false, |line| {
            line.strip_prefix("listening on ")?.trim().parse().ok()
        });
        let r = rounds(&format!("http://127.0.0.1:{port}")).await;
        check(&format!("node {kind}"), &r);
    }
}
