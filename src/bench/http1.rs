//! A lean HTTP/1.1 client connection for the load engine's hot path.
//!
//! A load generator must never be the bottleneck, so the HTTP/1.1 path does what
//! wrk does: the request is written as pre-rendered bytes in one write, and the
//! response is parsed in place with `httparse` from one reusable buffer, its body
//! counted and discarded (Content-Length, chunked, or until close). Nothing is
//! allocated per request unless the response carries `Server-Timing` or the body
//! must be decoded to measure its decoded size.

use std::io::Read as _;
use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::record::ErrorKind;

const MAX_HEADERS: usize = 96;
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What the engine keeps of one response.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ResponseMeta {
    /// Status code.
    pub status: u16,
    /// Bytes of the response on the wire (head and body as sent).
    pub wire_bytes: u64,
    /// Body bytes after transfer decoding (chunked) and before content decoding.
    pub body_bytes: u64,
    /// Body bytes after content decoding (gzip/deflate), when it was measured.
    pub decoded_bytes: Option<u64>,
    /// The `Server-Timing` header values joined with `,`, if any.
    pub server_timing: Option<String>,
    /// Whether the connection can carry another request.
    pub keep_alive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// A response's `Content-Encoding`, as far as sizes are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
    Deflate,
    Other,
}

impl Coding {
    /// The coding named by a `Content-Encoding` value.
    pub(crate) fn of(value: &[u8]) -> Coding {
        let v = value.trim_ascii();
        if v.eq_ignore_ascii_case(b"gzip") || v.eq_ignore_ascii_case(b"x-gzip") {
            Coding::Gzip
        } else if v.eq_ignore_ascii_case(b"deflate") {
            Coding::Deflate
        } else if v.is_empty() || v.eq_ignore_ascii_case(b"identity") {
            Coding::Identity
        } else {
            Coding::Other
        }
    }
}

/// One HTTP/1.1 connection over any byte stream (plain TCP or TLS).
#[derive(Debug)]
pub struct H1Conn<S> {
    stream: S,
    buf: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1Conn<S> {
    /// Wrap an established stream.
    pub fn new(stream: S) -> Self {
        H1Conn {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
        }
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
        self.stream
            .write_all(request)
            .await
            .map_err(|_| ErrorKind::Reset)?;
        loop {
            let Some((meta, head_len, body, coding)) = parse_head(&self.buf, head)? else {
                if self.buf.len() > MAX_HEAD_BYTES {
                    return Err(ErrorKind::Protocol);
                }
                if self.fill().await? == 0 {
                    return Err(ErrorKind::Reset);
                }
                continue;
            };
            self.buf.advance(head_len);
            if (100..200).contains(&meta.status) && meta.status != 101 {
                // An interim response (100 Continue, 103 Early Hints): the real one follows.
                continue;
            }
            let mut meta = meta;
            let collect = decode && matches!(coding, Coding::Gzip | Coding::Deflate);
            let mut raw = collect.then(KeptBody::default);
            let (wire, body_bytes) = self.read_body(body, raw.as_mut()).await?;
            meta.wire_bytes = head_len as u64 + wire;
            meta.body_bytes = body_bytes;
            if body == BodyKind::UntilClose {
                meta.keep_alive = false;
            }
            if let Some(raw) = raw {
                meta.decoded_bytes = raw.decoded_len(coding)?;
            } else if coding == Coding::Identity {
                meta.decoded_bytes = Some(body_bytes);
            }
            return Ok(meta);
        }
    }

    /// Consume the body; returns (bytes on the wire, body bytes).
    async fn read_body(
        &mut self,
        body: BodyKind,
        mut keep: Option<&mut KeptBody>,
    ) -> Result<(u64, u64), ErrorKind> {
        match body {
            BodyKind::None => Ok((0, 0)),
            BodyKind::Length(len) => {
                let mut left = len;
                while left > 0 {
                    if self.buf.is_empty() && self.fill().await? == 0 {
                        return Err(ErrorKind::Body);
                    }
                    let take = (self.buf.len() as u64).min(left) as usize;
                    if let Some(keep) = keep.as_deref_mut() {
                        keep.extend_from_slice(&self.buf[..take]);
                    }
                    self.buf.advance(take);
                    left -= take as u64;
                }
                Ok((len, len))
            }
            BodyKind::UntilClose => {
                let mut total = 0u64;
                loop {
                    total += self.buf.len() as u64;
                    if let Some(keep) = keep.as_deref_mut() {
                        keep.extend_from_slice(&self.buf);
                    }
                    self.buf.clear();
                    if self.fill().await? == 0 {
                        return Ok((total, total));
                    }
                }
            }
            BodyKind::Chunked => self.read_chunked(keep).await,
        }
    }

    async fn read_chunked(
        &mut self,
        mut keep: Option<&mut KeptBody>,
    ) -> Result<(u64, u64), ErrorKind> {
        let mut wire = 0u64;
        let mut body = 0u64;
        loop {
            // Chunk size line.
            let line_end = loop {
                if let Some(pos) = find_crlf(&self.buf) {
                    break pos;
                }
                if self.buf.len() > MAX_HEAD_BYTES || self.fill().await? == 0 {
                    return Err(ErrorKind::Body);
                }
            };
            let size = parse_chunk_size(&self.buf[..line_end]).ok_or(ErrorKind::Body)?;
            wire += line_end as u64 + 2;
            self.buf.advance(line_end + 2);
            if size == 0 {
                // Trailers, then an empty line.
                loop {
                    let end = loop {
                        if let Some(pos) = find_crlf(&self.buf) {
                            break pos;
                        }
                        if self.buf.len() > MAX_HEAD_BYTES || self.fill().await? == 0 {
                            return Err(ErrorKind::Body);
                        }
                    };
                    wire += end as u64 + 2;
                    self.buf.advance(end + 2);
                    if end == 0 {
                        return Ok((wire, body));
                    }
                }
            }
            // Data and its CRLF. A size the server made up near `u64::MAX` is a
            // framing error, not an overflow.
            let mut left = size.checked_add(2).ok_or(ErrorKind::Body)?;
            while left > 0 {
                if self.buf.is_empty() && self.fill().await? == 0 {
                    return Err(ErrorKind::Body);
                }
                let take = (self.buf.len() as u64).min(left) as usize;
                let data = take.min(left.saturating_sub(2) as usize);
                if let Some(keep) = keep.as_deref_mut() {
                    keep.extend_from_slice(&self.buf[..data]);
                }
                self.buf.advance(take);
                left -= take as u64;
            }
            wire = wire.saturating_add(size.saturating_add(2));
            body = body.saturating_add(size);
        }
    }
}

/// Parse a response head at the start of `buf`: `None` while it is incomplete.
///
/// A plain function, so that its header slots live on the stack for the parse
/// only, not in the future of [`H1Conn::send`] (which is moved on every request).
/// The slots are left uninitialised: initialising 96 of them per response was the
/// costliest instructions of the client's own hot path.
pub(crate) fn parse_head(
    buf: &[u8],
    head: bool,
) -> Result<Option<(ResponseMeta, usize, BodyKind, Coding)>, ErrorKind> {
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut headers,
    ) {
        Ok(httparse::Status::Complete(head_len)) => {
            let status = response.code.unwrap_or(0);
            let (meta, body, coding) = read_head(&response, status, head);
            Ok(Some((meta, head_len, body, coding)))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(_) => Err(ErrorKind::Protocol),
    }
}

fn read_head(
    response: &httparse::Response<'_, '_>,
    status: u16,
    head: bool,
) -> (ResponseMeta, BodyKind, Coding) {
    let mut length = None;
    let mut chunked = false;
    let mut close = response.version == Some(0);
    let mut timing: Option<String> = None;
    let mut coding = Coding::Identity;
    for h in response.headers.iter() {
        let name = h.name;
        // Most headers (Date, Server, Content-Type...) matter to no one here: the
        // length of the name rules them out before any comparison.
        if !matches!(name.len(), 10 | 13 | 14 | 16 | 17) {
            continue;
        }
        if name.eq_ignore_ascii_case("content-length") {
            length = parse_length(h.value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h
                .value
                .rsplit(|b| *b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            if h.value.eq_ignore_ascii_case(b"close") {
                close = true;
            } else if h.value.eq_ignore_ascii_case(b"keep-alive") {
                close = false;
            }
        } else if name.eq_ignore_ascii_case("server-timing") {
            if let Ok(v) = std::str::from_utf8(h.value) {
                match &mut timing {
                    Some(t) => {
                        t.push(',');
                        t.push_str(v);
                    }
                    None => timing = Some(v.to_string()),
                }
            }
        } else if name.eq_ignore_ascii_case("content-encoding") {
            coding = Coding::of(h.value);
        }
    }
    let body = if head || (100..200).contains(&status) || status == 204 || status == 304 {
        BodyKind::None
    } else if chunked {
        BodyKind::Chunked
    } else if let Some(len) = length {
        BodyKind::Length(len)
    } else {
        BodyKind::UntilClose
    };
    (
        ResponseMeta {
            status,
            server_timing: timing,
            keep_alive: !close,
            ..ResponseMeta::default()
        },
        body,
        coding,
    )
}

/// A `Content-Length` value: decimal digits, optionally padded with spaces.
fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

pub(crate) fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

pub(crate) fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let hex = line.split(|b| *b == b';').next()?.trim_ascii();
    let text = std::str::from_utf8(hex).ok()?;
    u64::from_str_radix(text, 16).ok()
}

/// Most compressed body bytes kept (1 MB) to measure a body's decoded size: a bigger
/// (or endless) compressed body is counted but not kept, and its decoded size is
/// then unknown, so memory stays bounded whatever the peer sends.
pub(crate) const MAX_KEPT_BODY: usize = 1024 * 1024;

/// A compressed body kept (up to [`MAX_KEPT_BODY`]) to measure its decoded size.
#[derive(Debug, Default)]
pub(crate) struct KeptBody {
    bytes: Vec<u8>,
    overflow: bool,
}

impl KeptBody {
    /// Keep `data`, unless the body has grown past the bound.
    pub(crate) fn extend_from_slice(&mut self, data: &[u8]) {
        if self.overflow {
            return;
        }
        if self.bytes.len() + data.len() > MAX_KEPT_BODY {
            self.overflow = true;
            self.bytes = Vec::new();
        } else {
            self.bytes.extend_from_slice(data);
        }
    }

    /// Forget the body, for the next one (a large buffer is given back).
    pub(crate) fn clear(&mut self) {
        self.overflow = false;
        if self.bytes.capacity() > 256 * 1024 {
            self.bytes = Vec::new();
        } else {
            self.bytes.clear();
        }
    }

    /// The decoded size: `None` when the body was too large to keep, an error
    /// when it does not decode.
    pub(crate) fn decoded_len(&self, coding: Coding) -> Result<Option<u64>, ErrorKind> {
        if self.overflow {
            return Ok(None);
        }
        decoded_len(&self.bytes, coding)
            .map(Some)
            .ok_or(ErrorKind::Body)
    }
}

/// The size of `raw` once decoded from `coding`; `None` when it does not decode.
pub(crate) fn decoded_len(raw: &[u8], coding: Coding) -> Option<u64> {
    let mut sink = std::io::sink();
    let n = match coding {
        Coding::Gzip => {
            std::io::copy(&mut flate2::read::MultiGzDecoder::new(raw), &mut sink).ok()?
        }
        Coding::Deflate => {
            // "deflate" is zlib-wrapped per RFC 9110, but some servers send raw deflate.
            match std::io::copy(&mut flate2::read::ZlibDecoder::new(raw), &mut sink) {
                Ok(n) => n,
                Err(_) => {
                    let mut out = Vec::new();
                    flate2::read::DeflateDecoder::new(raw)
                        .read_to_end(&mut out)
                        .ok()? as u64
                }
            }
        }
        Coding::Identity => raw.len() as u64,
        Coding::Other => return None,
    };
    Some(n)
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

    #[test]
    fn content_length_values() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b" 1234 "), Some(1234));
        assert_eq!(
            parse_length(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        assert_eq!(parse_length(b""), None);
        assert_eq!(parse_length(b"12a"), None);
        assert_eq!(parse_length(b"-1"), None);
        assert_eq!(parse_length(b"+1"), None);
        assert_eq!(parse_length(b"99999999999999999999"), None);
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
        use std::io::Write as _;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&[b'a'; 1000]).unwrap();
        let gz = enc.finish().unwrap();
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            gz.len()
        )
        .into_bytes();
        resp.extend_from_slice(&gz);
        let leaked: &'static [u8] = Box::leak(resp.into_boxed_slice());
        let m = exchange(leaked, false, true).await.unwrap();
        assert_eq!(m.body_bytes, gz.len() as u64);
        assert_eq!(m.decoded_bytes, Some(1000));
    }
}
