//! The load engine against real servers on 127.0.0.1 (see `tests/servers`):
//! coordinated omission, accuracy against a server's own timings, errors as data,
//! HTTP/2 and TLS, request variables, response decoding. (`tailgate bench` as a
//! binary is tested in `bench_cli.rs`.) Every assertion is about behaviour, with
//! tolerances that hold on a slow, noisy 2-core machine running other tests at the
//! same time; none times the test.

mod servers;

use std::collections::BTreeSet;
use std::time::Duration;

use servers::{Behavior, Raw, RawServer, Server, TestCa};
use tailgate::bench::standalone::{run_bench, BenchReport, BenchSpec};
use tailgate::bench::summary::PhaseSummary;
use tailgate::bench::{ErrorKind, TlsOptions};
use tailgate::config::{Endpoint, HttpVersion, Load, Profile};
use tailgate::progress::Progress;

/// A load of `profile`, bounded by `duration` and/or `requests`, no warm-up.
fn load(profile: Profile, duration: Option<Duration>, requests: Option<u64>) -> Load {
    Load {
        profile,
        duration,
        requests,
        warmup: Duration::ZERO,
        timeout: Duration::from_secs(5),
        http: HttpVersion::Http1,
    }
}

fn closed(connections: u32, requests: u64) -> Load {
    load(Profile::Closed { connections }, None, Some(requests))
}

fn endpoint(path: &str, load: Load) -> Endpoint {
    Endpoint {
        name: format!("GET {path}"),
        method: http::Method::GET,
        path: path.to_string(),
        headers: http::HeaderMap::new(),
        body: None,
        expect_status: Vec::new(),
        items: Vec::new(),
        load,
        slo: Default::default(),
        budget: Default::default(),
    }
}

async fn bench_with(base_url: &str, endpoint: Endpoint, tls: TlsOptions) -> BenchReport {
    let spec = BenchSpec {
        base_url: base_url.to_string(),
        endpoints: vec![endpoint],
        tls,
        threads: Some(2),
        slo_p99: None,
        traces: None,
    };
    run_bench(&spec, &Progress::quiet())
        .await
        .expect("the target resolves")
}

async fn bench(base_url: &str, endpoint: Endpoint) -> BenchReport {
    bench_with(base_url, endpoint, TlsOptions::default()).await
}

fn phase(report: &BenchReport) -> &PhaseSummary {
    &report.endpoints[0].phases[0]
}

fn errors(p: &PhaseSummary, kind: ErrorKind) -> u64 {
    p.errors.get(&kind).copied().unwrap_or(0)
}

fn within(got: f64, truth: f64, tolerance: f64) -> bool {
    (got - truth).abs() <= truth * tolerance
}

// ---------------------------------------------------------------------------
// Coordinated omission

/// A server that stalls 200 ms at the start of every 2 s cycle (10 % of the
/// time), otherwise answers at once. Open loop at 200 req/s over 6 s (three whole
/// cycles, whatever their phase): 10 % of the requests are due during a stall and
/// wait for its end, uniformly 0 to 200 ms, the rest ~0. So the truth is
/// p95 = 100 ms, p99 = 180 ms (P(wait > x) = 0.1 (200 - x) / 200). Tolerance 20 %
/// (the sub-millisecond service time and the generator's jitter shift it little).
/// The closed loop against the same server hides the stalls: each stall delays
/// only the 10 requests in flight, among tens of thousands.
#[tokio::test]
async fn open_loop_measures_the_stall_that_a_closed_loop_hides() {
    let server = Server::start(Behavior::Stall {
        period: Duration::from_secs(2),
        stall: Duration::from_millis(200),
        base: Duration::ZERO,
    });
    let open = bench(
        &server.base_url(),
        endpoint(
            "/",
            load(
                Profile::Open {
                    rate: 200.0,
                    connections: 10,
                },
                Some(Duration::from_secs(6)),
                None,
            ),
        ),
    )
    .await;
    let p = phase(&open);
    let pacing = p.pacing.expect("an open loop reports its pacing");
    assert_eq!(pacing.planned, 1200);
    assert_eq!(
        p.ok + p.error_count() + pacing.unsent,
        pacing.planned,
        "every planned request is sent or counted as unsent: {p:?}"
    );
    assert_eq!(p.error_count(), 0, "{:?}", p.errors);
    // The stalls keep all 10 connections busy: the requests due meanwhile queue.
    assert!(pacing.queued > 0, "{pacing:?}");
    let l = p.latency.expect("latencies");
    eprintln!(
        "open loop: p95 {} p99 {} p99.9 {} ms (truth 100, 180, 198)",
        l.p95, l.p99, l.p999
    );
    assert!(
        within(l.p95, 100.0, 0.20),
        "open-loop p95 {} ms vs 100",
        l.p95
    );
    assert!(
        within(l.p99, 180.0, 0.20),
        "open-loop p99 {} ms vs 180",
        l.p99
    );
    assert!(l.p999 <= 240.0, "p99.9 {} ms beyond the stall", l.p999);
    assert!(open.endpoints[0].latency_from.contains("due"));
    assert!(open.endpoints[0].profile.starts_with("open loop"));

    let closed_run = bench(
        &server.base_url(),
        endpoint(
            "/",
            load(
                Profile::Closed { connections: 10 },
                Some(Duration::from_secs(3)),
                Some(200_000),
            ),
        ),
    )
    .await;
    let c = phase(&closed_run).latency.expect("latencies");
    eprintln!("closed loop: p95 {} p99 {} ms", c.p95, c.p99);
    assert!(
        c.p99 < l.p99 / 3.0,
        "closed-loop p99 {} ms should hide the stall (open loop {} ms)",
        c.p99,
        l.p99
    );
    let e = &closed_run.endpoints[0];
    assert!(e.profile.starts_with("closed loop"), "{}", e.profile);
    assert!(e.latency_from.contains("closed loop"), "{}", e.latency_from);
    assert!(phase(&closed_run).pacing.is_none());
    assert!(closed_run.render_text().contains("closed loop"));
}

/// Requests that cannot be sent before the grace period ends are reported as
/// unsent, and the run as invalid; nothing is silently dropped.
#[tokio::test]
async fn requests_that_cannot_be_sent_are_counted_as_unsent() {
    let server = Server::start(Behavior::Stall {
        period: Duration::from_secs(3600),
        stall: Duration::from_secs(3600),
        base: Duration::ZERO,
    });
    let mut l = load(
        Profile::Open {
            rate: 50.0,
            connections: 2,
        },
        Some(Duration::from_millis(600)),
        None,
    );
    l.timeout = Duration::from_millis(300);
    let report = bench(&server.base_url(), endpoint("/", l)).await;
    let p = phase(&report);
    let pacing = p.pacing.expect("pacing");
    assert_eq!(pacing.planned, 30);
    assert!(pacing.unsent > 0, "{pacing:?}");
    assert!(!pacing.valid);
    assert_eq!(p.ok + p.error_count() + pacing.unsent, 30, "{p:?}");
    assert_eq!(p.error_count(), errors(p, ErrorKind::Timeout));
    assert!(report.render_text().contains("INVALID"));
}

// ---------------------------------------------------------------------------
// Accuracy

/// Against a server whose delays are known (98.5 % at 2 ms, 1.5 % uniform in
/// 20-100 ms, so p99 falls inside the slow tail rather than on the step) and that
/// records its own service times, the client's percentiles match the server's
/// within a loose 25 % (+0.5 ms for the network and the parsers at p50); the
/// benchmark script checks 5 % on a quiet machine.
#[tokio::test]
async fn percentiles_match_the_servers_own_timings() {
    let server = Server::start(Behavior::Delays {
        fast: Duration::from_millis(2),
        slow_fraction: 0.015,
        slow: (Duration::from_millis(20), Duration::from_millis(100)),
    });
    let report = bench(&server.base_url(), endpoint("/", closed(10, 4000))).await;
    let truth = server.take_service_times();
    let p = phase(&report);
    assert_eq!(p.ok, 4000);
    let l = p.latency.expect("latencies");
    let ms = |q: f64| truth.value_at_quantile(q) as f64 / 1000.0;
    eprintln!(
        "client p50 {} p99 {} p99.9 {}; server p50 {} p99 {} p99.9 {}",
        l.p50,
        l.p99,
        l.p999,
        ms(0.5),
        ms(0.99),
        ms(0.999)
    );
    assert!(
        (l.p50 - ms(0.5)).abs() <= ms(0.5) * 0.25 + 0.5,
        "p50 {} vs server {}",
        l.p50,
        ms(0.5)
    );
    assert!(
        within(l.p99, ms(0.99), 0.25),
        "p99 {} vs server {}",
        l.p99,
        ms(0.99)
    );
    // A server with no stall gets no inflated tail: nothing above its slowest.
    assert!(l.max <= truth.max() as f64 / 1000.0 * 1.25 + 5.0);
}

// ---------------------------------------------------------------------------
// Errors are data

async fn errors_of(base_url: &str, mut load: Load) -> PhaseSummary {
    load.timeout = Duration::from_millis(500);
    let report = bench(base_url, endpoint("/", load)).await;
    let first = report.endpoints[0].first_request.clone().expect("first");
    assert!(first.error.is_some() || first.status.is_some());
    report.endpoints[0].phases[0].clone()
}

#[tokio::test]
async fn status_5xx_and_unexpected_4xx_are_counted_by_class() {
    let s503 = Server::start(Behavior::Status(503));
    let p = errors_of(&s503.base_url(), closed(2, 20)).await;
    assert_eq!(p.ok, 0);
    assert_eq!(errors(&p, ErrorKind::Status5xx), 20);
    assert_eq!(p.statuses.get(&503), Some(&20));
    assert!(p.render_text().contains("5xx 20"));

    let s404 = Server::start(Behavior::Status(404));
    let p = errors_of(&s404.base_url(), closed(2, 20)).await;
    assert_eq!(errors(&p, ErrorKind::Status4xx), 20);

    // An expected 404 is a success.
    let mut e = endpoint("/", closed(2, 20));
    e.expect_status = vec![404];
    let report = bench(&s404.base_url(), e).await;
    assert_eq!(phase(&report).ok, 20);
    assert_eq!(phase(&report).error_count(), 0);
}

#[tokio::test]
async fn a_reset_mid_response_is_a_reset() {
    let server = RawServer::start(Raw::ResetMidResponse);
    let p = errors_of(&server.base_url(), closed(2, 10)).await;
    assert_eq!(p.ok, 0);
    assert_eq!(errors(&p, ErrorKind::Reset), 10, "{:?}", p.errors);
}

#[tokio::test]
async fn a_server_closing_without_a_response_is_a_reset() {
    let server = RawServer::start(Raw::CloseWithoutResponse);
    let p = errors_of(&server.base_url(), closed(2, 10)).await;
    assert_eq!(errors(&p, ErrorKind::Reset), 10, "{:?}", p.errors);
}

#[tokio::test]
async fn a_body_slower_than_the_timeout_is_a_timeout() {
    let server = RawServer::start(Raw::SlowBody);
    let p = errors_of(&server.base_url(), closed(2, 4)).await;
    assert_eq!(errors(&p, ErrorKind::Timeout), 4, "{:?}", p.errors);
}

#[tokio::test]
async fn a_peer_that_is_not_http_is_a_protocol_error() {
    let server = RawServer::start(Raw::NotHttp);
    let p = errors_of(&server.base_url(), closed(2, 10)).await;
    assert_eq!(errors(&p, ErrorKind::Protocol), 10, "{:?}", p.errors);
}

#[tokio::test]
async fn a_refused_port_is_a_connect_error() {
    let addr = servers::refused_port();
    let p = errors_of(&format!("http://{addr}"), closed(2, 10)).await;
    assert_eq!(errors(&p, ErrorKind::Connect), 10, "{:?}", p.errors);
    assert!(p.latency.is_none());
    assert!(p.render_text().contains("no successful request"));
}

/// Responses cut into 3-byte pieces (head, chunk-size lines, trailer split across
/// reads) on keep-alive connections are read whole, one after the other.
#[tokio::test]
async fn chunked_responses_split_across_reads_are_read_whole() {
    let server = RawServer::start(Raw::ChunkedInPieces);
    let p = errors_of(&server.base_url(), closed(2, 20)).await;
    assert_eq!(p.error_count(), 0, "{:?}", p.errors);
    assert_eq!(p.ok, 20);
    assert_eq!(p.bytes_body, 20 * 11);
    assert_eq!(p.bytes_in, 20 * servers::CHUNKED_RESPONSE.len() as u64);
    assert_eq!(p.server_timing.get("db"), Some(&2.0));
}

#[tokio::test]
async fn a_close_mid_body_is_a_body_error() {
    let server = RawServer::start(Raw::CloseMidBody);
    let p = errors_of(&server.base_url(), closed(2, 10)).await;
    assert_eq!(p.ok, 0);
    assert_eq!(errors(&p, ErrorKind::Body), 10, "{:?}", p.errors);
}

/// A body delimited by the end of the connection is complete at the close, and
/// the next request opens a new connection.
#[tokio::test]
async fn a_body_until_close_ends_with_the_connection() {
    let server = RawServer::start(Raw::BodyUntilClose);
    let p = errors_of(&server.base_url(), closed(2, 10)).await;
    assert_eq!(p.error_count(), 0, "{:?}", p.errors);
    assert_eq!(p.ok, 10);
    assert_eq!(p.bytes_body, 10 * 6);
}

/// Errors in an open loop are samples too: planned = ok + errors + unsent.
#[tokio::test]
async fn open_loop_errors_keep_the_accounting() {
    let addr = servers::refused_port();
    let report = bench(
        &format!("http://{addr}"),
        endpoint(
            "/",
            load(
                Profile::Open {
                    rate: 100.0,
                    connections: 4,
                },
                Some(Duration::from_millis(500)),
                None,
            ),
        ),
    )
    .await;
    let p = phase(&report);
    let pacing = p.pacing.expect("pacing");
    assert_eq!(pacing.planned, 50);
    assert_eq!(p.ok + p.error_count() + pacing.unsent, 50);
    assert_eq!(p.ok, 0);
}

// ---------------------------------------------------------------------------
// HTTP/2 and TLS

fn h2(mut e: Endpoint) -> Endpoint {
    e.load.http = HttpVersion::Http2;
    e
}

#[tokio::test]
async fn http2_by_prior_knowledge() {
    let server = Server::start_h2c(Behavior::Record);
    let report = bench(&server.base_url(), h2(endpoint("/h2c", closed(4, 40)))).await;
    let p = phase(&report);
    assert_eq!(p.ok, 40, "{:?}", p.errors);
    let seen = server.seen();
    assert_eq!(seen.len(), 41, "the first request, then 40");
    assert!(seen
        .iter()
        .all(|s| s.version == http::Version::HTTP_2 && s.path == "/h2c"));
    assert!(report.endpoints[0].profile.contains("HTTP/2"));
}

#[tokio::test]
async fn tls_with_a_ca_file_http1_and_h2() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = ca.write_ca(dir.path(), "ca.pem");
    let server = Server::start_tls(Behavior::Record, &ca);
    let tls = TlsOptions {
        ca_file: Some(ca_file),
        insecure: false,
    };
    let report = bench_with(
        &server.base_url(),
        endpoint("/one", closed(2, 10)),
        tls.clone(),
    )
    .await;
    assert_eq!(phase(&report).ok, 10, "{:?}", phase(&report).errors);
    let report = bench_with(&server.base_url(), h2(endpoint("/two", closed(2, 10))), tls).await;
    assert_eq!(phase(&report).ok, 10, "{:?}", phase(&report).errors);
    let seen = server.seen();
    let version_of = |path: &str| {
        seen.iter()
            .filter(|s| s.path == path)
            .map(|s| s.version)
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(version_of("/one"), BTreeSet::from([http::Version::HTTP_11]));
    assert_eq!(version_of("/two"), BTreeSet::from([http::Version::HTTP_2]));
}

#[tokio::test]
async fn tls_insecure_accepts_any_certificate() {
    let ca = TestCa::new();
    let server = Server::start_tls(Behavior::Ok, &ca);
    let insecure = TlsOptions {
        ca_file: None,
        insecure: true,
    };
    for e in [
        endpoint("/", closed(2, 10)),
        h2(endpoint("/", closed(2, 10))),
    ] {
        let report = bench_with(&server.base_url(), e, insecure.clone()).await;
        assert_eq!(phase(&report).ok, 10, "{:?}", phase(&report).errors);
    }
}

#[tokio::test]
async fn tls_with_the_wrong_ca_is_a_tls_error() {
    let ca = TestCa::new();
    let other = TestCa::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let wrong = other.write_ca(dir.path(), "other.pem");
    let server = Server::start_tls(Behavior::Ok, &ca);
    for e in [endpoint("/", closed(2, 6)), h2(endpoint("/", closed(2, 6)))] {
        let report = bench_with(
            &server.base_url(),
            e,
            TlsOptions {
                ca_file: Some(wrong.clone()),
                insecure: false,
            },
        )
        .await;
        let p = phase(&report);
        assert_eq!(p.ok, 0);
        assert_eq!(errors(p, ErrorKind::Tls), 6, "{:?}", p.errors);
    }
}

// ---------------------------------------------------------------------------
// Requests and responses

fn variable_endpoint() -> Endpoint {
    let mut e = endpoint("/items/{{item}}?n={{counter}}", closed(3, 30));
    e.method = http::Method::POST;
    e.items = vec!["ada".into(), "bob".into(), "cy".into()];
    e.headers
        .insert("x-n", "{{counter}}".parse().expect("header"));
    e.headers
        .insert("x-id", "{{random_id}}".parse().expect("header"));
    e.headers
        .insert("x-static", "as sent".parse().expect("header"));
    e.body = Some(bytes::Bytes::from_static(
        br#"{"n": {{counter}}, "who": "{{item}}"}"#,
    ));
    e
}

fn check_variables(server: &Server) {
    let seen = server.seen();
    assert_eq!(seen.len(), 31, "the first request, then 30");
    let items = ["ada", "bob", "cy"];
    let mut counters = BTreeSet::new();
    for s in &seen {
        assert_eq!(s.method, "POST");
        let (path, n) = s.path.split_once("?n=").expect("query");
        let n: u64 = n.parse().expect("a counter");
        assert!(counters.insert(n), "counter {n} sent twice");
        let item = items[(n % 3) as usize];
        assert_eq!(path, format!("/items/{item}"));
        assert_eq!(s.header("x-n"), Some(n.to_string().as_str()));
        assert_eq!(s.header("x-static"), Some("as sent"));
        let id = s.header("x-id").expect("random id");
        assert!(id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            String::from_utf8_lossy(&s.body),
            format!(r#"{{"n": {n}, "who": "{item}"}}"#)
        );
    }
    assert_eq!(counters, (0..31).collect::<BTreeSet<u64>>());
    let ids: BTreeSet<_> = seen.iter().filter_map(|s| s.header("x-id")).collect();
    assert!(ids.len() > 25, "random ids repeat: {ids:?}");
}

#[tokio::test]
async fn request_variables_rotate_and_arrive_as_sent_http1() {
    let server = Server::start(Behavior::Record);
    let report = bench(&server.base_url(), variable_endpoint()).await;
    assert_eq!(phase(&report).ok, 30);
    check_variables(&server);
}

#[tokio::test]
async fn request_variables_rotate_and_arrive_as_sent_http2() {
    let server = Server::start_h2c(Behavior::Record);
    let report = bench(&server.base_url(), h2(variable_endpoint())).await;
    assert_eq!(phase(&report).ok, 30);
    check_variables(&server);
}

#[tokio::test]
async fn gzip_bodies_are_measured_decoded_when_asked() {
    let server = Server::start(Behavior::Gzip(10_000));
    let mut e = endpoint("/", closed(2, 20));
    e.headers.insert(
        http::header::ACCEPT_ENCODING,
        "gzip".parse().expect("header"),
    );
    let report = bench(&server.base_url(), e).await;
    let p = phase(&report);
    assert_eq!(p.ok, 20);
    assert_eq!(p.bytes_decoded, 20 * 10_000);
    assert!(
        p.bytes_body < p.bytes_decoded / 10,
        "{} on the wire",
        p.bytes_body
    );
    assert!(p.bytes_in > p.bytes_body);
    assert!(p.render_text().contains("decoded"));

    let report = bench(&server.base_url(), endpoint("/", closed(2, 20))).await;
    let p = phase(&report);
    assert_eq!(p.bytes_body, 20 * 10_000);
    assert_eq!(p.bytes_decoded, p.bytes_body);
}

#[tokio::test]
async fn gzip_bodies_are_measured_decoded_over_http2() {
    let server = Server::start_h2c(Behavior::Gzip(10_000));
    let mut e = h2(endpoint("/", closed(2, 20)));
    e.headers.insert(
        http::header::ACCEPT_ENCODING,
        "gzip".parse().expect("header"),
    );
    let report = bench(&server.base_url(), e).await;
    let p = phase(&report);
    assert_eq!(p.ok, 20, "{:?}", p.errors);
    assert_eq!(p.bytes_decoded, 20 * 10_000);
    assert!(
        p.bytes_body < p.bytes_decoded / 10,
        "{} on the wire",
        p.bytes_body
    );
}

#[tokio::test]
async fn chunked_bodies_are_read_to_their_end() {
    let server = Server::start(Behavior::Chunked(vec!["hello ", "chunked ", "world"]));
    let report = bench(&server.base_url(), endpoint("/", closed(2, 50))).await;
    let p = phase(&report);
    assert_eq!(p.ok, 50, "{:?}", p.errors);
    assert_eq!(p.bytes_body, 50 * 19);
}

#[tokio::test]
async fn connection_close_responses_reconnect() {
    let server = Server::start(Behavior::Close);
    let report = bench(&server.base_url(), endpoint("/", closed(2, 40))).await;
    let p = phase(&report);
    assert_eq!(p.ok, 40, "{:?}", p.errors);
    let conns = server
        .state
        .connections
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(conns >= 41, "one connection per request, got {conns}");
}

#[tokio::test]
async fn server_timing_is_aggregated_per_name() {
    for h2c in [false, true] {
        let server = if h2c {
            Server::start_h2c(Behavior::ServerTiming)
        } else {
            Server::start(Behavior::ServerTiming)
        };
        let e = endpoint("/", closed(2, 20));
        let report = bench(&server.base_url(), if h2c { h2(e) } else { e }).await;
        let st = &phase(&report).server_timing;
        assert_eq!(st.len(), 3, "{st:?}");
        assert!((st["db"] - 2.5).abs() < 1e-9);
        assert!((st["cache"] - 0.5).abs() < 1e-9);
        assert!((st["app"] - 1.0).abs() < 1e-9);
        assert!(phase(&report).render_text().contains("Server-Timing"));
    }
}

// ---------------------------------------------------------------------------
// The generator's own CPU

/// Each phase records the CPU of its busiest generator thread and how long it
/// waited for a CPU; against a server that takes 20 ms per request, two
/// connections leave the generator nearly idle, far from the share that flags a
/// busy client. (Whether it waited for its core depends on what else this
/// machine runs meanwhile: a starved generator is flagged, and
/// `tests/generator_saturation.rs` pins one to make it so.)
#[tokio::test]
async fn the_generators_cpu_is_recorded_and_an_idle_one_is_not_flagged() {
    let server = Server::start(Behavior::Delays {
        fast: Duration::from_millis(20),
        slow_fraction: 0.0,
        slow: (Duration::ZERO, Duration::ZERO),
    });
    let report = bench(&server.base_url(), endpoint("/", closed(2, 40))).await;
    let p = phase(&report);
    assert_eq!(p.ok, 40);
    let cpu = p.generator_cpu.expect("the generator's CPU is measured");
    let wait = p.generator_wait.expect("its run-queue wait is measured");
    assert!(cpu >= 0.0 && wait >= 0.0, "{cpu} {wait}");
    assert!(
        cpu < tailgate::bench::saturation::CPU_SATURATED,
        "an idle generator used {cpu} of a core"
    );
    let text = p.render_text();
    if !tailgate::bench::saturation::busy_or_starved(cpu, Some(wait)) {
        assert!(!text.contains("saturated"), "{text}");
    }
}
