//! The fault suite (issue 13): targets on 127.0.0.1 that hang, stream endless
//! bodies, send huge heads and chunk sizes, burst 5xx, close keep-alive
//! connections at random or are not there at all. Each fault is counted by kind,
//! never a panic or a hang; memory stays bounded (measured on the `tailgate`
//! binary as a child process); a dead target does not burn a core; a client out
//! of file descriptors is told apart from a target that refuses.
//!
//! Plain-TCP HTTP/1.1 is read by the engine's event loop, TLS by its async
//! client: each fault that applies to both is served both ways ([`Driver`]).
//! (Faults already covered in `bench_engine.rs`: a refused port, a reset
//! mid-response, a close without a response, a slow body, not HTTP, a close
//! mid-body, 4xx/5xx by class.) Bounds on time are generous and structural.

#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use servers::{serve_raw, Behavior, Driver, Raw, RawServer, Server, Target, TestCa, DRIVERS};
use tailgate::bench::standalone::{run_bench, BenchReport, BenchSpec};
use tailgate::bench::summary::PhaseSummary;
use tailgate::bench::{ErrorKind, TlsOptions};
use tailgate::config::{Endpoint, HttpVersion, Load, Profile};
use tailgate::progress::Progress;

fn load(profile: Profile, duration: Option<Duration>, requests: Option<u64>) -> Load {
    Load {
        profile,
        duration,
        requests,
        warmup: Duration::ZERO,
        timeout: Duration::from_millis(400),
        http: HttpVersion::Http1,
    }
}

fn closed(connections: u32, requests: u64) -> Load {
    load(Profile::Closed { connections }, None, Some(requests))
}

fn endpoint(load: Load) -> Endpoint {
    Endpoint {
        name: "GET /".into(),
        method: http::Method::GET,
        path: "/".into(),
        headers: http::HeaderMap::new(),
        body: None,
        expect_status: Vec::new(),
        items: Vec::new(),
        load,
        slo: Default::default(),
        budget: Default::default(),
    }
}

async fn bench(base_url: &str, tls: &TlsOptions, load: Load) -> BenchReport {
    let spec = BenchSpec {
        base_url: base_url.to_string(),
        endpoints: vec![endpoint(load)],
        tls: tls.clone(),
        threads: Some(2),
        slo_p99: None,
        traces: None,
    };
    run_bench(&spec, &Progress::quiet())
        .await
        .expect("the target resolves")
}

async fn phase_of(target: &Target, load: Load) -> PhaseSummary {
    let report = bench(&target.server.base_url(), &target.tls, load).await;
    report.endpoints[0].phases[0].clone()
}

fn errors(p: &PhaseSummary, kind: ErrorKind) -> u64 {
    p.errors.get(&kind).copied().unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Endless bodies

/// A body that never ends (a huge `Content-Length`, endless chunks, or no length
/// at all), streamed as fast as the client reads: each request ends at its
/// timeout, on both readers. Memory is measured on the binary below.
#[tokio::test]
async fn an_endless_body_ends_at_the_timeout() {
    for driver in DRIVERS {
        for framing in [
            Raw::EndlessLength,
            Raw::EndlessChunked,
            Raw::EndlessUntilClose,
        ] {
            let target = serve_raw(framing, driver);
            let p = phase_of(&target, closed(2, 4)).await;
            eprintln!("{driver:?} {framing:?}: {:?}", p.errors);
            assert_eq!(p.ok, 0, "{driver:?} {framing:?}");
            assert_eq!(
                errors(&p, ErrorKind::Timeout),
                4,
                "{driver:?} {framing:?}: {:?}",
                p.errors
            );
        }
    }
}

/// Run `tailgate` with `args`, wait for it and return its exit status, stdout,
/// peak resident memory (bytes) and CPU time (user + system), from `wait4`'s
/// resource usage of exactly this child. `nofile`: the child's limit of open
/// files (soft and hard, so the engine cannot raise it).
fn run_tailgate(args: &[&str], nofile: Option<u64>) -> (i32, String, u64, Duration, Duration) {
    use std::os::unix::process::CommandExt as _;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tailgate"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .env("NO_COLOR", "1");
    if let Some(n) = nofile {
        // SAFETY: only setrlimit (a system call, async-signal-safe) runs between
        // fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, n, n)
                    .map_err(std::io::Error::from)
            });
        }
    }
    let started = Instant::now();
    #[expect(
        clippy::zombie_processes,
        reason = "reaped by wait4 below, which also returns its resource usage"
    )]
    let mut child = cmd.spawn().expect("start tailgate");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
        out
    });
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our child.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child by pid, with valid pointers.
    let waited = unsafe { nix::libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid, "wait4 for tailgate");
    let out = reader.join().expect("stdout reader");
    let code = if nix::libc::WIFEXITED(status) {
        nix::libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let tv = |t: nix::libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    // ru_maxrss is in kilobytes on Linux.
    (code, out, usage.ru_maxrss as u64 * 1024, cpu, wall)
}

fn json_errors(path: &Path) -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("the JSON results");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    v["endpoints"][0]["phases"][0]["errors"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

fn json_u64(map: &serde_json::Map<String, serde_json::Value>, key: &str) -> u64 {
    map.get(key).and_then(|v| v.as_u64()).unwrap_or(0)
}

const MB: u64 = 1024 * 1024;

/// The judged bound: `tailgate bench` against endless bodies (4 connections,
/// 3 s, 1 s timeout) peaks under 64 MB of resident memory, on the event loop and
/// on the async client (TLS), and close to the same command against a normal
/// server. The bodies are counted and dropped, never kept; a compressed body the
/// endpoint asked for is kept only up to a bound, to measure its decoded size.
#[test]
fn memory_stays_bounded_under_an_endless_body() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new();
    let ca_file: PathBuf = ca.write_ca(dir.path(), "ca.pem");
    let run = |url: &str, extra: &[&str], name: &str| {
        let json = dir.path().join(format!("{name}.json"));
        let json_arg = json.to_string_lossy().into_owned();
        let mut args = vec![
            "bench",
            url,
            "-c",
            "4",
            "-d",
            "3s",
            "-t",
            "1s",
            "--threads",
            "2",
            "--json",
            &json_arg,
        ];
        args.extend_from_slice(extra);
        let (code, out, rss, _, _) = run_tailgate(&args, None);
        assert_eq!(code, 0, "{name}: {out}");
        (rss, json_errors(&json), out)
    };

    let normal = Server::start(Behavior::Ok);
    let (base_rss, base_errors, _) = run(&normal.base_url(), &[], "normal");
    assert!(base_errors.is_empty(), "{base_errors:?}");

    let ca_arg = ca_file.to_string_lossy().into_owned();
    let mut figures = vec![format!(
        "normal server {:.1} MB",
        base_rss as f64 / MB as f64
    )];
    let gzip: &[&str] = &["-H", "Accept-Encoding: gzip"];
    for (framing, name, extra) in [
        (Raw::EndlessLength, "length", &[][..]),
        (Raw::EndlessChunked, "chunked", &[][..]),
        (Raw::EndlessUntilClose, "until-close", &[][..]),
        // Compressed bodies are kept to measure their decoded size: up to a bound.
        (Raw::EndlessGzip, "gzip", gzip),
    ] {
        let plain = RawServer::start(framing);
        let (rss, errs, out) = run(&plain.base_url(), extra, name);
        assert!(json_u64(&errs, "timeout") >= 4, "{name}: {errs:?}\n{out}");
        figures.push(format!(
            "endless {name} body (event loop) {:.1} MB",
            rss as f64 / MB as f64
        ));
        assert!(rss < 64 * MB, "{name}: peak RSS {rss} bytes");

        let tls = RawServer::start_tls(framing, &ca);
        let tls_name = format!("{name}-tls");
        let mut tls_args = vec!["--cacert", ca_arg.as_str()];
        tls_args.extend_from_slice(extra);
        let (rss, errs, out) = run(&tls.base_url(), &tls_args, &tls_name);
        assert!(
            json_u64(&errs, "timeout") >= 4,
            "{tls_name}: {errs:?}\n{out}"
        );
        figures.push(format!(
            "endless {name} body (async client, TLS) {:.1} MB",
            rss as f64 / MB as f64
        ));
        assert!(rss < 64 * MB, "{tls_name}: peak RSS {rss} bytes");
    }
    eprintln!(
        "peak RSS of `tailgate bench -c 4 -d 3s -t 1s`: {}",
        figures.join("; ")
    );
}

// ---------------------------------------------------------------------------
// Hangs

/// A target that reads the request and never answers: every request is a
/// timeout, the open loop's accounting adds up (planned = ok + errors + unsent)
/// and the phase ends within its window, its grace and a timeout.
#[tokio::test]
async fn a_hang_past_the_timeout_is_a_timeout_and_the_phase_ends() {
    for driver in DRIVERS {
        let target = serve_raw(Raw::Hang, driver);
        let l = load(
            Profile::Open {
                rate: 20.0,
                connections: 4,
            },
            Some(Duration::from_secs(1)),
            None,
        );
        let timeout = l.timeout;
        let p = phase_of(&target, l).await;
        let pacing = p.pacing.expect("an open loop reports its pacing");
        eprintln!("{driver:?}: {:?}, {pacing:?}, {} s", p.errors, p.seconds);
        assert_eq!(pacing.planned, 20);
        assert_eq!(p.ok, 0);
        assert!(p.error_count() > 0, "{driver:?}");
        assert_eq!(
            p.error_count(),
            errors(&p, ErrorKind::Timeout),
            "{driver:?}"
        );
        assert_eq!(
            p.ok + p.error_count() + pacing.unsent,
            pacing.planned,
            "{driver:?}: every planned request is a sample or unsent"
        );
        // Window + grace (one timeout) + the last request's timeout, and a
        // generous allowance for a loaded machine.
        let bound = Duration::from_secs(1) + timeout * 2 + Duration::from_secs(3);
        assert!(
            p.seconds < bound.as_secs_f64(),
            "{driver:?}: the phase took {} s",
            p.seconds
        );
        assert!(
            target
                .server
                .stats
                .requests
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        );
    }
}

// ---------------------------------------------------------------------------
// Huge heads and chunk sizes

/// A head of 1 MB of header lines, a single 100 KB header, or 90 lines of 1 KB
/// (few enough lines, too many bytes): a protocol error as soon as the head
/// passes the readers' bounds (96 headers, 64 KB), not a hang until the timeout
/// and not a buffer that grows with what the peer sends.
#[tokio::test]
async fn a_huge_head_is_a_protocol_error() {
    for driver in DRIVERS {
        for (lines, line_bytes) in [(16 * 1024, 64), (1, 100_000), (90, 1024)] {
            let target = serve_raw(Raw::HugeHead { lines, line_bytes }, driver);
            let mut l = closed(2, 4);
            // Long enough that a reader waiting for the head's end would show.
            l.timeout = Duration::from_secs(3);
            let p = phase_of(&target, l).await;
            assert_eq!(
                errors(&p, ErrorKind::Protocol),
                4,
                "{driver:?} {lines} x {line_bytes} B: {:?}",
                p.errors
            );
            assert_eq!(p.ok, 0);
        }
    }
}

/// Chunk sizes that overflow 64 bits (17 hex digits, a 1 KB run of `f`), that
/// are negative or not hex, or a size line longer than any head: a body error on
/// both readers, never a panic, an overflow or a wait for bytes that cannot come.
#[tokio::test]
async fn huge_and_garbage_chunk_sizes_are_body_errors() {
    let long_f: &'static str = Box::leak("f".repeat(1024).into_boxed_str());
    let longer: &'static str = Box::leak("1".repeat(70_000).into_boxed_str());
    for driver in DRIVERS {
        for size in ["10000000000000000", long_f, longer, "-1", "zz", "0x10", ""] {
            let target = serve_raw(Raw::ChunkSize(size), driver);
            let p = phase_of(&target, closed(2, 4)).await;
            let shown = &size[..size.len().min(20)];
            assert_eq!(
                errors(&p, ErrorKind::Body),
                4,
                "{driver:?} chunk size `{shown}`: {:?}",
                p.errors
            );
        }
    }
}

/// The largest sizes that still fit in 64 bits, where the size of data plus its
/// CRLF does not: a body error, not an overflow, on both drivers.
#[tokio::test]
async fn chunk_sizes_at_the_top_of_u64_are_body_errors_on_the_event_loop() {
    chunk_sizes_at_the_top_of_u64(Driver::EventLoop).await;
}

#[tokio::test]
async fn chunk_sizes_at_the_top_of_u64_are_body_errors_on_the_async_client() {
    chunk_sizes_at_the_top_of_u64(Driver::Async).await;
}

async fn chunk_sizes_at_the_top_of_u64(driver: Driver) {
    for size in ["ffffffffffffffff", "fffffffffffffffe"] {
        let target = serve_raw(Raw::ChunkSize(size), driver);
        let p = phase_of(&target, closed(2, 4)).await;
        assert_eq!(
            errors(&p, ErrorKind::Body),
            4,
            "{driver:?} chunk size `{size}`: {:?}",
            p.errors
        );
    }
}

// ---------------------------------------------------------------------------
// 5xx bursts

/// A server answering 503 to the last 3 requests of every 10 (by arrival), 200
/// otherwise: the phase's 100 requests (after the first request, number 0) are
/// numbers 1 to 100, so exactly 30 are 5xx, counted as such, and the 70
/// successes are measured; the error rate says 30 %.
#[tokio::test]
async fn bursts_of_5xx_are_counted_and_the_rest_measured() {
    for driver in DRIVERS {
        let burst = Behavior::Bursts {
            every: 10,
            burst: 3,
        };
        let (server, tls, _dir) = match driver {
            Driver::EventLoop => (Server::start(burst), TlsOptions::default(), None),
            Driver::Async => {
                let ca = TestCa::new();
                let dir = tempfile::tempdir().expect("temp dir");
                let ca_file = ca.write_ca(dir.path(), "ca.pem");
                let tls = TlsOptions {
                    ca_file: Some(ca_file),
                    insecure: false,
                };
                (Server::start_tls(burst, &ca), tls, Some(dir))
            }
        };
        let report = bench(&server.base_url(), &tls, closed(1, 100)).await;
        let p = &report.endpoints[0].phases[0];
        assert_eq!(
            errors(p, ErrorKind::Status5xx),
            30,
            "{driver:?}: {:?}",
            p.errors
        );
        assert_eq!(p.error_count(), 30, "{driver:?}");
        assert_eq!(p.ok, 70);
        assert_eq!(p.statuses.get(&503), Some(&30));
        assert_eq!(p.statuses.get(&200), Some(&70));
        assert_eq!(
            p.latency.map(|_| ()),
            Some(()),
            "the successes are measured"
        );
        let error_rate = p.error_count() as f64 / (p.ok + p.error_count()) as f64;
        assert!((error_rate - 0.30).abs() < 1e-9, "{driver:?}: {error_rate}");
        assert!(p.render_text().contains("5xx 30"));
    }
}

// ---------------------------------------------------------------------------
// Random keep-alive closes

/// Keep-alive connections that the server closes after 0 to 3 responses, with
/// and without `Connection: close`: every request is a sample (ok + errors is
/// exactly what was sent), an error is only ever a reset (a request that met
/// the close), at most one per connection the server closed, and every success
/// is a response the server wrote.
#[tokio::test]
async fn random_keep_alive_closes_lose_no_request_from_the_count() {
    use std::sync::atomic::Ordering::Relaxed;
    for driver in DRIVERS {
        for announced in [true, false] {
            let target = serve_raw(Raw::RandomCloses { announced }, driver);
            let mut l = closed(4, 200);
            l.timeout = Duration::from_secs(3);
            let p = phase_of(&target, l).await;
            let stats = &target.server.stats;
            let what = format!("{driver:?} announced={announced}: {:?}", p.errors);
            assert_eq!(p.ok + p.error_count(), 200, "{what}");
            assert_eq!(p.error_count(), errors(&p, ErrorKind::Reset), "{what}");
            assert!(p.ok > 0, "{what}");
            assert!(p.ok <= stats.answered.load(Relaxed), "{what}");
            assert!(p.error_count() <= stats.closed.load(Relaxed), "{what}");
            eprintln!(
                "{what}: ok {}, server answered {} on {} connections",
                p.ok,
                stats.answered.load(Relaxed),
                stats.connections.load(Relaxed)
            );
        }
    }
}

// ---------------------------------------------------------------------------
// A dead target; a client out of file descriptors

/// Against a refused port for 2 s with 8 connections, `tailgate bench` backs off
/// after connection errors (1 ms doubling to 100 ms per connection): every
/// attempt is still a `connect` error, but there are a few hundred of them, not
/// hundreds of thousands, and the process uses well under a core.
#[test]
fn a_dead_target_does_not_burn_a_core() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("dead.json");
    let addr = servers::refused_port();
    let url = format!("http://{addr}/");
    for (http2, name) in [(false, "event loop"), (true, "async client (h2c)")] {
        let json_arg = json.to_string_lossy().into_owned();
        let mut args = vec![
            "bench",
            &url,
            "-c",
            "8",
            "-d",
            "2s",
            "-t",
            "1s",
            "--threads",
            "2",
            "--json",
            &json_arg,
        ];
        if http2 {
            args.push("--http2");
        }
        let (code, out, _, cpu, wall) = run_tailgate(&args, None);
        assert_eq!(code, 0, "{out}");
        let errs = json_errors(&json);
        let connect = json_u64(&errs, "connect");
        let share = cpu.as_secs_f64() / wall.as_secs_f64();
        eprintln!(
            "dead target, {name}: {connect} connect errors, CPU {:.3} s in {:.2} s wall ({:.1} % of one core)",
            cpu.as_secs_f64(),
            wall.as_secs_f64(),
            share * 100.0
        );
        assert!(connect > 8, "{name}: every attempt is counted: {errs:?}");
        assert_eq!(
            errs.values().filter_map(|v| v.as_u64()).sum::<u64>(),
            connect,
            "{name}: {errs:?}"
        );
        // 8 connections backing off to 100 ms make ~200 attempts in 2 s.
        assert!(connect < 5_000, "{name}: {connect} attempts: no backoff");
        assert!(share < 0.5, "{name}: {:.0} % of a core", share * 100.0);
    }
}

/// With its limit of open files lowered to 32 (soft and hard, so it cannot
/// raise it), `tailgate bench -c 64` against a healthy server cannot open all
/// its sockets: those failures are the client's (`client: too many open files`,
/// with a hint), never `connect` errors of a target that refused.
#[test]
fn a_client_out_of_file_descriptors_is_not_a_refused_connection() {
    let server = Server::start(Behavior::Ok);
    let url = format!("{}/", server.base_url());
    let args = [
        "bench",
        &url,
        "-c",
        "64",
        "-d",
        "1s",
        "-t",
        "1s",
        "--threads",
        "2",
    ];
    let (code, out, _, _, _) = run_tailgate(&args, Some(32));
    eprintln!("{out}");
    assert_eq!(code, 0, "{out}");
    let errors_line = out
        .lines()
        .find(|l| l.trim_start().starts_with("Errors:"))
        .unwrap_or_else(|| panic!("no errors reported: {out}"));
    assert!(
        errors_line.contains("client: too many open files"),
        "{errors_line}"
    );
    assert!(!errors_line.contains("connect"), "{errors_line}");
    assert!(out.contains("raise `ulimit -n`"), "{out}");
    // The connections that did open measured the server.
    assert!(out.contains("Status codes: 200"), "{out}");
}

/// Through the whole gate: head bursts 5xx (3 in 10), base does not. The error
/// rate SLO on head fails, and so does a blocking verdict and its exit code.
#[tokio::test]
async fn bursts_of_5xx_on_head_fail_the_gate() {
    use tailgate::judge::verdict::{CheckKind, Level, Metric};
    let base = Server::start(Behavior::Ok);
    let head = Server::start(Behavior::Bursts {
        every: 10,
        burst: 3,
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        r#"mode: blocking
deploy:
  url: {{ base: "{}", head: "{}" }}
load:
  connections: 2
  requests: 50
  warmup: 0s
compare:
  rounds: 3
  seed: 7
defaults:
  slo: {{ error_rate: 1% }}
  budget: {{ error_rate: 0.5% }}
endpoints:
  - path: /
"#,
        base.base_url(),
        head.base_url()
    );
    let config = tailgate::config::parse(&text, "tailgate.yml", dir.path()).expect("config");
    let deployer = tailgate::deploy::UrlDeployer::new(base.base_url(), head.base_url());
    let options = tailgate::gate::RunOptions {
        out_dir: dir.path().join("out"),
        ..Default::default()
    };
    let outcome = tailgate::gate::measure(&config, &deployer, &options, &Progress::quiet())
        .await
        .expect("the run writes its outputs");
    let verdict = &outcome.results.verdict;
    eprintln!("{:#?}", verdict.checks);
    assert_eq!(verdict.level, Level::Fail, "{verdict:?}");
    assert_eq!(outcome.exit_code(), tailgate::judge::verdict::exit::FAIL);
    let slo = verdict
        .checks
        .iter()
        .find(|c| c.metric == Metric::ErrorRate && c.kind == CheckKind::Slo)
        .expect("an error-rate SLO check");
    assert_eq!(slo.level, Level::Fail, "{slo:?}");
    if let Some(budget) = verdict
        .checks
        .iter()
        .find(|c| c.metric == Metric::ErrorRate && c.kind == CheckKind::Budget)
    {
        assert_ne!(budget.level, Level::Pass, "{budget:?}");
    }
    assert!(outcome.markdown.contains("5xx") || outcome.markdown.contains("error"));
}
