//! The statistics API end to end: histograms in, decisions and JSON out, and the
//! explicit states for missing data and bad input.

use std::time::Duration;

use hdrhistogram::Histogram;
use tailgate::side::Side;
use tailgate::stats::{
    compare, decide, per_look_confidence, CompareOptions, Estimate, Finding, Hypothesis, Method,
    Metric, NotEnoughData, PairedRounds, RoundCounters, RoundObs, StatsError, Thresholds,
};

/// A round whose latencies are `base_us · (1 + i / n)` for i in 0..n, times `scale`,
/// recorded in a histogram as the bench does, with `errors` failed requests.
fn round(n: u64, scale: f64, errors: u64, jitter: f64) -> RoundObs {
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut total_us = 0.0;
    for i in 0..n {
        let v = 10_000.0 * (1.0 + 3.0 * (i as f64 / n as f64).powi(4)) * scale * jitter;
        total_us += v;
        h.record(v as u64).unwrap();
    }
    let counters = RoundCounters {
        requests: n + errors,
        errors,
        elapsed: Duration::from_secs_f64(total_us / 8.0 / 1e6),
    };
    RoundObs::from_histogram(&h, counters).unwrap()
}

/// `rounds` rounds per side; head `scale` times slower; a little jitter per round
/// (`shift` moves head's jitter to another round, 0 keeps the sides identical).
fn run_shifted(rounds: usize, scale: f64, head_errors: u64, shift: usize) -> PairedRounds {
    let jitter = |r: usize| 1.0 + 0.01 * (((r * 7) % 5) as f64 - 2.0);
    let base = (0..rounds)
        .map(|r| round(1_000, 1.0, 0, jitter(r)))
        .collect();
    let head = (0..rounds)
        .map(|r| round(1_000, scale, head_errors, jitter(r + shift)))
        .collect();
    PairedRounds::new(base, head).unwrap()
}

fn run(rounds: usize, scale: f64, head_errors: u64) -> PairedRounds {
    run_shifted(rounds, scale, head_errors, 1)
}

fn checks(cmp: &tailgate::stats::EndpointStats) -> Vec<Hypothesis<'_>> {
    cmp.metrics
        .iter()
        .map(|m| Hypothesis {
            comparison: m,
            thresholds: Thresholds::default_for(m.metric),
        })
        .collect()
}

#[test]
fn a_slower_head_regresses_end_to_end() {
    let data = run(12, 1.2, 20);
    let opts = CompareOptions {
        seed: 42,
        ..CompareOptions::default()
    };
    let cmp = compare(&data, &Metric::ALL, &opts).unwrap();
    let decisions = decide(&checks(&cmp), 0.95).unwrap();
    let state = |m: Metric| decisions.iter().find(|d| d.metric == m).unwrap().state;
    assert_eq!(state(Metric::P50), Finding::Regressed);
    assert_eq!(state(Metric::P99), Finding::Regressed);
    assert_eq!(state(Metric::Throughput), Finding::Regressed);
    // 20 of 1,020 requests fail on head, none on base: +1.96 points, every round.
    assert_eq!(state(Metric::ErrorRate), Finding::Regressed);

    let p99 = cmp.metric(Metric::P99).unwrap().estimate.change().unwrap();
    assert_eq!(p99.method, Method::PairedBootstrap);
    assert!((p99.estimate - 1.2).abs() < 0.01, "{}", p99.estimate);
    let head = cmp.head.latency.unwrap();
    let base = cmp.base.latency.unwrap();
    assert!((head.p99.as_secs_f64() / base.p99.as_secs_f64() - p99.estimate).abs() < 1e-9);

    // The JSON carries the seed and every number a reason needs.
    let json = serde_json::to_value(&cmp).unwrap();
    assert_eq!(json["seed"], 42);
    assert_eq!(json["resamples"], 2000);
    assert_eq!(json["metrics"][2]["metric"], "p99");
    let change = &json["metrics"][2]["estimate"]["change"];
    assert_eq!(change["scale"], "ratio");
    assert_eq!(change["method"], "paired_bootstrap");
    assert!(change["interval"]["lower"].as_f64().unwrap() > 1.02);
    assert!(json["base"]["latency"]["p99_ms"].as_f64().unwrap() > 10.0);
    let decision = serde_json::to_value(&decisions[2]).unwrap();
    assert_eq!(decision["state"], "regressed");
    assert!(decision["p_value"].as_f64().unwrap() < 0.01);
}

#[test]
fn the_seed_reproduces_the_result() {
    let data = run(10, 1.05, 0);
    let with = |seed| {
        let opts = CompareOptions {
            seed,
            ..CompareOptions::default()
        };
        let cmp = compare(&data, &[Metric::P99], &opts).unwrap();
        cmp.metrics[0].estimate.change().unwrap().standard_error
    };
    assert_eq!(with(7), with(7));
    assert_ne!(with(7), with(8));
}

#[test]
fn identical_sides_are_unchanged() {
    let data = run_shifted(10, 1.0, 0, 0);
    let cmp = compare(&data, &Metric::ALL, &CompareOptions::default()).unwrap();
    for d in decide(&checks(&cmp), 0.95).unwrap() {
        assert_eq!(d.state, Finding::Unchanged, "{d:?}");
    }
}

#[test]
fn few_rounds_use_the_t_interval() {
    let data = run(5, 1.2, 0);
    let cmp = compare(
        &data,
        &[Metric::P50, Metric::Throughput],
        &CompareOptions::default(),
    )
    .unwrap();
    for m in &cmp.metrics {
        let change = m.estimate.change().unwrap();
        assert_eq!(change.method, Method::StudentT);
        assert_eq!(change.rounds, 5);
        assert!(change.degrees_of_freedom <= 4.0);
    }
    let d = decide(&checks(&cmp), 0.95).unwrap();
    assert_eq!(d[0].state, Finding::Regressed);
}

#[test]
fn missing_data_is_a_state_not_a_guess() {
    let empty = || {
        let h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        let counters = RoundCounters {
            requests: 100,
            errors: 100,
            elapsed: Duration::from_secs(1),
        };
        RoundObs::from_histogram(&h, counters).unwrap()
    };
    // Head never succeeded: no latency, but its error rate is data.
    let base: Vec<RoundObs> = (0..10)
        .map(|r| round(500, 1.0, 0, 1.0 + r as f64 / 100.0))
        .collect();
    let head: Vec<RoundObs> = (0..10).map(|_| empty()).collect();
    let data = PairedRounds::new(base, head).unwrap();
    let cmp = compare(&data, &Metric::ALL, &CompareOptions::default()).unwrap();
    assert!(matches!(
        cmp.metric(Metric::P99).unwrap().estimate,
        Estimate::NotEnoughData(NotEnoughData::NoSamples { side: Side::Head })
    ));
    assert!(cmp.head.latency.is_none());
    let d = decide(&checks(&cmp), 0.95).unwrap();
    assert_eq!(d[2].state, Finding::NotEnoughData);
    assert_eq!(d[4].state, Finding::Regressed, "every head request failed");
    assert_eq!(d[5].state, Finding::Regressed, "head served nothing");
    let json = serde_json::to_value(&cmp.metrics[2]).unwrap();
    assert_eq!(json["estimate"]["not_enough_data"]["reason"], "no_samples");
    assert_eq!(json["estimate"]["not_enough_data"]["side"], "head");

    // One round cannot give an interval.
    let one = run(1, 1.0, 0);
    let cmp = compare(&one, &[Metric::P50], &CompareOptions::default()).unwrap();
    assert!(matches!(
        cmp.metrics[0].estimate,
        Estimate::NotEnoughData(NotEnoughData::TooFewRounds {
            usable: 1,
            needed: 2
        })
    ));

    // No rounds at all.
    let none = PairedRounds::new(vec![], vec![]).unwrap();
    let cmp = compare(&none, &Metric::ALL, &CompareOptions::default()).unwrap();
    assert!(cmp.metrics.iter().all(|m| m.estimate.change().is_none()));
    assert_eq!(cmp.base.error_rate, None);
}

#[test]
fn bad_input_is_an_error() {
    let counters = RoundCounters {
        requests: 1,
        errors: 2,
        elapsed: Duration::from_secs(1),
    };
    assert_eq!(
        RoundObs::from_runs(vec![], counters),
        Err(StatsError::ErrorsExceedRequests {
            requests: 1,
            errors: 2
        })
    );
    assert!(PairedRounds::new(vec![round(10, 1.0, 0, 1.0)], vec![]).is_err());
    let data = run(3, 1.0, 0);
    for opts in [
        CompareOptions {
            confidence: 1.0,
            ..CompareOptions::default()
        },
        CompareOptions {
            resamples: 1,
            ..CompareOptions::default()
        },
        CompareOptions {
            min_bootstrap_rounds: 2,
            ..CompareOptions::default()
        },
    ] {
        assert!(matches!(
            compare(&data, &Metric::ALL, &opts),
            Err(StatsError::InvalidOption { .. })
        ));
    }
}

#[test]
fn an_extension_decides_at_the_split_level() {
    // A planned extension halves alpha at each look.
    let level = per_look_confidence(0.95, 2).unwrap();
    let data = run(12, 1.03, 0);
    let cmp = compare(&data, &[Metric::P50], &CompareOptions::default()).unwrap();
    let first = decide(&checks(&cmp), level).unwrap();
    assert!((first[0].confidence.unwrap() - 0.975).abs() < 1e-12);
    let nominal = decide(&checks(&cmp), 0.95).unwrap();
    let (a, b) = (first[0].interval.unwrap(), nominal[0].interval.unwrap());
    assert!(a.lower.unwrap() < b.lower.unwrap() && a.upper.unwrap() > b.upper.unwrap());
}
