//! `tailgate bench`: the load engine on its own, against one target, with no PR
//! and no config needed. The same engine and schedules as the gate.

use std::sync::Arc;
use std::time::Duration;

use super::conn::{TargetError, TargetSpec, TlsOptions};
use super::engine::Engine;
use super::request::RequestPlan;
use super::summary::PhaseSummary;
pub use super::summary::{BenchReport, EndpointBench, LadderResult, LadderStep, BENCH_SCHEMA};
use super::{describe_load, ladder_step, load_phase, warm_up};
use crate::config::{Endpoint, LadderKind, Load, Profile};
use crate::progress::Progress;
use crate::side::Side;

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// Base URL of the target (`http://127.0.0.1:8080`).
    pub base_url: String,
    /// The request(s): each endpoint is measured in turn.
    pub endpoints: Vec<Endpoint>,
    /// TLS settings.
    pub tls: TlsOptions,
    /// Generator threads (default: one per core this process may use).
    pub threads: Option<usize>,
    /// For a ladder: the p99 limit a step must meet.
    pub slo_p99: Option<Duration>,
    /// A `traceparent` on every request, as the gate sends with `traces:` on
    /// (each measured phase samples `per_round`): to measure what it costs.
    pub traces: Option<crate::traceparent::Sampling>,
}

fn latency_origin(load: &Load) -> &'static str {
    match load.profile {
        Profile::Closed { .. }
        | Profile::Ladder {
            kind: LadderKind::Concurrency,
            ..
        } => "the send (closed loop: a stalled server delays the next requests instead of showing up in them)",
        _ => "when each request was due (open loop: queueing behind a stall is measured)",
    }
}

/// Run `spec`: per endpoint the first request, a warm-up, then the measured
/// phase (or each ladder step).
pub async fn run_bench(spec: &BenchSpec, progress: &Progress) -> Result<BenchReport, TargetError> {
    let engine = match spec.threads {
        Some(n) => Engine::new(n),
        None => Engine::auto(),
    }
    .map_err(|e| TargetError::Tls(format!("cannot start generator threads: {e}")))?;
    let mut endpoints = Vec::new();
    for endpoint in &spec.endpoints {
        let load = &endpoint.load;
        let target = TargetSpec::resolve(&spec.base_url, load.http, &spec.tls).await?;
        let plan = RequestPlan::new(
            endpoint,
            &target,
            endpoint.items.clone(),
            spec.traces.map(|s| (s, Side::Head)),
        )?;
        progress.log(&format!("{}: {}", endpoint.name, describe_load(load)));
        let first = warm_up(&engine, &target, &plan, Side::Head, load, true).await;
        let (phases, ladder) = match &load.profile {
            Profile::Ladder {
                kind,
                steps,
                connections,
            } => {
                let (phases, result) = run_ladder(
                    &engine,
                    &target,
                    &plan,
                    load,
                    *kind,
                    steps,
                    *connections,
                    spec.slo_p99,
                    progress,
                )
                .await;
                (phases, Some(result))
            }
            _ => {
                plan.trace_round(Some(0));
                let outcome =
                    load_phase(&engine, &target, &plan, load, load.duration, load.requests).await;
                plan.trace_round(None);
                (vec![PhaseSummary::new(describe_load(load), &outcome)], None)
            }
        };
        endpoints.push(EndpointBench {
            name: endpoint.name.clone(),
            profile: describe_load(load),
            latency_from: latency_origin(load).to_string(),
            first_request: first,
            phases,
            ladder,
        });
    }
    Ok(BenchReport {
        schema: BENCH_SCHEMA.to_string(),
        url: spec.base_url.clone(),
        threads: engine.threads(),
        endpoints,
    })
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
async fn run_ladder(
    engine: &Engine,
    target: &TargetSpec,
    plan: &Arc<RequestPlan>,
    load: &Load,
    kind: LadderKind,
    steps: &[f64],
    connections: u32,
    slo_p99: Option<Duration>,
    progress: &Progress,
) -> (Vec<PhaseSummary>, LadderResult) {
    let limit_ms = slo_p99.map(|d| d.as_secs_f64() * 1000.0);
    let mut phases = Vec::new();
    let mut results = Vec::new();
    progress.phase("ladder", steps.len() as u64);
    for &step in steps {
        let (profile, label) = ladder_step(kind, step, connections);
        let step_load = Load {
            profile,
            ..load.clone()
        };
        let outcome = load_phase(
            engine,
            target,
            plan,
            &step_load,
            load.duration,
            load.requests,
        )
        .await;
        let summary = PhaseSummary::new(format!("step: {label}"), &outcome);
        let total = summary.ok + summary.error_count();
        let error_rate = if total > 0 {
            summary.error_count() as f64 / total as f64
        } else {
            0.0
        };
        let p99 = summary.latency.map(|l| l.p99);
        let paced = summary.pacing.is_none_or(|p| p.valid);
        results.push(LadderStep {
            step,
            p99_ms: p99,
            error_rate,
            requests_per_sec: summary.requests_per_sec,
            meets_slo: limit_ms.map(|l| p99.is_some_and(|p| p < l) && error_rate == 0.0 && paced),
        });
        progress.step(&summary.label);
        phases.push(summary);
    }
    progress.finish();
    // The highest step such that it and every step below it met the limit.
    let best_step = results
        .iter()
        .take_while(|s| s.meets_slo == Some(true))
        .last()
        .map(|s| s.step);
    (
        phases,
        LadderResult {
            kind,
            steps: results,
            slo_p99_ms: limit_ms,
            best_step,
        },
    )
}
