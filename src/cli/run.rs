//! `tailgate run` (the gate) and `tailgate check` (the config alone).

use std::path::PathBuf;

use super::load_config;
use crate::config::{self, DeployConfig};
use crate::context::Context;
use crate::gate;
use crate::github;
use crate::judge::verdict::exit;
use crate::progress::{Progress, ProgressMode};

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
    let request = gate::Request {
        config: args
            .config
            .clone()
            .or_else(|| ctx.inputs.config.clone().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("tailgate.yml")),
        out_dir: args
            .out
            .clone()
            .or_else(|| ctx.inputs.out_dir.clone())
            .unwrap_or_else(|| PathBuf::from("tailgate-out")),
        urls: config::ReadOptions {
            base_url: args.base_url.or_else(|| ctx.inputs.base_url.clone()),
            head_url: args.head_url.or_else(|| ctx.inputs.head_url.clone()),
            ..Default::default()
        },
        base_ref: args.base_ref,
        head_ref: args.head_ref,
        seed: args.seed,
        release_gate: args.release_gate,
        record: args.record,
        shard: args.shard,
        start,
        quiet: args.quiet,
    };
    // A shard's verdict judges only its share of the load: `tailgate merge` publishes.
    let publish = ctx.actions && !args.no_publish && args.shard.is_none();
    let deps = gate::Deps {
        progress: Progress::new(ProgressMode::detect()),
        github: if publish {
            crate::publish::client(&ctx, github::RetryPolicy::default())
        } else {
            None
        },
    };
    gate::run(&ctx, request, deps).await.code
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
