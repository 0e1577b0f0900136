//! An incremental HTTP/1.1 response reader for the event loop (`evloop.rs`).
//!
//! Bytes are fed as they arrive, in pieces of any size; the reader consumes what
//! it can and says when a response is complete. Only an incomplete head or
//! chunk-size line is left unconsumed (for the caller to keep and feed again with
//! more bytes); body bytes are counted and dropped as they come, so memory does
//! not grow with the body. The head is parsed by the same function as the async
//! client's (`http1::parse_head`), so both paths read responses alike.

use super::http1::{
    find_crlf, parse_chunk_size, parse_head, BodyKind, Coding, KeptBody, ResponseMeta,
    MAX_HEAD_BYTES,
};
use super::record::ErrorKind;

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
                    // The last two bytes of a chunk are its CRLF, not data.
                    let data = take.min(left.saturating_sub(2) as usize);
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn a_compressed_body_too_large_to_keep_is_counted_not_kept() {
        let big = super::super::http1::MAX_KEPT_BODY * 3 + 1000;
        let mut resp =
            format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {big}\r\n\r\n")
                .into_bytes();
        resp.resize(resp.len() + big, b'x');
        let got = read_all(&resp, &[100_000, 2_000_000], false);
        let meta = got[0].clone().unwrap();
        assert_eq!(meta.body_bytes, big as u64);
        assert_eq!(meta.decoded_bytes, None, "its decoded size is unknown");
    }

    #[test]
    fn gzip_bodies_are_measured_decoded_across_reads() {
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
        let got = read_all(&resp, &[50, 70], false);
        let meta = got[0].clone().unwrap();
        assert_eq!(meta.body_bytes, gz.len() as u64);
        assert_eq!(meta.decoded_bytes, Some(1000));
    }
}
