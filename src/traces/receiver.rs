//! The run's OTLP/HTTP receiver: `POST /v1/traces` (protobuf or JSON, plain or
//! gzip) on a small hyper server, bound before the sides are deployed and closed
//! once the last round's spans had their grace period.
//!
//! Bounded whatever the exporter does: a body whose `Content-Length` is over the
//! limit is refused before it is read, a body is read at most to the limit (and
//! decompressed at most to it, [`super::decode`]), at most [`DECODING`] bodies are
//! held at once, and the [`Store`] caps what it keeps. A refused body is answered
//! `413`/`400` and counted; nothing the exporter sends can fail the run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::decode::{decode, is_json, DecodeError};
use super::store::Store;

/// At most this many export bodies are read and decoded at once (the others wait
/// in their connection): the in-flight memory is at most this many times
/// (the body limit read + the limit decompressed + the decoded messages).
pub const DECODING: usize = 2;

/// What the receiver shares with its connections.
#[derive(Debug)]
pub(super) struct Shared {
    pub store: Mutex<Store>,
    pub last_export: Mutex<Option<Instant>>,
    pub max_body: usize,
    pub decoding: Semaphore,
}

/// The receiver of one run.
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    pub(super) shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Receiver {
    /// Listen on `addr` for run tag `run` (rounds `0..rounds`).
    pub async fn start(
        addr: SocketAddr,
        run: u32,
        rounds: u32,
        max_spans: usize,
        max_body: usize,
    ) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new(run, rounds, max_spans)),
            last_export: Mutex::new(None),
            max_body,
            decoding: Semaphore::new(DECODING),
        });
        let task = tokio::spawn(serve(listener, shared.clone()));
        Ok(Receiver { addr, shared, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OTLP endpoint for exporters on this machine: `http://127.0.0.1:PORT`
    /// (the loopback address when bound to all interfaces).
    pub fn endpoint(&self) -> String {
        let ip = if self.addr.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            self.addr.ip()
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The last round has ended: later spans are counted as having come after it.
    pub fn measuring_done(&self) {
        lock(&self.shared.store).measuring_done = true;
    }

    /// Wait for the last spans: until `grace` has passed since now, or earlier
    /// once no export came for `quiet` (and at least `quiet` has passed). Returns
    /// how long it waited.
    pub async fn settle(&self, grace: Duration, quiet: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let waited = started.elapsed();
            if waited >= grace {
                return waited;
            }
            let last = *lock(&self.shared.last_export);
            let idle = last.map_or(waited, |t| t.elapsed().min(waited));
            if waited >= quiet && idle >= quiet {
                return waited;
            }
            tokio::time::sleep(Duration::from_millis(50).min(grace - waited)).await;
        }
    }

    /// Stop listening; the store with what it holds.
    pub fn close(&self) -> Store {
        self.task.abort();
        let empty = Store::new(0, 0, 0);
        std::mem::replace(&mut *lock(&self.shared.store), empty)
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, shared.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, json: bool, body: &'static str) -> Response<Full<Bytes>> {
    let (content_type, body) = if json {
        ("application/json", Bytes::from_static(body.as_bytes()))
    } else {
        // An empty `ExportTraceServiceResponse` (or `google.rpc.Status`) is zero
        // bytes in protobuf.
        ("application/x-protobuf", Bytes::new())
    };
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: http::header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(http::header::CONTENT_TYPE);
    let encoding = header(http::header::CONTENT_ENCODING);
    let json = is_json(content_type.as_deref());
    let path = req.uri().path();
    if req.method() != http::Method::POST {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, json, "{}"));
    }
    // Metrics and logs of an SDK that exports everything: accepted, not read.
    if path == "/v1/metrics" || path == "/v1/logs" {
        return Ok(reply(StatusCode::OK, json, "{}"));
    }
    if path != "/v1/traces" {
        return Ok(reply(StatusCode::NOT_FOUND, json, "{}"));
    }
    let too_large = |shared: &Shared| {
        lock(&shared.store).counts.too_large += 1;
        Ok(reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            json,
            r#"{"code":3,"message":"body over the receiver's limit"}"#,
        ))
    };
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > shared.max_body as u64) {
        return too_large(&shared);
    }
    let Ok(_permit) = shared.decoding.acquire().await else {
        return Ok(reply(StatusCode::SERVICE_UNAVAILABLE, json, "{}"));
    };
    let body = match Limited::new(req.into_body(), shared.max_body)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return too_large(&shared);
        }
        Err(_) => {
            lock(&shared.store).counts.undecodable += 1;
            return Ok(reply(StatusCode::BAD_REQUEST, json, "{}"));
        }
    };
    match decode(
        &body,
        content_type.as_deref(),
        encoding.as_deref(),
        shared.max_body,
    ) {
        Ok(request) => {
            drop(body);
            lock(&shared.store).add(&request);
            *lock(&shared.last_export) = Some(Instant::now());
            Ok(reply(StatusCode::OK, json, "{}"))
        }
        Err(DecodeError::TooLarge { .. }) => too_large(&shared),
        Err(_) => {
            lock(&shared.store).counts.undecodable += 1;
            Ok(reply(
                StatusCode::BAD_REQUEST,
                json,
                r#"{"code":3,"message":"not an OTLP trace export"}"#,
            ))
        }
    }
}
