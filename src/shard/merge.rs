//! Merging shard results into the results of the whole run: checks that the shards
//! belong together, then adds them (round by round, side by side).

use std::collections::BTreeMap;

use crate::bench::{EndpointRun, PacingReport, RoundRecord, Window};
use crate::results::{RunResults, ShardInfo};
use crate::side::Side;

/// Why shard results cannot be merged. Each names the files concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// No files.
    #[error("no results files to merge")]
    Empty,
    /// A file that `tailgate run --shard` did not write.
    #[error("{0} is not a shard's results (it records no `shard`; write it with `tailgate run --shard I/N`)")]
    NotAShard(String),
    /// A file `tailgate merge` wrote.
    #[error("{0} holds shards already merged; merge the shards' own files")]
    AlreadyMerged(String),
    /// Shards of runs split into different numbers of shards.
    #[error(
        "{a} is shard {a_shard} but {b} is shard {b_shard}: every shard of one run has the same N"
    )]
    Count {
        /// One file.
        a: String,
        /// Its shard.
        a_shard: String,
        /// Another file.
        b: String,
        /// Its shard.
        b_shard: String,
    },
    /// Shards of different seeds.
    #[error("{a} was run with seed {a_seed} but {b} with seed {b_seed}: run every shard with the same --seed")]
    Seed {
        /// One file.
        a: String,
        /// Its seed.
        a_seed: u64,
        /// Another file.
        b: String,
        /// Its seed.
        b_seed: u64,
    },
    /// Shards of different configs (or tailgate versions).
    #[error("{a} and {b} were run with different configs (config hash {a_hash} vs {b_hash}): run every shard with the same tailgate.yml, tailgate version and seed")]
    Config {
        /// One file.
        a: String,
        /// Its hash, shortened.
        a_hash: String,
        /// Another file.
        b: String,
        /// Its hash, shortened.
        b_hash: String,
    },
    /// Shards whose rounds were scheduled differently.
    #[error("{a} and {b} measured different round schedules ({what}); shards of one run measure the same rounds in the same side order")]
    Schedule {
        /// One file.
        a: String,
        /// Another file.
        b: String,
        /// What differs.
        what: String,
    },
    /// The same shard twice.
    #[error("{a} and {b} are both shard {shard}: each shard once")]
    Duplicate {
        /// The shard.
        shard: String,
        /// One file.
        a: String,
        /// The other.
        b: String,
    },
    /// Shards missing.
    #[error("shard{} {} of {count} missing: merge all {count} shards (got {got})", if missing.len() == 1 { "" } else { "s" }, list(missing))]
    Missing {
        /// The missing indexes.
        missing: Vec<u32>,
        /// N.
        count: u32,
        /// The shards given, in words.
        got: String,
    },
    /// A shard whose run failed before it measured.
    #[error(
        "{path} (shard {shard}) has no measurements: its run failed ({error}); rerun that shard"
    )]
    Failed {
        /// The file.
        path: String,
        /// The shard.
        shard: String,
        /// Why its run failed.
        error: String,
    },
}

fn list(ns: &[u32]) -> String {
    let words: Vec<String> = ns.iter().map(u32::to_string).collect();
    words.join(", ")
}

/// A shard's file, checked to be one.
struct Part {
    path: String,
    index: u32,
    info: ShardInfo,
    results: RunResults,
}

/// The (round, side) keys of a run's rounds, in order.
fn keys(run: &EndpointRun) -> Vec<(u32, Side)> {
    run.rounds.iter().map(|r| (r.round, r.side)).collect()
}

/// Check that `files` (path, results) are the N shards of one run, then add them
/// into the results of the whole run. Comparisons and verdict are left as shard 1
/// had them: judge the merged rounds afterwards (as `tailgate compare` does).
pub fn merge(files: Vec<(String, RunResults)>) -> Result<RunResults, MergeError> {
    let mut parts = Vec::with_capacity(files.len());
    for (path, results) in files {
        let Some(info) = results.shard.clone() else {
            return Err(MergeError::NotAShard(path));
        };
        let Some(index) = info.index else {
            return Err(MergeError::AlreadyMerged(path));
        };
        parts.push(Part {
            path,
            index,
            info,
            results,
        });
    }
    let first = parts.first().ok_or(MergeError::Empty)?;
    let shard_of = |p: &Part| format!("{}/{}", p.index, p.info.count);
    for p in &parts[1..] {
        if p.info.count != first.info.count {
            return Err(MergeError::Count {
                a: first.path.clone(),
                a_shard: shard_of(first),
                b: p.path.clone(),
                b_shard: shard_of(p),
            });
        }
        if p.results.settings.seed != first.results.settings.seed {
            return Err(MergeError::Seed {
                a: first.path.clone(),
                a_seed: first.results.settings.seed,
                b: p.path.clone(),
                b_seed: p.results.settings.seed,
            });
        }
        if p.info.config_hash != first.info.config_hash {
            let short = |h: &str| h.chars().take(12).collect::<String>();
            return Err(MergeError::Config {
                a: first.path.clone(),
                a_hash: short(&first.info.config_hash),
                b: p.path.clone(),
                b_hash: short(&p.info.config_hash),
            });
        }
        let schedule = |what: &str| MergeError::Schedule {
            a: first.path.clone(),
            b: p.path.clone(),
            what: what.to_string(),
        };
        if p.results.order != first.results.order {
            return Err(schedule("side order of the rounds"));
        }
        if p.results.settings.rounds != first.results.settings.rounds {
            return Err(schedule("number of rounds"));
        }
    }
    let count = first.info.count;
    let mut by_index: BTreeMap<u32, Part> = BTreeMap::new();
    for p in parts {
        if let Some(other) = by_index.get(&p.index) {
            return Err(MergeError::Duplicate {
                shard: shard_of(&p),
                a: other.path.clone(),
                b: p.path,
            });
        }
        by_index.insert(p.index, p);
    }
    let missing: Vec<u32> = (1..=count).filter(|i| !by_index.contains_key(i)).collect();
    if !missing.is_empty() {
        let got: Vec<String> = by_index.values().map(shard_of).collect();
        return Err(MergeError::Missing {
            missing,
            count,
            got: got.join(", "),
        });
    }
    let parts: Vec<Part> = by_index.into_values().collect();
    for p in &parts {
        if p.results.endpoints.is_empty() {
            return Err(MergeError::Failed {
                path: p.path.clone(),
                shard: shard_of(p),
                error: p
                    .results
                    .verdict
                    .error
                    .clone()
                    .unwrap_or_else(|| "no endpoints".into()),
            });
        }
    }
    let first = &parts[0];
    for p in &parts[1..] {
        let names = |r: &RunResults| {
            r.endpoints
                .iter()
                .map(|e| e.name.clone())
                .collect::<Vec<_>>()
        };
        if names(&p.results) != names(&first.results) {
            return Err(MergeError::Schedule {
                a: first.path.clone(),
                b: p.path.clone(),
                what: "endpoints".into(),
            });
        }
        for (a, b) in first.results.endpoints.iter().zip(&p.results.endpoints) {
            if keys(a) != keys(b) {
                return Err(MergeError::Schedule {
                    a: first.path.clone(),
                    b: p.path.clone(),
                    what: format!("rounds of endpoint `{}`", a.name),
                });
            }
        }
    }
    Ok(add(parts))
}

/// Add checked shards (sorted by index) into one run.
fn add(parts: Vec<Part>) -> RunResults {
    let mut parts = parts.into_iter();
    let first = parts.next().expect("merge checked that there is a shard");
    let mut out = first.results;
    let mut warnings: Vec<String> = out
        .warnings
        .drain(..)
        .map(|w| format!("shard {}/{}: {w}", first.index, first.info.count))
        .collect();
    let mut server_side = out.cost.is_some() || out.server.is_some();
    for p in parts {
        for (mine, theirs) in out.endpoints.iter_mut().zip(&p.results.endpoints) {
            for (a, b) in mine.rounds.iter_mut().zip(&theirs.rounds) {
                add_round(a, b);
            }
        }
        out.started_at = out.started_at.clone().min(p.results.started_at.clone());
        server_side |= p.results.cost.is_some() || p.results.server.is_some();
        warnings.extend(
            p.results
                .warnings
                .iter()
                .map(|w| format!("shard {}/{}: {w}", p.index, p.info.count)),
        );
    }
    if server_side {
        warnings.push(
            "the shards' server-side metrics and run cost are not merged (each shard priced \
             only its own share); see each shard's results"
                .into(),
        );
        out.cost = None;
        out.server = None;
    }
    // The whole load in words, as the run would have described it unsplit.
    if first.info.profiles.len() == out.endpoints.len() {
        for (run, profile) in out.endpoints.iter_mut().zip(&first.info.profiles) {
            run.profile.clone_from(profile);
        }
    }
    out.warnings = warnings;
    out.shard = Some(ShardInfo {
        index: None,
        ..first.info
    });
    out
}

/// Add `b` (the same round and side of another shard) into `a`.
fn add_round(a: &mut RoundRecord, b: &RoundRecord) {
    a.data.merge(&b.data);
    // The shards ran at once: the phase took as long as its slowest shard.
    a.elapsed = a.elapsed.max(b.elapsed);
    a.window = match (a.window, b.window) {
        (Some(x), Some(y)) => Some(Window {
            start_ms: x.start_ms.min(y.start_ms),
            end_ms: x.end_ms.max(y.end_ms),
        }),
        (x, y) => x.or(y),
    };
    a.cpu = match (a.cpu, b.cpu) {
        (Some(x), Some(y)) => Some(x + y),
        _ => None,
    };
    a.cost = match (a.cost, b.cost) {
        (Some(x), Some(y)) => x.checked_add(y).ok(),
        _ => None,
    };
    a.pacing = match (a.pacing, b.pacing) {
        (Some(x), Some(y)) => Some(add_pacing(x, y, &a.data.lag)),
        (x, y) => x.or(y),
    };
}

/// Open-loop pacing of two shards of one phase: rates and counts add; the lag
/// percentiles are read again from the merged lag histogram.
fn add_pacing(
    a: PacingReport,
    b: PacingReport,
    lag: &hdrhistogram::Histogram<u64>,
) -> PacingReport {
    let lag_ms = |per_mille| crate::stats::quantile_ms(lag, per_mille).unwrap_or(0.0);
    let target_rate = a.target_rate + b.target_rate;
    let achieved_rate = a.achieved_rate + b.achieved_rate;
    let unsent = a.unsent + b.unsent;
    PacingReport {
        target_rate,
        planned: a.planned + b.planned,
        achieved_rate,
        lag_p99_ms: lag_ms(990),
        lag_max_ms: lag_ms(1000),
        queued: a.queued + b.queued,
        unsent,
        valid: a.valid && b.valid,
    }
}
