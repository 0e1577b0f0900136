//! A check in words: the limit (`p99 < 250 ms`, `p99 +10 %`) and the reason
//! (`p99 287 ms on head breaks the SLO p99 < 250 ms`), from the numbers the
//! verdict observed. The one wording of checks, for the comment, the check run's
//! annotations and the job log.

use crate::cost::Currency;
use crate::format;
use crate::judge::verdict::{
    ChangeKind, ChangeState, Check, CheckWords, Metric, MetricComparison, Observation, Verdict,
};

/// `value` of `metric` as people read it (costs in `currency`).
pub fn value_text(metric: Metric, value: f64, currency: Currency) -> String {
    match metric {
        Metric::ErrorRate => format::percent(value),
        Metric::Throughput => format!("{} req/s", format::rate(value)),
        Metric::Cost => format::money(value, currency),
        _ => format::ms(value),
    }
}

/// The numbers of a change in one line: `p99 212 ms → 287 ms, +35 % [+28 %, +41 %]`.
pub fn describe_change(m: &MetricComparison) -> String {
    describe_change_in(m, Currency::USD)
}

/// [`describe_change`] with costs in `currency`.
pub fn describe_change_in(m: &MetricComparison, currency: Currency) -> String {
    describe_beside(m, currency, None)
}

/// [`describe_change_in`] for a change compared with `limit` (as the budget
/// writes it, `+10 %`): a change that rounds to the limit's words gets one more
/// decimal, so "+10.4 %, regressed past the budget +10 %" never reads "+10 %,
/// regressed past the budget +10 %".
fn describe_beside(m: &MetricComparison, currency: Currency, limit: Option<&str>) -> String {
    let base = m
        .base
        .map_or("n/a".into(), |v| value_text(m.metric, v, currency));
    let head = m
        .head
        .map_or("n/a".into(), |v| value_text(m.metric, v, currency));
    match m.change {
        Some(c) => {
            let [mut point, low, high] = match c.kind {
                ChangeKind::Ratio => format::ratio_change(c.point, c.low, c.high),
                ChangeKind::Difference => [c.point, c.low, c.high]
                    .map(|v| format!("{} points", format::signed_percent(v))),
            };
            if limit.is_some_and(|l| l == point) {
                let fraction = match c.kind {
                    ChangeKind::Ratio => c.point - 1.0,
                    ChangeKind::Difference => c.point,
                };
                let finer = format::signed_percent_finer(fraction, 1);
                point = match c.kind {
                    ChangeKind::Ratio => finer,
                    ChangeKind::Difference => format!("{finer} points"),
                };
            }
            format!("{} {base} → {head}, {point} [{low}, {high}]", m.metric)
        }
        None => format!("{} {base} → {head}", m.metric),
    }
}

/// The comparison an SLO of `metric` makes: `<`, `≤` or `≥`.
fn slo_operator(metric: Metric) -> &'static str {
    match metric {
        Metric::ErrorRate | Metric::Cost => "≤",
        Metric::Throughput => "≥",
        _ => "<",
    }
}

/// The check's limit in words (`p99 < 500 ms`, `p99 +10 %`,
/// `open loop at 200 req/s`).
pub fn limit(check: &Check) -> String {
    let metric = check.metric;
    match &check.observed {
        Observation::Slo {
            limit, currency, ..
        } => format!(
            "{metric} {} {}",
            slo_operator(metric),
            value_text(metric, *limit, *currency)
        ),
        Observation::Budget { limit, .. } => match metric {
            Metric::Throughput => format!("{metric} −{}", format::percent(*limit)),
            Metric::ErrorRate => format!("{metric} +{} points", format::percent(*limit)),
            _ => format!("{metric} +{}", format::percent(*limit)),
        },
        Observation::ShortLoad { target_rate, .. } => {
            format!("open loop at {} req/s", format::rate(*target_rate))
        }
        Observation::Words { limit, .. } => limit.clone(),
    }
}

/// The numbers behind the check's outcome, in one line.
pub fn reason(check: &Check) -> String {
    let metric = check.metric;
    let limit_text = limit(check);
    match &check.observed {
        Observation::Slo {
            head: None,
            ..
        } if metric == Metric::Cost => format!(
            "{metric}: head's cost could not be measured (SLO {limit_text}); cost is measured for \
             `local` targets (CPU time) and `cloudformation` stacks (Lambda REPORT lines)"
        ),
        Observation::Slo { head: None, .. } => {
            format!("{metric}: head has no successful requests to measure (SLO {limit_text})")
        }
        Observation::Slo {
            head: Some(value),
            currency,
            ..
        } => {
            let verb = if check.level == crate::judge::verdict::Level::Pass {
                "within"
            } else {
                "breaks"
            };
            format!(
                "{metric} {} on head {verb} the SLO {limit_text}",
                value_text(metric, *value, *currency)
            )
        }
        Observation::Budget {
            comparison,
            past_budget,
            currency,
            ..
        } => {
            // The limit's words without the metric: `+10 %`, `+0.5 % points`.
            let limit_words = limit_text.strip_prefix(&format!("{metric} ")).unwrap_or("");
            let numbers = describe_beside(comparison, *currency, Some(limit_words));
            if comparison.change.is_none() {
                return format!("{numbers}: not enough data to check the budget {limit_text}");
            }
            match (comparison.state, past_budget) {
                (ChangeState::Regressed, true) => {
                    format!("{numbers}, regressed past the budget {limit_text}")
                }
                (ChangeState::Inconclusive, true) => format!(
                    "{numbers}: may be past the budget {limit_text}, but the rounds disagree (inconclusive)"
                ),
                (ChangeState::Regressed, false) => {
                    format!("{numbers}: regressed, within the budget {limit_text}")
                }
                (state, _) => format!("{numbers}: {}, budget {limit_text}", state.label()),
            }
        }
        Observation::ShortLoad {
            target_rate,
            short_rounds,
            paced_rounds,
            worst,
            unsent,
        } => format!(
            "the open loop fell short of {} req/s in {short_rounds} of {paced_rounds} rounds (as low as {} of the rate{}): \
             latencies may be understated; raise `connections` or lower `rate`",
            format::rate(*target_rate),
            format::percent(*worst),
            if *unsent > 0 {
                format!(", {unsent} planned requests unsent")
            } else {
                String::new()
            }
        ),
        Observation::Words { reason, .. } => reason.clone(),
    }
}

/// Put every check's words beside its observation, for the readers of a results
/// file (done where the file is written).
pub fn word(verdict: &mut Verdict) {
    for check in &mut verdict.checks {
        check.words = Some(CheckWords {
            limit: limit(check),
            reason: reason(check),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::{Change, CheckKind, Level};

    fn check(metric: Metric, kind: CheckKind, level: Level, observed: Observation) -> Check {
        Check {
            endpoint: "GET /orders".into(),
            metric,
            kind,
            level,
            observed,
            words: None,
        }
    }

    /// p99 287 ms on head against an SLO of 250 ms.
    fn slo_breached() -> Check {
        check(
            Metric::P99,
            CheckKind::Slo,
            Level::Fail,
            Observation::Slo {
                limit: 250.0,
                head: Some(287.0),
                currency: Currency::USD,
            },
        )
    }

    #[test]
    fn each_observation_in_words() {
        let slo = slo_breached();
        assert_eq!(limit(&slo), "p99 < 250 ms");
        assert_eq!(
            reason(&slo),
            "p99 287 ms on head breaks the SLO p99 < 250 ms"
        );
        let comparison = MetricComparison {
            metric: Metric::P99,
            base: Some(212.0),
            head: Some(287.0),
            change: Some(Change {
                kind: ChangeKind::Ratio,
                point: 1.35,
                low: 1.28,
                high: 1.41,
                confidence: 0.95,
            }),
            state: ChangeState::Regressed,
            mde: None,
            not_estimable: None,
        };
        let budget = check(
            Metric::P99,
            CheckKind::Budget,
            Level::Fail,
            Observation::Budget {
                limit: 0.1,
                comparison,
                past_budget: true,
                currency: Currency::USD,
            },
        );
        assert_eq!(limit(&budget), "p99 +10 %");
        assert_eq!(
            reason(&budget),
            "p99 212 ms → 287 ms, +35 % [+28 %, +41 %], regressed past the budget p99 +10 %"
        );
        // A change that rounds to the budget's words gets one more decimal.
        let mut near = budget.clone();
        if let Observation::Budget { comparison, .. } = &mut near.observed {
            comparison.base = Some(1.72);
            comparison.head = Some(1.90);
            comparison.change = Some(Change {
                kind: ChangeKind::Ratio,
                point: 1.104,
                low: 1.066,
                high: 1.14,
                confidence: 0.95,
            });
        }
        assert_eq!(
            reason(&near),
            "p99 1.72 ms → 1.90 ms, +10.4 % [+6.6 %, +14 %], regressed past the budget p99 +10 %"
        );
        let short = check(
            Metric::Throughput,
            CheckKind::Load,
            Level::Warn,
            Observation::ShortLoad {
                target_rate: 200.0,
                short_rounds: 2,
                paced_rounds: 10,
                worst: 0.8,
                unsent: 40,
            },
        );
        assert_eq!(limit(&short), "open loop at 200 req/s");
        assert!(
            reason(&short).starts_with(
                "the open loop fell short of 200 req/s in 2 of 10 rounds (as low as 80 % of the rate, 40 planned requests unsent)"
            ),
            "{}",
            reason(&short)
        );
        let error_rate = check(
            Metric::ErrorRate,
            CheckKind::Slo,
            Level::Fail,
            Observation::Slo {
                limit: 0.001,
                head: None,
                currency: Currency::USD,
            },
        );
        assert_eq!(limit(&error_rate), "error rate ≤ 0.1 %");
        assert!(reason(&error_rate).contains("no successful requests"));
    }

    #[test]
    fn a_v1_files_checks_are_read_as_words_and_said_as_they_were() {
        let v1 = r#"{"endpoint":"GET /orders","metric":"p99","kind":"slo","level":"pass",
            "limit":"p99 < 250 ms","reason":"p99 126 ms on head within the SLO p99 < 250 ms"}"#;
        let c: Check = serde_json::from_str(v1).expect("a v1 check");
        assert_eq!(limit(&c), "p99 < 250 ms");
        assert_eq!(reason(&c), "p99 126 ms on head within the SLO p99 < 250 ms");
        // Written again, it is a v1.1 check that reads back the same.
        let again: Check = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(again, c);
        // A v1.1 check carries its words beside its observation, and keeps them
        // when read back.
        let mut verdict = Verdict {
            level: Level::Fail,
            mode: crate::config::Mode::Blocking,
            checks: vec![slo_breached()],
            error: None,
        };
        word(&mut verdict);
        let json = serde_json::to_value(&verdict.checks[0]).unwrap();
        assert_eq!(json["observed"]["type"], "slo");
        assert_eq!(json["limit"], "p99 < 250 ms");
        assert_eq!(
            json["reason"],
            "p99 287 ms on head breaks the SLO p99 < 250 ms"
        );
        let back: Check = serde_json::from_value(json).unwrap();
        assert_eq!(back, verdict.checks[0]);
        let neither = r#"{"endpoint":"a","metric":"p99","kind":"slo","level":"pass"}"#;
        let err = serde_json::from_str::<Check>(neither)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `observed`"), "{err}");
    }
}
