//! One cause of an endpoint's latency change, whatever its source (`Server-Timing`
//! in `why.rs`, spans in `traces.rs`), and which way the finding it explains went:
//! the type both sources fill and the Why line lists.

use serde::Serialize;

/// One cause: a `Server-Timing` entry or a span.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WhyCause {
    /// Where it comes from, as the comment names it: `` `Server-Timing` ``,
    /// `span`.
    pub source: String,
    /// Whether the line names the source before it (the first cause, or one whose
    /// source differs from the cause before it).
    pub names_source: bool,
    /// The entry's name or the span's key, escaped for inline code.
    pub metric: String,
    /// Its mean change per request: `+0.33 ms`.
    pub change: String,
    /// The change's interval: `[+0.28, +0.38]`.
    pub interval: String,
    /// Base's mean per request (`0.30 ms`; `none` when base never sent it).
    pub base: String,
    /// Head's mean per request (`none` when head never sent it).
    pub head: String,
    /// Its share of the endpoint's mean change (`70 %`), when that change is clear.
    pub share: Option<String>,
    /// How it changed, for a span (`1 → 37 calls per request (N+1)`; escaped).
    pub detail: Option<String>,
}

/// Which way the finding the Why explains went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Slower: a regression, a failing or warning check.
    Slower,
    /// Faster: an improvement.
    Faster,
}
