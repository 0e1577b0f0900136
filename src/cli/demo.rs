//! `tailgate demo` and the sample service it deploys.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::ValueEnum;

use crate::config::DeployConfig;
use crate::demo::service::{SampleService, Variant};
use crate::deploy::LocalDeployer;
use crate::gate::{self, RunOptions};
use crate::judge::verdict::{exit, Level};
use crate::progress::{Progress, ProgressMode};
use crate::results::RunContext;
use crate::side::Side;

/// `tailgate demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder for the report (`report.md`) and results (`tailgate-results.json`).
    #[arg(long, default_value = "tailgate-out/demo")]
    pub out: PathBuf,
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

pub(crate) async fn sample_service(args: SampleServiceArgs) -> i32 {
    let side = match args.variant {
        VariantArg::Base => Side::Base,
        VariantArg::Head => Side::Head,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    match SampleService::start(addr, Variant(side)).await {
        Ok(service) => {
            println!("sample service ({side}) listening on {}", service.url());
            gate::shutdown_signal().await;
            exit::PASS
        }
        Err(err) => {
            eprintln!("tailgate: could not listen on {addr}: {err}");
            exit::ERROR
        }
    }
}

/// Quote `s` for `sh -c`.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub(crate) async fn demo(args: DemoArgs) -> i32 {
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
        server_side: Default::default(),
        out_dir: args.out.clone(),
        context: RunContext {
            kind: "demo".into(),
            base_label: "sample-service (base variant)".into(),
            head_label: "sample-service (head variant)".into(),
            ..RunContext::default()
        },
        ..RunOptions::default()
    };
    let outcome = match gate::measure(&config, &deployer, &options, &progress).await {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::ERROR;
        }
    };
    progress.finish();
    println!("{}", crate::report::escape::plain(&outcome.markdown));
    println!("---");
    let results = &outcome.results;
    for cmp in &results.comparisons {
        // The endpoint's story in one line: its largest gated regression, else the
        // gated latency metric it improved on, else its p99.
        use crate::judge::verdict::{improvement, regression, Metric};
        let shown = regression(&results.limits, cmp)
            .or_else(|| improvement(&results.limits, cmp))
            .or_else(|| cmp.get(Metric::P99));
        if let Some(m) = shown {
            println!(
                "{:<16} {:<12} {}",
                cmp.endpoint,
                m.state.label().to_uppercase(),
                crate::report::checks::describe_change(m)
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
