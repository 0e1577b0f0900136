//! AWS: the SDK clients and the errors of calls on them. What is done with the
//! clients lives with its stage: CloudFormation stacks, packaging, tags and the
//! sweep in [`crate::deploy::cloudformation`]; Lambda REPORT lines, Logs Insights
//! and X-Ray in [`crate::server_side`].
//!
//! - [`client`]: SDK clients from the standard chain (environment, profile, OIDC web
//!   identity, container/instance roles), honouring `AWS_ENDPOINT_URL`, over one
//!   HTTP stack: hyper + rustls with *ring*.
//!
//! Error messages carry what AWS said (code and message) and never credentials.

pub mod client;

use std::time::Duration;

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

pub use client::{AwsClients, ClientOptions};

/// Why an AWS call or a stack operation failed. The message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// An API call failed; `message` is AWS's code and message.
    #[error("AWS {operation} failed: {message}")]
    Api {
        /// The API operation (`CreateStack`).
        operation: &'static str,
        /// The error code and message from AWS (never credentials).
        message: String,
    },
    /// The stack ended in a failed state.
    #[error("stack {stack} is {status}{}", reasons_text(.reasons))]
    StackFailed {
        /// The stack name.
        stack: String,
        /// The final status (`ROLLBACK_COMPLETE`, `CREATE_FAILED`, ...).
        status: String,
        /// `LogicalId (Type): reason` of each failed resource, oldest first.
        reasons: Vec<String>,
    },
    /// The stack did not reach a final state in time.
    #[error("stack {stack} was still {status} after {waited:?}; raise `deploy.timeout` or look at the stack events in the console")]
    Timeout {
        /// The stack name.
        stack: String,
        /// The last status seen.
        status: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The stack does not have the output that holds the URL.
    #[error("stack {stack} has no output `{output}` (it has: {available}); set `deploy.url_output` to the output that holds the base URL")]
    MissingOutput {
        /// The stack name.
        stack: String,
        /// The output looked for.
        output: String,
        /// The outputs it has, comma-separated.
        available: String,
    },
    /// The template could not be read or is too large to send inline.
    #[error("template {path}: {message}")]
    Template {
        /// The template file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A stack name cannot be formed from the inputs.
    #[error("cannot form a stack name: {0}")]
    StackName(String),
}

fn reasons_text(reasons: &[String]) -> String {
    if reasons.is_empty() {
        String::new()
    } else {
        format!(": {}", reasons.join("; "))
    }
}

impl AwsError {
    /// An API error from an SDK error, keeping AWS's code and message.
    pub fn api<E>(operation: &'static str, err: &SdkError<E>) -> AwsError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        AwsError::Api {
            operation,
            message: describe_sdk_error(err),
        }
    }
}

/// `Code: message` for a service error, else the error chain (timeouts, connection).
pub fn describe_sdk_error<E>(err: &SdkError<E>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    if let Some(service) = err.as_service_error() {
        let code = service.code().unwrap_or("Unknown");
        let message = service.message().unwrap_or("no message");
        return format!("{code}: {message}");
    }
    DisplayErrorContext(err).to_string()
}

/// The service error's code, when AWS answered with one.
pub fn error_code<E>(err: &SdkError<E>) -> Option<String>
where
    E: ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .map(str::to_string)
}

/// The service error's message, when AWS answered with one.
pub fn error_message<E>(err: &SdkError<E>) -> Option<String>
where
    E: ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.message())
        .map(str::to_string)
}
