//! The demo's sample service, in two variants.
//!
//! It retells the classic serverless tuning story:
//! - `GET /orders` makes three ~30 ms downstream calls. Base makes them one after
//!   another (~90 ms); head makes them in parallel (~30 ms): head is ~3x faster.
//! - `GET /users/{id}` is served from a cache in base (99.5 % hits, a miss costs a
//!   ~12 ms database read). Head lost the cache: every request reads the database.
//! - `POST /items` does ~4 ms of work in both variants: unchanged.
//! - `GET /healthz` answers 200 (the readiness probe).
//!
//! Every response carries a `Server-Timing` header saying where the time went.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rand::Rng;
use tokio::net::TcpListener;

use crate::side::Side;

/// Which variant of the service to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant(pub Side);

/// A running in-process sample service.
#[derive(Debug)]
pub struct SampleService {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl SampleService {
    /// Bind `addr` (port 0 for any free port) and serve `variant` in the background.
    pub async fn start(addr: SocketAddr, variant: Variant) -> std::io::Result<SampleService> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener, variant));
        Ok(SampleService { addr, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SampleService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accept connections until the task is dropped.
pub async fn serve(listener: TcpListener, variant: Variant) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, variant));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A simulated downstream call of about `ms` milliseconds (±10 %), timed.
async fn downstream(ms: f64) -> f64 {
    let jitter = rand::thread_rng().gen_range(0.9..1.1);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(ms * jitter / 1000.0)).await;
    start.elapsed().as_secs_f64() * 1000.0
}

async fn handle(
    req: Request<Incoming>,
    Variant(side): Variant,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let started = Instant::now();
    let (status, body, timing) = match (method.as_str(), path.as_str()) {
        ("GET", "/healthz") => (StatusCode::OK, "ok".to_string(), String::new()),
        ("GET", "/orders") => {
            let (user, orders, prefs) = match side {
                Side::Base => {
                    let user = downstream(30.0).await;
                    let orders = downstream(30.0).await;
                    let prefs = downstream(30.0).await;
                    (user, orders, prefs)
                }
                Side::Head => tokio::join!(downstream(30.0), downstream(30.0), downstream(30.0)),
            };
            (
                StatusCode::OK,
                r#"{"orders":[{"id":1},{"id":2}]}"#.to_string(),
                format!(
                    "db.user;dur={user:.1}, db.orders;dur={orders:.1}, db.prefs;dur={prefs:.1}"
                ),
            )
        }
        ("GET", p) if p.starts_with("/users/") => {
            let id = p.trim_start_matches("/users/").to_string();
            let hit = side == Side::Base && rand::thread_rng().gen_bool(0.995);
            let timing = if hit {
                // The lookup as really timed (no made-up offset), so it stays a
                // part of `total`.
                let start = Instant::now();
                std::hint::black_box(id.len());
                let cache = start.elapsed().as_secs_f64() * 1000.0;
                format!("cache;desc=\"hit\";dur={cache:.2}")
            } else {
                let db = downstream(12.0).await;
                match side {
                    Side::Base => format!("cache;desc=\"miss\";dur=0.10, db;dur={db:.1}"),
                    Side::Head => format!("db;dur={db:.1}"),
                }
            };
            (
                StatusCode::OK,
                format!(r#"{{"id":"{id}","name":"Ada"}}"#),
                timing,
            )
        }
        ("POST", "/items") => {
            let size = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes().len())
                .unwrap_or(0);
            let work = downstream(4.0).await;
            (
                StatusCode::CREATED,
                format!(r#"{{"stored":{size}}}"#),
                format!("work;dur={work:.1}"),
            )
        }
        _ => (
            StatusCode::NOT_FOUND,
            "not found".to_string(),
            String::new(),
        ),
    };
    let total = started.elapsed().as_secs_f64() * 1000.0;
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    let timing = if timing.is_empty() {
        format!("total;dur={total:.2}")
    } else {
        format!("{timing}, total;dur={total:.2}")
    };
    builder = builder.header("server-timing", timing);
    Ok(builder
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))))
}
