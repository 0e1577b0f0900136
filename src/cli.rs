//! The command line: argument types (clap) and one function per command. Each
//! returns the process exit code; `main.rs` only builds the runtime and exits.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{self, Config, DeployConfig};
use crate::context::Context;
use crate::demo::service::{SampleService, Variant};
use crate::deploy::{Deployer, LocalDeployer, UrlDeployer};
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
}

/// `tailgate bench`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tailgate bench http://127.0.0.1:8080/ -c 50 -d 10s\n  tailgate bench http://127.0.0.1:8080/api -r 200 -c 10 -d 30s   (open loop: latency from the due time)\n  tailgate bench http://127.0.0.1:8080/ --ladder 1,10,100,1000 --slo-p99 200ms\n  tailgate bench --config tailgate.yml --target http://127.0.0.1:8080"
)]
pub struct BenchArgs {
    /// The URL to load (scheme, host, port, path and query).
    #[arg(required_unless_present = "config")]
    pub url: Option<String>,
    /// Take the endpoints (and their load) from this config instead of the flags.
    #[arg(long, requires = "target", conflicts_with = "url")]
    pub config: Option<PathBuf>,
    /// With --config: the base URL the endpoints' paths are appended to.
    #[arg(long)]
    pub target: Option<String>,
    /// Connections (closed loop), or the most used at once (open loop).
    #[arg(short = 'c', long, default_value_t = 10)]
    pub connections: u32,
    /// Open loop: constant arrival rate in requests per second.
    #[arg(short = 'r', long)]
    pub rate: Option<f64>,
    /// Measured duration (`10s`, `500ms`, `1m`).
    #[arg(short = 'd', long, value_parser = parse_duration_arg)]
    pub duration: Option<std::time::Duration>,
    /// Measured request count (with -d too: whichever comes first).
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Unmeasured warm-up before measuring.
    #[arg(long, value_parser = parse_duration_arg, default_value = "0s")]
    pub warmup: std::time::Duration,
    /// HTTP method.
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,
    /// Request header `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(short = 'b', long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Request body from a file.
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// Per-request timeout.
    #[arg(short = 't', long, value_parser = parse_duration_arg, default_value = "10s")]
    pub timeout: std::time::Duration,
    /// Status codes counted as success (comma separated; default any 2xx).
    #[arg(long, value_delimiter = ',')]
    pub expect_status: Vec<u16>,
    /// Speak HTTP/2 (ALPN h2 over TLS, prior knowledge over plain TCP).
    #[arg(long)]
    pub http2: bool,
    /// Concurrency ladder, e.g. `1,10,100,1000`: one measured phase per step.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["rate", "rate_ladder"])]
    pub ladder: Vec<u32>,
    /// Rate ladder in requests per second, e.g. `100,200,400`.
    #[arg(long, value_delimiter = ',', conflicts_with = "rate")]
    pub rate_ladder: Vec<f64>,
    /// For a ladder: the p99 a step must stay below.
    #[arg(long, value_parser = parse_duration_arg)]
    pub slo_p99: Option<std::time::Duration>,
    /// Generator threads (default: one per core this process may use).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Extra trusted CA certificates (PEM) for https.
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    /// Accept any TLS certificate (only for targets you control).
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// Write the JSON results here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    config::units::parse_duration(s)
}

/// `tailgate check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The config file.
    #[arg(default_value = "tailgate.yml")]
    pub file: PathBuf,
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
        Command::Run(args) => run(args).await,
        Command::Check(args) => check(args),
        Command::Bench(args) => bench(*args).await,
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

fn bench_spec(args: &BenchArgs) -> Result<crate::bench::standalone::BenchSpec, String> {
    use crate::config::{Endpoint, HttpVersion, LadderKind, Load, Profile};
    let http = if args.http2 {
        HttpVersion::Http2
    } else {
        HttpVersion::Http1
    };
    let profile = if !args.ladder.is_empty() {
        Profile::Ladder {
            kind: LadderKind::Concurrency,
            steps: args.ladder.iter().map(|&c| f64::from(c.max(1))).collect(),
            connections: args.connections,
        }
    } else if !args.rate_ladder.is_empty() {
        Profile::Ladder {
            kind: LadderKind::Rate,
            steps: args.rate_ladder.clone(),
            connections: args.connections,
        }
    } else if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!(
                "--rate must be a positive number of requests per second, not {rate}"
            ));
        }
        Profile::Open {
            rate,
            connections: args.connections.max(1),
        }
    } else {
        Profile::Closed {
            connections: args.connections.max(1),
        }
    };
    let duration = match (args.duration, args.requests) {
        (None, None) => Some(std::time::Duration::from_secs(10)),
        (d, _) => d,
    };
    let load = Load {
        profile,
        duration,
        requests: args.requests,
        warmup: args.warmup,
        timeout: args.timeout,
        http,
    };
    let tls = crate::bench::TlsOptions {
        ca_file: args.cacert.clone(),
        insecure: args.insecure,
    };
    if let Some(path) = &args.config {
        let mut config = load_config(path).map_err(|_| String::new())?;
        for e in &mut config.endpoints {
            e.load.http = if args.http2 {
                HttpVersion::Http2
            } else {
                e.load.http
            };
        }
        return Ok(crate::bench::standalone::BenchSpec {
            base_url: args.target.clone().unwrap_or_default(),
            endpoints: config.endpoints,
            tls: crate::bench::TlsOptions {
                ca_file: config.tls.ca_file.or(tls.ca_file),
                insecure: config.tls.insecure || tls.insecure,
            },
            threads: args.threads,
            slo_p99: args.slo_p99,
        });
    }
    let url = args.url.clone().unwrap_or_default();
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let authority = uri
        .authority()
        .ok_or_else(|| format!("`{url}` has no host; write e.g. http://127.0.0.1:8080/"))?;
    let scheme = uri.scheme_str().unwrap_or("http");
    let path = uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    let method = http::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("`{}` is not an HTTP method", args.method))?;
    let mut headers = http::HeaderMap::new();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("header `{h}` must be written `Name: value`"))?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("`{}` is not a valid header name", name.trim()))?;
        let value = http::HeaderValue::from_str(value.trim())
            .map_err(|_| format!("the value of header `{name}` is not valid"))?;
        headers.append(name, value);
    }
    let body = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(bytes::Bytes::from(b.clone())),
        (None, Some(path)) => {
            Some(bytes::Bytes::from(std::fs::read(path).map_err(|e| {
                format!("cannot read {}: {e}", path.display())
            })?))
        }
        (None, None) => None,
    };
    let endpoint = Endpoint {
        name: format!("{method} {path}"),
        method,
        path,
        headers,
        body,
        expect_status: args.expect_status.clone(),
        items: Vec::new(),
        load,
        slo: Default::default(),
        budget: Default::default(),
    };
    Ok(crate::bench::standalone::BenchSpec {
        base_url: format!("{scheme}://{authority}"),
        endpoints: vec![endpoint],
        tls,
        threads: args.threads,
        slo_p99: args.slo_p99,
    })
}

async fn bench(args: BenchArgs) -> i32 {
    let spec = match bench_spec(&args) {
        Ok(spec) => spec,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("tailgate bench: {message}");
            }
            return exit::USAGE;
        }
    };
    let progress = Progress::new(ProgressMode::detect());
    let report = match crate::bench::standalone::run_bench(&spec, &progress).await {
        Ok(r) => r,
        Err(err) => {
            eprintln!("tailgate bench: {err}");
            return exit::ERROR;
        }
    };
    progress.finish();
    print!("{}", report.render_text());
    if let Some(path) = &args.json {
        let text = match serde_json::to_string_pretty(&report) {
            Ok(t) => t,
            Err(err) => {
                eprintln!("tailgate bench: cannot encode the results: {err}");
                return exit::ERROR;
            }
        };
        if let Err(err) = std::fs::write(path, text) {
            eprintln!("tailgate bench: cannot write {}: {err}", path.display());
            return exit::ERROR;
        }
        println!("Results: {}", path.display());
    }
    exit::PASS
}

async fn run(args: RunArgs) -> i32 {
    let ctx = match Context::from_process() {
        Ok(ctx) => ctx,
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
    let publish = ctx.actions && !args.no_publish;
    let gh = if publish {
        github::client(&ctx, github::RetryPolicy::default())
    } else {
        None
    };

    // On a pull request the base commit's copy of the config gates: a PR cannot
    // loosen its own gate. Relative paths in it resolve against the config's folder.
    let repo_dir = ctx.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let (mut config, gate) = if ctx.actions {
        let gate = match github::gate_config(&ctx, &path, &repo_dir, gh.as_ref()).await {
            Ok(gate) => gate,
            Err(err) => {
                eprintln!("tailgate: {err}");
                return exit::USAGE;
            }
        };
        let base_dir = repo_dir
            .join(&path)
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| repo_dir.clone());
        match config::parse(&gate.gate.text, &gate.gate.source, &base_dir) {
            Ok(config) => (config, Some((gate, base_dir))),
            Err(err) => {
                eprintln!("{err}");
                return exit::USAGE;
            }
        }
    } else {
        match load_config(&path) {
            Ok(c) => (c, None),
            Err(code) => return code,
        }
    };
    if args.seed.is_some() {
        config.compare.seed = args.seed;
    }
    let pr = ctx.pull_request();
    let base_ref = args
        .base_ref
        .clone()
        .or_else(|| pr.map(|p| p.base_sha.clone()));
    let head_ref = args
        .head_ref
        .clone()
        .or_else(|| pr.map(|p| p.head_sha.clone()));
    let progress = Progress::new(ProgressMode::detect());
    let (deployer, base_label, head_label) = deployer_for(&config, base_ref, head_ref);
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
    let options = RunOptions {
        out_dir: out_dir.clone(),
        context,
    };
    let mut outcome = match pipeline::run(&config, deployer.as_ref(), &options, &progress).await {
        Ok(o) => o,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::ERROR;
        }
    };
    progress.finish();

    // A config changed by the PR does not change the verdict; the report says what
    // the PR's copy would have decided.
    if let Some((gate, base_dir)) = &gate {
        if let (Some(head), false) = (&gate.head, outcome.results.verdict.level == Level::Error) {
            if let Ok(head_cfg) = config::parse(&head.text, &head.source, base_dir) {
                let level = crate::verdict::decide(&head_cfg, &outcome.results.comparisons).level;
                if let Some(note) = outcome.results.context.config.as_mut() {
                    note.head_verdict = Some(level);
                }
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
        }
    }

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
    if publish {
        let mut opts = PublishOptions::from_context(&ctx);
        opts.results_path = Some(outcome.results_path.clone());
        github::publish(&ctx, &outcome.results, &outcome.markdown, &opts).await;
    }
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
