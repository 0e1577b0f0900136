//! What the history hands a run before it measures: the stored baseline, the
//! trends and the learned noise floors ([`plan`]), from the commits a baseline
//! may come from ([`candidates`]).

use std::collections::BTreeMap;

use super::{baseline_rounds, learned_floors, short, trends, Environment, History};
use crate::config::{Config, Fraction};
use crate::judge::verdict::Metric;
use crate::results::{BaselineNote, FloorNote, FloorSource, HistoryNote};

/// What the history hands a run before it measures.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// What to record in the results (baseline, trends, floors, warnings).
    pub note: HistoryNote,
    /// The stored baseline's base rounds per endpoint (`baseline: stored`).
    pub baseline: Option<BTreeMap<String, Vec<crate::bench::RoundRecord>>>,
    /// Learned noise floors per endpoint and metric.
    pub floors: BTreeMap<String, BTreeMap<Metric, Fraction>>,
}

/// The commits a stored baseline may come from, best first: the merge-base of
/// `base` and `head` in the repository at `repo_dir`, then its first-parent
/// ancestors (at most 200). Without git (or the commits), just `base`.
pub async fn candidates(repo_dir: &std::path::Path, base: &str, head: Option<&str>) -> Vec<String> {
    use crate::git::run;
    let mut merge_base = match head {
        Some(h) => run(repo_dir, &["merge-base", base, h])
            .await
            .ok()
            .filter(|s| !s.is_empty()),
        None => None,
    };
    if merge_base.is_none() {
        let spec = format!("{base}^{{commit}}");
        merge_base = run(repo_dir, &["rev-parse", "--verify", &spec]).await.ok();
    }
    let merge_base = merge_base.unwrap_or_else(|| base.to_string());
    let rev_list = ["rev-list", "--first-parent", "--max-count=200", &merge_base];
    let mut out: Vec<String> = run(repo_dir, &rev_list)
        .await
        .ok()
        .map(|text| text.lines().map(str::to_string).collect())
        .unwrap_or_default();
    if out.first() != Some(&merge_base) {
        out.insert(0, merge_base);
    }
    out
}

/// The plan of a run of `config`: the stored baseline (when `baseline: stored` and
/// `candidates` are given), the trend of the branch, and the noise floors.
pub async fn plan(
    history: &History,
    config: &Config,
    environment: &Environment,
    candidates: Option<&[String]>,
) -> Plan {
    let hash = crate::fingerprint::measurement(config);
    let mut note = HistoryNote {
        store: history.describe(),
        branch: history.branch().to_string(),
        ..HistoryNote::default()
    };
    let mut out = Plan::default();
    if let Some(candidates) = candidates {
        match history.find(candidates, &hash).await {
            Ok(Some((i, record))) => {
                if record.config_hash != hash {
                    note.warnings.push(format!(
                        "the stored baseline `{}` measured another config (endpoints, load or rounds differ)",
                        short(&record.commit)
                    ));
                }
                note.baseline = Some(BaselineNote {
                    commit: record.commit.clone(),
                    wanted: (i > 0).then(|| candidates[0].clone()),
                    recorded_at: record.recorded_at.clone(),
                    differences: record.environment.differences(environment),
                });
                out.baseline = Some(baseline_rounds(&record));
            }
            Ok(None) => note.warnings.push(format!(
                "no stored run of `{}` or of its last {} ancestors on `{}`: base was deployed fresh instead",
                candidates.first().map(|c| short(c)).unwrap_or_default(),
                candidates.len().saturating_sub(1),
                history.branch()
            )),
            Err(e) => note.warnings.push(e.to_string()),
        }
    }
    let wanted = (config.history.trend as usize).max(config.history.min_runs as usize);
    let mut warnings = Vec::new();
    let records = match history.recent(wanted, Some(&hash), &mut warnings).await {
        Ok(r) => r,
        Err(e) => {
            warnings.push(e.to_string());
            Vec::new()
        }
    };
    note.warnings.extend(warnings);
    let learned = learned_floors(&records, config.history.min_runs as usize);
    let floor_of = |endpoint: &str, metric: Metric| {
        learned
            .get(endpoint)
            .and_then(|m| m.get(&metric))
            .map_or(config.compare.noise_floor, |f| f.floor)
    };
    let shown = records.len().saturating_sub(config.history.trend as usize);
    if config.history.trend > 0 {
        note.trends = trends(&records[shown..], &floor_of);
        note.trends.retain(|t| t.points.len() >= 2);
    }
    // Ladder endpoints are judged (and recorded) step by step.
    for e in &crate::bench::expand_ladders(&config.endpoints) {
        let Some(by_metric) = learned.get(&e.name) else {
            note.floors.push(FloorNote {
                endpoint: e.name.clone(),
                metric: None,
                floor: config.compare.noise_floor,
                learned_from: None,
                source: Some(FloorSource::Config),
                deployments: None,
                within_run: None,
            });
            continue;
        };
        for (metric, f) in by_metric {
            out.floors
                .entry(e.name.clone())
                .or_default()
                .insert(*metric, f.floor);
            note.floors.push(FloorNote {
                endpoint: e.name.clone(),
                metric: Some(*metric),
                floor: f.floor,
                learned_from: Some(f.runs),
                source: Some(f.source),
                deployments: f.deployments,
                within_run: f.within_run,
            });
        }
    }
    out.note = note;
    out
}
