//! What the stored series of the branch say: per endpoint and metric, the noise
//! floor learned from the runs ([`learned_floors`]), and the trend with every change
//! point larger than that floor ([`trends`]).

use std::collections::BTreeMap;

use super::{changepoint, floors, Record, KEPT, TREND_METRICS};
use crate::config::Fraction;
use crate::judge::verdict::Metric;
use crate::results::{FloorSource, Trend, TrendChange, TrendPoint};

/// A noise floor learned from the history for one endpoint and metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearnedFloor {
    /// The floor: the larger of the two estimates.
    pub floor: Fraction,
    /// Stored runs it rests on.
    pub runs: usize,
    /// Which estimate set it.
    pub source: FloorSource,
    /// From run-to-run changes between deployments ([`floors::between_deployments`]).
    pub deployments: Option<Fraction>,
    /// From the A/A split inside the runs ([`floors::learned`]).
    pub within_run: Option<Fraction>,
}

/// Learned noise floors per endpoint and metric: from the run-to-run changes of
/// `records` (oldest first) between runs with no change point between them, never
/// below the A/A split inside the runs. A metric needs `min_runs` stored runs.
pub fn learned_floors(
    records: &[Record],
    min_runs: usize,
) -> BTreeMap<String, BTreeMap<Metric, LearnedFloor>> {
    let mut out: BTreeMap<String, BTreeMap<Metric, LearnedFloor>> = BTreeMap::new();
    for name in endpoint_names(records) {
        for metric in KEPT {
            let series: Vec<(f64, Option<f64>)> = records
                .iter()
                .filter_map(|r| {
                    let p = r.point(name)?;
                    Some((p.value(metric)?, p.aa(metric)))
                })
                .collect();
            if series.len() < min_runs.max(2) {
                continue;
            }
            let values: Vec<f64> = series.iter().map(|(v, _)| *v).collect();
            let steps: Vec<usize> = changepoint::detect(&values, &changepoint::Options::default())
                .iter()
                .map(|c| c.index)
                .collect();
            let mut changes = Vec::new();
            let mut used = vec![false; values.len()];
            for i in 1..values.len() {
                if !steps.contains(&i) {
                    changes.push(values[i] / values[i - 1] - 1.0);
                    used[i - 1] = true;
                    used[i] = true;
                }
            }
            let deployments =
                floors::between_deployments(&changes, min_runs.saturating_sub(1).max(2));
            let aa: Vec<f64> = series.iter().filter_map(|(_, aa)| *aa).collect();
            let within_run = floors::learned(&aa, min_runs);
            let (floor, source, runs) = match (deployments, within_run) {
                (Some(d), Some(w)) if w > d => (w, FloorSource::WithinRun, aa.len()),
                (Some(d), _) => (
                    d,
                    FloorSource::Deployments,
                    used.iter().filter(|u| **u).count(),
                ),
                (None, Some(w)) => (w, FloorSource::WithinRun, aa.len()),
                (None, None) => continue,
            };
            out.entry(name.to_string()).or_default().insert(
                metric,
                LearnedFloor {
                    floor: Fraction(floor),
                    runs,
                    source,
                    deployments: deployments.map(Fraction),
                    within_run: within_run.map(Fraction),
                },
            );
        }
    }
    out
}

/// The endpoints of `records`, in the order they first appear.
fn endpoint_names(records: &[Record]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for r in records {
        for p in &r.points {
            if !names.contains(&p.endpoint.as_str()) {
                names.push(&p.endpoint);
            }
        }
    }
    names
}

/// Whether a change of the level by `change` is beyond `floor`, on the log scale a
/// comparison judges ratios on (so +10 % and −9.1 % are the same size).
pub fn beyond_floor(change: f64, floor: f64) -> bool {
    change > -1.0 && change.ln_1p().abs() >= floor.ln_1p()
}

/// The trends of `records` (oldest first): per endpoint, p50 and p99 by commit and
/// every change point of each larger than the metric's noise floor (`floor_of`).
pub fn trends(records: &[Record], floor_of: &dyn Fn(&str, Metric) -> Fraction) -> Vec<Trend> {
    endpoint_names(records)
        .into_iter()
        .map(|name| {
            let points: Vec<TrendPoint> = records
                .iter()
                .filter_map(|r| {
                    let p = r.point(name)?;
                    let point = TrendPoint {
                        commit: r.commit.clone(),
                        p99_ms: p.value(Metric::P99),
                        p50_ms: p.value(Metric::P50),
                    };
                    (point.p99_ms.is_some() || point.p50_ms.is_some()).then_some(point)
                })
                .collect();
            let mut changes = Vec::new();
            for metric in TREND_METRICS {
                let floor = floor_of(name, metric);
                // Indices into `points` of the runs with this metric.
                let (at, series): (Vec<usize>, Vec<f64>) = points
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| Some((i, p.value(metric)?)))
                    .unzip();
                for c in changepoint::detect(&series, &changepoint::Options::default()) {
                    if !beyond_floor(c.change, floor.0) {
                        continue;
                    }
                    let index = at[c.index];
                    changes.push(TrendChange {
                        metric,
                        commit: points[index].commit.clone(),
                        runs_ago: points.len() - 1 - index,
                        change: c.change,
                        floor: Some(floor),
                    });
                }
            }
            changes.sort_by_key(|c| std::cmp::Reverse(c.runs_ago));
            let change = changes
                .iter()
                .filter(|c| c.metric == Metric::P99)
                .max_by(|a, b| a.change.abs().total_cmp(&b.change.abs()))
                .cloned();
            Trend {
                endpoint: name.to_string(),
                points,
                change,
                changes,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::record;
    use super::*;

    fn config_floor(_: &str, _: Metric) -> Fraction {
        Fraction(0.02)
    }

    #[test]
    fn a_trend_names_the_commit_a_step_began() {
        let mut records = Vec::new();
        for i in 0..30 {
            let p99 = if i < 20 { 10.0 } else { 13.0 } * (1.0 + 0.01 * ((i * 7 % 5) as f64 - 2.0));
            records.push(record(&format!("{i:040x}"), p99));
        }
        let trends = trends(&records, &config_floor);
        assert_eq!(trends.len(), 1);
        let change = trends[0].change.clone().expect("a change point");
        assert_eq!(change.commit, format!("{:040x}", 20));
        assert_eq!(change.runs_ago, 9);
        assert!((change.change - 0.3).abs() < 0.05, "{change:?}");
        // p50 moved with p99: both are named, at the same commit.
        let metrics: Vec<Metric> = trends[0].changes.iter().map(|c| c.metric).collect();
        assert_eq!(metrics, [Metric::P50, Metric::P99]);
        assert!(trends[0].changes.iter().all(|c| c.commit == change.commit));
    }

    /// A series with a large step and, after it, a small one the test still finds
    /// significant (the runs are very quiet): the small step is below the floor
    /// and never named; the large one is, wherever binary segmentation put it.
    #[test]
    fn a_step_smaller_than_the_floor_is_never_named() {
        let mut records = Vec::new();
        for i in 0..30 {
            let level = match i {
                0..10 => 10.0,
                10..20 => 13.0,
                _ => 13.05,
            };
            let p99 = level * (1.0 + 0.0001 * ((i * 7 % 5) as f64 - 2.0));
            records.push(record(&format!("{i:040x}"), p99));
        }
        let found = changepoint::detect(
            &records
                .iter()
                .map(|r| r.points[0].p99_ms.unwrap())
                .collect::<Vec<_>>(),
            &changepoint::Options::default(),
        );
        assert!(found.len() >= 2, "the test sees both steps: {found:?}");
        let trends = trends(&records, &config_floor);
        let named: Vec<(Metric, String)> = trends[0]
            .changes
            .iter()
            .map(|c| (c.metric, c.commit.clone()))
            .collect();
        let at10 = format!("{:040x}", 10);
        assert_eq!(
            named,
            [(Metric::P50, at10.clone()), (Metric::P99, at10.clone())]
        );
        let largest = trends[0].by_size()[0];
        assert!((largest.change - 0.3).abs() < 0.01, "{largest:?}");
        assert_eq!(largest.runs_ago, 19);
    }

    #[test]
    fn floors_come_from_the_run_to_run_changes_between_steps() {
        // ±3 % between deployments, quiet inside each run, a +30 % step at 15.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let records: Vec<Record> = (0..25)
            .map(|i| {
                let level = if i < 15 { 10.0 } else { 13.0 };
                record(
                    &format!("{i:040x}"),
                    level * (1.0 + rng.gen_range(-0.03..0.03)),
                )
            })
            .collect();
        let floors = learned_floors(&records, 10);
        let p99 = floors["users"][&Metric::P99];
        assert_eq!(p99.source, FloorSource::Deployments);
        // Every run but none of the step's pair: 25 runs, 23 changes.
        assert_eq!(p99.runs, 25);
        assert!(
            p99.floor.0 > 0.03 && p99.floor.0 < 0.09,
            "the floor covers ±3 % jitter: {p99:?}"
        );
        assert!(p99.floor.0 >= p99.within_run.unwrap().0);
        let trends = trends(&records, &|e: &str, m: Metric| floors[e][&m].floor);
        let steps: Vec<&TrendChange> = trends[0].changes_of(Metric::P99);
        assert_eq!(steps.len(), 1, "{steps:?}");
        assert_eq!(steps[0].commit, format!("{:040x}", 15));
        // Fewer runs than min_runs: nothing learned.
        assert!(learned_floors(&records[..5], 10).is_empty());
    }

    /// A measured series replayed: the p50 and p99 of 25 recorded runs of a real
    /// service (fresh deployments with ±3 % jitter, +30 % from run 15 on).
    fn measured(flat: bool) -> Vec<Record> {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/history/measured-step-at-15.json"
        ));
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        let series = |m: &str| -> Vec<f64> {
            doc[m]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        };
        let (p50, p99) = (series("p50_ms"), series("p99_ms"));
        (0..25)
            .map(|i| {
                // Flat: the runs before the step stand in for the ones after it.
                let j = if flat && i >= 15 { i - 15 } else { i };
                let mut r = record(&format!("{i:040x}"), p99[j]);
                r.points[0].values.insert(Metric::P50, p50[j]);
                r.points[0].aa.clear();
                r
            })
            .collect()
    }

    #[test]
    fn a_replayed_measured_series_names_its_step_and_a_flat_one_none() {
        for _ in 0..2 {
            let records = measured(false);
            let floors = learned_floors(&records, 10);
            let trends = trends(&records, &|e: &str, m: Metric| floors[e][&m].floor);
            let named: Vec<(Metric, usize)> = trends[0]
                .changes
                .iter()
                .map(|c| (c.metric, c.runs_ago))
                .collect();
            assert_eq!(named, [(Metric::P50, 9), (Metric::P99, 9)]);
            for c in &trends[0].changes {
                assert_eq!(c.commit, format!("{:040x}", 15));
                assert!((0.2..0.35).contains(&c.change), "{c:?}");
                assert!(c.change > c.floor.unwrap().0, "{c:?}");
            }
        }
        let flat = measured(true);
        let floors = learned_floors(&flat, 10);
        let trends = trends(&flat, &|e: &str, m: Metric| floors[e][&m].floor);
        assert!(trends[0].changes.is_empty(), "{:?}", trends[0].changes);
    }
}
