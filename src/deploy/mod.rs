//! Deploy: stand up base and head, hand back targets, tear everything down.
//!
//! A [`Deployer`] creates a [`Target`] per side. Everything it creates (a process,
//! a git worktree, later a cloud stack) is registered with the run's [`TeardownList`]
//! *as soon as it exists*, so a run that fails or is cancelled half-way through a
//! deploy still tears down what was created. The pipeline calls
//! [`TeardownList::teardown_all`] on every exit path.

mod checkout;
pub mod clock;
pub mod cloudformation;
pub mod command;
mod local;
mod output;
mod process;
mod ready;
mod spawn;
mod teardown;
mod trace_env;
mod url;
mod worktree;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::side::Side;

pub use cloudformation::{CloudFormationDeployer, StackContext};
pub use command::{CommandContext, CommandDeployer};
pub use local::LocalDeployer;
pub use process::{free_port, ProcessSpec, RunningProcess};
pub use ready::ReadinessPoller;
pub use teardown::{Resource, TeardownList};
pub use trace_env::TraceExport;
pub use url::UrlDeployer;

/// A boxed, sendable future (deployers are used as trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A deployed side.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Which side this is.
    pub side: Side,
    /// Base URL requests go to (scheme, host, port; no trailing slash).
    pub base_url: String,
    /// The git ref or label the side was built from, for the report.
    pub label: String,
    /// The server's process id when it is ours (for CPU-time cost), else `None`.
    pub pid: Option<u32>,
    /// How the side's folder came to be (its own worktree at a commit, or the run's
    /// checkout; what built it), when the deployer checked one out.
    pub checkout: Option<String>,
    /// The git worktree a `local` side runs in, when it has its own.
    pub worktree: Option<Worktree>,
    /// What the deploy returned by key: a stack's outputs, the keys of `up`'s JSON.
    pub outputs: BTreeMap<String, String>,
    /// The AWS side of the deploy (stack, functions, gateway), when there is one.
    pub aws: Option<AwsTarget>,
}

/// A side's own git worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Worktree {
    /// Its folder.
    pub path: std::path::PathBuf,
    /// The commit checked out.
    pub sha: String,
}

/// What the server-side stage and the cost model need to know about a side on AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsTarget {
    /// The stack, when the deployer created one.
    pub stack: Option<String>,
    /// The region, when known (regional prices).
    pub region: Option<String>,
    /// The Lambda functions serving the side.
    pub functions: Vec<FunctionInfo>,
    /// The API Gateway in front of them, when the deployer knows.
    pub gateway: Option<crate::cost::ApiGatewayKind>,
    /// What happened to the stack (`None` when there is no stack).
    pub applied: Option<cloudformation::stack::Applied>,
    /// S3 keys of the artifacts packaged for the stack.
    pub packaged: Vec<String>,
}

/// A Lambda function of a side, as the cost model needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionInfo {
    /// Physical name (the log group is `/aws/lambda/<name>`).
    pub name: String,
    /// The template's logical id (empty when the deployer does not know it).
    pub logical_id: String,
    /// Its architecture; `None` when neither the template nor the stack's parameters
    /// say (the cost model then uses `cost.architecture`, or does not price).
    pub architecture: Option<crate::cost::Architecture>,
}

/// Something that stands up one side.
pub trait Deployer: Send + Sync {
    /// Short name (`url`, `local`, ...), for logs and the report.
    fn name(&self) -> &'static str;

    /// Deploy `side`, registering everything created with `cleanup` as it is created.
    fn deploy<'a>(
        &'a self,
        side: Side,
        cleanup: &'a TeardownList,
    ) -> BoxFuture<'a, Result<Target, DeployError>>;

    /// Whether base and head may be deployed at the same time (they share nothing
    /// that could race, and each takes long enough for it to matter).
    fn parallel_sides(&self) -> bool {
        false
    }

    /// The AWS clients of the deployment, when it is on AWS: the server-side stage
    /// reads the functions' logs and traces with them.
    fn aws_clients(&self) -> Option<&crate::aws::AwsClients> {
        None
    }

    /// How to poll a deployed side before the first round, for targets this
    /// deployer did not start itself (`None`: the deployer waited already).
    fn readiness(&self) -> Option<&crate::config::RemoteReady> {
        None
    }
}

/// Why a deploy or a teardown failed. The message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// A git command failed (worktree add/remove, rev-parse).
    #[error("git {args} failed: {message}")]
    Git {
        /// The git arguments, for the message.
        args: String,
        /// git's stderr or the I/O error.
        message: String,
    },
    /// The start command could not be spawned.
    #[error("could not start `{command}` for {side}: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The side being started.
        side: Side,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The service exited before it became ready.
    #[error("the {side} service exited with {status} before it was ready; last output:\n{output}")]
    ExitedEarly {
        /// The side.
        side: Side,
        /// Exit status as text.
        status: String,
        /// The tail of its stdout/stderr.
        output: String,
    },
    /// The readiness probe did not succeed in time.
    #[error("the {side} service at {url} was not ready after {waited:?} ({last}); raise `deploy.ready.timeout` or check the start command; last output:\n{output}")]
    NotReady {
        /// The side.
        side: Side,
        /// The probed URL.
        url: String,
        /// How long we waited.
        waited: std::time::Duration,
        /// The last probe outcome.
        last: String,
        /// The tail of its stdout/stderr.
        output: String,
    },
    /// A target tailgate did not start did not answer ready in time.
    #[error("the {side} target at {url} was not ready after {:.0?} and {polls} poll{} ({last}); check that the preview is up, or set `ready.path`, `ready.status` or a longer `ready.timeout` under the deployer", waited, if *polls == 1 { "" } else { "s" })]
    RemoteNotReady {
        /// The side.
        side: Side,
        /// The polled URL.
        url: String,
        /// How long we waited.
        waited: std::time::Duration,
        /// How many polls were sent.
        polls: u32,
        /// What the last poll found.
        last: String,
    },
    /// A target URL is not usable.
    #[error("{side} URL `{url}` is not usable: {reason}")]
    BadUrl {
        /// The side.
        side: Side,
        /// The URL as configured.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// An AWS deploy (a stack) failed.
    #[error("{side}: {source}")]
    Aws {
        /// The side.
        side: Side,
        /// What AWS said.
        #[source]
        source: crate::aws::AwsError,
    },
    /// A user `up`/`down` command failed.
    #[error("the `{which}` command of {side} failed: {message}{}", if output.is_empty() { String::new() } else { format!("; last output:\n{output}") })]
    Command {
        /// The side.
        side: Side,
        /// `up` or `down`.
        which: &'static str,
        /// What went wrong.
        message: String,
        /// The tail of its stdout/stderr.
        output: String,
    },
    /// Removing something at teardown failed.
    #[error("could not remove {what}: {message}")]
    Teardown {
        /// What was being removed.
        what: String,
        /// Why it failed.
        message: String,
    },
    /// Any other I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
