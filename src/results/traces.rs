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
    /// Add another run's traces of the same rounds (a shard's): counters, notes
    /// and each (endpoint, side, round)'s sums.
    pub fn absorb(&mut self, other: &TracesResults) {
        let (a, b) = (&mut self.counts, &other.counts);
        a.exports += b.exports;
        a.too_large += b.too_large;
        a.undecodable += b.undecodable;
        a.spans += b.spans;
        a.kept += b.kept;
        a.foreign += b.foreign;
        a.over_cap += b.over_cap;
        a.after_last_round += b.after_last_round;
        a.incomplete += b.incomplete;
        a.complete += b.complete;
        if self.endpoint.is_empty() {
            self.endpoint = other.endpoint.clone();
            self.per_round = other.per_round;
        }
        for note in &other.notes {
            if !self.notes.contains(note) {
                self.notes.push(note.clone());
            }
        }
        for theirs in &other.endpoints {
            let mine = match self
                .endpoints
                .iter_mut()
                .position(|e| e.name == theirs.name)
            {
                Some(i) => &mut self.endpoints[i],
                None => {
                    self.endpoints.push(TracedEndpoint {
                        name: theirs.name.clone(),
                        rounds: Vec::new(),
                    });
                    self.endpoints.last_mut().expect("just pushed")
                }
            };
            for r in &theirs.rounds {
                match mine
                    .rounds
                    .iter_mut()
                    .find(|m| m.round == r.round && m.side == r.side)
                {
                    Some(m) => m.spans.add(&r.spans),
                    None => mine.rounds.push(r.clone()),
                }
            }
        }
    }

    /// The traced rounds of endpoint `name`.
    pub fn endpoint(&self, name: &str) -> Option<&TracedEndpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::SpanSums;

    fn round(side: Side, traces: u64, calls: u64) -> TracedRound {
        let mut spans = SpanRound {
            traces,
            root_ms: traces as f64,
            ..Default::default()
        };
        spans.spans.insert(
            "q".into(),
            SpanSums {
                calls,
                total_ms: calls as f64,
                self_ms: calls as f64,
            },
        );
        TracedRound {
            round: 0,
            side,
            spans,
        }
    }

    #[test]
    fn shards_of_one_round_add_up() {
        let shard = |traces, calls| TracesResults {
            endpoint: "http://127.0.0.1:1".into(),
            per_round: 10,
            counts: TraceCounts {
                complete: traces,
                ..Default::default()
            },
            notes: vec!["late".into()],
            endpoints: vec![TracedEndpoint {
                name: "e".into(),
                rounds: vec![round(Side::Base, traces, calls)],
            }],
        };
        let mut all = TracesResults::default();
        all.absorb(&shard(10, 10));
        all.absorb(&shard(5, 20));
        assert_eq!(all.counts.complete, 15);
        assert_eq!(all.notes, vec!["late".to_string()]);
        let r = &all.endpoint("e").unwrap().rounds[0].spans;
        assert_eq!(r.traces, 15);
        assert_eq!(r.spans["q"].calls, 30);
        assert_eq!(all.per_round, 10);
    }
}
