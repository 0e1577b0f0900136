//! One OTLP/HTTP trace export body to its spans: protobuf or JSON
//! (<https://opentelemetry.io/docs/specs/otlp/#otlphttp>), plain or gzip, never
//! more than a limit of bytes decompressed. Outside input: every failure is a
//! value, never a panic, and nothing grows past the limit.

use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body (or what it decompresses to) is over the limit.
    #[error("the body is over {limit} bytes (decompressed)")]
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// A `Content-Encoding` other than gzip or identity.
    #[error("unsupported Content-Encoding {0:?} (gzip or none)")]
    Encoding(String),
    /// The gzip stream is broken.
    #[error("the gzip body is broken: {0}")]
    Gzip(String),
    /// Not an `ExportTraceServiceRequest` in protobuf.
    #[error("not an OTLP protobuf trace export: {0}")]
    Protobuf(String),
    /// Not an `ExportTraceServiceRequest` in OTLP/JSON.
    #[error("not an OTLP/JSON trace export: {0}")]
    Json(String),
}

/// Whether `content_type` is OTLP/JSON (else protobuf is assumed, the default of
/// the OTLP/HTTP exporters).
pub fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// Decode one export `body` sent with `content_type` and `content_encoding`,
/// decompressing at most `limit` bytes.
pub fn decode(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limit: usize,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    if body.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    let inflated;
    let bytes: &[u8] = match content_encoding.map(|e| e.trim().to_ascii_lowercase()) {
        None => body,
        Some(e) if e.is_empty() || e == "identity" => body,
        Some(e) if e == "gzip" || e == "x-gzip" => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
            flate2::read::MultiGzDecoder::new(body)
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| DecodeError::Gzip(e.to_string()))?;
            if out.len() > limit {
                return Err(DecodeError::TooLarge { limit });
            }
            inflated = out;
            &inflated
        }
        Some(e) => {
            return Err(DecodeError::Encoding(
                crate::traces::key::cut(&e, 40).into(),
            ))
        }
    };
    if is_json(content_type) {
        serde_json::from_slice(bytes).map_err(|e| DecodeError::Json(e.to_string()))
    } else {
        ExportTraceServiceRequest::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    use super::*;

    fn request() -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        name: "GET /x".into(),
                        start_time_unix_nano: 1,
                        end_time_unix_nano: 2,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn protobuf_json_and_gzip_decode_alike() {
        let req = request();
        let pb = req.encode_to_vec();
        assert_eq!(decode(&pb, None, None, 1 << 20).unwrap(), req);
        let json = serde_json::to_vec(&req).unwrap();
        assert_eq!(
            decode(
                &json,
                Some("application/json; charset=utf-8"),
                None,
                1 << 20
            )
            .unwrap(),
            req
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&pb).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decode(&gz, None, Some("gzip"), 1 << 20).unwrap(), req);
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 8 << 20]).unwrap();
        let gz = gz.finish().unwrap();
        assert!(gz.len() < 64 << 10);
        assert_eq!(
            decode(&gz, None, Some("gzip"), 1 << 20),
            Err(DecodeError::TooLarge { limit: 1 << 20 })
        );
        assert!(matches!(
            decode(b"\x1f\x8b broken", None, Some("gzip"), 100),
            Err(DecodeError::Gzip(_))
        ));
        assert!(matches!(
            decode(b"x", None, Some("br"), 100),
            Err(DecodeError::Encoding(_))
        ));
        assert!(matches!(
            decode(b"{", Some("application/json"), None, 100),
            Err(DecodeError::Json(_))
        ));
    }
}
