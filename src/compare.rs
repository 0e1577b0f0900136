//! Compare: head vs base per endpoint and metric, from the rounds.
//!
//! This stage turns measured rounds into [`EndpointComparison`]s: point values per
//! side from the merged histograms, and the change with its interval and state from
//! the statistics in [`crate::stats`].

use crate::bench::EndpointRun;
use crate::config::CompareConfig;
use crate::side::Side;
use crate::verdict::{
    Change, ChangeKind, ChangeState, EndpointComparison, Metric, MetricComparison,
};

/// Per-side point values of one endpoint: latencies in ms, error rate, throughput.
fn side_value(run: &EndpointRun, side: Side, metric: Metric) -> Option<f64> {
    let merged = run.merged(side);
    match metric.quantile() {
        Some(q) => (!merged.latency.is_empty())
            .then(|| merged.latency.value_at_quantile(q) as f64 / 1000.0),
        None => match metric {
            Metric::ErrorRate => {
                let total = merged.total();
                (total > 0).then(|| merged.error_count() as f64 / total as f64)
            }
            _ => {
                let secs = run.elapsed(side).as_secs_f64();
                (secs > 0.0).then(|| merged.ok as f64 / secs)
            }
        },
    }
}

/// Per-round values of one side for `metric`, in round order.
fn round_values(run: &EndpointRun, side: Side, metric: Metric) -> Vec<Option<f64>> {
    run.side(side)
        .map(|r| match metric.quantile() {
            Some(q) => (!r.data.latency.is_empty())
                .then(|| r.data.latency.value_at_quantile(q) as f64 / 1000.0),
            None => match metric {
                Metric::ErrorRate => {
                    let total = r.data.total();
                    (total > 0).then(|| r.data.error_count() as f64 / total as f64)
                }
                _ => {
                    let secs = r.elapsed.as_secs_f64();
                    (secs > 0.0).then(|| r.data.ok as f64 / secs)
                }
            },
        })
        .collect()
}

/// Two-sided Student t quantile for `confidence` with `df` degrees of freedom,
/// from a table for small df and the normal approximation with a Cornish-Fisher
/// correction beyond it.
fn t_quantile(confidence: f64, df: usize) -> f64 {
    let p = 1.0 - (1.0 - confidence) / 2.0;
    let z = normal_quantile(p);
    let v = df.max(1) as f64;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    z + g1 / v + g2 / v.powi(2) + g3 / v.powi(3)
}

/// Inverse of the standard normal CDF (Acklam's rational approximation).
fn normal_quantile(p: f64) -> f64 {
    let a = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383_577_518_672_69e2,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    let b = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    let c = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    let d = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    let p_low = 0.02425;
    if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// Mean and a t-interval of paired per-round values.
fn paired_interval(diffs: &[f64], confidence: f64) -> Option<(f64, f64, f64)> {
    let n = diffs.len();
    if n < 2 {
        return None;
    }
    let mean = diffs.iter().sum::<f64>() / n as f64;
    let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile(confidence, n - 1) * (var / n as f64).sqrt();
    Some((mean, mean - half, mean + half))
}

fn classify(metric: Metric, change: &Change, noise_floor: f64) -> ChangeState {
    let (low, high, up, down) = match change.kind {
        ChangeKind::Ratio => (
            change.low,
            change.high,
            1.0 + noise_floor,
            1.0 / (1.0 + noise_floor),
        ),
        ChangeKind::Difference => (
            change.low,
            change.high,
            noise_floor / 100.0,
            -noise_floor / 100.0,
        ),
    };
    let (worse_above, better_below) = if metric.higher_is_worse() {
        (low > up, high < down)
    } else {
        (high < down, low > up)
    };
    if worse_above {
        ChangeState::Regressed
    } else if better_below {
        ChangeState::Improved
    } else if low >= down && high <= up {
        ChangeState::Unchanged
    } else {
        ChangeState::Inconclusive
    }
}

/// Compare one endpoint's rounds.
pub fn compare_endpoint(run: &EndpointRun, cfg: &CompareConfig) -> EndpointComparison {
    let metrics = Metric::ALL
        .iter()
        .map(|&metric| {
            let base = side_value(run, Side::Base, metric);
            let head = side_value(run, Side::Head, metric);
            let b = round_values(run, Side::Base, metric);
            let h = round_values(run, Side::Head, metric);
            let (kind, diffs): (ChangeKind, Vec<f64>) = match metric {
                Metric::ErrorRate => (
                    ChangeKind::Difference,
                    b.iter()
                        .zip(&h)
                        .filter_map(|(b, h)| Some((*h)? - (*b)?))
                        .collect(),
                ),
                _ => (
                    ChangeKind::Ratio,
                    b.iter()
                        .zip(&h)
                        .filter_map(|(b, h)| {
                            let (b, h) = ((*b)?, (*h)?);
                            (b > 0.0 && h > 0.0).then(|| (h / b).ln())
                        })
                        .collect(),
                ),
            };
            let change = match (base, head, paired_interval(&diffs, cfg.confidence)) {
                (Some(bv), Some(hv), Some((_, low, high))) => Some(match kind {
                    ChangeKind::Ratio => Change {
                        kind,
                        point: if bv > 0.0 { hv / bv } else { f64::NAN },
                        low: low.exp(),
                        high: high.exp(),
                    },
                    ChangeKind::Difference => Change {
                        kind,
                        point: hv - bv,
                        low,
                        high,
                    },
                }),
                _ => None,
            };
            let state = match &change {
                Some(c) if c.point.is_finite() => classify(metric, c, cfg.noise_floor.0),
                _ => ChangeState::NoData,
            };
            MetricComparison {
                metric,
                base,
                head,
                change: change.filter(|c| c.point.is_finite()),
                state,
            }
        })
        .collect();
    EndpointComparison {
        endpoint: run.name.clone(),
        metrics,
    }
}
