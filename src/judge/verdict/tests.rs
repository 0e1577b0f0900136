use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::config::{CompareConfig, DeployConfig, Endpoint, Load};

fn endpoint(name: &str, slo: Slo, budget: Budget) -> Endpoint {
    Endpoint {
        name: name.into(),
        method: http::Method::GET,
        path: "/".into(),
        headers: Default::default(),
        body: None,
        expect_status: vec![],
        items: vec![],
        load: Load::default(),
        slo,
        budget,
    }
}

fn config(mode: Mode, endpoints: Vec<Endpoint>) -> Config {
    Config {
        source: "tailgate.yml".into(),
        base_dir: PathBuf::from("."),
        mode,
        deploy: DeployConfig::Url {
            base: "http://127.0.0.1:1".into(),
            head: "http://127.0.0.1:2".into(),
            ready: crate::config::RemoteReady::default(),
        },
        load: Load::default(),
        compare: CompareConfig::default(),
        endpoints,
        tls: Default::default(),
        cost: Default::default(),
        secrets: Default::default(),
        history: Default::default(),
        accept_label: None,
        traces: Default::default(),
    }
}

fn latency(
    metric: Metric,
    base: f64,
    head: f64,
    ci: (f64, f64),
    state: ChangeState,
) -> MetricComparison {
    MetricComparison {
        metric,
        base: Some(base),
        head: Some(head),
        change: Some(Change {
            kind: ChangeKind::Ratio,
            point: head / base,
            low: ci.0,
            high: ci.1,
            confidence: 0.95,
        }),
        state,
        mde: None,
        not_estimable: None,
    }
}

fn cmp(name: &str, metrics: Vec<MetricComparison>) -> EndpointComparison {
    EndpointComparison {
        endpoint: name.into(),
        metrics,
    }
}

fn p99_budget(p: f64) -> Budget {
    Budget {
        p99: Some(Fraction(p)),
        ..Budget::default()
    }
}

#[test]
fn confirmed_regression_past_budget_fails_with_the_numbers() {
    let cfg = config(
        Mode::Blocking,
        vec![endpoint("users", Slo::default(), p99_budget(0.10))],
    );
    let v = decide(
        &cfg,
        &[cmp(
            "users",
            vec![latency(
                Metric::P99,
                212.0,
                287.0,
                (1.28, 1.41),
                ChangeState::Regressed,
            )],
        )],
    );
    assert_eq!(v.level, Level::Fail);
    assert_eq!(v.exit_code(), exit::FAIL);
    let reason = &crate::report::checks::reason(&v.checks[0]);
    assert!(reason.contains("212 ms → 287 ms"), "{reason}");
    assert!(reason.contains("+35 %"), "{reason}");
    assert!(reason.contains("[+28 %, +41 %]"), "{reason}");
    assert!(reason.contains("+10 %"), "{reason}");
}

#[test]
fn unconfirmed_change_past_budget_only_warns() {
    let cfg = config(
        Mode::Blocking,
        vec![endpoint("a", Slo::default(), p99_budget(0.10))],
    );
    let v = decide(
        &cfg,
        &[cmp(
            "a",
            vec![latency(
                Metric::P99,
                100.0,
                115.0,
                (0.97, 1.33),
                ChangeState::Inconclusive,
            )],
        )],
    );
    assert_eq!(v.level, Level::Warn);
    assert_eq!(v.exit_code(), exit::PASS);
}

#[test]
fn an_inconclusive_change_warns_only_when_the_run_could_see_the_budget() {
    let cfg = config(
        Mode::Blocking,
        vec![endpoint("a", Slo::default(), p99_budget(0.10))],
    );
    let with_mde = |mde: f64| {
        let mut m = latency(
            Metric::P99,
            100.0,
            115.0,
            (0.97, 1.33),
            ChangeState::Inconclusive,
        );
        m.mde = Some(mde);
        decide(&cfg, &[cmp("a", vec![m])])
    };
    // The run could detect +8 %: a +15 % it cannot confirm may exceed the budget.
    assert_eq!(with_mde(0.08).level, Level::Warn);
    // It could only detect +40 %: nothing to warn about, the report says why.
    let v = with_mde(0.40);
    assert_eq!(v.level, Level::Pass);
    assert_eq!(v.exit_code(), exit::PASS);
}

#[test]
fn a_percentile_the_rounds_cannot_estimate_passes() {
    let cfg = config(
        Mode::Blocking,
        vec![endpoint("a", Slo::default(), p99_budget(0.10))],
    );
    let m = MetricComparison {
        metric: Metric::P99,
        base: Some(10.0),
        head: Some(30.0),
        change: None,
        state: ChangeState::NotEstimable,
        mde: None,
        not_estimable: Some(crate::stats::estimable::NotEstimable {
            per_round: 150,
            needed: 1_000,
            rounds: 10,
        }),
    };
    assert_eq!(decide(&cfg, &[cmp("a", vec![m])]).level, Level::Pass);
}

#[test]
fn regression_within_budget_passes() {
    let cfg = config(
        Mode::Blocking,
        vec![endpoint("a", Slo::default(), p99_budget(0.10))],
    );
    let v = decide(
        &cfg,
        &[cmp(
            "a",
            vec![latency(
                Metric::P99,
                100.0,
                105.0,
                (1.03, 1.07),
                ChangeState::Regressed,
            )],
        )],
    );
    assert_eq!(v.level, Level::Pass);
}

#[test]
fn slo_is_absolute_on_head() {
    let slo = Slo {
        p99: Some(Duration::from_millis(100)),
        ..Slo::default()
    };
    let cfg = config(Mode::Blocking, vec![endpoint("a", slo, Budget::default())]);
    let v = decide(
        &cfg,
        &[cmp(
            "a",
            vec![latency(
                Metric::P99,
                150.0,
                120.0,
                (0.7, 0.9),
                ChangeState::Improved,
            )],
        )],
    );
    assert_eq!(
        v.level,
        Level::Fail,
        "head is improved but still breaks the SLO"
    );
    let reason = crate::report::checks::reason(&v.checks[0]);
    assert!(reason.contains("120 ms"), "{reason}");
}

#[test]
fn advisory_mode_never_fails_the_job() {
    let cfg = config(
        Mode::Advisory,
        vec![endpoint("a", Slo::default(), p99_budget(0.10))],
    );
    let v = decide(
        &cfg,
        &[cmp(
            "a",
            vec![latency(
                Metric::P99,
                100.0,
                200.0,
                (1.8, 2.2),
                ChangeState::Regressed,
            )],
        )],
    );
    assert_eq!(v.level, Level::Fail);
    assert_eq!(v.exit_code(), exit::PASS);
}

#[test]
fn missing_head_data_fails_an_slo() {
    let slo = Slo {
        p99: Some(Duration::from_millis(100)),
        ..Slo::default()
    };
    let cfg = config(Mode::Blocking, vec![endpoint("a", slo, Budget::default())]);
    let v = decide(
        &cfg,
        &[cmp(
            "a",
            vec![MetricComparison {
                metric: Metric::P99,
                base: Some(10.0),
                head: None,
                change: None,
                state: ChangeState::NoData,
                mde: None,
                not_estimable: None,
            }],
        )],
    );
    assert_eq!(v.level, Level::Fail);
}

#[test]
fn run_errors_exit_3_even_in_advisory_mode() {
    let v = Verdict::error(Mode::Advisory, "deploy failed");
    assert_eq!(v.exit_code(), exit::ERROR);
}
