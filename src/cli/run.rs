//! `tailgate run` (the gate) and `tailgate check` (the config alone).

use std::path::PathBuf;

use super::{load_config, load_config_with};
use crate::config::{self, Config, DeployConfig};
use crate::context::RunContext;
use crate::context::{Context, Trigger};
use crate::deploy::{
    CloudFormationDeployer, CommandContext, CommandDeployer, Deployer, LocalDeployer, StackContext,
    UrlDeployer,
};
use crate::github;
use crate::judge::verdict::{exit, Level};
use crate::pipeline::{self, RunOptions};
use crate::progress::{Progress, ProgressMode};
use crate::publish::{self, PublishOptions};
use crate::report::{build_view, render_markdown};

/// `tailgate run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes:\n  0    the gate passed or warned, or advisory mode; a shard (--shard) that measured\n  1    the gate failed in blocking mode\n  2    bad config or command-line usage (e.g. --shard 5/4, --shard 2/4 without --start-at)\n  3    the run itself failed (deploy, unreachable target, I/O; a shard later than --max-late after --start-at)\n  130  interrupted (SIGINT/SIGTERM), after teardown\n\nExamples:\n  tailgate run --config tailgate.yml\n  tailgate run --shard 2/4 --seed 42 --start-at 2026-12-05T23:50:00Z --out shard-2   # then: tailgate merge shard-*"
)]
pub struct RunArgs {
    /// The config file (default: the action's `config` input, else `tailgate.yml`).
    /// On a pull request the base commit's copy of it gates.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Folder for the report (`report.md`) and results (`tailgate-results.json`)
    /// (default: the action's `out_dir` input, else `tailgate-out`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not publish to GitHub even when running in GitHub Actions.
    #[arg(long)]
    pub no_publish: bool,
    /// Git ref of base for the `local` deployer (default: the PR's base commit, else
    /// the config's, else `main`).
    #[arg(long)]
    pub base_ref: Option<String>,
    /// Git ref of head for the `local` deployer (default: the PR's head commit, else
    /// the config's, else `HEAD`).
    #[arg(long)]
    pub head_ref: Option<String>,
    /// Seed for the side order and the bootstrap (default: the config's, else random).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print only the verdict line, not the whole report.
    #[arg(long)]
    pub quiet: bool,
    /// Base's URL for the `url` deployer, e.g. a preview an earlier step deployed
    /// (default: the action's `base_url` input, else `deploy.url.base`). With both
    /// URLs given the config needs no `deploy:`.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Head's URL for the `url` deployer (default: the action's `head_url` input,
    /// else `deploy.url.head`).
    #[arg(long, value_name = "URL")]
    pub head_url: Option<String>,
    /// Gate a release: deploy head alone and judge it by its SLOs only (the default
    /// on push, tag, release, manual and scheduled runs in GitHub Actions).
    #[arg(long)]
    pub release_gate: bool,
    /// Record this run in the history (`history.store`) as a run of the history
    /// branch, as a push to that branch does on GitHub: head alone is deployed
    /// and gated by its SLOs (as with `--release-gate`), and its measurement is
    /// appended under head's commit (`--head-ref`, else `HEAD`).
    #[arg(long)]
    pub record: bool,
    /// Run shard I of N (1-based: `--shard 1/4` .. `--shard 4/4`, like a matrix of
    /// [1, 2, 3, 4]): the same rounds, side order and seed as the whole run, with
    /// 1/N of every endpoint's connections (closed loop), rate (open loop) and
    /// request limit; remainders go to the first shards. Needs a seed every shard
    /// shares (`--seed` or `compare.seed`). A shard does not publish, does not
    /// extend, and exits 0 once it measured: `tailgate merge` judges the run.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::shard::Shard>,
    /// The shared start of every shard of the run (RFC 3339, e.g.
    /// `2026-12-05T23:50:00Z`), computed once by an earlier job: after the deploy,
    /// plus the time every shard needs to start. Each shard waits for it and runs
    /// its rounds on one wall-clock grid from it, so the target sees all shards'
    /// load at once. Needed by `--shard I/N` with N above 1.
    #[arg(long, value_name = "RFC3339")]
    pub start_at: Option<String>,
    /// How late after `--start-at` a shard may still join, at the next round's
    /// slot (the rounds it missed are dropped by `tailgate merge`); later, it
    /// fails (exit 3) saying by how much it was late.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub max_late: String,
}

/// `tailgate check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The config file.
    #[arg(default_value = "tailgate.yml")]
    pub file: PathBuf,
}

pub(crate) fn check(args: CheckArgs) -> i32 {
    let config = match load_config(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let deploy = match &config.deploy {
        DeployConfig::Url { base, head, .. } => config
            .secrets
            .redact(&format!("url (base {base}, head {head})")),
        DeployConfig::Local(l) => format!("local (`{}`)", l.command),
        DeployConfig::CloudFormation(c) => {
            format!("cloudformation (`{}`)", c.template.display())
        }
        DeployConfig::Command(_) => "command (up/down)".to_string(),
    };
    println!(
        "{}: OK: {} endpoint{}, deploy {deploy}, {} rounds per side, mode {}",
        args.file.display(),
        config.endpoints.len(),
        if config.endpoints.len() == 1 { "" } else { "s" },
        config.compare.rounds,
        match config.mode {
            config::Mode::Advisory => "advisory",
            config::Mode::Blocking => "blocking",
        }
    );
    for e in &config.endpoints {
        println!(
            "  {}: {} {} ({})",
            e.name,
            e.method,
            config.secrets.redact(&e.path),
            crate::bench::describe_load(&e.load)
        );
        for line in estimability_notes(e, config.compare.rounds) {
            println!("    {line}");
        }
    }
    exit::PASS
}

/// What `tailgate check` says of the percentiles an endpoint's budgets gate, before
/// any run: each needs ten requests beyond it per round (p99: 1,000), or per block
/// of rounds with at least four blocks ([`crate::stats::estimable`]). An open loop's
/// requests per round are known; a closed loop's depend on the service, so the
/// throughput it needs is stated.
fn estimability_notes(e: &config::Endpoint, rounds: u32) -> Vec<String> {
    use crate::stats::estimable::{samples_needed, ENOUGH_BLOCKS, MIN_BLOCKS};
    let per_round = match (&e.load.profile, e.load.requests, e.load.duration) {
        (_, Some(n), _) => Some(n as f64),
        (config::Profile::Open { rate, .. }, None, Some(d)) => Some(rate * d.as_secs_f64()),
        _ => None,
    };
    let most_blocked = (rounds as usize / ENOUGH_BLOCKS).max(1) as f64;
    let fewest_blocks = (rounds as usize / MIN_BLOCKS).max(1) as f64;
    let mut notes = Vec::new();
    for metric in crate::stats::Metric::LATENCIES {
        if crate::judge::verdict::budget_for(&e.budget, metric).is_none() {
            continue;
        }
        let Some(p) = metric.percentile() else {
            continue;
        };
        let needed = samples_needed(p) as f64;
        let bootstrap = rounds as usize >= crate::stats::DEFAULT_MIN_BOOTSTRAP_ROUNDS;
        let line = match per_round {
            Some(n) if n >= needed => continue,
            Some(n) if n * most_blocked >= needed => format!(
                "{metric}: {n:.0} requests per round, {metric} needs ≥ {needed:.0}: judged on blocks of {} rounds",
                (needed / n).ceil()
            ),
            Some(n) if bootstrap && n * f64::from(rounds) >= needed => format!(
                "{metric}: {n:.0} requests per round, {metric} needs ≥ {needed:.0}: judged on all rounds merged, \
                 with a wide interval (only large changes can be told; raise the rate or the round's duration)"
            ),
            Some(n) if n * fewest_blocks >= needed => format!(
                "{metric}: {n:.0} requests per round, {metric} needs ≥ {needed:.0}: judged on {MIN_BLOCKS} or 3 \
                 blocks of rounds, with a wide interval (only large changes can be told; raise the rate or the \
                 round's duration)"
            ),
            Some(n) => format!(
                "{metric}: not estimable at this load: {n:.0} requests per round, {metric} needs ≥ {needed:.0} \
                 per round (or ≥ {:.0} with {rounds} rounds pooled into {MIN_BLOCKS} blocks); raise the rate or \
                 the round's duration",
                needed / fewest_blocks
            ),
            None => match e.load.duration {
                Some(d) => format!(
                    "{metric}: judged on each round only if the service serves ≥ {:.0} req/s in {} rounds \
                     ({needed:.0} requests a round); below that on blocks of rounds, or merged rounds with a \
                     wide interval, and not at all under {:.0} requests in all",
                    needed / d.as_secs_f64(),
                    crate::format::duration(d),
                    needed
                ),
                None => continue,
            },
        };
        notes.push(line);
    }
    notes
}

/// Where a run happens, for deployers that name or tag what they create.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunSite {
    /// `owner/name`, when known.
    pub repo: Option<String>,
    /// The pull request, when there is one.
    pub pr: Option<u64>,
    /// traces (issue 27): what `local` and `command` sides are told to export to.
    pub traces: Option<crate::deploy::TraceExport>,
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

/// The deployer a config asks for, with the refs in force.
pub(crate) async fn deployer_for(
    config: &Config,
    base_ref: Option<String>,
    head_ref: Option<String>,
    site: &RunSite,
) -> (Box<dyn Deployer>, String, String) {
    let refs = |cfg_base: Option<String>, cfg_head: Option<String>| {
        (
            base_ref
                .clone()
                .or(cfg_base)
                .unwrap_or_else(|| "main".into()),
            head_ref
                .clone()
                .or(cfg_head)
                .unwrap_or_else(|| "HEAD".into()),
        )
    };
    let repo = site.repo.clone().unwrap_or_else(|| "local/repo".into());
    match &config.deploy {
        DeployConfig::Url { base, head, ready } => (
            Box::new(UrlDeployer::new(base.clone(), head.clone()).with_ready(ready.clone())),
            base.clone(),
            head.clone(),
        ),
        DeployConfig::Local(local) => {
            let (base_ref, head_ref) = refs(local.base_ref.clone(), local.head_ref.clone());
            (
                Box::new(
                    LocalDeployer::new(local.clone(), base_ref.clone(), head_ref.clone())
                        .with_traces(site.traces.clone()),
                ),
                base_ref,
                head_ref,
            )
        }
        DeployConfig::Command(command) => {
            let (base_ref, head_ref) = refs(None, None);
            let context = CommandContext {
                repo,
                pr: site.pr,
                base_ref: base_ref.clone(),
                head_ref: head_ref.clone(),
            };
            (
                Box::new(
                    CommandDeployer::new(command.clone(), config.base_dir.clone(), context)
                        .with_architecture(config.cost.architecture)
                        .with_traces(site.traces.clone()),
                ),
                base_ref,
                head_ref,
            )
        }
        DeployConfig::CloudFormation(stack) => {
            let (base_ref, head_ref) = refs(None, None);
            let clients = crate::aws::AwsClients::load(&crate::aws::ClientOptions {
                region: stack.region.clone(),
                ..Default::default()
            })
            .await;
            let context = StackContext {
                repo,
                pr: site.pr,
                base_sha: base_ref.clone(),
                head_sha: head_ref.clone(),
            };
            (
                Box::new(
                    CloudFormationDeployer::new(stack.clone(), context, clients)
                        .in_dir(config.base_dir.clone()),
                ),
                base_ref,
                head_ref,
            )
        }
    }
}

pub(crate) async fn run(mut args: RunArgs) -> i32 {
    let ctx = match Context::from_process() {
        Ok(ctx) => ctx,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::USAGE;
        }
    };
    // The action's `shard` and `seed` inputs, when the flags are not given.
    if args.shard.is_none() {
        if let Some(text) = &ctx.inputs.shard {
            match text.parse::<crate::shard::Shard>() {
                Ok(shard) => args.shard = Some(shard),
                Err(err) => {
                    eprintln!("tailgate: input `shard` is `{text}`: {err}");
                    return exit::USAGE;
                }
            }
        }
    }
    args.seed = args.seed.or(ctx.inputs.seed);
    if args.start_at.is_none() {
        args.start_at.clone_from(&ctx.inputs.start_at);
    }
    if let Some(late) = &ctx.inputs.max_late {
        args.max_late.clone_from(late);
    }
    let start = match shared_start(&args) {
        Ok(start) => start,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::USAGE;
        }
    };
    let path = args
        .config
        .clone()
        .or_else(|| ctx.inputs.config.clone().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("tailgate.yml"));
    let out_dir = args
        .out
        .clone()
        .or_else(|| ctx.inputs.out_dir.clone())
        .unwrap_or_else(|| PathBuf::from("tailgate-out"));
    // A shard's verdict judges only its share of the load: `tailgate merge` publishes.
    let publish = ctx.actions && !args.no_publish && args.shard.is_none();
    let gh = if publish {
        publish::client(&ctx, github::RetryPolicy::default())
    } else {
        None
    };

    let read = config::ReadOptions {
        base_url: args
            .base_url
            .clone()
            .or_else(|| ctx.inputs.base_url.clone()),
        head_url: args
            .head_url
            .clone()
            .or_else(|| ctx.inputs.head_url.clone()),
        ..Default::default()
    };
    // On a pull request the base commit's copy of the config gates: a PR cannot
    // loosen its own gate. Relative paths in it resolve against the config's folder.
    // `${NAME}` references in it are resolved now, from the workflow's environment.
    let repo_dir = ctx.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let (mut config, gate) = if ctx.actions {
        let gate = match github::gate_config(&ctx, &path, &repo_dir, gh.as_ref()).await {
            Ok(gate) => gate,
            Err(err) => {
                eprintln!("tailgate: {err}");
                super::stopped_early(
                    &ctx,
                    &format!(
                        "## tailgate: the config could not be read\n\n{}\n\nNothing was measured (exit code 2).",
                        crate::publish::workflow::cell(&err.to_string())
                    ),
                );
                return exit::USAGE;
            }
        };
        let base_dir = repo_dir
            .join(&path)
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| repo_dir.clone());
        match config::parse_with(&gate.gate.text, &gate.gate.source, &base_dir, &read) {
            Ok(config) => (config, Some((gate, base_dir))),
            Err(err) => {
                let file = github::gate_config::repo_relative(&path, &repo_dir);
                return super::config_failed(&ctx, &err, &file, &gate.gate.source);
            }
        }
    } else {
        match load_config_with(&path, &read) {
            Ok(c) => (c, None),
            Err(code) => return code,
        }
    };
    // Before anything is printed: the runner hides these values in the log from now on.
    if ctx.actions {
        for line in config.secrets.mask_commands() {
            println!("{line}");
        }
    }
    if args.seed.is_some() {
        config.compare.seed = args.seed;
    }
    // A closed pull request has nothing to gate: delete its preview stacks instead.
    if let Some(number) = closed_pull_request(&ctx) {
        return closed(&config, &ctx, number).await;
    }
    // Pushes, tags, releases, manual and scheduled runs gate a release: head alone,
    // judged by its SLOs.
    // A recorded run measures what a push to the history branch measures: head
    // alone, so every stored run of the branch was measured the same way.
    let release =
        args.release_gate || args.record || matches!(ctx.trigger, Trigger::Release { .. });
    if args.record && !args.release_gate && (args.base_ref.is_some() || args.base_url.is_some()) {
        eprintln!(
            "tailgate: --record measures head alone, as a push to the history branch does: base is not deployed"
        );
    }
    let pr = ctx.pull_request();
    // A pull request's or a merge group's commits.
    let compared = ctx.compared();
    let base_ref = args
        .base_ref
        .clone()
        .or_else(|| compared.map(|c| c.base_sha.to_string()));
    let head_ref = args
        .head_ref
        .clone()
        .or_else(|| compared.map(|c| c.head_sha.to_string()));
    let progress = Progress::new(ProgressMode::detect());
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
    if let Some(shard) = args.shard {
        match sharded(&config, deployer.name(), shard, start.as_ref()) {
            Ok((split, info)) => {
                config = split;
                shard_info = Some(info);
            }
            Err(err) => {
                eprintln!("tailgate: {err}");
                return exit::USAGE;
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
    let history = match args.shard {
        Some(_) => None,
        None => crate::history::History::open(&config.history, ctx.default_branch.as_deref()).await,
    };
    let plan = match &history {
        Some(h) => {
            let environment =
                crate::history::Environment::current(&config, ctx.runner.clone(), deployer.name());
            let stored = config.history.baseline == config::Baseline::Stored && !release;
            let candidates = stored.then(|| {
                let base = base_ref.clone().unwrap_or_else(|| "main".into());
                crate::history::candidates(&repo_dir, &base, head_ref.as_deref())
            });
            Some(crate::history::plan(h, &config, &environment, candidates.as_deref()).await)
        }
        None => None,
    };
    let options = RunOptions {
        server_side: Default::default(),
        out_dir: out_dir.clone(),
        context,
        release,
        history: plan,
        shard: shard_info.clone(),
        start,
        traces: tracing,
    };
    let mut outcome = match pipeline::run(&config, deployer.as_ref(), &options, &progress).await {
        Ok(o) => o,
        Err(err) => {
            eprintln!("tailgate: {}", config.secrets.redact(&err.to_string()));
            return exit::ERROR;
        }
    };
    progress.finish();

    // Right-sizing: head once more per value of the swept parameter.
    let mut sweep_md = None;
    if let (DeployConfig::CloudFormation(stack), false, None) =
        (&config.deploy, release, &shard_info)
    {
        if let (Some(sweep), Some(clients)) = (&stack.sweep, deployer.aws_clients()) {
            if outcome.results.verdict.level != Level::Error {
                let context = StackContext {
                    repo: site.repo.clone().unwrap_or_else(|| "local/repo".into()),
                    pr: site.pr,
                    base_sha: base_ref.clone().unwrap_or_else(|| "main".into()),
                    head_sha: head_ref.clone().unwrap_or_else(|| "HEAD".into()),
                };
                let table = crate::rightsize::run(
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
                sweep_md = Some(table.markdown());
                if let Err(e) = std::fs::write(
                    crate::rightsize::table_path(&out_dir),
                    serde_json::to_string_pretty(&table).unwrap_or_default(),
                ) {
                    eprintln!("tailgate: writing the right-sizing table: {e}");
                }
            }
        }
    }

    let mut changed = false;
    // A config changed by the PR does not change the verdict; the report says what
    // the PR's copy would have decided.
    if let Some((gate, base_dir)) = &gate {
        if let (Some(head), false) = (&gate.head, outcome.results.verdict.level == Level::Error) {
            if let Ok(head_cfg) = config::parse_with(&head.text, &head.source, base_dir, &read) {
                let level =
                    crate::judge::verdict::decide(&head_cfg, &outcome.results.comparisons).level;
                if let Some(note) = outcome.results.context.config.as_mut() {
                    note.head_verdict = Some(level);
                }
                changed = true;
            }
        }
    }
    // A known regression accepted by the PR's label, for this head commit only
    // (not by a shard: its verdict is not the run's).
    if let (Some(label), Some(pr), None) = (&config.accept_label, pr, &shard_info) {
        changed |=
            super::accept::accept(&ctx, label, pr, history.as_ref(), &mut outcome.results).await;
    }
    // Runs of the history branch are recorded for the runs after them.
    if args.record && history.is_none() && args.shard.is_none() {
        eprintln!("tailgate: --record: the config keeps no history (`history: {{ store: ... }}`): nothing recorded");
    }
    if let Some(h) = &history {
        if args.record || on_history_branch(&ctx, h.branch()) {
            changed |= record(
                &config,
                h,
                &repo_dir,
                head_ref.as_deref(),
                &mut outcome.results,
                &progress,
            )
            .await;
        }
    }
    if changed {
        match render_markdown(&build_view(&outcome.results)) {
            Ok(markdown) => {
                outcome.markdown = markdown;
                if let Err(err) =
                    pipeline::write_outputs(&out_dir, &outcome.results, &outcome.markdown)
                {
                    eprintln!("tailgate: {err}");
                }
            }
            Err(err) => eprintln!("tailgate: {err}"),
        }
    }

    if let Some(info) = shard_info {
        let note = format!(
            "> Shard {} of {}: this report judges only this shard's share of the load. \
             Merge all {} shards' `tailgate-results.json` with `tailgate merge` for the verdict.\n\n",
            info.index.unwrap_or(0),
            info.count,
            info.count
        );
        outcome.markdown.insert_str(0, &note);
        if let Err(err) = pipeline::write_outputs(&out_dir, &outcome.results, &outcome.markdown) {
            eprintln!("tailgate: {err}");
            return exit::ERROR;
        }
    }

    if let Some(md) = sweep_md {
        outcome.markdown.push('\n');
        outcome.markdown.push_str(&md);
        if let Err(e) = std::fs::write(&outcome.markdown_path, &outcome.markdown) {
            eprintln!("tailgate: {e}");
        }
    }

    if !args.quiet {
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
    if publish {
        let mut opts = PublishOptions::from_context(&ctx);
        opts.results_path = Some(outcome.results_path.clone());
        // A cancelled job stops publishing at once: the summary is written first
        // and the results and report are on disk already.
        tokio::select! {
            _ = publish::publish(&ctx, &outcome.results, &outcome.markdown, &opts) => {}
            _ = pipeline::shutdown_signal() => {
                eprintln!(
                    "tailgate: interrupted while publishing; the results and report are in {}",
                    out_dir.display()
                );
                return exit::INTERRUPTED;
            }
        }
    }
    if outcome.results.shard.is_some() && outcome.exit_code() == exit::FAIL {
        // Its share alone decides nothing: the merge does.
        return exit::PASS;
    }
    outcome.exit_code()
}

/// Whether this run is a push to (or a manual run on) the history branch.
fn on_history_branch(ctx: &Context, branch: &str) -> bool {
    matches!(&ctx.trigger, Trigger::Release { git_ref: Some(r), .. } if r.strip_prefix("refs/heads/") == Some(branch))
}

/// Record `results` in `history` as a run of its branch (not a failed run: it
/// measured nothing to compare with). Returns whether the results changed.
async fn record(
    config: &Config,
    history: &crate::history::History,
    repo_dir: &std::path::Path,
    head_ref: Option<&str>,
    results: &mut crate::results::RunResults,
    progress: &Progress,
) -> bool {
    if results.verdict.level == Level::Error || results.endpoints.is_empty() {
        progress.log("history: a failed run is not recorded");
        return false;
    }
    let commit = results.context.head_sha.clone().or_else(|| {
        let rev = head_ref.unwrap_or("HEAD");
        std::process::Command::new("git")
            .arg("-C")
            .arg(repo_dir)
            .args(["rev-parse", "--verify", &format!("{rev}^{{commit}}")])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    });
    let note = results
        .history
        .get_or_insert_with(|| crate::results::HistoryNote {
            store: history.describe(),
            branch: history.branch().to_string(),
            ..Default::default()
        });
    let Some(commit) = commit else {
        note.warnings.push(
            "not recorded: the commit measured is not known (run in a git repository, or pass --head-ref)"
                .into(),
        );
        return true;
    };
    let record = crate::history::record_of(config, results, &commit, history.branch());
    match history.append(&record).await {
        Ok(key) => {
            progress.log(&format!(
                "history: recorded as {key} in {}",
                history.describe()
            ));
            if let Some(note) = results.history.as_mut() {
                note.recorded = Some(key);
            }
        }
        Err(e) => {
            let message = config.secrets.redact(&e.to_string());
            eprintln!("tailgate: history: {message}");
            if let Some(note) = results.history.as_mut() {
                note.warnings.push(message);
            }
        }
    }
    true
}

/// The furthest ahead a shared start may be: the longest a GitHub Actions job runs.
const MAX_AHEAD_MS: i64 = 6 * 3_600_000;

/// `--start-at` and `--max-late`, checked: a shard of several needs a shared start.
fn shared_start(args: &RunArgs) -> Result<Option<crate::bench::SharedStart>, String> {
    let max_late = config::units::parse_duration(&args.max_late)
        .map_err(|e| format!("--max-late `{}`: {e}", args.max_late))?;
    let Some(text) = &args.start_at else {
        return match args.shard {
            Some(shard) if shard.count() > 1 => Err(format!(
                "--shard {shard} needs --start-at: one start time shared by every shard (RFC 3339, e.g. \
                 --start-at 2026-12-05T23:50:00Z), computed once by an earlier job after the deploy, \
                 so that the shards load the target together (see examples/workflows/sharded.yml)"
            )),
            _ => Ok(None),
        };
    };
    let t =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
                format!(
                    "--start-at `{text}` is not an RFC 3339 time (e.g. 2026-12-05T23:50:00Z): {e}"
                )
            })?;
    let start_ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| format!("--start-at `{text}` is out of range"))?;
    // A typo in the date would keep every shard waiting for days.
    let ahead = start_ms - crate::bench::unix_ms();
    if ahead > MAX_AHEAD_MS {
        return Err(format!(
            "--start-at `{text}` is {} from now; a shared start is minutes after the deploy \
             (at most {} h ahead): check its date and time zone",
            crate::format::duration(std::time::Duration::from_millis(ahead as u64)),
            MAX_AHEAD_MS / 3_600_000
        ));
    }
    Ok(Some(crate::bench::SharedStart {
        start_ms,
        given: text.trim().to_string(),
        max_late,
    }))
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
        config_hash: crate::shard::config_hash(config, deployer, seed),
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
    if !matches!(ctx.trigger, Trigger::PullRequest { .. }) {
        return None;
    }
    let path = std::env::var_os("GITHUB_EVENT_PATH")?;
    let payload = std::fs::read_to_string(path).ok()?;
    crate::cli::cleanup::closed_pr_of_event(&payload)
}

/// On a closed pull request: delete its stacks (the `cloudformation` deployer), then
/// exit 0 without measuring anything.
async fn closed(config: &config::Config, ctx: &Context, number: u64) -> i32 {
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
    let request = crate::deploy::cloudformation::sweep::SweepRequest {
        repo: ctx.repo.as_ref().map(|r| r.full_name()),
        closed_prs: vec![number],
        now: time::OffsetDateTime::now_utc(),
        dry_run: false,
    };
    let polling = crate::deploy::cloudformation::stack::Polling {
        timeout: stack.timeout,
        interval: stack.poll_interval,
    };
    crate::cli::cleanup::sweep_and_report(&clients, &request, polling).await
}
