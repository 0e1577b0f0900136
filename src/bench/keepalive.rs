//! Keep-alive connections kept as a good HTTP client keeps them, for both drivers
//! (the event loop `evloop.rs` and the async path `engine.rs`).
//!
//! Servers close idle keep-alive connections on their own schedule (uvicorn and
//! Node after 5 s, nginx after 75 s), usually without a word to the client. The
//! engine keeps connections per target from one phase to the next, so between a
//! side's rounds its connections sit idle, and without care the first request on
//! each one the server closed meanwhile would be counted as the target's `reset`:
//! a request that never reached the application. So, as Go's `net/http`
//! `Transport` and hyper-util's legacy client pool do:
//!
//! 1. **Check before reuse.** A kept connection taken from the pool is probed
//!    with a non-blocking `recv(MSG_PEEK)`: 0 bytes (the peer's FIN) or an error
//!    (its RST) means closed; nothing to read (`EAGAIN`) means open; bytes nobody
//!    asked for (a late response, a TLS `close_notify`) make it unusable too. A
//!    connection found closed is dropped and a new one opened when a request
//!    needs it (lazily), and counted in [`Recorder::reconnects`].
//! 2. **Honour the server's word.** `Connection: close` ends reuse after that
//!    response. `Keep-Alive: timeout=N, max=M` (RFC 2068 §19.7.1.1; Apache, Node
//!    and others send it): a connection idle for longer than N less a margin (a
//!    quarter of N, at most 1 s) is closed before the server does it, and so is
//!    one with no request left of its `max` (taken as the requests the server
//!    still allows, as Apache counts it down). Those count as reconnects too.
//! 3. **Replay once.** A request that still meets a stale connection — it was
//!    sent on a *reused* connection and failed before any byte of its response
//!    (EOF, `ECONNRESET`, `EPIPE` on write) — is sent again, once, on a new
//!    connection. Go's `Transport.roundTrip` retries a request on a reused
//!    connection that failed before any response byte (`shouldRetryRequest`),
//!    hyper-util's legacy pool does with `retry_canceled_requests` (on by
//!    default). The exact rule ([`may_replay`]):
//!    - any method when nothing of the request was written (the first write
//!      failed: the close came before the request, Go's `nothingWrittenError`);
//!    - once the request was written, only an idempotent method (GET, HEAD,
//!      OPTIONS, TRACE, PUT, DELETE: RFC 9110 §9.2.2) or a request carrying an
//!      `Idempotency-Key` header: a POST or PATCH the server may have processed
//!      before closing is not sent twice, its failure stays a `reset`;
//!    - never on a connection opened for this request, never after a byte of
//!      the response (a reset mid-response is the target's `reset` or `body`
//!      error), never twice, never for a timeout.
//!
//!    The replay keeps the request's due and send times, so what it cost stays
//!    in that request's latency. It is counted in [`Recorder::replays`] (and its
//!    closed connection in [`Recorder::reconnects`]), not as an error.
//!
//! HTTP/2 (async path only): hyper reads `GOAWAY`; a pooled h2 connection that
//! hyper reports closed is dropped before reuse, and a request on a reused h2
//! connection that fails before its response head is replayed by the same rule.
//!
//! [`Recorder::reconnects`]: super::record::Recorder::reconnects
//! [`Recorder::replays`]: super::record::Recorder::replays

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{recv, MsgFlags};
use tokio::time::Instant;

use super::h1reader::ResponseMeta;

/// The longest margin kept before a server's announced keep-alive timeout.
const MAX_MARGIN: Duration = Duration::from_secs(1);

/// What is known of one kept connection: how much it served, since when it is
/// idle, and what the server said of its keep-alive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kept {
    /// Responses completed on it.
    served: u32,
    /// The end of its last response (or its opening).
    idle_since: Instant,
    /// The server's `Keep-Alive: timeout`.
    timeout: Option<Duration>,
    /// Requests the server still allows on it (`Keep-Alive: max`, counted down
    /// by each request sent).
    left: Option<u32>,
}

impl Kept {
    /// A connection opened at `now`.
    pub(crate) fn new(now: Instant) -> Kept {
        Kept {
            served: 0,
            idle_since: now,
            timeout: None,
            left: None,
        }
    }

    /// Whether it has served a response already: a request on it is on a reused
    /// connection.
    pub(crate) fn reused(&self) -> bool {
        self.served > 0
    }

    /// A request is being sent on it.
    pub(crate) fn sent(&mut self) {
        self.left = self.left.map(|n| n.saturating_sub(1));
    }

    /// A response completed at `now`; keep what it said of the keep-alive.
    pub(crate) fn answered(&mut self, meta: &ResponseMeta, now: Instant) {
        self.served = self.served.saturating_add(1);
        self.idle_since = now;
        if meta.keep_alive_timeout.is_some() {
            self.timeout = meta.keep_alive_timeout;
        }
        if meta.keep_alive_max.is_some() {
            self.left = meta.keep_alive_max;
        }
    }

    /// Whether the server's announced limits say not to reuse it at `now`: idle
    /// for longer than its timeout less the margin, or no request left.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        let idle = now.saturating_duration_since(self.idle_since);
        self.timeout
            .is_some_and(|t| idle + (t / 4).min(MAX_MARGIN) >= t)
            || self.left == Some(0)
    }
}

/// What a non-blocking peek at an idle connection shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Nothing to read: the connection is open.
    Open,
    /// The peer closed it (end of stream) or reset it.
    Closed,
    /// Bytes nobody asked for: not usable for a next request.
    Unexpected,
}

/// Peek at an idle socket without blocking or consuming anything.
pub(crate) fn probe(fd: BorrowedFd<'_>) -> Probe {
    let mut byte = [0u8; 1];
    loop {
        return match recv(
            fd.as_raw_fd(),
            &mut byte,
            MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(0) => Probe::Closed,
            Ok(_) => Probe::Unexpected,
            Err(Errno::EAGAIN) => Probe::Open,
            Err(Errno::EINTR) => continue,
            Err(_) => Probe::Closed,
        };
    }
}

/// How far a request on a reused connection got before the connection turned
/// out closed (no byte of its response arrived).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stale {
    /// Nothing of the request was written: the close came first.
    Unwritten,
    /// (Some of) the request was written, then the connection ended.
    Written,
}

/// Whether a request that met a stale reused connection is sent again on a new
/// one (the module's rule): any request that was not written, an idempotent one
/// that was.
pub(crate) fn may_replay(stale: Stale, idempotent: bool) -> bool {
    match stale {
        Stale::Unwritten => true,
        Stale::Written => idempotent,
    }
}

/// Whether a request may be sent twice with the effect of once: an idempotent
/// method (RFC 9110 §9.2.2), or an `Idempotency-Key` header (the IETF draft Go's
/// `Transport` honours too, with `X-Idempotency-Key`).
pub(crate) fn is_idempotent(method: &http::Method, headers: &http::HeaderMap) -> bool {
    use http::Method;
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    ) || headers.contains_key("idempotency-key")
        || headers.contains_key("x-idempotency-key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(timeout: Option<u64>, max: Option<u32>) -> ResponseMeta {
        ResponseMeta {
            status: 200,
            keep_alive: true,
            keep_alive_timeout: timeout.map(Duration::from_secs),
            keep_alive_max: max,
            ..ResponseMeta::default()
        }
    }

    #[test]
    fn a_connection_expires_a_margin_before_the_servers_timeout() {
        let t0 = Instant::now();
        let mut kept = Kept::new(t0);
        assert!(!kept.reused());
        assert!(
            !kept.expired(t0 + Duration::from_secs(3600)),
            "no word, no expiry"
        );
        kept.answered(&meta(Some(5), None), t0);
        assert!(kept.reused());
        assert!(!kept.expired(t0 + Duration::from_millis(3900)));
        assert!(kept.expired(t0 + Duration::from_secs(4)), "1 s margin");
        // A 1 s timeout keeps a quarter of it.
        kept.answered(&meta(Some(1), None), t0);
        assert!(!kept.expired(t0 + Duration::from_millis(700)));
        assert!(kept.expired(t0 + Duration::from_millis(750)));
        // The timeout stays known when later responses do not repeat it.
        kept.answered(&meta(None, None), t0);
        assert!(kept.expired(t0 + Duration::from_millis(750)));
    }

    #[test]
    fn a_connection_with_no_request_left_is_not_reused() {
        let t0 = Instant::now();
        let mut kept = Kept::new(t0);
        kept.answered(&meta(None, Some(2)), t0);
        kept.sent();
        assert!(!kept.expired(t0));
        kept.sent();
        assert!(kept.expired(t0));
        // Apache counts down in each response.
        kept.answered(&meta(None, Some(1)), t0);
        assert!(!kept.expired(t0));
        kept.answered(&meta(None, Some(0)), t0);
        assert!(kept.expired(t0));
    }

    #[test]
    fn only_an_unwritten_or_idempotent_request_is_replayed() {
        assert!(may_replay(Stale::Unwritten, false));
        assert!(may_replay(Stale::Unwritten, true));
        assert!(may_replay(Stale::Written, true));
        assert!(!may_replay(Stale::Written, false));
        let none = http::HeaderMap::new();
        for m in ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"] {
            assert!(is_idempotent(&m.parse().unwrap(), &none), "{m}");
        }
        for m in ["POST", "PATCH", "CONNECT"] {
            assert!(!is_idempotent(&m.parse().unwrap(), &none), "{m}");
        }
        let mut keyed = http::HeaderMap::new();
        keyed.insert("idempotency-key", "k1".parse().unwrap());
        assert!(is_idempotent(&http::Method::POST, &keyed));
    }

    #[test]
    fn a_peek_tells_open_closed_and_unexpected_bytes_apart() {
        use std::io::Write as _;
        use std::os::fd::AsFd as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert_eq!(probe(client.as_fd()), Probe::Open);
        server.write_all(b"x").unwrap();
        let wait = |want: Probe| {
            for _ in 0..500 {
                if probe(client.as_fd()) == want {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            false
        };
        assert!(wait(Probe::Unexpected));
        drop(server);
        let client2 = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server2, _) = listener.accept().unwrap();
        drop(server2);
        for _ in 0..500 {
            if probe(client2.as_fd()) == Probe::Closed {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("a closed connection was never seen closed");
    }
}
