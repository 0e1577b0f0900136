//! The sampling distribution of a change: a t distribution around the pooled
//! estimate, with its interval and the dual p-value, plus the helpers that estimate its
//! spread and degrees of freedom.

use super::numeric::{t_quantile, t_sf};

/// The sampling distribution of a change on the analysis scale (log ratio or
/// difference): Student's t around `center` with standard error `se`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sampling {
    pub center: f64,
    pub se: f64,
    pub df: f64,
}

impl Sampling {
    /// `(lower, upper)`, infinite where unbounded. A zero standard error gives the
    /// point (possibly infinite: a throughput of zero in every resample); an undefined
    /// one gives the whole line.
    pub fn bounds(&self, confidence: f64) -> (f64, f64) {
        if self.se == 0.0 && !self.center.is_nan() {
            return (self.center, self.center);
        }
        if !self.se.is_finite() || !self.center.is_finite() {
            return (f64::NEG_INFINITY, f64::INFINITY);
        }
        let half = t_quantile(1.0 - (1.0 - confidence) / 2.0, self.df) * self.se;
        (self.center - half, self.center + half)
    }

    pub fn p_value(&self, threshold: f64, upward: bool) -> f64 {
        let beyond = if upward {
            self.center - threshold
        } else {
            threshold - self.center
        };
        if self.se == 0.0 {
            return if beyond > 0.0 { 0.0 } else { 1.0 };
        }
        if !self.se.is_finite() || beyond.is_nan() {
            return 1.0;
        }
        (2.0 * t_sf(beyond / self.se, self.df)).min(1.0)
    }
}

/// Running mean and variance (Welford).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
    /// Non-finite values seen: the first one, and whether all were equal to it.
    infinite: Option<(f64, bool)>,
}

impl Moments {
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            self.infinite = Some(match self.infinite {
                None => (x, true),
                Some((first, same)) => (first, same && x == first),
            });
            return;
        }
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Standard deviation (divisor n - 1): 0 when every value was the same infinity
    /// (certain), infinite when finite and infinite values mix.
    pub fn sd(&self) -> f64 {
        match self.infinite {
            Some((_, true)) if self.n == 0 => 0.0,
            Some(_) => f64::INFINITY,
            None => (self.m2 / (self.n as f64 - 1.0)).sqrt(),
        }
    }
}

/// Degrees of freedom of a standard error computed from R per-round contributions
/// `u` (deviations of a mean, or jackknife influence values): `R - 1` for normal
/// contributions, fewer when their kurtosis `κ` is high, by Satterthwaite's
/// `ν = 2 σ⁴ / Var(s²)` with `Var(s²) = σ⁴ (2/(R-1) + (κ-3)/R)`. One round carrying
/// the estimate (a stall in p99.9) gives `κ ≈ R` and `ν ≈ 2`. At least 1, at most
/// `R - 1`.
pub(crate) fn satterthwaite_df(u: &[f64]) -> f64 {
    let r = u.len() as f64;
    if u.len() < 2 {
        return 1.0;
    }
    let mean = u.iter().sum::<f64>() / r;
    let (mut m2, mut m4) = (0.0, 0.0);
    for &x in u {
        let d = (x - mean) * (x - mean);
        m2 += d;
        m4 += d * d;
    }
    let spread = m2 > 0.0 && m4.is_finite();
    if !spread {
        return r - 1.0;
    }
    let kurtosis = r * m4 / (m2 * m2);
    let df = 2.0 / (2.0 / (r - 1.0) + (kurtosis - 3.0) / r);
    if df.is_finite() && df > 0.0 {
        df.clamp(1.0, r - 1.0)
    } else {
        r - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn p_value_is_dual_to_interval() {
        let s = Sampling {
            center: 0.05,
            se: 0.02,
            df: 5.0,
        };
        for &conf in &[0.9, 0.95, 0.99, 0.9999] {
            for i in 0..400 {
                let c = -0.2 + i as f64 * 0.001 + 0.000_05;
                let (lo, hi) = s.bounds(conf);
                assert_eq!(lo > c, s.p_value(c, true) < 1.0 - conf, "conf {conf} c {c}");
                assert_eq!(
                    hi < c,
                    s.p_value(c, false) < 1.0 - conf,
                    "conf {conf} c {c}"
                );
            }
        }
    }

    #[test]
    fn degenerate_spreads() {
        let zero = Sampling {
            center: 0.0,
            se: 0.0,
            df: 9.0,
        };
        assert_eq!(zero.bounds(0.99), (0.0, 0.0));
        assert_eq!(zero.p_value(0.0, true), 1.0);
        assert_eq!(zero.p_value(-0.01, true), 0.0);
        let inf = Sampling {
            center: 0.0,
            se: f64::INFINITY,
            df: 9.0,
        };
        assert_eq!(inf.bounds(0.95), (f64::NEG_INFINITY, f64::INFINITY));
        assert_eq!(inf.p_value(-1.0, true), 1.0);
        // Head served nothing in every resample: a certain ratio of 0.
        let none = Sampling {
            center: f64::NEG_INFINITY,
            se: 0.0,
            df: 9.0,
        };
        assert_eq!(none.bounds(0.95), (f64::NEG_INFINITY, f64::NEG_INFINITY));
        assert_eq!(none.p_value(-0.02, false), 0.0);
    }

    #[test]
    fn moments_match_two_pass() {
        let xs = [1.0, 2.0, 4.0, 8.0, 16.0];
        let mut m = Moments::default();
        for x in xs {
            m.push(x);
        }
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 4.0;
        assert!((m.sd() - var.sqrt()).abs() < 1e-12);
        m.push(f64::NEG_INFINITY);
        assert_eq!(m.sd(), f64::INFINITY);
        let mut same = Moments::default();
        same.push(f64::NEG_INFINITY);
        same.push(f64::NEG_INFINITY);
        assert_eq!(same.sd(), 0.0);
    }

    #[test]
    fn satterthwaite_degrees_of_freedom() {
        // Normal-looking contributions keep R - 1.
        let flat = [-1.5, -1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 1.5];
        assert!(satterthwaite_df(&flat) >= 6.0);
        // One round carrying everything: about 2.
        let mut one = [0.0; 20];
        one[7] = 1.0;
        let df = satterthwaite_df(&one);
        assert!((1.0..2.5).contains(&df), "{df}");
        // No spread, too few values.
        assert_eq!(satterthwaite_df(&[0.3; 5]), 4.0);
        assert_eq!(satterthwaite_df(&[0.3]), 1.0);
    }
}
