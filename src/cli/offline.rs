//! Commands that work from results rather than fresh load: `tailgate compare`
//! (reproduce a verdict offline) and `tailgate calibrate` (size a gate from an A/A
//! run).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::load_config;
use crate::bench::EndpointRun;
use crate::config::{units, DeployConfig};
use crate::context::Context;
use crate::deploy::{Deployer, UrlDeployer};
use crate::gate::{self, RunOptions};
use crate::gate::{deployer_for, RunSite};
use crate::judge::comparisons::paired_rounds;
use crate::judge::verdict::{self, exit};
use crate::progress::{Progress, ProgressMode};
use crate::report::{build_view, render_markdown};
use crate::results::recompute;
use crate::results::RunContext;
use crate::results::RunResults;
use crate::side::Side;
use crate::stats::{self, CalibrateOptions};

/// `tailgate compare`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tailgate compare tailgate-out/tailgate-results.json\n  tailgate compare main.json pr.json --config tailgate.yml"
)]
pub struct CompareArgs {
    /// A results file holding both sides, or the base side's results file.
    pub first: PathBuf,
    /// The head side's results file, when FIRST holds the base side.
    pub second: Option<PathBuf>,
    /// Apply this config's SLOs, budgets and mode (default: those recorded in the
    /// results).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Bootstrap seed (default: the recorded one, which reproduces the verdict).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder for the report and the recomputed results.
    #[arg(long, default_value = "tailgate-out/compare")]
    pub out: PathBuf,
    /// Print only the verdict line.
    #[arg(long)]
    pub quiet: bool,
}

/// The one reader of results files ([`crate::results::read`]), its error in words.
pub(crate) fn read_results(path: &Path) -> Result<RunResults, String> {
    crate::results::read(path).map_err(|e| e.to_string())
}

/// The rounds of `wanted` in `run`, or (for a file that measured one side only)
/// the rounds of the side it has, relabelled as `wanted`.
fn side_rounds(run: &EndpointRun, wanted: Side) -> Vec<crate::bench::RoundRecord> {
    let mut rounds: Vec<_> = run.side(wanted).cloned().collect();
    if rounds.is_empty() {
        rounds = run.side(wanted.other()).cloned().collect();
        for r in &mut rounds {
            r.side = wanted;
        }
    }
    rounds
}

/// Base from `base_file`, head from `head_file`, endpoint by endpoint (by name).
fn combine(base_file: RunResults, head_file: &RunResults) -> Result<RunResults, String> {
    let mut out = base_file;
    let mut endpoints = Vec::new();
    for base_run in &out.endpoints {
        let Some(head_run) = head_file.endpoints.iter().find(|e| e.name == base_run.name) else {
            continue;
        };
        let mut run = base_run.clone();
        // Two runs may have stopped after different rounds: pair the rounds both
        // measured.
        let mut base = side_rounds(base_run, Side::Base);
        let mut head = side_rounds(head_run, Side::Head);
        base.sort_by_key(|r| r.round);
        head.sort_by_key(|r| r.round);
        let n = base.len().min(head.len());
        base.truncate(n);
        head.truncate(n);
        let mut rounds = base;
        rounds.extend(head);
        rounds.sort_by_key(|r| (r.round, r.position));
        run.rounds = rounds;
        run.first_requests.clear();
        run.stop = None;
        endpoints.push(run);
    }
    if endpoints.is_empty() {
        return Err(
            "the two files have no endpoint in common (endpoints are matched by name)".into(),
        );
    }
    out.endpoints = endpoints;
    // The pair was not looked at sequentially: it is decided once, on what it has.
    out.settings.min_rounds = out.settings.rounds;
    out.context.head_label = head_file.context.head_label.clone();
    out.targets.retain(|t| t.side == Side::Base);
    out.targets.extend(
        head_file
            .targets
            .iter()
            .filter(|t| t.side == Side::Head)
            .cloned(),
    );
    Ok(out)
}

pub(crate) fn compare(args: CompareArgs) -> i32 {
    let mut results = match read_results(&args.first) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tailgate compare: {e}");
            return exit::USAGE;
        }
    };
    if let Some(second) = &args.second {
        let head = match read_results(second) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("tailgate compare: {e}");
                return exit::USAGE;
            }
        };
        results = match combine(results, &head) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("tailgate compare: {e}");
                return exit::USAGE;
            }
        };
    }
    let opts = Judge {
        command: "compare",
        source: args.first.display().to_string(),
        config: args.config,
        seed: args.seed,
        out: args.out,
        quiet: args.quiet,
    };
    judge_and_write(results, &opts)
}

/// How a command that works from results judges them and where it writes.
struct Judge {
    /// The command, for messages (`compare`, `merge`).
    command: &'static str,
    /// The input, named in messages.
    source: String,
    /// A config whose SLOs, budgets and mode replace those recorded.
    config: Option<PathBuf>,
    /// A bootstrap seed replacing the recorded one.
    seed: Option<u64>,
    /// The output folder.
    out: PathBuf,
    /// Print only the verdict line.
    quiet: bool,
}

/// Compare, judge, render and write `results` as `tailgate run` would have: the one
/// code path of `tailgate compare` and `tailgate merge`. Returns the exit code.
fn judge_and_write(mut results: RunResults, opts: &Judge) -> i32 {
    let cmd = opts.command;
    if results.endpoints.is_empty() {
        eprintln!(
            "tailgate {cmd}: {} holds no measurements (the run failed: {})",
            opts.source,
            results.verdict.error.as_deref().unwrap_or("no endpoints")
        );
        return exit::USAGE;
    }
    // Hostile or damaged rounds are an error here, not an overflow in a sum.
    if let Err(e) = crate::publish::trust::check_measurements(&results) {
        eprintln!("tailgate {cmd}: {}: {e}", opts.source);
        return exit::USAGE;
    }
    if let Some(path) = &opts.config {
        let config = match load_config(path) {
            Ok(c) => c,
            Err(code) => return code,
        };
        results.limits = verdict::limits_of(&config);
        results.settings.mode = config.mode;
        results.settings.noise_floor = config.compare.noise_floor;
        results.settings.confidence = config.compare.confidence;
        results.settings.resamples = config.compare.resamples;
        results.settings.config_source = config.source.clone();
    }
    if results.limits.is_empty() {
        eprintln!(
            "tailgate {cmd}: {} records no SLOs or budgets to judge by; pass the config with --config tailgate.yml",
            opts.source
        );
        return exit::USAGE;
    }
    if let Some(seed) = opts.seed {
        results.settings.seed = seed;
    }
    if let Err(e) = recompute(&mut results) {
        eprintln!("tailgate {cmd}: {e}");
        return exit::ERROR;
    }
    let markdown = match render_markdown(&build_view(&results)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("tailgate {cmd}: {e}");
            return exit::ERROR;
        }
    };
    if let Err(e) = gate::write_outputs(&opts.out, &results, &markdown) {
        eprintln!("tailgate {cmd}: {e}");
        return exit::ERROR;
    }
    if !opts.quiet {
        println!("{}", crate::report::escape::plain(&markdown));
    }
    let code = results.verdict.exit_code();
    eprintln!(
        "tailgate: verdict {} (exit {code}), seed {}; report and results in {}",
        results.verdict.level.as_str(),
        results.settings.seed,
        opts.out.display()
    );
    code
}

/// `tailgate merge`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Every shard must come from the same run: the same config, tailgate version\n\
and seed (its config hash), the same N, each of shards 1..N exactly once, the\n\
same --start-at. The shards must have measured together: for every round and\n\
side, the time all of them loaded the target at once must be at least\n\
--min-overlap (95 %) of the time any of them did. A round a late shard missed\n\
is left out and reported; a round whose windows overlap less refuses the merge\n\
(or, with --drop-apart, is left out and reported). The merged rounds hold all\n\
shards' requests (histograms added, counters summed), their req/s the sum of\n\
the shards' rates; the verdict is then decided from them exactly as `tailgate\n\
compare` does.\n\n\
Exit codes:\n\
  0    the merged gate passed or warned, or advisory mode\n\
  1    the merged gate failed in blocking mode\n\
  2    a file is unreadable or of another schema major version, or the shards\n\
       do not belong together (config hash, seed, rounds, side order or\n\
       --start-at differ; a shard duplicated or missing), or they did not\n\
       measure together (rounds named; fewer than 2 rounds of an endpoint\n\
       left); nothing is written\n\
  3    the comparison or writing the report failed\n\n\
Examples:\n\
  tailgate merge shard-1 shard-2 shard-3 shard-4\n\
  tailgate merge shards/*/tailgate-results.json --out tailgate-out"
)]
pub struct MergeArgs {
    /// The shards' results files (`tailgate run --shard I/N`), folders each
    /// holding a `tailgate-results.json`, or a folder of such folders (artifacts
    /// downloaded by pattern). In the action: the `results` input.
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Apply this config's SLOs, budgets and mode (default: those recorded in the
    /// shards).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Folder for the merged report and results (default: the action's `out_dir`
    /// input, else `tailgate-out/merge`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print only the verdict line.
    #[arg(long)]
    pub quiet: bool,
    /// The least overlap of the shards' windows a merged round needs on each
    /// side: the time every shard loaded the target at once over the time any of
    /// them did.
    #[arg(long, value_name = "PERCENT", default_value = "95%")]
    pub min_overlap: String,
    /// Leave out (and report) rounds the shards did not measure together,
    /// instead of refusing the merge.
    #[arg(long)]
    pub drop_apart: bool,
}

/// The results files `paths` name: a file as is, a folder's
/// `tailgate-results.json`, or, for a folder without one, that file of each of
/// its folders (in name order).
fn shard_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        let own = path.join("tailgate-results.json");
        if !path.is_dir() {
            out.push(path.clone());
        } else if own.is_file() {
            out.push(own);
        } else {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().join("tailgate-results.json"))
                .filter(|f| f.is_file())
                .collect();
            inner.sort();
            if inner.is_empty() {
                // Named in the error of reading it.
                out.push(own);
            }
            out.extend(inner);
        }
    }
    out
}

pub(crate) fn merge(args: MergeArgs) -> i32 {
    let ctx = match Context::from_process() {
        Ok(ctx) => ctx,
        Err(err) => {
            eprintln!("tailgate merge: {err}");
            return exit::USAGE;
        }
    };
    let mut paths = args.files.clone();
    if paths.is_empty() {
        // The action's `results` input names the shards' folder.
        paths.extend(ctx.inputs.results.clone());
    }
    let out = args
        .out
        .clone()
        .or_else(|| ctx.inputs.out_dir.clone())
        .unwrap_or_else(|| PathBuf::from("tailgate-out/merge"));
    if paths.is_empty() {
        eprintln!(
            "tailgate merge: name the shards' results: `tailgate merge shard-1 shard-2 ...`, a \
             folder of shard folders, or the action's `results` input"
        );
        return exit::USAGE;
    }
    let paths = shard_files(&paths);
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        match read_results(&path) {
            Ok(results) => files.push((path.display().to_string(), results)),
            Err(e) => {
                eprintln!("tailgate merge: {e}");
                return exit::USAGE;
            }
        }
    }
    let min_overlap = match units::parse_percent(&args.min_overlap) {
        Ok(f) if f.0 > 0.0 && f.0 <= 1.0 => f.0,
        Ok(_) => {
            eprintln!("tailgate merge: --min-overlap must be above 0 % and at most 100 %");
            return exit::USAGE;
        }
        Err(e) => {
            eprintln!("tailgate merge: --min-overlap `{}`: {e}", args.min_overlap);
            return exit::USAGE;
        }
    };
    let options = crate::shard::MergeOptions {
        min_overlap,
        drop_apart: args.drop_apart,
    };
    let merged = match crate::shard::merge(files, &options) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("tailgate merge: {e}");
            return exit::USAGE;
        }
    };
    let count = merged.shard.as_ref().map_or(0, |s| s.count);
    let opts = Judge {
        command: "merge",
        source: format!("the {count} shards"),
        config: args.config,
        seed: None,
        out,
        quiet: args.quiet,
    };
    judge_and_write(merged, &opts)
}

/// `tailgate calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// The config file: its endpoints, load and deployer are used.
    #[arg(long, short, default_value = "tailgate.yml")]
    pub config: PathBuf,
    /// The ref deployed on both sides (local deployer; default: the config's base
    /// ref, else `main`). A `url` deployer uses its base URL on both sides.
    #[arg(long)]
    pub base_ref: Option<String>,
    /// Rounds of the A/A run (default: the config's).
    #[arg(long)]
    pub rounds: Option<u32>,
    /// Changes to size the gate for.
    #[arg(long, value_delimiter = ',', default_value = "5%,10%")]
    pub changes: Vec<String>,
    /// Power wanted: the chance a true change of that size is caught.
    #[arg(long, default_value = "95%")]
    pub power: String,
    /// Folder for the A/A results and `calibration.json`.
    #[arg(long, default_value = "tailgate-out/calibrate")]
    pub out: PathBuf,
}

/// One endpoint's calibration, as written to `calibration.json`.
#[derive(Debug, Serialize)]
struct EndpointCalibration {
    endpoint: String,
    calibration: stats::Calibration,
}

pub(crate) async fn calibrate(args: CalibrateArgs) -> i32 {
    let mut config = match load_config(&args.config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let parse = |s: &str| units::parse_percent(s).map(|f| f.0);
    let changes: Result<Vec<f64>, String> = args.changes.iter().map(|c| parse(c)).collect();
    let (changes, power) = match (changes, parse(&args.power)) {
        (Ok(c), Ok(p)) if p > 0.0 && p < 1.0 => (c, p),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("tailgate calibrate: {e}");
            return exit::USAGE;
        }
        _ => {
            eprintln!("tailgate calibrate: --power must be above 0% and below 100%");
            return exit::USAGE;
        }
    };
    if let Some(r) = args.rounds {
        config.compare.rounds = r.max(2);
    }
    // An A/A run measures its noise over every round: no early stop.
    config.compare.min_rounds = config.compare.rounds;
    // A/A: both sides are base.
    let (deployer, label): (Box<dyn Deployer>, String) = match &config.deploy {
        DeployConfig::Url { base, ready, .. } => (
            Box::new(UrlDeployer::new(base.clone(), base.clone()).with_ready(ready.clone())),
            base.clone(),
        ),
        deploy => {
            let configured = match deploy {
                DeployConfig::Local(local) => local.base_ref.clone(),
                _ => None,
            };
            let base_ref = args
                .base_ref
                .clone()
                .or(configured)
                .unwrap_or_else(|| "main".into());
            let (d, label, _) = deployer_for(
                &config,
                Some(base_ref.clone()),
                Some(base_ref),
                &RunSite::default(),
            )
            .await;
            (d, label)
        }
    };
    let progress = Progress::new(ProgressMode::detect());
    let options = RunOptions {
        server_side: Default::default(),
        out_dir: args.out.clone(),
        context: RunContext {
            kind: "calibrate".into(),
            base_label: label.clone(),
            head_label: label,
            ..RunContext::default()
        },
        ..RunOptions::default()
    };
    let outcome = match gate::measure(&config, deployer.as_ref(), &options, &progress).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tailgate calibrate: {e}");
            return exit::ERROR;
        }
    };
    progress.finish();
    if outcome.interrupted {
        return exit::INTERRUPTED;
    }
    if let Some(err) = &outcome.results.verdict.error {
        eprintln!("tailgate calibrate: the A/A run failed: {err}");
        return exit::ERROR;
    }
    let family = outcome
        .results
        .limits
        .iter()
        .map(|l| {
            // Every gating check of the run, cost included (the one budget lookup).
            crate::judge::verdict::Metric::WITH_COST
                .into_iter()
                .filter(|&m| verdict::budget_for(&l.budget, m).is_some())
                .count() as u32
        })
        .sum::<u32>()
        .max(1);
    let opts = CalibrateOptions {
        confidence: config.compare.confidence,
        power,
        noise_floor: config.compare.noise_floor.0,
        family_size: family,
        changes: changes.clone(),
        seed: outcome.results.settings.seed,
        resamples: config.compare.resamples,
        ..CalibrateOptions::default()
    };
    let mut all = Vec::new();
    println!(
        "A/A calibration: {} rounds per side, {} checks in the gate's family, {:.0} % power at {:.0} % confidence",
        config.compare.rounds,
        family,
        power * 100.0,
        config.compare.confidence * 100.0
    );
    for run in &outcome.results.endpoints {
        let paired = match paired_rounds(run) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("tailgate calibrate: {}: {e}", run.name);
                return exit::ERROR;
            }
        };
        let cal = match stats::calibrate(&paired, &opts) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("tailgate calibrate: {}: {e}", run.name);
                return exit::ERROR;
            }
        };
        println!("\n{}", run.name);
        let header: Vec<String> = changes
            .iter()
            .map(|c| format!("rounds for {}", crate::format::signed_percent(*c)))
            .collect();
        println!(
            "  {:<11} {:>16} {:>16}  {}",
            "metric",
            "noise per round",
            "A/A offset",
            header.join("  ")
        );
        for m in &cal.metrics {
            let needed: Vec<String> = m
                .required
                .iter()
                .map(|r| {
                    format!(
                        "{:>14}",
                        r.rounds
                            .map_or("out of reach".to_string(), |n| n.to_string())
                    )
                })
                .collect();
            println!(
                "  {:<11} {:>16} {:>16}  {}",
                m.metric.label(),
                m.noise_per_round
                    .map_or("n/a".into(), |n| format!("±{}", crate::format::percent(n))),
                m.mean_log_ratio
                    .map_or("n/a".into(), |o| crate::format::signed_percent(
                        o.exp() - 1.0
                    )),
                needed.join("  ")
            );
        }
        for p in stats::Percentile::ALL {
            use stats::estimable::{blocking, Blocking, MIN_BLOCKS};
            let name = stats::Metric::from_percentile(p).label();
            match blocking(&paired, p, stats::DEFAULT_MIN_BOOTSTRAP_ROUNDS) {
                Blocking::Rounds(1) => {}
                Blocking::Rounds(size) => println!(
                    "  {}: judged on blocks of {size} rounds ({} needs ≥ {} requests per round or block)",
                    name,
                    name,
                    crate::format::thousands(stats::estimable::samples_needed(p))
                ),
                Blocking::NotEstimable(why) => println!(
                    "  {}: not estimable at this load: {} requests per round, {} needs ≥ {} per round or per \
                     block of rounds, with at least {MIN_BLOCKS} blocks (raise the rate or the round's duration)",
                    name,
                    crate::format::thousands(why.per_round),
                    name,
                    crate::format::thousands(why.needed)
                ),
            }
        }
        all.push(EndpointCalibration {
            endpoint: run.name.clone(),
            calibration: cal,
        });
    }
    let path = args.out.join("calibration.json");
    match serde_json::to_string_pretty(&all)
        .map_err(std::io::Error::other)
        .and_then(|t| std::fs::write(&path, t))
    {
        Ok(()) => println!("\nCalibration: {}", path.display()),
        Err(e) => {
            eprintln!("tailgate calibrate: cannot write {}: {e}", path.display());
            return exit::ERROR;
        }
    }
    println!("Set `compare.rounds` to at least the rounds for the smallest change you must catch.");
    // The sequential settings for the smallest change asked about, from p99.
    let smallest = changes
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i);
    let fixed = all
        .iter()
        .filter_map(|e| {
            let p99 = e
                .calibration
                .metrics
                .iter()
                .find(|m| m.metric == stats::Metric::P99)?;
            p99.required.get(smallest?)?.rounds
        })
        .max();
    let rate = outcome
        .results
        .endpoints
        .iter()
        .flat_map(|run| Side::BOTH.map(|side| (run, side)))
        .map(|(run, side)| {
            let ok = run.merged(side).ok as f64;
            ok / run.elapsed(side).as_secs_f64().max(1e-9)
        })
        .fold(f64::INFINITY, f64::min);
    if let (None, Some(i)) = (fixed, smallest) {
        println!(
            "Sequential gate for {}: out of reach at this noise (p99 would need more than {} rounds); \
             measure longer rounds or a quieter service.",
            crate::format::signed_percent(changes[i]),
            stats::MAX_ROUNDS
        );
    }
    if let (Some(fixed), Some(i)) = (fixed, smallest) {
        let r = stats::recommend(fixed, rate);
        println!(
            "Sequential gate for {}: `rounds: {}` (the most, {fixed} fixed-design rounds × {}), `min_rounds: {}`{}.",
            crate::format::signed_percent(changes[i]),
            r.rounds,
            stats::SEQUENTIAL_INFLATION,
            r.min_rounds,
            r.round_seconds.map_or(String::new(), |s| format!(
                "; rounds of at least {} keep p99 estimable in each round (shorter rounds look more often, \
                 longer ones cost time)",
                crate::format::duration(std::time::Duration::from_secs_f64(s.ceil()))
            ))
        );
    }
    exit::PASS
}
