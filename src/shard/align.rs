//! Did the shards measure together? (issue 24)
//!
//! Each shard records the wall-clock window of every (round, side) it measured
//! and its clock's offset from the target's. For every merged phase (an
//! endpoint's round on one side) this computes:
//!
//! - the **start skew**: the latest start minus the earliest start of the
//!   shards' windows;
//! - the **overlap**: the time all shards loaded the target at once (the common
//!   window: latest start to earliest end) over the time any of them did (earliest
//!   start to latest end). 100 % when the windows coincide, 0 % when two of them
//!   do not meet;
//! - the **rate** the target saw at once: the sum of the shards' rates, each
//!   over its own window. It stands for the load over the common window only when
//!   the windows overlap, which is why a phase below [`MIN_OVERLAP`] is never
//!   merged: its rates were not at once, and neither were its latencies.
//!
//! Windows are compared on the target's clock when every shard could tell its
//! offset (`Date` headers, see `deploy::clock`): when their bounds have a common
//! value, the clocks may well agree and the windows are compared as recorded
//! (one shift for all); otherwise each shard's windows are shifted by the value
//! within its bounds nearest to the median of the shards' estimates. Without
//! every offset the windows are compared as the shards' clocks recorded them.

use crate::bench::{EndpointRun, RoundRecord, Window};
use crate::results::{Dropped, PhaseTogether};
use crate::side::Side;

/// The least overlap a merged phase needs by default: 95 % of the span of the
/// shards' windows had every shard loading the target.
pub const MIN_OVERLAP: f64 = 0.95;

/// One shard as the alignment sees it.
pub(crate) struct ShardView<'a> {
    /// 1-based index.
    pub index: u32,
    /// N.
    pub count: u32,
    /// Its endpoints' runs, in the merge's endpoint order.
    pub endpoints: &'a [EndpointRun],
    /// How it met the shared start.
    pub start: Option<&'a crate::results::ShardStart>,
}

impl ShardView<'_> {
    fn name(&self) -> String {
        format!("shard {}/{}", self.index, self.count)
    }
}

/// Per shard, the shift (ms) that puts its windows on the target's clock, and
/// whether one was applied.
pub(crate) fn corrections(shards: &[ShardView<'_>]) -> (Vec<f64>, bool) {
    let clocks: Option<Vec<(f64, f64)>> = shards
        .iter()
        .map(|s| s.start.and_then(|st| st.clock).map(|c| c.bounds()))
        .collect();
    let Some(bounds) = clocks.filter(|c| !c.is_empty()) else {
        return (vec![0.0; shards.len()], false);
    };
    let lo = bounds.iter().map(|b| b.0).fold(f64::NEG_INFINITY, f64::max);
    let hi = bounds.iter().map(|b| b.1).fold(f64::INFINITY, f64::min);
    if lo <= hi {
        // One value fits every shard: the clocks may agree; one shift for all.
        return (vec![(lo + hi) / 2.0; shards.len()], true);
    }
    let mut mids: Vec<f64> = bounds.iter().map(|b| (b.0 + b.1) / 2.0).collect();
    mids.sort_by(f64::total_cmp);
    let median = mids[mids.len() / 2];
    (
        bounds.iter().map(|b| median.clamp(b.0, b.1)).collect(),
        true,
    )
}

/// The merge's view of one endpoint's round: kept (with its phases) or dropped.
pub(crate) enum RoundVerdict {
    /// Measured together; its two phases.
    Kept(Vec<PhaseTogether>),
    /// Not merged: a shard missed it (it joined late) — always dropped.
    Missed(Dropped),
    /// The windows overlapped too little: dropped or refused, as the merge is told.
    Apart(Dropped, Vec<PhaseTogether>),
}

fn shifted(w: Window, by: f64) -> (f64, f64) {
    (w.start_ms as f64 + by, w.end_ms as f64 + by)
}

/// A share to 0.1 %, so 94.6 % never reads as the 95 % it fell short of.
pub(crate) fn pct(x: f64) -> String {
    let p = format!("{:.1}", x * 100.0);
    format!("{} %", p.strip_suffix(".0").unwrap_or(&p))
}

fn secs(ms: f64) -> String {
    crate::format::duration(std::time::Duration::from_millis(ms.max(0.0).round() as u64))
}

/// Judge round `round` of endpoint `e` across `shards`.
pub(crate) fn round(
    shards: &[ShardView<'_>],
    correction: &[f64],
    e: usize,
    round: u32,
    min_overlap: f64,
) -> RoundVerdict {
    let name = shards[0].endpoints[e].name.clone();
    let drop = |reason: String| Dropped {
        endpoint: name.clone(),
        round,
        reason,
    };
    // A shard that joined late missed it: the others loaded without it.
    for s in shards {
        let run = &s.endpoints[e];
        if let Some(m) = run.missed.iter().find(|m| m.round == round) {
            let why = match s.start.filter(|st| st.late_ms > 0) {
                Some(st) => format!(
                    "joined late ({} late for the shared start)",
                    secs(st.late_ms as f64)
                ),
                None => "reached its slot after it began (its phase before overran, or its machine was busy)".into(),
            };
            return RoundVerdict::Missed(drop(format!(
                "{} {why} and did not measure its {} side: the others loaded the target without it",
                s.name(),
                m.side
            )));
        }
    }
    let mut phases = Vec::with_capacity(2);
    let mut worst: Option<(f64, String)> = None;
    for side in Side::BOTH {
        let records: Vec<Option<&RoundRecord>> = shards
            .iter()
            .map(|s| {
                s.endpoints[e]
                    .rounds
                    .iter()
                    .find(|r| r.round == round && r.side == side)
            })
            .collect();
        if records.iter().all(Option::is_none) {
            continue; // a side not deployed (a release gate)
        }
        let mut windows = Vec::with_capacity(shards.len());
        let mut rate = 0.0;
        for ((s, r), by) in shards.iter().zip(&records).zip(correction) {
            let Some(w) = r.and_then(|r| r.window) else {
                let why = format!(
                    "{} recorded no window for its {side} side (written by an older tailgate, or not measured)",
                    s.name()
                );
                return RoundVerdict::Apart(drop(why), phases);
            };
            windows.push((s, shifted(w, *by)));
            if let Some(r) = r {
                let secs = r.elapsed.as_secs_f64();
                if secs > 0.0 {
                    rate += r.data.total() as f64 / secs;
                }
            }
        }
        let first = windows.iter().map(|w| w.1 .0).fold(f64::INFINITY, f64::min);
        let last_start = windows
            .iter()
            .map(|w| w.1 .0)
            .fold(f64::NEG_INFINITY, f64::max);
        let first_end = windows.iter().map(|w| w.1 .1).fold(f64::INFINITY, f64::min);
        let last = windows
            .iter()
            .map(|w| w.1 .1)
            .fold(f64::NEG_INFINITY, f64::max);
        let span = last - first;
        let common = (first_end - last_start).max(0.0);
        let overlap = if span <= 0.0 { 1.0 } else { common / span };
        let skew = last_start - first;
        if overlap < min_overlap && worst.as_ref().is_none_or(|w| overlap < w.0) {
            let early = windows
                .iter()
                .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                .map(|w| w.0.name())
                .unwrap_or_default();
            let late = windows
                .iter()
                .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                .map(|w| w.0.name())
                .unwrap_or_default();
            worst = Some((
                overlap,
                format!(
                    "its {side} windows overlap {} (at least {} needed): {late} started {} after {early}",
                    pct(overlap),
                    pct(min_overlap),
                    secs(skew)
                ),
            ));
        }
        phases.push(PhaseTogether {
            endpoint: name.clone(),
            round,
            side,
            skew_ms: skew,
            overlap,
            rate,
        });
    }
    match worst {
        Some((_, why)) => RoundVerdict::Apart(drop(why), phases),
        None => RoundVerdict::Kept(phases),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Recorder;
    use crate::deploy::clock::ClockOffset;
    use crate::results::ShardStart;

    fn record(round: u32, side: Side, start_ms: i64, end_ms: i64, requests: u64) -> RoundRecord {
        let mut data = Recorder::default();
        for _ in 0..requests {
            data.success(std::time::Duration::from_millis(2), 0);
        }
        RoundRecord {
            window: Some(Window { start_ms, end_ms }),
            ..RoundRecord::new(
                round,
                side,
                0,
                std::time::Duration::from_millis((end_ms - start_ms) as u64),
                data,
            )
        }
    }

    fn run(rounds: Vec<RoundRecord>) -> EndpointRun {
        EndpointRun::new("users", "GET", "/", String::new(), rounds)
    }

    fn start(offset_ms: f64, uncertainty_ms: f64) -> ShardStart {
        ShardStart {
            start_at: "T0".into(),
            late_ms: 0,
            clock: Some(ClockOffset {
                offset_ms,
                uncertainty_ms,
                samples: 28,
            }),
            clock_error: None,
        }
    }

    /// Shards 1/2 and 2/2 with these endpoints, without a shared start.
    fn two<'a>(a: &'a [EndpointRun], b: &'a [EndpointRun]) -> [ShardView<'a>; 2] {
        [(1, a), (2, b)].map(|(index, endpoints)| ShardView {
            index,
            count: 2,
            endpoints,
            start: None,
        })
    }

    #[test]
    fn overlap_skew_and_rate_of_a_phase() {
        let a = [run(vec![
            record(0, Side::Base, 0, 1_000, 100),
            record(0, Side::Head, 1_500, 2_500, 100),
        ])];
        let b = [run(vec![
            record(0, Side::Base, 20, 1_010, 99),
            record(0, Side::Head, 1_520, 2_500, 98),
        ])];
        let views = two(&a, &b);
        let RoundVerdict::Kept(phases) = round(&views, &[0.0, 0.0], 0, 0, MIN_OVERLAP) else {
            panic!("not kept");
        };
        assert_eq!(phases.len(), 2);
        assert_eq!(phases[0].skew_ms, 20.0);
        // Common 20..1000 over the span 0..1010.
        assert!((phases[0].overlap - 980.0 / 1010.0).abs() < 1e-12);
        // 100/1.0 s + 99/0.99 s: the rates add up.
        assert!((phases[0].rate - 200.0).abs() < 1e-9, "{}", phases[0].rate);
        // Ten seconds apart: the windows never meet, and the message names both.
        let c = [run(vec![
            record(0, Side::Base, 10_000, 11_000, 100),
            record(0, Side::Head, 11_500, 12_500, 100),
        ])];
        let apart = two(&a, &c);
        let RoundVerdict::Apart(d, phases) = round(&apart, &[0.0, 0.0], 0, 0, MIN_OVERLAP) else {
            panic!("not apart");
        };
        assert_eq!(phases[0].overlap, 0.0);
        assert!(
            d.reason.contains("overlap 0 %")
                && d.reason.contains("shard 2/2 started 10 s after shard 1/2"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn clocks_are_corrected_only_where_they_must_be() {
        let none: [EndpointRun; 0] = [];
        let view = |index, start| ShardView {
            index,
            count: 2,
            endpoints: &none,
            start,
        };
        // Bounds that share a value: one shift for all (no relative change).
        let (a, b) = (start(10.0, 20.0), start(-5.0, 20.0));
        let (c, on) = corrections(&[view(1, Some(&a)), view(2, Some(&b))]);
        assert!(on);
        assert_eq!(c[0], c[1]);
        // Clocks 500 ms apart: each moves to the target's clock.
        let (a, b) = (start(0.0, 20.0), start(500.0, 20.0));
        let (c, _) = corrections(&[view(1, Some(&a)), view(2, Some(&b))]);
        assert!((c[1] - c[0] - 480.0).abs() < 1e-9, "{c:?}");
        // A shard that could not tell: as recorded.
        let (c, on) = corrections(&[view(1, Some(&a)), view(2, None)]);
        assert!(!on);
        assert_eq!(c, [0.0, 0.0]);
    }
}
