//! Learned noise floors: how far apart two measurements of the same code land,
//! learned per endpoint from stored A/A-like differences (as ClickHouse's
//! performance comparison learns each query's threshold from its history).

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
}
