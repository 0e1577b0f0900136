//! Whether the load generator itself was the bottleneck of a round.
//!
//! A client that cannot run when a response arrives reads it late and sends the
//! next request late: the latencies it measures then include its own queueing,
//! not only the server's (the reason wrk's and k6's docs say to watch the load
//! generator's CPU, and Gil Tene's "How NOT to measure latency" warns of the
//! client's own stalls). It cannot run either because it is busy (its core is
//! full of its own work) or because it is starved (other processes hold its
//! core: a busy neighbour on a shared runner, the target's own processes on the
//! same cores). The engine records, per round, the busiest generator thread's
//! CPU time (`getrusage(RUSAGE_THREAD)`) and the time it was ready to run but
//! waited for a CPU (its run-queue wait, from `/proc/thread-self/schedstat`),
//! each as a share of the round, and, for open loops, how late requests left
//! after they were due (lag). A round is *measured by a saturated client* when:
//!
//! - **busy:** its busiest generator thread used at least [`CPU_SATURATED`] of
//!   a core;
//! - **starved:** it needed its core at least [`CPU_SATURATED`] of the round
//!   (running or waiting for it), or waited for a CPU at least
//!   [`WAIT_SATURATED`] of the round: a thread that waits that often for its
//!   core reads many responses late, whatever its own load; or a CPU quota
//!   (a container's limit: [`super::cgroup`]) stopped the whole process at least
//!   [`THROTTLED_SATURATED`] of the round;
//! - **lagging:** its send lag p99 is at least [`LAG_FLOOR_MS`] and at least
//!   [`LAG_SHARE`] of the round's latency p99 (the client's lateness is not
//!   small beside what it measures).
//!
//! An idle generator beside a busy process is not starved: the kernel runs a
//! thread that wakes from sleep ahead of one that has been running, so a client
//! at a few hundred requests per second waits for its core well under 1 % of the
//! time even with a busy loop on the same core (measured on this project's
//! 2-core machine), and is not flagged.
//!
//! Pure: values in, values out; the report says it on the endpoint.

use serde::{Deserialize, Serialize};

use super::{EndpointRun, RoundRecord};

/// The busiest generator thread's share of a core, used or waited for, from
/// which a round counts as measured by a saturated client.
pub const CPU_SATURATED: f64 = 0.9;

/// Share of the round the busiest generator thread waited for a CPU from which
/// the round counts as measured by a starved client.
pub const WAIT_SATURATED: f64 = 0.2;

/// Share of the round a CPU quota stopped the process from which the round
/// counts as measured by a starved client: a quota's stops come every period
/// (100 ms by default), so 5 % is a 5 ms stall in every 100 ms, far more than
/// a fast service's p99.
pub const THROTTLED_SATURATED: f64 = 0.05;

/// Send lag p99 below this is never the client's saturation, ms.
pub const LAG_FLOOR_MS: f64 = 1.0;

/// Send lag p99 as a share of latency p99 from which the lag counts.
pub const LAG_SHARE: f64 = 0.5;

/// Whether `round` was measured by a saturated client (the module's rule).
pub fn round_saturated(round: &RoundRecord) -> bool {
    busy(round) || starved(round) || lagging(round)
}

/// Whether a generator thread that used `cpu` of a core and waited for one
/// `wait` of the time (when known) was the bottleneck: busy or starved.
pub fn busy_or_starved(cpu: f64, wait: Option<f64>) -> bool {
    let wait = wait.unwrap_or(0.0);
    cpu >= CPU_SATURATED || cpu + wait >= CPU_SATURATED || wait >= WAIT_SATURATED
}

fn busy(round: &RoundRecord) -> bool {
    round.generator_cpu.is_some_and(|c| c >= CPU_SATURATED)
}

/// Whether a CPU quota stopped the process `throttled` of the time (when
/// known) often enough to count.
pub fn quota_starved(throttled: Option<f64>) -> bool {
    throttled.is_some_and(|t| t >= THROTTLED_SATURATED)
}

fn starved(round: &RoundRecord) -> bool {
    waited(round) || throttled(round)
}

fn waited(round: &RoundRecord) -> bool {
    !busy(round)
        && round
            .generator_cpu
            .is_some_and(|c| busy_or_starved(c, round.generator_wait))
}

fn throttled(round: &RoundRecord) -> bool {
    !busy(round) && quota_starved(round.generator_throttled)
}

fn lag_p99_ms(round: &RoundRecord) -> Option<f64> {
    crate::stats::quantile_ms(&round.data.lag, 990)
}

fn lagging(round: &RoundRecord) -> bool {
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
    /// when it was busy.
    pub busiest_cpu: Option<f64>,
    /// The highest share of a round its busiest generator thread waited for a
    /// CPU in them, when it was starved.
    #[serde(default)]
    pub waited: Option<f64>,
    /// The highest share of a round a CPU quota stopped the generator in them,
    /// when that starved it.
    #[serde(default)]
    pub throttled: Option<f64>,
    /// The highest send lag p99 in them, ms, when that was the cause.
    pub lag_p99_ms: Option<f64>,
}

impl Saturation {
    /// What it means, in one sentence (no final stop).
    pub fn sentence(&self) -> String {
        let in_rounds = format!("in {} of {} rounds", self.rounds, self.of_rounds);
        let queueing = "latencies include its own queueing";
        if let Some(cpu) = self.busiest_cpu {
            format!(
                "the load generator used {} of its core {in_rounds}: {queueing}",
                crate::format::percent(cpu)
            )
        } else if let Some(throttled) = self.throttled {
            format!(
                "a CPU quota stopped the load generator {} of the time {in_rounds} (its cgroup was throttled: a container's CPU limit): {queueing}",
                crate::format::percent(throttled)
            )
        } else if let Some(wait) = self.waited {
            format!(
                "the load generator waited for a CPU {} of the time {in_rounds} (other processes held its core): {queueing}",
                crate::format::percent(wait)
            )
        } else if let Some(lag) = self.lag_p99_ms {
            format!(
                "the load generator sent requests up to {} late (send lag p99) {in_rounds}: it could not keep its schedule, and {queueing}",
                crate::format::ms(lag)
            )
        } else {
            format!("the load generator was saturated {in_rounds}")
        }
    }
}

/// The saturated rounds of `run`, `None` when there were none.
pub fn endpoint_saturation(run: &EndpointRun) -> Option<Saturation> {
    let saturated: Vec<&RoundRecord> = run.rounds.iter().filter(|r| round_saturated(r)).collect();
    if saturated.is_empty() {
        return None;
    }
    let highest = |cause: fn(&RoundRecord) -> bool, value: fn(&RoundRecord) -> Option<f64>| {
        saturated
            .iter()
            .filter(|r| cause(r))
            .filter_map(|r| value(r))
            .reduce(f64::max)
    };
    Some(Saturation {
        rounds: saturated.len(),
        of_rounds: run.rounds.len(),
        busiest_cpu: highest(busy, |r| r.generator_cpu),
        waited: highest(waited, |r| r.generator_wait),
        throttled: highest(throttled, |r| r.generator_throttled),
        lag_p99_ms: highest(lagging, lag_p99_ms),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::Recorder;
    use crate::side::Side;

    fn round(cpu: Option<f64>, latency_ms: u64, lag_ms: Option<u64>) -> RoundRecord {
        starved_round(cpu, None, latency_ms, lag_ms)
    }

    fn starved_round(
        cpu: Option<f64>,
        wait: Option<f64>,
        latency_ms: u64,
        lag_ms: Option<u64>,
    ) -> RoundRecord {
        let mut data = Recorder::default();
        for _ in 0..100 {
            data.success(Duration::from_millis(latency_ms), 0);
            if let Some(lag) = lag_ms {
                data.lag(Duration::from_millis(lag));
            }
        }
        RoundRecord {
            generator_cpu: cpu,
            generator_wait: wait,
            ..RoundRecord::new(0, Side::Head, 0, Duration::from_secs(1), data)
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

    #[test]
    fn a_thread_that_waits_for_its_core_is_starved_an_idle_one_beside_a_busy_process_is_not() {
        // Half a core used, half waited for: it wanted all of it (a busy loop
        // on the same core, measured).
        assert!(round_saturated(&starved_round(
            Some(0.49),
            Some(0.49),
            1,
            None
        )));
        // A third used and a third waited for: it read many responses late.
        assert!(round_saturated(&starved_round(
            Some(0.36),
            Some(0.36),
            1,
            None
        )));
        // An open loop at 500/s beside the same busy loop: 1 % used, < 0.5 % waited.
        assert!(!round_saturated(&starved_round(
            Some(0.01),
            Some(0.004),
            1,
            None
        )));
        // Half a core and a little waiting on a loaded machine.
        assert!(!round_saturated(&starved_round(
            Some(0.5),
            Some(0.1),
            1,
            None
        )));
        let s = endpoint_saturation(&run(vec![
            starved_round(Some(0.49), Some(0.49), 1, None),
            starved_round(Some(0.36), Some(0.36), 1, None),
            starved_round(Some(0.5), Some(0.01), 1, None),
        ]))
        .expect("two starved rounds");
        assert_eq!((s.rounds, s.of_rounds), (2, 3));
        assert_eq!((s.busiest_cpu, s.waited), (None, Some(0.49)));
        assert_eq!(
            s.sentence(),
            "the load generator waited for a CPU 49 % of the time in 2 of 3 rounds (other processes held its core): latencies include its own queueing"
        );
        // A busy round names the CPU first.
        let s = endpoint_saturation(&run(vec![
            starved_round(Some(0.95), Some(0.02), 1, None),
            starved_round(Some(0.4), Some(0.5), 1, None),
        ]))
        .unwrap();
        assert_eq!((s.busiest_cpu, s.waited), (Some(0.95), Some(0.5)));
        assert!(s.sentence().starts_with("the load generator used 95 %"));
    }

    #[test]
    fn a_process_its_cpu_quota_stopped_is_starved() {
        let mut quota = starved_round(Some(0.2), Some(0.0), 1, None);
        quota.generator_throttled = Some(0.78);
        assert!(round_saturated(&quota));
        let mut slight = starved_round(Some(0.2), Some(0.0), 1, None);
        slight.generator_throttled = Some(0.01);
        assert!(!round_saturated(&slight));
        let s = endpoint_saturation(&run(vec![quota, slight])).unwrap();
        assert_eq!((s.rounds, s.throttled, s.waited), (1, Some(0.78), None));
        assert_eq!(
            s.sentence(),
            "a CPU quota stopped the load generator 78 % of the time in 1 of 2 rounds (its cgroup was throttled: a container's CPU limit): latencies include its own queueing"
        );
    }
}
