//! The report's view of the run's traces: the span causes of the Why line (one
//! list with the `Server-Timing` ones, [`super::why`]) and the "Where the time
//! went (traces)" details per endpoint with a finding, recomputed from the
//! results file's traced rounds with [`crate::stats::compare_spans`]. Every span
//! key is outside input: escaped here.

use serde::Serialize;

use super::cause::{Direction, WhyCause};
use super::escape;
use crate::bench::EndpointRun;
use crate::format;
use crate::results::{TracedEndpoint, TracesResults};
use crate::side::Side;
use crate::stats::{compare_spans, SpanCause, SpanComparison, SpanHow, SpanPair, SpanRound};

/// At most this many span rows per endpoint in the details.
pub const MAX_ROWS: usize = 12;

/// The traces details section.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TracesView {
    /// The `<summary>` line.
    pub summary: String,
    /// One table per endpoint with a finding and traces on both sides.
    pub endpoints: Vec<TracedEndpointView>,
    /// What was dropped, refused or late (escaped).
    pub notes: Vec<String>,
}

/// One endpoint's spans.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TracedEndpointView {
    /// The endpoint's name, escaped for inline code.
    pub name: String,
    /// `12 rounds, 600 → 600 traced requests`.
    pub traced: String,
    /// The spans, largest time per request first.
    pub rows: Vec<TraceRowView>,
}

/// One span key's means per request.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TraceRowView {
    /// The key, escaped for a table cell's code span.
    pub span: String,
    /// Time per request (all its calls), base → head.
    pub time: String,
    /// Self time per request, base → head.
    pub self_time: String,
    /// Calls per request, base → head.
    pub calls: String,
    /// What the Why said of it (`N+1`, `serial`, …), or empty.
    pub note: String,
}

/// The comparison of one endpoint's spans over its rounds traced on both sides
/// (and measured on both: a round the run left out is left out here too).
pub fn comparison(
    run: &EndpointRun,
    traced: &TracedEndpoint,
    confidence: f64,
) -> Option<SpanComparison> {
    let measured = |round: u32| {
        Side::BOTH
            .iter()
            .all(|&s| run.side(s).any(|r| r.round == round))
    };
    let of = |side: Side, round: u32| -> Option<&SpanRound> {
        traced
            .rounds
            .iter()
            .find(|r| r.side == side && r.round == round)
            .map(|r| &r.spans)
    };
    let pairs: Vec<SpanPair> = traced
        .rounds
        .iter()
        .filter(|r| r.side == Side::Base && measured(r.round))
        .filter_map(|b| {
            Some(SpanPair {
                base: &b.spans,
                head: of(Side::Head, b.round)?,
            })
        })
        .collect();
    compare_spans(&pairs, confidence)
}

/// `+0.33 ms`, `−0.50 ms`.
pub(super) fn signed_ms(v: f64) -> String {
    format!("{}{}", sign(v), format::ms(v.abs()))
}

/// `+0.33`, `−0.50`.
pub(super) fn signed_bare(v: f64) -> String {
    format!("{}{}", sign(v), format::ms_bare(v.abs()))
}

fn sign(v: f64) -> &'static str {
    if v < 0.0 {
        "−"
    } else {
        "+"
    }
}

/// Calls per request: `1`, `37`, `0.50`.
fn calls(v: f64) -> String {
    if (v - v.round()).abs() < 0.005 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// `1 call`, `37 calls`.
fn n_calls(v: f64) -> String {
    let n = calls(v);
    if n == "1" {
        "1 call".into()
    } else {
        format!("{n} calls")
    }
}

/// How a cause changed, in words (span keys escaped).
fn how(c: &SpanCause) -> String {
    let per = format!(
        "{} → {} calls per request",
        calls(c.calls.0),
        calls(c.calls.1)
    );
    match c.how {
        SpanHow::Time => {
            let faster = if c.change.change_ms > 0.0 {
                "slower"
            } else {
                "faster"
            };
            format!("{faster} at {} per request", n_calls(c.calls.1))
        }
        SpanHow::MoreCalls => format!("{per} (N+1)"),
        SpanHow::FewerCalls => per,
        SpanHow::Appeared => format!("new on head, {} per request", n_calls(c.calls.1)),
        SpanHow::Disappeared => "gone on head".to_string(),
        SpanHow::Serial | SpanHow::Parallel => {
            let children: Vec<String> = c
                .children
                .iter()
                .map(|k| format!("`{}`", escape::code(k)))
                .collect();
            let verb = if c.how == SpanHow::Serial {
                "no longer run in parallel"
            } else {
                "now run in parallel"
            };
            format!("its calls {verb}: {}", children.join(", "))
        }
    }
}

/// The span causes of a Why in `direction`.
pub fn why_causes(cmp: &SpanComparison, direction: Direction) -> Vec<WhyCause> {
    let slower = direction == Direction::Slower;
    cmp.causes
        .iter()
        .filter(|c| (c.change.change_ms > 0.0) == slower)
        .map(|c| {
            let serial = matches!(c.how, SpanHow::Serial | SpanHow::Parallel);
            WhyCause {
                source: if serial {
                    "span (lost overlap of the calls of)".into()
                } else {
                    "span".into()
                },
                names_source: true,
                metric: escape::code(&c.span),
                change: signed_ms(c.change.change_ms),
                interval: format!(
                    "[{}, {}]",
                    signed_bare(c.change.low_ms),
                    signed_bare(c.change.high_ms)
                ),
                base: format::ms(c.change.base_ms),
                head: format::ms(c.change.head_ms),
                share: c.share.map(format::percent),
                detail: Some(how(c)),
            }
        })
        .collect()
}

/// The details section for `named` endpoints (those with a finding), when the
/// run received traces.
pub fn view(
    traces: &TracesResults,
    runs: &[EndpointRun],
    named: &[&str],
    confidence: f64,
) -> TracesView {
    let mut endpoints = Vec::new();
    for name in named {
        let (Some(run), Some(traced)) =
            (runs.iter().find(|r| r.name == *name), traces.endpoint(name))
        else {
            continue;
        };
        let Some(cmp) = comparison(run, traced, confidence) else {
            continue;
        };
        let pair = |v: (f64, f64)| format!("{} → {}", format::ms(v.0), format::ms(v.1));
        let rows = cmp
            .rows
            .iter()
            .take(MAX_ROWS)
            .map(|r| {
                let note = cmp
                    .causes
                    .iter()
                    .find(|c| c.span == r.span)
                    .map(|c| match c.how {
                        SpanHow::Serial => "⚠️ calls no longer overlap",
                        SpanHow::Parallel => "calls now overlap",
                        SpanHow::MoreCalls => "⚠️ more calls (N+1)",
                        SpanHow::Appeared => "new on head",
                        SpanHow::Disappeared => "gone on head",
                        SpanHow::FewerCalls => "fewer calls",
                        SpanHow::Time => {
                            if c.change.change_ms > 0.0 {
                                "⚠️ slower"
                            } else {
                                "faster"
                            }
                        }
                    })
                    .unwrap_or_default()
                    .to_string();
                TraceRowView {
                    span: escape::cell_code(&r.span),
                    time: pair(r.total_ms),
                    self_time: pair(r.self_ms),
                    calls: format!("{} → {}", calls(r.calls.0), calls(r.calls.1)),
                    note,
                }
            })
            .collect();
        endpoints.push(TracedEndpointView {
            name: escape::cell_code(name),
            traced: format!(
                "{} rounds, {} → {} traced requests",
                cmp.rounds,
                format::thousands(cmp.traces.0),
                format::thousands(cmp.traces.1)
            ),
            rows,
        });
    }
    let c = &traces.counts;
    TracesView {
        summary: format!(
            "Where the time went (traces: {} spans of {} traced requests)",
            format::thousands(c.kept),
            format::thousands(c.complete)
        ),
        endpoints,
        notes: traces.notes.iter().map(|n| escape::text(n)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::{Recorder, RoundRecord};
    use crate::results::TracedRound;
    use crate::stats::SpanSums;

    /// A hostile span key: code spans, table pipes, a mention, HTML.
    const HOSTILE: &str = "app: sqlite SELECT `x` | y FROM t WHERE @admin = '<b>' \n-- #1";

    fn run() -> EndpointRun {
        let mut rounds = Vec::new();
        for round in 0..6u32 {
            for side in Side::BOTH {
                let mut data = Recorder::default();
                data.success(Duration::from_millis(2), 0);
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

    /// Head runs the hostile statement 10 times per request, base once.
    fn traced() -> TracesResults {
        let mut rounds = Vec::new();
        for round in 0..6u32 {
            for side in Side::BOTH {
                let calls = if side == Side::Base { 1.0 } else { 10.0 };
                let wobble = 1.0 + f64::from(round % 3) * 0.01;
                let mut spans = SpanRound {
                    traces: 20,
                    root_ms: 20.0 * (1.0 + calls * 0.5 * wobble),
                    ..Default::default()
                };
                spans.spans.insert(
                    HOSTILE.into(),
                    SpanSums {
                        calls: (20.0 * calls) as u64,
                        total_ms: 20.0 * calls * 0.5 * wobble,
                        self_ms: 20.0 * calls * 0.5 * wobble,
                    },
                );
                rounds.push(TracedRound { round, side, spans });
            }
        }
        TracesResults {
            endpoint: "http://127.0.0.1:1".into(),
            per_round: 20,
            notes: vec!["spans from <script> @someone".into()],
            endpoints: vec![TracedEndpoint {
                name: "GET /x".into(),
                rounds,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn span_keys_and_notes_are_escaped_in_the_why_and_the_details() {
        let traces = traced();
        let run = run();
        let cmp = comparison(&run, &traces.endpoints[0], 0.95).unwrap();
        let why = why_causes(&cmp, Direction::Slower);
        assert_eq!(why.len(), 1, "{cmp:?}");
        assert!(!why[0].metric.contains('`') && !why[0].metric.contains('\n'));
        assert_eq!(
            why[0].detail.as_deref(),
            Some("1 → 10 calls per request (N+1)")
        );
        assert!(why_causes(&cmp, Direction::Faster).is_empty());
        let view = view(&traces, &[run], &["GET /x"], 0.95);
        let row = &view.endpoints[0].rows[0];
        assert!(
            row.span.contains("\\|") && !row.span.contains('`'),
            "{}",
            row.span
        );
        assert_eq!(row.calls, "1 → 10");
        assert!(view.notes[0].contains("&lt;script&gt;"), "{:?}", view.notes);
        assert!(!view.notes[0].contains("@someone"));
    }
}
