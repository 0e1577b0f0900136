//! Response bodies measured decoded: a response's `Content-Encoding` as far as
//! sizes are concerned, and a compressed body kept (bounded) to measure its
//! decoded size. Used by the HTTP/1.1 reader (`h1reader.rs`) and the HTTP/2
//! client (`conn.rs`).

use std::io::Read as _;

use super::outcome::ErrorKind;

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
