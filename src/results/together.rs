//! What `tailgate merge` found of how the shards' rounds overlapped (issue 24):
//! per merged (round, side) the start skew and the overlap of the shards'
//! windows, the rounds it dropped and why, and each shard's clock.

use serde::{Deserialize, Serialize};

use crate::side::Side;

/// How the shards of a merged run measured together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Together {
    /// T0 every shard was given (`--start-at`), when they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// The least overlap a kept phase needed (a share, 0 to 1).
    pub min_overlap: f64,
    /// Whether the windows were put on the target's clock (each shard's offset
    /// from its `Date` headers) before they were compared.
    pub on_target_clock: bool,
    /// Per shard, by index: how late it joined and its clock.
    pub shards: Vec<ShardClock>,
    /// Per endpoint, round and side merged: skew and overlap.
    pub phases: Vec<PhaseTogether>,
    /// The rounds dropped (both sides of an endpoint's round), with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<Dropped>,
    /// The largest start skew of a kept phase, ms.
    pub max_skew_ms: f64,
    /// The median start skew of the kept phases, ms.
    pub median_skew_ms: f64,
    /// The least overlap of a kept phase (0 to 1).
    pub least_overlap: f64,
}

/// One shard of the merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardClock {
    /// Its index (1-based).
    pub index: u32,
    /// How late it was ready after T0, ms.
    #[serde(default)]
    pub late_ms: u64,
    /// Its clock's offset from the target's, when it could tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<crate::deploy::clock::ClockOffset>,
    /// The correction applied to its windows, ms (0 when not on the target's
    /// clock).
    #[serde(default)]
    pub correction_ms: f64,
}

/// One merged phase: an endpoint's round on one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseTogether {
    /// The endpoint.
    pub endpoint: String,
    /// 0-based round.
    pub round: u32,
    /// The side.
    pub side: Side,
    /// Latest start minus earliest start of the shards' windows, ms.
    pub skew_ms: f64,
    /// The time all shards loaded at once over the time any of them did (common
    /// window over the span of all windows), 0 to 1.
    pub overlap: f64,
    /// Sum of the shards' rates, each over its own window, req/s: the load the
    /// target saw at once.
    pub rate: f64,
}

/// A round left out of the merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    /// The endpoint.
    pub endpoint: String,
    /// 0-based round.
    pub round: u32,
    /// Why, in words (naming the shards).
    pub reason: String,
}
