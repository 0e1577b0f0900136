//! The gate: one run end to end, in one place. [`run`] reads the gating config,
//! stands up the sides, measures and judges them ([`measure`]), right-sizes
//! ([`rightsize`]), applies the PR's acceptance, records the history branch's run,
//! writes the report and results once, and publishes. The CLI maps its arguments
//! to a [`Request`] and the [`Outcome`] to an exit code; a test runs the gate
//! in-process with a [`Context`] value.

pub(crate) mod accept;
mod deployer;
pub mod measure;
mod record;
pub mod rightsize;
mod stopped;

use std::path::PathBuf;

pub use deployer::{deployer_for, RunSite};
pub use measure::{
    measure, shutdown_signal, write_outputs, Judged, PipelineError, RunOptions, RunOutcome,
};
pub use stopped::{config_failed, stopped_early};

use crate::config::{self, Config, DeployConfig};
use crate::context::{Context, Trigger};
use crate::github::{self, GitHub};
use crate::judge::verdict::{exit, Level};
use crate::progress::Progress;
use crate::publish::{self, PublishOptions};
use crate::results::RunContext;

/// What to run: the command line's and the action's inputs, resolved.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The config file (on a pull request, the base commit's copy of it gates).
    pub config: PathBuf,
    /// Folder for `report.md` and `tailgate-results.json`.
    pub out_dir: PathBuf,
    /// Base's and head's URLs given outside the config.
    pub urls: config::ReadOptions,
    /// Git ref of base (default: the PR's base commit, else the config's, else `main`).
    pub base_ref: Option<String>,
    /// Git ref of head (default: the PR's head commit, else the config's, else `HEAD`).
    pub head_ref: Option<String>,
    /// Seed for the side order and the bootstrap (default: the config's, else random).
    pub seed: Option<u64>,
    /// Gate a release: head alone, judged by its SLOs.
    pub release_gate: bool,
    /// Record the run in the history as a run of the history branch.
    pub record: bool,
    /// Run one shard of the run.
    pub shard: Option<crate::shard::Shard>,
    /// The shared start of the shards.
    pub start: Option<crate::bench::SharedStart>,
    /// Print only the verdict line, not the whole report.
    pub quiet: bool,
}

/// What the gate uses besides its request.
#[derive(Debug)]
pub struct Deps {
    /// Progress on the terminal.
    pub progress: Progress,
    /// The GitHub client the results are published with (and the base commit's
    /// config read through); `None`: nothing is published.
    pub github: Option<GitHub>,
}

/// How the gate ended.
#[derive(Debug)]
pub struct Outcome {
    /// The process exit code (documented in `tailgate run --help`).
    pub code: i32,
    /// The run, when it got as far as measuring (not on a config error or a
    /// closed pull request).
    pub run: Option<RunOutcome>,
}

impl Outcome {
    fn stopped(code: i32) -> Outcome {
        Outcome { code, run: None }
    }
}

/// Run the gate for `request` where `ctx` says it runs.
pub async fn run(ctx: &Context, request: Request, deps: Deps) -> Outcome {
    let Deps { progress, github } = deps;
    let publishing = github.is_some() && request.shard.is_none();
    let gh = github.as_ref();
    // On a pull request the base commit's copy of the config gates: a PR cannot
    // loosen its own gate. Relative paths in it resolve against the config's folder.
    // `${NAME}` references in it are resolved now, from the workflow's environment.
    let repo_dir = ctx.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = &request.config;
    let read = &request.urls;
    let (mut config, gate) = if ctx.actions {
        let gate = match github::gate_config(ctx, path, &repo_dir, gh).await {
            Ok(gate) => gate,
            Err(err) => {
                eprintln!("tailgate: {err}");
                stopped_early(
                    ctx,
                    &format!(
                        "## tailgate: the config could not be read\n\n{}\n\nNothing was measured (exit code 2).",
                        crate::publish::workflow::cell(&err.to_string())
                    ),
                );
                return Outcome::stopped(exit::USAGE);
            }
        };
        let base_dir = repo_dir
            .join(path)
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| repo_dir.clone());
        match config::parse_with(&gate.gate.text, &gate.gate.source, &base_dir, read) {
            Ok(config) => (config, Some((gate, base_dir))),
            Err(err) => {
                let file = github::gate_config::repo_relative(path, &repo_dir);
                return Outcome::stopped(config_failed(ctx, &err, &file, &gate.gate.source));
            }
        }
    } else {
        match config::load_with(path, read) {
            Ok(c) => (c, None),
            Err(err) => {
                eprintln!("{err}");
                return Outcome::stopped(exit::USAGE);
            }
        }
    };
    // Before anything is printed: the runner hides these values in the log from now on.
    if ctx.actions {
        for line in config.secrets.mask_commands() {
            println!("{line}");
        }
    }
    if request.seed.is_some() {
        config.compare.seed = request.seed;
    }
    // A closed pull request has nothing to gate: delete its preview stacks instead.
    if let Some(number) = closed_pull_request(ctx) {
        return Outcome::stopped(closed(&config, ctx, number).await);
    }
    // Pushes, tags, releases, manual and scheduled runs gate a release: head alone,
    // judged by its SLOs.
    // A recorded run measures what a push to the history branch measures: head
    // alone, so every stored run of the branch was measured the same way.
    let release =
        request.release_gate || request.record || matches!(ctx.trigger, Trigger::Release { .. });
    if request.record
        && !request.release_gate
        && (request.base_ref.is_some() || read.base_url.is_some())
    {
        eprintln!(
            "tailgate: --record measures head alone, as a push to the history branch does: base is not deployed"
        );
    }
    let pr = ctx.pull_request();
    // A pull request's or a merge group's commits.
    let compared = ctx.compared();
    let base_ref = request
        .base_ref
        .clone()
        .or_else(|| compared.map(|c| c.base_sha.to_string()));
    let head_ref = request
        .head_ref
        .clone()
        .or_else(|| compared.map(|c| c.head_sha.to_string()));
    // traces (issue 27): the OTLP receiver listens before the sides are deployed.
    let tracing = start_tracing(&config, &progress).await;
    let site = RunSite {
        repo: ctx.repo.as_ref().map(|r| r.full_name()),
        pr: pr.map(|p| p.number),
        traces: tracing.as_ref().map(|t| t.export()),
    };
    let (deployer, base_label, head_label) =
        deployer_for(&config, base_ref.clone(), head_ref.clone(), &site).await;
    // A shard: the whole run's hash and load in words, then its share of the load.
    let mut shard_info = None;
    if let Some(shard) = request.shard {
        match sharded(&config, deployer.name(), shard, request.start.as_ref()) {
            Ok((split, info)) => {
                config = split;
                shard_info = Some(info);
            }
            Err(err) => {
                eprintln!("tailgate: {err}");
                return Outcome::stopped(exit::USAGE);
            }
        }
    }
    let mut context = if ctx.actions {
        ctx.run_context()
    } else {
        RunContext {
            kind: "local".into(),
            base_label,
            head_label,
            ..RunContext::default()
        }
    };
    if let Some((gate, _)) = &gate {
        context.config = Some(gate.note.clone());
    }
    if release {
        context.kind = "release".into();
    }
    // History: the stored baseline (`baseline: stored`), the trend and the noise
    // floors of the branch's runs.
    // A shard measures a share of the load: it neither reads nor records history.
    let history = match request.shard {
        Some(_) => None,
        None => crate::history::History::open(&config.history, ctx.default_branch.as_deref()).await,
    };
    let plan = match &history {
        Some(h) => {
            let environment =
                crate::history::Environment::current(&config, ctx.runner.clone(), deployer.name());
            let stored = config.history.baseline == config::Baseline::Stored && !release;
            let candidates = match stored {
                true => {
                    let base = base_ref.clone().unwrap_or_else(|| "main".into());
                    Some(crate::history::candidates(&repo_dir, &base, head_ref.as_deref()).await)
                }
                false => None,
            };
            Some(crate::history::plan(h, &config, &environment, candidates.as_deref()).await)
        }
        None => None,
    };
    let options = RunOptions {
        server_side: Default::default(),
        out_dir: request.out_dir.clone(),
        context,
        release,
        history: plan,
        shard: shard_info.clone(),
        start: request.start.clone(),
        traces: tracing,
    };
    let mut judged = measure::judged(&config, deployer.as_ref(), &options, &progress).await;
    progress.finish();

    // Right-sizing: head once more per value of the swept parameter.
    if let (DeployConfig::CloudFormation(stack), false, None) =
        (&config.deploy, release, &shard_info)
    {
        if let (Some(sweep), Some(clients)) = (&stack.sweep, deployer.aws_clients()) {
            if judged.results.verdict.level != Level::Error {
                let context = crate::deploy::StackContext {
                    repo: site.repo.clone().unwrap_or_else(|| "local/repo".into()),
                    pr: site.pr,
                    base_sha: base_ref.clone().unwrap_or_else(|| "main".into()),
                    head_sha: head_ref.clone().unwrap_or_else(|| "HEAD".into()),
                };
                let table = rightsize::run(
                    &config,
                    stack,
                    sweep,
                    &context,
                    clients,
                    &config.base_dir,
                    &options,
                    &progress,
                )
                .await;
                progress.finish();
                if let Err(e) = std::fs::create_dir_all(&request.out_dir).and_then(|()| {
                    std::fs::write(
                        rightsize::table_path(&request.out_dir),
                        serde_json::to_string_pretty(&table).unwrap_or_default(),
                    )
                }) {
                    eprintln!("tailgate: writing the right-sizing table: {e}");
                }
                judged.results.rightsizing = Some(table);
            }
        }
    }

    // A config changed by the PR does not change the verdict; the report says what
    // the PR's copy would have decided.
    if let Some((gate, base_dir)) = &gate {
        if let (Some(head), false) = (&gate.head, judged.results.verdict.level == Level::Error) {
            if let Ok(head_cfg) = config::parse_with(&head.text, &head.source, base_dir, read) {
                let level =
                    crate::judge::verdict::decide(&head_cfg, &judged.results.comparisons).level;
                if let Some(note) = judged.results.context.config.as_mut() {
                    note.head_verdict = Some(level);
                }
            }
        }
    }
    // A known regression accepted by the PR's label, for this head commit only
    // (not by a shard: its verdict is not the run's).
    if let (Some(label), Some(pr), None) = (&config.accept_label, pr, &shard_info) {
        accept::accept(ctx, label, pr, history.as_ref(), &mut judged.results).await;
    }
    // Runs of the history branch are recorded for the runs after them.
    if request.record && history.is_none() && request.shard.is_none() {
        eprintln!("tailgate: --record: the config keeps no history (`history: {{ store: ... }}`): nothing recorded");
    }
    if let Some(h) = &history {
        if request.record || record::on_history_branch(ctx, h.branch()) {
            record::record(
                &config,
                h,
                &repo_dir,
                head_ref.as_deref(),
                &mut judged.results,
                &progress,
            )
            .await;
        }
    }

    // The one writing of the report and the results.
    let outcome = match judged.write(&config, &request.out_dir) {
        Ok(o) => o,
        Err(err) => {
            eprintln!("tailgate: {}", config.secrets.redact(&err.to_string()));
            return Outcome::stopped(exit::ERROR);
        }
    };
    if !request.quiet {
        // The job log is plain text: no markdown escapes.
        println!("{}", crate::report::escape::plain(&outcome.markdown));
    }
    let v = &outcome.results.verdict;
    if let Some(error) = &v.error {
        eprintln!("tailgate: the run failed: {error}");
    }
    eprintln!(
        "tailgate: verdict {} (exit {}); report {}, results {}",
        v.level.as_str(),
        outcome.exit_code(),
        outcome.markdown_path.display(),
        outcome.results_path.display()
    );
    if publishing {
        let mut opts = PublishOptions::from_context(ctx);
        opts.results_path = Some(outcome.results_path.clone());
        // A cancelled job stops publishing at once: the summary is written first
        // and the results and report are on disk already.
        tokio::select! {
            _ = publish::publish(ctx, &outcome.results, &outcome.markdown, &opts) => {}
            _ = shutdown_signal() => {
                eprintln!(
                    "tailgate: interrupted while publishing; the results and report are in {}",
                    request.out_dir.display()
                );
                return Outcome { code: exit::INTERRUPTED, run: Some(outcome) };
            }
        }
    }
    let code = if outcome.results.shard.is_some() && outcome.exit_code() == exit::FAIL {
        // Its share alone decides nothing: the merge does.
        exit::PASS
    } else {
        outcome.exit_code()
    };
    Outcome {
        code,
        run: Some(outcome),
    }
}

/// traces (issue 27): the run's receiver when `traces:` is on; one that cannot
/// bind is a warning, not a failed run.
async fn start_tracing(
    config: &Config,
    progress: &Progress,
) -> Option<std::sync::Arc<crate::traces::Tracing>> {
    if !config.traces.enabled {
        return None;
    }
    match crate::traces::Tracing::start(&config.traces, config.compare.rounds).await {
        Ok(t) => {
            progress.log(&format!("traces: OTLP/HTTP receiver at {}", t.endpoint()));
            Some(std::sync::Arc::new(t))
        }
        Err(e) => {
            progress.log(&format!(
                "warning: traces: cannot listen on {}: {e}; measuring without traces",
                config.traces.listen
            ));
            None
        }
    }
}

/// The config of `shard` (its share of the load) and what its results record.
fn sharded(
    config: &Config,
    deployer: &str,
    shard: crate::shard::Shard,
    start: Option<&crate::bench::SharedStart>,
) -> Result<(Config, crate::results::ShardInfo), String> {
    let seed = config
        .compare
        .seed
        .ok_or(crate::shard::ShardError::NoSeed(shard))
        .map_err(|e| e.to_string())?;
    let split = shard.split(config).map_err(|e| e.to_string())?;
    if let Some(start) = start {
        // Every round needs a known length to be on the grid: refused before
        // anything is deployed.
        let order = crate::bench::draw_order(split.compare.rounds, seed);
        crate::bench::Grid::new(start.start_ms, &split.endpoints, &order, |_| true)
            .map_err(|e| e.to_string())?;
    }
    let info = crate::results::ShardInfo {
        index: Some(shard.index()),
        count: shard.count(),
        config_hash: crate::fingerprint::run(config, deployer, seed),
        profiles: crate::bench::expand_ladders(&config.endpoints)
            .iter()
            .map(|e| crate::bench::describe_load(&e.load))
            .collect(),
        start: None,
        together: None,
    };
    Ok((split, info))
}

/// The number of the pull request a `pull_request` `closed` event closed.
fn closed_pull_request(ctx: &Context) -> Option<u64> {
    match &ctx.trigger {
        Trigger::PullRequest { pr, .. } if ctx.event_action.as_deref() == Some("closed") => {
            Some(pr.number)
        }
        _ => None,
    }
}

/// On a closed pull request: delete its stacks (the `cloudformation` deployer), then
/// exit 0 without measuring anything.
async fn closed(config: &Config, ctx: &Context, number: u64) -> i32 {
    let DeployConfig::CloudFormation(stack) = &config.deploy else {
        println!("tailgate: pull request #{number} is closed: nothing to gate");
        return exit::PASS;
    };
    println!("tailgate: pull request #{number} is closed: deleting its preview stacks");
    let clients = crate::aws::AwsClients::load(&crate::aws::ClientOptions {
        region: stack.region.clone(),
        ..Default::default()
    })
    .await;
    let request = crate::deploy::cloudformation::reap::ReapRequest {
        repo: ctx.repo.as_ref().map(|r| r.full_name()),
        closed_prs: vec![number],
        now: time::OffsetDateTime::now_utc(),
        dry_run: false,
    };
    let polling = crate::deploy::cloudformation::stack::Polling {
        timeout: stack.timeout,
        interval: stack.poll_interval,
    };
    if crate::deploy::cloudformation::reap::reap_and_print(&clients, &request, polling).await {
        exit::PASS
    } else {
        exit::ERROR
    }
}
