//! The command line: argument types (clap) and one function per command. Each
//! returns the process exit code; `main.rs` only builds the runtime and exits.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::demo::service::{SampleService, Variant};
use crate::deploy::UrlDeployer;
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
    /// Delete tailgate's AWS stacks past their expiry or of closed pull requests.
    Cleanup(CleanupArgs),
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

/// `tailgate cleanup`.
#[derive(Debug, clap::Args)]
pub struct CleanupArgs {
    /// Only stacks of this repository (`owner/name`).
    #[arg(long, env = "GITHUB_REPOSITORY")]
    pub repo: Option<String>,
    /// Also delete the stacks of this closed pull request (repeatable).
    #[arg(long = "pr")]
    pub prs: Vec<u64>,
    /// A GitHub event payload; a `pull_request` `closed` event adds its pull request.
    #[arg(long, env = "GITHUB_EVENT_PATH")]
    pub event: Option<PathBuf>,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// AWS region (default from the environment or profile).
    #[arg(long)]
    pub region: Option<String>,
    /// Seconds to wait for each stack's deletion.
    #[arg(long, default_value_t = 1200)]
    pub timeout_secs: u64,
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
        Command::SampleService(args) => sample_service(args).await,
        Command::Cleanup(args) => cleanup(args).await,
    }
}

/// The pull request closed by a `pull_request` event payload, if that is what it is.
pub fn closed_pr_of_event(payload: &str) -> Option<u64> {
    let event: serde_json::Value = serde_json::from_str(payload).ok()?;
    if event.get("action")?.as_str()? != "closed" {
        return None;
    }
    event.get("pull_request")?.get("number")?.as_u64()
}

async fn cleanup(args: CleanupArgs) -> i32 {
    use crate::aws::stack::Polling;
    use crate::aws::sweep::{self, SweepAction, SweepRequest};

    let mut closed_prs = args.prs.clone();
    if let Some(path) = &args.event {
        if let Some(pr) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| closed_pr_of_event(&text))
        {
            closed_prs.push(pr);
        }
    }
    let clients = crate::aws::AwsClients::load(&crate::aws::ClientOptions {
        region: args.region.clone(),
        ..Default::default()
    })
    .await;
    let request = SweepRequest {
        repo: args.repo.clone(),
        closed_prs,
        now: time::OffsetDateTime::now_utc(),
        dry_run: args.dry_run,
    };
    let polling = Polling {
        timeout: std::time::Duration::from_secs(args.timeout_secs),
        interval: std::time::Duration::from_secs(5),
    };
    let swept = match sweep::sweep(&clients, &request, polling).await {
        Ok(swept) => swept,
        Err(err) => {
            eprintln!("tailgate cleanup: {err}");
            return exit::ERROR;
        }
    };
    if swept.is_empty() {
        println!("no tailgate stacks to delete");
    }
    let mut failed = false;
    for s in &swept {
        let action = match &s.action {
            SweepAction::Deleted => "deleted".to_string(),
            SweepAction::WouldDelete => "would delete".to_string(),
            SweepAction::Failed(why) => {
                failed = true;
                format!("FAILED ({why})")
            }
        };
        let tag = |k: &str| s.tags.get(k).map_or("-", String::as_str);
        println!(
            "{action}: {} (repo {}, pr {}, side {}, expires {}, reason {:?})",
            s.name,
            tag(crate::aws::tags::keys::REPO),
            tag(crate::aws::tags::keys::PR),
            tag(crate::aws::tags::keys::SIDE),
            tag(crate::aws::tags::keys::EXPIRES),
            s.reason
        );
    }
    if failed {
        exit::ERROR
    } else {
        exit::PASS
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pull_request_event_names_its_pr() {
        let closed =
            r#"{"action": "closed", "number": 17, "pull_request": {"number": 17, "merged": true}}"#;
        assert_eq!(closed_pr_of_event(closed), Some(17));
        let opened = r#"{"action": "opened", "number": 17, "pull_request": {"number": 17}}"#;
        assert_eq!(closed_pr_of_event(opened), None);
        assert_eq!(closed_pr_of_event(r#"{"action": "closed"}"#), None);
        assert_eq!(closed_pr_of_event("not json"), None);
    }

    #[test]
    fn cleanup_parses_its_flags() {
        let cli = Cli::try_parse_from([
            "tailgate",
            "cleanup",
            "--dry-run",
            "--pr",
            "3",
            "--pr",
            "4",
            "--repo",
            "acme/orders",
        ])
        .unwrap();
        let Command::Cleanup(args) = cli.command else {
            panic!("not cleanup");
        };
        assert!(args.dry_run);
        assert_eq!(args.prs, vec![3, 4]);
        assert_eq!(args.repo.as_deref(), Some("acme/orders"));
    }
}
