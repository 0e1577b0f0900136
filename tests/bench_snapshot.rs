//! `tailgate bench`'s output, snapshot-tested: the text report and the JSON of a
//! fixed set of phases (a closed loop with errors, Server-Timing and a first
//! request; a rate ladder with pacing), so a change of the wording, the number
//! formats or the JSON shape shows in review. The phases are built from recorded
//! samples, not measured, so every number is the same on every machine.

use std::time::Duration;

use tailgate::bench::standalone::{
    BenchReport, EndpointBench, LadderResult, LadderStep, BENCH_SCHEMA,
};
use tailgate::bench::summary::PhaseSummary;
use tailgate::bench::{ErrorKind, FirstRequest, PacingReport, PhaseOutcome, Recorder};
use tailgate::config::LadderKind;
use tailgate::side::Side;

/// A phase of `n` requests of 1..=n ms spread over `seconds`, with `errors`
/// timeouts and a `db` Server-Timing on each.
fn phase(n: u64, seconds: u64, errors: u64, pacing: Option<PacingReport>) -> PhaseOutcome {
    let mut recorder = Recorder::default();
    for i in 1..=n {
        let second = ((i - 1) * seconds / n) as u32;
        recorder.status(200);
        recorder.success(Duration::from_millis(i), second);
        recorder.server_timing("db;dur=0.75, cache;desc=\"hit\";dur=0.1");
        recorder.bytes_in += 180;
        recorder.bytes_body += 42;
        recorder.bytes_decoded += 42;
    }
    for i in 0..errors {
        recorder.failure(ErrorKind::Timeout, (i % seconds) as u32);
    }
    recorder.sent_in_window = n + errors;
    PhaseOutcome {
        recorder,
        elapsed: Duration::from_secs(seconds),
        pacing,
        generator_cpu: None,
        generator_wait: None,
        generator_throttled: None,
    }
}

fn report() -> BenchReport {
    let closed = PhaseSummary::new("closed loop, 4 connections", &phase(400, 2, 3, None));
    let pacing = |rate: f64, planned: u64, unsent: u64| PacingReport {
        target_rate: rate,
        planned,
        achieved_rate: (planned - unsent) as f64,
        lag_p99_ms: 0.25,
        lag_max_ms: 1.5,
        queued: 2,
        unsent,
        valid: unsent == 0,
    };
    let step = |rate: f64, unsent: u64| {
        let n = rate as u64 - unsent;
        PhaseSummary::new(
            format!("step: {rate} req/s"),
            &phase(n, 1, 0, Some(pacing(rate, rate as u64, unsent))),
        )
    };
    let steps = vec![step(50.0, 0), step(100.0, 0), step(200.0, 40)];
    let ladder = LadderResult {
        kind: LadderKind::Rate,
        steps: steps
            .iter()
            .zip([50.0, 100.0, 200.0])
            .map(|(s, rate)| LadderStep {
                step: rate,
                p99_ms: s.latency.map(|l| l.p99),
                error_rate: 0.0,
                requests_per_sec: s.requests_per_sec,
                meets_slo: Some(s.latency.is_some_and(|l| l.p99 < 150.0)),
            })
            .collect(),
        slo_p99_ms: Some(150.0),
        best_step: Some(100.0),
    };
    BenchReport {
        schema: BENCH_SCHEMA.to_string(),
        url: "http://127.0.0.1:8080".into(),
        threads: 2,
        endpoints: vec![
            EndpointBench {
                name: "GET /orders".into(),
                profile: "closed loop, 4 connections, HTTP/1.1, 2 s per round; no warm-up".into(),
                latency_from: "the send".into(),
                first_request: Some(FirstRequest {
                    side: Side::Head,
                    latency: Some(Duration::from_micros(12_345)),
                    status: Some(200),
                    error: None,
                }),
                phases: vec![closed],
                ladder: None,
            },
            EndpointBench {
                name: "POST /orders".into(),
                profile: "ladder of 50, 100, 200 req/s, HTTP/1.1, 1 s per round; no warm-up".into(),
                latency_from: "when each request was due".into(),
                first_request: Some(FirstRequest {
                    side: Side::Head,
                    latency: None,
                    status: None,
                    error: Some(ErrorKind::Connect),
                }),
                phases: steps,
                ladder: Some(ladder),
            },
        ],
    }
}

#[test]
fn the_text_report() {
    insta::assert_snapshot!("bench_text", report().render_text());
}

#[test]
fn the_json_report() {
    let json = serde_json::to_string_pretty(&report()).expect("serialise");
    insta::assert_snapshot!("bench_json", json);
    let back: BenchReport = serde_json::from_str(&json).expect("parse");
    assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
}
