//! Bench: load-test base and head in interleaved rounds.
//!
//! The unit of measurement is the *round*: one slice of one side. Base and head are
//! measured in R rounds, and inside each round the order of the two sides is drawn
//! at random (BH or HB) from a seeded generator, so drift of the machine or the
//! cloud over time hits both sides alike. Each (round, side, endpoint) keeps its own
//! [`Recorder`] (histogram and counters), so the statistics can treat rounds, not
//! requests, as the independent units.

pub mod cgroup;
mod coding;
pub mod conn;
pub mod engine;
mod evloop;
#[doc(hidden)]
pub mod fuzz;
pub mod grid;
mod h1reader;
pub mod http1;
pub(crate) mod keepalive;
pub mod outcome;
pub mod record;
pub mod request;
pub mod saturation;
pub mod schedule;
pub mod standalone;
pub mod summary;

use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::{Endpoint, LadderKind, Load, Profile};
use crate::deploy::Target;
use crate::progress::Progress;
use crate::side::Side;
pub use conn::{rustls_client_config, HttpVersion, TargetError, TargetSpec, TlsOptions};
pub use engine::{Engine, PacingReport, PhaseOutcome};
pub use grid::{Grid, GridError, Join, SharedStart};
pub use outcome::ErrorKind;
pub use record::{Recorder, TimingSum};
pub use request::RequestPlan;
pub use schedule::{Pacing, Schedule, Slot};

/// What was measured for one (round, side) of one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundRecord {
    /// 0-based round number.
    pub round: u32,
    /// The side measured.
    pub side: Side,
    /// 0 when this side went first in the round, 1 when second.
    pub position: u8,
    /// Wall time of the measured phase.
    #[serde(with = "secs")]
    pub elapsed: Duration,
    /// Latencies and counters.
    pub data: Recorder,
    /// For an open loop: whether the round delivered its rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing: Option<PacingReport>,
    /// When the measured phase ran, on the wall clock (to find the server's logs of
    /// exactly this phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// CPU time the target's process tree used during the phase, when the target is
    /// a process of ours (`local` deployer).
    #[serde(default, with = "opt_secs", skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Duration>,
    /// What the phase cost, when a cost model priced it (CPU time or Lambda REPORT
    /// lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::cost::Money>,
    /// CPU time of the busiest load-generator thread over the phase, as a
    /// fraction of one core, when it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_cpu: Option<f64>,
    /// Share of the phase the same thread was ready to run but waited for a
    /// CPU (its run-queue wait: other processes held its core), when Linux
    /// keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_wait: Option<f64>,
    /// Share of the phase a CPU quota held the generator back (its cgroup, or
    /// one above it, was throttled: [`cgroup`]), when there is a quota to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_throttled: Option<f64>,
    /// The round was measured by a saturated client (its busiest generator
    /// thread busy or starved of its core, or its send lag large beside the
    /// latency: see [`saturation`]): its latencies include the client's own
    /// queueing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generator_saturated: bool,
}

/// A wall-clock span in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Start.
    pub start_ms: i64,
    /// End.
    pub end_ms: i64,
}

/// Milliseconds since the Unix epoch now.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The very first request to a freshly deployed side: a cold start as a client
/// sees it, recorded apart from the rounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FirstRequest {
    /// The side.
    pub side: Side,
    /// Its latency, when it got a response.
    #[serde(with = "opt_secs")]
    pub latency: Option<Duration>,
    /// Its status code, when it got a response.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<ErrorKind>,
}

/// All rounds of one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointRun {
    /// The endpoint's name.
    pub name: String,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// The load profile in words (`closed loop, 10 connections, 5 s per round`).
    pub profile: String,
    /// Every (round, side), in the order measured.
    pub rounds: Vec<RoundRecord>,
    /// The first request to each side (only on the first endpoint measured).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_requests: Vec<FirstRequest>,
    /// When and why measuring this endpoint stopped (a sequential run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// The (round, side) phases this run did not measure on a shared start
    /// (`--start-at`): it reached T0 late and joined at a later slot, or reached
    /// a slot after it began; `tailgate merge` leaves those rounds out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed: Vec<Missed>,
}

impl RoundRecord {
    /// A round of `side` measured into `data` over `elapsed`, with nothing else
    /// known yet (no pacing, window, CPU time, cost or generator load): what the
    /// engine fills in as it learns it.
    pub fn new(
        round: u32,
        side: Side,
        position: u8,
        elapsed: Duration,
        data: Recorder,
    ) -> RoundRecord {
        RoundRecord {
            round,
            side,
            position,
            elapsed,
            data,
            pacing: None,
            window: None,
            cpu: None,
            cost: None,
            generator_cpu: None,
            generator_wait: None,
            generator_throttled: None,
            generator_saturated: false,
        }
    }
}

impl EndpointRun {
    /// An endpoint's run of `rounds`, measured from its first round on (no first
    /// requests, no stop, nothing missed yet).
    pub fn new(
        name: &str,
        method: &str,
        path: &str,
        profile: String,
        rounds: Vec<RoundRecord>,
    ) -> EndpointRun {
        EndpointRun {
            name: name.to_string(),
            method: method.to_string(),
            path: path.to_string(),
            profile,
            rounds,
            first_requests: Vec::new(),
            stop: None,
            missed: Vec::new(),
        }
    }
}

/// A (round, side) not measured on the shared start's grid (joined later, or
/// reached after its slot began).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missed {
    /// 0-based round number.
    pub round: u32,
    /// The side.
    pub side: Side,
}

/// When and why an endpoint stopped being measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stop {
    /// Rounds per side it used.
    pub rounds: u32,
    /// Why it stopped.
    pub reason: StopReason,
    /// Wall time from the first measured round to its stop, milliseconds.
    pub elapsed_ms: u64,
}

/// Why an endpoint stopped being measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every gated check was decided at a look.
    Decided,
    /// The most rounds were measured.
    MostRounds,
}

impl EndpointRun {
    /// The rounds of one side, in round order.
    pub fn side(&self, side: Side) -> impl Iterator<Item = &RoundRecord> {
        self.rounds.iter().filter(move |r| r.side == side)
    }

    /// One side's rounds merged into one recorder.
    pub fn merged(&self, side: Side) -> Recorder {
        let mut all = Recorder::default();
        for r in self.side(side) {
            all.merge(&r.data);
        }
        all
    }

    /// Sum of one side's measured time.
    pub fn elapsed(&self, side: Side) -> Duration {
        self.side(side).map(|r| r.elapsed).sum()
    }
}

/// Everything the bench stage measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurements {
    /// Seed that drew the side order of each round.
    pub order_seed: u64,
    /// The side order of each round (`[first, second]`).
    pub order: Vec<[Side; 2]>,
    /// Per endpoint, all its rounds.
    pub endpoints: Vec<EndpointRun>,
}

/// The draw of side orders: `rounds` rounds, each BH or HB at random.
pub fn draw_order(rounds: u32, seed: u64) -> Vec<[Side; 2]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rounds)
        .map(|_| {
            if rng.gen_bool(0.5) {
                [Side::Base, Side::Head]
            } else {
                [Side::Head, Side::Base]
            }
        })
        .collect()
}

/// Describe a load profile in words for the report.
pub fn describe_load(load: &Load) -> String {
    let mut bound = Vec::new();
    if let Some(d) = load.duration {
        bound.push(format!("{} per round", crate::format::duration(d)));
    }
    if let Some(n) = load.requests {
        bound.push(format!("at most {n} requests per round"));
    }
    let conns = |n: u32| format!("{n} connection{}", if n == 1 { "" } else { "s" });
    let shape = match &load.profile {
        Profile::Closed { connections } => format!("closed loop, {}", conns(*connections)),
        Profile::Open { rate, connections } => format!(
            "open loop at {} req/s (latency from when each request was due), up to {}",
            crate::format::rate(*rate),
            conns(*connections)
        ),
        Profile::Ladder { kind, steps, .. } => {
            let steps: Vec<String> = steps.iter().map(|s| crate::format::rate(*s)).collect();
            match kind {
                LadderKind::Concurrency => format!("ladder of {} connections", steps.join(", ")),
                LadderKind::Rate => format!("ladder of {} req/s", steps.join(", ")),
            }
        }
    };
    let http = match load.http {
        HttpVersion::Http1 => "HTTP/1.1",
        HttpVersion::Http2 => "HTTP/2",
    };
    let warmup = if load.warmup.is_zero() {
        "no warm-up".to_string()
    } else {
        format!("warm-up {}", crate::format::duration(load.warmup))
    };
    format!("{shape}, {http}, {}; {warmup}", bound.join(", "))
}

/// One step of a ladder: the profile it is measured with and its label
/// (`10 connections`, `50 req/s`). The one mapping of the gate's expanded
/// endpoints and `tailgate bench`'s ladder.
pub fn ladder_step(kind: LadderKind, step: f64, connections: u32) -> (Profile, String) {
    match kind {
        LadderKind::Concurrency => {
            let c = step.max(1.0) as u32;
            (
                Profile::Closed { connections: c },
                format!("{c} connection{}", if c == 1 { "" } else { "s" }),
            )
        }
        LadderKind::Rate => (
            Profile::Open {
                rate: step,
                connections,
            },
            format!("{} req/s", crate::format::rate(step)),
        ),
    }
}

/// In the gate, a ladder endpoint becomes one endpoint per step (`orders @ 100
/// connections`), each measured in the interleaved rounds and compared like any
/// other, so every step gets its own interval, SLO and budget checks.
pub fn expand_ladders(endpoints: &[Endpoint]) -> Vec<Endpoint> {
    let mut out = Vec::with_capacity(endpoints.len());
    for e in endpoints {
        match &e.load.profile {
            Profile::Ladder {
                kind,
                steps,
                connections,
            } => {
                for &step in steps {
                    let (profile, label) = ladder_step(*kind, step, *connections);
                    let mut one = e.clone();
                    one.load.profile = profile;
                    one.name = format!("{} @ {label}", e.name);
                    out.push(one);
                }
            }
            _ => out.push(e.clone()),
        }
    }
    out
}

/// The schedule and connection count of one phase of `load`; a ladder is
/// measured at its highest step here (each step is its own phase in the gate's
/// expanded endpoints and in `tailgate bench`).
pub fn phase_schedule(
    load: &Load,
    duration: Option<Duration>,
    limit: Option<u64>,
) -> (Schedule, u32) {
    let (pacing, connections) = match &load.profile {
        Profile::Closed { connections } => (Pacing::Closed, *connections),
        Profile::Open { rate, connections } => (Pacing::Open { rate: *rate }, *connections),
        Profile::Ladder {
            kind,
            steps,
            connections,
        } => {
            let top = steps.last().copied().unwrap_or(1.0).max(0.001);
            let (profile, _) = ladder_step(*kind, top, *connections);
            let step = Load {
                profile,
                ..load.clone()
            };
            return phase_schedule(&step, duration, limit);
        }
    };
    (
        Schedule::new(pacing, duration, limit, load.timeout),
        connections,
    )
}

/// Run one phase of `load` (bounded by `duration` and/or `limit`) on `engine`.
pub(crate) async fn load_phase(
    engine: &Engine,
    target: &TargetSpec,
    plan: &Arc<RequestPlan>,
    load: &Load,
    duration: Option<Duration>,
    limit: Option<u64>,
) -> PhaseOutcome {
    let (schedule, connections) = phase_schedule(load, duration, limit);
    engine
        .run_phase(target, plan, Arc::new(schedule), connections, load.timeout)
        .await
}

/// Send one request and time it: the first request to a fresh target.
pub(crate) async fn first_request(
    engine: &Engine,
    target: &TargetSpec,
    plan: &Arc<RequestPlan>,
    side: Side,
    timeout: Duration,
) -> FirstRequest {
    let schedule = Arc::new(Schedule::new(Pacing::Closed, None, Some(1), timeout));
    let outcome = engine.run_phase(target, plan, schedule, 1, timeout).await;
    let rec = &outcome.recorder;
    FirstRequest {
        side,
        latency: (!rec.latency.is_empty())
            .then(|| Duration::from_micros(rec.latency.max()))
            .or_else(|| (rec.error_count() == 0).then_some(outcome.elapsed)),
        status: rec.statuses.keys().next().copied(),
        error: rec.errors.keys().next().copied(),
    }
}

/// Before a side's measured phases of an endpoint: its first request when
/// `first` (a cold start as a client sees it), then the unrecorded warm-up. The
/// one preparation of the gate and `tailgate bench`.
pub(crate) async fn warm_up(
    engine: &Engine,
    target: &TargetSpec,
    plan: &Arc<RequestPlan>,
    side: Side,
    load: &Load,
    first: bool,
) -> Option<FirstRequest> {
    let fr = if first {
        Some(first_request(engine, target, plan, side, load.timeout).await)
    } else {
        None
    };
    if !load.warmup.is_zero() {
        load_phase(engine, target, plan, load, Some(load.warmup), None).await;
    }
    fr
}

fn base_deployed(targets: &[Target]) -> bool {
    targets.iter().any(|t| t.side == Side::Base)
}

fn sides_of(with_base: bool) -> usize {
    if with_base {
        2
    } else {
        1
    }
}

/// How requests are sent, beyond each endpoint's own settings, and what is read
/// around each measured phase.
#[derive(Debug, Clone, Default)]
pub struct MeasureOptions {
    /// TLS settings for https targets.
    pub tls: TlsOptions,
    /// The CPU time a local target's process tree (by pid) has used so far, read
    /// before and after each measured phase; the later stage that owns such
    /// readers supplies it ([`crate::server_side::cpu::process_time`]).
    pub cpu_time: Option<fn(u32) -> Option<Duration>>,
    /// A shared start: the grid every shard measures on and where this one joins
    /// it. Each phase starts at its slot's start; the first requests come before
    /// the grid's first slot, slots before `join.first` are not measured.
    pub grid: Option<(Grid, Join)>,
    /// Traces on (`traces:`): a `traceparent` on every request, sampled per round.
    pub traces: Option<crate::traceparent::Sampling>,
}

impl MeasureOptions {
    /// The options of a config (TLS; no CPU reader).
    pub fn from_config(config: &crate::config::Config) -> MeasureOptions {
        MeasureOptions {
            tls: TlsOptions {
                ca_file: config.tls.ca_file.clone(),
                insecure: config.tls.insecure,
            },
            cpu_time: None,
            grid: None,
            traces: None,
        }
    }
}

/// Measure every endpoint on the targets (both sides, or head alone for a release
/// gate): the first request to each side (recorded apart), an unrecorded warm-up
/// per side and endpoint, then `order.len()` rounds in the given side order (sides
/// without a target are skipped). With `first_round > 0` the call continues a run
/// (its next sequential look): rounds are numbered from there, without a warm-up.
pub async fn measure(
    targets: &[Target],
    endpoints: &[Endpoint],
    order: &[[Side; 2]],
    first_round: u32,
    options: &MeasureOptions,
    progress: &Progress,
) -> Result<Vec<EndpointRun>, TargetError> {
    let engine = Engine::auto()
        .map_err(|e| TargetError::Tls(format!("cannot start generator threads: {e}")))?;
    let target_of = |side: Side| targets.iter().find(|t| t.side == side);
    let (Some(head), base) = (target_of(Side::Head), target_of(Side::Base)) else {
        return Err(TargetError::BadUrl {
            url: String::new(),
            reason: "no head target was deployed".into(),
        });
    };
    let has = |side: Side| side == Side::Head || base.is_some();
    let base = base.unwrap_or(head);
    // One target spec per endpoint and side: endpoints may differ in HTTP version.
    let mut specs = Vec::with_capacity(endpoints.len());
    let mut plans = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        let version = endpoint.load.http;
        let base_spec = TargetSpec::resolve(&base.base_url, version, &options.tls).await?;
        let head_spec = TargetSpec::resolve(&head.base_url, version, &options.tls).await?;
        plans.push([
            RequestPlan::new(
                endpoint,
                &base_spec,
                endpoint.items.clone(),
                options.traces.map(|s| (s, Side::Base)),
            )?,
            RequestPlan::new(
                endpoint,
                &head_spec,
                endpoint.items.clone(),
                options.traces.map(|s| (s, Side::Head)),
            )?,
        ]);
        specs.push([base_spec, head_spec]);
    }
    let spec = |i: usize, side: Side| match side {
        Side::Base => &specs[i][0],
        Side::Head => &specs[i][1],
    };
    let plan = |i: usize, side: Side| match side {
        Side::Base => &plans[i][0],
        Side::Head => &plans[i][1],
    };
    let mut runs: Vec<EndpointRun> = endpoints
        .iter()
        .map(|e| {
            EndpointRun::new(
                &e.name,
                e.method.as_str(),
                &e.path,
                describe_load(&e.load),
                Vec::with_capacity(order.len() * 2),
            )
        })
        .collect();
    // On a shared start, where each phase's slot is and whether this run joined
    // before it: `Some(None)` for a slot missed, `Some(Some(start_ms))` to wait for.
    let slot = |kind: grid::SlotKind, side: Side, i: usize| -> Option<Option<i64>> {
        let (grid, join) = options.grid.as_ref()?;
        let at = grid
            .slots()
            .iter()
            .position(|s| s.kind == kind && s.side == side && s.endpoint == i)?;
        Some((at >= join.first).then(|| grid.slots()[at].start_ms))
    };

    // Rounds that continue a run (its next sequential look) need no warm-up: the
    // sides are warm and their connections kept.
    let warm = first_round == 0;
    if warm {
        progress.phase(
            "warm-up",
            (sides_of(base_deployed(targets)) * endpoints.len()) as u64,
        );
    }
    if let (true, Some((grid, join))) = (warm, &options.grid) {
        // On a shared start the first request to each side comes before the
        // grid (it is no load), each warm-up in its own slot.
        for side in Side::BOTH.into_iter().filter(|s| has(*s)) {
            if let Some(endpoint) = endpoints.first() {
                let timeout = endpoint.load.timeout;
                let fr = first_request(&engine, spec(0, side), plan(0, side), side, timeout).await;
                runs[0].first_requests.push(fr);
            }
        }
        if let Some(first) = grid.slots().get(join.first) {
            let wait = first.start_ms - unix_ms();
            if wait > 0 {
                progress.log(&format!(
                    "waiting {} for the shared start",
                    crate::format::duration(Duration::from_millis(wait as u64))
                ));
            }
        }
    }
    for side in Side::BOTH.into_iter().filter(|s| has(*s) && warm) {
        for (i, endpoint) in endpoints.iter().enumerate() {
            let load = &endpoint.load;
            match slot(grid::SlotKind::WarmUp, side, i) {
                // No warm-up slot (warm-up 0 s), or one missed by joining late.
                Some(None) => {}
                None if options.grid.is_some() => {}
                Some(Some(start_ms)) => {
                    wait_until(start_ms).await;
                    warm_up(&engine, spec(i, side), plan(i, side), side, load, false).await;
                }
                None => {
                    let first = i == 0 && first_round == 0;
                    if let Some(fr) =
                        warm_up(&engine, spec(i, side), plan(i, side), side, load, first).await
                    {
                        runs[0].first_requests.push(fr);
                    }
                }
            }
            progress.step(&format!("{side} {}", endpoint.name));
        }
    }

    // Server-side records (Lambda REPORT lines) carry millisecond timestamps: a gap
    // keeps the first requests' records out of the first round's window.
    if first_round == 0 && options.grid.is_none() {
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let sides_measured = Side::BOTH.iter().filter(|s| has(**s)).count();
    progress.phase(
        "measure",
        (order.len() * sides_measured * endpoints.len()) as u64,
    );
    for (round, sides) in order.iter().enumerate() {
        for (position, &side) in sides.iter().filter(|s| has(**s)).enumerate() {
            for (i, endpoint) in endpoints.iter().enumerate() {
                let load = &endpoint.load;
                let number = first_round + round as u32;
                let kind = grid::SlotKind::Measure {
                    round: number,
                    position: position as u8,
                };
                // A slot reached after its start by more than a fiftieth of
                // its phase (the phase before it overran, or the machine was
                // busy) is not measured: started that late it would overlap the
                // other shards' windows too little to be merged.
                // Nor is the other side of a round with a side missed: the
                // round is left out by the merge, and the sides pair by round.
                let other_missed = runs[i].missed.iter().any(|m| m.round == number);
                let missed = other_missed
                    || match slot(kind, side, i) {
                        Some(None) => true,
                        Some(Some(start_ms)) => {
                            wait_until(start_ms).await;
                            let tolerance = load.duration.map_or(0, |d| d.as_millis() as i64 / 50);
                            unix_ms() - start_ms > tolerance.max(2)
                        }
                        None => false,
                    };
                if missed {
                    runs[i].missed.push(Missed {
                        round: number,
                        side,
                    });
                    progress.step(&format!(
                        "round {} {side} {}: missed{}",
                        number + 1,
                        endpoint.name,
                        if other_missed {
                            " (its round's other side was)"
                        } else {
                            " (reached after its slot began)"
                        }
                    ));
                    continue;
                }
                let pid = match side {
                    Side::Base => base.pid,
                    Side::Head => head.pid,
                };
                let cpu_time = |pid: Option<u32>| pid.zip(options.cpu_time).and_then(|(p, f)| f(p));
                let cpu_before = cpu_time(pid);
                let start_ms = unix_ms();
                plan(i, side).trace_round(Some(number));
                let outcome = load_phase(
                    &engine,
                    spec(i, side),
                    plan(i, side),
                    load,
                    load.duration,
                    load.requests,
                )
                .await;
                plan(i, side).trace_round(None);
                let end_ms = unix_ms();
                let cpu = cpu_before
                    .and_then(|before| cpu_time(pid).map(|after| after.saturating_sub(before)));
                let mut record = RoundRecord {
                    round: number,
                    side,
                    position: position as u8,
                    elapsed: outcome.elapsed,
                    data: outcome.recorder,
                    pacing: outcome.pacing,
                    window: Some(Window { start_ms, end_ms }),
                    cpu,
                    cost: None,
                    generator_cpu: outcome.generator_cpu,
                    generator_wait: outcome.generator_wait,
                    generator_throttled: outcome.generator_throttled,
                    generator_saturated: false,
                };
                record.generator_saturated = saturation::round_saturated(&record);
                runs[i].rounds.push(record);
                progress.step(&format!(
                    "round {}/{} {side} {}",
                    first_round as usize + round + 1,
                    first_round as usize + order.len(),
                    endpoint.name
                ));
            }
        }
    }
    progress.finish();
    // A round whose second side was missed gives up its first side too.
    for run in &mut runs {
        let gone: Vec<u32> = run.missed.iter().map(|m| m.round).collect();
        let (kept, dropped): (Vec<RoundRecord>, Vec<RoundRecord>) = std::mem::take(&mut run.rounds)
            .into_iter()
            .partition(|r| !gone.contains(&r.round));
        run.rounds = kept;
        run.missed.extend(dropped.iter().map(|r| Missed {
            round: r.round,
            side: r.side,
        }));
        run.missed.sort_by_key(|m| (m.round, m.side));
    }
    Ok(runs)
}

/// How long before a slot's start [`wait_until`] wakes, then naps a millisecond
/// at a time: on a busy machine a sleeping process can be woken tens of
/// milliseconds after its timer, so one long sleep would start the phase late.
const EARLY_WAKE_MS: i64 = 25;

/// Wait until `start_ms` (ms since the Unix epoch) on the wall clock; at once
/// when it has passed (the phase before overran its slot). The last
/// millisecond is yielded away rather than slept.
async fn wait_until(start_ms: i64) {
    let wait = start_ms - unix_ms();
    if wait > EARLY_WAKE_MS {
        tokio::time::sleep(Duration::from_millis((wait - EARLY_WAKE_MS) as u64)).await;
    }
    while start_ms - unix_ms() > 1 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    while unix_ms() < start_ms {
        tokio::task::yield_now().await;
    }
}

/// `Duration` as seconds (a float) in JSON.
pub(crate) mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// `Option<Duration>` as seconds in JSON.
pub(crate) mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|secs| Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladders_expand_into_one_endpoint_per_step() {
        let mut e = crate::demo::demo_config(crate::config::DeployConfig::Url {
            base: "http://127.0.0.1:1".into(),
            head: "http://127.0.0.1:2".into(),
            ready: crate::config::RemoteReady::default(),
        })
        .endpoints
        .remove(0);
        e.load.profile = Profile::Ladder {
            kind: LadderKind::Concurrency,
            steps: vec![1.0, 10.0],
            connections: 4,
        };
        let out = expand_ladders(&[e]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].name, "GET /orders @ 1 connection");
        assert_eq!(out[1].load.profile, Profile::Closed { connections: 10 });
    }

    #[test]
    fn order_is_reproducible_and_mixed() {
        let a = draw_order(40, 7);
        assert_eq!(a, draw_order(40, 7));
        assert!(a.contains(&[Side::Base, Side::Head]));
        assert!(a.contains(&[Side::Head, Side::Base]));
    }
}
