//! Servers for the load engine's integration tests and for the benchmark scripts
//! (`bench/servers.rs` serves them as a process): real servers on 127.0.0.1,
//! port 0, each on its own thread with its own runtime, stopped when dropped.
//!
//! - [`Server`]: hyper (HTTP/1.1, h2c by prior knowledge, or TLS with ALPN `h2`
//!   and `http/1.1`) with a [`Behavior`]: fixed statuses, stalls, a known delay
//!   distribution that records its own service times, recording of the requests
//!   seen, gzip, chunked, `Connection: close`, `Server-Timing`.
//! - [`RawServer`]: plain TCP peers that misbehave below HTTP (reset mid-response,
//!   close without a response, a body slower than any timeout, not HTTP at all,
//!   responses cut into 3-byte pieces, a close mid-body, a body until close).
//! - [`TestCa`]: a CA and a certificate for `localhost` and `127.0.0.1`, made with
//!   rcgen for each test.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::Instant;

#[allow(
    dead_code,
    reason = "used by bench_faults.rs and bench_keepalive.rs, not by every includer"
)]
mod drivers;
mod raw;
mod tls;

#[allow(
    unused_imports,
    reason = "used by bench_faults.rs and bench_keepalive.rs, not by every includer"
)]
pub use drivers::{serve_raw, Driver, Target, DRIVERS};
pub use raw::{refused_port, Raw, RawServer, CHUNKED_RESPONSE};
pub use tls::TestCa;

/// What a [`Server`] does with each request.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// 200 with a 5-byte body.
    Ok,
    /// Every request waits `base`; one arriving in the first `stall` of each
    /// `period` (counted from the server's start) first waits for the stall to
    /// end. With arrivals at a constant rate, a fraction `stall / period` of them
    /// waits uniformly 0 to `stall`: the truth of a coordinated-omission test.
    Stall {
        /// Length of one cycle.
        period: Duration,
        /// The stalled part at the start of each cycle.
        stall: Duration,
        /// Service time outside a stall.
        base: Duration,
    },
    /// A known delay distribution: `fast`, or with probability `slow_fraction` a
    /// delay uniform in `slow`. Each request's service time (as the server
    /// measured it) is recorded in [`State::service`].
    Delays {
        /// The common delay.
        fast: Duration,
        /// Share of slow requests, 0 to 1.
        slow_fraction: f64,
        /// Range of the slow delays.
        slow: (Duration, Duration),
    },
    /// Always this status, with a short body.
    Status(u16),
    /// 200; the request (method, path, headers, body) is kept in [`State::seen`].
    Record,
    /// A body of this many `a` bytes, gzip-compressed when the request accepts gzip.
    Gzip(usize),
    /// A chunked body (no `Content-Length`) of these pieces.
    Chunked(Vec<&'static str>),
    /// 200 with `Connection: close`: one request per connection.
    Close,
    /// 200 with two `Server-Timing` headers: `db;dur=2.5, cache;desc="hit";dur=0.5`
    /// and `app;dur=1`.
    ServerTiming,
    /// A preview still starting: 503 to every request in the first `ready_after`
    /// (counted in [`State::unready`]), then 200 with a short body.
    #[allow(dead_code, reason = "used by deploy_remote.rs, not by every includer")]
    Warming {
        /// How long after the server's start it answers 503.
        ready_after: Duration,
    },
    /// 503 for the last `burst` requests of every `every` (by the order in which
    /// the server received them, its first request being number 0, so a
    /// readiness poll meets a 200), 200 otherwise.
    #[allow(dead_code, reason = "used by bench_faults.rs, not by every includer")]
    Bursts {
        /// Length of one cycle, in requests.
        every: u64,
        /// Requests at the start of each cycle answered 503.
        burst: u64,
    },
    /// Static files by path (`/v0.1.0/asset.tar.gz`), 404 for any other path: a
    /// release download server.
    #[allow(dead_code, reason = "used by action_runner.rs, not by every includer")]
    Files(std::collections::HashMap<String, Bytes>),
}

/// One request a [`Behavior::Record`] server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// HTTP version.
    pub version: http::Version,
}

impl Seen {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a server observed.
#[derive(Debug)]
pub struct State {
    /// Requests answered (or being answered).
    pub requests: AtomicU64,
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Service times in microseconds ([`Behavior::Delays`] only).
    pub service: Mutex<Histogram<u64>>,
    /// Requests seen ([`Behavior::Record`] only; the first 10,000).
    pub seen: Mutex<Vec<Seen>>,
    /// Requests answered 503 while warming ([`Behavior::Warming`] only).
    pub unready: AtomicU64,
    /// Requests answered 200 after warming ([`Behavior::Warming`] only).
    pub warm: AtomicU64,
    /// When the server started (the origin of [`Behavior::Stall`] cycles).
    pub epoch: Instant,
}

/// How a [`Server`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 over TCP.
    Http1,
    /// HTTP/2 over TCP with prior knowledge (h2c).
    H2c,
}

/// A hyper server on 127.0.0.1 with a [`Behavior`]; stops when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it observed.
    pub state: Arc<State>,
    scheme: &'static str,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// An HTTP/1.1 server.
    pub fn start(behavior: Behavior) -> Server {
        Server::spawn(behavior, Protocol::Http1, None)
    }

    /// An HTTP/2 server by prior knowledge (h2c).
    pub fn start_h2c(behavior: Behavior) -> Server {
        Server::spawn(behavior, Protocol::H2c, None)
    }

    /// An https server with `ca`'s certificate, ALPN `h2` and `http/1.1`.
    pub fn start_tls(behavior: Behavior, ca: &TestCa) -> Server {
        Server::spawn(behavior, Protocol::Http1, Some(ca.server_config()))
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The recorded service times, reset.
    pub fn take_service_times(&self) -> Histogram<u64> {
        let mut h = self.state.service.lock().unwrap_or_else(|e| e.into_inner());
        let out = h.clone();
        h.reset();
        out
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn spawn(
        behavior: Behavior,
        protocol: Protocol,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Server {
        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port on 127.0.0.1");
        std_listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = std_listener.local_addr().expect("listener address");
        let state = Arc::new(State {
            requests: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            service: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds"),
            ),
            seen: Mutex::new(Vec::new()),
            unready: AtomicU64::new(0),
            warm: AtomicU64::new(0),
            epoch: Instant::now(),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let shared = Arc::clone(&state);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let thread = std::thread::Builder::new()
            .name(format!("test-server-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                    let behavior = Arc::new(behavior);
                    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
                    let accept = async {
                        loop {
                            let Ok((tcp, _)) = listener.accept().await else {
                                continue;
                            };
                            let _ = tcp.set_nodelay(true);
                            shared.connections.fetch_add(1, Ordering::Relaxed);
                            let behavior = Arc::clone(&behavior);
                            let state = Arc::clone(&shared);
                            let acceptor = acceptor.clone();
                            tokio::spawn(async move {
                                match acceptor {
                                    None => {
                                        serve(TokioIo::new(tcp), protocol, behavior, state).await
                                    }
                                    Some(acceptor) => {
                                        let Ok(tls) = acceptor.accept(tcp).await else {
                                            return;
                                        };
                                        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                                        let protocol =
                                            if h2 { Protocol::H2c } else { Protocol::Http1 };
                                        serve(TokioIo::new(tls), protocol, behavior, state).await;
                                    }
                                }
                            });
                        }
                    };
                    tokio::select! {
                        _ = accept => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime ends the connection tasks.
                runtime.shutdown_background();
            })
            .expect("spawn the server thread");
        Server {
            addr,
            state,
            scheme,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve<I>(io: TokioIo<I>, protocol: Protocol, behavior: Arc<Behavior>, state: Arc<State>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let behavior = Arc::clone(&behavior);
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(respond(req, &behavior, &state).await) }
    });
    let _ = match protocol {
        Protocol::Http1 => {
            hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
        }
        Protocol::H2c => {
            hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(io, service)
                .await
        }
    };
}

/// A response body: pieces sent as they are (chunked when more than one).
pub struct Pieces {
    pieces: VecDeque<Bytes>,
    exact: bool,
}

impl Pieces {
    fn one(bytes: impl Into<Bytes>) -> Pieces {
        Pieces {
            pieces: VecDeque::from([bytes.into()]),
            exact: true,
        }
    }

    fn streamed(pieces: &[&'static str]) -> Pieces {
        Pieces {
            pieces: pieces
                .iter()
                .map(|p| Bytes::from_static(p.as_bytes()))
                .collect(),
            exact: false,
        }
    }
}

impl Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.pieces.pop_front().map(|b| Ok(Frame::data(b))))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        if self.exact {
            hyper::body::SizeHint::with_exact(self.pieces.iter().map(|b| b.len() as u64).sum())
        } else {
            hyper::body::SizeHint::default()
        }
    }
}

async fn respond(req: Request<Incoming>, behavior: &Behavior, state: &State) -> Response<Pieces> {
    let number = state.requests.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let ok = |body: &'static str| Response::new(Pieces::one(body));
    match behavior {
        Behavior::Ok => ok("hello"),
        Behavior::Stall {
            period,
            stall,
            base,
        } => {
            let since = started.duration_since(state.epoch);
            let phase = Duration::from_nanos((since.as_nanos() % period.as_nanos()) as u64);
            let mut ready = started;
            if phase < *stall {
                ready += *stall - phase;
            }
            // The analytic truth assumes exact delays: wait precisely, not to
            // tokio's next 1 ms timer tick (which, with the runtime's own wake-up,
            // is often 1-2 ms late).
            precise_sleep_until(ready + *base).await;
            ok("hello")
        }
        Behavior::Delays {
            fast,
            slow_fraction,
            slow,
        } => {
            let delay = {
                let mut rng = rand::thread_rng();
                if rng.gen_bool(*slow_fraction) {
                    rng.gen_range(slow.0..=slow.1)
                } else {
                    *fast
                }
            };
            tokio::time::sleep(delay).await;
            let took = started.elapsed().as_micros() as u64;
            state
                .service
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .saturating_record(took.max(1));
            ok("hello")
        }
        Behavior::Warming { ready_after } => {
            if started.duration_since(state.epoch) < *ready_after {
                state.unready.fetch_add(1, Ordering::Relaxed);
                let mut r = ok("starting");
                *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                r
            } else {
                state.warm.fetch_add(1, Ordering::Relaxed);
                ok("hello")
            }
        }
        Behavior::Files(files) => match files.get(req.uri().path()) {
            Some(bytes) => Response::new(Pieces::one(bytes.clone())),
            None => {
                let mut r = ok("Not Found");
                *r.status_mut() = StatusCode::NOT_FOUND;
                r
            }
        },
        Behavior::Bursts { every, burst } => {
            if number % (*every).max(1) >= every.saturating_sub(*burst) {
                let mut r = ok("burst");
                *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                r
            } else {
                ok("hello")
            }
        }
        Behavior::Status(code) => {
            let mut r = ok("status");
            *r.status_mut() = StatusCode::from_u16(*code).unwrap_or(StatusCode::IM_A_TEAPOT);
            r
        }
        Behavior::Record => {
            let method = req.method().to_string();
            let path = req
                .uri()
                .path_and_query()
                .map_or("/".to_string(), |p| p.to_string());
            let version = req.version();
            let headers = req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = match req.into_body().collect().await {
                Ok(b) => b.to_bytes().to_vec(),
                Err(_) => Vec::new(),
            };
            let mut seen = state.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.len() < 10_000 {
                seen.push(Seen {
                    method,
                    path,
                    headers,
                    body,
                    version,
                });
            }
            ok("recorded")
        }
        Behavior::Gzip(n) => {
            let accepts = req
                .headers()
                .get(http::header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("gzip"));
            let plain = vec![b'a'; *n];
            if accepts {
                use std::io::Write as _;
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                let _ = enc.write_all(&plain);
                let gz = enc.finish().unwrap_or_default();
                let mut r = Response::new(Pieces::one(gz));
                r.headers_mut().insert(
                    http::header::CONTENT_ENCODING,
                    http::HeaderValue::from_static("gzip"),
                );
                r
            } else {
                Response::new(Pieces::one(plain))
            }
        }
        Behavior::Chunked(pieces) => Response::new(Pieces::streamed(pieces)),
        Behavior::Close => {
            let mut r = ok("bye");
            r.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            r
        }
        Behavior::ServerTiming => {
            let mut r = ok("timed");
            let h = r.headers_mut();
            h.append(
                "server-timing",
                http::HeaderValue::from_static(r#"db;dur=2.5, cache;desc="hit";dur=0.5"#),
            );
            h.append("server-timing", http::HeaderValue::from_static("app;dur=1"));
            r
        }
    }
}

/// Sleep until `deadline` to within a few microseconds: the timer to 2 ms
/// before it, then yield until it (a short, cooperative busy wait).
async fn precise_sleep_until(deadline: Instant) {
    if let Some(early) = deadline.checked_sub(Duration::from_millis(2)) {
        if early > Instant::now() {
            tokio::time::sleep_until(early).await;
        }
    }
    while Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}
