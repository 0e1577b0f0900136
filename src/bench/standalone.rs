//! `tailgate bench`: the load engine on its own, against one target, with no PR
//! and no config needed. The same engine and schedules as the gate.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::conn::{TargetError, TargetSpec, TlsOptions};
use super::engine::Engine;
use super::request::RequestPlan;
use super::summary::PhaseSummary;
use super::{describe_load, ladder_step, load_phase, warm_up, FirstRequest};
use crate::config::{Endpoint, LadderKind, Load, Profile};
use crate::progress::Progress;
use crate::side::Side;

/// The schema identifier of `tailgate bench` JSON results.
pub const BENCH_SCHEMA: &str = "tailgate.bench/v1";

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
}

/// One ladder step's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderStep {
    /// Connections or rate of the step.
    pub step: f64,
    /// p99 latency, ms (when anything succeeded).
    pub p99_ms: Option<f64>,
    /// Failed / all requests.
    pub error_rate: f64,
    /// Completed requests per second.
    pub requests_per_sec: f64,
    /// Whether the step met the p99 limit (and had no errors).
    pub meets_slo: Option<bool>,
}

/// What a ladder found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderResult {
    /// Connections or rate.
    pub kind: LadderKind,
    /// Every step in order.
    pub steps: Vec<LadderStep>,
    /// The p99 limit applied, ms.
    pub slo_p99_ms: Option<f64>,
    /// The highest step that met the limit, when one did.
    pub best_step: Option<f64>,
}

/// The results of one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointBench {
    /// The endpoint's name.
    pub name: String,
    /// The load profile in words.
    pub profile: String,
    /// Whether latency counts from the send (closed loop) or from the due time.
    pub latency_from: String,
    /// The first request to the target (cold start as a client sees it).
    pub first_request: Option<FirstRequest>,
    /// One phase, or one per ladder step.
    pub phases: Vec<PhaseSummary>,
    /// The ladder's finding, for a ladder profile.
    pub ladder: Option<LadderResult>,
}

/// Everything `tailgate bench` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    /// Always [`BENCH_SCHEMA`].
    pub schema: String,
    /// The target.
    pub url: String,
    /// Generator threads used.
    pub threads: usize,
    /// Per endpoint.
    pub endpoints: Vec<EndpointBench>,
}

impl BenchReport {
    /// A wrk-style text report.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for e in &self.endpoints {
            out.push_str(&format!(
                "{} @ {}\n  {}, {} generator thread{}\n  latency measured from {}\n",
                e.name,
                self.url,
                e.profile,
                self.threads,
                if self.threads == 1 { "" } else { "s" },
                e.latency_from
            ));
            if let Some(first) = &e.first_request {
                match (first.latency, first.status, first.error) {
                    (Some(l), Some(s), _) => out.push_str(&format!(
                        "  First request: {} (status {s})\n",
                        crate::format::duration(l)
                    )),
                    (_, _, Some(err)) => out.push_str(&format!("  First request failed: {err}\n")),
                    _ => {}
                }
            }
            for p in &e.phases {
                out.push_str(&p.render_text());
            }
            if let Some(l) = &e.ladder {
                out.push_str("  Ladder (step: p99, errors, req/s)\n");
                for s in &l.steps {
                    out.push_str(&format!(
                        "    {:>8}: {:>10}  {:>7}  {:>10.1}{}\n",
                        crate::format::rate(s.step),
                        s.p99_ms.map_or("n/a".into(), crate::format::ms),
                        crate::format::percent(s.error_rate),
                        s.requests_per_sec,
                        match s.meets_slo {
                            Some(true) => "  meets the SLO",
                            Some(false) => "  breaks the SLO",
                            None => "",
                        }
                    ));
                }
                if let Some(limit) = l.slo_p99_ms {
                    match l.best_step {
                        Some(best) => out.push_str(&format!(
                            "  Highest step meeting p99 < {}: {}\n",
                            crate::format::ms(limit),
                            crate::format::rate(best)
                        )),
                        None => out.push_str(&format!(
                            "  No step met p99 < {}\n",
                            crate::format::ms(limit)
                        )),
                    }
                }
            }
            out.push('\n');
        }
        out
    }
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
        let plan = RequestPlan::new(endpoint, &target, endpoint.items.clone())?;
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
                let outcome =
                    load_phase(&engine, &target, &plan, load, load.duration, load.requests).await;
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
