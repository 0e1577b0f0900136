//! tailgate: a performance regression gate for pull requests.
//!
//! The pipeline (see `DESIGN.md`): context -> config -> deploy -> bench -> compare ->
//! verdict -> report -> publish, with teardown on every exit path. Each stage is a
//! module; `main.rs` is a thin shell over [`cli`].

pub mod config;
pub mod deploy;
pub mod side;
pub mod stats;
