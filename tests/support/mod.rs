//! Helpers shared by the integration test binaries, in one module (each binary
//! declares `mod support;` and uses what it needs):
//!
//! - `creds`: test credentials and AWS clients pointed at a local endpoint;
//! - `moto`: the moto server, started on 127.0.0.1 and reset between tests;
//! - `fake`: a fake AWS endpoint with AWS's real response shapes;
//! - `json`: JSON pointers for the fuzz targets that mutate real documents;
//! - `otlp`: OTLP messages as an exporter sends them.
//!
//! The servers of the load engine's tests are `tests/servers/`, the GitHub stand-in
//! and the results fixtures `tests/common/`.

#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses some of the helpers"
)]

pub mod creds;
pub mod fake;
pub mod json;
pub mod moto;
pub mod otlp;
