//! Group-sequential looks: decide a check before the most rounds are measured,
//! with the error rates of the fixed design kept across every look.
//!
//! # The design
//!
//! A run plans looks after `n_1 < n_2 < … < n_K` rounds per side (from
//! `min_rounds` on, the last at the most rounds `N`). The information of a look is
//! its fraction of the rounds, `t_k = n_k / N` (the standard error of a change
//! falls as `1/√rounds`). Of the two-sided error `α` of a check, the share spent by
//! look `k` is the Lan–DeMets O'Brien–Fleming-type spending function
//!
//! ```text
//! α(t) = 2 · (2 − 2 Φ(z(1 − α/4) / √t))
//! ```
//!
//! (each side spending its `α/2` by the one-sided function, as the published
//! tables do)
//!
//! (K. K. G. Lan and D. L. DeMets, "Discrete sequential boundaries for clinical
//! trials", *Biometrika* 70(3), 1983): almost nothing early, so an early stop needs
//! an overwhelming change, and nearly all of `α` at the last look, so the last
//! look's boundary is close to the fixed design's `z(1 − α/2)` and the power at the
//! most rounds is nearly that of the fixed design.
//!
//! The boundary `c_k` of look `k` (on the z scale) is the value for which a
//! statistic that stayed inside `(−c_j, c_j)` at every earlier look crosses it at
//! look `k` with probability `α(t_k) − α(t_{k−1})` under the null, computed by the
//! recursive numerical integration of Armitage, McPherson and Rowe ("Repeated
//! significance tests on accumulating data", *JRSS A* 132, 1969; C. Jennison and
//! B. W. Turnbull, *Group Sequential Methods with Applications to Clinical
//! Trials*, 2000, ch. 19): the statistic's partial sums have independent normal
//! increments, whose density on the continuation region is carried from look to
//! look on a grid (Simpson's rule).
//!
//! # Decisions and intervals at the stop
//!
//! A check is **decided** on its **repeated confidence interval** at look `k`,
//! `θ̂_k ± c_k · se_k` (Jennison and Turnbull, "Interim analyses: the repeated
//! confidence interval approach", *JRSS B* 51(3), 1989): the `K` intervals cover
//! the true change simultaneously with probability `1 − α`, so a check is decided
//! exactly when its repeated interval lies beyond the noise floor (regressed or
//! improved) or inside the tolerance band (unchanged), and the error rates of the
//! fixed design hold whichever look the run stops at. Stopping for "unchanged"
//! never adds a false regression (it only ends looks that could have made one);
//! its own error — calling a change at the budget unchanged — is spent by the
//! Pocock-type function ([`Spending::Pocock`]), so that a change of nothing stops
//! early.
//!
//! The repeated interval is what a run may claim at any look, but as the interval
//! *reported* at the stop it over-covers (99–100 % for a 95 % interval in the
//! simulation of `tests/stats_simulation.rs`): at an early look it is several
//! times the width of the data's own. A naive interval at a data-dependent stop
//! is biased in principle; under O'Brien–Fleming spending the bias is small,
//! because an early stop needs an overwhelming change and almost every such
//! change would have stopped there. So a decided check (and every check at the
//! last look) reports its interval at its own Holm level, nested inside the
//! repeated one, and its coverage is measured rather than assumed: 93.6–96.6 %
//! from ×1.00 to ×10 (the README's table). The exact stage-wise-ordering interval
//! (Tsiatis, Rosner and Mehta, *Biometrics* 40(3), 1984) was tried: it assumes a
//! known variance, and with an early look's few degrees of freedom a look that
//! did not stop is as often a noisy standard error as a small change, so it
//! under-covered (86 % at ×2).
//!
//! The boundary is handed to the decisions as a nominal two-sided level
//! `2(1 − Φ(c_k))` ([`Looks::nominal_level`]), at which the t-based intervals of
//! [`crate::stats::decide`] are read; Holm's levels `α/(m − j)` each get their own
//! spending (the group-sequential Holm procedure of W. Maurer and F. Bretz,
//! "Multiple testing in group sequential trials using graphical approaches",
//! *Statistics in Biopharmaceutical Research* 5(4), 2013, with Holm's graph).

use super::input::StatsError;
use super::numeric::{normal_cdf, normal_quantile};

/// Grid points over a look's continuation region (odd, for Simpson's rule).
const GRID: usize = 201;

/// The boundary used where a look spends (almost) nothing: no change crosses it.
const NEVER: f64 = 40.0;

/// The planned looks of a run: the rounds per side after which the data are
/// looked at, the last being the most rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Looks {
    rounds: Vec<u32>,
}

impl Looks {
    /// A look after every `every` rounds from `min_rounds` on, and one at `max_rounds`.
    pub fn every(min_rounds: u32, max_rounds: u32, every: u32) -> Result<Looks, StatsError> {
        if min_rounds < 2 || max_rounds < min_rounds || every == 0 {
            return Err(StatsError::InvalidOption {
                name: "looks",
                value: f64::from(min_rounds),
                expected: "2 <= min_rounds <= rounds, and a look every 1 or more rounds",
            });
        }
        let mut rounds: Vec<u32> = (min_rounds..max_rounds).step_by(every as usize).collect();
        rounds.push(max_rounds);
        Ok(Looks { rounds })
    }

    /// Rounds per side at each look.
    pub fn rounds(&self) -> &[u32] {
        &self.rounds
    }

    /// The look after `rounds` rounds, if one is planned there.
    pub fn look_at(&self, rounds: u32) -> Option<usize> {
        self.rounds.iter().position(|&r| r == rounds)
    }

    /// Information fractions `n_k / N`.
    fn fractions(&self) -> Vec<f64> {
        let last = f64::from(*self.rounds.last().unwrap_or(&1));
        self.rounds.iter().map(|&r| f64::from(r) / last).collect()
    }

    /// Two-sided boundaries `c_k` (z scale) spending `alpha` by O'Brien–Fleming.
    pub fn boundaries(&self, alpha: f64) -> Vec<f64> {
        boundaries(alpha, &self.fractions())
    }

    /// The boundaries of the "unchanged" claim: `alpha` spent by the Pocock-type
    /// function (see [`Spending::Pocock`]).
    pub fn unchanged_boundaries(&self, alpha: f64) -> Vec<f64> {
        boundaries_spending(Spending::Pocock, alpha, &self.fractions())
    }

    /// The nominal two-sided level `2(1 − Φ(c_k))` at which look `look` reads a
    /// check whose share of the family's error is `alpha`.
    pub fn nominal_level(&self, alpha: f64, look: usize) -> f64 {
        self.nominal_levels(alpha)
            .get(look)
            .copied()
            .unwrap_or(2.0 * normal_cdf(-NEVER))
    }

    /// [`Looks::nominal_level`] at every look (one boundary computation).
    pub fn nominal_levels(&self, alpha: f64) -> Vec<f64> {
        self.boundaries(alpha)
            .into_iter()
            .map(|c| 2.0 * normal_cdf(-c))
            .collect()
    }
}

/// Where a check stopped, for one of Holm's levels: the level its decision reads,
/// and whether more looks were planned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopLook {
    /// The nominal two-sided level the boundary gives at the stop look: the level
    /// of its repeated confidence interval, on which a check is called regressed
    /// or improved.
    pub level: f64,
    /// The nominal level of the "unchanged" claim at the stop look: a check is
    /// unchanged when its interval at this level lies inside the tolerance band.
    pub unchanged_level: f64,
    /// Whether the stop is the last planned look (the most rounds).
    pub last: bool,
}

impl StopLook {
    /// The fixed design: one look at the end, read at Holm's level `alpha`.
    pub fn fixed(alpha: f64) -> StopLook {
        StopLook {
            level: alpha,
            unchanged_level: alpha,
            last: true,
        }
    }
}

impl Looks {
    /// The stop at look `look` for a check whose share of the family's error is
    /// `alpha`, from that level's boundaries: `c` for regressed and improved (as
    /// [`Looks::boundaries`] gives), `unchanged` for unchanged (as
    /// [`Looks::unchanged_boundaries`] gives).
    pub fn stop_look(&self, look: usize, alpha: f64, c: &[f64], unchanged: &[f64]) -> StopLook {
        let level = |c: &[f64]| {
            c.get(look)
                .map_or(alpha, |&c| (2.0 * normal_cdf(-c)).min(alpha))
        };
        StopLook {
            level: level(c),
            unchanged_level: level(unchanged),
            last: look + 1 >= self.rounds.len(),
        }
    }
}

/// How a claim's error is spent over the looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spending {
    /// Lan–DeMets O'Brien–Fleming type ([`obf_spending`]): almost nothing early.
    /// For regressed and improved, so that the last look keeps the fixed
    /// design's power.
    ObrienFleming,
    /// Lan–DeMets Pocock type, `α(t) = α · ln(1 + (e − 1) t)`: about evenly over
    /// the looks (Lan and DeMets 1983; Jennison and Turnbull 2000, §7.2). For
    /// unchanged: the error of that claim is calling a change at the budget
    /// "unchanged", and spending it early is what lets an unchanged pull request
    /// stop early, at the price of a slightly stricter "unchanged" at the last
    /// look. Its own α, so the two claims each keep their error rate (a
    /// non-binding futility boundary with its own spending: M. Pampallona and
    /// A. A. Tsiatis, *J. Statist. Plann. Inference* 42, 1994).
    Pocock,
}

impl Spending {
    /// The two-sided error spent by information fraction `t`.
    pub fn spent(self, alpha: f64, t: f64) -> f64 {
        match self {
            Spending::ObrienFleming => obf_spending(alpha, t),
            Spending::Pocock => {
                if t <= 0.0 {
                    0.0
                } else {
                    (alpha * (1.0 + (std::f64::consts::E - 1.0) * t.min(1.0)).ln()).min(alpha)
                }
            }
        }
    }
}

/// The Lan–DeMets O'Brien–Fleming-type spending function: the two-sided error
/// spent by information fraction `t`, as two symmetric one-sided spendings of
/// `α/2` each, `α_1(t) = 2 − 2Φ(z(1 − α/4) / √t)` (the convention of the
/// published tables and of gsDesign's `sfLDOF`).
pub fn obf_spending(alpha: f64, t: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    let z = normal_quantile(1.0 - alpha / 4.0);
    (4.0 * normal_cdf(-z / t.min(1.0).sqrt())).min(alpha)
}

/// Simpson weights for `n` (odd) points spaced `h`.
fn simpson(n: usize, h: f64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let w = if i == 0 || i == n - 1 {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            w * h / 3.0
        })
        .collect()
}

fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Two-sided group-sequential boundaries for looks at information fractions
/// `fractions` (increasing, the last 1), spending `alpha` by O'Brien–Fleming.
pub fn boundaries(alpha: f64, fractions: &[f64]) -> Vec<f64> {
    boundaries_spending(Spending::ObrienFleming, alpha, fractions)
}

/// Two-sided group-sequential boundaries for looks at information fractions
/// `fractions` (increasing, the last 1), spending `alpha` by `spending`.
pub fn boundaries_spending(spending: Spending, alpha: f64, fractions: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(fractions.len());
    // The partial sum S_k (variance t_k) on the continuation grid of the last look:
    // points `xs` with density `g` (sub-probability: what has not crossed yet).
    let mut xs: Vec<f64> = Vec::new();
    let mut g: Vec<f64> = Vec::new();
    let mut w: Vec<f64> = Vec::new();
    let mut spent = 0.0;
    let mut last_t = 0.0;
    for &t in fractions {
        let target = spending.spent(alpha, t) - spent;
        let sd = (t - last_t).max(1e-12).sqrt();
        let root_t = t.sqrt();
        let c = if xs.is_empty() {
            // The first look: S_1 ~ N(0, t_1) exactly.
            if target <= 1e-15 {
                NEVER
            } else {
                normal_quantile(1.0 - target / 2.0)
            }
        } else if target <= 1e-15 {
            NEVER
        } else {
            // Crossing probability at boundary c, decreasing in c: bisection.
            let cross = |c: f64| -> f64 {
                let edge = c * root_t;
                xs.iter()
                    .zip(&g)
                    .zip(&w)
                    .map(|((&x, &gx), &wx)| {
                        wx * gx * (normal_cdf((-edge - x) / sd) + normal_cdf((x - edge) / sd))
                    })
                    .sum()
            };
            let (mut lo, mut hi) = (0.0_f64, NEVER);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if cross(mid) > target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        };
        out.push(c);
        // The density of S_k inside (−c√t, c√t).
        let edge = c.min(NEVER) * root_t;
        let h = 2.0 * edge / (GRID - 1) as f64;
        let new_xs: Vec<f64> = (0..GRID).map(|i| -edge + h * i as f64).collect();
        let new_g: Vec<f64> = if xs.is_empty() {
            new_xs.iter().map(|&y| normal_pdf(y / sd) / sd).collect()
        } else {
            new_xs
                .iter()
                .map(|&y| {
                    xs.iter()
                        .zip(&g)
                        .zip(&w)
                        .map(|((&x, &gx), &wx)| wx * gx * normal_pdf((y - x) / sd) / sd)
                        .sum()
                })
                .collect()
        };
        w = simpson(GRID, h);
        xs = new_xs;
        g = new_g;
        spent += target.max(0.0);
        last_t = t;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_look_is_the_fixed_design() {
        let c = boundaries(0.05, &[1.0]);
        assert!((c[0] - 1.959_964).abs() < 1e-4, "{c:?}");
    }

    #[test]
    fn obrien_fleming_boundaries_match_the_published_ones() {
        // Lan–DeMets O'Brien–Fleming spending, five equally spaced looks,
        // two-sided α = 0.05 (0.025 a side): 4.877, 3.357, 2.680, 2.290, 2.031, the
        // boundaries gsDesign and rpact print for this design.
        let c = boundaries(0.05, &[0.2, 0.4, 0.6, 0.8, 1.0]);
        for (got, want) in c.iter().zip([4.877, 3.357, 2.680, 2.290, 2.031]) {
            assert!((got - want).abs() < 0.01, "{c:?}");
        }
    }

    #[test]
    fn pocock_boundaries_match_the_published_ones() {
        // Lan–DeMets Pocock-type spending, five equal looks, two-sided α = 0.05:
        // about 2.44, 2.43, 2.41, 2.40, 2.39 (Jennison and Turnbull, table 7.6 /
        // gsDesign's sfLDPocock): nearly constant, unlike O'Brien–Fleming's.
        let c = boundaries_spending(Spending::Pocock, 0.05, &[0.2, 0.4, 0.6, 0.8, 1.0]);
        for (got, want) in c.iter().zip([2.44, 2.43, 2.41, 2.40, 2.39]) {
            assert!((got - want).abs() < 0.03, "{c:?}");
        }
        assert!((Spending::Pocock.spent(0.05, 1.0) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn spending_is_all_spent_at_the_end() {
        assert!((obf_spending(0.05, 1.0) - 0.05).abs() < 1e-12);
        assert!(obf_spending(0.05, 0.5) < 0.006);
        assert_eq!(obf_spending(0.05, 0.0), 0.0);
    }

    #[test]
    fn looks_from_min_rounds_to_the_most() {
        let looks = Looks::every(4, 24, 2).unwrap();
        assert_eq!(looks.rounds(), [4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
        assert_eq!(looks.look_at(10), Some(3));
        assert_eq!(looks.look_at(11), None);
        // Early looks read at tiny levels, the last close to the fixed design's.
        let first = looks.nominal_level(0.05, 0);
        let last = looks.nominal_level(0.05, looks.rounds().len() - 1);
        assert!(first < 1e-5, "{first}");
        assert!(last > 0.03 && last < 0.05, "{last}");
        assert!(Looks::every(1, 24, 2).is_err());
        assert!(Looks::every(8, 4, 1).is_err());
    }
}
