//! Kept connections like a good HTTP client keeps them (issue 21): servers on
//! 127.0.0.1 that close idle keep-alive connections, close after every Nth
//! response with or without saying so, or reset mid-response. A connection the
//! server closed is the client's housekeeping (a reconnect, a replay), never the
//! target's error; a reset after response bytes stays an error. Each is run on
//! both drivers: plain TCP on the event loop, TLS on the async client.
//!
//! Phases run on one [`Engine`] the way a real run does (its connections kept per
//! target from one phase to the next), against two servers in turn (base and
//! head), with pauses longer than the servers' idle timeout in between.

#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use servers::{serve_raw, Raw, Target, DRIVERS};
use tailgate::bench::{Engine, ErrorKind, Pacing, Recorder, RequestPlan, Schedule, TargetSpec};
use tailgate::config::{Endpoint, HttpVersion, Load, Profile};

fn endpoint(method: http::Method) -> Endpoint {
    Endpoint {
        name: format!("{method} /"),
        method,
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
            timeout: Duration::from_secs(3),
            http: HttpVersion::Http1,
        },
        slo: Default::default(),
        budget: Default::default(),
    }
}

const TIMEOUT: Duration = Duration::from_secs(3);

/// `phases` closed-loop phases of `requests` requests on `connections`
/// connections against each target in turn (A B A B ...), `pause` after each,
/// on one engine of two threads; one recorder per target.
async fn rounds(
    targets: &[&Target],
    method: http::Method,
    connections: u32,
    requests: u64,
    phases: usize,
    pause: Duration,
) -> Vec<Recorder> {
    let engine = Engine::new(2).expect("generator threads");
    let mut specs = Vec::new();
    for t in targets {
        let spec = TargetSpec::resolve(&t.server.base_url(), HttpVersion::Http1, &t.tls)
            .await
            .expect("the target resolves");
        let plan = RequestPlan::new(&endpoint(method.clone()), &spec, Vec::new(), None)
            .expect("the request plan");
        specs.push((spec, plan));
    }
    let mut out = vec![Recorder::default(); targets.len()];
    for _ in 0..phases {
        for (i, (spec, plan)) in specs.iter().enumerate() {
            let schedule = Arc::new(Schedule::new(Pacing::Closed, None, Some(requests), TIMEOUT));
            let outcome = engine
                .run_phase(spec, plan, schedule, connections, TIMEOUT)
                .await;
            out[i].merge(&outcome.recorder);
            tokio::time::sleep(pause).await;
        }
    }
    out
}

fn errors(r: &Recorder, kind: ErrorKind) -> u64 {
    r.errors.get(&kind).copied().unwrap_or(0)
}

/// Servers that close connections idle for 200 ms, measured in 4 phases each,
/// base and head in turn, with 300 ms pauses: every connection the engine kept
/// from one phase to the next is closed by then. No request fails; the closed
/// connections are counted as reconnects.
#[tokio::test]
async fn connections_the_server_closed_while_idle_are_reopened_not_errors() {
    for driver in DRIVERS {
        let a = serve_raw(Raw::IdleClose { idle_ms: 200 }, driver);
        let b = serve_raw(Raw::IdleClose { idle_ms: 200 }, driver);
        let got = rounds(
            &[&a, &b],
            http::Method::GET,
            4,
            40,
            4,
            Duration::from_millis(300),
        )
        .await;
        for (r, t) in got.iter().zip([&a, &b]) {
            let what = format!(
                "{driver:?}: errors {:?}, reconnects {}, replays {}, server closed {}",
                r.errors,
                r.reconnects,
                r.replays,
                t.server.stats.closed.load(Relaxed)
            );
            eprintln!("{what}");
            assert_eq!(r.error_count(), 0, "{what}");
            assert_eq!(r.ok, 160, "{what}");
            assert!(r.reconnects > 0, "{what}");
            assert!(t.server.stats.closed.load(Relaxed) > 0, "{what}");
        }
    }
}

/// A server that closes each connection after its 100th response, saying so
/// (`Connection: close`) or not: 0 errors. Without a word, the requests that
/// met the close were replayed on a new connection.
#[tokio::test]
async fn a_close_after_every_100th_response_loses_no_request() {
    for driver in DRIVERS {
        for announced in [true, false] {
            let t = serve_raw(
                Raw::CloseEvery {
                    every: 100,
                    announced,
                },
                driver,
            );
            let got = rounds(&[&t], http::Method::GET, 4, 1000, 1, Duration::ZERO).await;
            let r = &got[0];
            let stats = &t.server.stats;
            let what = format!(
                "{driver:?} announced={announced}: errors {:?}, reconnects {}, replays {}, server closed {}",
                r.errors,
                r.reconnects,
                r.replays,
                stats.closed.load(Relaxed)
            );
            eprintln!("{what}");
            assert_eq!(r.error_count(), 0, "{what}");
            assert_eq!(r.ok, 1000, "{what}");
            assert!(stats.closed.load(Relaxed) >= 6, "{what}");
            if announced {
                assert_eq!(r.replays, 0, "{what}: the server said it closes");
            }
            assert!(r.ok <= stats.answered.load(Relaxed), "{what}");
        }
    }
}

/// `Connection: close` on some answers (every 7th on a connection): 0 errors, no
/// replay needed.
#[tokio::test]
async fn connection_close_on_some_answers_is_honoured() {
    for driver in DRIVERS {
        let t = serve_raw(
            Raw::CloseEvery {
                every: 7,
                announced: true,
            },
            driver,
        );
        let got = rounds(
            &[&t],
            http::Method::GET,
            4,
            300,
            2,
            Duration::from_millis(50),
        )
        .await;
        let r = &got[0];
        let what = format!("{driver:?}: errors {:?}, replays {}", r.errors, r.replays);
        assert_eq!(r.error_count(), 0, "{what}");
        assert_eq!(r.ok, 600, "{what}");
        assert_eq!(r.replays, 0, "{what}");
        assert!(
            t.server.stats.connections.load(Relaxed) >= 600 / 7,
            "{what}"
        );
    }
}

/// A POST is not idempotent: one that was written on a connection the server
/// then closed without a word may have been processed, so it is not replayed
/// (its failure is the target's `reset`); every request is still a sample.
#[tokio::test]
async fn a_written_post_that_meets_a_close_is_not_replayed() {
    for driver in DRIVERS {
        let t = serve_raw(
            Raw::CloseEvery {
                every: 10,
                announced: false,
            },
            driver,
        );
        let got = rounds(&[&t], http::Method::POST, 2, 200, 1, Duration::ZERO).await;
        let r = &got[0];
        let what = format!("{driver:?}: errors {:?}, replays {}", r.errors, r.replays);
        eprintln!("{what}");
        assert_eq!(r.ok + r.error_count(), 200, "{what}");
        assert_eq!(r.error_count(), errors(r, ErrorKind::Reset), "{what}");
        assert!(r.ok <= t.server.stats.answered.load(Relaxed), "{what}");
    }
}

/// A server that answers 3 requests per connection and resets the connection
/// after part of the 4th response's head: each such request is a `reset` (or
/// `body`) error, never replayed into a success, though its connection was a
/// reused one.
#[tokio::test]
async fn a_reset_mid_response_stays_an_error() {
    for driver in DRIVERS {
        let t = serve_raw(Raw::ResetAfter { answered: 3 }, driver);
        let got = rounds(&[&t], http::Method::GET, 2, 40, 1, Duration::ZERO).await;
        let r = &got[0];
        let stats = &t.server.stats;
        let what = format!(
            "{driver:?}: ok {}, errors {:?}, replays {}, server answered {} reset {}",
            r.ok,
            r.errors,
            r.replays,
            stats.answered.load(Relaxed),
            stats.closed.load(Relaxed)
        );
        eprintln!("{what}");
        assert_eq!(r.ok + r.error_count(), 40, "{what}");
        assert_eq!(r.replays, 0, "{what}");
        assert_eq!(r.ok, stats.answered.load(Relaxed), "{what}");
        assert_eq!(
            errors(r, ErrorKind::Reset) + errors(r, ErrorKind::Body),
            r.error_count(),
            "{what}"
        );
        assert_eq!(r.error_count(), stats.closed.load(Relaxed), "{what}");
        assert!(r.error_count() >= 8, "{what}");
    }
}
