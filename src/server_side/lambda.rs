//! What the REPORT lines say about one side: cold starts, warm vs cold duration,
//! billed time, memory, and the billed usage per round for the cost model. Pure.
//!
//! A cold start is an invocation whose REPORT has `Init Duration` (or, with SnapStart,
//! `Restore Duration`). REPORT lines are matched to the benchmark's rounds by their
//! timestamps; lines outside every round (warm-up, stragglers) are counted apart.
//! The number of REPORT lines is checked against the requests sent: a mismatch is
//! reported, never hidden.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::logs::ReportEvent;
use crate::bench::record::new_histogram;
use crate::cost::{ApiGatewayKind, Architecture, Usage};
use crate::deploy::FunctionInfo;
use crate::side::Side;
use crate::stats::quantile_ms;

/// The wall-clock window of one measured round of one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundWindow {
    /// 0-based round number.
    pub round: u32,
    /// The side measured.
    pub side: Side,
    /// Start, milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// End, milliseconds since the Unix epoch.
    pub end_ms: i64,
    /// Requests sent in the round (all endpoints).
    pub requests: u64,
    /// Response bytes received in the round.
    pub bytes_in: u64,
}

/// Slack after a round's end for REPORT timestamps (clock skew, log latency).
pub const WINDOW_GRACE_MS: i64 = 1_000;

/// A latency summary in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// How many values.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

fn spread(values: impl Iterator<Item = Duration>) -> Option<Spread> {
    let mut h = new_histogram();
    for v in values {
        let us = u64::try_from(v.as_micros()).unwrap_or(u64::MAX).max(1);
        h.saturating_record(us);
    }
    if h.is_empty() {
        return None;
    }
    Some(Spread {
        count: h.len(),
        p50_ms: quantile_ms(&h, 500)?,
        p99_ms: quantile_ms(&h, 990)?,
        max_ms: quantile_ms(&h, 1000)?,
    })
}

/// The server-side view of one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LambdaSide {
    /// Which side.
    pub side: Side,
    /// The functions read.
    pub functions: Vec<String>,
    /// REPORT lines inside the measured rounds.
    pub invocations: u64,
    /// Requests the benchmark sent in those rounds.
    pub requests_sent: u64,
    /// Why the two counts differ, when they do.
    pub count_mismatch: Option<String>,
    /// REPORT lines outside every round (warm-up, late lines).
    pub outside_rounds: u64,
    /// Lines that looked like a REPORT but did not parse.
    pub rejected_lines: u64,
    /// Cold starts inside the rounds.
    pub cold_starts: u64,
    /// Cold starts / invocations.
    pub cold_start_rate: Option<f64>,
    /// Init (or restore) duration of the cold starts.
    pub init: Option<Spread>,
    /// Handler duration of warm invocations.
    pub warm_duration: Option<Spread>,
    /// Handler duration of cold invocations (without init).
    pub cold_duration: Option<Spread>,
    /// Billed duration per invocation.
    pub billed: Option<Spread>,
    /// Largest configured memory seen.
    pub memory_size_mb: Option<u32>,
    /// Peak memory used.
    pub max_memory_used_mb: Option<u32>,
    /// Invocations that timed out or failed (`Status:` present).
    pub failed_invocations: u64,
}

/// The index of the window of `side` that `ts` falls in: the one containing it,
/// else the latest one whose grace after its end covers it (windows of one side
/// can be back to back, and a line inside the next window belongs to that one).
fn window_index(windows: &[RoundWindow], side: Side, ts: i64) -> Option<usize> {
    let mine = || windows.iter().enumerate().filter(|(_, w)| w.side == side);
    mine()
        .find(|(_, w)| ts >= w.start_ms && ts <= w.end_ms)
        .or_else(|| {
            mine()
                .filter(|(_, w)| ts > w.end_ms && ts <= w.end_ms + WINDOW_GRACE_MS)
                .max_by_key(|(_, w)| w.end_ms)
        })
        .map(|(i, _)| i)
}

fn window_of(windows: &[RoundWindow], side: Side, ts: i64) -> Option<&RoundWindow> {
    window_index(windows, side, ts).map(|i| &windows[i])
}

/// Summarise `events` (this side's functions only) against this side's `windows`.
pub fn summarize(
    side: Side,
    functions: &[String],
    events: &[ReportEvent],
    rejected_lines: u64,
    windows: &[RoundWindow],
) -> LambdaSide {
    let (inside, outside): (Vec<&ReportEvent>, Vec<&ReportEvent>) = events
        .iter()
        .partition(|e| window_of(windows, side, e.timestamp_ms).is_some());
    let requests_sent: u64 = windows
        .iter()
        .filter(|w| w.side == side)
        .map(|w| w.requests)
        .sum();
    let invocations = inside.len() as u64;
    let cold: Vec<&&ReportEvent> = inside.iter().filter(|e| e.report.is_cold()).collect();
    let count_mismatch = (invocations != requests_sent).then(|| {
        if invocations < requests_sent {
            format!(
                "{} of {requests_sent} requests have no REPORT line (requests that never reached a function, \
                 e.g. gateway errors or caching, or logs not yet delivered)",
                requests_sent - invocations
            )
        } else {
            format!(
                "{} more REPORT lines than requests sent (retries, other traffic to the function, or one request \
                 calling several functions)",
                invocations - requests_sent
            )
        }
    });
    LambdaSide {
        side,
        functions: functions.to_vec(),
        invocations,
        requests_sent,
        count_mismatch,
        outside_rounds: outside.len() as u64,
        rejected_lines,
        cold_starts: cold.len() as u64,
        cold_start_rate: (invocations > 0).then(|| cold.len() as f64 / invocations as f64),
        init: spread(
            cold.iter()
                .filter_map(|e| e.report.init_duration.or(e.report.restore_duration)),
        ),
        warm_duration: spread(
            inside
                .iter()
                .filter(|e| !e.report.is_cold())
                .map(|e| e.report.duration),
        ),
        cold_duration: spread(cold.iter().map(|e| e.report.duration)),
        billed: spread(inside.iter().map(|e| e.report.billed_total())),
        memory_size_mb: inside.iter().map(|e| e.report.memory_size_mb).max(),
        max_memory_used_mb: inside.iter().map(|e| e.report.max_memory_used_mb).max(),
        failed_invocations: inside.iter().filter(|e| e.report.status.is_some()).count() as u64,
    }
}

/// The billed usage of each of `side`'s rounds, ready for [`crate::cost::side_cost`].
/// A function whose architecture is not known is priced as `fallback`
/// (`cost.architecture`); without one it is not priced: [`UnknownArchitecture`].
pub fn round_usage(
    side: Side,
    events: &[ReportEvent],
    windows: &[RoundWindow],
    functions: &[FunctionInfo],
    fallback: Option<Architecture>,
    gateway: ApiGatewayKind,
) -> Result<Vec<(u32, Usage)>, UnknownArchitecture> {
    let per_window = window_usage(side, events, windows, functions, fallback, gateway)?;
    Ok(usage_by_round(windows, &per_window))
}

/// Functions that cannot be priced: neither the deploy nor `cost.architecture`
/// says their architecture, and the two architectures have different prices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the architecture of {} is not known (the template does not say it literally and the stack's parameters do not resolve it); set `cost.architecture` to price it", .functions.join(", "))]
pub struct UnknownArchitecture {
    /// The functions' names.
    pub functions: Vec<String>,
}

/// The architecture of each of `functions`, or which ones are not known.
fn architectures(
    functions: &[FunctionInfo],
    fallback: Option<Architecture>,
) -> Result<BTreeMap<&str, Architecture>, UnknownArchitecture> {
    let unknown: Vec<String> = functions
        .iter()
        .filter(|f| f.architecture.or(fallback).is_none())
        .map(|f| f.name.clone())
        .collect();
    if !unknown.is_empty() {
        return Err(UnknownArchitecture { functions: unknown });
    }
    Ok(functions
        .iter()
        .filter_map(|f| Some((f.name.as_str(), f.architecture.or(fallback)?)))
        .collect())
}

/// [`window_usage`] summed by round number, in round order.
pub fn usage_by_round(windows: &[RoundWindow], per_window: &[Option<Usage>]) -> Vec<(u32, Usage)> {
    let mut rounds: BTreeMap<u32, Usage> = BTreeMap::new();
    for (w, usage) in windows.iter().zip(per_window) {
        if let Some(usage) = usage {
            let slot = rounds.entry(w.round).or_default();
            *slot = slot.merged(usage);
        }
    }
    rounds.into_iter().collect()
}

/// The billed usage of each of `windows` (aligned with it; `None` for the other
/// side's windows): a window may be one endpoint's part of a round. Priced as in
/// [`round_usage`].
pub fn window_usage(
    side: Side,
    events: &[ReportEvent],
    windows: &[RoundWindow],
    functions: &[FunctionInfo],
    fallback: Option<Architecture>,
    gateway: ApiGatewayKind,
) -> Result<Vec<Option<Usage>>, UnknownArchitecture> {
    let arch = architectures(functions, fallback)?;
    let mut usage: Vec<Option<Usage>> = windows
        .iter()
        .map(|w| {
            (w.side == side).then(|| Usage {
                requests: w.requests,
                bytes_out: w.bytes_in,
                gateway: Some(gateway),
                ..Usage::default()
            })
        })
        .collect();
    for e in events {
        let Some(i) = window_index(windows, side, e.timestamp_ms) else {
            continue;
        };
        if let Some(u) = usage[i].as_mut() {
            let Some(a) = arch.get(e.function.as_str()).copied().or(fallback) else {
                return Err(UnknownArchitecture {
                    functions: vec![e.function.clone()],
                });
            };
            u.add_invocation(e.report.billed_total(), e.report.memory_size_mb, a);
        }
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server_side::report_line::parse_message;

    fn event(ts: i64, init: bool) -> ReportEvent {
        let init = if init {
            "\tInit Duration: 250.00 ms"
        } else {
            ""
        };
        let line = format!(
            "REPORT RequestId: r{ts}\tDuration: 20.00 ms\tBilled Duration: 21 ms\tMemory Size: 256 MB\tMax Memory Used: 64 MB{init}\t"
        );
        ReportEvent {
            function: "fn-head".into(),
            timestamp_ms: ts,
            report: parse_message(&line).unwrap().unwrap(),
        }
    }

    fn windows() -> Vec<RoundWindow> {
        let w = |round, side, start_ms, end_ms, requests| RoundWindow {
            round,
            side,
            start_ms,
            end_ms,
            requests,
            bytes_in: 0,
        };
        vec![
            w(0, Side::Head, 10_000, 11_000, 2),
            w(0, Side::Base, 20_000, 21_000, 5),
            w(1, Side::Head, 30_000, 31_000, 2),
        ]
    }

    #[test]
    fn counts_cold_starts_inside_rounds_only() {
        let events = [
            event(5_000, true),
            event(10_100, true),
            event(10_200, false),
            event(30_500, false),
            event(31_500, false),
        ];
        let s = summarize(Side::Head, &["fn-head".into()], &events, 0, &windows());
        assert_eq!(s.invocations, 4);
        assert_eq!(s.outside_rounds, 1);
        assert_eq!(s.cold_starts, 1);
        assert_eq!(s.cold_start_rate, Some(0.25));
        assert_eq!(s.init.unwrap().count, 1);
        assert_eq!(s.warm_duration.unwrap().count, 3);
        assert_eq!(s.memory_size_mb, Some(256));
        assert!(s.count_mismatch.is_none());
    }

    #[test]
    fn a_count_mismatch_is_explained() {
        let events = [event(10_100, false)];
        let s = summarize(Side::Head, &[], &events, 0, &windows());
        assert!(s.count_mismatch.unwrap().contains("3 of 4 requests"));
    }

    #[test]
    fn usage_is_split_by_round() {
        let events = [
            event(10_100, true),
            event(30_100, false),
            event(20_500, false),
        ];
        let fns = [FunctionInfo {
            name: "fn-head".into(),
            logical_id: "Fn".into(),
            architecture: Some(Architecture::Arm64),
        }];
        let rounds = round_usage(
            Side::Head,
            &events,
            &windows(),
            &fns,
            None,
            ApiGatewayKind::Http,
        )
        .unwrap();
        assert_eq!(rounds.len(), 2);
        assert_eq!(rounds[0].1.invocations, 1);
        assert_eq!(rounds[0].1.arm64_mb_ms, 21 * 256);
        assert_eq!(rounds[0].1.requests, 2);
        assert_eq!(rounds[1].1.invocations, 1);
    }

    #[test]
    fn an_unknown_architecture_is_not_priced_as_a_guess() {
        let events = [event(10_100, true)];
        let fns = [FunctionInfo {
            name: "fn-head".into(),
            logical_id: String::new(),
            architecture: None,
        }];
        let err = round_usage(
            Side::Head,
            &events,
            &windows(),
            &fns,
            None,
            ApiGatewayKind::Http,
        )
        .unwrap_err();
        assert_eq!(err.functions, ["fn-head"]);
        assert!(err.to_string().contains("cost.architecture"), "{err}");
        let rounds = round_usage(
            Side::Head,
            &events,
            &windows(),
            &fns,
            Some(Architecture::Arm64),
            ApiGatewayKind::Http,
        )
        .unwrap();
        assert_eq!(rounds[0].1.arm64_mb_ms, 21 * 256);
    }
}
