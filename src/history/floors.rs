//! Learned noise floors: how far apart two measurements of the same code land,
//! learned per endpoint and metric from the history (as ClickHouse's performance
//! comparison learns each query's threshold from the history of its runs:
//! <https://clickhouse.com/blog/testing-the-performance-of-click-house>).
//!
//! Two estimates, the larger wins:
//! - [`between_deployments`]: the run-to-run changes of the branch between stored
//!   runs with no change point between them. Each run deployed the code afresh, so
//!   these changes hold the noise a pull request's comparison of two deployments
//!   (base and head) meets: process placement, warm caches, a noisy neighbour.
//! - [`learned`]: the A/A split of each run's rounds (odd vs even), the noise
//!   inside one deployment. It never sees the noise between deployments.

/// The floor under which `diffs` (relative A/A differences, `0.03` = 3 %) say a
/// change is noise: the 95th percentile of their sizes (nearest rank), at least
/// [`MIN_FLOOR`]. `None` with fewer than `min_runs` differences.
pub fn learned(diffs: &[f64], min_runs: usize) -> Option<f64> {
    let mut sizes: Vec<f64> = diffs
        .iter()
        .filter(|d| d.is_finite())
        .map(|d| d.abs())
        .collect();
    if sizes.len() < min_runs.max(1) {
        return None;
    }
    sizes.sort_by(f64::total_cmp);
    // The one percentile rule's rank (integer, no float rounding up a rank).
    let rank = crate::stats::nearest_rank(sizes.len() as u64, 950) as usize;
    Some(sizes[rank.min(sizes.len()) - 1].max(MIN_FLOOR))
}

/// The two-sided 99 % normal quantile: a comparison of two deployments of unchanged
/// code lands beyond `Z_99 × σ` once in a hundred.
pub const Z_99: f64 = 2.575_829_3;

/// The share of the run-to-run changes the spread is read from: the largest 10 %
/// are left out, so one run that met a noisy neighbour (a change up, then one down)
/// does not set the floor for every pull request after it.
const SPREAD_QUANTILE: u64 = 900;

/// The standard normal quantile of [`SPREAD_QUANTILE`] for sizes `|x|`: the 90th
/// percentile of `|N(0, σ)|` is `1.645 σ`.
const Z_SPREAD: f64 = 1.644_853_6;

/// The floor under which `changes` (relative run-to-run changes of the branch
/// between deployments of the same code, `0.03` = +3 %) say a change is noise:
/// on the log scale, the spread `σ` of the changes, read robustly from the 90th
/// percentile of their sizes (nearest rank) as `q90 / 1.645`, and the floor
/// `exp(Z_99 × σ) − 1`, at least [`MIN_FLOOR`]. A run-to-run change is the
/// difference of two independent deployments: the spread a pull request's
/// base-vs-head comparison has when neither changed. `None` with fewer than
/// `min_changes` finite changes.
pub fn between_deployments(changes: &[f64], min_changes: usize) -> Option<f64> {
    let mut sizes: Vec<f64> = changes
        .iter()
        .filter(|c| c.is_finite() && **c > -1.0)
        .map(|c| c.ln_1p().abs())
        .collect();
    if sizes.len() < min_changes.max(1) {
        return None;
    }
    sizes.sort_by(f64::total_cmp);
    let rank = crate::stats::nearest_rank(sizes.len() as u64, SPREAD_QUANTILE) as usize;
    let sigma = sizes[rank.clamp(1, sizes.len()) - 1] / Z_SPREAD;
    Some((Z_99 * sigma).exp_m1().max(MIN_FLOOR))
}

/// The smallest floor learned: below it a comparison would call timer jitter a change.
pub const MIN_FLOOR: f64 = 0.005;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_the_95th_percentile_of_the_sizes() {
        let diffs: Vec<f64> = (1..=20)
            .map(|i| {
                if i % 2 == 0 {
                    i as f64 / 1000.0
                } else {
                    -(i as f64) / 1000.0
                }
            })
            .collect();
        // 20 sizes 0.001..0.020: rank ceil(19) = 19 -> 0.019.
        assert_eq!(learned(&diffs, 10), Some(0.019));
        assert_eq!(learned(&diffs[..5], 10), None);
        assert_eq!(learned(&[0.0001; 12], 10), Some(MIN_FLOOR));
        assert_eq!(learned(&[f64::NAN; 12], 10), None);
    }

    #[test]
    fn the_deployment_floor_covers_the_spread_of_run_to_run_changes() {
        // Uniform ±3 % per deployment: run-to-run changes up to ±6 %, σ ≈ 2.45 %.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let levels: Vec<f64> = (0..201).map(|_| 1.0 + rng.gen_range(-0.03..0.03)).collect();
        let changes: Vec<f64> = levels.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        let floor = between_deployments(&changes, 10).unwrap();
        let largest = changes.iter().map(|c| c.abs()).fold(0.0, f64::max);
        assert!(floor > 0.05 && floor < 0.08, "{floor}");
        assert!(
            floor >= largest * 0.9,
            "{floor} vs the largest change {largest}"
        );
        assert_eq!(between_deployments(&changes[..3], 10), None);
        assert_eq!(between_deployments(&[0.0; 12], 10), Some(MIN_FLOOR));
        // One noisy run (a change of +80 %, then −45 %) among 40 quiet ones does
        // not set the floor.
        let mut spiky = changes[..40].to_vec();
        spiky.extend([0.8, -0.45]);
        let with_spike = between_deployments(&spiky, 10).unwrap();
        assert!(with_spike < 0.09, "{with_spike}");
        assert_eq!(between_deployments(&[f64::NAN, -2.0], 1), None);
    }
}
