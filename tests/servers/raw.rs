//! Plain TCP peers that misbehave below HTTP, and a refused port. The faults of
//! the fault suite (`bench_faults.rs`) can also be served over TLS
//! ([`RawServer::start_tls`]), which the engine reads with its async client
//! rather than its event loop, so each fault reaches both readers.
#![allow(
    dead_code,
    reason = "each test file that includes the servers uses a different part"
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::TestCa;

/// How a [`RawServer`] misbehaves on each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw {
    /// Reads the request, sends a head promising 100 bytes and 3 of them, then
    /// resets the connection (RST).
    ResetMidResponse,
    /// Reads the request and closes the connection without a response.
    CloseWithoutResponse,
    /// Reads the request, sends a head promising 1,000 bytes, then one byte every
    /// 100 ms.
    SlowBody,
    /// Greets with an SSH banner, not HTTP.
    NotHttp,
    /// Answers every request on the connection (keep-alive) with a chunked
    /// response (body `hello world`, 11 bytes, a trailer and `Server-Timing`)
    /// written 3 bytes at a time, so heads, chunk-size lines and CRLFs are split
    /// across reads.
    ChunkedInPieces,
    /// Reads the request, sends a head promising 100 bytes and 3 of them, then
    /// closes the connection normally (FIN).
    CloseMidBody,
    /// Answers with a body delimited by the end of the connection (no length),
    /// in two writes, then closes.
    BodyUntilClose,
    /// Reads the request, sends a head with a `Content-Length` of 10^18, then
    /// body bytes as fast as the client takes them, forever.
    EndlessLength,
    /// The same with `Transfer-Encoding: chunked` (16 KB chunks, no last chunk).
    EndlessChunked,
    /// The same with no length (a body that would end with the connection).
    EndlessUntilClose,
    /// The same with no length and `Content-Encoding: gzip` (bytes that are
    /// not gzip): a client that keeps compressed bodies to decode them must
    /// bound what it keeps.
    EndlessGzip,
    /// Reads the request and never answers; keeps the connection open.
    Hang,
    /// Reads the request and answers a head of `lines` header lines of
    /// `line_bytes` bytes each that never ends (no blank line follows);
    /// keeps the connection open.
    HugeHead {
        /// Header lines sent.
        lines: usize,
        /// Bytes per line.
        line_bytes: usize,
    },
    /// Reads the request and answers a chunked head whose first chunk-size line
    /// is this text, then a few bytes; keeps the connection open.
    ChunkSize(&'static str),
    /// Keep-alive connections closed at random: each connection answers 0 to 3
    /// requests (`200`, 2-byte body) and then closes, the last response with
    /// `Connection: close` when `announced`, without it otherwise (a request the
    /// client sent meanwhile then meets the end of the connection).
    RandomCloses {
        /// Whether the last response on a connection says `Connection: close`.
        announced: bool,
    },
    /// Keep-alive as uvicorn and Node do it: answers every request (`200`,
    /// 2-byte body, no `Keep-Alive` header) and closes a connection left idle
    /// for `idle_ms` (a FIN), counted in [`RawStats::closed`].
    IdleClose {
        /// The idle timeout, ms.
        idle_ms: u64,
    },
    /// Closes each connection after its `every`-th response, which says
    /// `Connection: close` when `announced` and nothing otherwise (a request the
    /// client sent meanwhile then meets the end of the connection).
    CloseEvery {
        /// Responses per connection.
        every: u32,
        /// Whether the last one says `Connection: close`.
        announced: bool,
    },
    /// Answers `answered` requests on each connection, then, to the next one,
    /// part of a response head, and resets the connection (SO_LINGER 0) 100 ms
    /// later; the resets are counted in [`RawStats::closed`].
    ResetAfter {
        /// Requests answered in full on each connection first.
        answered: u32,
    },
}

/// A stream whose connection can be reset (closed with RST, not FIN).
pub trait Resettable {
    /// Make dropping the stream send RST (SO_LINGER 0).
    fn reset_on_drop(&self);
}

impl Resettable for TcpStream {
    fn reset_on_drop(&self) {
        let _ = self.set_zero_linger();
    }
}

impl Resettable for tokio_rustls::server::TlsStream<TcpStream> {
    fn reset_on_drop(&self) {
        let _ = self.get_ref().0.set_zero_linger();
    }
}

/// What a [`RawServer`] counted.
#[derive(Debug, Default)]
pub struct RawStats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Requests read (whole heads).
    pub requests: AtomicU64,
    /// Responses written in full.
    pub answered: AtomicU64,
    /// Connections the server closed on its own.
    pub closed: AtomicU64,
}

/// The response of [`Raw::ChunkedInPieces`].
pub const CHUNKED_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer-Timing: db;dur=2\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";

/// A TCP server that misbehaves below HTTP; stops when dropped.
pub struct RawServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it counted (for the fault suite's variants).
    pub stats: Arc<RawStats>,
    scheme: &'static str,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    /// Start one on 127.0.0.1, port 0.
    pub fn start(raw: Raw) -> RawServer {
        RawServer::spawn(raw, None)
    }

    /// Start one that speaks TLS with `ca`'s certificate (ALPN `http/1.1`): only
    /// the variants from [`Raw::EndlessLength`] on; the others close at once.
    pub fn start_tls(raw: Raw, ca: &TestCa) -> RawServer {
        let mut config = (*ca.server_config()).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        RawServer::spawn(raw, Some(Arc::new(config)))
    }

    fn spawn(raw: Raw, tls: Option<Arc<rustls::ServerConfig>>) -> RawServer {
        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port on 127.0.0.1");
        std_listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = std_listener.local_addr().expect("listener address");
        let (stop, stopped) = oneshot::channel::<()>();
        let stats = Arc::new(RawStats::default());
        let shared = Arc::clone(&stats);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
                let accept = async {
                    loop {
                        if let Ok((tcp, _)) = listener.accept().await {
                            shared.connections.fetch_add(1, Ordering::Relaxed);
                            let stats = Arc::clone(&shared);
                            match acceptor.clone() {
                                None if fault_suite(raw) => {
                                    tokio::spawn(async move { fault(tcp, raw, &stats).await });
                                }
                                None => {
                                    tokio::spawn(misbehave(tcp, raw));
                                }
                                Some(acceptor) => {
                                    tokio::spawn(async move {
                                        if let Ok(tls) = acceptor.accept(tcp).await {
                                            if fault_suite(raw) {
                                                fault(tls, raw, &stats).await;
                                            }
                                        }
                                    });
                                }
                            }
                        }
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
            runtime.shutdown_background();
        });
        RawServer {
            addr,
            stats,
            scheme,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` (`https://` for [`RawServer::start_tls`]).
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Read until the end of a request head (the tests send no bodies here).
async fn read_head<S: AsyncRead + Unpin>(tcp: &mut S) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

async fn misbehave(mut tcp: TcpStream, raw: Raw) {
    match raw {
        Raw::ResetMidResponse => {
            if read_head(&mut tcp).await {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
                    .await;
                let _ = tcp.flush().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
                // SO_LINGER 0: closing sends RST instead of FIN.
                let _ = tcp.set_zero_linger();
            }
        }
        Raw::CloseWithoutResponse => {
            read_head(&mut tcp).await;
        }
        Raw::SlowBody => {
            if read_head(&mut tcp).await {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                    .await;
                for _ in 0..1000 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if tcp.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            }
        }
        Raw::ChunkedInPieces => {
            while read_head(&mut tcp).await {
                for piece in CHUNKED_RESPONSE.chunks(3) {
                    if tcp.write_all(piece).await.is_err() {
                        return;
                    }
                    let _ = tcp.flush().await;
                    // Let each piece leave as its own segment.
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            }
        }
        Raw::CloseMidBody => {
            if read_head(&mut tcp).await {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
                    .await;
                let _ = tcp.shutdown().await;
            }
        }
        Raw::BodyUntilClose => {
            if read_head(&mut tcp).await {
                let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\n\r\nabc").await;
                let _ = tcp.flush().await;
                tokio::time::sleep(Duration::from_millis(2)).await;
                let _ = tcp.write_all(b"def").await;
                let _ = tcp.shutdown().await;
            }
        }
        Raw::NotHttp => {
            let _ = tcp.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
            read_head(&mut tcp).await;
            let _ = tcp.write_all(b"Protocol mismatch.\n").await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        _ => fault(tcp, raw, &RawStats::default()).await,
    }
}

/// Whether `raw` is one of the fault suite's variants (served by [`fault`], over
/// TCP or TLS).
fn fault_suite(raw: Raw) -> bool {
    matches!(
        raw,
        Raw::EndlessLength
            | Raw::EndlessChunked
            | Raw::EndlessUntilClose
            | Raw::EndlessGzip
            | Raw::Hang
            | Raw::HugeHead { .. }
            | Raw::ChunkSize(_)
            | Raw::RandomCloses { .. }
            | Raw::IdleClose { .. }
            | Raw::CloseEvery { .. }
            | Raw::ResetAfter { .. }
    )
}

/// Long enough to outlive any test's timeout; the server's drop ends it sooner.
const FOREVER: Duration = Duration::from_secs(120);

async fn fault<S: AsyncRead + AsyncWrite + Unpin + Resettable>(
    mut io: S,
    raw: Raw,
    stats: &RawStats,
) {
    match raw {
        Raw::EndlessLength | Raw::EndlessChunked | Raw::EndlessUntilClose | Raw::EndlessGzip => {
            if !read_head(&mut io).await {
                return;
            }
            stats.requests.fetch_add(1, Ordering::Relaxed);
            let head: &[u8] = match raw {
                Raw::EndlessLength => {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000\r\n\r\n"
                }
                Raw::EndlessChunked => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                Raw::EndlessGzip => b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n",
                _ => b"HTTP/1.1 200 OK\r\n\r\n",
            };
            if io.write_all(head).await.is_err() {
                return;
            }
            let block = match raw {
                Raw::EndlessChunked => {
                    let mut b = b"4000\r\n".to_vec();
                    b.extend_from_slice(&[b'x'; 0x4000]);
                    b.extend_from_slice(b"\r\n");
                    b
                }
                _ => vec![b'x'; 64 * 1024],
            };
            // As fast as the client reads, until it goes away.
            while io.write_all(&block).await.is_ok() {}
        }
        Raw::Hang => {
            if !read_head(&mut io).await {
                return;
            }
            stats.requests.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(FOREVER).await;
        }
        Raw::HugeHead { lines, line_bytes } => {
            if !read_head(&mut io).await {
                return;
            }
            stats.requests.fetch_add(1, Ordering::Relaxed);
            if io.write_all(b"HTTP/1.1 200 OK\r\n").await.is_err() {
                return;
            }
            let mut line = b"X-Pad: ".to_vec();
            line.resize(line_bytes.saturating_sub(2).max(8), b'a');
            line.extend_from_slice(b"\r\n");
            for _ in 0..lines {
                if io.write_all(&line).await.is_err() {
                    return;
                }
            }
            tokio::time::sleep(FOREVER).await;
        }
        Raw::ChunkSize(size) => {
            if !read_head(&mut io).await {
                return;
            }
            stats.requests.fetch_add(1, Ordering::Relaxed);
            let response =
                format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nabcdef");
            if io.write_all(response.as_bytes()).await.is_ok() {
                tokio::time::sleep(FOREVER).await;
            }
        }
        Raw::RandomCloses { announced } => {
            let answers: u32 = rand::thread_rng().gen_range(0..=3);
            let mut answered = 0;
            // With 0 answers, the first request meets the close.
            while answered < answers.max(1) {
                if !read_head(&mut io).await {
                    return;
                }
                stats.requests.fetch_add(1, Ordering::Relaxed);
                if answers == 0 {
                    break;
                }
                answered += 1;
                let last = answered == answers;
                let response: &[u8] = if last && announced {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                } else {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                };
                if io.write_all(response).await.is_err() || io.flush().await.is_err() {
                    return;
                }
                stats.answered.fetch_add(1, Ordering::Relaxed);
            }
            // A graceful close (FIN, then drain), so no answered response is lost to
            // a reset: a request sent meanwhile meets the end of the connection.
            stats.closed.fetch_add(1, Ordering::Relaxed);
            let _ = io.shutdown().await;
            let mut sink = [0u8; 1024];
            let drain = async { while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        }
        Raw::IdleClose { idle_ms } => loop {
            match tokio::time::timeout(Duration::from_millis(idle_ms), read_head(&mut io)).await {
                Ok(true) => {
                    stats.requests.fetch_add(1, Ordering::Relaxed);
                    if io.write_all(OK_2).await.is_err() || io.flush().await.is_err() {
                        return;
                    }
                    stats.answered.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => return,
                Err(_idle) => {
                    // As a server's keep-alive timeout does: close, say nothing.
                    stats.closed.fetch_add(1, Ordering::Relaxed);
                    let _ = io.shutdown().await;
                    return;
                }
            }
        },
        Raw::CloseEvery { every, announced } => {
            for n in 1..=every {
                if !read_head(&mut io).await {
                    return;
                }
                stats.requests.fetch_add(1, Ordering::Relaxed);
                let response = if n == every && announced {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                } else {
                    OK_2
                };
                if io.write_all(response).await.is_err() || io.flush().await.is_err() {
                    return;
                }
                stats.answered.fetch_add(1, Ordering::Relaxed);
            }
            // A graceful close (FIN, then drain): a request sent meanwhile meets
            // the end of the connection, not a reset.
            stats.closed.fetch_add(1, Ordering::Relaxed);
            let _ = io.shutdown().await;
            let mut sink = [0u8; 1024];
            let drain = async { while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        }
        Raw::ResetAfter { answered } => {
            for _ in 0..answered {
                if !read_head(&mut io).await {
                    return;
                }
                stats.requests.fetch_add(1, Ordering::Relaxed);
                if io.write_all(OK_2).await.is_err() || io.flush().await.is_err() {
                    return;
                }
                stats.answered.fetch_add(1, Ordering::Relaxed);
            }
            if !read_head(&mut io).await {
                return;
            }
            stats.requests.fetch_add(1, Ordering::Relaxed);
            let _ = io.write_all(b"HTTP/1.1 200 OK\r\nContent-Le").await;
            let _ = io.flush().await;
            // Time for the client to read those bytes before the reset.
            tokio::time::sleep(Duration::from_millis(100)).await;
            stats.closed.fetch_add(1, Ordering::Relaxed);
            io.reset_on_drop();
        }
        _ => {}
    }
}

/// A keep-alive `200` with a 2-byte body.
const OK_2: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn refused_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port on 127.0.0.1");
    let addr = listener.local_addr().expect("listener address");
    drop(listener);
    addr
}
