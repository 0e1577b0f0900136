//! Targets and connections: plain TCP or TLS (rustls), HTTP/1.1 or HTTP/2, for
//! the async path of the engine. A [`Conn`] knows what `keepalive.rs` needs of
//! a kept connection: whether it was reused, how far a failed request got, the
//! server's `Keep-Alive` limits, and a peek at its socket.

use std::net::SocketAddr;
use std::os::fd::AsFd as _;
use std::sync::Arc;

use bytes::Bytes;
use http::header::HeaderValue;
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::coding::{Coding, KeptBody};
use super::http1::{H1Conn, ResponseMeta};
use super::keepalive::{probe, Kept, Probe, Stale};
use super::outcome::ErrorKind;

/// Which HTTP version to speak (the config's word for it).
pub use crate::config::HttpVersion;

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
    /// The TLS settings could not be built (e.g. an unreadable CA file).
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

pub use crate::tls::TlsOptions;

/// Where requests go, resolved once: address, `Host`, TLS and HTTP version.
#[derive(Clone)]
pub struct TargetSpec {
    pub(crate) addr: SocketAddr,
    pub(crate) authority: HeaderValue,
    pub(crate) scheme: &'static str,
    pub(crate) base_path: String,
    pub(crate) tls: Option<(TlsConnector, ServerName<'static>)>,
    pub(crate) version: HttpVersion,
    pub(crate) key: u64,
}

impl std::fmt::Debug for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetSpec")
            .field("addr", &self.addr)
            .field("authority", &self.authority)
            .field("scheme", &self.scheme)
            .field("version", &self.version)
            .finish()
    }
}

static NEXT_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl TargetSpec {
    /// Resolve a base URL such as `http://127.0.0.1:8080` or `https://host/prefix`.
    pub async fn resolve(
        url: &str,
        version: HttpVersion,
        tls: &TlsOptions,
    ) -> Result<TargetSpec, TargetError> {
        let bad = |reason: &str| TargetError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("it is not a valid URL"))?;
        let (scheme, default_port) = match uri.scheme_str() {
            Some("http") => ("http", 80),
            Some("https") => ("https", 443),
            _ => return Err(bad("it must start with http:// or https://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("it has no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(default_port);
        let addr = tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| TargetError::Resolve {
                host: format!("{host}:{port}"),
                source,
            })?
            .next()
            .ok_or_else(|| bad("the host name has no address"))?;
        let tls = if scheme == "https" {
            let name = ServerName::try_from(host.to_string())
                .map_err(|_| bad("the host is not a valid TLS server name"))?;
            Some((tls_connector(version, tls)?, name))
        } else {
            None
        };
        Ok(TargetSpec {
            addr,
            authority: HeaderValue::from_str(authority.as_str())
                .map_err(|_| bad("invalid host"))?,
            scheme,
            base_path: uri.path().trim_end_matches('/').to_string(),
            tls,
            version,
            key: NEXT_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// The socket address requests go to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn tls_connector(version: HttpVersion, opts: &TlsOptions) -> Result<TlsConnector, TargetError> {
    let mut config = rustls_client_config(opts)?;
    config.alpn_protocols = match version {
        HttpVersion::Http1 => vec![b"http/1.1".to_vec()],
        HttpVersion::Http2 => vec![b"h2".to_vec()],
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The rustls client settings for `opts` ([`crate::tls::client_config`]).
pub fn rustls_client_config(opts: &TlsOptions) -> Result<rustls::ClientConfig, TargetError> {
    crate::tls::client_config(opts).map_err(TargetError::Tls)
}

/// The kind of a failed `connect`: out of file descriptors on this machine
/// (`EMFILE`, `ENFILE`) is the client's limit, anything else (refused,
/// unreachable) the target's.
pub(crate) fn connect_error(err: &std::io::Error) -> ErrorKind {
    match err.raw_os_error() {
        Some(nix::libc::EMFILE | nix::libc::ENFILE) => ErrorKind::ClientLimit,
        _ => ErrorKind::Connect,
    }
}

/// How long a connection waits before its next attempt after `failures`
/// connection errors in a row: 1 ms, doubling, at most 100 ms. A dead target
/// then costs a few attempts per second per connection, not a core; every
/// attempt is still a sample.
pub(crate) fn connect_backoff(failures: u32) -> std::time::Duration {
    const FIRST_MS: u64 = 1;
    const MAX_MS: u64 = 100;
    let ms = FIRST_MS.saturating_mul(1u64 << failures.saturating_sub(1).min(16));
    std::time::Duration::from_millis(ms.min(MAX_MS))
}

/// Whether a request failed without reaching the target (no connection).
pub(crate) fn is_connect_failure(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Connect | ErrorKind::ClientLimit)
}

/// One open connection and what is known of it as a kept connection.
pub struct Conn {
    link: Link,
    kept: Kept,
    /// The request in flight went out on a reused connection.
    reused: bool,
    /// Some of it was written.
    wrote: bool,
    /// Some of its response arrived.
    got: bool,
}

#[expect(
    clippy::large_enum_variant,
    reason = "one per connection, made once; as before, only the TLS one is boxed"
)]
enum Link {
    /// HTTP/1.1 over TCP.
    Plain(H1Conn<TcpStream>),
    /// HTTP/1.1 over TLS.
    Tls(Box<H1Conn<TlsStream<TcpStream>>>),
    /// HTTP/2 (over TCP or TLS).
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

impl Conn {
    /// Open a connection to `target`.
    pub async fn open(target: &TargetSpec) -> Result<Conn, ErrorKind> {
        let tcp = TcpStream::connect(target.addr)
            .await
            .map_err(|e| connect_error(&e))?;
        let _ = tcp.set_nodelay(true);
        let link = match (&target.tls, target.version) {
            (None, HttpVersion::Http1) => Link::Plain(H1Conn::new(tcp)),
            (Some((connector, name)), version) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|_| ErrorKind::Tls)?;
                match version {
                    HttpVersion::Http1 => Link::Tls(Box::new(H1Conn::new(tls))),
                    HttpVersion::Http2 => h2_handshake(TokioIo::new(tls)).await?,
                }
            }
            (None, HttpVersion::Http2) => h2_handshake(TokioIo::new(tcp)).await?,
        };
        Ok(Conn {
            link,
            kept: Kept::new(Instant::now()),
            reused: false,
            wrote: false,
            got: false,
        })
    }

    /// Whether the connection can take a request now: hyper has not seen the
    /// HTTP/2 connection end (`GOAWAY`, close) and the server's `Keep-Alive`
    /// limits allow another request.
    pub fn is_usable(&self) -> bool {
        let open = match &self.link {
            Link::H2(sender) => !sender.is_closed(),
            _ => true,
        };
        open && !self.kept.expired(Instant::now())
    }

    /// [`Conn::is_usable`], and a peek at the socket shows the server has not
    /// closed it: for a connection taken from the pool after sitting idle.
    pub fn is_alive(&self) -> bool {
        self.is_usable()
            && match &self.link {
                Link::Plain(c) => probe(c.stream().as_fd()) == Probe::Open,
                Link::Tls(c) => probe(c.stream().get_ref().0.as_fd()) == Probe::Open,
                Link::H2(_) => true,
            }
    }

    /// After a failed [`Conn::send`]: how far the request got when it failed on
    /// a reused connection before any byte of its response (a stale kept
    /// connection), `None` otherwise.
    pub(crate) fn stale(&self) -> Option<Stale> {
        (self.reused && !self.got).then_some(if self.wrote {
            Stale::Written
        } else {
            Stale::Unwritten
        })
    }

    /// Send one request and read the whole response.
    pub async fn send(
        &mut self,
        h1: &[u8],
        h2: impl FnOnce() -> http::Request<Full<Bytes>>,
        head: bool,
        decode: bool,
    ) -> Result<ResponseMeta, ErrorKind> {
        self.reused = self.kept.reused();
        self.kept.sent();
        self.wrote = false;
        self.got = false;
        let result = match &mut self.link {
            Link::Plain(c) => {
                let result = c.send(h1, head, decode).await;
                (self.wrote, self.got) = c.reached();
                result
            }
            Link::Tls(c) => {
                let result = c.send(h1, head, decode).await;
                (self.wrote, self.got) = c.reached();
                result
            }
            Link::H2(sender) => h2_send(sender, h2, decode, &mut self.wrote, &mut self.got).await,
        };
        if let Ok(meta) = &result {
            self.kept.answered(meta, Instant::now());
        }
        result
    }
}

/// One HTTP/2 exchange; `wrote`: hyper took the request (it did not give it
/// back unsent), `got`: its response head arrived.
async fn h2_send(
    sender: &mut hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    h2: impl FnOnce() -> http::Request<Full<Bytes>>,
    decode: bool,
    wrote: &mut bool,
    got: &mut bool,
) -> Result<ResponseMeta, ErrorKind> {
    sender.ready().await.map_err(|_| ErrorKind::Reset)?;
    let response = match sender.try_send_request(h2()).await {
        Ok(response) => response,
        Err(mut e) => {
            *wrote = e.take_message().is_none();
            return Err(if e.error().is_parse() {
                ErrorKind::Protocol
            } else {
                ErrorKind::Reset
            });
        }
    };
    *wrote = true;
    *got = true;
    let status = response.status().as_u16();
    let mut timing: Option<String> = None;
    for v in response.headers().get_all("server-timing") {
        if let Ok(v) = v.to_str() {
            match &mut timing {
                Some(t) => {
                    t.push(',');
                    t.push_str(v);
                }
                None => timing = Some(v.to_string()),
            }
        }
    }
    let head_bytes: u64 = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().len() + v.len() + 4) as u64)
        .sum();
    let coding = response
        .headers()
        .get(http::header::CONTENT_ENCODING)
        .map_or(Coding::Identity, |v| Coding::of(v.as_bytes()));
    // As on HTTP/1.1: a compressed body is kept only to measure its decoded
    // size, when the endpoint asked for compression.
    let mut raw =
        (decode && matches!(coding, Coding::Gzip | Coding::Deflate)).then(KeptBody::default);
    let mut body = response.into_body();
    let mut body_bytes = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ErrorKind::Body)?;
        if let Some(data) = frame.data_ref() {
            body_bytes += data.len() as u64;
            if let Some(raw) = raw.as_mut() {
                raw.extend_from_slice(data);
            }
        }
    }
    let decoded_bytes = match raw {
        Some(raw) => raw.decoded_len(coding)?,
        None => (coding == Coding::Identity).then_some(body_bytes),
    };
    Ok(ResponseMeta {
        status,
        wire_bytes: head_bytes + body_bytes,
        body_bytes,
        decoded_bytes,
        server_timing: timing,
        keep_alive: true,
        ..ResponseMeta::default()
    })
}

async fn h2_handshake<T>(io: TokioIo<T>) -> Result<Link, ErrorKind>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
        .await
        .map_err(|_| ErrorKind::Connect)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Link::H2(sender))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn connect_backoff_doubles_from_1ms_to_a_100ms_cap() {
        let got: Vec<u64> = (1..=9)
            .map(|n| connect_backoff(n).as_millis() as u64)
            .collect();
        assert_eq!(got, vec![1, 2, 4, 8, 16, 32, 64, 100, 100]);
        assert_eq!(connect_backoff(0), Duration::from_millis(1));
        assert_eq!(connect_backoff(u32::MAX), Duration::from_millis(100));
    }

    #[test]
    fn out_of_file_descriptors_is_the_clients_limit() {
        let emfile = std::io::Error::from_raw_os_error(nix::libc::EMFILE);
        let enfile = std::io::Error::from_raw_os_error(nix::libc::ENFILE);
        let refused = std::io::Error::from_raw_os_error(nix::libc::ECONNREFUSED);
        assert_eq!(connect_error(&emfile), ErrorKind::ClientLimit);
        assert_eq!(connect_error(&enfile), ErrorKind::ClientLimit);
        assert_eq!(connect_error(&refused), ErrorKind::Connect);
        assert_eq!(
            ErrorKind::ClientLimit.label(),
            "client: too many open files"
        );
    }
}
