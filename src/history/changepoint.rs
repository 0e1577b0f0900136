//! Change points in a series of stored results (p99 of an endpoint over the
//! commits of the default branch): where the level moved, so a creep that no single
//! pull request crossed is seen.
//!
//! The method is the t-test variant of E-divisive used by Apache Otava (Hunter):
//! binary segmentation, each split placed where the two-sample t between the two sides is
//! largest, kept only when a permutation test says a split that large is unlikely in
//! a series without one. Latencies are compared on a log scale (changes are
//! multiplicative). Deterministic: the permutations come from a fixed seed.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// How change points are searched.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Fewest points on each side of a split.
    pub min_segment: usize,
    /// A split is kept when its permutation p-value is below this.
    pub alpha: f64,
    /// Permutations per test.
    pub permutations: usize,
    /// Seed of the permutations.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_segment: 4,
            alpha: 0.01,
            permutations: 199,
            seed: 0x7a11_6a7e,
        }
    }
}

/// A change point: the series' level differs from `index` on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// The first point of the new level.
    pub index: usize,
    /// Relative change of the (geometric) mean level: `0.10` is +10 %.
    pub change: f64,
    /// The permutation p-value of the split.
    pub p_value: f64,
}

/// The two-sample |t| (pooled variance) of every split of `x` with `min` points on
/// each side: the best split. Pooling keeps a few quiet points at an edge from
/// looking like a level of their own (Welch's t is unstable there).
fn best_split(x: &[f64], min: usize) -> Option<(usize, f64)> {
    let n = x.len();
    if n < 2 * min {
        return None;
    }
    let mut sum = vec![0.0; n + 1];
    let mut sq = vec![0.0; n + 1];
    for (i, v) in x.iter().enumerate() {
        sum[i + 1] = sum[i] + v;
        sq[i + 1] = sq[i] + v * v;
    }
    let stats = |from: usize, to: usize| {
        let k = (to - from) as f64;
        let mean = (sum[to] - sum[from]) / k;
        let var = ((sq[to] - sq[from]) - k * mean * mean).max(0.0) / (k - 1.0).max(1.0);
        (mean, var, k)
    };
    let mut best: Option<(usize, f64)> = None;
    for split in min..=(n - min) {
        let (m1, v1, k1) = stats(0, split);
        let (m2, v2, k2) = stats(split, n);
        let pooled = ((k1 - 1.0) * v1 + (k2 - 1.0) * v2) / (k1 + k2 - 2.0);
        let se = (pooled * (1.0 / k1 + 1.0 / k2)).sqrt();
        let diff = (m2 - m1).abs();
        let t = if se > f64::EPSILON * diff.max(1.0) {
            diff / se
        } else if diff > 0.0 {
            f64::MAX
        } else {
            0.0
        };
        if best.is_none_or(|(_, b)| t > b) {
            best = Some((split, t));
        }
    }
    best
}

fn segment(
    x: &[f64],
    offset: usize,
    opts: &Options,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<ChangePoint>,
) {
    let Some((split, t)) = best_split(x, opts.min_segment) else {
        return;
    };
    if t == 0.0 {
        return;
    }
    let mut shuffled = x.to_vec();
    let mut at_least = 0usize;
    for _ in 0..opts.permutations {
        shuffled.shuffle(rng);
        if best_split(&shuffled, opts.min_segment).is_some_and(|(_, tp)| tp >= t) {
            at_least += 1;
        }
    }
    let p_value = (1 + at_least) as f64 / (1 + opts.permutations) as f64;
    if p_value >= opts.alpha {
        return;
    }
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let change = (mean(&x[split..]) - mean(&x[..split])).exp() - 1.0;
    segment(&x[..split], offset, opts, rng, out);
    out.push(ChangePoint {
        index: offset + split,
        change,
        p_value,
    });
    segment(&x[split..], offset + split, opts, rng, out);
}

/// The change points of `series` (positive values, e.g. p99 in ms), in order.
/// Points that are not positive and finite are skipped for the test, and indices
/// refer to the series as given.
pub fn detect(series: &[f64], opts: &Options) -> Vec<ChangePoint> {
    let kept: Vec<(usize, f64)> = series
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite() && **v > 0.0)
        .map(|(i, v)| (i, v.ln()))
        .collect();
    let logs: Vec<f64> = kept.iter().map(|(_, v)| *v).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut found = Vec::new();
    segment(&logs, 0, opts, &mut rng, &mut found);
    found
        .into_iter()
        .map(|c| ChangePoint {
            index: kept[c.index].0,
            ..c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// A standard normal draw (Box-Muller).
    fn normal(rng: &mut impl Rng) -> f64 {
        let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
        let u2: f64 = rng.gen();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn series(seed: u64, n: usize, step_at: Option<usize>, step: f64, noise: f64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let level = if step_at.is_some_and(|s| i >= s) {
                    100.0 * (1.0 + step)
                } else {
                    100.0
                };
                level * (1.0 + noise * normal(&mut rng))
            })
            .collect()
    }

    #[test]
    fn a_ten_percent_step_in_five_percent_noise_is_found_where_it_is() {
        let seeds = 200;
        let mut hits = 0;
        for seed in 0..seeds {
            let s = series(seed, 80, Some(50), 0.10, 0.05);
            let found = detect(&s, &Options::default());
            if found
                .iter()
                .any(|c| c.index.abs_diff(50) <= 3 && c.change > 0.0)
            {
                hits += 1;
            }
        }
        eprintln!("step found within ±3 points in {hits} of {seeds} seeds");
        // The bar: within ±3 points in at least 90 % of seeds.
        assert!(hits * 100 >= seeds * 90, "found in {hits} of {seeds} seeds");
    }

    #[test]
    fn a_flat_series_is_rarely_flagged() {
        let seeds = 200;
        let flagged = (0..seeds)
            .filter(|&seed| {
                !detect(
                    &series(1000 + seed, 80, None, 0.0, 0.05),
                    &Options::default(),
                )
                .is_empty()
            })
            .count() as u64;
        eprintln!("flat series flagged in {flagged} of {seeds} seeds");
        assert!(
            flagged * 100 <= seeds * 5,
            "flagged {flagged} of {seeds} flat series"
        );
    }

    #[test]
    fn short_constant_and_odd_series_do_not_panic() {
        let opts = Options::default();
        assert!(detect(&[], &opts).is_empty());
        assert!(detect(&[1.0; 3], &opts).is_empty());
        assert!(detect(&[5.0; 40], &opts).is_empty());
        let mut s = vec![10.0; 20];
        s.extend([20.0; 20]);
        let found = detect(&s, &opts);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].index, 20);
        assert!((found[0].change - 1.0).abs() < 1e-9);
        let with_gaps = [f64::NAN, 0.0, -1.0, 3.0, f64::INFINITY];
        assert!(detect(&with_gaps, &opts).is_empty());
    }
}
