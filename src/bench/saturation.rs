//! Whether the load generator itself was the bottleneck of a round.
//!
//! A client that uses all of its core reads responses late and sends requests
//! late: the latencies it measures then include its own queueing, not only the
//! server's (the reason wrk's and k6's docs say to watch the load generator's CPU,
//! and Gil Tene's "How NOT to measure latency" warns of the client's own
//! stalls). The engine records, per round, the CPU time of its busiest generator
//! thread as a fraction of one core (`getrusage(RUSAGE_THREAD)` over the phase)
//! and, for open loops, how late requests left after they were due (lag). A
//! round is *measured by a saturated client* when:
//!
//! - its busiest generator thread used at least [`CPU_SATURATED`] of a core, or
//! - its send lag p99 is at least [`LAG_FLOOR_MS`] and at least
//!   [`LAG_SHARE`] of the round's latency p99 (the client's lateness is not small
//!   beside what it measures).
//!
//! Pure: values in, values out; the report says it on the endpoint.

use serde::{Deserialize, Serialize};

use super::{EndpointRun, RoundRecord};

/// The busiest generator thread's share of a core from which a round counts as
/// measured by a saturated client.
pub const CPU_SATURATED: f64 = 0.9;

/// Send lag p99 below this is never the client's saturation, ms.
pub const LAG_FLOOR_MS: f64 = 1.0;

/// Send lag p99 as a share of latency p99 from which the lag counts.
pub const LAG_SHARE: f64 = 0.5;

/// Whether `round` was measured by a saturated client (the module's rule).
pub fn round_saturated(round: &RoundRecord) -> bool {
    cpu_saturated(round) || lag_saturated(round)
}

fn cpu_saturated(round: &RoundRecord) -> bool {
    round.generator_cpu.is_some_and(|c| c >= CPU_SATURATED)
}

fn lag_p99_ms(round: &RoundRecord) -> Option<f64> {
    crate::stats::quantile_ms(&round.data.lag, 990)
}

fn lag_saturated(round: &RoundRecord) -> bool {
    let Some(lag) = lag_p99_ms(round) else {
        return false;
    };
    let latency = crate::stats::quantile_ms(&round.data.latency, 990).unwrap_or(0.0);
    lag >= LAG_FLOOR_MS && lag >= LAG_SHARE * latency
}

/// An endpoint's rounds that were measured by a saturated client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saturation {
    /// Rounds measured by a saturated client.
    pub rounds: usize,
    /// Rounds in all.
    pub of_rounds: usize,
    /// The highest share of a core its busiest generator thread used in them,
    /// when that was the cause.
    pub busiest_cpu: Option<f64>,
    /// The highest send lag p99 in them, ms, when that was the cause.
    pub lag_p99_ms: Option<f64>,
}

impl Saturation {
    /// What it means, in one sentence (no final stop).
    pub fn sentence(&self) -> String {
        let in_rounds = format!("in {} of {} rounds", self.rounds, self.of_rounds);
        match (self.busiest_cpu, self.lag_p99_ms) {
            (Some(cpu), _) => format!(
                "the load generator used {} of its core {in_rounds}: latencies include its own queueing",
                crate::format::percent(cpu)
            ),
            (None, Some(lag)) => format!(
                "the load generator sent requests up to {} late (send lag p99) {in_rounds}: it could not keep its schedule, and latencies include its own queueing",
                crate::format::ms(lag)
            ),
            (None, None) => format!("the load generator was saturated {in_rounds}"),
        }
    }
}

/// The saturated rounds of `run`, `None` when there were none.
pub fn endpoint_saturation(run: &EndpointRun) -> Option<Saturation> {
    let saturated: Vec<&RoundRecord> = run.rounds.iter().filter(|r| round_saturated(r)).collect();
    if saturated.is_empty() {
        return None;
    }
    let max = |values: Vec<f64>| values.into_iter().reduce(f64::max);
    Some(Saturation {
        rounds: saturated.len(),
        of_rounds: run.rounds.len(),
        busiest_cpu: max(saturated
            .iter()
            .filter(|r| cpu_saturated(r))
            .filter_map(|r| r.generator_cpu)
            .collect()),
        lag_p99_ms: max(saturated
            .iter()
            .filter(|r| lag_saturated(r))
            .filter_map(|r| lag_p99_ms(r))
            .collect()),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::Recorder;
    use crate::side::Side;

    fn round(cpu: Option<f64>, latency_ms: u64, lag_ms: Option<u64>) -> RoundRecord {
        let mut data = Recorder::default();
        for _ in 0..100 {
            data.success(Duration::from_millis(latency_ms), 0);
            if let Some(lag) = lag_ms {
                data.lag(Duration::from_millis(lag));
            }
        }
        RoundRecord {
            round: 0,
            side: Side::Head,
            position: 0,
            elapsed: Duration::from_secs(1),
            data,
            pacing: None,
            window: None,
            cpu: None,
            cost: None,
            generator_cpu: cpu,
            generator_saturated: false,
        }
    }

    fn run(rounds: Vec<RoundRecord>) -> EndpointRun {
        EndpointRun::new("GET /", "GET", "/", String::new(), rounds)
    }

    #[test]
    fn a_busy_core_flags_the_round_an_idle_one_does_not() {
        assert!(round_saturated(&round(Some(0.99), 1, None)));
        assert!(round_saturated(&round(Some(0.9), 1, None)));
        assert!(!round_saturated(&round(Some(0.5), 1, None)));
        assert!(!round_saturated(&round(None, 1, None)), "not measured");
        let s = endpoint_saturation(&run(vec![
            round(Some(0.95), 1, None),
            round(Some(0.2), 1, None),
            round(Some(0.99), 1, None),
        ]))
        .expect("two saturated rounds");
        assert_eq!((s.rounds, s.of_rounds), (2, 3));
        assert_eq!(s.busiest_cpu, Some(0.99));
        assert_eq!(s.lag_p99_ms, None);
        assert_eq!(
            s.sentence(),
            "the load generator used 99 % of its core in 2 of 3 rounds: latencies include its own queueing"
        );
        assert_eq!(
            endpoint_saturation(&run(vec![round(Some(0.3), 1, None)])),
            None
        );
    }

    #[test]
    fn send_lag_counts_when_large_beside_the_latency() {
        // 5 ms late against 4 ms responses: the client's lateness dominates.
        assert!(round_saturated(&round(Some(0.3), 4, Some(5))));
        // 5 ms late against 200 ms responses: noise.
        assert!(!round_saturated(&round(Some(0.3), 200, Some(5))));
        // Sub-millisecond lag never counts.
        assert!(!round_saturated(&round(Some(0.3), 0, Some(0))));
        let s = endpoint_saturation(&run(vec![round(None, 4, Some(5))])).unwrap();
        assert_eq!(s.busiest_cpu, None);
        assert!(
            s.sentence().contains("sent requests up to 5"),
            "{}",
            s.sentence()
        );
    }
}
