//! The details a reviewer digs for: how the numbers were measured, where the config
//! came from (and what the PR changes in it), the environment, and links to the run
//! and the commits.

use super::escape;
use crate::format;
use crate::judge::verdict::{ChangeState, Level, Metric, Observation};
use crate::results::RunResults;
use crate::results::{ConfigChange, ConfigNote, ConfigOrigin};
use serde::Serialize;

/// The config note.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigView {
    /// A line shown under the findings when the PR changes the config.
    pub notice: Option<String>,
    /// The sentence for the details.
    pub source: String,
    /// The diff from the gating config to the PR's.
    pub diff: Option<String>,
}

/// What a percentile needing `needed` samples asks of the rounds, in words.
pub(super) fn estimable_rule(needed: u64) -> String {
    format!(
        "it needs ≥ {} requests per round, or as many in all over at least {} rounds",
        format::thousands(needed),
        crate::stats::DEFAULT_MIN_BOOTSTRAP_ROUNDS
    )
}

/// The detail texts of a report.
pub struct Details {
    /// How the numbers were obtained.
    pub method: String,
    /// The config note.
    pub config: Option<ConfigView>,
    /// Links to the run and the results.
    pub links: String,
    /// The footer line.
    pub footer: String,
}

fn level_words(level: Level) -> &'static str {
    match level {
        Level::Pass => "✅ pass",
        Level::Warn => "⚠️ pass with warnings",
        Level::Fail => "❌ fail",
        Level::Error => "💥 error",
    }
}

fn short_sha(sha: &str) -> String {
    sha.chars().take(7).collect()
}

/// `2026-11-26T21:04:05Z` -> `2026-11-26 21:04 UTC`.
fn when(rfc3339: &str) -> String {
    match (
        rfc3339.get(..10),
        rfc3339.get(11..16),
        rfc3339.ends_with('Z'),
    ) {
        (Some(day), Some(time), true) => format!("{day} {time} UTC"),
        _ => escape::text(rfc3339),
    }
}

fn config_view(note: &ConfigNote, verdict: Level) -> ConfigView {
    let path = escape::code(&note.path);
    let from = escape::code(&note.read_from);
    let at = note
        .sha
        .as_deref()
        .map(|s| format!(" at `{}`", short_sha(s)))
        .unwrap_or_default();
    let via = match note.via {
        ConfigOrigin::Git => " (read with `git show`)",
        ConfigOrigin::ContentsApi => " (read with the contents API)",
        ConfigOrigin::WorkingTree => "",
    };
    let after_merge = note.head_verdict.map(|head| {
        if head == verdict {
            format!(
                " Under the PR's copy the verdict would be the same ({}).",
                level_words(head)
            )
        } else {
            format!(
                " Under the PR's copy the verdict would be **{}** instead of {}.",
                level_words(head),
                level_words(verdict)
            )
        }
    });
    let after_merge = after_merge.unwrap_or_default();
    let (notice, source) = match note.change {
        ConfigChange::NotPullRequest => (None, format!("Config `{path}` from the working tree.")),
        ConfigChange::Unchanged => (
            None,
            format!("Config read from `{from}`{at}{via} (this PR does not change it)."),
        ),
        ConfigChange::Changed => (
            Some(format!(
                "⚙️ This PR changes `{path}`. The gate used the copy on `{from}`{at}, since a PR \
                 cannot loosen its own gate; the changes apply after merge.{after_merge}"
            )),
            format!("Config read from `{from}`{at}{via}; this PR changes it (diff below)."),
        ),
        ConfigChange::Added => (
            Some(format!(
                "⚙️ This PR adds `{path}`: the base branch has none, so the PR's copy gated this run."
            )),
            format!("Config `{path}` from this PR (the base branch has none)."),
        ),
        ConfigChange::Removed => (
            Some(format!(
                "⚙️ This PR removes `{path}`. The gate used the copy on `{from}`{at}."
            )),
            format!("Config read from `{from}`{at}{via}; this PR removes it."),
        ),
    };
    ConfigView {
        notice,
        source,
        diff: note
            .diff
            .as_ref()
            .map(|d| d.trim_end().replace("```", "'''")),
    }
}

/// The budget checks this run could not decide and why, one line each: a
/// percentile its rounds cannot estimate ("needs ≥ 1,000 requests per round"),
/// or an inconclusive change the run was too noisy or too short to see at the
/// budget's size (its minimum detectable effect is above the budget). These are
/// not warnings: the gate passes them, and says so here.
fn could_not_tell(results: &RunResults) -> Vec<String> {
    let mut lines = Vec::new();
    for check in &results.verdict.checks {
        let Observation::Budget {
            limit,
            comparison: m,
            ..
        } = &check.observed
        else {
            continue;
        };
        let name = escape::code(&check.endpoint);
        // A learned floor at or past the budget: no change of the budget's size can
        // be called regressed, whatever the rounds.
        let learned = results.history.iter().flat_map(|h| &h.floors).find(|f| {
            f.endpoint == check.endpoint
                && f.metric.is_none_or(|metric| metric == m.metric)
                && f.learned_from.is_some()
        });
        if let Some(f) = learned.filter(|f| m.metric.percentile().is_some() && f.floor.0 >= *limit)
        {
            lines.push(format!(
                "`{name}` {metric}: the noise between deployments learned from {runs} stored runs \
                 ({floor}) is at least the budget ({budget}), so no change of the budget's size \
                 can be called regressed; steady the service's deployments or raise the budget.",
                metric = m.metric,
                runs = f.learned_from.unwrap_or(0),
                floor = format::percent(f.floor.0),
                budget = format::signed_percent(*limit),
            ));
        }
        if let Some(why) = &m.not_estimable {
            lines.push(format!(
                "`{name}` {metric} is not estimable at this load: {have} requests per round over {rounds} \
                 rounds ({rule}; raise the rate or the round's duration).",
                metric = m.metric,
                have = format::thousands(why.per_round),
                rounds = why.rounds,
                rule = estimable_rule(why.needed),
            ));
        } else if m.state == ChangeState::Inconclusive {
            if let Some(mde) = m.mde.filter(|mde| mde > limit) {
                let size = |v: f64| match m.metric {
                    Metric::ErrorRate => format!("{} points", format::signed_percent(v)),
                    Metric::Throughput => format::signed_percent(-v),
                    _ => format::signed_percent(v),
                };
                lines.push(format!(
                    "`{name}` {metric} is inconclusive: this run could only detect changes beyond {mde} \
                     (budget {budget}); more rounds or longer rounds would narrow it.",
                    metric = m.metric,
                    mde = size(mde),
                    budget = size(*limit),
                ));
            }
        }
    }
    lines
}

/// Where each endpoint of a sequential run stopped: `` `a` decided after 6 rounds
/// (12 s)``, `` `b` ran the most, 24 rounds (48 s)``, and the measuring wall time.
/// What the servers' connection closes cost, when they closed any: the
/// reopened connections and the replayed requests (`bench::keepalive`), which
/// are not errors, so a reader who sees 0 errors from a server known to close
/// idle connections knows why.
fn kept_connections(results: &RunResults) -> Option<String> {
    let rounds = results.endpoints.iter().flat_map(|e| &e.rounds);
    let (reconnects, replays) = rounds.fold((0u64, 0u64), |(c, r), round| {
        (
            c.saturating_add(round.data.reconnects),
            r.saturating_add(round.data.replays),
        )
    });
    if reconnects == 0 && replays == 0 {
        return None;
    }
    let requests = if replays == 1 { "request" } else { "requests" };
    Some(format!(
        "Kept connections: {} found closed by the server (idle keep-alive or a request cap) and \
         reopened, {} {requests} that met a closed one before any answer sent again on a new one; \
         neither is an error.",
        crate::format::thousands(reconnects),
        crate::format::thousands(replays)
    ))
}

fn stops(results: &RunResults) -> String {
    let mut parts = Vec::new();
    let mut wall = 0;
    for run in &results.endpoints {
        let Some(stop) = run.stop else {
            continue;
        };
        wall = wall.max(stop.elapsed_ms);
        let took = format::duration(std::time::Duration::from_millis(stop.elapsed_ms));
        parts.push(match stop.reason {
            crate::bench::StopReason::Decided => format!(
                "`{}` decided after {} rounds ({took})",
                escape::code(&run.name),
                stop.rounds
            ),
            crate::bench::StopReason::MostRounds => format!(
                "`{}` undecided until the most rounds, {} ({took})",
                escape::code(&run.name),
                stop.rounds
            ),
        });
    }
    if parts.is_empty() {
        return "no endpoint recorded where it stopped".into();
    }
    format!(
        "{}; measuring took {}",
        parts.join(", "),
        format::duration(std::time::Duration::from_millis(wall))
    )
}

/// Build the details of `results`.
pub fn build(results: &RunResults) -> Details {
    let s = &results.settings;
    let ctx = &results.context;
    let profile = results
        .endpoints
        .first()
        .map(|e| e.profile.clone())
        .unwrap_or_default();
    let profile = if profile.is_empty() {
        String::new()
    } else {
        format!("{}; ", escape::inline(&profile))
    };
    let sequential = s.min_rounds >= 2 && s.min_rounds < s.rounds;
    let mut method = format!(
        "{}{} rounds per side, base and head interleaved in random order (seed {}); {}\
         intervals at {:.0} % confidence from the rounds ({} bootstrap resamples); \
         {}. Deployer `{}`, mode {}.",
        if sequential { "At most " } else { "" },
        s.rounds,
        s.seed,
        profile,
        s.confidence * 100.0,
        s.resamples,
        floor_words(results),
        escape::code(&s.deployer),
        match s.mode {
            crate::config::Mode::Advisory => "advisory",
            crate::config::Mode::Blocking => "blocking",
        }
    );
    if sequential {
        method.push_str(&format!(
            " Sequential looks every {} rounds from round {} (O'Brien–Fleming spending, so the error \
             rates are those of the fixed design; the intervals are repeated confidence intervals): {}.",
            crate::config::LOOK_EVERY,
            s.min_rounds,
            stops(results)
        ));
    }
    let config = ctx
        .config
        .as_ref()
        .map(|note| config_view(note, results.verdict.level));
    match &config {
        Some(c) => method.push_str(&format!(" {}", c.source)),
        None => method.push_str(&format!(" Config `{}`.", escape::code(&s.config_source))),
    }
    if let Some(runner) = &ctx.runner {
        method.push_str(&format!(" Runner: {}.", escape::text(runner)));
    }
    if let Some(sentence) = kept_connections(results) {
        method.push(' ');
        method.push_str(&sentence);
    }
    if let Some(paragraph) = super::shards::method(results) {
        method.push_str("\n\n");
        method.push_str(&paragraph);
    }
    // Last, so the paragraph's sentences stay out of the list.
    let untold = could_not_tell(results);
    if !untold.is_empty() {
        method.push_str("\n\nWhat this run could not tell:\n");
        for line in untold {
            method.push_str(&format!("\n- {line}"));
        }
        method.push('\n');
    }

    let repo_url = match (&ctx.server_url, &ctx.repository) {
        (Some(server), Some(repo)) => Some(format!("{server}/{repo}")).filter(|u| is_safe_url(u)),
        _ => None,
    };
    let mut links = Vec::new();
    // Links go to the repository's own server only: a run link elsewhere is dropped.
    let run_url = ctx.run_url.as_ref().filter(|u| {
        is_safe_url(u)
            && repo_url
                .as_ref()
                .is_some_and(|r| u.starts_with(&format!("{r}/actions/runs/")))
    });
    if let Some(url) = run_url {
        let label = ctx
            .run_id
            .map_or("Workflow run".to_string(), |id| format!("Run {id}"));
        links.push(format!("[{label}]({url})"));
    }
    links.push("results: `tailgate-results.json`".to_string());
    let links = links.join(" · ");

    let side = |label: &str, sha: Option<&String>| match (sha, &repo_url) {
        (Some(sha), Some(repo)) if is_sha(sha) => format!(
            "[`{}`]({repo}/commit/{sha})",
            escape::code(&short_label(label, sha)),
        ),
        _ => format!("`{}`", escape::code(label)),
    };
    let mut footer = format!("tailgate {}", escape::text(&results.tool_version));
    if !ctx.base_label.is_empty() {
        footer.push_str(&format!(
            " · base {}",
            side(&ctx.base_label, ctx.base_sha.as_ref())
        ));
    }
    if !ctx.head_label.is_empty() {
        footer.push_str(&format!(
            " · head {}",
            side(&ctx.head_label, ctx.head_sha.as_ref())
        ));
    }
    footer.push_str(&format!(" · {}", when(&results.started_at)));
    Details {
        method,
        config,
        links,
        footer,
    }
}

/// A full commit sha (hex), safe to put in a link.
fn is_sha(s: &str) -> bool {
    (7..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// An http(s) URL with nothing that could end a markdown link or start markup
/// (a results file is untrusted input when published from another workflow).
fn is_safe_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/._~%?#=&+-".contains(c))
}

/// The label to show for a side: its label when it names the commit already,
/// else the short sha.
fn short_label(label: &str, sha: &str) -> String {
    if label.is_empty() {
        short_sha(sha)
    } else {
        label.to_string()
    }
}

/// The noise floor in the method sentence: the config's, or where the history
/// learned floors, that they are listed below (and the config's for the rest).
fn floor_words(results: &RunResults) -> String {
    let config = format::percent(results.settings.noise_floor.0);
    let learned = results
        .history
        .iter()
        .flat_map(|h| &h.floors)
        .any(|f| f.learned_from.is_some());
    if learned {
        format!(
            "noise floors learned from the history per endpoint and metric (below), the \
             config's {config} where none was learned"
        )
    } else {
        format!("noise floor {config}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(is_safe_url("https://github.com/o/r/actions/runs/1"));
        assert!(!is_safe_url("javascript:alert(1)"));
        assert!(!is_safe_url("https://x/a)[b](c"));
        assert!(is_sha("ec26c3e57ca3a959ca5aad62de7213c562f8c821"));
        assert!(!is_sha("x) [evil](y"));
    }

    #[test]
    fn a_learned_floor_past_the_budget_is_said() {
        let mut r: RunResults = crate::results::empty_for_tests();
        r.verdict = serde_json::from_value(serde_json::json!(
            {"level": "pass", "mode": "blocking", "error": null, "checks": [{
                "endpoint": "GET /a", "metric": "p99", "kind": "budget", "level": "pass",
                "observed": {"type": "budget", "limit": 0.1, "past_budget": false, "currency": "USD",
                    "comparison": {"metric": "p99", "base": 10.0, "head": 11.5, "state": "unchanged",
                        "change": {"kind": "ratio", "point": 1.15, "low": 0.9, "high": 1.4, "confidence": 0.95}}}
            }]}
        ))
        .expect("verdict");
        let floor = |floor: f64| crate::results::FloorNote {
            endpoint: "GET /a".into(),
            metric: Some(Metric::P99),
            floor: crate::config::Fraction(floor),
            learned_from: Some(25),
            source: None,
            deployments: Some(crate::config::Fraction(floor)),
            within_run: None,
        };
        r.history = Some(crate::results::HistoryNote {
            floors: vec![floor(0.3)],
            ..Default::default()
        });
        let lines = could_not_tell(&r);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("learned from 25 stored runs (30 %) is at least the budget (+10 %)"),
            "{lines:?}"
        );
        // Below the budget: nothing to say.
        r.history.as_mut().unwrap().floors = vec![floor(0.04)];
        assert!(could_not_tell(&r).is_empty());
    }

    #[test]
    fn reopened_connections_and_replays_are_said_only_when_there_were_any() {
        let mut r: RunResults = crate::results::empty_for_tests();
        let round = |reconnects, replays| {
            let data = crate::bench::Recorder {
                reconnects,
                replays,
                ..Default::default()
            };
            crate::bench::RoundRecord::new(
                0,
                crate::side::Side::Base,
                0,
                std::time::Duration::from_secs(1),
                data,
            )
        };
        r.endpoints = vec![crate::bench::EndpointRun::new(
            "GET /a",
            "GET",
            "/a",
            String::new(),
            vec![round(0, 0), round(0, 0)],
        )];
        assert_eq!(kept_connections(&r), None);
        r.endpoints[0].rounds = vec![round(5, 1), round(1200, 0)];
        assert_eq!(
            kept_connections(&r).as_deref(),
            Some(
                "Kept connections: 1,205 found closed by the server (idle keep-alive or a request cap) \
                 and reopened, 1 request that met a closed one before any answer sent again on a new \
                 one; neither is an error."
            )
        );
    }

    #[test]
    fn times() {
        assert_eq!(when("2026-11-26T21:04:05Z"), "2026-11-26 21:04 UTC");
        assert_eq!(when("1700000000"), "1700000000");
    }
}
