//! The measuring of one run: deploy -> bench -> compare -> verdict -> report, with
//! teardown on every exit path (success, failure, Ctrl-C / SIGTERM).
//!
//! A run that fails still produces an `error` verdict, a report and a results file:
//! nothing is lost.

use std::path::{Path, PathBuf};

use crate::bench::{self, EndpointRun};
use crate::config::Config;
use crate::deploy::{Deployer, Target, TeardownList};
use crate::judge::verdict::{self, EndpointComparison, EndpointLimits, Verdict};
use crate::progress::Progress;
use crate::report::{build_view, render_markdown};
use crate::results::RunContext;
use crate::results::{RunResults, Settings, TargetInfo, SCHEMA};
use crate::server_side::ServerStage;
use crate::side::Side;
use crate::stats;

/// What a run needs besides the config and the deployer.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// How long to wait for Lambda logs, and whether to read X-Ray (stacks only).
    pub server_side: crate::server_side::ServerSideOptions,
    /// Folder the markdown and the JSON results are written to (created if needed).
    pub out_dir: PathBuf,
    /// Where the run happens.
    pub context: RunContext,
    /// A release gate: deploy and measure head alone and judge it by its SLOs only
    /// (there is no base to compare with).
    pub release: bool,
    /// What the history hands the run: a stored baseline (then only head is
    /// deployed), learned noise floors, the trend for the report.
    pub history: Option<crate::history::Plan>,
    /// A shard of a run (`--shard`): what its results record. The run fills in
    /// how it met the shared start.
    pub shard: Option<crate::results::ShardInfo>,
    /// A shared start (`--start-at`): every phase on the grid from T0.
    pub start: Option<bench::SharedStart>,
    /// traces (issue 27): the run's OTLP receiver, started before the deploy.
    pub traces: Option<std::sync::Arc<crate::traces::Tracing>>,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// Everything measured and decided.
    pub results: RunResults,
    /// The rendered report (PR comment / job summary / terminal).
    pub markdown: String,
    /// Where the markdown was written.
    pub markdown_path: PathBuf,
    /// Where the JSON results were written.
    pub results_path: PathBuf,
    /// Whether the run was interrupted by a signal.
    pub interrupted: bool,
    /// Teardown failures, as `(what, error)` messages.
    pub teardown_failures: Vec<String>,
}

impl RunOutcome {
    /// The exit code of the run.
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            verdict::exit::INTERRUPTED
        } else {
            self.results.verdict.exit_code()
        }
    }
}

/// Why the run could not write its outputs.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Writing the report or results failed.
    #[error("could not write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A template failed.
    #[error(transparent)]
    Render(#[from] crate::report::RenderError),
}

enum Stage {
    Done(Vec<Target>, Box<Measured>),
    Failed(Vec<Target>, String),
}

/// Rounds measured and judged.
struct Measured {
    runs: Vec<EndpointRun>,
    server: ServerStage,
    comparisons: Vec<EndpointComparison>,
    verdict: Verdict,
    /// 1, or 2 when the run bought its extension.
    looks: u32,
    /// How the run met the shared start, when it had one.
    start: Option<crate::results::ShardStart>,
    /// traces (issue 27): the spans received over the rounds.
    traces: Option<crate::results::TracesResults>,
}

/// The limits in force: SLOs only for a release gate.
fn limits_for(config: &Config, release: bool) -> Vec<EndpointLimits> {
    let limits = verdict::limits_of(config);
    if release {
        verdict::slo_only(&limits)
    } else {
        limits
    }
}

/// Compare and decide `runs`, at the confidence of one look of `planned_looks`.
fn judge(
    config: &Config,
    release: bool,
    runs: &[EndpointRun],
    seed: u64,
    planned_looks: u32,
) -> (Vec<EndpointComparison>, Verdict) {
    let limits = limits_for(config, release);
    let mut compare = config.compare.clone();
    if planned_looks > 1 {
        match stats::per_look_confidence(compare.confidence, planned_looks) {
            Ok(c) => compare.confidence = c,
            Err(e) => return (Vec::new(), Verdict::error(config.mode, e.to_string())),
        }
    }
    match crate::judge::judge(runs, &limits, config.mode, &compare, seed) {
        Ok(judged) => judged,
        Err(err) => (Vec::new(), Verdict::error(config.mode, err.to_string())),
    }
}

/// Completes when the process gets SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The server-side stage, with its warnings logged.
async fn server_stage(
    config: &Config,
    deployer: &dyn Deployer,
    targets: &[Target],
    runs: &mut [EndpointRun],
    options: &RunOptions,
    progress: &Progress,
) -> ServerStage {
    if deployer.aws_clients().is_some() {
        progress.log("reading the functions' REPORT lines");
    }
    let stage = crate::server_side::run(
        config,
        targets,
        runs,
        deployer.aws_clients(),
        options.server_side,
    )
    .await;
    for warning in &stage.warnings {
        progress.log(&format!("warning: {warning}"));
    }
    stage
}

#[expect(clippy::too_many_arguments, reason = "the run's state, passed once")]
async fn deploy_and_measure(
    config: &Config,
    deployer: &dyn Deployer,
    cleanup: &TeardownList,
    order: &[[Side; 2]],
    seed: u64,
    options: &RunOptions,
    progress: &Progress,
    targets: &tokio::sync::Mutex<Vec<Target>>,
) -> Result<Measured, String> {
    let release = options.release;
    let stored = options.history.as_ref().and_then(|p| p.baseline.as_ref());
    let sides: &[Side] = if release || stored.is_some() {
        &[Side::Head]
    } else {
        &Side::BOTH
    };
    progress.phase("deploy", sides.len() as u64);
    let poller = match deployer.readiness() {
        Some(ready) => Some((
            ready,
            crate::deploy::ReadinessPoller::new(&config.tls)
                .map_err(|e| format!("deploying failed: {e}"))?,
        )),
        None => None,
    };
    let poller = &poller;
    let deploy_one = |side: Side| async move {
        let target = deployer
            .deploy(side, cleanup)
            .await
            .map_err(|e| format!("deploying {side} failed: {e}"))?;
        // Listed before the poll, so the results name a side that never answered.
        targets.lock().await.push(target.clone());
        if let Some((ready, poller)) = poller {
            progress.step(&config.secrets.redact(&format!(
                "{side} deployed; waiting until {} answers",
                target.base_url
            )));
            poller
                .wait(side, &target.base_url, ready)
                .await
                .map_err(|e| format!("deploying {side} failed: {e}"))?;
        }
        progress.step(
            &config
                .secrets
                .redact(&format!("{side} ready at {}", target.base_url)),
        );
        Ok::<(), String>(())
    };
    if deployer.parallel_sides() && sides.len() == 2 {
        // Both stacks at once: a stack takes minutes. Each side's resources are
        // registered for teardown as they are created, whichever side fails.
        let (base, head) = tokio::join!(deploy_one(sides[0]), deploy_one(sides[1]));
        base.and(head)?;
    } else {
        for &side in sides {
            deploy_one(side).await?;
        }
    }
    progress.finish();
    // Base first, whatever order the sides came up in.
    targets.lock().await.sort_by_key(|t| t.side != Side::Base);
    let deployed = targets.lock().await.clone();
    let mut client = bench::MeasureOptions {
        cpu_time: Some(crate::server_side::cpu::process_time),
        // traces (issue 27): a sampled `traceparent` on the measured requests.
        traces: options.traces.as_ref().map(|t| t.sampling()),
        ..bench::MeasureOptions::from_config(config)
    };
    let mut start_note = None;
    if let Some(start) = &options.start {
        let (grid, note) = shared_start(config, start, order, &deployed, options, progress).await?;
        client.grid = Some(grid);
        start_note = Some(note);
    }
    let started = std::time::Instant::now();
    let looks = config.compare.looks();
    let mut runs: Vec<EndpointRun> = Vec::new();
    let mut active: Vec<usize> = (0..config.endpoints.len()).collect();
    let mut measured = 0usize;
    for (k, &upto) in looks.rounds().iter().enumerate() {
        let upto = (upto as usize).min(order.len());
        let endpoints: Vec<crate::config::Endpoint> = active
            .iter()
            .map(|&i| config.endpoints[i].clone())
            .collect();
        let more = bench::measure(
            &deployed,
            &endpoints,
            &order[measured..upto],
            measured as u32,
            &client,
            progress,
        )
        .await
        .map_err(|e| format!("benchmarking failed: {e}"))?;
        if runs.is_empty() {
            runs = more;
        } else {
            for (&i, extra) in active.iter().zip(more) {
                runs[i].rounds.extend(extra.rounds);
            }
        }
        measured = upto;
        let last = k + 1 == looks.rounds().len() || measured >= order.len();
        let decided = if last || !config.compare.sequential() {
            Vec::new()
        } else {
            let (comparisons, _) = judge(config, release, &runs, seed, 1);
            let limits = limits_for(config, release);
            active
                .iter()
                .copied()
                .filter(|&i| {
                    comparisons
                        .iter()
                        .find(|c| c.endpoint == runs[i].name)
                        .is_some_and(|c| verdict::decided(c, &limits, config.compare.rounds))
                })
                .collect()
        };
        for &i in &decided {
            runs[i].stop = Some(bench::Stop {
                rounds: measured as u32,
                reason: bench::StopReason::Decided,
                elapsed_ms: started.elapsed().as_millis() as u64,
            });
            progress.log(&format!(
                "{}: decided after {measured} of {} rounds",
                runs[i].name,
                order.len()
            ));
        }
        active.retain(|i| !decided.contains(i));
        if last || active.is_empty() {
            break;
        }
    }
    for &i in &active {
        runs[i].stop = Some(bench::Stop {
            rounds: measured as u32,
            reason: bench::StopReason::MostRounds,
            elapsed_ms: started.elapsed().as_millis() as u64,
        });
    }
    // traces (issue 27): the last round's spans, then the receiver closes.
    let traces = match &options.traces {
        Some(t) => Some(collect_traces(t, &runs, deployer.name(), progress).await),
        None => None,
    };
    let server = server_stage(config, deployer, &deployed, &mut runs, options, progress).await;
    if let (Some(stored), false) = (stored, release) {
        with_stored_baseline(&mut runs, stored);
    }
    let (comparisons, verdict) = judge(config, release, &runs, seed, 1);
    Ok(Measured {
        runs,
        server,
        comparisons,
        verdict,
        looks: 1,
        start: start_note,
        traces,
    })
}

/// traces (issue 27): wait for the last spans (shorter when the sides were told a
/// short batch delay) and fold them per endpoint, side and round.
async fn collect_traces(
    tracing: &crate::traces::Tracing,
    runs: &[EndpointRun],
    deployer: &str,
    progress: &Progress,
) -> crate::results::TracesResults {
    progress.log("waiting for the last spans");
    let quiet = match deployer {
        "local" | "command" => std::time::Duration::from_secs(1),
        _ => std::time::Duration::MAX,
    };
    let names: Vec<String> = runs.iter().map(|r| r.name.clone()).collect();
    let traces = tracing.collect(&names, quiet).await;
    for note in &traces.notes {
        progress.log(&format!("traces: {note}"));
    }
    traces
}

/// The grid of a shared start and where this run joins it, after the deploy:
/// the target's clock offset is read from its `Date` headers first (it takes about
/// a second), then a run later than T0 joins at the next slot, or fails when it is
/// later than `--max-late`.
async fn shared_start(
    config: &Config,
    start: &bench::SharedStart,
    order: &[[Side; 2]],
    deployed: &[Target],
    options: &RunOptions,
    progress: &Progress,
) -> Result<((bench::Grid, bench::Join), crate::results::ShardStart), String> {
    let who = match options
        .shard
        .as_ref()
        .and_then(|s| s.index.map(|i| (i, s.count)))
    {
        Some((i, n)) => format!("shard {i}/{n}"),
        None => "this run".to_string(),
    };
    let has = |side: Side| deployed.iter().any(|t| t.side == side);
    let grid = bench::Grid::new(start.start_ms, &config.endpoints, order, has)
        .map_err(|e| e.to_string())?;
    // The clock is read only while there is time before T0.
    let (clock, clock_error) = match deployed.iter().find(|t| t.side == Side::Head) {
        Some(head) if bench::unix_ms() + 2_000 < start.start_ms => {
            let probe = async {
                let poller = crate::deploy::ReadinessPoller::new(&config.tls)?;
                // Done a second before T0: the run still sets up its
                // connections and first requests before the first slot.
                poller
                    .clock_offset(&head.base_url, start.start_ms - 1_000)
                    .await
            };
            match probe.await {
                Ok(offset) => {
                    progress.log(&format!(
                        "the target's clock is {:+.0} ms ± {:.0} ms from this machine's (its Date headers)",
                        offset.offset_ms, offset.uncertainty_ms
                    ));
                    (Some(offset), None)
                }
                Err(e) => (None, Some(config.secrets.redact(&e))),
            }
        }
        _ => (
            None,
            Some("not read: the run reached the shared start with less than 2 s to spare".into()),
        ),
    };
    let join = grid
        .join(bench::unix_ms(), start, &who)
        .map_err(|e| e.to_string())?;
    if join.late_ms > 0 {
        progress.log(&format!(
            "{who} is {} late for the shared start: it joins at slot {} of {} and misses the rounds before it",
            crate::format::duration(std::time::Duration::from_millis(join.late_ms as u64)),
            join.first + 1,
            grid.slots().len()
        ));
    }
    let note = crate::results::ShardStart {
        start_at: start.given.clone(),
        late_ms: join.late_ms as u64,
        clock,
        clock_error,
    };
    Ok(((grid, join), note))
}

/// Add the stored baseline's rounds to head's, endpoint by endpoint (by name), the
/// same number of rounds on each side (the first ones of the longer side).
fn with_stored_baseline(
    runs: &mut [EndpointRun],
    stored: &std::collections::BTreeMap<String, Vec<bench::RoundRecord>>,
) {
    for run in runs {
        let Some(base) = stored.get(&run.name) else {
            continue;
        };
        let mut head: Vec<bench::RoundRecord> = run.side(Side::Head).cloned().collect();
        let mut base = base.clone();
        head.sort_by_key(|r| r.round);
        base.sort_by_key(|r| r.round);
        let n = head.len().min(base.len());
        head.truncate(n);
        base.truncate(n);
        for (i, (b, h)) in base.iter_mut().zip(head.iter_mut()).enumerate() {
            b.round = i as u32;
            h.round = i as u32;
        }
        run.rounds = base.into_iter().chain(head).collect();
        run.rounds.sort_by_key(|r| (r.round, r.side != Side::Base));
    }
}

/// Run the whole pipeline for `config` with `deployer` and write its report and
/// results into `options.out_dir`. Never leaves anything running: teardown runs
/// before this returns, whatever happened.
pub async fn measure(
    config: &Config,
    deployer: &dyn Deployer,
    options: &RunOptions,
    progress: &Progress,
) -> Result<RunOutcome, PipelineError> {
    let judged = judged(config, deployer, options, progress).await;
    judged.write(config, &options.out_dir)
}

/// A run measured and judged, not yet written: the gate adds what comes after the
/// measuring (right-sizing, acceptance, the history record) before it writes once.
#[derive(Debug)]
pub struct Judged {
    /// Everything measured and decided.
    pub results: RunResults,
    /// Whether the run was interrupted by a signal.
    pub interrupted: bool,
    /// Teardown failures, as `(what, error)` messages.
    pub teardown_failures: Vec<String>,
}

impl Judged {
    /// Render the report and write it with the results into `dir`, with every
    /// secret from `${NAME}` replaced by its name (an error text may quote a URL
    /// or a header, for instance): the one writing of a run's outputs.
    pub fn write(self, config: &Config, dir: &Path) -> Result<RunOutcome, PipelineError> {
        let results =
            config
                .secrets
                .redact_all(&self.results)
                .map_err(|e| PipelineError::Write {
                    path: dir.join("tailgate-results.json"),
                    source: std::io::Error::other(e),
                })?;
        let markdown = render_markdown(&build_view(&results))?;
        let (markdown_path, results_path) = write_outputs(dir, &results, &markdown)?;
        Ok(RunOutcome {
            results,
            markdown,
            markdown_path,
            results_path,
            interrupted: self.interrupted,
            teardown_failures: self.teardown_failures,
        })
    }
}

/// Deploy, measure and judge `config` with `deployer`, and tear down. Never
/// leaves anything running: teardown runs before this returns, whatever happened.
pub async fn judged(
    config: &Config,
    deployer: &dyn Deployer,
    options: &RunOptions,
    progress: &Progress,
) -> Judged {
    let started_at = crate::results::now_rfc3339();
    let seed = config.compare.seed.unwrap_or_else(rand::random);
    let order = bench::draw_order(config.compare.rounds, seed);
    // Ladder endpoints are gated step by step.
    let expanded;
    let config = if config
        .endpoints
        .iter()
        .any(|e| matches!(e.load.profile, crate::config::Profile::Ladder { .. }))
    {
        expanded = Config {
            endpoints: bench::expand_ladders(&config.endpoints),
            ..config.clone()
        };
        &expanded
    } else {
        config
    };
    // A release gate or a stored baseline is decided once, at the end: nothing to
    // stop early against.
    let fixed;
    let config = if config.compare.sequential()
        && (options.release
            || options.start.is_some()
            || options
                .history
                .as_ref()
                .is_some_and(|p| p.baseline.is_some()))
    {
        fixed = Config {
            compare: crate::config::CompareConfig {
                min_rounds: config.compare.rounds,
                ..config.compare.clone()
            },
            ..config.clone()
        };
        &fixed
    } else {
        config
    };
    // Noise floors learned from the history, per endpoint.
    let with_floors;
    let config = match &options.history {
        Some(plan) if !plan.floors.is_empty() => {
            with_floors = Config {
                compare: crate::config::CompareConfig {
                    endpoint_floors: plan.floors.clone(),
                    ..config.compare.clone()
                },
                ..config.clone()
            };
            &with_floors
        }
        _ => config,
    };
    let cleanup = TeardownList::new();
    let targets = tokio::sync::Mutex::new(Vec::new());

    let mut interrupted = false;
    let stage = tokio::select! {
        result = deploy_and_measure(config, deployer, &cleanup, &order, seed, options, progress, &targets) => {
            let targets = targets.lock().await.clone();
            match result {
                Ok(measured) => Stage::Done(targets, Box::new(measured)),
                Err(message) => Stage::Failed(targets, message),
            }
        }
        _ = shutdown_signal() => {
            interrupted = true;
            progress.finish();
            progress.log("interrupted: tearing down");
            let targets = targets.lock().await.clone();
            Stage::Failed(targets, "the run was interrupted (SIGINT/SIGTERM) before it finished".into())
        }
    };

    if !cleanup.is_empty() {
        progress.log(&format!("teardown of {} resources", cleanup.len()));
    }
    let teardown_failures: Vec<String> = cleanup
        .teardown_all()
        .await
        .into_iter()
        .map(|(what, err)| format!("{what}: {err}"))
        .collect();
    let teardown_failures: Vec<String> = teardown_failures
        .iter()
        .map(|f| config.secrets.redact(f))
        .collect();
    for failure in &teardown_failures {
        progress.log(&format!("teardown failed: {failure}"));
    }

    let (targets, endpoints, comparisons, verdict, looks, server, start, traces) = match stage {
        Stage::Done(targets, m) => (
            targets,
            m.runs,
            m.comparisons,
            m.verdict,
            m.looks,
            m.server,
            m.start,
            m.traces,
        ),
        Stage::Failed(targets, message) => {
            let verdict = Verdict::error(config.mode, message);
            (
                targets,
                Vec::new(),
                Vec::new(),
                verdict,
                1,
                ServerStage::default(),
                None,
                None,
            )
        }
    };

    let results = RunResults {
        schema: SCHEMA.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at,
        context: options.context.clone(),
        settings: Settings {
            looks,
            ..Settings::new(config, deployer.name(), seed)
        },
        targets: targets.iter().map(TargetInfo::from).collect(),
        order,
        endpoints,
        comparisons,
        limits: limits_for(config, options.release),
        verdict,
        cost: server.cost,
        server: server.server,
        warnings: server.warnings,
        history: options.history.as_ref().map(|p| p.note.clone()),
        acceptance: None,
        rightsizing: None,
        shard: options.shard.clone().map(|info| crate::results::ShardInfo {
            start: start.or(info.start),
            ..info
        }),
        traces,
    };
    Judged {
        results,
        interrupted,
        teardown_failures,
    }
}

/// Write `report.md` and `tailgate-results.json` into `dir`.
pub fn write_outputs(
    dir: &Path,
    results: &RunResults,
    markdown: &str,
) -> Result<(PathBuf, PathBuf), PipelineError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PipelineError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let md = dir.join("report.md");
    std::fs::write(&md, markdown).map_err(write_err(&md))?;
    let json = dir.join("tailgate-results.json");
    // Each check in words beside its numbers, for the file's readers.
    let mut worded = results.clone();
    crate::report::checks::word(&mut worded.verdict);
    crate::results::write(&json, &worded).map_err(write_err(&json))?;
    Ok((md, json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::{ChangeState, Metric, MetricComparison};
    use crate::stats::estimable::NotEstimable as Why;

    fn cmp(states: &[(Metric, ChangeState, Option<Why>)]) -> EndpointComparison {
        EndpointComparison {
            endpoint: "a".into(),
            metrics: states
                .iter()
                .map(|&(metric, state, not_estimable)| MetricComparison {
                    metric,
                    base: None,
                    head: None,
                    change: None,
                    state,
                    mde: None,
                    not_estimable,
                })
                .collect(),
        }
    }

    fn limits() -> Vec<EndpointLimits> {
        vec![EndpointLimits {
            name: "a".into(),
            slo: Default::default(),
            budget: crate::config::Budget {
                p50: Some(crate::config::Fraction(0.1)),
                p99: Some(crate::config::Fraction(0.1)),
                ..Default::default()
            },
            currency: crate::cost::Currency::USD,
        }]
    }

    #[test]
    fn an_endpoint_stops_when_its_gated_checks_are_decided() {
        use ChangeState::*;
        let l = limits();
        assert!(verdict::decided(
            &cmp(&[
                (Metric::P50, Unchanged, None),
                (Metric::P99, Regressed, None)
            ]),
            &l,
            24
        ));
        // An inconclusive gated check keeps it measured; an ungated one does not.
        assert!(!verdict::decided(
            &cmp(&[
                (Metric::P50, Unchanged, None),
                (Metric::P99, Inconclusive, None)
            ]),
            &l,
            24
        ));
        assert!(verdict::decided(
            &cmp(&[
                (Metric::P50, Improved, None),
                (Metric::P95, Inconclusive, None),
                (Metric::P99, Unchanged, None)
            ]),
            &l,
            24
        ));
        // A gated metric the look cannot compare yet (cost is priced after the
        // measuring) keeps the endpoint measured.
        assert!(!verdict::decided(
            &cmp(&[(Metric::P50, Unchanged, None)]),
            &l,
            24
        ));
        let mut with_cost = limits();
        with_cost[0].budget.cost = Some(crate::config::Fraction(0.05));
        assert!(!verdict::decided(
            &cmp(&[
                (Metric::P50, Unchanged, None),
                (Metric::P99, Regressed, None)
            ]),
            &with_cost,
            24
        ));
        // Not estimable: more rounds may make it so, unless even the most rounds
        // are too few.
        let few = |per_round| {
            Some(Why {
                per_round,
                needed: 1_000,
                rounds: 4,
            })
        };
        assert!(!verdict::decided(
            &cmp(&[
                (Metric::P50, Unchanged, None),
                (Metric::P99, NotEstimable, few(100))
            ]),
            &l,
            24
        ));
        assert!(verdict::decided(
            &cmp(&[
                (Metric::P50, Unchanged, None),
                (Metric::P99, NotEstimable, few(20))
            ]),
            &l,
            24
        ));
    }
}
