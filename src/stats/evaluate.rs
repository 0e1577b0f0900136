//! Evaluating the compared statistics on both sides under one set of round weights:
//! the pooled estimate, each bootstrap replicate, and the leave-one-round-out values.

use super::bootstrap::{LatencyIndex, Merged, Weights};
use super::input::{Metric, Percentile, RoundObs};
use super::sampling::{satterthwaite_df, Moments};

/// The rounds of one side, indexed once.
pub(crate) struct SideData<'a> {
    pub rounds: &'a [RoundObs],
    pub latency: LatencyIndex,
    pub requests: Vec<f64>,
    pub errors: Vec<f64>,
    pub successes: Vec<f64>,
    pub elapsed_s: Vec<f64>,
    /// What each round cost; 0 where it was not priced (see `priced`).
    pub cost: Vec<f64>,
    /// Requests of the priced rounds; 0 elsewhere, so unpriced rounds weigh nothing
    /// in the cost per request.
    pub priced: Vec<f64>,
}

impl<'a> SideData<'a> {
    pub fn new(rounds: &'a [RoundObs]) -> SideData<'a> {
        let refs: Vec<&RoundObs> = rounds.iter().collect();
        let latency = LatencyIndex::new(Merged::new(&refs), rounds.len());
        SideData {
            rounds,
            latency,
            requests: rounds
                .iter()
                .map(|o| o.counters().requests as f64)
                .collect(),
            errors: rounds.iter().map(|o| o.counters().errors as f64).collect(),
            successes: rounds.iter().map(|o| o.successes() as f64).collect(),
            elapsed_s: rounds
                .iter()
                .map(|o| o.counters().elapsed.as_secs_f64())
                .collect(),
            cost: rounds.iter().map(|o| o.cost().unwrap_or(0.0)).collect(),
            priced: rounds
                .iter()
                .map(|o| match o.cost() {
                    Some(_) => o.counters().requests as f64,
                    None => 0.0,
                })
                .collect(),
        }
    }

    /// Whether any round of the side was priced.
    pub fn has_cost(&self) -> bool {
        self.priced.iter().any(|&r| r > 0.0)
    }
}

/// Weighted sums of one side's counters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sums {
    requests: f64,
    errors: f64,
    successes: f64,
    seconds: f64,
    cost: f64,
    priced: f64,
}

impl Sums {
    fn error_rate(&self) -> f64 {
        self.errors / self.requests
    }

    fn throughput(&self) -> f64 {
        self.successes / self.seconds
    }

    fn cost_per_request(&self) -> f64 {
        self.cost / self.priced
    }
}

/// `ln(head / base)` with 0/0 read as no change.
fn log_ratio(head: f64, base: f64) -> f64 {
    if head == base {
        0.0
    } else {
        (head / base).ln()
    }
}

/// Evaluates the metrics on both sides under one set of weights (the same for both
/// sides: that is the pairing), on the analysis scale.
pub(crate) struct Evaluator<'a> {
    pub base: &'a SideData<'a>,
    pub head: &'a SideData<'a>,
}

impl Evaluator<'_> {
    /// Latency samples under `w` of base and head.
    pub fn samples(&self, w: &Weights) -> (u64, u64) {
        (
            w.dot32(self.base.latency.totals(), 0),
            w.dot32(self.head.latency.totals(), 0),
        )
    }

    /// `ln(head / base)` of percentile `p`; `samples` is [`Evaluator::samples`] of `w`.
    pub fn latency(&self, w: &Weights, samples: (u64, u64), p: Percentile) -> f64 {
        let h = self.head.latency.percentile(w, samples.1, p).max(1);
        let b = self.base.latency.percentile(w, samples.0, p).max(1);
        (h as f64 / b as f64).ln()
    }

    /// Counter sums of base and head under `w`, in one pass.
    pub fn sums(&self, w: &Weights) -> (Sums, Sums) {
        let (b, h) = (self.base, self.head);
        let (b_req, b_err, b_ok, b_s): (&[f64], &[f64], &[f64], &[f64]) =
            (&b.requests, &b.errors, &b.successes, &b.elapsed_s);
        let (h_req, h_err, h_ok, h_s): (&[f64], &[f64], &[f64], &[f64]) =
            (&h.requests, &h.errors, &h.successes, &h.elapsed_s);
        let (b_cost, b_priced, h_cost, h_priced): (&[f64], &[f64], &[f64], &[f64]) =
            (&b.cost, &b.priced, &h.cost, &h.priced);
        let pairs: &[(u32, u32)] = &w.pairs;
        let (mut sb, mut sh) = (Sums::default(), Sums::default());
        let mut i = 0;
        while i < pairs.len() {
            let (r, c) = pairs[i];
            let (r, c) = (r as usize, c as f64);
            sb.requests += c * b_req[r];
            sb.errors += c * b_err[r];
            sb.successes += c * b_ok[r];
            sb.seconds += c * b_s[r];
            sh.requests += c * h_req[r];
            sh.errors += c * h_err[r];
            sh.successes += c * h_ok[r];
            sh.seconds += c * h_s[r];
            sb.cost += c * b_cost[r];
            sb.priced += c * b_priced[r];
            sh.cost += c * h_cost[r];
            sh.priced += c * h_priced[r];
            i += 1;
        }
        (sb, sh)
    }

    /// The statistic of a counter metric from [`Evaluator::sums`].
    pub fn counter(metric: Metric, (b, h): (Sums, Sums)) -> f64 {
        match metric {
            Metric::ErrorRate => h.error_rate() - b.error_rate(),
            Metric::Cost => log_ratio(h.cost_per_request(), b.cost_per_request()),
            _ => log_ratio(h.throughput(), b.throughput()),
        }
    }

    /// The statistic of `metric` under `w`.
    pub fn statistic(&self, metric: Metric, w: &Weights) -> f64 {
        match metric.percentile() {
            Some(p) => self.latency(w, self.samples(w), p),
            None => Evaluator::counter(metric, self.sums(w)),
        }
    }
}

/// The same statistic in one round alone (for the t fallback and calibration).
pub(crate) fn round_statistic(metric: Metric, base: &RoundObs, head: &RoundObs) -> f64 {
    let rate = |o: &RoundObs| o.counters().errors as f64 / o.counters().requests as f64;
    let tput = |o: &RoundObs| o.successes() as f64 / o.counters().elapsed.as_secs_f64();
    let cost = |o: &RoundObs| o.cost().unwrap_or(f64::NAN) / o.counters().requests as f64;
    match metric.percentile() {
        Some(p) => {
            let v = |o: &RoundObs| (o.percentile(p).unwrap_or(1).max(1) as f64).ln();
            v(head) - v(base)
        }
        None => match metric {
            Metric::ErrorRate => rate(head) - rate(base),
            Metric::Cost => log_ratio(cost(head), cost(base)),
            _ => log_ratio(tput(head), tput(base)),
        },
    }
}

/// [`satterthwaite_df`] of the jackknife influence values of the pooled statistic:
/// the statistic recomputed with each round of `set` left out in turn.
pub(crate) fn jackknife_df(metric: Metric, eval: &Evaluator, n: usize, set: &[u32]) -> f64 {
    if set.len() < 3 {
        return 1.0;
    }
    let mut leave_out = Vec::with_capacity(set.len());
    for i in 0..set.len() {
        let rest: Vec<u32> = set
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &r)| r)
            .collect();
        leave_out.push(eval.statistic(metric, &Weights::subset(n, &rest)));
    }
    satterthwaite_df(&leave_out)
}

/// The t fallback's standard error: the spread of the per-round statistics over
/// `sqrt(R)`.
pub(crate) fn per_round_se(metric: Metric, base: &SideData, head: &SideData, set: &[u32]) -> f64 {
    let mut m = Moments::default();
    for &r in set {
        m.push(round_statistic(
            metric,
            &base.rounds[r as usize],
            &head.rounds[r as usize],
        ));
    }
    m.sd() / (set.len() as f64).sqrt()
}
