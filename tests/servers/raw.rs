//! Plain TCP peers that misbehave below HTTP, and a refused port.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

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
}

/// The response of [`Raw::ChunkedInPieces`].
pub const CHUNKED_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer-Timing: db;dur=2\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";

/// A TCP server that misbehaves below HTTP; stops when dropped.
pub struct RawServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    /// Start one on 127.0.0.1, port 0.
    pub fn start(raw: Raw) -> RawServer {
        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port on 127.0.0.1");
        std_listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = std_listener.local_addr().expect("listener address");
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                let accept = async {
                    loop {
                        if let Ok((tcp, _)) = listener.accept().await {
                            tokio::spawn(misbehave(tcp, raw));
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
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
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
async fn read_head(tcp: &mut TcpStream) -> bool {
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
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn refused_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port on 127.0.0.1");
    let addr = listener.local_addr().expect("listener address");
    drop(listener);
    addr
}
