//! The command line: argument types (clap) and one function per command. Each
//! returns the process exit code; `main.rs` only builds the runtime and exits.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::context::Context;
use crate::demo::service::{SampleService, Variant};
use crate::deploy::UrlDeployer;
use crate::github::{self, CommentPolicy, PublishOptions};
use crate::pipeline::{self, RunOptions};
use crate::progress::{Progress, ProgressMode};
use crate::report::{build_view, render_markdown};
use crate::results::RunContext;
use crate::side::Side;
use crate::verdict::{exit, Level};

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
    /// Publish a results file to GitHub: PR comment, check run, job summary, outputs.
    ///
    /// The privileged half of the fork-safe pattern: a `pull_request` workflow
    /// measures and uploads `tailgate-results.json`; a `workflow_run` workflow that
    /// has the token downloads it and runs `tailgate publish`. Exits with the
    /// verdict's exit code.
    Publish(PublishArgs),
    /// Serve the demo's sample service (used by `tailgate demo`).
    #[command(hide = true)]
    SampleService(SampleServiceArgs),
}

/// `tailgate demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder for the report (`report.md`) and results (`tailgate-results.json`).
    #[arg(long, default_value = "tailgate-out/demo")]
    pub out: PathBuf,
}

/// `tailgate publish`.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The results file (default: the `results` input, else
    /// `tailgate-out/tailgate-results.json`).
    pub results: Option<PathBuf>,
    /// When to post the PR comment: always, on-change, on-failure, never (default:
    /// the `comment` input, else always).
    #[arg(long, value_parser = parse_comment_policy)]
    pub comment: Option<CommentPolicy>,
    /// Do not create a check run.
    #[arg(long)]
    pub no_check_run: bool,
}

fn parse_comment_policy(s: &str) -> Result<CommentPolicy, String> {
    s.parse()
}

/// Which variant of the sample service.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VariantArg {
    /// Sequential downstream calls, with a cache.
    Base,
    /// Parallel downstream calls, without the cache.
    Head,
}

/// `tailgate sample-service`.
#[derive(Debug, clap::Args)]
pub struct SampleServiceArgs {
    /// Which variant to serve.
    #[arg(long, value_enum, env = "TAILGATE_SIDE")]
    pub variant: VariantArg,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 0)]
    pub port: u16,
}

/// Run a parsed command line; returns the exit code.
pub async fn execute(cli: Cli) -> i32 {
    match cli.command {
        Command::Demo(args) => demo(args).await,
        Command::Publish(args) => publish(args).await,
        Command::SampleService(args) => sample_service(args).await,
    }
}

async fn publish(args: PublishArgs) -> i32 {
    let ctx = match Context::from_process() {
        Ok(ctx) => ctx,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::USAGE;
        }
    };
    let path = args
        .results
        .or_else(|| ctx.inputs.results.clone())
        .unwrap_or_else(|| PathBuf::from("tailgate-out/tailgate-results.json"));
    let mut results = match github::read_results(&path) {
        Ok(results) => results,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::USAGE;
        }
    };
    github::adopt_context(&ctx, &mut results);
    let markdown = match render_markdown(&build_view(&results)) {
        Ok(markdown) => markdown,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::ERROR;
        }
    };
    let mut options = PublishOptions::from_context(&ctx);
    if let Some(policy) = args.comment {
        options.comment = policy;
    }
    if args.no_check_run {
        options.check_run = false;
    }
    options.results_path = Some(path);
    github::publish(&ctx, &results, &markdown, &options).await;
    results.verdict.exit_code()
}

async fn sample_service(args: SampleServiceArgs) -> i32 {
    let side = match args.variant {
        VariantArg::Base => Side::Base,
        VariantArg::Head => Side::Head,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    match SampleService::start(addr, Variant(side)).await {
        Ok(service) => {
            println!("sample service ({side}) listening on {}", service.url());
            pipeline::shutdown_signal().await;
            exit::PASS
        }
        Err(err) => {
            eprintln!("tailgate: could not listen on {addr}: {err}");
            exit::ERROR
        }
    }
}

async fn demo(args: DemoArgs) -> i32 {
    let progress = Progress::new(ProgressMode::detect());
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let (base, head) = match (
        SampleService::start(any, Variant(Side::Base)).await,
        SampleService::start(any, Variant(Side::Head)).await,
    ) {
        (Ok(b), Ok(h)) => (b, h),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("tailgate: could not start the sample service on 127.0.0.1: {e}");
            return exit::ERROR;
        }
    };
    let config = crate::demo::demo_config(&base.url(), &head.url());
    let deployer = UrlDeployer::new(base.url(), head.url());
    let options = RunOptions {
        out_dir: args.out.clone(),
        context: RunContext {
            kind: "demo".into(),
            base_label: "sample-service@base".into(),
            head_label: "sample-service@head".into(),
            run_url: None,
            ..RunContext::default()
        },
    };
    let outcome = match pipeline::run(&config, &deployer, &options, &progress).await {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::ERROR;
        }
    };
    progress.finish();
    println!("{}", outcome.markdown);
    println!("---");
    let results = &outcome.results;
    for cmp in &results.comparisons {
        if let Some(p99) = cmp.get(crate::verdict::Metric::P99) {
            println!(
                "{:<16} p99 {}: {}",
                cmp.endpoint,
                p99.state.label(),
                crate::verdict::describe_change(p99)
            );
        }
    }
    let code = outcome.exit_code();
    let meaning = match results.verdict.level {
        Level::Fail => "the gate FAILS this PR",
        Level::Warn => "the gate passes this PR with warnings",
        Level::Pass => "the gate passes this PR",
        Level::Error => "the run failed",
    };
    println!(
        "Verdict: {meaning}; a real run would exit with code {code}. (The demo itself exits 0.)"
    );
    println!(
        "Report: {}\nResults: {}",
        outcome.markdown_path.display(),
        outcome.results_path.display()
    );
    if outcome.interrupted {
        return exit::INTERRUPTED;
    }
    exit::PASS
}
