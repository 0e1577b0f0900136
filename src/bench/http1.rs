//! A lean HTTP/1.1 client connection for the load engine's hot path.
//!
//! A load generator must never be the bottleneck, so the HTTP/1.1 path does what
//! wrk does: the request is written as pre-rendered bytes in one write, and the
//! response is read from one reusable buffer by the same reader as the event
//! loop's ([`super::h1reader::ResponseReader`]), its body counted and discarded.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use super::h1reader::ResponseMeta;
use super::h1reader::ResponseReader;
use super::outcome::ErrorKind;

/// One HTTP/1.1 connection over any byte stream (plain TCP or TLS).
#[derive(Debug)]
pub struct H1Conn<S> {
    stream: S,
    buf: BytesMut,
    reader: ResponseReader,
    /// Of the last request: some of it was written, some of its response read.
    wrote: bool,
    got: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1Conn<S> {
    /// Wrap an established stream.
    pub fn new(stream: S) -> Self {
        H1Conn {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
            reader: ResponseReader::new(),
            wrote: false,
            got: false,
        }
    }

    /// The stream.
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// How far the last request got: some of it was written, some of its
    /// response read (a failure before either may be a stale connection's).
    pub fn reached(&self) -> (bool, bool) {
        (self.wrote, self.got)
    }

    async fn fill(&mut self) -> Result<usize, ErrorKind> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        self.stream
            .read_buf(&mut self.buf)
            .await
            .map_err(|_| ErrorKind::Reset)
    }

    /// Send `request` (a complete HTTP/1.1 request) and read the whole response.
    /// `head` says the request method was HEAD (no body follows). With `decode`,
    /// a gzip/deflate body is decoded to measure its decoded size.
    pub async fn send(
        &mut self,
        request: &[u8],
        head: bool,
        decode: bool,
    ) -> Result<ResponseMeta, ErrorKind> {
        self.wrote = false;
        self.got = !self.buf.is_empty();
        let mut written = 0;
        while written < request.len() {
            match self.stream.write(&request[written..]).await {
                Ok(0) | Err(_) => return Err(ErrorKind::Reset),
                Ok(n) => {
                    written += n;
                    self.wrote = true;
                }
            }
        }
        self.reader.expect(head, decode);
        loop {
            if !self.buf.is_empty() {
                let (used, done) = self.reader.feed(&self.buf)?;
                self.buf.advance(used);
                if let Some(meta) = done {
                    return Ok(meta);
                }
            }
            if self.fill().await? == 0 {
                return self.reader.eof();
            }
            self.got = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exchange(
        response: &'static [u8],
        head: bool,
        decode: bool,
    ) -> Result<ResponseMeta, ErrorKind> {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let _ = server.read(&mut buf).await;
            // Dribble the response in small pieces to exercise partial parsing.
            for piece in response.chunks(7) {
                if server.write_all(piece).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
        });
        let mut conn = H1Conn::new(client);
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", head, decode)
            .await
    }

    #[tokio::test]
    async fn content_length_body() {
        let m = exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer-Timing: db;dur=1.5\r\n\r\nhello",
            false,
            false,
        )
        .await
        .unwrap();
        assert_eq!(m.status, 200);
        assert_eq!(m.body_bytes, 5);
        assert!(m.keep_alive);
        assert_eq!(m.server_timing.as_deref(), Some("db;dur=1.5"));
    }

    #[tokio::test]
    async fn a_chunk_size_near_u64_max_is_a_body_error_not_an_overflow() {
        for size in [
            "FFFFFFFFFFFFFFFF",
            "fffffffffffffffe",
            "FFFFFFFFFFFFFFFF;ext=1",
        ] {
            let response: &'static [u8] = Box::leak(
                format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nhello\r\n")
                    .into_bytes()
                    .into_boxed_slice(),
            );
            assert_eq!(
                exchange(response, false, false).await,
                Err(ErrorKind::Body),
                "{size}"
            );
        }
        // One more hex digit than u64 holds does not parse: also a body error.
        let m = exchange(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1FFFFFFFFFFFFFFFF\r\nx\r\n",
            false,
            false,
        )
        .await;
        assert_eq!(m, Err(ErrorKind::Body));
    }

    #[tokio::test]
    async fn chunked_body_with_trailer() {
        let m = exchange(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
            false,
            false,
        )
        .await
        .unwrap();
        assert_eq!(m.body_bytes, 11);
    }

    #[tokio::test]
    async fn head_and_204_have_no_body() {
        let m = exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n",
            true,
            false,
        )
        .await
        .unwrap();
        assert_eq!(m.body_bytes, 0);
        let m = exchange(b"HTTP/1.1 204 No Content\r\n\r\n", false, false)
            .await
            .unwrap();
        assert_eq!(m.status, 204);
    }

    #[tokio::test]
    async fn interim_100_continue_is_skipped() {
        let m = exchange(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
            false,
            false,
        )
        .await
        .unwrap();
        assert_eq!(m.status, 201);
    }

    #[tokio::test]
    async fn body_until_close_and_connection_close() {
        let m = exchange(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc",
            false,
            false,
        )
        .await
        .unwrap();
        assert_eq!(m.body_bytes, 3);
        assert!(!m.keep_alive);
    }

    #[tokio::test]
    async fn truncated_body_is_a_body_error() {
        let e = exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            false,
            false,
        )
        .await
        .unwrap_err();
        assert_eq!(e, ErrorKind::Body);
    }

    #[tokio::test]
    async fn garbage_is_a_protocol_error() {
        let e = exchange(b"SSH-2.0-OpenSSH\r\n\r\n", false, false)
            .await
            .unwrap_err();
        assert_eq!(e, ErrorKind::Protocol);
    }

    #[tokio::test]
    async fn gzip_body_is_measured_decoded() {
        let (resp, body) = crate::bench::h1reader::tests::gzip_response();
        let leaked: &'static [u8] = Box::leak(resp.into_boxed_slice());
        let m = exchange(leaked, false, true).await.unwrap();
        assert_eq!(m.body_bytes, body);
        assert_eq!(m.decoded_bytes, Some(1000));
    }
}
