//! What the report says of a run split into shards (issue 24): how many, how
//! together they loaded the target (start skew, overlap of their windows), the
//! rounds left out, the clocks, and the total load.

use super::escape;
use crate::format;
use crate::results::RunResults;

/// A share to 0.1 % (`97.3 %`, `100 %`).
fn share(x: f64) -> String {
    let p = format!("{:.1}", x * 100.0);
    format!("{} %", p.strip_suffix(".0").unwrap_or(&p))
}

fn ms(v: f64) -> String {
    format::ms(v.max(0.0))
}

/// The load the target saw at once: per endpoint, the mean over its merged
/// phases of the sum of the shards' rates; `about 778 req/s at once`, or the
/// range over the endpoints (they are measured one at a time).
fn load_at_once(results: &RunResults) -> Option<String> {
    let together = results.shard.as_ref()?.together.as_ref()?;
    let kept = |e: &str, r: u32| {
        !together
            .dropped
            .iter()
            .any(|d| d.endpoint == e && d.round == r)
    };
    let mut per_endpoint = Vec::new();
    for run in &results.endpoints {
        let rates: Vec<f64> = together
            .phases
            .iter()
            .filter(|p| p.endpoint == run.name && kept(&p.endpoint, p.round))
            .map(|p| p.rate)
            .collect();
        if !rates.is_empty() {
            per_endpoint.push(rates.iter().sum::<f64>() / rates.len() as f64);
        }
    }
    let lo = per_endpoint.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = per_endpoint
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    match per_endpoint.len() {
        0 => None,
        1 => Some(format!("about {} req/s at once", format::rate(hi))),
        _ => Some(format!(
            "{} to {} req/s at once across its endpoints",
            format::rate(lo),
            format::rate(hi)
        )),
    }
}

/// The one line near the table: `Load split over 4 shards that started together
/// (start skew ≤ 42 ms, windows overlapping ≥ 98.1 %); req/s are their sums.`
pub fn line(results: &RunResults) -> Option<String> {
    let info = results.shard.as_ref().filter(|s| s.index.is_none())?;
    let Some(t) = &info.together else {
        return Some(format!(
            "🧩 Load split over {} shards; their windows were not checked (merged by an earlier tailgate).",
            info.count
        ));
    };
    let dropped = if t.dropped.is_empty() {
        String::new()
    } else {
        let rounds: std::collections::BTreeSet<u32> = t.dropped.iter().map(|d| d.round).collect();
        format!(
            "; {} left out, not measured together",
            if rounds.len() == 1 {
                "1 round".to_string()
            } else {
                format!("{} rounds", rounds.len())
            }
        )
    };
    let load = load_at_once(results)
        .map(|r| format!(", {r}"))
        .unwrap_or_default();
    Some(format!(
        "🧩 Load split over {} shards measuring together (start skew ≤ {}, windows overlapping ≥ {}){load}{dropped}; each req/s is the sum of the shards' rates.",
        info.count,
        ms(t.max_skew_ms),
        share(t.least_overlap),
    ))
}

/// The paragraph of "How this was measured".
pub fn method(results: &RunResults) -> Option<String> {
    let info = results.shard.as_ref().filter(|s| s.index.is_none())?;
    let profiles: Vec<String> = results
        .endpoints
        .iter()
        .map(|e| format!("`{}` {}", escape::code(&e.name), escape::inline(&e.profile)))
        .collect();
    let mut text = format!(
        "Sharded: the load was split over {n} shards (`tailgate run --shard I/{n}`), merged by \
         `tailgate merge` (histograms added, so the percentiles are those of all requests pooled). \
         Total load: {}.",
        profiles.join("; "),
        n = info.count
    );
    let Some(t) = &info.together else {
        text.push_str(" The shards' windows were not checked (merged by an earlier tailgate).");
        return Some(text);
    };
    if let Some(start) = &t.start_at {
        text.push_str(&format!(
            " Every shard waited for the shared start `{}` and ran its rounds on one wall-clock grid from it.",
            escape::code(start)
        ));
    } else {
        text.push_str(" The shards had no shared start (each ran on its own clock).");
    }
    text.push_str(&format!(
        " Per merged round and side, the shards' start skew was at most {} (median {}) and their \
         windows overlapped at least {} (the time every shard loaded the target over the time any did; \
         a round needs {} on both sides to be merged); the req/s of a merged round is the sum of the \
         shards' rates.",
        ms(t.max_skew_ms),
        ms(t.median_skew_ms),
        share(t.least_overlap),
        share(t.min_overlap)
    ));
    let late: Vec<String> = t
        .shards
        .iter()
        .filter(|s| s.late_ms > 0)
        .map(|s| {
            format!(
                "shard {}/{} joined {} late",
                s.index,
                info.count,
                format::duration(std::time::Duration::from_millis(s.late_ms))
            )
        })
        .collect();
    if !late.is_empty() {
        let late = late.join(", ");
        text.push_str(&format!(" S{}.", late.strip_prefix('s').unwrap_or(&late)));
    }
    if !t.dropped.is_empty() {
        let rounds: Vec<String> = t
            .dropped
            .iter()
            .map(|d| format!("`{}` round {}", escape::code(&d.endpoint), d.round + 1))
            .collect();
        text.push_str(&format!(" Left out: {}.", rounds.join(", ")));
    }
    let clocks: Vec<String> = t
        .shards
        .iter()
        .map(|s| match s.clock {
            Some(c) => format!(
                "{}: {:+.0} ms ± {:.0} ms",
                s.index, c.offset_ms, c.uncertainty_ms
            ),
            None => format!("{}: not told", s.index),
        })
        .collect();
    text.push_str(&format!(
        " Clocks (the target's `Date` header minus each shard's, per shard: {}) {}.",
        clocks.join(", "),
        if t.on_target_clock {
            "put the windows on the target's clock before they were compared"
        } else {
            "could not all be told: the windows were compared as the shards' clocks recorded them"
        }
    ));
    Some(text)
}

/// The note at the top of one shard's report: `> Shard 2 of 4: this report judges
/// only this shard's share of the load…` (not on a merged run).
pub(super) fn note(results: &RunResults) -> Option<String> {
    let info = results.shard.as_ref()?;
    let index = info.index?;
    Some(format!(
        "> Shard {index} of {count}: this report judges only this shard's share of the load. \
         Merge all {count} shards' `tailgate-results.json` with `tailgate merge` for the verdict.",
        count = info.count
    ))
}
