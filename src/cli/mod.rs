//! The command line: argument types (clap) and one function per command. Each
//! command returns the process exit code; `main.rs` only builds the runtime and exits.

mod bench;
mod cleanup;
mod demo;
mod offline;
mod publish;
mod run;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::judge::verdict::exit;

pub use bench::BenchArgs;
pub use cleanup::{closed_pr_of_event, CleanupArgs};
pub use demo::{DemoArgs, SampleServiceArgs, VariantArg};
pub use offline::{CalibrateArgs, CompareArgs, MergeArgs};
pub use publish::PublishArgs;
pub use run::{CheckArgs, RunArgs};

/// tailgate: a performance regression gate for pull requests.
#[derive(Debug, Parser)]
#[command(name = "tailgate", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole gate on this machine against a sample service (no cloud, no GitHub).
    Demo(DemoArgs),
    /// Run the gate for a config: deploy base and head, measure, compare, judge, report.
    Run(RunArgs),
    /// Validate a config file and say what it would do.
    Check(CheckArgs),
    /// Load-test one URL (or a config's endpoints against one target), like wrk.
    Bench(Box<BenchArgs>),
    /// Publish a results file to GitHub: PR comment, check run, job summary, outputs.
    ///
    /// The privileged half of the fork-safe pattern: a `pull_request` workflow
    /// measures and uploads `tailgate-results.json`; a `workflow_run` workflow that
    /// has the token downloads it and runs `tailgate publish`. Exits with the
    /// verdict's exit code.
    Publish(PublishArgs),
    /// Reproduce the comparison, verdict and report offline from results files,
    /// without running any load.
    Compare(CompareArgs),
    /// Merge the results of `tailgate run --shard I/N` (one per machine, e.g. the
    /// jobs of a GitHub Actions matrix) into one run, then compare, judge and report
    /// it as `tailgate compare` does. Exits with the verdict's exit code; 2 when the
    /// shards do not belong together.
    Merge(MergeArgs),
    /// Run base against itself (A/A): measure the round-to-round noise and the
    /// rounds needed to detect a given change.
    Calibrate(CalibrateArgs),
    /// Delete tailgate's AWS stacks past their expiry or of closed pull requests.
    Cleanup(CleanupArgs),
    /// Serve the demo's sample service (used by `tailgate demo`).
    #[command(hide = true)]
    SampleService(SampleServiceArgs),
}

/// Run a parsed command line; returns the exit code.
pub async fn execute(cli: Cli) -> i32 {
    match cli.command {
        Command::Demo(args) => demo::demo(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Check(args) => run::check(args),
        Command::Bench(args) => bench::bench(*args).await,
        Command::Publish(args) => publish::publish(args).await,
        Command::Compare(args) => offline::compare(args),
        Command::Merge(args) => offline::merge(args),
        Command::Calibrate(args) => offline::calibrate(args).await,
        Command::Cleanup(args) => cleanup::cleanup(args).await,
        Command::SampleService(args) => demo::sample_service(args).await,
    }
}

pub(crate) fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    config::units::parse_duration(s)
}

pub(crate) fn load_config(path: &std::path::Path) -> Result<Config, i32> {
    load_config_with(path, &config::ReadOptions::default())
}

/// [`load_config`] with URLs from the command line.
pub(crate) fn load_config_with(
    path: &std::path::Path,
    options: &config::ReadOptions,
) -> Result<Config, i32> {
    config::load_with(path, options).map_err(|err| {
        eprintln!("{err}");
        exit::USAGE
    })
}
