//! The servers users run (issue 21), on 127.0.0.1, measured in rounds with
//! pauses longer than their keep-alive timeout, as a run's base and head rounds
//! leave each side's connections idle. Every connection the engine kept is closed
//! by the server in between, and some servers also close after a number of
//! requests or after every answer; not one request may fail for it.
//!
//! - uvicorn (`--timeout-keep-alive 1`);
//! - Node `http` and express (`server.keepAliveTimeout = 1000`), and express
//!   capped at 100 requests per connection (`maxRequestsPerSocket`);
//! - gunicorn's sync worker (`Connection: close` on every answer) and its gthread
//!   worker (`--keep-alive 1`);
//! - nginx (`keepalive_timeout 1s`, `keepalive_requests 100`) over HTTP/1.1 and
//!   over HTTP/2 (h2c), where it ends connections with `GOAWAY`.
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

fn endpoint(http: HttpVersion) -> Endpoint {
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
            http,
        },
        slo: Default::default(),
        budget: Default::default(),
    }
}

/// A closed-loop round of 1,000 requests on 4 connections (250 on each: past a
/// cap of 100 requests per connection, twice), 2 rounds of 200, then an open
/// loop at 20 req/s for 1 s (each connection idle between its requests), with
/// pauses of 1.5 s (longer than the 1 s keep-alive) between them: 1,420
/// requests.
async fn rounds(url: &str) -> Recorder {
    rounds_over(url, HttpVersion::Http1).await
}

async fn rounds_over(url: &str, version: HttpVersion) -> Recorder {
    const TIMEOUT: Duration = Duration::from_secs(5);
    let engine = Engine::new(2).expect("generator threads");
    let target = TargetSpec::resolve(url, version, &TlsOptions::default())
        .await
        .expect("the target resolves");
    let plan =
        RequestPlan::new(&endpoint(version), &target, Vec::new(), None).expect("the request plan");
    let mut all = Recorder::default();
    let long = (Pacing::Closed, None, Some(1000));
    let closed = (Pacing::Closed, None, Some(200));
    let open = (
        Pacing::Open { rate: 20.0 },
        Some(Duration::from_secs(1)),
        None,
    );
    for (pacing, duration, requests) in [long, closed, closed, open] {
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
    assert_eq!(r.ok, 1420, "{name}");
    assert!(
        r.reconnects > 0,
        "{name}: the server closed the idle connections"
    );
}

/// A free port on 127.0.0.1 for a server that cannot be told port 0 (nginx).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
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
    for kind in ["http", "express", "capped"] {
        let mut cmd = Command::new("node");
        cmd.current_dir(&node_dir).args(["server.js", kind]);
        let (_server, port) = start(cmd, false, |line| {
            line.strip_prefix("listening on ")?.trim().parse().ok()
        });
        let r = rounds(&format!("http://127.0.0.1:{port}")).await;
        check(&format!("node {kind}"), &r);
    }
}

fn has_python_module(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// gunicorn as people deploy Flask and Django: the default sync worker answers
/// every request with `Connection: close` (it keeps no connection), and the
/// gthread worker keeps them for `--keep-alive` seconds.
#[tokio::test]
async fn gunicorn_closing_after_every_answer_or_when_idle_costs_no_error() {
    if !has_python_module("gunicorn") {
        return missing("gunicorn (python3 -m pip install gunicorn)");
    }
    for (name, worker) in [
        ("gunicorn sync", &["--worker-class", "sync"][..]),
        (
            "gunicorn gthread",
            &[
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--keep-alive",
                "1",
            ][..],
        ),
    ] {
        let mut cmd = Command::new("python3");
        cmd.current_dir(repo().join("tests/python"))
            .args(["-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1"])
            .args(worker)
            .arg("wsgi:app");
        let (_server, port) = start(cmd, true, |line| {
            let rest = line.split("Listening at: http://127.0.0.1:").nth(1)?;
            rest.split_whitespace().next()?.parse().ok()
        });
        let r = rounds(&format!("http://127.0.0.1:{port}")).await;
        if name == "gunicorn sync" {
            // No connection outlives its answer: nothing is found closed later.
            eprintln!("{name}: ok {}, errors {:?}", r.ok, r.errors);
            assert_eq!(r.error_count(), 0, "{name}: {:?}", r.errors);
            assert_eq!(r.ok, 1420, "{name}");
            assert_eq!(
                r.replays, 0,
                "{name}: Connection: close is honoured, not discovered"
            );
        } else {
            check(name, &r);
        }
    }
}

/// nginx closes a connection after its 100th request (`keepalive_requests`) and
/// when idle for 1 s (`keepalive_timeout`): over HTTP/1.1 with `Connection:
/// close` on the 100th answer, over HTTP/2 (h2c) with `GOAWAY`.
#[tokio::test]
async fn nginx_capping_and_closing_idle_connections_costs_no_error_over_http1_and_http2() {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let Some(nginx) = nginx else {
        return missing("nginx (apt-get install nginx-light)");
    };
    let dir = tempfile::tempdir().expect("a folder for nginx");
    let (h1, h2) = (free_port(), free_port());
    let root = dir.path().display();
    let conf = format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    keepalive_timeout 1s;
    keepalive_requests 100;
    server {{ listen 127.0.0.1:{h1}; location / {{ return 200 "ok"; }} }}
    server {{ listen 127.0.0.1:{h2} http2; location / {{ return 200 "ok"; }} }}
}}
"#
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("write nginx.conf");
    let mut cmd = Command::new(nginx);
    cmd.arg("-p").arg(dir.path()).arg("-c").arg(&conf_path);
    // nginx says nothing when it starts: wait until both ports answer.
    let _server = Process(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx"),
    );
    for port in [h1, h2] {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nginx is not listening on {port} after 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let r = rounds(&format!("http://127.0.0.1:{h1}")).await;
    check("nginx http/1.1", &r);
    let r = rounds_over(&format!("http://127.0.0.1:{h2}"), HttpVersion::Http2).await;
    check("nginx h2c", &r);
}
