//! The "↳ Why" under an endpoint's first finding: the `Server-Timing` entries that
//! explain its latency change, from the rounds of the results file
//! ([`crate::stats::attribute`] has the method and the rule), as formatted,
//! escaped strings for `templates/comment.md.j2`.

use serde::Serialize;

use super::escape;
use crate::bench::{EndpointRun, RoundRecord};
use crate::format;
use crate::side::Side;
use crate::stats::{attribute, TimingCause, TimingPair, TimingRound};

/// Why an endpoint's latency moved, in the direction of its finding.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WhyView {
    /// The entries named, largest change first (at least one).
    pub causes: Vec<WhyCause>,
    /// The endpoint's own mean change per request (`+0.47 ms`), when the causes'
    /// shares are of it.
    pub endpoint_change: Option<String>,
}

/// One `Server-Timing` entry named as a cause.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WhyCause {
    /// The entry's name, escaped for inline code.
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
}

/// Which way the finding the Why explains went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Slower: a regression, a failing or warning check.
    Slower,
    /// Faster: an improvement.
    Faster,
}

/// One side of one round as the attribution reads it.
fn timing_round(r: &RoundRecord) -> TimingRound {
    let data = &r.data;
    TimingRound {
        responses: data.statuses.values().sum(),
        latency_mean_ms: (!data.latency.is_empty()).then(|| data.latency.mean() / 1000.0),
        timing_ms: data
            .server_timing
            .iter()
            .map(|(name, sum)| (name.clone(), sum.total_ms))
            .collect(),
    }
}

/// The rounds of `run` paired by round number (a round without both sides is
/// left out).
fn pairs(run: &EndpointRun) -> Vec<TimingPair> {
    run.side(Side::Base)
        .filter_map(|b| {
            let h = run.side(Side::Head).find(|h| h.round == b.round)?;
            Some(TimingPair {
                base: timing_round(b),
                head: timing_round(h),
            })
        })
        .collect()
}

/// `+0.33 ms`, `−0.50 ms`.
fn signed_ms(v: f64) -> String {
    format!("{}{}", sign(v), format::ms(v.abs()))
}

/// `+0.33`, `−0.50` (the unit is on the point beside it).
fn signed_bare(v: f64) -> String {
    format!("{}{}", sign(v), format::ms_bare(v.abs()))
}

fn sign(v: f64) -> &'static str {
    if v < 0.0 {
        "−"
    } else {
        "+"
    }
}

fn cause(c: &TimingCause) -> WhyCause {
    let side = |present: bool, v: f64| {
        if present {
            format::ms(v)
        } else {
            "none".to_string()
        }
    };
    WhyCause {
        metric: escape::code(&c.name),
        change: signed_ms(c.change.change_ms),
        interval: format!(
            "[{}, {}]",
            signed_bare(c.change.low_ms),
            signed_bare(c.change.high_ms)
        ),
        base: side(c.on_base, c.change.base_ms),
        head: side(c.on_head, c.change.head_ms),
        share: c.share.map(format::percent),
    }
}

/// The Why of `run`'s finding that went `direction`, with intervals at
/// `confidence`; `None` when no `Server-Timing` entry explains a meaningful share
/// in that direction (or there are too few rounds).
pub fn why(run: &EndpointRun, direction: Direction, confidence: f64) -> Option<WhyView> {
    let attribution = attribute(&pairs(run), confidence)?;
    let slower = direction == Direction::Slower;
    let causes: Vec<WhyCause> = attribution
        .causes
        .iter()
        .filter(|c| (c.change.change_ms > 0.0) == slower)
        .map(cause)
        .collect();
    if causes.is_empty() {
        return None;
    }
    let shares = causes.iter().any(|c| c.share.is_some());
    Some(WhyView {
        causes,
        endpoint_change: shares.then(|| signed_ms(attribution.endpoint.change_ms)),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::Recorder;

    /// A run whose head spends `db_head` ms more per request in `db` and in its
    /// latency, over 6 rounds with a small wobble.
    fn run(db_base: Option<f64>, db_head: f64) -> EndpointRun {
        let mut rounds = Vec::new();
        for round in 0..6u32 {
            for side in Side::BOTH {
                let mut data = Recorder::default();
                let db = match side {
                    Side::Base => db_base,
                    Side::Head => Some(db_head),
                };
                let jitter = (f64::from(round % 3) - 1.0) * 0.01;
                for _ in 0..50 {
                    let ms = 1.0 + db.unwrap_or(0.0) + jitter;
                    data.success(Duration::from_secs_f64(ms / 1000.0), 0);
                    data.status(200);
                    match db {
                        Some(db) => data.server_timing(&format!("db;dur={}", db + jitter)),
                        None => data.server_timing("cache;dur=0.01"),
                    }
                }
                rounds.push(RoundRecord {
                    round,
                    side,
                    position: 0,
                    elapsed: Duration::from_secs(1),
                    data,
                    pacing: None,
                    window: None,
                    cpu: None,
                    cost: None,
                    generator_cpu: None,
                    generator_saturated: false,
                });
            }
        }
        EndpointRun::new("GET /x", "GET", "/x", String::new(), rounds)
    }

    #[test]
    fn a_lost_cache_is_the_why_of_a_regression_and_not_of_an_improvement() {
        let r = run(None, 0.87);
        let why = why(&r, Direction::Slower, 0.95).unwrap();
        assert_eq!(why.causes.len(), 1, "{why:?}");
        let db = &why.causes[0];
        assert_eq!(db.metric, "db");
        assert_eq!(db.base, "none");
        assert_eq!(db.head, "0.87 ms");
        assert_eq!(db.change, "+0.87 ms");
        assert!(db.share.is_some());
        assert!(why.endpoint_change.is_some());
        assert_eq!(super::why(&r, Direction::Faster, 0.95), None);
    }

    #[test]
    fn an_index_is_the_why_of_an_improvement() {
        let r = run(Some(0.8), 0.3);
        let why = why(&r, Direction::Faster, 0.95).unwrap();
        assert_eq!(why.causes[0].change, "−0.50 ms");
        assert!(why.causes[0].interval.starts_with("[−"), "{why:?}");
    }
}
