//! Judge: measured rounds in, comparisons and the verdict out, in one place.
//!
//! - [`compare`]: head vs base per endpoint and metric from the rounds, with the
//!   statistics of [`crate::stats`], and the two Holm families (the checks that
//!   can fail the run, and the rest).
//! - [`verdict`]: the rules (SLOs, budgets, load checks), the level, exit codes.
//!
//! [`judge`] is the one judging every command does: `tailgate run` on what it
//! measured, `compare`, `merge` and `publish` on a results file's rounds
//! ([`comparisons::recompute`]). Pure: values in, values out.

pub mod comparisons;
pub mod verdict;

use crate::bench::EndpointRun;
use crate::config::{CompareConfig, Mode};
use crate::side::Side;

use comparisons::{compare_all, head_only, CompareError};
use verdict::{EndpointComparison, EndpointLimits, Level, Verdict};

/// Compare `runs` under `limits` and `cfg` (its confidence already the one of a
/// look) and decide. An endpoint without base rounds (a release gate, or a stored
/// baseline that lacks it) is shown with head's values and judged by its SLOs
/// alone; the comparisons keep the order of `runs`.
pub fn judge(
    runs: &[EndpointRun],
    limits: &[EndpointLimits],
    mode: Mode,
    cfg: &CompareConfig,
    seed: u64,
) -> Result<(Vec<EndpointComparison>, Verdict), CompareError> {
    let has_base = |r: &EndpointRun| r.side(Side::Base).next().is_some();
    let comparisons = if runs.iter().all(has_base) {
        compare_all(runs, limits, cfg, seed)?
    } else {
        let (with_base, alone): (Vec<EndpointRun>, Vec<EndpointRun>) =
            runs.iter().cloned().partition(has_base);
        let mut compared = if with_base.is_empty() {
            Vec::new()
        } else {
            compare_all(&with_base, limits, cfg, seed)?
        };
        compared.extend(head_only(&alone));
        runs.iter()
            .filter_map(|r| compared.iter().find(|c| c.endpoint == r.name).cloned())
            .collect()
    };
    let mut verdict = verdict::decide_limits(mode, limits, &comparisons);
    let load_warnings = verdict::load_checks(runs);
    if !load_warnings.is_empty() {
        verdict.level = verdict.level.max(Level::Warn);
        verdict.checks.extend(load_warnings);
    }
    Ok((comparisons, verdict))
}
