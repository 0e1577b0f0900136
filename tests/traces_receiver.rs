//! The run's OTLP/HTTP receiver over real sockets on 127.0.0.1: what a well-behaved
//! exporter sends (protobuf, JSON, gzip) is folded per endpoint, side and round; a
//! broken or hostile one is answered 400/413, counted, said in the notes, and
//! never fails the run.

mod support;

use std::io::Write as _;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use support::otlp::kv;
use tailgate::config::TracesConfig;
use tailgate::side::Side;
use tailgate::traceparent::{self, TraceRef};
use tailgate::traces::Tracing;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// POST `body` to `path` with `headers`; the status code.
async fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &[u8], length: bool) -> u16 {
    let mut s = TcpStream::connect(addr.trim_start_matches("http://"))
        .await
        .expect("connect");
    let mut head = format!("POST {path} HTTP/1.1\r\nhost: collector\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if length {
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        s.write_all(head.as_bytes()).await.unwrap();
        let _ = s.write_all(body).await;
    } else {
        head.push_str("transfer-encoding: chunked\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        for chunk in body.chunks(8192) {
            if s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await
                .is_err()
                || s.write_all(chunk).await.is_err()
                || s.write_all(b"\r\n").await.is_err()
            {
                break;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n").await;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A root span and one statement of `side`'s traced request `seq` in `round`.
fn spans(run: u32, side: Side, round: u32, seq: u32, db_ms: u64) -> Vec<Span> {
    let r = TraceRef {
        endpoint: traceparent::endpoint_hash("GET /orders"),
        side,
        round,
        seq,
    };
    let trace_id = traceparent::trace_id(run, &r).to_vec();
    let root = 10_000 + u64::from(seq);
    vec![
        Span {
            trace_id: trace_id.clone(),
            span_id: root.to_be_bytes().to_vec(),
            parent_span_id: traceparent::parent_id(seq).to_be_bytes().to_vec(),
            name: "GET /orders".into(),
            kind: 2,
            start_time_unix_nano: 0,
            end_time_unix_nano: (db_ms + 1) * 1_000_000,
            ..Default::default()
        },
        Span {
            trace_id,
            span_id: (root + 1).to_be_bytes().to_vec(),
            parent_span_id: root.to_be_bytes().to_vec(),
            name: "SELECT".into(),
            kind: 3,
            start_time_unix_nano: 500_000,
            end_time_unix_nano: 500_000 + db_ms * 1_000_000,
            attributes: vec![
                kv("db.system", "sqlite"),
                kv("db.statement", "SELECT * FROM orders WHERE id = 42"),
            ],
            ..Default::default()
        },
    ]
}

fn export(spans: Vec<Span>) -> ExportTraceServiceRequest {
    support::otlp::export("orders", spans)
}

#[tokio::test]
async fn exports_are_folded_and_hostile_ones_counted_not_fatal() {
    let config = TracesConfig {
        enabled: true,
        max_body: 64 * 1024,
        max_spans: 100,
        grace: Duration::from_secs(5),
        ..TracesConfig::default()
    };
    let tracing = Tracing::start(&config, 2)
        .await
        .expect("the receiver listens");
    let url = tracing.endpoint();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let run = tracing.sampling().run;

    // Protobuf, JSON and gzip: three traced requests per side of round 0.
    let pb = export(spans(run, Side::Base, 0, 0, 1)).encode_to_vec();
    assert_eq!(
        post(
            &url,
            "/v1/traces",
            &[("content-type", "application/x-protobuf")],
            &pb,
            true
        )
        .await,
        200
    );
    let json = serde_json::to_vec(&export(spans(run, Side::Base, 0, 1, 1))).unwrap();
    assert_eq!(
        post(
            &url,
            "/v1/traces",
            &[("content-type", "application/json")],
            &json,
            true
        )
        .await,
        200
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&export(spans(run, Side::Head, 0, 0, 5)).encode_to_vec())
        .unwrap();
    let gz = gz.finish().unwrap();
    assert_eq!(
        post(
            &url,
            "/v1/traces",
            &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "gzip")
            ],
            &gz,
            false
        )
        .await,
        200
    );
    assert_eq!(
        post(
            &url,
            "/v1/traces",
            &[],
            &export(spans(run, Side::Head, 0, 1, 5)).encode_to_vec(),
            false
        )
        .await,
        200
    );

    // Hostile: over the limit (declared, and chunked without a length), a gzip
    // bomb, garbage, another run's spans, a round past the run's.
    let big = vec![0u8; 200 * 1024];
    assert_eq!(post(&url, "/v1/traces", &[], &big, true).await, 413);
    assert_eq!(post(&url, "/v1/traces", &[], &big, false).await, 413);
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![0u8; 4 << 20]).unwrap();
    let bomb = bomb.finish().unwrap();
    assert_eq!(
        post(
            &url,
            "/v1/traces",
            &[("content-encoding", "gzip")],
            &bomb,
            true
        )
        .await,
        413
    );
    assert_eq!(
        post(
            &url,
            "/v1/traces",
            &[],
            b"\x0a\xff\xff\xff\xff\x0f garbage",
            true
        )
        .await,
        400
    );
    assert_eq!(
        post(
            &url,
            "/v1/traces",
            &[("content-type", "application/json")],
            b"{\"resourceSpans\": [",
            true
        )
        .await,
        400
    );
    let other_run = export(spans(run ^ 0xffff, Side::Base, 0, 9, 1)).encode_to_vec();
    assert_eq!(post(&url, "/v1/traces", &[], &other_run, true).await, 200);
    let late_round = export(spans(run, Side::Base, 7, 9, 1)).encode_to_vec();
    assert_eq!(post(&url, "/v1/traces", &[], &late_round, true).await, 200);
    // Metrics of an SDK that exports everything: accepted, not read.
    assert_eq!(post(&url, "/v1/metrics", &[], b"whatever", true).await, 200);

    let results = tracing
        .collect(&["GET /orders".to_string()], Duration::from_millis(200))
        .await;
    let c = results.counts;
    assert_eq!(c.too_large, 3, "{c:?}");
    assert_eq!(c.undecodable, 2, "{c:?}");
    assert_eq!(c.foreign, 4, "{c:?}");
    assert_eq!(c.kept, 8, "{c:?}");
    assert_eq!(c.complete, 4, "{c:?}");
    assert!(
        results
            .notes
            .iter()
            .any(|n| n.contains("over the 64 KiB limit")),
        "{:?}",
        results.notes
    );
    assert!(
        results
            .notes
            .iter()
            .any(|n| n.contains("not OTLP trace exports")),
        "{:?}",
        results.notes
    );
    let orders = results
        .endpoint("GET /orders")
        .expect("the endpoint's rounds");
    assert_eq!(orders.rounds.len(), 2);
    let head = orders.rounds.iter().find(|r| r.side == Side::Head).unwrap();
    assert_eq!(head.spans.traces, 2);
    let q = &head.spans.spans["orders: sqlite SELECT * FROM orders WHERE id = ?"];
    assert_eq!(q.calls, 2);
    assert!((q.total_ms - 10.0).abs() < 1e-6, "{q:?}");
    assert!((head.spans.root_ms - 12.0).abs() < 1e-6);
}
