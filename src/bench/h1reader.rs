//! The HTTP/1.1 response reader, the one both drivers use: the async client
//! (`http1.rs`, for TLS and the tokio engine) and the epoll event loop
//! (`evloop.rs`).
//!
//! Bytes are fed as they arrive, in pieces of any size; the reader consumes what
//! it can and says when a response is complete. Only an incomplete head or
//! chunk-size line is left unconsumed (for the caller to keep and feed again with
//! more bytes); body bytes are counted and dropped as they come, so memory does
//! not grow with the body. The head is parsed in place with `httparse`; nothing is
//! allocated per response unless it carries `Server-Timing` or its body must be
//! decoded to measure its decoded size.

use std::mem::MaybeUninit;

use super::coding::{Coding, KeptBody};
use super::outcome::ErrorKind;

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
    /// The server's `Keep-Alive: timeout=N`: how long it keeps an idle
    /// connection open.
    pub keep_alive_timeout: Option<std::time::Duration>,
    /// The server's `Keep-Alive: max=M`: requests it still allows on the
    /// connection.
    pub keep_alive_max: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    /// Body bytes left.
    Length(u64),
    ChunkSize,
    /// Bytes left of the chunk's data and its CRLF.
    ChunkData(u64),
    Trailer,
    UntilClose,
}

/// Reads one response after another from one connection.
#[derive(Debug)]
pub(crate) struct ResponseReader {
    state: State,
    head_request: bool,
    decode: bool,
    meta: ResponseMeta,
    coding: Coding,
    wire: u64,
    body: u64,
    collect: bool,
    /// A compressed body, kept only to measure its decoded size (reused, bounded).
    raw: KeptBody,
}

impl ResponseReader {
    pub(crate) fn new() -> ResponseReader {
        ResponseReader {
            state: State::Head,
            head_request: false,
            decode: false,
            meta: ResponseMeta::default(),
            coding: Coding::Identity,
            wire: 0,
            body: 0,
            collect: false,
            raw: KeptBody::default(),
        }
    }

    /// Expect the response to a new request: `head` says it was a HEAD request,
    /// `decode` asks for the decoded size of a compressed body.
    pub(crate) fn expect(&mut self, head: bool, decode: bool) {
        self.state = State::Head;
        self.head_request = head;
        self.decode = decode;
    }

    /// Consume bytes from `buf`: returns how many were consumed and the response
    /// when it completed (bytes after it are left for the next one).
    pub(crate) fn feed(&mut self, buf: &[u8]) -> Result<(usize, Option<ResponseMeta>), ErrorKind> {
        let mut pos = 0;
        loop {
            let rest = &buf[pos..];
            match self.state {
                State::Head => {
                    let Some((meta, len, body, coding)) = parse_head(rest, self.head_request)?
                    else {
                        if rest.len() > MAX_HEAD_BYTES {
                            return Err(ErrorKind::Protocol);
                        }
                        return Ok((pos, None));
                    };
                    pos += len;
                    if (100..200).contains(&meta.status) && meta.status != 101 {
                        // An interim response (100 Continue, 103 Early Hints).
                        continue;
                    }
                    self.meta = meta;
                    self.coding = coding;
                    self.wire = len as u64;
                    self.body = 0;
                    self.collect = self.decode && matches!(coding, Coding::Gzip | Coding::Deflate);
                    self.raw.clear();
                    self.state = match body {
                        BodyKind::None | BodyKind::Length(0) => {
                            return self.finish().map(|m| (pos, Some(m)));
                        }
                        BodyKind::Length(n) => State::Length(n),
                        BodyKind::Chunked => State::ChunkSize,
                        BodyKind::UntilClose => State::UntilClose,
                    };
                }
                State::Length(left) => {
                    let take = (rest.len() as u64).min(left) as usize;
                    self.data(&rest[..take], take);
                    pos += take;
                    if left == take as u64 {
                        return self.finish().map(|m| (pos, Some(m)));
                    }
                    self.state = State::Length(left - take as u64);
                    return Ok((pos, None));
                }
                State::ChunkSize => {
                    let Some(end) = find_crlf(rest) else {
                        if rest.len() > MAX_HEAD_BYTES {
                            return Err(ErrorKind::Body);
                        }
                        return Ok((pos, None));
                    };
                    let size = parse_chunk_size(&rest[..end]).ok_or(ErrorKind::Body)?;
                    self.wire += end as u64 + 2;
                    pos += end + 2;
                    self.state = if size == 0 {
                        State::Trailer
                    } else {
                        State::ChunkData(size.checked_add(2).ok_or(ErrorKind::Body)?)
                    };
                }
                State::ChunkData(left) => {
                    let take = (rest.len() as u64).min(left) as usize;
                    // The last two bytes of a chunk are its CRLF, not data; a chunk
                    // longer than its size line said is a framing error.
                    let data = take.min(left.saturating_sub(2) as usize);
                    let crlf_from = 2 - left.min(2) as usize;
                    let crlf = &rest[data..take];
                    if crlf != &b"\r\n"[crlf_from..crlf_from + crlf.len()] {
                        return Err(ErrorKind::Body);
                    }
                    self.data(&rest[..data], take);
                    pos += take;
                    if left == take as u64 {
                        self.state = State::ChunkSize;
                    } else {
                        self.state = State::ChunkData(left - take as u64);
                        return Ok((pos, None));
                    }
                }
                State::Trailer => {
                    let Some(end) = find_crlf(rest) else {
                        if rest.len() > MAX_HEAD_BYTES {
                            return Err(ErrorKind::Body);
                        }
                        return Ok((pos, None));
                    };
                    self.wire += end as u64 + 2;
                    pos += end + 2;
                    if end == 0 {
                        return self.finish().map(|m| (pos, Some(m)));
                    }
                }
                State::UntilClose => {
                    self.data(rest, rest.len());
                    return Ok((buf.len(), None));
                }
            }
        }
    }

    /// The peer closed the connection (end of stream): a body that runs until
    /// close is complete; anything else was cut short.
    pub(crate) fn eof(&mut self) -> Result<ResponseMeta, ErrorKind> {
        match self.state {
            State::UntilClose => {
                self.meta.keep_alive = false;
                self.finish()
            }
            State::Head => Err(ErrorKind::Reset),
            _ => Err(ErrorKind::Body),
        }
    }

    /// `data` of the body arrived in `wire` bytes.
    fn data(&mut self, data: &[u8], wire: usize) {
        self.wire += wire as u64;
        self.body += data.len() as u64;
        if self.collect {
            self.raw.extend_from_slice(data);
        }
    }

    fn finish(&mut self) -> Result<ResponseMeta, ErrorKind> {
        self.state = State::Head;
        let mut meta = std::mem::take(&mut self.meta);
        meta.wire_bytes = self.wire;
        meta.body_bytes = self.body;
        if self.collect {
            meta.decoded_bytes = self.raw.decoded_len(self.coding)?;
        } else if self.coding == Coding::Identity {
            meta.decoded_bytes = Some(self.body);
        }
        Ok(meta)
    }
}

/// Parse a response head at the start of `buf`: `None` while it is incomplete.
///
/// A plain function, so that its header slots live on the stack for the parse
/// only, not in the future of the async client's `send` (moved on every request).
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
    let mut hint = (None, None);
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
            // A list of tokens (`keep-alive, Upgrade`); `close` wins.
            for token in h.value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                    break;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    close = false;
                }
            }
        } else if name.eq_ignore_ascii_case("keep-alive") {
            hint = parse_keep_alive(h.value);
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
            keep_alive: !close && hint.1 != Some(0),
            keep_alive_timeout: hint.0,
            keep_alive_max: hint.1,
            ..ResponseMeta::default()
        },
        body,
        coding,
    )
}

/// A `Keep-Alive` value (RFC 2068 §19.7.1.1): `timeout=5, max=100`, parameters
/// in any order and case, others ignored; a value that does not parse is
/// ignored.
fn parse_keep_alive(value: &[u8]) -> (Option<std::time::Duration>, Option<u32>) {
    let mut timeout = None;
    let mut max = None;
    for param in value.split(|b| *b == b',' || *b == b';') {
        let Some(eq) = param.iter().position(|b| *b == b'=') else {
            continue;
        };
        let key = param[..eq].trim_ascii();
        let number = parse_length(trim_quotes(param[eq + 1..].trim_ascii()));
        if key.eq_ignore_ascii_case(b"timeout") {
            timeout = number.map(std::time::Duration::from_secs);
        } else if key.eq_ignore_ascii_case(b"max") {
            max = number.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        }
    }
    (timeout, max)
}

fn trim_quotes(v: &[u8]) -> &[u8] {
    v.strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(v)
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::coding::MAX_KEPT_BODY;

    /// Feed `bytes` in pieces cut at `cuts`, as reads would return them, keeping
    /// unconsumed bytes like the event loop does; then the end of the stream.
    fn read_all(bytes: &[u8], cuts: &[usize], head: bool) -> Vec<Result<ResponseMeta, ErrorKind>> {
        let mut reader = ResponseReader::new();
        reader.expect(head, true);
        let mut out = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut last = 0;
        for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
            pending.extend_from_slice(&bytes[last..cut]);
            last = cut;
            loop {
                match reader.feed(&pending) {
                    Ok((used, done)) => {
                        pending.drain(..used);
                        match done {
                            Some(meta) => {
                                out.push(Ok(meta));
                                reader.expect(head, true);
                            }
                            None => break,
                        }
                    }
                    Err(e) => {
                        out.push(Err(e));
                        return out;
                    }
                }
            }
        }
        out.push(reader.eof());
        out
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer-Timing: db;dur=2\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";

    #[test]
    fn a_chunked_body_split_at_every_byte_reads_the_same() {
        let whole = read_all(CHUNKED, &[], false);
        assert_eq!(whole.len(), 2, "{whole:?}");
        let meta = whole[0].clone().unwrap();
        assert_eq!(meta.body_bytes, 11);
        assert_eq!(meta.wire_bytes, CHUNKED.len() as u64);
        assert_eq!(meta.server_timing.as_deref(), Some("db;dur=2"));
        assert_eq!(whole[1], Err(ErrorKind::Reset), "nothing more was sent");
        for cut in 1..CHUNKED.len() {
            assert_eq!(read_all(CHUNKED, &[cut], false), whole, "cut at {cut}");
        }
        let every: Vec<usize> = (1..CHUNKED.len()).collect();
        assert_eq!(read_all(CHUNKED, &every, false), whole);
    }

    #[test]
    fn responses_back_to_back_in_one_read_are_read_one_by_one() {
        let mut two =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                .to_vec();
        two.extend_from_slice(CHUNKED);
        for cut in [0, 10, 60, 70, 100] {
            let got = read_all(&two, &[cut], false);
            assert_eq!(got.len(), 3, "cut at {cut}: {got:?}");
            assert_eq!(got[0].as_ref().unwrap().body_bytes, 3);
            assert_eq!(got[0].as_ref().unwrap().status, 200);
            assert_eq!(got[1].as_ref().unwrap().body_bytes, 11);
        }
    }

    #[test]
    fn the_end_of_the_stream_ends_or_cuts_a_body() {
        let until_close = b"HTTP/1.1 200 OK\r\n\r\nabcdef";
        let got = read_all(until_close, &[22], false);
        let meta = got[0].clone().unwrap();
        assert_eq!(meta.body_bytes, 6);
        assert!(!meta.keep_alive);
        let cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        assert_eq!(read_all(cut, &[], false), vec![Err(ErrorKind::Body)]);
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        assert_eq!(read_all(cut, &[], false), vec![Err(ErrorKind::Body)]);
        assert_eq!(
            read_all(b"HTTP/1.1 200 O", &[], false),
            vec![Err(ErrorKind::Reset)]
        );
    }

    #[test]
    fn head_responses_and_bad_input() {
        let got = read_all(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", &[], true);
        assert_eq!(got[0].as_ref().unwrap().body_bytes, 0);
        let got = read_all(b"SSH-2.0-OpenSSH\r\n\r\n", &[], false);
        assert_eq!(got, vec![Err(ErrorKind::Protocol)]);
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(read_all(bad, &[], false), vec![Err(ErrorKind::Body)]);
        // A chunk longer than its size: the bytes after the data are not its CRLF,
        // however the reads cut them.
        let long = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n";
        for cut in 0..long.len() {
            assert_eq!(
                read_all(long, &[cut], false),
                vec![Err(ErrorKind::Body)],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_compressed_body_too_large_to_keep_is_counted_not_kept() {
        let big = MAX_KEPT_BODY * 3 + 1000;
        let mut resp =
            format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {big}\r\n\r\n")
                .into_bytes();
        resp.resize(resp.len() + big, b'x');
        let got = read_all(&resp, &[100_000, 2_000_000], false);
        let meta = got[0].clone().unwrap();
        assert_eq!(meta.body_bytes, big as u64);
        assert_eq!(meta.decoded_bytes, None, "its decoded size is unknown");
    }

    /// A gzip response of 1,000 decoded bytes (for both drivers' tests), and
    /// the size of its body on the wire.
    pub(crate) fn gzip_response() -> (Vec<u8>, u64) {
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
        (resp, gz.len() as u64)
    }

    #[test]
    fn gzip_bodies_are_measured_decoded_across_reads() {
        let (resp, body) = gzip_response();
        let got = read_all(&resp, &[50, 70], false);
        let meta = got[0].clone().unwrap();
        assert_eq!(meta.body_bytes, body);
        assert_eq!(meta.decoded_bytes, Some(1000));
    }

    #[test]
    fn keep_alive_and_connection_headers_are_read() {
        use std::time::Duration;
        let head = |headers: &str| {
            let text = format!("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n{headers}\r\n");
            read_all(text.as_bytes(), &[], false)[0].clone().unwrap()
        };
        let m = head("Keep-Alive: timeout=5, max=100\r\n");
        assert!(m.keep_alive);
        assert_eq!(m.keep_alive_timeout, Some(Duration::from_secs(5)));
        assert_eq!(m.keep_alive_max, Some(100));
        let m = head("keep-alive: MAX=\"3\" ; Timeout=1\r\n");
        assert_eq!(m.keep_alive_timeout, Some(Duration::from_secs(1)));
        assert_eq!(m.keep_alive_max, Some(3));
        let m = head("Keep-Alive: timeout=soon\r\n");
        assert_eq!((m.keep_alive_timeout, m.keep_alive_max), (None, None));
        assert!(!head("Keep-Alive: timeout=5, max=0\r\n").keep_alive);
        assert!(!head("Connection: keep-alive, close\r\n").keep_alive);
        assert!(!head("Connection: Close\r\n").keep_alive);
        assert!(head("Connection: Keep-Alive\r\n").keep_alive);
        assert!(head("").keep_alive);
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
}
