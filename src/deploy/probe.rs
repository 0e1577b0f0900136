//! One readiness probe: a plain HTTP/1.1 `GET` on a fresh TCP connection.
//!
//! Each probe opens its own connection so that a server which accepted a connection
//! before it was ready (or a stale keep-alive socket) cannot hide its state. Any
//! status below 500 means "ready", like the readiness checks of Kubernetes
//! (`httpGet` probes treat 200-399 as success) and docker-compose health checks,
//! widened to 4xx so a service without a health route can still be probed at `/`.

use bytes::Bytes;
use http::{header, Request, StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// A parsed probe URL: where to connect and what to ask for.
#[derive(Debug, Clone)]
pub(crate) struct ProbeTarget {
    host: String,
    port: u16,
    authority: String,
    path: String,
}

impl ProbeTarget {
    /// Parse an absolute `http://` URL. The error says what is wrong with it.
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| e.to_string())?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => return Err(format!("readiness probes speak plain http, not `{other}`")),
            None => return Err("it must start with http://".to_string()),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| "it has no host".to_string())?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let path = uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_string());
        Ok(ProbeTarget {
            host,
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_string(),
            path,
        })
    }

    /// Send one `GET` and return the response status, or what went wrong.
    ///
    /// The caller bounds the time; dropping the future closes the connection.
    pub(crate) async fn probe(&self) -> Result<StatusCode, String> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connect to {}: {e}", self.authority))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {}: {e}", self.authority))?;
        let _driver = AbortOnDrop(tokio::spawn(async move {
            // The outcome that matters is the response; a connection error shows up there.
            let _ = connection.await;
        }));
        let request = Request::get(self.path.as_str())
            .header(header::HOST, self.authority.as_str())
            .header(header::CONNECTION, "close")
            .header(header::USER_AGENT, "tailgate-readiness-probe")
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("building the request for {}: {e}", self.path))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("GET {}: {e}", self.path))?;
        Ok(response.status())
    }
}

/// Aborts a spawned task when dropped, so a cancelled probe leaves no task behind.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_path() {
        let t = ProbeTarget::parse("http://127.0.0.1:8080/health?x=1").unwrap();
        assert_eq!(t.host, "127.0.0.1");
        assert_eq!(t.port, 8080);
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.path, "/health?x=1");
    }

    #[test]
    fn defaults_port_and_path() {
        let t = ProbeTarget::parse("http://[::1]").unwrap();
        assert_eq!(t.host, "::1");
        assert_eq!(t.port, 80);
        assert_eq!(t.path, "/");
    }

    #[test]
    fn rejects_https_and_relative() {
        assert!(ProbeTarget::parse("https://example.com/")
            .unwrap_err()
            .contains("plain http"));
        assert!(ProbeTarget::parse("/health").is_err());
    }

    #[tokio::test]
    async fn refused_connection_is_an_outcome() {
        let port = crate::deploy::free_port().unwrap();
        let t = ProbeTarget::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let err = t.probe().await.unwrap_err();
        assert!(err.contains("connect to"), "{err}");
    }
}
