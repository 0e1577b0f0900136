//! The worker path: connections, requests, timing, recording.
//!
//! Each worker owns one keep-alive HTTP/1.1 connection at a time and its own
//! [`Recorder`]; recorders are merged when the phase ends. Connections are kept in
//! a per-target [`Pool`] between phases, so a round does not pay for new
//! connections that the previous round already opened.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, HOST};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::record::{ErrorKind, Recorder};
use super::schedule::Schedule;
use crate::config::Endpoint;

/// Why a target cannot be benchmarked at all (as opposed to a failed request).
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The URL does not parse or is not usable.
    #[error("target URL `{url}` is not usable: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The host name did not resolve.
    #[error("could not resolve `{host}`: {source}")]
    Resolve {
        /// host:port.
        host: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
}

/// Where requests go: the resolved address and the `Host` header value.
#[derive(Debug, Clone)]
pub struct TargetAddr {
    addr: SocketAddr,
    authority: HeaderValue,
    base_path: String,
    pool: Pool,
}

impl TargetAddr {
    /// Resolve a base URL such as `http://127.0.0.1:8080` or `http://host/prefix`.
    pub async fn resolve(url: &str) -> Result<TargetAddr, TargetError> {
        let bad = |reason: &str| TargetError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("it is not a valid URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(bad(
                    "https targets are not supported by this load engine yet; use an http:// URL",
                ))
            }
            _ => return Err(bad("it must start with http://")),
        }
        let authority = uri.authority().ok_or_else(|| bad("it has no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| TargetError::Resolve {
                host: format!("{host}:{port}"),
                source,
            })?
            .next()
            .ok_or_else(|| bad("the host name has no address"))?;
        let authority =
            HeaderValue::from_str(authority.as_str()).map_err(|_| bad("invalid host"))?;
        Ok(TargetAddr {
            addr,
            authority,
            base_path: uri.path().trim_end_matches('/').to_string(),
            pool: Pool::default(),
        })
    }

    /// The socket address requests go to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Idle keep-alive connections of one target, reused across phases.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    idle: Arc<Mutex<Vec<SendRequest<Full<Bytes>>>>>,
}

impl Pool {
    fn take(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(conn) = idle.pop() {
            if !conn.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    fn put(&self, conn: SendRequest<Full<Bytes>>) {
        if !conn.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
    }
}

/// A request ready to be sent many times.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    method: Method,
    path: Uri,
    headers: HeaderMap,
    body: Bytes,
    expect: Vec<u16>,
}

impl RequestTemplate {
    /// Build the template for `endpoint` against `target`.
    pub fn new(endpoint: &Endpoint, target: &TargetAddr) -> Result<RequestTemplate, TargetError> {
        let full = format!("{}{}", target.base_path, endpoint.path);
        let path: Uri = full.parse().map_err(|_| TargetError::BadUrl {
            url: full.clone(),
            reason: "the endpoint path does not form a valid URL".into(),
        })?;
        let mut headers = endpoint.headers.clone();
        if !headers.contains_key(HOST) {
            headers.insert(HOST, target.authority.clone());
        }
        let body = endpoint.body.clone().unwrap_or_default();
        if !body.is_empty() || endpoint.method == Method::POST || endpoint.method == Method::PUT {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        Ok(RequestTemplate {
            method: endpoint.method.clone(),
            path,
            headers,
            body,
            expect: endpoint.expect_status.clone(),
        })
    }

    fn build(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.path.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }

    fn is_expected(&self, status: u16) -> bool {
        if self.expect.is_empty() {
            (200..300).contains(&status)
        } else {
            self.expect.contains(&status)
        }
    }
}

/// What one phase (warm-up or a measured round) produced.
#[derive(Debug, Clone)]
pub struct PhaseOutcome {
    /// Everything the workers recorded, merged.
    pub recorder: Recorder,
    /// Wall time from the first slot to the last response.
    pub elapsed: Duration,
}

/// Run one phase: `connections` workers take slots from `schedule` until it ends.
pub async fn run_phase(
    target: &TargetAddr,
    request: &RequestTemplate,
    schedule: Arc<Schedule>,
    connections: u32,
    timeout: Duration,
) -> PhaseOutcome {
    let started = Instant::now();
    let request = Arc::new(request.clone());
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let schedule = Arc::clone(&schedule);
        let request = Arc::clone(&request);
        let addr = target.addr;
        let pool = target.pool.clone();
        workers.spawn(worker(addr, pool, request, schedule, timeout));
    }
    let mut recorder = Recorder::default();
    while let Some(result) = workers.join_next().await {
        // A worker cannot panic on request outcomes; a join error means the
        // runtime is shutting down, and the partial data is still recorded.
        if let Ok(part) = result {
            recorder.merge(&part);
        }
    }
    PhaseOutcome {
        recorder,
        elapsed: started.elapsed(),
    }
}

async fn worker(
    addr: SocketAddr,
    pool: Pool,
    request: Arc<RequestTemplate>,
    schedule: Arc<Schedule>,
    timeout: Duration,
) -> Recorder {
    let mut recorder = Recorder::default();
    let mut conn = pool.take();
    while let Some(slot) = schedule.next() {
        if let Some(due) = slot.due {
            tokio::time::sleep_until(due).await;
        }
        let start = slot.due.unwrap_or_else(Instant::now);
        let outcome =
            tokio::time::timeout(timeout, send_one(addr, &mut conn, &request, &mut recorder)).await;
        match outcome {
            Ok(Ok(status)) => {
                if request.is_expected(status) {
                    recorder.success(start.elapsed());
                } else {
                    recorder.failure(ErrorKind::for_status(status));
                }
            }
            Ok(Err(kind)) => {
                recorder.failure(kind);
                conn = None;
            }
            Err(_elapsed) => {
                recorder.failure(ErrorKind::Timeout);
                conn = None;
            }
        }
    }
    if let Some(conn) = conn {
        pool.put(conn);
    }
    recorder
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, ErrorKind> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|_| ErrorKind::Connect)?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| ErrorKind::Connect)?;
    tokio::spawn(async move {
        // The connection ends when the sender is dropped or the peer closes;
        // request-level errors are reported through the sender.
        let _ = connection.await;
    });
    Ok(sender)
}

/// Send one request on the worker's connection (opening one if needed) and read
/// the whole response. Returns the status code, or the kind of failure.
async fn send_one(
    addr: SocketAddr,
    conn: &mut Option<SendRequest<Full<Bytes>>>,
    request: &RequestTemplate,
    recorder: &mut Recorder,
) -> Result<u16, ErrorKind> {
    let sender = match conn {
        Some(sender) if !sender.is_closed() => sender,
        _ => conn.insert(connect(addr).await?),
    };
    sender.ready().await.map_err(|_| ErrorKind::Reset)?;
    let response = sender
        .send_request(request.build())
        .await
        .map_err(classify_hyper_error)?;
    let status = response.status().as_u16();
    recorder.status(status);
    recorder.bytes_out += request.body.len() as u64;
    for value in response.headers().get_all("server-timing") {
        if let Ok(text) = value.to_str() {
            recorder.server_timing(text);
        }
    }
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ErrorKind::Body)?;
        if let Some(data) = frame.data_ref() {
            recorder.bytes_in += data.len() as u64;
        }
    }
    Ok(status)
}

fn classify_hyper_error(err: hyper::Error) -> ErrorKind {
    if err.is_parse() || err.is_parse_status() || err.is_parse_too_large() {
        ErrorKind::Protocol
    } else {
        ErrorKind::Reset
    }
}
