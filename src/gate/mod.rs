//! The gate: one run end to end. `measure` deploys the sides, measures the rounds
//! and judges them, with teardown on every exit path; `rightsize` measures head
//! once per value of a swept template parameter.

pub mod measure;
pub mod rightsize;

pub use measure::{measure, shutdown_signal, write_outputs, PipelineError, RunOptions, RunOutcome};
