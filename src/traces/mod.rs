//! Why from traces: the run's OTLP/HTTP receiver, the `traceparent`s the engine
//! sends, and the spans folded per endpoint, side and round.
//!
//! 1. Before the sides are deployed, [`Tracing::start`] binds the receiver
//!    (`traces.listen`, `127.0.0.1:0` by default) and draws the run's tag.
//! 2. The `local` and `command` deployers pass each side's process
//!    `OTEL_EXPORTER_OTLP_ENDPOINT` and friends ([`Tracing::export`]); a `url`
//!    target's team points its exporter at `traces.listen` themselves.
//! 3. The engine sends a sampled W3C `traceparent` on up to `per_round` requests
//!    of each round, endpoint and side ([`Sampling`], [`id`]), and an unsampled one
//!    on the rest, so the side, round and endpoint of every span are in its trace
//!    id.
//! 4. After the last round [`Tracing::collect`] waits for the last batches (the
//!    grace period, shorter once exports stop), closes the receiver and folds the
//!    spans into [`crate::results::TracesResults`]; the comparison is the pure
//!    [`crate::stats::compare_spans`].
//!
//! Nothing here fails a run: a receiver that cannot bind is a warning, and what an
//! exporter sends wrong is counted and said in the report's traces section.

pub mod decode;
pub mod key;
mod receiver;
pub mod store;

use std::collections::BTreeMap;
use std::time::Duration;

pub use receiver::{Receiver, DECODING};

use crate::config::TracesConfig;
pub use crate::deploy::TraceExport as Export;
use crate::results::{TracedEndpoint, TracedRound, TracesResults};
use crate::traceparent as id;
pub use crate::traceparent::Sampling;

/// The traces of one run: its receiver and sampling.
#[derive(Debug)]
pub struct Tracing {
    receiver: Receiver,
    config: TracesConfig,
    run: u32,
}

impl Tracing {
    /// Bind the receiver for a run of `rounds` rounds.
    pub async fn start(config: &TracesConfig, rounds: u32) -> std::io::Result<Tracing> {
        let run = rand::random::<u32>() | 1;
        let receiver = Receiver::start(
            config.listen,
            run,
            rounds,
            config.max_spans as usize,
            config.max_body,
        )
        .await?;
        Ok(Tracing {
            receiver,
            config: config.clone(),
            run,
        })
    }

    /// The receiver's OTLP endpoint.
    pub fn endpoint(&self) -> String {
        self.receiver.endpoint()
    }

    /// What the side processes are told.
    pub fn export(&self) -> Export {
        Export {
            endpoint: self.endpoint(),
            run: format!("{:08x}", self.run),
        }
    }

    /// What the engine needs.
    pub fn sampling(&self) -> Sampling {
        Sampling {
            run: self.run,
            per_round: self.config.per_round,
            every: self.config.every,
        }
    }

    /// After the last round: wait for the last spans (at most the grace period,
    /// less once no export came for `quiet`), close the receiver and fold the
    /// spans of `endpoints` (by name).
    pub async fn collect(&self, endpoints: &[String], quiet: Duration) -> TracesResults {
        self.receiver.measuring_done();
        let waited = self.receiver.settle(self.config.grace, quiet).await;
        let endpoint = self.endpoint();
        let mut store = self.receiver.close();
        let folded = store.fold();
        let counts = store.counts;
        let names: BTreeMap<u32, &String> = endpoints
            .iter()
            .map(|n| (id::endpoint_hash(n), n))
            .collect();
        let mut by_name: BTreeMap<&String, Vec<TracedRound>> = BTreeMap::new();
        for ((hash, side, round), spans) in folded {
            if let Some(name) = names.get(&hash) {
                by_name
                    .entry(name)
                    .or_default()
                    .push(TracedRound { round, side, spans });
            }
        }
        let notes = notes(&counts, &self.config, waited);
        TracesResults {
            endpoint,
            per_round: self.config.per_round,
            counts,
            notes,
            endpoints: endpoints
                .iter()
                .filter_map(|n| {
                    let rounds = by_name.remove(n)?;
                    Some(TracedEndpoint {
                        name: n.clone(),
                        rounds,
                    })
                })
                .collect(),
        }
    }
}

/// What was dropped, refused or late, in words.
fn notes(c: &crate::results::TraceCounts, config: &TracesConfig, waited: Duration) -> Vec<String> {
    let mut notes = Vec::new();
    let n = crate::format::thousands;
    if c.spans == 0 && c.too_large == 0 && c.undecodable == 0 {
        notes.push(
            "no spans arrived: is the service instrumented with OpenTelemetry, and does its exporter send OTLP/HTTP to the receiver?"
                .to_string(),
        );
    }
    if c.too_large > 0 {
        notes.push(format!(
            "{} export bodies were over the {} KiB limit (`max_body_kib`) and refused",
            n(c.too_large),
            config.max_body / 1024
        ));
    }
    if c.undecodable > 0 {
        notes.push(format!(
            "{} export bodies were not OTLP trace exports (protobuf or JSON, plain or gzip) and were refused",
            n(c.undecodable)
        ));
    }
    if c.over_cap > 0 {
        notes.push(format!(
            "{} spans were dropped: their round already held {} (`max_spans`)",
            n(c.over_cap),
            n(u64::from(config.max_spans))
        ));
    }
    if c.foreign > 0 {
        notes.push(format!(
            "{} spans were not of this run's sampled requests (start-up, warm-up or other traffic) and were left out",
            n(c.foreign)
        ));
    }
    if c.incomplete > 0 {
        notes.push(format!(
            "{} traced requests were left out: their root span never arrived (late past the {} grace period, or dropped by the exporter)",
            n(c.incomplete),
            crate::format::duration(config.grace)
        ));
    }
    if c.after_last_round > 0 {
        notes.push(format!(
            "{} spans arrived after the last round, within the {} waited for them",
            n(c.after_last_round),
            crate::format::duration(waited)
        ));
    }
    notes
}
