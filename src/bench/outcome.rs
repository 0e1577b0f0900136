//! How a request ended when it failed: the error kinds every driver (the event
//! loop and the async client), the response reader and the recording share.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The TCP connection could not be opened (refused, unreachable).
    Connect,
    /// No complete response within the per-request timeout.
    Timeout,
    /// The connection was closed or reset mid-request.
    Reset,
    /// A 4xx status that the endpoint does not expect.
    Status4xx,
    /// A 5xx status that the endpoint does not expect.
    Status5xx,
    /// Any other unexpected status (1xx, 2xx or 3xx not in `expect_status`).
    StatusOther,
    /// The response body could not be read to its end.
    Body,
    /// The response was not valid HTTP.
    Protocol,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The client itself could not open a socket: it ran out of file descriptors
    /// (`EMFILE`/`ENFILE`, the generator's `ulimit -n`). A limit of the machine
    /// running tailgate, not a failure of the target.
    ClientLimit,
}

impl ErrorKind {
    /// The kind for an unexpected status code.
    pub fn for_status(status: u16) -> ErrorKind {
        match status {
            400..=499 => ErrorKind::Status4xx,
            500..=599 => ErrorKind::Status5xx,
            _ => ErrorKind::StatusOther,
        }
    }

    /// Short label for reports.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Status4xx => "4xx",
            ErrorKind::Status5xx => "5xx",
            ErrorKind::StatusOther => "unexpected status",
            ErrorKind::Body => "body",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Tls => "tls",
            ErrorKind::ClientLimit => "client: too many open files",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
