//! The server-side stage of a run: after the rounds, what the targets themselves say
//! about them, and what each (round, side) cost.
//!
//! - `local` targets: the CPU time of the server's process tree during each phase
//!   (read by the bench stage), priced by the CPU-time model (`cost.prices.vcpu_hour`).
//! - `cloudformation` stacks: the Lambda REPORT lines of each phase's wall-clock
//!   window (cold starts, billed duration, memory), priced by the Lambda model, and
//!   X-Ray's slowest downstream calls.
//!
//! The readers: [`report_line`] (the REPORT line parser), [`logs`] (fetch them for a
//! window), [`insights`] (Logs Insights when lines are missing), [`lambda`] (cold
//! starts, durations, memory and billed usage per side), [`xray`] (the slowest
//! downstream calls), [`stacks`] (all of it for a run's stacks), [`view`] (the
//! rows the report shows), [`cpu`] (a local process tree's CPU time).
//!
//! Every priced phase gets its cost in [`crate::bench::RoundRecord::cost`], which the
//! comparison resamples over rounds like latency.

pub mod cpu;
pub mod insights;
pub mod lambda;
pub mod logs;
pub mod report_line;
pub mod stacks;
pub mod view;
pub mod xray;

pub use stacks::ServerSideOptions;
pub use view::ServerSide;

use crate::aws::AwsClients;
use crate::bench::EndpointRun;
use crate::config::Config;
use crate::cost::{self, CostComparison, Usage};
use crate::deploy::cloudformation::functions_of;
use crate::deploy::Target;
use crate::side::Side;
use lambda::RoundWindow;

/// What the stage found.
#[derive(Debug, Default)]
pub struct ServerStage {
    /// The Lambda view (REPORT lines, X-Ray, hints), for stacks.
    pub server: Option<ServerSide>,
    /// Base vs head cost over the whole run, when both sides were priced.
    pub cost: Option<CostComparison>,
    /// Why something could not be read (the run goes on without it).
    pub warnings: Vec<String>,
}

/// Price every phase of `runs` that can be priced and read the Lambda side of
/// stacks. Never fails the run: what cannot be read becomes a warning.
pub async fn run(
    config: &Config,
    targets: &[Target],
    runs: &mut [EndpointRun],
    clients: Option<&AwsClients>,
    options: ServerSideOptions,
) -> ServerStage {
    let lambda = targets.iter().any(|t| !functions_of(t).is_empty());
    match clients {
        Some(clients) if lambda => lambda_stage(config, targets, runs, clients, options).await,
        _ => cpu_stage(config, runs),
    }
}

/// Price each phase by the CPU time its server used.
fn cpu_stage(config: &Config, runs: &mut [EndpointRun]) -> ServerStage {
    let mut out = ServerStage::default();
    let prices = config.cost.prices_for(None);
    let mut rows: [Vec<(u32, u64, u64, std::time::Duration)>; 2] = [Vec::new(), Vec::new()];
    for run in runs.iter_mut() {
        for record in &mut run.rounds {
            let Some(cpu) = record.cpu else { continue };
            let usage = Usage {
                requests: record.data.total(),
                bytes_out: record.data.bytes_in,
                cpu_time: Some(cpu),
                ..Usage::default()
            };
            match cost::price(&usage, &prices) {
                Ok(breakdown) => record.cost = Some(breakdown.total),
                Err(e) => {
                    out.warnings.push(format!("could not price CPU time: {e}"));
                    return out;
                }
            }
            let side = match record.side {
                Side::Base => &mut rows[0],
                Side::Head => &mut rows[1],
            };
            match side.iter_mut().find(|r| r.0 == record.round) {
                Some(row) => {
                    row.1 += usage.requests;
                    row.2 += usage.bytes_out;
                    row.3 += cpu;
                }
                None => side.push((record.round, usage.requests, usage.bytes_out, cpu)),
            }
        }
    }
    let phases: Vec<std::time::Duration> = runs
        .iter()
        .flat_map(|r| r.rounds.iter().filter_map(|rec| rec.cpu))
        .collect();
    let idle = phases.iter().filter(|d| d.is_zero()).count();
    if idle * 4 > phases.len() {
        out.warnings.push(format!(
            "in {idle} of {} phases the server used less CPU than the kernel's accounting tick \
             (10 ms), so the cost per request is coarse; longer rounds give it resolution",
            phases.len()
        ));
    }
    let [base, head] = rows;
    if !base.is_empty() && !head.is_empty() {
        match cost::cpu_comparison(&base, &head, &config.cost) {
            Ok(c) => out.cost = Some(c),
            Err(e) => out.warnings.push(format!("could not price CPU time: {e}")),
        }
    }
    out
}

/// Read the stacks' REPORT lines for every phase and price them.
async fn lambda_stage(
    config: &Config,
    targets: &[Target],
    runs: &mut [EndpointRun],
    clients: &AwsClients,
    options: ServerSideOptions,
) -> ServerStage {
    let mut out = ServerStage::default();
    let mut windows = Vec::new();
    let mut places = Vec::new();
    for (e, run) in runs.iter().enumerate() {
        for (r, record) in run.rounds.iter().enumerate() {
            if let Some(w) = record.window {
                windows.push(RoundWindow {
                    round: record.round,
                    side: record.side,
                    start_ms: w.start_ms,
                    end_ms: w.end_ms,
                    requests: record.data.total(),
                    bytes_in: record.data.bytes_in,
                });
                places.push((e, r));
            }
        }
    }
    let target = |side: Side| targets.iter().find(|t| t.side == side);
    // A release gate (or a sweep) has head alone: it stands for both sides, read once.
    let Some(head) = target(Side::Head) else {
        return out;
    };
    let base = target(Side::Base).unwrap_or(head);
    // The highest head p99 of any endpoint: where cold starts would show.
    let head_p99_ms = runs
        .iter()
        .filter_map(|run| {
            let merged = run.merged(Side::Head);
            crate::stats::quantile_ms(&merged.latency, 990)
        })
        .reduce(f64::max);
    match stacks::read(
        clients,
        base,
        head,
        &windows,
        &config.cost,
        head_p99_ms,
        options,
    )
    .await
    {
        Ok(server) => {
            for (&(e, r), cost) in places.iter().zip(&server.window_costs) {
                runs[e].rounds[r].cost = *cost;
            }
            out.cost = server.cost.clone();
            out.server = Some(server);
        }
        Err(e) => out
            .warnings
            .push(format!("could not read the functions' logs: {e}")),
    }
    out
}
