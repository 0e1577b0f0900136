//! Which percentiles the rounds can estimate, and blocks of rounds for those a single
//! round cannot.
//!
//! # The rule
//!
//! A set of `n` samples estimates the `q`-quantile only with at least
//! [`MIN_BEYOND`] samples beyond it: `n · (1 − q) ≥ 10`, so p50 needs 20 samples,
//! p95 200, p99 1,000 and p99.9 10,000. The spread of a tail quantile's estimate is
//! governed by the number of samples beyond it, not by `n` (the variance of an order
//! statistic near the tail is about `q(1 − q) / (n f(x_q)²)`, and for the heavy
//! tails of latency the density `f` there falls as the tail thins: H. A. David and
//! H. N. Nagaraja, *Order Statistics*, 3rd ed., 2003, §10.2). With fewer than ten
//! samples beyond it a round's "p99" is one of its largest few latencies, and
//! per-round ratios of it span orders of magnitude (`[−84 %, +19370 %]` was seen at
//! 100 requests per round).
//!
//! # Units of the interval
//!
//! The point estimate is the percentile of all merged rounds of a side, so it
//! needs `n · (1 − q) ≥ 10` over the whole run: with fewer samples in all, the
//! percentile is **not estimable at this load** — reported with the requests a
//! round had and what it needs, never judged and never a warning.
//!
//! The interval needs units (what is resampled, or whose per-unit values give the
//! t-interval) — chosen in this order:
//!
//! 1. **rounds**, when a typical round alone estimates the percentile;
//! 2. **blocks** of `b` consecutive rounds of each side (round pairs `0..b`,
//!    `b..2b`, ...; the remainder joins the last block), when at least
//!    [`ENOUGH_BLOCKS`] blocks reach it: the B/H pairing is kept, since block `j`
//!    of base and of head cover the same rounds;
//! 3. **rounds under the paired bootstrap**, when blocks are too few but there
//!    are enough rounds for the bootstrap (8): its statistic is the percentile of
//!    the resampled rounds *merged*, estimable by the rule above, so a round need
//!    not estimate it alone;
//! 4. **fewer blocks**, down to [`MIN_BLOCKS`] (two: the least a spread can be
//!    taken from), for the t-interval over per-block values;
//! 5. otherwise the percentile is not estimable.
//!
//! In cases 3 and 4 the interval is wide (a few units carry the tail, the degrees
//! of freedom are few), so only a change far beyond the noise is called — a
//! dropped index at ×15 still is — and the check's minimum detectable effect says
//! what the run could see; an inconclusive change there is never a warning.
//!
//! "Typical" is the median, over the rounds with latency on both sides, of the
//! smaller side's sample count, so one round cut short by errors does not set the
//! block size.

use serde::{Deserialize, Serialize};

use super::input::{PairedRounds, Percentile, RoundObs};
use crate::side::Side;

/// Samples that must lie beyond a quantile for a set of samples to estimate it.
pub const MIN_BEYOND: u64 = 10;

/// Blocks enough for a useful interval: from four on the t quantile is at most
/// 3.2 (ν ≥ 3).
pub const ENOUGH_BLOCKS: usize = 4;

/// Fewest blocks an interval is built from at all: two (one degree of freedom,
/// so only a change many times its spread is called).
pub const MIN_BLOCKS: usize = 2;

/// Samples a set needs to estimate `p` under the rule: `⌈10 / (1 − q)⌉`.
pub fn samples_needed(p: Percentile) -> u64 {
    // Integer form of ceil(MIN_BEYOND / (1 - per_mille / 1000)).
    let beyond_per_mille = 1000 - (p.quantile() * 1000.0).round() as u64;
    (MIN_BEYOND * 1000).div_ceil(beyond_per_mille.max(1))
}

/// Why a percentile cannot be judged at this load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotEstimable {
    /// Successful requests in a typical round (the median over rounds of the smaller
    /// side).
    pub per_round: u64,
    /// Samples a unit needs for this percentile ([`samples_needed`]).
    pub needed: u64,
    /// Rounds per side that were measured.
    pub rounds: usize,
}

/// How a percentile is estimated from an endpoint's rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocking {
    /// Each round is a unit (`1`), or blocks of this many consecutive rounds.
    Rounds(usize),
    /// The run cannot estimate it (see the module's rule).
    NotEstimable(NotEstimable),
}

/// The blocking `p` needs on `rounds`, when the paired bootstrap is used from
/// `min_bootstrap_rounds` rounds on. Rounds without latency on both sides are left
/// to the comparison (which reports them as missing data).
pub fn blocking(rounds: &PairedRounds, p: Percentile, min_bootstrap_rounds: usize) -> Blocking {
    let needed = samples_needed(p);
    let usable: Vec<usize> = (0..rounds.rounds())
        .filter(|&r| {
            rounds.side(Side::Base)[r].samples() > 0 && rounds.side(Side::Head)[r].samples() > 0
        })
        .collect();
    if usable.is_empty() {
        return Blocking::Rounds(1);
    }
    let total =
        |side: Side| -> u64 { usable.iter().map(|&r| rounds.side(side)[r].samples()).sum() };
    let mut per_round: Vec<u64> = usable
        .iter()
        .map(|&r| {
            rounds.side(Side::Base)[r]
                .samples()
                .min(rounds.side(Side::Head)[r].samples())
        })
        .collect();
    per_round.sort_unstable();
    let typical = per_round[(per_round.len() - 1) / 2];
    let not_estimable = Blocking::NotEstimable(NotEstimable {
        per_round: typical,
        needed,
        rounds: rounds.rounds(),
    });
    if total(Side::Base).min(total(Side::Head)) < needed {
        return not_estimable;
    }
    let size = needed.div_ceil(typical.max(1)) as usize;
    let blocks = rounds.rounds() / size.max(1);
    if size <= 1 {
        Blocking::Rounds(1)
    } else if blocks >= ENOUGH_BLOCKS {
        Blocking::Rounds(size)
    } else if usable.len() >= min_bootstrap_rounds {
        Blocking::Rounds(1)
    } else if blocks >= MIN_BLOCKS {
        Blocking::Rounds(size)
    } else {
        not_estimable
    }
}

/// `rounds` with each side's consecutive rounds merged into blocks of `size` (the
/// remainder joins the last block): block `j` of base and head cover the same
/// rounds.
pub fn into_blocks(rounds: &PairedRounds, size: usize) -> PairedRounds {
    let n = rounds.rounds();
    let size = size.max(1);
    let count = (n / size).max(1);
    let side = |s: Side| -> Vec<RoundObs> {
        let list = rounds.side(s);
        (0..count)
            .map(|j| {
                let end = if j + 1 == count { n } else { (j + 1) * size };
                RoundObs::merged(&list[j * size..end])
            })
            .collect()
    };
    PairedRounds::from_blocks(side(Side::Base), side(Side::Head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::RoundCounters;
    use std::time::Duration;

    fn round(samples: u64) -> RoundObs {
        RoundObs::from_runs(
            vec![(1_000, samples.max(1) - 1), (5_000, 1)],
            RoundCounters {
                requests: samples,
                errors: 0,
                elapsed: Duration::from_secs(1),
            },
        )
        .unwrap()
    }

    fn paired(rounds: usize, samples: u64) -> PairedRounds {
        PairedRounds::new(
            (0..rounds).map(|_| round(samples)).collect(),
            (0..rounds).map(|_| round(samples)).collect(),
        )
        .unwrap()
    }

    #[test]
    fn ten_samples_beyond_the_quantile() {
        assert_eq!(samples_needed(Percentile::P50), 20);
        assert_eq!(samples_needed(Percentile::P95), 200);
        assert_eq!(samples_needed(Percentile::P99), 1_000);
        assert_eq!(samples_needed(Percentile::P999), 10_000);
    }

    #[test]
    fn large_rounds_are_their_own_units() {
        let r = paired(24, 2_000);
        assert_eq!(blocking(&r, Percentile::P99, 8), Blocking::Rounds(1));
        // p99.9 at 2,000 a round: blocks of 5 rounds, 4 blocks of 24 rounds.
        assert_eq!(blocking(&r, Percentile::P999, 8), Blocking::Rounds(5));
    }

    #[test]
    fn small_rounds_are_pooled_or_not_estimable() {
        // 60 requests a round, 10 rounds: p95 needs 4 rounds a block (2 blocks, too
        // few) but the bootstrap's merged rounds reach 200; p99 needs 1,000 in all
        // and 600 were measured: not estimable.
        let r = paired(10, 60);
        assert_eq!(blocking(&r, Percentile::P50, 8), Blocking::Rounds(1));
        assert_eq!(blocking(&r, Percentile::P95, 8), Blocking::Rounds(1));
        assert_eq!(
            blocking(&r, Percentile::P99, 8),
            Blocking::NotEstimable(NotEstimable {
                per_round: 60,
                needed: 1_000,
                rounds: 10
            })
        );
        // 24 rounds of 150: p95 on blocks of 2; p99 on blocks of 7 would be 3
        // blocks: the bootstrap over the rounds, merged, estimates it.
        let r = paired(24, 150);
        assert_eq!(blocking(&r, Percentile::P95, 8), Blocking::Rounds(2));
        assert_eq!(blocking(&r, Percentile::P99, 8), Blocking::Rounds(1));
        // Six rounds of 400 (the t-interval's per-round values): p99 on two
        // blocks of three rounds; six of 200 make one block: not estimable.
        assert_eq!(
            blocking(&paired(6, 400), Percentile::P99, 8),
            Blocking::Rounds(3)
        );
        assert!(matches!(
            blocking(&paired(6, 200), Percentile::P99, 8),
            Blocking::NotEstimable(_)
        ));
    }

    #[test]
    fn blocks_keep_the_pairing_and_every_sample() {
        let r = paired(10, 150);
        let b = into_blocks(&r, 3);
        assert_eq!(b.rounds(), 3);
        for side in [Side::Base, Side::Head] {
            let blocks = b.side(side);
            assert_eq!(
                blocks.iter().map(RoundObs::samples).collect::<Vec<_>>(),
                [450, 450, 600]
            );
            let total: u64 = blocks.iter().map(|o| o.counters().requests).sum();
            assert_eq!(total, 1_500);
            assert_eq!(blocks[2].counters().elapsed, Duration::from_secs(4));
        }
    }
}
