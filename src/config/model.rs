//! The validated configuration: the domain types every later stage uses.
//!
//! Nothing in here can hold an invalid value: `raw.rs` deserialises what the user
//! wrote, `validate.rs` turns it into these types or into located errors.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde::{Deserialize, Serialize};

/// A fraction written by people as a percentage (`0.1%`, `+10%`), stored as a
/// plain fraction: `10%` is `Fraction(0.10)`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fraction(pub f64);

impl Fraction {
    /// The fraction as a percentage number (`0.1` -> `10.0`).
    pub fn percent(self) -> f64 {
        self.0 * 100.0
    }
}

/// Whether a failing verdict fails the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Report only: the exit code is 0 whatever the verdict.
    Advisory,
    /// A failing verdict exits 1 and fails the check.
    #[default]
    Blocking,
}

/// A whole, validated `tailgate.yml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config was read from (shown in errors and in the report).
    pub source: String,
    /// Directory relative paths in the config are resolved against.
    pub base_dir: PathBuf,
    /// Advisory or blocking.
    pub mode: Mode,
    /// How base and head are deployed.
    pub deploy: DeployConfig,
    /// The default load profile (endpoints may override parts of it).
    pub load: Load,
    /// How base and head are compared.
    pub compare: CompareConfig,
    /// The endpoints, at least one, names unique.
    pub endpoints: Vec<Endpoint>,
    /// TLS settings for https targets.
    pub tls: TlsSettings,
    /// The cost model (`cost:`): prices, currency, the monthly projection.
    pub cost: crate::cost::CostModel,
    /// The secret values `${NAME}` references brought in: masked in the log and
    /// replaced by their `${NAME}` in everything tailgate writes.
    pub secrets: super::Secrets,
    /// Where runs of the default branch are kept, and what is read back (`history:`).
    pub history: HistoryConfig,
    /// A pull request label that accepts a failing verdict for the head commit it
    /// was added on (`accept_label:`).
    pub accept_label: Option<String>,
    /// Why from traces (`traces:`): the OTLP receiver and the `traceparent`s.
    pub traces: TracesConfig,
}

/// `traces:`: an OTLP/HTTP receiver for the run, and a sampled W3C `traceparent`
/// on the measured requests, so the spans of base and head can be compared.
#[derive(Debug, Clone, PartialEq)]
pub struct TracesConfig {
    /// Whether traces are received and `traceparent`s sent.
    pub enabled: bool,
    /// Sampled requests per round, endpoint and side.
    pub per_round: u32,
    /// One request in `every` is sampled (until `per_round` are).
    pub every: u32,
    /// At most this many spans are kept per round (all endpoints and sides).
    pub max_spans: u32,
    /// Export bodies over this many bytes (also once decompressed) are refused.
    pub max_body: usize,
    /// How long to wait after the last round for the last spans.
    pub grace: Duration,
    /// The address the receiver listens on (`127.0.0.1:0`: a free loopback port).
    pub listen: std::net::SocketAddr,
}

impl TracesConfig {
    /// Sampled requests per round, endpoint and side by default.
    pub const DEFAULT_PER_ROUND: u32 = 50;
    /// Spans kept per round by default.
    pub const DEFAULT_MAX_SPANS: u32 = 20_000;
    /// The body limit by default, KiB.
    pub const DEFAULT_MAX_BODY_KIB: u32 = 4_096;
    /// The grace period by default: longer than the SDKs' default batch delay (5 s).
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(6);
}

impl Default for TracesConfig {
    fn default() -> Self {
        TracesConfig {
            enabled: false,
            per_round: Self::DEFAULT_PER_ROUND,
            every: 1,
            max_spans: Self::DEFAULT_MAX_SPANS,
            max_body: Self::DEFAULT_MAX_BODY_KIB as usize * 1024,
            grace: Self::DEFAULT_GRACE,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// `history:`: the store of past runs of the default branch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryConfig {
    /// Where records are kept (`None`: no history).
    pub store: Option<StoreLocation>,
    /// The branch whose runs are recorded (`None`: the repository's default
    /// branch as the event names it, else `main`).
    pub branch: Option<String>,
    /// What a pull request is compared with.
    pub baseline: Baseline,
    /// Runs of the branch shown in the trend per endpoint (0: no trend).
    pub trend: u32,
    /// Stored runs needed before an endpoint's noise floor is learned.
    pub min_runs: u32,
}

impl HistoryConfig {
    /// Trend length when `trend:` is not given.
    pub const DEFAULT_TREND: u32 = 20;
    /// `min_runs:` when not given.
    pub const DEFAULT_MIN_RUNS: u32 = 10;
}

/// Where the history lives.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreLocation {
    /// A folder (restored and saved by actions/cache, or an artifact).
    Dir(PathBuf),
    /// An S3 bucket and key prefix (`s3://bucket/prefix`).
    S3 {
        /// The bucket.
        bucket: String,
        /// Key prefix, without a trailing `/` (may be empty).
        prefix: String,
        /// The bucket's region (default: the AWS config's).
        region: Option<String>,
    },
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Dir(p) => write!(f, "{}", p.display()),
            StoreLocation::S3 { bucket, prefix, .. } if prefix.is_empty() => {
                write!(f, "s3://{bucket}")
            }
            StoreLocation::S3 { bucket, prefix, .. } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// What a pull request's head is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Baseline {
    /// Deploy base fresh and interleave its rounds with head's (the default).
    #[default]
    Fresh,
    /// The stored run of the merge-base (or the nearest earlier stored commit):
    /// only head is deployed.
    Stored,
}

/// How the two sides are compared statistically.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareConfig {
    /// The most rounds per side (B H B H ...). At least 2. From `min_rounds` on the
    /// gate looks at the data every [`LOOK_EVERY`] rounds and stops measuring an
    /// endpoint once its checks are decided (`stats::sequential`).
    pub rounds: u32,
    /// Rounds per side before the first look (at least 2; `rounds` or more: one
    /// look at the end, the fixed design).
    pub min_rounds: u32,
    /// Changes smaller than this are never called a regression or an improvement.
    pub noise_floor: Fraction,
    /// Confidence level of the intervals (0.95 by default).
    pub confidence: f64,
    /// Bootstrap resamples (at least 2,000 by default).
    pub resamples: u32,
    /// Seed of the random number generator; `None` picks one and records it.
    pub seed: Option<u64>,
    /// Rounds of the one extension an inconclusive run of an earlier version could
    /// buy (both looks then decided at half the error rate). A config's `extend`
    /// now adds to `rounds` and this stays 0; results files that bought one are
    /// still judged as they were.
    pub extend: u32,
    /// Noise floors learned per endpoint and metric from the history (over
    /// `noise_floor` for those ratio metrics). Empty unless a history supplies them.
    pub endpoint_floors: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<crate::stats::Metric, Fraction>,
    >,
}

/// Rounds per side before the first look, by default.
pub const DEFAULT_MIN_ROUNDS: u32 = 4;

/// Rounds between two looks of a sequential run: one look per two round pairs
/// keeps the boundaries' cost (and the bootstrap's) low while an endpoint stops
/// within two rounds of its answer.
pub const LOOK_EVERY: u32 = 2;

impl CompareConfig {
    /// Whether the run looks at its data before the most rounds.
    pub fn sequential(&self) -> bool {
        self.min_rounds < self.rounds
    }

    /// The planned looks: every [`LOOK_EVERY`] rounds from `min_rounds`, and at
    /// `rounds`; one look at `rounds` for the fixed design.
    pub fn looks(&self) -> crate::stats::sequential::Looks {
        let most = self.rounds.max(2);
        let first = self.min_rounds.clamp(2, most);
        crate::stats::sequential::Looks::every(first, most, LOOK_EVERY)
            .or_else(|_| crate::stats::sequential::Looks::every(most, most, 1))
            .unwrap_or_else(|_| unreachable!("2 <= most rounds"))
    }

    /// The noise floor of `metric` of `endpoint`: its learned one, else
    /// `noise_floor`.
    pub fn floor_of(&self, endpoint: &str, metric: crate::stats::Metric) -> Fraction {
        self.endpoint_floors
            .get(endpoint)
            .and_then(|m| m.get(&metric))
            .copied()
            .unwrap_or(self.noise_floor)
    }
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            rounds: 24,
            min_rounds: DEFAULT_MIN_ROUNDS,
            noise_floor: Fraction(0.02),
            confidence: 0.95,
            resamples: 2000,
            seed: None,
            extend: 0,
            endpoint_floors: Default::default(),
        }
    }
}

/// How requests are scheduled.
#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    /// N connections, each sends its next request when the last one ends.
    Closed {
        /// Number of concurrent keep-alive connections.
        connections: u32,
    },
    /// A constant arrival rate: each request is due at its time whether or not
    /// earlier ones completed, and its latency counts from when it was due.
    Open {
        /// Requests per second.
        rate: f64,
        /// Most connections used at once; requests due while all are busy wait.
        connections: u32,
    },
    /// Steps of concurrency or rate (1, 10, 100, ...), each measured for the
    /// load's duration; reports the p99 per step and the highest step that meets
    /// the SLO.
    Ladder {
        /// What the steps are.
        kind: LadderKind,
        /// The steps, ascending.
        steps: Vec<f64>,
        /// Connections for a rate ladder (most used at once).
        connections: u32,
    },
}

impl Profile {
    /// The most connections the profile uses at once.
    pub fn max_connections(&self) -> u32 {
        match self {
            Profile::Closed { connections } | Profile::Open { connections, .. } => *connections,
            Profile::Ladder {
                kind: LadderKind::Concurrency,
                steps,
                ..
            } => steps.iter().copied().fold(1.0, f64::max) as u32,
            Profile::Ladder { connections, .. } => *connections,
        }
    }
}

/// What a ladder's steps are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LadderKind {
    /// Closed-loop connection counts.
    Concurrency,
    /// Open-loop rates, requests per second.
    Rate,
}

/// Which HTTP version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum HttpVersion {
    /// HTTP/1.1 with keep-alive.
    #[default]
    #[serde(rename = "1.1")]
    Http1,
    /// HTTP/2 (ALPN `h2` over TLS, prior knowledge over plain TCP).
    #[serde(rename = "2")]
    Http2,
}

/// A load profile: how much load, for how long, per round and side.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// The schedule.
    pub profile: Profile,
    /// Measured time per round and side. At least one of `duration` and `requests`.
    pub duration: Option<Duration>,
    /// Measured requests per round and side.
    pub requests: Option<u64>,
    /// Unrecorded warm-up before the first round of each side.
    pub warmup: Duration,
    /// Per-request timeout; a request slower than this is a `timeout` error.
    pub timeout: Duration,
    /// HTTP/1.1 (default) or HTTP/2.
    pub http: HttpVersion,
}

impl Default for Load {
    fn default() -> Self {
        Load {
            profile: Profile::Closed { connections: 10 },
            duration: Some(Duration::from_secs(5)),
            requests: None,
            warmup: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            http: HttpVersion::Http1,
        }
    }
}

/// TLS settings for https targets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSettings {
    /// Extra trusted root certificates (a PEM file), e.g. a private CA.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate. Only for targets you control.
    pub insecure: bool,
}

/// Absolute limits on head. `None` means no limit. In JSON, latency limits are
/// milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Slo {
    /// p50 latency must stay below this.
    #[serde(with = "opt_ms")]
    pub p50: Option<Duration>,
    /// p95 latency must stay below this.
    #[serde(with = "opt_ms")]
    pub p95: Option<Duration>,
    /// p99 latency must stay below this.
    #[serde(with = "opt_ms")]
    pub p99: Option<Duration>,
    /// p99.9 latency must stay below this.
    #[serde(with = "opt_ms")]
    pub p999: Option<Duration>,
    /// Error rate (failed / all requests) must stay at or below this.
    pub error_rate: Option<Fraction>,
    /// Throughput (successful requests per second) must be at least this.
    pub min_throughput: Option<f64>,
    /// Highest cost per million requests on head (`cost_per_1m: $2.00`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_1m: Option<crate::cost::Money>,
}

/// Limits on the change of head relative to base. `None` means no budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Budget {
    /// p50 may grow at most this much (`+10%` is `0.10`).
    pub p50: Option<Fraction>,
    /// p95 may grow at most this much.
    pub p95: Option<Fraction>,
    /// p99 may grow at most this much.
    pub p99: Option<Fraction>,
    /// p99.9 may grow at most this much.
    pub p999: Option<Fraction>,
    /// Error rate may grow at most this many percentage points (`+0.1%` is `0.001`).
    pub error_rate: Option<Fraction>,
    /// Throughput may drop at most this much (`-10%` is `0.10`).
    pub throughput: Option<Fraction>,
    /// Largest allowed growth of the cost per request (`+5%`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Fraction>,
}

/// One named request with its own limits.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Unique name, shown in the report (`GET /orders` by default).
    pub name: String,
    /// HTTP method.
    pub method: Method,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Extra request headers.
    pub headers: HeaderMap,
    /// Request body, if any.
    pub body: Option<Bytes>,
    /// Status codes that count as success (default: any 2xx).
    pub expect_status: Vec<u16>,
    /// Values for the `{{item}}` request variable, used round-robin.
    pub items: Vec<String>,
    /// The load profile for this endpoint (the default one, with overrides applied).
    pub load: Load,
    /// SLOs (defaults merged with the endpoint's own).
    pub slo: Slo,
    /// Regression budgets (defaults merged with the endpoint's own).
    pub budget: Budget,
}

impl Endpoint {
    /// Whether `status` counts as success for this endpoint.
    pub fn is_expected(&self, status: u16) -> bool {
        status_expected(&self.expect_status, status)
    }
}

/// Whether `status` is in `expect` (or is a 2xx when `expect` is empty).
pub fn status_expected(expect: &[u16], status: u16) -> bool {
    if expect.is_empty() {
        (200..300).contains(&status)
    } else {
        expect.contains(&status)
    }
}

/// How the two sides are deployed.
#[derive(Debug, Clone, PartialEq)]
pub enum DeployConfig {
    /// The URLs already exist (a preview deployed by an earlier step).
    Url {
        /// Base URL of the base side, e.g. `https://base.example.com`.
        base: String,
        /// Base URL of the head side.
        head: String,
        /// How to tell that both previews answer before the first round.
        ready: RemoteReady,
    },
    /// Build and start each side locally from a git worktree of its ref.
    Local(LocalDeploy),
    /// A CloudFormation (or SAM) stack per side.
    CloudFormation(CloudFormationDeploy),
    /// User commands bring each side up and down (`sam deploy`, CDK, Terraform, ...).
    Command(CommandDeploy),
}

/// The `cloudformation` deployer's settings (`deploy: { cloudformation: ... }`).
#[derive(Debug, Clone, PartialEq)]
pub struct CloudFormationDeploy {
    /// The template file (JSON or YAML; SAM is fine), at most 51,200 bytes.
    pub template: PathBuf,
    /// Stack name prefix; must start with a letter. Default `tailgate`.
    pub stack_prefix: String,
    /// The stack output that holds the base URL. Default `ApiUrl`.
    pub url_output: String,
    /// Parameter values passed to the template.
    pub parameters: Vec<(String, String)>,
    /// The template parameter that receives the side's git sha (e.g. `GitSha`), if any.
    pub sha_parameter: Option<String>,
    /// Capabilities to acknowledge. Default `CAPABILITY_IAM`, `CAPABILITY_NAMED_IAM`,
    /// `CAPABILITY_AUTO_EXPAND` (the last lets CloudFormation apply the SAM transform).
    pub capabilities: Vec<String>,
    /// AWS region; default from the environment / profile.
    pub region: Option<String>,
    /// How long a create, update or delete may take. Default 20 minutes.
    pub timeout: Duration,
    /// Time between two status polls. Default 5 seconds.
    pub poll_interval: Duration,
    /// Stacks are tagged to expire this long after they were deployed (for
    /// `tailgate cleanup`). Default 24 hours.
    pub ttl: Duration,
    /// Extra tags on both stacks.
    pub tags: Vec<(String, String)>,
    /// How to tell that a stack's URL answers before the first round (API Gateway
    /// answers 403 or 5xx while a stage deploys).
    pub ready: RemoteReady,
    /// Each side's checkout and build.
    pub sides: SideBuild,
    /// The S3 bucket local code (`CodeUri: src/`, `Code: dist/`) and templates over
    /// the inline limit are uploaded to (`aws cloudformation package` does the same).
    pub bucket: Option<String>,
    /// Right-sizing: head deployed once per value of a template parameter.
    pub sweep: Option<Sweep>,
}

/// `sweep:` of a template parameter on head (Lambda Power Tuning's question): one
/// stack per value, the same rounds, and the cheapest value that meets the SLOs.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The template parameter, e.g. `MemorySize`.
    pub parameter: String,
    /// Its values, in the order written (2 to 10).
    pub values: Vec<String>,
}

/// Where each side of a `cloudformation` or `command` deploy comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct SideBuild {
    /// Check out each side's commit into its own git worktree and deploy from there.
    /// `None` (default): when the config's folder is in a git repository.
    pub worktree: Option<bool>,
    /// Shell command run in each side's folder before its deploy (e.g. `sam build`).
    pub build: Option<String>,
    /// How long `build` may take. Default 20 minutes.
    pub build_timeout: Duration,
}

impl Default for SideBuild {
    fn default() -> Self {
        SideBuild {
            worktree: None,
            build: None,
            build_timeout: Duration::from_secs(20 * 60),
        }
    }
}

impl CloudFormationDeploy {
    /// Settings with every default and `template`.
    pub fn with_template(template: impl Into<PathBuf>) -> CloudFormationDeploy {
        CloudFormationDeploy {
            template: template.into(),
            stack_prefix: "tailgate".into(),
            url_output: "ApiUrl".into(),
            parameters: Vec::new(),
            sha_parameter: None,
            capabilities: vec![
                "CAPABILITY_IAM".into(),
                "CAPABILITY_NAMED_IAM".into(),
                "CAPABILITY_AUTO_EXPAND".into(),
            ],
            region: None,
            timeout: Duration::from_secs(20 * 60),
            poll_interval: Duration::from_secs(5),
            ttl: Duration::from_secs(24 * 3600),
            tags: Vec::new(),
            ready: RemoteReady::default(),
            sides: SideBuild::default(),
            bucket: None,
            sweep: None,
        }
    }
}

/// The `command` deployer's settings (`deploy: { command: ... }`).
#[derive(Debug, Clone, PartialEq)]
pub struct CommandDeploy {
    /// Shell command that deploys one side and prints its URL, or a JSON object of
    /// outputs, on stdout (the last line that is a URL or a JSON object counts).
    pub up: String,
    /// Shell command that removes one side; runs on every exit path, also after a
    /// failed or cancelled `up`, so it must tolerate a half-created side.
    pub down: Option<String>,
    /// The key of the JSON output that holds the URL. Default `url`.
    pub url_output: String,
    /// Working directory (default: the config file's directory).
    pub dir: Option<PathBuf>,
    /// Extra environment for both commands.
    pub env: Vec<(String, String)>,
    /// How long `up` may take. Default 20 minutes.
    pub up_timeout: Duration,
    /// How long `down` may take. Default 20 minutes.
    pub down_timeout: Duration,
    /// How to tell that the side's URL answers before the first round.
    pub ready: RemoteReady,
    /// Each side's checkout and build.
    pub sides: SideBuild,
    /// Lambda functions behind the deploy (names, ARNs or `/aws/lambda/NAME` log
    /// groups) whose REPORT lines give cold starts and cost; when empty, `up`'s JSON
    /// outputs name them (a `functions` key, or values that are function ARNs).
    pub functions: Vec<String>,
}

impl CommandDeploy {
    /// Settings with every default and the `up` command.
    pub fn with_up(up: impl Into<String>) -> CommandDeploy {
        CommandDeploy {
            up: up.into(),
            down: None,
            url_output: "url".into(),
            dir: None,
            env: Vec::new(),
            up_timeout: Duration::from_secs(20 * 60),
            down_timeout: Duration::from_secs(20 * 60),
            ready: RemoteReady::default(),
            sides: SideBuild::default(),
            functions: Vec::new(),
        }
    }
}

/// The readiness poll of a target tailgate did not start itself (`ready:` of the
/// `url`, `command` and `cloudformation` deployers): `GET path` until it answers,
/// waiting `interval` after the first miss and twice as long after each further
/// one (at most 15 s), for at most `timeout` in all.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteReady {
    /// The path polled, e.g. `/healthz`. Default `/`.
    pub path: String,
    /// How long a side may take to answer. Default 5 minutes.
    pub timeout: Duration,
    /// The first wait between two polls. Default 1 second.
    pub interval: Duration,
    /// Statuses that count as ready; empty: any status below 500 except 429.
    pub status: Vec<u16>,
}

impl Default for RemoteReady {
    fn default() -> Self {
        RemoteReady {
            path: "/".into(),
            timeout: Duration::from_secs(5 * 60),
            interval: Duration::from_secs(1),
            status: Vec::new(),
        }
    }
}

impl RemoteReady {
    /// Whether a poll that got `status` found the side ready.
    pub fn is_ready(&self, status: u16) -> bool {
        if self.status.is_empty() {
            status < 500 && status != 429
        } else {
            self.status.contains(&status)
        }
    }
}

/// The `local` deployer's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalDeploy {
    /// Shell command that starts the service; it must listen on `$PORT`.
    pub command: String,
    /// The git repository (default: the config file's directory).
    pub repo: PathBuf,
    /// Check out each side's ref into a temporary git worktree and run there.
    /// When false the command runs in `repo` for both sides.
    pub worktree: bool,
    /// Git ref of base (default from the pull request, else `main`).
    pub base_ref: Option<String>,
    /// Git ref of head (default from the pull request, else `HEAD`).
    pub head_ref: Option<String>,
    /// Readiness probe: a path polled until it answers with a non-5xx status.
    pub ready_path: String,
    /// How long to wait for readiness.
    pub ready_timeout: Duration,
    /// Time between SIGTERM and SIGKILL on stop.
    pub stop_timeout: Duration,
    /// Extra environment for the command.
    pub env: Vec<(String, String)>,
}

mod opt_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_some(&(d.as_secs_f64() * 1000.0)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|ms| Duration::try_from_secs_f64(ms / 1000.0).map_err(serde::de::Error::custom))
            .transpose()
    }
}
