//! What the run's traces said (`traces:` in the config): the spans of each side of
//! each round, folded per span key (`crate::stats::SpanRound`), and what the
//! receiver took in, refused and dropped. The comparison is recomputed from these
//! rounds (`crate::stats::compare_spans`) by whoever reads the file.

use serde::{Deserialize, Serialize};

use crate::side::Side;
use crate::stats::SpanRound;

/// The traces of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TracesResults {
    /// The OTLP/HTTP endpoint the receiver listened on (`http://127.0.0.1:PORT`).
    pub endpoint: String,
    /// Sampled requests per round, endpoint and side (the `traceparent`s sent with
    /// the sampled flag).
    pub per_round: u32,
    /// What the receiver took in and what it dropped.
    pub counts: TraceCounts,
    /// What was dropped or late, in words (outside input quoted: escape it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Per endpoint, the spans of each side of each round.
    #[serde(default)]
    pub endpoints: Vec<TracedEndpoint>,
}

/// The counters of the receiver over the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceCounts {
    /// OTLP export requests answered.
    pub exports: u64,
    /// Export bodies refused: over the size limit.
    pub too_large: u64,
    /// Export bodies refused: not decodable (or a bad encoding).
    pub undecodable: u64,
    /// Spans received in accepted bodies.
    pub spans: u64,
    /// Spans kept (of this run's sampled requests, within the caps).
    pub kept: u64,
    /// Spans of other traces (not a `traceparent` this run sent, or a round
    /// outside the run).
    pub foreign: u64,
    /// Spans dropped because their round already held `max_spans` spans.
    pub over_cap: u64,
    /// Spans that arrived after the last round ended (during the grace period).
    pub after_last_round: u64,
    /// Traced requests whose root span never arrived (left out of the means).
    pub incomplete: u64,
    /// Traced requests folded into the rounds.
    pub complete: u64,
}

/// One endpoint's traced rounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TracedEndpoint {
    /// The endpoint's name.
    pub name: String,
    /// One entry per side and round that had spans.
    pub rounds: Vec<TracedRound>,
}

/// One side of one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TracedRound {
    /// The round (as in the endpoint's rounds).
    pub round: u32,
    /// The side.
    pub side: Side,
    /// Its spans.
    #[serde(flatten)]
    pub spans: SpanRound,
}

impl TracesResults {
    /// The traced rounds of endpoint `name`.
    pub fn endpoint(&self, name: &str) -> Option<&TracedEndpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }
}
