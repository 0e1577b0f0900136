//! The engine's two HTTP/1.1 drivers, and a raw server for each: the tests that
//! hold for both (faults, kept connections) run once per [`Driver`].

use tailgate::bench::TlsOptions;

use super::{Raw, RawServer, TestCa};

/// Which of the engine's drivers serves the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// Plain TCP: the epoll event loop (`evloop.rs` + `h1reader.rs`).
    EventLoop,
    /// TLS: the async client (`http1.rs`).
    Async,
}

/// Both drivers.
pub const DRIVERS: [Driver; 2] = [Driver::EventLoop, Driver::Async];

/// A raw server for a driver, with the client's TLS options.
pub struct Target {
    /// The server.
    pub server: RawServer,
    /// What the client trusts (the test CA for TLS).
    pub tls: TlsOptions,
    _dir: Option<tempfile::TempDir>,
}

/// Serve `raw` for `driver`: plain TCP, or TLS with a fresh test CA.
pub fn serve_raw(raw: Raw, driver: Driver) -> Target {
    match driver {
        Driver::EventLoop => Target {
            server: RawServer::start(raw),
            tls: TlsOptions::default(),
            _dir: None,
        },
        Driver::Async => {
            let ca = TestCa::new();
            let dir = tempfile::tempdir().expect("temp dir");
            let ca_file = ca.write_ca(dir.path(), "ca.pem");
            Target {
                server: RawServer::start_tls(raw, &ca),
                tls: TlsOptions {
                    ca_file: Some(ca_file),
                    insecure: false,
                },
                _dir: Some(dir),
            }
        }
    }
}
