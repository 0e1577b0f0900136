//! Fuzzing the HTTP/1.1 response reader (heads, chunk-size lines, trailers, bodies
//! split across reads), as the event loop drives it.
//!
//! Properties: (1) a stream of well-formed responses (any status, headers, bodies
//! framed by `Content-Length`, `chunked` with extensions and trailers, or the
//! close), cut into pieces of any size, reads back as exactly those responses;
//! (2) no input makes it panic or loop: arbitrary bytes, and well-formed streams
//! with random edits (huge and garbage chunk sizes, broken heads, cut bodies).
//!
//! `cargo test --test fuzz_http` runs 10,000 cases per property; the ignored
//! `fuzz_one_million` runs 1,000,000: `scripts/fuzz.sh` (release build).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tailgate::bench::fuzz::read_responses;

/// One response as written, and what the reader must report for it.
#[derive(Debug, Clone)]
struct Written {
    bytes: Vec<u8>,
    status: u16,
    body: u64,
}

#[derive(Debug, Clone)]
enum Framing {
    Length,
    Chunked(Vec<usize>, bool),
}

fn header() -> impl Strategy<Value = (String, String)> {
    (
        "[A-Za-z][A-Za-z0-9-]{0,20}".prop_filter("framing headers are chosen below", |n| {
            let n = n.to_ascii_lowercase();
            n != "content-length"
                && n != "transfer-encoding"
                && n != "connection"
                && n != "content-encoding"
        }),
        "[ -~]{0,40}".prop_map(|v| v.trim().to_string()),
    )
}

fn response() -> impl Strategy<Value = Written> {
    (
        // 204 and 304 carry no body whatever their headers say (RFC 9112 §6.3).
        (200u16..600).prop_filter("no-body statuses", |s| *s != 204 && *s != 304),
        prop::collection::vec(header(), 0..6),
        0usize..300,
        prop_oneof![
            Just(Framing::Length),
            (prop::collection::vec(1usize..80, 0..5), any::<bool>())
                .prop_map(|(sizes, upper)| Framing::Chunked(sizes, upper)),
        ],
        any::<bool>(),
    )
        .prop_map(|(status, headers, len, framing, interim)| {
            let mut out = Vec::new();
            if interim {
                out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            out.extend_from_slice(format!("HTTP/1.1 {status} X\r\n").as_bytes());
            for (name, value) in &headers {
                out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            let body: u64 = match framing {
                Framing::Length => {
                    out.extend_from_slice(format!("Content-Length: {len}\r\n\r\n").as_bytes());
                    out.extend(std::iter::repeat_n(b'a', len));
                    len as u64
                }
                Framing::Chunked(sizes, upper) => {
                    out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                    for (i, size) in sizes.iter().enumerate() {
                        let hex = if upper {
                            format!("{size:X}")
                        } else {
                            format!("{size:x}")
                        };
                        let ext = if i % 2 == 1 { ";ext=\"v\"" } else { "" };
                        out.extend_from_slice(format!("{hex}{ext}\r\n").as_bytes());
                        out.extend(std::iter::repeat_n(b'b', *size));
                        out.extend_from_slice(b"\r\n");
                    }
                    out.extend_from_slice(b"0\r\n");
                    if upper {
                        out.extend_from_slice(b"X-Trailer: 1\r\n");
                    }
                    out.extend_from_slice(b"\r\n");
                    sizes.iter().sum::<usize>() as u64
                }
            };
            Written {
                bytes: out,
                status,
                body,
            }
        })
}

fn stream() -> impl Strategy<Value = (Vec<Written>, usize)> {
    (prop::collection::vec(response(), 1..5), 1usize..97)
}

/// Well-formed streams with 1 to 4 random edits.
fn mutated() -> impl Strategy<Value = (Vec<u8>, usize)> {
    (
        stream(),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..5, any::<u8>()), 1..5),
    )
        .prop_map(|((responses, piece), edits)| {
            let mut bytes: Vec<u8> = responses.into_iter().flat_map(|r| r.bytes).collect();
            for (at, op, byte) in edits {
                let i = at.index(bytes.len().max(1)).min(bytes.len());
                match op {
                    0 if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    1 => bytes.insert(i, byte),
                    2 if i < bytes.len() => bytes[i] = byte,
                    3 => {
                        // A hostile chunk size or length where the edit lands.
                        let huge: &[u8] = match byte % 4 {
                            0 => b"ffffffffffffffff\r\n",
                            1 => b"10000000000000000\r\n",
                            2 => b"Content-Length: 18446744073709551615\r\n",
                            _ => b"-1\r\n",
                        };
                        bytes.splice(i..i, huge.iter().copied());
                    }
                    _ => bytes.truncate(i),
                }
            }
            (bytes, piece)
        })
}

fn any_input() -> impl Strategy<Value = (Vec<u8>, usize)> {
    prop_oneof![
        (prop::collection::vec(any::<u8>(), 0..400), 1usize..64),
        mutated(),
    ]
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn well_formed_streams_read_back_exactly() {
    runner(10_000)
        .run(&stream(), |(responses, piece)| {
            let bytes: Vec<u8> = responses.iter().flat_map(|r| r.bytes.clone()).collect();
            let (read, end) = read_responses(&bytes, piece, false);
            prop_assert_eq!(end, Ok(()));
            prop_assert_eq!(read.len(), responses.len());
            for (got, want) in read.iter().zip(&responses) {
                prop_assert_eq!(got.status, want.status);
                prop_assert_eq!(got.body_bytes, want.body);
            }
            let wire: u64 = read.iter().map(|m| m.wire_bytes).sum();
            // Interim 100 Continue heads are read but not counted in a response.
            prop_assert!(wire <= bytes.len() as u64);
            Ok(())
        })
        .unwrap();
}

fn never_panics(cases: u32) {
    runner(cases)
        .run(&any_input(), |(bytes, piece)| {
            let (read, _end) = read_responses(&bytes, piece, true);
            // Never more responses than bytes, never more body than was sent.
            prop_assert!(read.len() <= bytes.len());
            let body: u64 = read.iter().map(|m| m.body_bytes).sum();
            prop_assert!(body <= bytes.len() as u64);
            Ok(())
        })
        .unwrap();
}

#[test]
fn no_input_panics_10k() {
    never_panics(10_000);
}

#[test]
fn hostile_chunk_sizes_are_body_errors() {
    for size in [
        "ffffffffffffffff",
        "fffffffffffffffe",
        "10000000000000000",
        "-1",
        "0x10",
        "zz",
        &"f".repeat(1000),
    ] {
        let stream = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nabc");
        let (read, end) = read_responses(stream.as_bytes(), 7, false);
        assert!(read.is_empty(), "{size}");
        assert!(end.is_err(), "{size}: {end:?}");
    }
    // A head longer than the reader keeps is a protocol error, not a growing buffer.
    let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
    while huge.len() < 200_000 {
        huge.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let (read, end) = read_responses(&huge, 4096, false);
    assert!(read.is_empty());
    assert_eq!(end, Err(tailgate::bench::ErrorKind::Protocol));
}

/// 1,000,000 inputs. Slow in a debug build: `scripts/fuzz.sh` runs it in release.
#[test]
#[ignore = "1,000,000 inputs: scripts/fuzz.sh"]
fn fuzz_one_million() {
    never_panics(1_000_000);
}
