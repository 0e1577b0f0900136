//! The command line: argument types (clap) and one function per command. Each
//! returns the process exit code; `main.rs` only builds the runtime and exits.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{self, Config, DeployConfig};
use crate::demo::service::{SampleService, Variant};
use crate::deploy::{Deployer, LocalDeployer, UrlDeployer};
use crate::pipeline::{self, RunOptions};
use crate::progress::{Progress, ProgressMode};
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
    /// Run the gate for a config: deploy base and head, measure, compare, judge, report.
    Run(RunArgs),
    /// Validate a config file and say what it would do.
    Check(CheckArgs),
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

/// `tailgate run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The config file.
    #[arg(long, short, default_value = "tailgate.yml")]
    pub config: PathBuf,
    /// Folder for the report (`report.md`) and results (`tailgate-results.json`).
    #[arg(long, default_value = "tailgate-out")]
    pub out: PathBuf,
    /// Git ref of base for the `local` deployer (default: the config's, else `main`).
    #[arg(long)]
    pub base_ref: Option<String>,
    /// Git ref of head for the `local` deployer (default: the config's, else `HEAD`).
    #[arg(long)]
    pub head_ref: Option<String>,
    /// Seed for the side order and the bootstrap (default: the config's, else random).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print only the verdict line, not the whole report.
    #[arg(long)]
    pub quiet: bool,
}

/// `tailgate check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The config file.
    #[arg(default_value = "tailgate.yml")]
    pub file: PathBuf,
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
        Command::Run(args) => run(args).await,
        Command::Check(args) => check(args),
        Command::SampleService(args) => sample_service(args).await,
    }
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

/// Quote `s` for `sh -c`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn load_config(path: &std::path::Path) -> Result<Config, i32> {
    config::load(path).map_err(|err| {
        eprintln!("{err}");
        exit::USAGE
    })
}

fn check(args: CheckArgs) -> i32 {
    let config = match load_config(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let deploy = match &config.deploy {
        DeployConfig::Url { base, head } => format!("url (base {base}, head {head})"),
        DeployConfig::Local(l) => format!("local (`{}`)", l.command),
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
            e.path,
            crate::bench::describe_load(&e.load)
        );
    }
    exit::PASS
}

/// The deployer a config asks for, with the refs in force.
fn deployer_for(
    config: &Config,
    base_ref: Option<String>,
    head_ref: Option<String>,
) -> (Box<dyn Deployer>, String, String) {
    match &config.deploy {
        DeployConfig::Url { base, head } => (
            Box::new(UrlDeployer::new(base.clone(), head.clone())),
            base.clone(),
            head.clone(),
        ),
        DeployConfig::Local(local) => {
            let base_ref = base_ref
                .or_else(|| local.base_ref.clone())
                .unwrap_or_else(|| "main".into());
            let head_ref = head_ref
                .or_else(|| local.head_ref.clone())
                .unwrap_or_else(|| "HEAD".into());
            (
                Box::new(LocalDeployer::new(
                    local.clone(),
                    base_ref.clone(),
                    head_ref.clone(),
                )),
                base_ref,
                head_ref,
            )
        }
    }
}

async fn run(args: RunArgs) -> i32 {
    let mut config = match load_config(&args.config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if args.seed.is_some() {
        config.compare.seed = args.seed;
    }
    let progress = Progress::new(ProgressMode::detect());
    let (deployer, base_label, head_label) = deployer_for(&config, args.base_ref, args.head_ref);
    let options = RunOptions {
        out_dir: args.out,
        context: RunContext {
            kind: "local".into(),
            base_label,
            head_label,
            run_url: None,
        },
    };
    let outcome = match pipeline::run(&config, deployer.as_ref(), &options, &progress).await {
        Ok(o) => o,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::ERROR;
        }
    };
    progress.finish();
    if !args.quiet {
        println!("{}", outcome.markdown);
    }
    let v = &outcome.results.verdict;
    eprintln!(
        "tailgate: verdict {} (exit {}); report {}, results {}",
        v.level.as_str(),
        outcome.exit_code(),
        outcome.markdown_path.display(),
        outcome.results_path.display()
    );
    outcome.exit_code()
}

async fn demo(args: DemoArgs) -> i32 {
    let progress = Progress::new(ProgressMode::detect());
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            eprintln!("tailgate: cannot find my own executable to start the sample service: {err}");
            return exit::ERROR;
        }
    };
    let cwd = std::env::temp_dir();
    let local = crate::demo::demo_local_deploy(
        format!(
            "exec {} sample-service",
            shell_quote(&exe.to_string_lossy())
        ),
        cwd,
    );
    let config = crate::demo::demo_config(DeployConfig::Local(local.clone()));
    let deployer = LocalDeployer::new(local, "base".into(), "head".into());
    let options = RunOptions {
        out_dir: args.out.clone(),
        context: RunContext {
            kind: "demo".into(),
            base_label: "sample-service (base variant)".into(),
            head_label: "sample-service (head variant)".into(),
            run_url: None,
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
                "{:<16} {:<12} {}",
                cmp.endpoint,
                p99.state.label().to_uppercase(),
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
    if results.verdict.level == Level::Error {
        return exit::ERROR;
    }
    exit::PASS
}
