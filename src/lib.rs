//! tailgate: a performance regression gate for pull requests.
//!
//! The pipeline (see `docs/architecture.md`): context -> config -> deploy -> bench ->
//! server side -> judge (compare, verdict) -> report -> publish, with teardown on every exit
//! path. Each stage is a module; `main.rs` is a thin shell over [`cli`].

pub mod aws;
pub mod bench;
pub mod cli;
pub mod config;
pub mod context;
pub mod cost;
pub mod demo;
pub mod deploy;
pub mod fingerprint;
pub mod format;
pub mod gate;
pub mod git;
pub mod github;
pub mod history;
pub mod judge;
pub mod progress;
pub mod publish;
pub mod report;
pub mod results;
pub mod server_side;
pub mod shard;
pub mod side;
pub mod stats;
pub mod tls;
pub mod traceparent;
pub mod traces;
