//! `tailgate bench`: the load engine alone, wrk-style.

use std::path::PathBuf;

use super::{load_config, parse_duration_arg};
use crate::judge::verdict::exit;
use crate::progress::{Progress, ProgressMode};

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
    /// `-c`, `-r`, `-d`, `-n`, `--warmup` and `-t` then override every endpoint's
    /// load; the request flags (`-m`, `-H`, `-b`, `--body-file`, `--expect-status`)
    /// and the ladders are the config's and are refused.
    #[arg(
        long,
        requires = "target",
        conflicts_with_all = [
            "url", "method", "headers", "body", "body_file", "expect_status", "ladder",
            "rate_ladder",
        ]
    )]
    pub config: Option<PathBuf>,
    /// With --config: the base URL the endpoints' paths are appended to.
    #[arg(long)]
    pub target: Option<String>,
    /// Connections (closed loop), or the most used at once (open loop); default 10.
    #[arg(short = 'c', long)]
    pub connections: Option<u32>,
    /// Open loop: constant arrival rate in requests per second.
    #[arg(short = 'r', long)]
    pub rate: Option<f64>,
    /// Measured duration (`10s`, `500ms`, `1m`).
    #[arg(short = 'd', long, value_parser = parse_duration_arg)]
    pub duration: Option<std::time::Duration>,
    /// Measured request count (with -d too: whichever comes first).
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Unmeasured warm-up before measuring (default none).
    #[arg(long, value_parser = parse_duration_arg)]
    pub warmup: Option<std::time::Duration>,
    /// HTTP method (default GET).
    #[arg(short = 'm', long)]
    pub method: Option<String>,
    /// Request header `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(short = 'b', long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Request body from a file.
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// Per-request timeout (default 10s).
    #[arg(short = 't', long, value_parser = parse_duration_arg)]
    pub timeout: Option<std::time::Duration>,
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
    /// Send a W3C `traceparent` on every request as the gate does with `traces:`
    /// on, N requests of the measured phase sampled (the rest flagged unsampled):
    /// to measure what tracing costs the engine.
    #[arg(long, value_name = "N")]
    pub traceparent: Option<u32>,
}

/// Connections when `-c` is not given.
const DEFAULT_CONNECTIONS: u32 = 10;

/// Per-request timeout when `-t` is not given.
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `-r`, checked.
fn rate_arg(args: &BenchArgs) -> Result<Option<f64>, String> {
    match args.rate {
        Some(rate) if !(rate.is_finite() && rate > 0.0) => Err(format!(
            "--rate must be a positive number of requests per second, not {rate}"
        )),
        rate => Ok(rate),
    }
}

/// With `--config`: the load flags given override one endpoint's load, as they
/// would set it without a config. `-d` and `-n` replace its stopping rule (both
/// given: whichever comes first); `-r` makes it an open loop; `-c` sets its
/// connections; `--warmup`, `-t` and `--http2` set theirs. A flag that cannot
/// apply (`-r` on a ladder) is refused.
fn override_load(
    load: &mut crate::config::Load,
    args: &BenchArgs,
    rate: Option<f64>,
) -> Result<(), String> {
    use crate::config::{HttpVersion, LadderKind, Profile};
    if args.duration.is_some() || args.requests.is_some() {
        load.duration = args.duration;
        load.requests = args.requests;
    }
    if let Some(warmup) = args.warmup {
        load.warmup = warmup;
    }
    if let Some(timeout) = args.timeout {
        load.timeout = timeout;
    }
    if args.http2 {
        load.http = HttpVersion::Http2;
    }
    let connections = args.connections.map(|c| c.max(1));
    load.profile = match (&load.profile, rate) {
        (Profile::Ladder { .. }, Some(_)) => {
            return Err(
                "--rate cannot apply to a ladder (its steps are the load); drop --rate".into(),
            )
        }
        (
            Profile::Ladder {
                kind: LadderKind::Concurrency,
                ..
            },
            None,
        ) if connections.is_some() => {
            return Err(
                "--connections cannot apply to a concurrency ladder (its steps are \
                        the connections); drop -c"
                    .into(),
            )
        }
        (Profile::Closed { connections: c } | Profile::Open { connections: c, .. }, Some(rate)) => {
            Profile::Open {
                rate,
                connections: connections.unwrap_or(*c),
            }
        }
        (Profile::Closed { connections: c }, None) => Profile::Closed {
            connections: connections.unwrap_or(*c),
        },
        (
            Profile::Open {
                rate,
                connections: c,
            },
            None,
        ) => Profile::Open {
            rate: *rate,
            connections: connections.unwrap_or(*c),
        },
        (
            Profile::Ladder {
                kind,
                steps,
                connections: c,
            },
            None,
        ) => Profile::Ladder {
            kind: *kind,
            steps: steps.clone(),
            connections: connections.unwrap_or(*c),
        },
    };
    Ok(())
}

fn bench_spec(args: &BenchArgs) -> Result<crate::bench::standalone::BenchSpec, String> {
    use crate::config::{Endpoint, HttpVersion, LadderKind, Load, Profile};
    let http = if args.http2 {
        HttpVersion::Http2
    } else {
        HttpVersion::Http1
    };
    let rate = rate_arg(args)?;
    let connections = args.connections.unwrap_or(DEFAULT_CONNECTIONS);
    let profile = if !args.ladder.is_empty() {
        Profile::Ladder {
            kind: LadderKind::Concurrency,
            steps: args.ladder.iter().map(|&c| f64::from(c.max(1))).collect(),
            connections,
        }
    } else if !args.rate_ladder.is_empty() {
        if let Some(bad) = args
            .rate_ladder
            .iter()
            .find(|r| !(r.is_finite() && **r > 0.0))
        {
            return Err(format!(
                "--rate-ladder steps must be positive numbers of requests per second, not {bad}"
            ));
        }
        Profile::Ladder {
            kind: LadderKind::Rate,
            steps: args.rate_ladder.clone(),
            connections,
        }
    } else if let Some(rate) = rate {
        Profile::Open {
            rate,
            connections: connections.max(1),
        }
    } else {
        Profile::Closed {
            connections: connections.max(1),
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
        warmup: args.warmup.unwrap_or_default(),
        timeout: args.timeout.unwrap_or(DEFAULT_TIMEOUT),
        http,
    };
    let tls = crate::bench::TlsOptions {
        ca_file: args.cacert.clone(),
        insecure: args.insecure,
    };
    if let Some(path) = &args.config {
        let mut config = load_config(path).map_err(|_| String::new())?;
        for e in &mut config.endpoints {
            override_load(&mut e.load, args, rate)
                .map_err(|m| format!("endpoint `{}` of {}: {m}", e.name, path.display()))?;
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
            traces: traceparent(args),
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
    let method_arg = args.method.as_deref().unwrap_or("GET");
    let method = http::Method::from_bytes(method_arg.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("`{method_arg}` is not an HTTP method"))?;
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
        traces: traceparent(args),
    })
}

/// `--traceparent N`: the gate's sampling with `per_round: N`.
fn traceparent(args: &BenchArgs) -> Option<crate::traceparent::Sampling> {
    args.traceparent
        .map(|per_round| crate::traceparent::Sampling {
            run: rand::random::<u32>() | 1,
            per_round,
            every: 1,
        })
}

pub(crate) async fn bench(args: BenchArgs) -> i32 {
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
