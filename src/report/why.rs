//! The "↳ Why" under an endpoint's first finding: one list of the causes that
//! explain its latency change whatever their source — `Server-Timing` entries
//! ([`crate::stats::attribute`] has the method and the rule) and spans of the
//! run's traces ([`crate::stats::compare_spans`], via [`super::traces`]) — from
//! the rounds of the results file, as formatted, escaped strings for
//! `templates/comment.md.j2`.

use serde::Serialize;

pub use super::cause::{Direction, WhyCause};
use super::escape;
use crate::bench::{EndpointRun, RoundRecord};
use crate::format;
use crate::results::TracedEndpoint;
use crate::side::Side;
use crate::stats::{attribute, SpanHow, TimingCause, TimingPair, TimingRound};

/// Why an endpoint's latency moved, in the direction of its finding.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WhyView {
    /// The entries named, largest change first (at least one).
    pub causes: Vec<WhyCause>,
    /// The endpoint's own mean change per request (`+0.47 ms`), when the causes'
    /// shares are of it.
    pub endpoint_change: Option<String>,
    /// What the shares are of: `the endpoint's mean change` (`Server-Timing`) or
    /// `the server's mean change (root spans)` (traces alone).
    pub basis: String,
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
        source: "`Server-Timing`".into(),
        names_source: true,
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
        detail: None,
    }
}

/// The Why of `run`'s finding that went `direction`, with intervals at
/// `confidence`: its `Server-Timing` entries and, with `traced`, its spans, largest
/// change first; `None` when nothing explains a meaningful share in that direction
/// (or there are too few rounds).
pub fn why(
    run: &EndpointRun,
    traced: Option<&TracedEndpoint>,
    direction: Direction,
    confidence: f64,
) -> Option<WhyView> {
    let slower = direction == Direction::Slower;
    let timing = attribute(&pairs(run), confidence);
    // (a change of structure first, size): see `crate::stats::compare_spans`.
    let mut causes: Vec<((bool, f64), WhyCause)> = timing
        .iter()
        .flat_map(|a| a.causes.iter())
        .filter(|c| (c.change.change_ms > 0.0) == slower)
        .map(|c| ((true, c.change.change_ms.abs()), cause(c)))
        .collect();
    let spans = traced.and_then(|t| super::traces::comparison(run, t, confidence));
    if let Some(spans) = &spans {
        let named = super::traces::why_causes(spans, direction);
        causes.extend(
            spans
                .causes
                .iter()
                .filter(|c| (c.change.change_ms > 0.0) == slower)
                .map(|c| (c.how == SpanHow::Time, c.change.change_ms.abs()))
                .zip(named),
        );
    }
    if causes.is_empty() {
        return None;
    }
    // One list whatever the source: changes of structure first, then the largest
    // change (stable: a source's own order breaks ties).
    causes.sort_by(|a, b| a.0 .0.cmp(&b.0 .0).then(b.0 .1.total_cmp(&a.0 .1)));
    let mut causes: Vec<WhyCause> = causes.into_iter().map(|(_, c)| c).collect();
    let mut previous: Option<String> = None;
    for c in &mut causes {
        c.names_source = previous.as_ref() != Some(&c.source);
        previous = Some(c.source.clone());
    }
    let shares = causes.iter().any(|c| c.share.is_some());
    let timing_shares = timing
        .as_ref()
        .filter(|a| a.causes.iter().any(|c| c.share.is_some()));
    let (endpoint, basis) = match (timing_shares, &spans) {
        (Some(a), _) => (Some(a.endpoint.change_ms), "the endpoint's mean change"),
        (None, Some(s)) => (
            Some(s.endpoint.change_ms),
            "the server's mean change (root spans)",
        ),
        (None, None) => (None, "the endpoint's mean change"),
    };
    Some(WhyView {
        causes,
        endpoint_change: endpoint.filter(|_| shares).map(signed_ms),
        basis: basis.to_string(),
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
                rounds.push(RoundRecord::new(
                    round,
                    side,
                    0,
                    Duration::from_secs(1),
                    data,
                ));
            }
        }
        EndpointRun::new("GET /x", "GET", "/x", String::new(), rounds)
    }

    #[test]
    fn a_lost_cache_is_the_why_of_a_regression_and_not_of_an_improvement() {
        let r = run(None, 0.87);
        let why = why(&r, None, Direction::Slower, 0.95).unwrap();
        assert_eq!(why.causes.len(), 1, "{why:?}");
        let db = &why.causes[0];
        assert_eq!(db.metric, "db");
        assert_eq!(db.base, "none");
        assert_eq!(db.head, "0.87 ms");
        assert_eq!(db.change, "+0.87 ms");
        assert!(db.share.is_some());
        assert!(why.endpoint_change.is_some());
        assert_eq!(super::why(&r, None, Direction::Faster, 0.95), None);
    }

    #[test]
    fn an_index_is_the_why_of_an_improvement() {
        let r = run(Some(0.8), 0.3);
        let why = why(&r, None, Direction::Faster, 0.95).unwrap();
        assert_eq!(why.causes[0].change, "−0.50 ms");
        assert!(why.causes[0].interval.starts_with("[−"), "{why:?}");
    }
}
