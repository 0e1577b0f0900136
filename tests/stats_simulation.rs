//! Simulation tests of the statistical core: false alarms (A/A), power, coverage,
//! drift control and histogram accuracy. Everything is seeded: every run sees the
//! same numbers, and the assertions leave room for the binomial noise of the trial
//! counts.
//!
//! # The simulated service
//!
//! A successful request's latency is lognormal with median 20 ms and σ = 0.4
//! (p99 ≈ 2.5 × p50), times a factor per (round, side) slot:
//!
//! - **drift**: the machine's speed is a geometric random walk with 2 % steps per
//!   round (half a step per slot); the drift-control test adds a steady +2 %/round trend;
//! - **round noise**: an independent lognormal factor with σ = 2 % per slot;
//! - **clustered stalls**: a slot has a stall with probability 10 %, which adds 200 ms
//!   to a burst of 0.3–1 % of its requests (a GC pause or a noisy neighbour holding up
//!   the in-flight requests of a 10-connection closed loop);
//! - **errors**: each request fails with probability 0.1 %;
//! - closed loop with 10 connections: elapsed = Σ latency / 10.
//!
//! A slot's latencies are exact sorted i.i.d. samples (order statistics from
//! exponential spacings pushed through the quantile function), so nothing is sorted.
//! Base and head are interleaved (BH, HB, BH, …), randomly ordered per round (as the
//! bench does), or sequential (all base rounds, then all head rounds).

use std::sync::OnceLock;
use std::time::Duration;

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tailgate::side::Side;
use tailgate::stats::{
    calibrate, compare, decide, decide_with, sequential::Looks, CalibrateOptions, CompareOptions,
    Decision, EndpointStats, Estimate, Finding, Hypothesis, Metric, NotEnoughData, PairedRounds,
    RoundCounters, RoundObs, Thresholds, RECOMMENDED_ROUNDS,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Order {
    Interleaved,
    Random,
    Sequential,
}

#[derive(Debug, Clone, Copy)]
struct Model {
    rounds: usize,
    samples: usize,
    order: Order,
    /// Random-walk step of the drift per round (log scale).
    walk: f64,
    /// Steady drift per round (log scale).
    trend: f64,
    /// Head's latency is this times base's.
    head_scale: f64,
    /// Whether stalls slow down with head too. With `true` head is a pure rescaling of
    /// base, so the true ratio of every percentile is exactly `head_scale`.
    scale_stalls: bool,
}

const SIGMA: f64 = 0.4;
const MEDIAN_US: f64 = 20_000.0;
const ROUND_SD: f64 = 0.02;
const STALL_PROB: f64 = 0.10;
const STALL_FRAC: (f64, f64) = (0.003, 0.01);
const STALL_US: f64 = 200_000.0;
const ERROR_PROB: f64 = 0.001;
const CONNECTIONS: f64 = 10.0;

/// The model at the size most tests use: 12 rounds of 500 requests.
const SMALL: Model = Model {
    rounds: 12,
    samples: 500,
    order: Order::Interleaved,
    walk: 0.02,
    trend: 0.0,
    head_scale: 1.0,
    scale_stalls: false,
};

/// Uniforms in (0, 1), drawn in bulk.
struct Uniforms {
    rng: ChaCha8Rng,
    buf: Vec<u64>,
    pos: usize,
}

impl Uniforms {
    fn new(seed: u64) -> Uniforms {
        Uniforms {
            rng: ChaCha8Rng::seed_from_u64(seed),
            buf: vec![0; 4096],
            pos: 4096,
        }
    }

    fn next(&mut self) -> f64 {
        if self.pos == self.buf.len() {
            self.rng.fill(&mut self.buf[..]);
            self.pos = 0;
        }
        let x = self.buf[self.pos];
        self.pos += 1;
        ((x >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    fn normal(&mut self) -> f64 {
        (-2.0 * self.next().ln()).sqrt() * (std::f64::consts::TAU * self.next()).cos()
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n - 1)
    }
}

/// Φ⁻¹ by Acklam's rational approximation (absolute error below 4e-9).
fn inverse_normal(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        let t = (-2.0 * q.ln()).sqrt();
        (((((C[0] * t + C[1]) * t + C[2]) * t + C[3]) * t + C[4]) * t + C[5])
            / ((((D[0] * t + D[1]) * t + D[2]) * t + D[3]) * t + 1.0)
    };
    if p < 0.02425 {
        tail(p)
    } else if p > 1.0 - 0.02425 {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Cells of the quantile table.
const CELLS: usize = 1 << 16;

/// The unit lognormal quantile `exp(σ Φ⁻¹(q))` at `q = i / CELLS`.
fn quantile_table() -> &'static [f64] {
    static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=CELLS)
            .map(|i| {
                (SIGMA * inverse_normal((i as f64 / CELLS as f64).clamp(1e-12, 1.0 - 1e-12))).exp()
            })
            .collect()
    })
}

/// The unit lognormal quantile: linear interpolation in `table` for
/// 0.001 <= q <= 0.999 (relative error below 1e-5), computed directly in the tails.
fn quantile(table: &[f64], q: f64) -> f64 {
    if !(0.001..=0.999).contains(&q) {
        return (SIGMA * inverse_normal(q)).exp();
    }
    let x = q * CELLS as f64;
    let i = x as usize;
    table[i] + (x - i as f64) * (table[i + 1] - table[i])
}

/// One (round, side) slot at drift `level`.
#[expect(
    clippy::manual_range_contains,
    reason = "the sample loop runs millions of times in unoptimised test builds, where `contains` is a call"
)]
fn slot(m: &Model, u: &mut Uniforms, level: f64, head: bool) -> RoundObs {
    let n = m.samples;
    let scale = if head { m.head_scale } else { 1.0 };
    let unit = MEDIAN_US * level * (ROUND_SD * u.normal()).exp() * scale;
    // Sorted uniforms: U_(i) = S_i / S_{n+1} with S the partial sums of Exp(1).
    let mut sums_vec = vec![0.0; n + 1];
    let sums: &mut [f64] = &mut sums_vec;
    let mut s = 0.0;
    let mut i = 0;
    while i <= n {
        s -= u.next().ln();
        sums[i] = s;
        i += 1;
    }
    let table = quantile_table();
    let mut values_vec = vec![0.0; n];
    let values: &mut [f64] = &mut values_vec;
    let mut i = 0;
    while i < n {
        let q = sums[i] / s;
        values[i] = unit
            * if q < 0.001 || q > 0.999 {
                quantile(table, q)
            } else {
                // The table lookup of `quantile`, inlined: this loop is most of a slot.
                let x = q * CELLS as f64;
                let j = x as usize;
                table[j] + (x - j as f64) * (table[j + 1] - table[j])
            };
        i += 1;
    }
    let mut values = values_vec;
    if u.next() < STALL_PROB {
        let frac = STALL_FRAC.0 + (STALL_FRAC.1 - STALL_FRAC.0) * u.next();
        let k = ((frac * n as f64).round() as usize).max(1);
        let mut hit = vec![false; n];
        let mut chosen = 0;
        while chosen < k {
            let i = u.below(n);
            if !hit[i] {
                hit[i] = true;
                chosen += 1;
            }
        }
        let extra = STALL_US * if m.scale_stalls { scale } else { 1.0 };
        let stalled: Vec<f64> = (0..n)
            .filter(|&i| hit[i])
            .map(|i| values[i] + extra)
            .collect();
        let calm: Vec<f64> = (0..n).filter(|&i| !hit[i]).map(|i| values[i]).collect();
        values = merge_sorted(&calm, &stalled);
    }
    let mut runs: Vec<(u64, u64)> = Vec::with_capacity(n);
    let mut total_us = 0.0;
    for &v in &values {
        total_us += v;
        let us = v.round().max(1.0) as u64;
        match runs.last_mut() {
            Some(last) if last.0 == us => last.1 += 1,
            _ => runs.push((us, 1)),
        }
    }
    // Poisson errors (Knuth's method; the mean is small).
    let limit = (-ERROR_PROB * n as f64).exp();
    let mut errors = 0u64;
    let mut p = u.next();
    while p > limit {
        errors += 1;
        p *= u.next();
    }
    let counters = RoundCounters {
        requests: n as u64 + errors,
        errors,
        elapsed: Duration::from_secs_f64(total_us / CONNECTIONS / 1e6),
    };
    RoundObs::from_runs(runs, counters).unwrap()
}

fn merge_sorted(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if j == b.len() || (i < a.len() && a[i] <= b[j]) {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out
}

/// One simulated run.
fn simulate(m: &Model, u: &mut Uniforms) -> PairedRounds {
    // The drift level of each of the 2R slots, half a round apart.
    let mut levels = Vec::with_capacity(2 * m.rounds);
    let mut log_level = 0.0_f64;
    for _ in 0..2 * m.rounds {
        levels.push(log_level.exp());
        log_level += m.trend / 2.0 + m.walk / std::f64::consts::SQRT_2 * u.normal();
    }
    let mut base = Vec::with_capacity(m.rounds);
    let mut head = Vec::with_capacity(m.rounds);
    for r in 0..m.rounds {
        let (b, h) = match m.order {
            Order::Interleaved if r % 2 == 0 => (2 * r, 2 * r + 1),
            Order::Interleaved => (2 * r + 1, 2 * r),
            Order::Random if u.next() < 0.5 => (2 * r, 2 * r + 1),
            Order::Random => (2 * r + 1, 2 * r),
            Order::Sequential => (r, m.rounds + r),
        };
        base.push(slot(m, u, levels[b], false));
        head.push(slot(m, u, levels[h], true));
    }
    PairedRounds::new(base, head).unwrap()
}

/// Decides a gate on `metrics` of one endpoint: Holm over all of them, a +10 %
/// budget on p99, the default noise floors (2 %; 0.1 percentage points for errors).
fn gate(rounds: &PairedRounds, metrics: &[Metric], seed: u64) -> Vec<Decision> {
    gate_full(rounds, metrics, seed).1
}

/// [`gate`] with the comparison it decided on.
fn gate_full(
    rounds: &PairedRounds,
    metrics: &[Metric],
    seed: u64,
) -> (EndpointStats, Vec<Decision>) {
    let opts = CompareOptions {
        seed,
        ..CompareOptions::default()
    };
    assert_eq!(opts.resamples, 2_000);
    let cmp = compare(rounds, metrics, &opts).unwrap();
    let checks: Vec<Hypothesis> = cmp
        .metrics
        .iter()
        .map(|m| Hypothesis {
            comparison: m,
            thresholds: match m.metric {
                Metric::P99 => Thresholds::new(0.02, Some(0.10)).unwrap(),
                other => Thresholds::default_for(other),
            },
        })
        .collect();
    let decisions = decide(&checks, 0.95).unwrap();
    (cmp, decisions)
}

/// The checks a gate fails on by default: tail latency, errors, throughput.
const GATED: [Metric; 3] = [Metric::P99, Metric::ErrorRate, Metric::Throughput];

fn regressed(decisions: &[Decision]) -> bool {
    decisions.iter().any(|d| d.state == Finding::Regressed)
}

/// Runs `trials` gates of `model` and counts those with any regression.
fn count_regressed(model: &Model, metrics: &[Metric], trials: u64, seed: u64) -> usize {
    let mut u = Uniforms::new(seed);
    (0..trials)
        .filter(|&g| regressed(&gate(&simulate(model, &mut u), metrics, seed ^ g)))
        .count()
}

#[test]
fn aa_gates_rarely_regress() {
    // 1,000 A/A gates (head is base), stalls and drift, interleaved order.
    let false_alarms = count_regressed(&SMALL, &GATED, 1_000, 1);
    eprintln!("A/A: {false_alarms} of 1000 gates regressed");
    assert!(
        false_alarms <= 10,
        "{false_alarms} of 1000 A/A gates regressed"
    );
}

#[test]
fn aa_gates_on_every_metric_rarely_regress() {
    // Holm over all six checks, including p99.9, where stalls dominate the tail.
    let false_alarms = count_regressed(&SMALL, &Metric::ALL, 300, 2);
    eprintln!("A/A, every metric: {false_alarms} of 300 gates regressed");
    assert!(
        false_alarms <= 3,
        "{false_alarms} of 300 A/A gates regressed"
    );
}

/// Whether a decided check would warn under the verdict's rule for a budget: an
/// inconclusive change whose point is past the budget, by a run that could have
/// detected a change of the budget's size (its MDE is within the budget).
fn warns(d: &Decision, point: f64) -> bool {
    d.state == Finding::Inconclusive
        && point > 1.0 + d.tolerance
        && d.mde.is_some_and(|mde| mde <= d.tolerance)
}

/// Gates on p99 (+10 % budget), errors and throughput; the count of gates with a
/// regression, with an improvement, with a warning, and where p99 was not
/// estimable.
fn aa_outcomes(model: &Model, metrics: &[Metric], trials: u64, seed: u64) -> [usize; 4] {
    let mut u = Uniforms::new(seed);
    let mut out = [0; 4];
    for g in 0..trials {
        let (cmp, d) = gate_full(&simulate(model, &mut u), metrics, seed ^ g);
        out[0] += usize::from(d.iter().any(|d| d.state == Finding::Regressed));
        out[1] += usize::from(d.iter().any(|d| d.state == Finding::Improved));
        let p99_warns = cmp.metrics.iter().zip(&d).any(|(m, d)| {
            m.metric == Metric::P99 && m.estimate.change().is_some_and(|c| warns(d, c.estimate))
        });
        out[2] += usize::from(p99_warns);
        out[3] += usize::from(cmp.metrics.iter().any(|m| {
            m.metric == Metric::P99
                && matches!(
                    m.estimate,
                    Estimate::NotEnoughData(NotEnoughData::NotEstimable { .. })
                )
        }));
    }
    out
}

#[test]
fn rounds_too_small_for_p99_give_no_call_and_no_warning() {
    // A real service at 60 requests per 1 s round, ten rounds a side: 600
    // requests in all cannot estimate p99 (1,000 needed), so it is neither called
    // nor warned about, in any of 1,000 A/A gates.
    let model = Model {
        rounds: 10,
        samples: 60,
        ..SMALL
    };
    let [regressed, improved, warned, not_estimable] = aa_outcomes(&model, &GATED, 1_000, 11);
    eprintln!(
        "A/A at 60 requests a round: regressed {regressed}, improved {improved}, warned {warned}, \
         p99 not estimable {not_estimable} of 1000"
    );
    assert_eq!(not_estimable, 1_000);
    assert_eq!(warned, 0);
    assert!(regressed <= 10, "{regressed} of 1000 regressed");
    assert!(improved <= 10, "{improved} of 1000 improved");
}

#[test]
fn rounds_each_too_small_for_p99_merged_give_no_warning() {
    // 150 requests a round, ten rounds: no round estimates p99, blocks would be
    // too few, the bootstrap of the merged rounds does. Its interval is wide, so
    // the run's minimum detectable effect is far above a +10 % budget: an A/A run
    // that lands past the budget is inconclusive, never a warning.
    let model = Model {
        rounds: 10,
        samples: 150,
        ..SMALL
    };
    let [regressed, improved, warned, not_estimable] = aa_outcomes(&model, &GATED, 1_000, 14);
    eprintln!(
        "A/A at 150 requests a round: regressed {regressed}, improved {improved}, warned {warned}, \
         p99 not estimable {not_estimable} of 1000"
    );
    assert_eq!(not_estimable, 0);
    assert!(warned <= 10, "{warned} of 1000 warned");
    assert!(regressed <= 10, "{regressed} of 1000 regressed");
    assert!(improved <= 10, "{improved} of 1000 improved");
}

#[test]
fn pooled_blocks_keep_false_calls_rare() {
    // 400 requests a round, 24 rounds: p99 is judged on blocks of 3 rounds.
    let model = Model {
        rounds: 24,
        samples: 400,
        ..SMALL
    };
    let [regressed, improved, warned, not_estimable] = aa_outcomes(&model, &GATED, 300, 12);
    eprintln!(
        "A/A on blocks: regressed {regressed}, improved {improved}, warned {warned}, \
         not estimable {not_estimable} of 300"
    );
    assert_eq!(not_estimable, 0);
    assert!(regressed <= 3, "{regressed} of 300 regressed");
    assert!(improved <= 3, "{improved} of 300 improved");
    assert!(warned <= 3, "{warned} of 300 warned");
}

#[test]
fn noise_improvements_are_as_rare_as_noise_regressions() {
    // 1,000 A/A gates over every metric (p50, p95, p99, p99.9, errors,
    // throughput) in one Holm family: a false "improved" is at most 1 %.
    let [regressed, improved, _, _] = aa_outcomes(&SMALL, &Metric::ALL, 1_000, 13);
    eprintln!("A/A, every metric: regressed {regressed}, improved {improved} of 1000");
    assert!(improved <= 10, "{improved} of 1000 A/A gates improved");
    assert!(regressed <= 10, "{regressed} of 1000 A/A gates regressed");
}

#[test]
fn power_at_recommended_rounds() {
    // Head's service time is 10 % slower (stalls unchanged); 2,000 requests per
    // round and side, as 5 s rounds give a 20 ms service.
    let model = Model {
        rounds: RECOMMENDED_ROUNDS,
        samples: 2_000,
        head_scale: 1.10,
        ..SMALL
    };
    let mut u = Uniforms::new(3);
    let trials = 200;
    let mut caught = 0;
    for g in 0..trials {
        let d = gate(&simulate(&model, &mut u), &GATED, g);
        if d[0].state == Finding::Regressed {
            caught += 1;
        }
    }
    eprintln!("power: p99 regressed in {caught} of {trials} gates at R = {RECOMMENDED_ROUNDS}");
    assert!(
        caught * 100 >= 95 * trials,
        "p99 regressed in only {caught} of {trials}"
    );
}

#[test]
fn calibration_agrees_with_the_power_simulation() {
    // An A/A run of the same service, sized for a +10 % p99 change with the gate's
    // three checks, asks for no more rounds than the power test shows to be enough.
    let model = Model {
        rounds: 40,
        samples: 2_000,
        ..SMALL
    };
    let aa = simulate(&model, &mut Uniforms::new(4));
    let opts = CalibrateOptions {
        family_size: 3,
        changes: vec![0.10],
        ..CalibrateOptions::default()
    };
    let cal = calibrate(&aa, &opts).unwrap();
    let p99 = cal
        .metrics
        .iter()
        .find(|m| m.metric == Metric::P99)
        .unwrap();
    let needed = p99.required[0].rounds.unwrap();
    eprintln!(
        "calibrate: p99 round-to-round noise {:.3}, per round of the estimate {:.3}, {needed} rounds for +10 %",
        p99.sd_log_ratio.unwrap(),
        p99.noise_per_round.unwrap()
    );
    assert!(
        needed as usize <= RECOMMENDED_ROUNDS,
        "calibrate asks for {needed} rounds"
    );
    assert!(
        needed >= 8,
        "calibrate is implausibly optimistic: {needed} rounds"
    );
}

#[test]
fn interval_coverage_of_a_known_ratio() {
    // Head is base rescaled by 1.07 (stalls included), sides in random order per
    // round: the true ratio of every percentile is exactly 1.07.
    let model = Model {
        head_scale: 1.07,
        scale_stalls: true,
        order: Order::Random,
        ..SMALL
    };
    let mut u = Uniforms::new(5);
    let trials = 1_000;
    let mut covered = 0;
    for g in 0..trials {
        let data = simulate(&model, &mut u);
        let opts = CompareOptions {
            seed: g,
            ..CompareOptions::default()
        };
        let cmp = compare(&data, &[Metric::P99], &opts).unwrap();
        let interval = cmp.metrics[0].estimate.change().unwrap().interval;
        if interval.lower.unwrap() <= 1.07 && 1.07 <= interval.upper.unwrap() {
            covered += 1;
        }
    }
    eprintln!("coverage: {covered} of {trials}");
    assert!(
        (930..=970).contains(&covered),
        "95 % interval covered 1.07 in {covered} of {trials}"
    );
}

#[test]
fn interleaving_cancels_drift() {
    // A steady +2 % per round on top of the random walk.
    let drifting = Model {
        trend: 0.02_f64.ln_1p(),
        ..SMALL
    };
    let sequential = Model {
        order: Order::Sequential,
        ..drifting
    };
    let trials = 200;
    let interleaved_alarms = count_regressed(&drifting, &GATED, trials, 6);
    let sequential_alarms = count_regressed(&sequential, &GATED, trials, 6);
    eprintln!(
        "drift: interleaved {interleaved_alarms}, sequential {sequential_alarms} of {trials}"
    );
    assert!(
        interleaved_alarms <= 2,
        "interleaved: {interleaved_alarms} of {trials} regressed"
    );
    assert!(
        sequential_alarms >= 100,
        "sequential: only {sequential_alarms} of {trials} regressed"
    );
}

#[test]
fn merged_histogram_percentiles_match_raw_samples() {
    // Raw samples into per-round histograms as the bench records them; the merged
    // percentiles must be within the histograms' 0.1 % of the exact nearest rank.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for trial in 0..20 {
        let mut raw: Vec<u64> = Vec::new();
        let mut rounds = Vec::new();
        for _ in 0..8 {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let n = rng.gen_range(300..1_000);
            for _ in 0..n {
                let z: f64 = rng.sample(rand::distributions::Standard);
                let mut v = (MEDIAN_US * ((z - 0.5) * 3.0 * (1 + trial % 3) as f64).exp()) as u64;
                if rng.gen_bool(0.005) {
                    v += 200_000;
                }
                v = v.clamp(1, 60_000_000);
                raw.push(v);
                h.record(v).unwrap();
            }
            let counters = RoundCounters {
                requests: n,
                errors: 0,
                elapsed: Duration::from_secs(1),
            };
            rounds.push(RoundObs::from_histogram(&h, counters).unwrap());
        }
        raw.sort_unstable();
        let summary = tailgate::stats::summarize(&rounds).latency.unwrap();
        for (p, q) in [
            (summary.p50, 0.5),
            (summary.p95, 0.95),
            (summary.p99, 0.99),
            (summary.p999, 0.999),
        ] {
            let rank = (q * raw.len() as f64).ceil() as usize;
            let exact = raw[rank - 1] as f64;
            let merged = p.as_micros() as f64;
            assert!(
                merged >= exact && merged <= exact * 1.001,
                "trial {trial} q {q}: merged {merged} vs exact {exact}"
            );
        }
        let paired = PairedRounds::new(rounds.clone(), rounds).unwrap();
        // p50 is estimable in every round (p99 of 300-request rounds is not: see
        // `rounds_too_small_for_p99_give_no_call_and_no_warning`).
        let cmp = compare(&paired, &[Metric::P50], &CompareOptions::default()).unwrap();
        assert_eq!(cmp.base.latency.unwrap().p99, summary.p99);
        assert_eq!(cmp.metrics[0].estimate.change().unwrap().estimate, 1.0);
        assert_eq!(cmp.head.latency, cmp.base.latency);
        let _ = Side::Base;
    }
}

/// A group-sequential gate on p99 (+10 % budget, 2 % floor): looks every two
/// rounds from four to the model's most rounds, each reading Holm's level at the
/// look's O'Brien–Fleming boundary; it stops at the first look where the check is
/// decided (regressed, improved or unchanged). Returns the decision at the stop and
/// the rounds it used.
fn sequential_gate(
    data: &PairedRounds,
    looks: &Looks,
    boundaries: &[f64],
    unchanged: &[f64],
    seed: u64,
) -> (Decision, u32) {
    let opts = CompareOptions {
        seed,
        resamples: 500,
        ..CompareOptions::default()
    };
    let mut last = None;
    for (k, &n) in looks.rounds().iter().enumerate() {
        let n = n as usize;
        let part = PairedRounds::new(
            data.side(Side::Base)[..n].to_vec(),
            data.side(Side::Head)[..n].to_vec(),
        )
        .unwrap();
        let cmp = compare(&part, &[Metric::P99], &opts).unwrap();
        let check = Hypothesis {
            comparison: &cmp.metrics[0],
            thresholds: Thresholds::new(0.02, Some(0.10)).unwrap(),
        };
        // One check: Holm's only level is α, read at this look's boundary.
        let d = decide_with(&[check], 0.95, &|_, a| {
            looks.stop_look(k, a, boundaries, unchanged)
        })
        .unwrap()
        .remove(0);
        let decided = matches!(
            d.state,
            Finding::Regressed | Finding::Improved | Finding::Unchanged
        );
        last = Some((d, n as u32));
        if decided {
            break;
        }
    }
    last.unwrap()
}

/// Runs `trials` sequential gates at `head_scale` (stalls scaled too, so the true
/// p99 ratio is exactly `head_scale`): the count regressed, the rounds used
/// (sorted) and how often the interval at the stop covered the true ratio.
fn sequential_cell(
    head_scale: f64,
    trials: u64,
    seed: u64,
    looks: &Looks,
) -> (usize, Vec<u32>, usize) {
    let most = *looks.rounds().last().unwrap() as usize;
    let model = Model {
        rounds: most,
        samples: 2_000,
        head_scale,
        scale_stalls: true,
        order: Order::Random,
        ..SMALL
    };
    let boundaries = looks.boundaries(0.05);
    let unchanged = looks.unchanged_boundaries(0.05);
    let mut u = Uniforms::new(seed);
    let (mut regressed, mut covered) = (0, 0);
    let mut used = Vec::new();
    for g in 0..trials {
        let (d, n) = sequential_gate(
            &simulate(&model, &mut u),
            looks,
            &boundaries,
            &unchanged,
            seed ^ g,
        );
        regressed += usize::from(d.state == Finding::Regressed);
        let i = d.interval.unwrap();
        covered += usize::from(i.lower.unwrap() <= head_scale && head_scale <= i.upper.unwrap());
        used.push(n);
    }
    used.sort_unstable();
    (regressed, used, covered)
}

#[test]
fn sequential_looks_keep_the_error_rates_and_stop_early() {
    // 24 rounds at most, looks every two rounds from four; 1,000 gates per cell.
    // Per cell: false or true regressions, mean and 90th percentile of the rounds
    // used, coverage of the 95 % interval reported at the stop (the interval at
    // the check's own level, see `stats::decide_with`). The README quotes the
    // table this prints.
    let trials = 1_000;
    let mut lines = Vec::new();
    for (scale, seed) in [(1.0, 21), (1.05, 25), (1.10, 22), (2.0, 23), (10.0, 24)] {
        let looks = Looks::every(4, RECOMMENDED_ROUNDS as u32, 2).unwrap();
        let (regressed, used, covered) = sequential_cell(scale, trials, seed, &looks);
        let mean = used.iter().map(|&n| f64::from(n)).sum::<f64>() / used.len() as f64;
        let p90 = used[(used.len() * 9).div_ceil(10) - 1];
        lines.push(format!(
            "| ×{scale:.2} | {regressed} of {trials} | {mean:.1} | {p90} | {:.1} % |",
            covered as f64 * 100.0 / trials as f64
        ));
        let most = RECOMMENDED_ROUNDS as f64;
        let trials = trials as usize;
        match scale {
            1.0 => {
                assert!(
                    regressed * 100 <= trials,
                    "A/A regressed {regressed} of {trials}"
                );
                assert!(mean <= 0.6 * most, "A/A used {mean} rounds on average");
            }
            1.05 => {}
            1.10 => assert!(regressed * 100 >= 95 * trials, "power {regressed}/{trials}"),
            _ => {
                assert_eq!(regressed, trials);
                assert!(mean <= 0.3 * most, "×{scale}: {mean} rounds on average");
            }
        }
        assert!(
            (93 * trials..=97 * trials).contains(&(covered * 100)),
            "×{scale}: the 95 % interval at the stop covered {covered} of {trials}"
        );
    }
    eprintln!(
        "| head p99 ÷ base | regressed | rounds used, mean | rounds used, 90th pct | coverage |\n|---|---|---|---|---|\n{}",
        lines.join("\n")
    );
}
