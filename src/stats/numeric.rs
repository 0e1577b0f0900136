//! The few special functions the statistics need: the standard normal and Student's t
//! distributions (CDF and quantile).
//!
//! Implemented here rather than taken from a crate: `statrs` is not among the
//! vendored dependencies and drags in `nalgebra` by default, while the whole need is
//! four functions. The methods are the textbook ones, each checked against published
//! table values in the tests below:
//!
//! - `ln Γ`: the Lanczos approximation (g = 7, 9 coefficients; relative error below
//!   1e-15 for positive arguments).
//! - Regularised incomplete gamma `P(a, x)` / `Q(a, x)`: series for `x < a + 1`,
//!   continued fraction (modified Lentz) otherwise — Press et al., *Numerical Recipes*,
//!   3rd ed., §6.2. The normal CDF is `Φ(x) = Q(1/2, x²/2) / 2` for `x < 0`.
//! - Regularised incomplete beta `I_x(a, b)`: continued fraction (modified Lentz),
//!   *Numerical Recipes* §6.4. Student's t CDF is `1 - I_{ν/(ν+t²)}(ν/2, 1/2) / 2` for
//!   `t > 0`.
//! - Quantiles: a closed-form start (Abramowitz & Stegun 26.2.23 for the normal; the
//!   normal quantile with the Cornish–Fisher correction for t) refined by safeguarded
//!   Newton steps on the CDF until the step is below 1e-14 relative.

use std::f64::consts::PI;

const EPS: f64 = 1e-15;
const FPMIN: f64 = 1e-300;
const MAX_ITER: usize = 300;

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised upper incomplete gamma `Q(a, x) = Γ(a, x) / Γ(a)`.
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let front = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        // Series for P(a, x).
        let mut ap = a;
        let mut del = 1.0 / a;
        let mut sum = del;
        for _ in 0..MAX_ITER {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * EPS {
                break;
            }
        }
        1.0 - sum * front
    } else {
        // Continued fraction for Q(a, x).
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / FPMIN;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..MAX_ITER {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < FPMIN {
                d = FPMIN;
            }
            c = b + an / c;
            if c.abs() < FPMIN {
                c = FPMIN;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < EPS {
                break;
            }
        }
        front * h
    }
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < FPMIN {
        d = FPMIN;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < FPMIN {
            d = FPMIN;
        }
        c = 1.0 + aa / c;
        if c.abs() < FPMIN {
            c = FPMIN;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < FPMIN {
            d = FPMIN;
        }
        c = 1.0 + aa / c;
        if c.abs() < FPMIN {
            c = FPMIN;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Regularised incomplete beta `I_x(a, b)` for `0 <= x <= 1`.
fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Standard normal density.
fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// Standard normal CDF `Φ(x)`, accurate in both tails.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let tail = 0.5 * gamma_q(0.5, 0.5 * x * x);
    if x < 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// Standard normal quantile `Φ⁻¹(p)` for `0 < p < 1` (±∞ at 0 and 1).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    // Work in the lower tail for accuracy.
    let (q, sign) = if p < 0.5 { (p, -1.0) } else { (1.0 - p, 1.0) };
    // Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4) as the start.
    let t = (-2.0 * q.ln()).sqrt();
    let mut x = t
        - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
            / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t);
    // x is the upper-tail quantile: Q(x) = 1 - Φ(x) = q. Newton on the tail.
    for _ in 0..50 {
        let f = normal_cdf(-x) - q;
        let step = f / normal_pdf(x);
        x += step;
        if step.abs() <= 1e-14 * x.abs().max(1.0) {
            break;
        }
    }
    sign * x
}

/// Student's t density with `df` degrees of freedom.
fn t_pdf(t: f64, df: f64) -> f64 {
    let ln = ln_gamma(0.5 * (df + 1.0))
        - ln_gamma(0.5 * df)
        - 0.5 * (df * PI).ln()
        - 0.5 * (df + 1.0) * (1.0 + t * t / df).ln();
    ln.exp()
}

/// Upper tail `P(T > t)` of Student's t for `t >= 0`.
fn t_upper_tail(t: f64, df: f64) -> f64 {
    0.5 * beta_inc(0.5 * df, 0.5, df / (df + t * t))
}

/// Survival function `P(T > t)` of Student's t, accurate far into the upper tail.
pub(crate) fn t_sf(t: f64, df: f64) -> f64 {
    if t >= 0.0 {
        if t == f64::INFINITY {
            return 0.0;
        }
        t_upper_tail(t, df)
    } else {
        1.0 - t_sf(-t, df)
    }
}

/// Student's t CDF with `df > 0` degrees of freedom.
#[cfg(test)]
pub(crate) fn t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t == f64::INFINITY {
        return 1.0;
    }
    if t == f64::NEG_INFINITY {
        return 0.0;
    }
    if t >= 0.0 {
        1.0 - t_upper_tail(t, df)
    } else {
        t_upper_tail(-t, df)
    }
}

/// Student's t quantile with `df > 0` degrees of freedom, for `0 < p < 1`.
pub(crate) fn t_quantile(p: f64, df: f64) -> f64 {
    if p.is_nan() || df.is_nan() || df <= 0.0 || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    let (q, sign) = if p < 0.5 { (p, -1.0) } else { (1.0 - p, 1.0) };
    // Start: the normal quantile with the first Cornish–Fisher terms (Abramowitz &
    // Stegun 26.7.5); good for moderate df, and Newton fixes the rest.
    let z = -normal_quantile(q);
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let mut x = (z + g1 / df + g2 / (df * df)).max(1e-3);
    // Bracket [lo, hi] on the upper-tail quantile, then Newton with bisection fallback.
    let mut lo = 0.0;
    let mut hi = f64::INFINITY;
    for _ in 0..200 {
        let f = t_upper_tail(x, df) - q; // decreasing in x
        if f > 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let mut next = x + f / t_pdf(x, df);
        if !(next > lo && next < hi && next.is_finite()) {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * x
            };
        }
        let done = (next - x).abs() <= 1e-14 * x.abs().max(1.0);
        x = next;
        if done {
            break;
        }
    }
    sign * x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!(ln_gamma(2.0).abs() < 1e-14);
        assert!(close(ln_gamma(5.0), 24.0_f64.ln(), 1e-14));
        assert!(close(ln_gamma(0.5), PI.sqrt().ln(), 1e-13));
        assert!(close(
            ln_gamma(10.5),
            1_133_278.388_948_785_5_f64.ln(),
            1e-13
        ));
    }

    #[test]
    fn normal_cdf_table_values() {
        assert!(close(normal_cdf(1.96), 0.975_002_104_851_779_5, 1e-13));
        assert!(close(normal_cdf(-1.96), 0.024_997_895_148_220_435, 1e-12));
        assert!(close(normal_cdf(0.0), 0.5, 1e-15));
        assert!(close(normal_cdf(-5.0), 2.866_515_718_791_939e-7, 1e-10));
        assert!(close(normal_cdf(-10.0), 7.619_853_024_160_527e-24, 1e-8));
    }

    #[test]
    fn normal_quantile_table_values() {
        assert!(close(normal_quantile(0.975), 1.959_963_984_540_054, 1e-13));
        assert!(close(normal_quantile(0.025), -1.959_963_984_540_054, 1e-13));
        assert!(close(normal_quantile(0.95), 1.644_853_626_951_472_2, 1e-13));
        assert!(close(
            normal_quantile(0.999),
            3.090_232_306_167_813_5,
            1e-12
        ));
        assert!(close(normal_quantile(1e-10), -6.361_340_902_404_056, 1e-11));
        assert_eq!(normal_quantile(0.5), 0.0);
    }

    #[test]
    fn t_quantile_table_values() {
        assert!(close(t_quantile(0.975, 1.0), 12.706_204_736_174_7, 1e-11));
        assert!(close(t_quantile(0.975, 5.0), 2.570_581_835_636_314, 1e-12));
        assert!(close(t_quantile(0.975, 10.0), 2.228_138_851_986_274, 1e-12));
        assert!(close(t_quantile(0.995, 3.0), 5.840_909_309_733_349, 1e-11));
        assert!(close(t_quantile(0.95, 20.0), 1.724_718_242_920_787, 1e-12));
        assert!(close(
            t_quantile(0.025, 10.0),
            -2.228_138_851_986_274,
            1e-12
        ));
        // Large df: z + (z³ + z) / 4ν.
        assert!(close(t_quantile(0.975, 1e6), 1.959_966_357, 1e-9));
    }

    #[test]
    fn t_closed_forms() {
        for &p in &[0.6, 0.9, 0.975, 0.999, 0.01] {
            // df = 1 is Cauchy; df = 2 has t = (2p - 1) / sqrt(2p(1 - p)).
            assert!(
                close(t_quantile(p, 1.0), (PI * (p - 0.5)).tan(), 1e-12),
                "{p}"
            );
            let two = (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
            assert!(close(t_quantile(p, 2.0), two, 1e-12), "{p}");
        }
    }

    #[test]
    fn t_cdf_matches_integrated_density() {
        // Simpson's rule on the density, independent of the incomplete beta.
        for &(df, x) in &[(10.0, 2.228_138_851_986_274), (3.0, 1.5), (25.0, 3.2)] {
            let n = 20_000;
            let h = x / n as f64;
            let mut s = t_pdf(0.0, df) + t_pdf(x, df);
            for i in 1..n {
                s += if i % 2 == 1 { 4.0 } else { 2.0 } * t_pdf(i as f64 * h, df);
            }
            let integral = 0.5 + s * h / 3.0;
            assert!(close(t_cdf(x, df), integral, 1e-12), "df {df} x {x}");
        }
    }

    #[test]
    fn t_sf_is_the_upper_tail() {
        assert!(close(t_sf(2.228_138_851_986_274, 10.0), 0.025, 1e-12));
        assert!(close(t_sf(-1.0, 5.0), t_cdf(1.0, 5.0), 1e-14));
        assert!(t_sf(60.0, 10.0) > 0.0 && t_sf(60.0, 10.0) < 1e-13);
        assert_eq!(t_sf(f64::INFINITY, 3.0), 0.0);
    }

    #[test]
    fn t_cdf_inverts_quantile() {
        for &df in &[1.0, 2.0, 3.0, 7.0, 11.0, 19.0, 60.0] {
            for &p in &[
                1e-8, 1e-4, 0.001, 0.0125, 0.025, 0.3, 0.5, 0.9, 0.99, 0.9999,
            ] {
                let x = t_quantile(p, df);
                assert!(
                    close(t_cdf(x, df), p, 1e-10),
                    "df {df} p {p}: {}",
                    t_cdf(x, df)
                );
            }
        }
    }
}
