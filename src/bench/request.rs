//! Requests as the engine sends them: an endpoint rendered for one target, with
//! per-request variables so a benchmark does not hit one cached key forever.
//!
//! Variables may appear in the path, header values and the body:
//! - `{{counter}}`: 0, 1, 2, ... per phase, shared by all connections;
//! - `{{random_id}}`: 16 random hex digits;
//! - `{{item}}`: the next value of the endpoint's value list (round-robin).
//!
//! A request without variables is rendered once; one with variables is rendered
//! into a reusable buffer per request.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::Full;
use rand::Rng;

use super::conn::TargetSpec;
use super::TargetError;
use crate::config::Endpoint;
use crate::side::Side;
use crate::traceparent::{self as trace_id, Sampling, TraceRef};

/// The `traceparent` of a plan: which requests are sampled, and the round they
/// belong to (set by the round loop; none outside the measured rounds).
#[derive(Debug)]
struct PlanTrace {
    sampling: Sampling,
    endpoint: u32,
    side: Side,
    /// The measured round, or [`NO_ROUND`] (warm-up, first request).
    round: AtomicU32,
    /// Requests drawn in this round.
    drawn: AtomicU32,
    /// The constant unsampled value, sent with every other request.
    unsampled: String,
}

const NO_ROUND: u32 = u32::MAX;

impl PlanTrace {
    /// The trace of the next request when it is sampled: a relaxed load, and a
    /// fetch-add only while the round still samples.
    fn draw(&self) -> Option<TraceRef> {
        let round = self.round.load(Ordering::Relaxed);
        if round == NO_ROUND {
            return None;
        }
        let s = &self.sampling;
        let limit = s.per_round.saturating_mul(s.every);
        if self.drawn.load(Ordering::Relaxed) >= limit {
            return None;
        }
        let n = self.drawn.fetch_add(1, Ordering::Relaxed);
        if n >= limit || !n.is_multiple_of(s.every) {
            return None;
        }
        Some(TraceRef {
            endpoint: self.endpoint,
            side: self.side,
            round,
            seq: n / s.every,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Var {
    Counter,
    RandomId,
    Item,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Var),
}

/// A string with `{{variables}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Template(Vec<Piece>);

impl Template {
    fn parse(text: &str) -> Template {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start + 2..].find("}}") else {
                break;
            };
            let name = rest[start + 2..start + 2 + len].trim();
            let var = match name {
                "counter" => Some(Var::Counter),
                "random_id" => Some(Var::RandomId),
                "item" => Some(Var::Item),
                _ => None,
            };
            match var {
                Some(var) => {
                    if start > 0 {
                        pieces.push(Piece::Text(rest[..start].to_string()));
                    }
                    pieces.push(Piece::Var(var));
                }
                None => pieces.push(Piece::Text(rest[..start + 4 + len].to_string())),
            }
            rest = &rest[start + 4 + len..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Template(pieces)
    }

    fn is_static(&self) -> bool {
        self.0.iter().all(|p| matches!(p, Piece::Text(_)))
    }

    fn render_into(&self, out: &mut Vec<u8>, vars: &Values) {
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
                Piece::Var(Var::Counter) => {
                    out.extend_from_slice(vars.counter.to_string().as_bytes())
                }
                Piece::Var(Var::RandomId) => {
                    out.extend_from_slice(format!("{:016x}", vars.random).as_bytes())
                }
                Piece::Var(Var::Item) => out.extend_from_slice(vars.item.as_bytes()),
            }
        }
    }
}

struct Values<'a> {
    counter: u64,
    random: u64,
    item: &'a str,
}

/// An endpoint's request, ready to be sent to one target many times.
#[derive(Debug)]
pub struct RequestPlan {
    method: Method,
    path: Template,
    headers: Vec<(HeaderName, Template)>,
    body: Template,
    items: Vec<String>,
    counter: AtomicU64,
    /// Pre-rendered HTTP/1.1 bytes when nothing varies.
    fixed: Option<Bytes>,
    authority: HeaderValue,
    scheme: &'static str,
    base_path: String,
    expect: Vec<u16>,
    /// Whether to decode compressed bodies to measure their decoded size.
    pub decode: bool,
    /// Whether the method is HEAD (no response body).
    pub head: bool,
    /// Whether the request may be sent twice with the effect of once (an
    /// idempotent method or an `Idempotency-Key`): a written request that met a
    /// stale keep-alive connection is replayed only then (`bench::keepalive`).
    pub idempotent: bool,
    /// The `traceparent` sent, when traces are on.
    trace: Option<PlanTrace>,
    /// Where the `traceparent` value starts in `fixed`.
    trace_at: usize,
}

/// One rendered request: HTTP/1.1 bytes and the parts for HTTP/2.
#[derive(Debug)]
pub struct Rendered<'a> {
    /// The complete HTTP/1.1 request.
    pub h1: &'a [u8],
    /// Request body length.
    pub body_len: usize,
    /// The sampled trace it belongs to, when it is one.
    pub trace: Option<TraceRef>,
}

impl RequestPlan {
    /// Plan `endpoint` for `target`, with `items` for `{{item}}`; with `trace`, a
    /// `traceparent` on every request (sampled as `trace` says, for that side).
    pub fn new(
        endpoint: &Endpoint,
        target: &TargetSpec,
        items: Vec<String>,
        trace: Option<(Sampling, Side)>,
    ) -> Result<Arc<RequestPlan>, TargetError> {
        let full = format!("{}{}", target.base_path, endpoint.path);
        let path = Template::parse(&full);
        let mut probe = Vec::new();
        path.render_into(
            &mut probe,
            &Values {
                counter: 0,
                random: 0,
                item: items.first().map_or("x", |s| s.as_str()),
            },
        );
        let probe_text = String::from_utf8_lossy(&probe).into_owned();
        probe_text.parse::<Uri>().map_err(|_| TargetError::BadUrl {
            url: full.clone(),
            reason: "the endpoint path does not form a valid URL".into(),
        })?;
        let headers: Vec<(HeaderName, Template)> = endpoint
            .headers
            .iter()
            .filter(|(name, _)| *name != HOST && *name != CONTENT_LENGTH)
            .filter(|(name, _)| trace.is_none() || name.as_str() != trace_id::HEADER)
            .map(|(name, value)| {
                (
                    name.clone(),
                    Template::parse(&String::from_utf8_lossy(value.as_bytes())),
                )
            })
            .collect();
        let authority = endpoint
            .headers
            .get(HOST)
            .cloned()
            .unwrap_or_else(|| target.authority.clone());
        let body = Template::parse(&String::from_utf8_lossy(
            endpoint.body.as_deref().unwrap_or_default(),
        ));
        let decode = endpoint
            .headers
            .get(http::header::ACCEPT_ENCODING)
            .is_some();
        let mut plan = RequestPlan {
            method: endpoint.method.clone(),
            path,
            headers,
            body,
            items: if items.is_empty() {
                vec![String::new()]
            } else {
                items
            },
            counter: AtomicU64::new(0),
            fixed: None,
            authority,
            scheme: target.scheme,
            base_path: target.base_path.clone(),
            expect: endpoint.expect_status.clone(),
            decode,
            head: endpoint.method == Method::HEAD,
            idempotent: super::keepalive::is_idempotent(&endpoint.method, &endpoint.headers),
            trace: trace.map(|(sampling, side)| PlanTrace {
                sampling,
                endpoint: trace_id::endpoint_hash(&endpoint.name),
                side,
                round: AtomicU32::new(NO_ROUND),
                drawn: AtomicU32::new(0),
                unsampled: trace_id::unsampled(sampling.run),
            }),
            trace_at: 0,
        };
        if plan.path.is_static()
            && plan.body.is_static()
            && plan.headers.iter().all(|(_, t)| t.is_static())
        {
            let mut buf = Vec::new();
            let (_, at) = plan.render_h1(&mut buf, 0, 0);
            plan.trace_at = at;
            plan.fixed = Some(Bytes::from(buf));
        }
        Ok(Arc::new(plan))
    }

    /// Whether `status` counts as success.
    pub fn is_expected(&self, status: u16) -> bool {
        crate::config::status_expected(&self.expect, status)
    }

    fn values(&self, counter: u64, random: u64) -> Values<'_> {
        Values {
            counter,
            random,
            item: &self.items[(counter % self.items.len() as u64) as usize],
        }
    }

    /// Sample the requests of measured round `round` (`None`: none sampled, as in
    /// the warm-up); the round's count starts again.
    pub fn trace_round(&self, round: Option<u32>) {
        if let Some(t) = &self.trace {
            t.drawn.store(0, Ordering::Relaxed);
            t.round.store(
                round.map_or(NO_ROUND, |r| r.min(NO_ROUND - 1)),
                Ordering::Relaxed,
            );
        }
    }

    /// Render into `out`: the body length and where the `traceparent` value
    /// starts (0 without one).
    fn render_h1(&self, out: &mut Vec<u8>, counter: u64, random: u64) -> (usize, usize) {
        let vars = self.values(counter, random);
        out.clear();
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        self.path.render_into(out, &vars);
        out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        out.extend_from_slice(self.authority.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            value.render_into(out, &vars);
            out.extend_from_slice(b"\r\n");
        }
        let mut trace_at = 0;
        if let Some(t) = &self.trace {
            out.extend_from_slice(trace_id::HEADER.as_bytes());
            out.extend_from_slice(b": ");
            trace_at = out.len();
            out.extend_from_slice(t.unsampled.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let mut body = Vec::new();
        self.body.render_into(&mut body, &vars);
        if !body.is_empty() || matches!(self.method, Method::POST | Method::PUT | Method::PATCH) {
            out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&body);
        (body.len(), trace_at)
    }

    /// Render the next request into `scratch` (or use the pre-rendered bytes; a
    /// sampled request copies them and writes its `traceparent` in place).
    pub fn next<'a>(&'a self, scratch: &'a mut Vec<u8>) -> (Rendered<'a>, u64, u64) {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        let trace = self.trace.as_ref().and_then(PlanTrace::draw);
        if let Some(fixed) = &self.fixed {
            let body_len = self
                .body
                .0
                .iter()
                .map(|p| match p {
                    Piece::Text(t) => t.len(),
                    Piece::Var(_) => 0,
                })
                .sum();
            let h1: &[u8] = match (&trace, &self.trace) {
                (Some(r), Some(t)) => {
                    scratch.clear();
                    scratch.extend_from_slice(fixed);
                    let at = self.trace_at;
                    trace_id::write_sampled(
                        &mut scratch[at..at + trace_id::VALUE_LEN],
                        t.sampling.run,
                        r,
                    );
                    scratch
                }
                _ => fixed,
            };
            return (
                Rendered {
                    h1,
                    body_len,
                    trace,
                },
                counter,
                0,
            );
        }
        let random = rand::thread_rng().gen::<u64>();
        let (body_len, at) = self.render_h1(scratch, counter, random);
        if let (Some(r), Some(t)) = (&trace, &self.trace) {
            trace_id::write_sampled(
                &mut scratch[at..at + trace_id::VALUE_LEN],
                t.sampling.run,
                r,
            );
        }
        (
            Rendered {
                h1: scratch,
                body_len,
                trace,
            },
            counter,
            random,
        )
    }

    /// The same request as an `http::Request` for HTTP/2.
    pub fn h2_request(
        &self,
        counter: u64,
        random: u64,
        trace: Option<&TraceRef>,
    ) -> Request<Full<Bytes>> {
        let vars = self.values(counter, random);
        let mut path = Vec::new();
        self.path.render_into(&mut path, &vars);
        let uri = format!(
            "{}://{}{}",
            self.scheme,
            String::from_utf8_lossy(self.authority.as_bytes()),
            String::from_utf8_lossy(&path)
        );
        let mut body = Vec::new();
        self.body.render_into(&mut body, &vars);
        let mut headers = HeaderMap::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let mut v = Vec::new();
            value.render_into(&mut v, &vars);
            if let Ok(v) = HeaderValue::from_bytes(&v) {
                headers.append(name.clone(), v);
            }
        }
        if let Some(t) = &self.trace {
            let value = match trace {
                Some(r) => {
                    let mut out = [0u8; trace_id::VALUE_LEN];
                    trace_id::write_sampled(&mut out, t.sampling.run, r);
                    HeaderValue::from_bytes(&out).ok()
                }
                None => HeaderValue::from_str(&t.unsampled).ok(),
            };
            if let Some(v) = value {
                headers.insert(HeaderName::from_static(trace_id::HEADER), v);
            }
        }
        let mut req = Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = uri.parse().unwrap_or_else(|_| Uri::from_static("/"));
        *req.headers_mut() = headers;
        *req.version_mut() = http::Version::HTTP_2;
        req
    }

    /// The base path prefix of the target (for reports).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(path: &str) -> Endpoint {
        use crate::config::{HttpVersion, Load, Profile};
        Endpoint {
            name: "GET /x".into(),
            method: Method::GET,
            path: path.into(),
            headers: HeaderMap::new(),
            body: None,
            expect_status: Vec::new(),
            items: Vec::new(),
            load: Load {
                profile: Profile::Closed { connections: 1 },
                duration: None,
                requests: None,
                warmup: std::time::Duration::ZERO,
                timeout: std::time::Duration::from_secs(1),
                http: HttpVersion::Http1,
            },
            slo: Default::default(),
            budget: Default::default(),
        }
    }

    /// The `traceparent` value of a rendered HTTP/1.1 request.
    fn traceparent(h1: &[u8]) -> String {
        let text = String::from_utf8_lossy(h1);
        text.lines()
            .find_map(|l| l.strip_prefix("traceparent: "))
            .unwrap_or_default()
            .to_string()
    }

    #[tokio::test]
    async fn a_round_samples_per_round_requests_and_flags_the_rest_unsampled() {
        let spec = TargetSpec::resolve(
            "http://127.0.0.1:9",
            crate::config::HttpVersion::Http1,
            &Default::default(),
        )
        .await
        .unwrap();
        let sampling = Sampling {
            run: 0xabcd_0001,
            per_round: 3,
            every: 2,
        };
        // Fixed bytes (no variable) and a rendered path alike.
        for path in ["/x", "/x/{{counter}}"] {
            let plan = RequestPlan::new(
                &endpoint(path),
                &spec,
                Vec::new(),
                Some((sampling, Side::Head)),
            )
            .unwrap();
            let mut scratch = Vec::new();
            // Outside a round (the warm-up): unsampled.
            let (r, _, _) = plan.next(&mut scratch);
            assert!(r.trace.is_none());
            assert_eq!(traceparent(r.h1), trace_id::unsampled(sampling.run));
            plan.trace_round(Some(5));
            let mut sampled = Vec::new();
            for _ in 0..20 {
                let (r, _, _) = plan.next(&mut scratch);
                let value = traceparent(r.h1);
                assert_eq!(value.len(), trace_id::VALUE_LEN);
                match r.trace {
                    Some(t) => {
                        assert!(value.ends_with("-01"), "{value}");
                        assert_eq!((t.round, t.side), (5, Side::Head));
                        assert_eq!(t.endpoint, trace_id::endpoint_hash("GET /x"));
                        let id = (0..16)
                            .map(|i| u8::from_str_radix(&value[3 + 2 * i..5 + 2 * i], 16).unwrap())
                            .collect::<Vec<u8>>();
                        assert_eq!(trace_id::parse(sampling.run, &id), Some(t));
                        sampled.push(t.seq);
                    }
                    None => assert!(value.ends_with("-00"), "{value}"),
                }
            }
            // One in `every`, `per_round` of them.
            assert_eq!(sampled, vec![0, 1, 2]);
            plan.trace_round(None);
            assert!(plan.next(&mut scratch).0.trace.is_none());
            // HTTP/2 carries the same header.
            let h2 = plan.h2_request(0, 0, None);
            assert_eq!(
                h2.headers()["traceparent"].to_str().unwrap(),
                trace_id::unsampled(sampling.run)
            );
        }
        // Off: no header at all.
        let plan = RequestPlan::new(&endpoint("/x"), &spec, Vec::new(), None).unwrap();
        let mut scratch = Vec::new();
        plan.trace_round(Some(0));
        assert_eq!(traceparent(plan.next(&mut scratch).0.h1), "");
    }

    #[test]
    fn templates_split_known_variables_only() {
        let t = Template::parse("/users/{{counter}}?x={{nope}}&id={{ random_id }}");
        assert_eq!(
            t.0,
            vec![
                Piece::Text("/users/".into()),
                Piece::Var(Var::Counter),
                Piece::Text("?x={{nope}}".into()),
                Piece::Text("&id=".into()),
                Piece::Var(Var::RandomId),
            ]
        );
        assert!(Template::parse("/plain").is_static());
    }

    #[test]
    fn renders_counter_and_items() {
        let t = Template::parse("/u/{{item}}/{{counter}}");
        let mut out = Vec::new();
        t.render_into(
            &mut out,
            &Values {
                counter: 7,
                random: 0,
                item: "ada",
            },
        );
        assert_eq!(out, b"/u/ada/7");
    }
}
