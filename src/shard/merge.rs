//! Merging shard results into the results of the whole run: checks that the shards
//! belong together, then adds them (round by round, side by side).

use std::collections::BTreeMap;

use crate::bench::{EndpointRun, PacingReport, RoundRecord, Window};
use crate::results::{Dropped, PhaseTogether, RunResults, ShardClock, ShardInfo, Together};
use crate::side::Side;

use super::align::{self, RoundVerdict, ShardView};

/// How `merge` treats rounds the shards did not measure together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MergeOptions {
    /// The least overlap of the shards' windows a merged phase needs (0 to 1;
    /// default [`align::MIN_OVERLAP`], 95 %).
    pub min_overlap: f64,
    /// Drop (and report) rounds below it instead of refusing the merge.
    pub drop_apart: bool,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            min_overlap: align::MIN_OVERLAP,
            drop_apart: false,
        }
    }
}

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
    /// Shards given different shared starts.
    #[error("{a} was started at --start-at {a_start} but {b} at {b_start}: give every shard of a run the same --start-at")]
    StartAt {
        /// One file.
        a: String,
        /// Its start.
        a_start: String,
        /// Another file.
        b: String,
        /// Its start.
        b_start: String,
    },
    /// Rounds whose windows overlapped too little.
    #[error("the shards did not measure {} together: {}{}. Start every shard of a run with the same --start-at (see examples/workflows/sharded.yml), or merge with --drop-apart to leave these rounds out and report them", plural_rounds(rounds.len()), rounds.iter().take(6).cloned().collect::<Vec<_>>().join("; "), if rounds.len() > 6 { format!("; and {} more", rounds.len() - 6) } else { String::new() })]
    Apart {
        /// Each round, in words: endpoint, round, overlap, the shards.
        rounds: Vec<String>,
    },
    /// An endpoint left with too few rounds measured together.
    #[error("endpoint `{endpoint}` has {kept} of {rounds} rounds measured together by every shard, too few to compare (at least 2): {why}")]
    TooFew {
        /// The endpoint.
        endpoint: String,
        /// Rounds kept.
        kept: usize,
        /// Rounds run.
        rounds: u32,
        /// The first dropped round's reason.
        why: String,
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

fn plural_rounds(n: usize) -> String {
    if n == 1 {
        "1 round".into()
    } else {
        format!("{n} rounds")
    }
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

/// The (round, side) keys of a run's rounds and the ones it missed, sorted.
fn keys(run: &EndpointRun) -> Vec<(u32, Side)> {
    let mut keys: Vec<(u32, Side)> = run
        .rounds
        .iter()
        .map(|r| (r.round, r.side))
        .chain(run.missed.iter().map(|m| (m.round, m.side)))
        .collect();
    keys.sort();
    keys
}

/// Check that `files` (path, results) are the N shards of one run and that they
/// measured together, then add them into the results of the whole run.
/// Comparisons and verdict are left as shard 1 had them: judge the merged rounds
/// afterwards (as `tailgate compare` does).
pub fn merge(
    files: Vec<(String, RunResults)>,
    options: &MergeOptions,
) -> Result<RunResults, MergeError> {
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
        let start_of = |p: &Part| p.info.start.as_ref().map(|s| s.start_at.clone());
        if start_of(p) != start_of(first) {
            let words = |s: Option<String>| s.unwrap_or_else(|| "none (its own clock)".into());
            return Err(MergeError::StartAt {
                a: first.path.clone(),
                a_start: words(start_of(first)),
                b: p.path.clone(),
                b_start: words(start_of(p)),
            });
        }
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
    let together = together(&parts, options)?;
    Ok(add(parts, together))
}

/// Whether the checked shards measured each round together: per endpoint and
/// round, kept or dropped; refused when rounds were apart and `options` does not
/// drop them, or when an endpoint is left with fewer than 2 rounds.
fn together(parts: &[Part], options: &MergeOptions) -> Result<Together, MergeError> {
    let views: Vec<ShardView<'_>> = parts
        .iter()
        .map(|p| ShardView {
            index: p.index,
            count: p.info.count,
            endpoints: &p.results.endpoints,
            start: p.info.start.as_ref(),
        })
        .collect();
    let (correction, on_target_clock) = align::corrections(&views);
    let mut phases: Vec<PhaseTogether> = Vec::new();
    let mut dropped: Vec<Dropped> = Vec::new();
    let mut apart: Vec<String> = Vec::new();
    let rounds = parts[0].results.settings.rounds;
    for (e, run) in parts[0].results.endpoints.iter().enumerate() {
        let mut numbers: Vec<u32> = keys(run).into_iter().map(|k| k.0).collect();
        numbers.dedup();
        let mut kept = 0usize;
        let mut first_why = None;
        for &r in &numbers {
            match align::round(&views, &correction, e, r, options.min_overlap) {
                RoundVerdict::Kept(p) => {
                    kept += 1;
                    phases.extend(p);
                }
                RoundVerdict::Missed(d) => {
                    first_why.get_or_insert_with(|| d.reason.clone());
                    dropped.push(d);
                }
                RoundVerdict::Apart(d, p) => {
                    first_why.get_or_insert_with(|| d.reason.clone());
                    if !options.drop_apart {
                        apart.push(format!(
                            "`{}` round {}: {}",
                            d.endpoint,
                            d.round + 1,
                            d.reason
                        ));
                    }
                    phases.extend(p);
                    dropped.push(d);
                }
            }
        }
        if apart.is_empty() && kept < 2 {
            return Err(MergeError::TooFew {
                endpoint: run.name.clone(),
                kept,
                rounds,
                why: first_why.unwrap_or_else(|| "no rounds".into()),
            });
        }
    }
    if !apart.is_empty() {
        return Err(MergeError::Apart { rounds: apart });
    }
    let dropped_keys: Vec<(&str, u32)> = dropped
        .iter()
        .map(|d| (d.endpoint.as_str(), d.round))
        .collect();
    let kept: Vec<&PhaseTogether> = phases
        .iter()
        .filter(|p| !dropped_keys.contains(&(p.endpoint.as_str(), p.round)))
        .collect();
    let mut skews: Vec<f64> = kept.iter().map(|p| p.skew_ms).collect();
    skews.sort_by(f64::total_cmp);
    let median_skew_ms = match skews.len() {
        0 => 0.0,
        n if n % 2 == 1 => skews[n / 2],
        n => (skews[n / 2 - 1] + skews[n / 2]) / 2.0,
    };
    Ok(Together {
        start_at: parts[0].info.start.as_ref().map(|s| s.start_at.clone()),
        min_overlap: options.min_overlap,
        on_target_clock,
        shards: parts
            .iter()
            .zip(&correction)
            .map(|(p, c)| ShardClock {
                index: p.index,
                late_ms: p.info.start.as_ref().map_or(0, |s| s.late_ms),
                clock: p.info.start.as_ref().and_then(|s| s.clock),
                correction_ms: *c,
            })
            .collect(),
        max_skew_ms: skews.last().copied().unwrap_or(0.0),
        median_skew_ms,
        least_overlap: kept.iter().map(|p| p.overlap).fold(1.0, f64::min),
        phases,
        dropped,
    })
}

/// Add checked shards (sorted by index) into one run, leaving out the rounds
/// `together` dropped.
fn add(parts: Vec<Part>, together: Together) -> RunResults {
    let dropped: Vec<(String, u32)> = together
        .dropped
        .iter()
        .map(|d| (d.endpoint.clone(), d.round))
        .collect();
    let is_dropped =
        |run: &EndpointRun, r: &RoundRecord| dropped.contains(&(run.name.clone(), r.round));
    let rate_of = |run: &EndpointRun, r: &RoundRecord| {
        together
            .phases
            .iter()
            .find(|p| p.endpoint == run.name && p.round == r.round && p.side == r.side)
            .map(|p| p.rate)
    };
    let mut parts = parts.into_iter();
    let first = parts.next().expect("merge checked that there is a shard");
    let mut out = first.results;
    for run in &mut out.endpoints {
        let keep: Vec<RoundRecord> = run
            .rounds
            .iter()
            .filter(|r| !is_dropped(run, r))
            .cloned()
            .collect();
        run.rounds = keep;
        run.missed.clear();
    }
    let mut warnings: Vec<String> = out
        .warnings
        .drain(..)
        .map(|w| format!("shard {}/{}: {w}", first.index, first.info.count))
        .collect();
    let mut server_side = out.cost.is_some() || out.server.is_some();
    for p in parts {
        for (mine, theirs) in out.endpoints.iter_mut().zip(&p.results.endpoints) {
            for a in mine.rounds.iter_mut() {
                if let Some(b) = theirs
                    .rounds
                    .iter()
                    .find(|b| b.round == a.round && b.side == a.side)
                {
                    add_round(a, b);
                }
            }
        }
        // traces (issue 27): the shards traced the same rounds; their spans add up.
        if let Some(theirs) = &p.results.traces {
            out.traces
                .get_or_insert_with(Default::default)
                .absorb(theirs);
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
    // A merged round's rate is the sum of the shards' rates (the load the target
    // saw at once, over windows that overlapped): its time is the one at which
    // its requests make that rate.
    for run in &mut out.endpoints {
        let rates: Vec<Option<f64>> = run.rounds.iter().map(|r| rate_of(run, r)).collect();
        for (r, rate) in run.rounds.iter_mut().zip(rates) {
            let at = rate.filter(|x| *x > 0.0).and_then(|rate| {
                std::time::Duration::try_from_secs_f64(r.data.total() as f64 / rate).ok()
            });
            if let Some(at) = at {
                r.elapsed = at;
            }
        }
    }
    for d in &together.dropped {
        warnings.push(format!(
            "`{}` round {} was left out of the merge: {}",
            d.endpoint,
            d.round + 1,
            d.reason
        ));
    }
    out.warnings = warnings;
    out.shard = Some(ShardInfo {
        index: None,
        start: None,
        together: Some(together),
        ..first.info
    });
    out
}

/// Add `b` (the same round and side of another shard) into `a`.
fn add_round(a: &mut RoundRecord, b: &RoundRecord) {
    a.data.merge(&b.data);
    // The shards ran at once (their rates are added afterwards, see `add`).
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
