//! Statistics: is head slower than base, and how sure are we?
//!
//! Pure functions over measured rounds: no I/O, no clock, no async. The input is, per
//! endpoint, R paired rounds ([`PairedRounds`]); each (round, side) carries the
//! latencies of its successful requests (its HdrHistogram in compact form, see
//! [`RoundObs::from_histogram`]) and its request, error and elapsed-time counters.
//!
//! # Why rounds, not requests
//!
//! Requests are not independent: GC pauses, noisy neighbours and stalls hit bursts of
//! them, and a machine or a cloud drifts over minutes. Pooling requests and treating
//! them as independent understates the noise many times over and produces gates that
//! fail docs-only commits. The unit of replication is therefore the *round*: base and
//! head are measured back to back in each round (BH or HB), so what drifts between
//! rounds hits both sides, and rounds are what gets resampled.
//!
//! # Estimates
//!
//! Per side ([`SideSummary`]): p50/p95/p99/p99.9 (nearest rank), mean and max of the
//! merged rounds; error rate `Σ errors / Σ requests`; throughput
//! `Σ (requests − errors) / Σ elapsed`. Each side's rounds are merged once into
//! value-sorted events with per-round cumulative counts at checkpoints (see
//! `engine.rs`), so percentiles of any weighting of the rounds are cheap.

mod engine;
mod input;
mod summary;

pub use input::{Metric, PairedRounds, Percentile, RoundCounters, RoundObs, Scale, StatsError};
pub use summary::{summarize, LatencySummary, SideSummary};
