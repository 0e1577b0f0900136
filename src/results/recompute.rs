//! A results file judged again from its measured rounds: what `tailgate compare`,
//! `merge` and `publish` post instead of any conclusion a file carries.

use super::RunResults;
use crate::config::CompareConfig;
use crate::judge::comparisons::CompareError;
use std::collections::BTreeMap;

use crate::judge::verdict::Metric;
use crate::stats;

/// Recompute the comparisons and the verdict of `results` from its measured
/// rounds, under its `limits` and `settings` (mode, noise floor, confidence,
/// resamples, seed, looks): what `tailgate compare` and `tailgate publish` post
/// instead of any comparison or verdict a file carries.
pub fn recompute(results: &mut RunResults) -> Result<(), CompareError> {
    let s = &results.settings;
    // A run that bought its extension was decided at the second look's level.
    let confidence = if s.looks > 1 {
        stats::per_look_confidence(s.confidence, s.looks).unwrap_or(s.confidence)
    } else {
        s.confidence
    };
    let cfg = CompareConfig {
        rounds: s.rounds,
        // A file of an earlier version (0) was decided once, at the end.
        min_rounds: if s.min_rounds == 0 {
            s.rounds
        } else {
            s.min_rounds
        },
        noise_floor: s.noise_floor,
        confidence,
        resamples: s.resamples,
        seed: Some(s.seed),
        extend: s.extend,
        // The floors the run learned from its history reproduce its verdict.
        endpoint_floors: learned_floors(results),
    };
    let (comparisons, verdict) =
        crate::judge::judge(&results.endpoints, &results.limits, s.mode, &cfg, s.seed)?;
    results.comparisons = comparisons;
    results.verdict = verdict;
    // A label's acceptance was a decision about the verdict then, not this one.
    results.acceptance = None;
    Ok(())
}

/// The floors a run learned from its history, per endpoint and metric, as its file
/// records them. A floor of an earlier version's file (no metric) held for every
/// ratio metric of its endpoint.
pub fn learned_floors(
    results: &RunResults,
) -> BTreeMap<String, BTreeMap<Metric, crate::config::Fraction>> {
    let mut out: BTreeMap<String, BTreeMap<Metric, crate::config::Fraction>> = BTreeMap::new();
    for f in results.history.iter().flat_map(|h| &h.floors) {
        if f.learned_from.is_none() {
            continue;
        }
        let metrics: Vec<Metric> = match f.metric {
            Some(m) => vec![m],
            None => Metric::WITH_COST
                .into_iter()
                .filter(|m| m.scale() == crate::stats::Scale::Ratio)
                .collect(),
        };
        let entry = out.entry(f.endpoint.clone()).or_default();
        for m in metrics {
            entry.insert(m, f.floor);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Fraction;
    use crate::results::{FloorNote, FloorSource, HistoryNote};

    fn results(floors: Vec<FloorNote>) -> RunResults {
        let mut r: RunResults = crate::results::empty_for_tests();
        r.history = Some(HistoryNote {
            floors,
            ..HistoryNote::default()
        });
        r
    }

    fn note(endpoint: &str, metric: Option<Metric>, floor: f64, learned: bool) -> FloorNote {
        FloorNote {
            endpoint: endpoint.into(),
            metric,
            floor: Fraction(floor),
            learned_from: learned.then_some(12),
            source: Some(if learned {
                FloorSource::Deployments
            } else {
                FloorSource::Config
            }),
            deployments: None,
            within_run: None,
        }
    }

    #[test]
    fn the_floors_a_file_records_are_the_floors_it_is_judged_with() {
        let r = results(vec![
            note("users", Some(Metric::P50), 0.12, true),
            note("users", Some(Metric::P99), 0.07, true),
            note("orders", None, 0.02, false),
        ]);
        let floors = learned_floors(&r);
        assert_eq!(floors.len(), 1, "the config's floor is no learned one");
        assert_eq!(floors["users"][&Metric::P50], Fraction(0.12));
        assert_eq!(floors["users"][&Metric::P99], Fraction(0.07));
        assert!(!floors["users"].contains_key(&Metric::P95));
        // A file of an earlier version: one floor per endpoint, for every ratio metric.
        let old = learned_floors(&results(vec![note("users", None, 0.031, true)]));
        for m in [Metric::P50, Metric::P99, Metric::Throughput, Metric::Cost] {
            assert_eq!(old["users"][&m], Fraction(0.031), "{m:?}");
        }
        assert!(!old["users"].contains_key(&Metric::ErrorRate));
    }
}
