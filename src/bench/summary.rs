//! What `tailgate bench` reports: per phase the numbers a wrk user expects, per
//! endpoint its phases and ladder finding, the text and the JSON they are
//! written as.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::engine::{PacingReport, PhaseOutcome};
use super::outcome::ErrorKind;
use super::FirstRequest;
use crate::config::LadderKind;
use crate::format;
use crate::stats::quantile_ms;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
}

/// One second of the timeline, summarised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SecondSummary {
    /// Seconds since the phase started.
    pub second: u32,
    /// Requests completed in it.
    pub requests: u64,
    /// Failed ones among them.
    pub errors: u64,
    /// Median latency of the successful ones, ms.
    pub p50: Option<f64>,
    /// p99 latency of the successful ones, ms.
    pub p99: Option<f64>,
}

/// What one phase measured, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseSummary {
    /// What the phase was (`closed loop, 50 connections`).
    pub label: String,
    /// Wall time of the phase, seconds.
    pub seconds: f64,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// All completed requests per second.
    pub requests_per_sec: f64,
    /// Latency of successful requests, when there were any.
    pub latency: Option<Percentiles>,
    /// Response bytes on the wire.
    pub bytes_in: u64,
    /// Response body bytes as sent (before content decoding).
    pub bytes_body: u64,
    /// Response body bytes after content decoding.
    pub bytes_decoded: u64,
    /// Request body bytes sent.
    pub bytes_out: u64,
    /// `Server-Timing` mean per response that carried it, ms, by name.
    pub server_timing: BTreeMap<String, f64>,
    /// Open loop: how well the schedule was kept.
    pub pacing: Option<PacingReport>,
    /// Kept connections found closed by the server (or past its `Keep-Alive`
    /// limits) and reopened: not errors.
    #[serde(default)]
    pub reconnects: u64,
    /// Requests replayed once on a new connection after a stale kept one: not
    /// errors, their latency includes the replay.
    #[serde(default)]
    pub replays: u64,
    /// CPU of the busiest load-generator thread over the phase, as a fraction
    /// of one core, when it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_cpu: Option<f64>,
    /// Share of the phase the same thread was ready to run but waited for a
    /// CPU (other processes held its core), when Linux keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_wait: Option<f64>,
    /// Share of the phase a CPU quota (the process's cgroup) held it back, when
    /// there is one to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_throttled: Option<f64>,
    /// Per-second timeline.
    pub timeline: Vec<SecondSummary>,
}

impl PhaseSummary {
    /// Summarise a phase.
    pub fn new(label: impl Into<String>, outcome: &PhaseOutcome) -> PhaseSummary {
        let r = &outcome.recorder;
        let ms = |us: u64| us as f64 / 1000.0;
        let at = |per_mille| quantile_ms(&r.latency, per_mille).unwrap_or(0.0);
        let latency = (!r.latency.is_empty()).then(|| Percentiles {
            p50: at(500),
            p90: at(900),
            p95: at(950),
            p99: at(990),
            p999: at(999),
            max: ms(r.latency.max()),
            mean: r.latency.mean() / 1000.0,
            stdev: r.latency.stdev() / 1000.0,
        });
        let seconds = outcome.elapsed.as_secs_f64();
        PhaseSummary {
            label: label.into(),
            seconds,
            ok: r.ok,
            errors: r.errors.clone(),
            statuses: r.statuses.clone(),
            requests_per_sec: if seconds > 0.0 {
                r.total() as f64 / seconds
            } else {
                0.0
            },
            latency,
            bytes_in: r.bytes_in,
            bytes_body: r.bytes_body,
            bytes_decoded: r.bytes_decoded,
            bytes_out: r.bytes_out,
            server_timing: r
                .server_timing
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.mean_ms()?)))
                .collect(),
            pacing: outcome.pacing,
            reconnects: r.reconnects,
            replays: r.replays,
            generator_cpu: outcome.generator_cpu,
            generator_wait: outcome.generator_wait,
            generator_throttled: outcome.generator_throttled,
            timeline: r
                .timeline
                .seconds
                .iter()
                .enumerate()
                .map(|(i, s)| SecondSummary {
                    second: i as u32,
                    requests: s.requests,
                    errors: s.errors,
                    p50: s.p50_ms(),
                    p99: s.p99_ms(),
                })
                .collect(),
        }
    }

    /// Failed requests of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// A wrk-style text summary.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "  {}", self.label);
        match &self.latency {
            Some(l) => {
                let _ = writeln!(
                    out,
                    "  Latency    mean {}  stdev {}  max {}",
                    format::ms(l.mean),
                    format::ms(l.stdev),
                    format::ms(l.max)
                );
                let _ = writeln!(out, "  Latency distribution");
                for (q, v) in [
                    ("50%", l.p50),
                    ("90%", l.p90),
                    ("95%", l.p95),
                    ("99%", l.p99),
                    ("99.9%", l.p999),
                ] {
                    let _ = writeln!(out, "    {q:>6}  {}", format::ms(v));
                }
            }
            None => {
                let _ = writeln!(out, "  Latency    no successful request");
            }
        }
        let total = self.ok + self.error_count();
        let _ = writeln!(
            out,
            "  {} requests in {}, {} read{}",
            format::thousands(total),
            format::duration(Duration::from_secs_f64(self.seconds)),
            bytes(self.bytes_in),
            if self.bytes_decoded != self.bytes_body {
                format!(
                    " (bodies {}, {} decoded)",
                    bytes(self.bytes_body),
                    bytes(self.bytes_decoded)
                )
            } else {
                format!(" (bodies {})", bytes(self.bytes_body))
            }
        );
        let _ = writeln!(out, "  Requests/sec: {:.2}", self.requests_per_sec);
        if total > 0 {
            let codes: Vec<String> = self
                .statuses
                .iter()
                .map(|(code, n)| format!("{code}: {}", format::thousands(*n)))
                .collect();
            if !codes.is_empty() {
                let _ = writeln!(out, "  Status codes: {}", codes.join(", "));
            }
        }
        if !self.errors.is_empty() {
            let kinds: Vec<String> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k} {}", format::thousands(*n)))
                .collect();
            let _ = writeln!(
                out,
                "  Errors: {} ({})",
                format::thousands(self.error_count()),
                kinds.join(", ")
            );
            if self.errors.contains_key(&ErrorKind::ClientLimit) {
                let _ = writeln!(
                    out,
                    "  The client ran out of file descriptors (EMFILE): raise `ulimit -n` or use fewer connections; the target did not refuse these."
                );
            }
        }
        if self.reconnects > 0 || self.replays > 0 {
            let _ = writeln!(
                out,
                "  Keep-alive: {} connections found closed by the server and reopened, {} requests replayed on a new connection (not errors)",
                format::thousands(self.reconnects),
                format::thousands(self.replays)
            );
        }
        if let Some(cpu) = self.generator_cpu {
            let quota = super::saturation::quota_starved(self.generator_throttled);
            let waited = match self.generator_wait {
                Some(wait) if wait >= 0.005 => format!(
                    " and waited for one {} of the time{}",
                    format::percent(wait),
                    // A throttled group's threads wait too: the quota is the cause.
                    if quota {
                        ""
                    } else {
                        " (other processes held it)"
                    }
                ),
                _ => String::new(),
            };
            let throttled = match self.generator_throttled {
                Some(t) if t >= 0.005 => format!(
                    "; a CPU quota (its cgroup) stopped it {} of the time",
                    format::percent(t)
                ),
                _ => String::new(),
            };
            let verdict = if super::saturation::busy_or_starved(cpu, self.generator_wait) || quota {
                ": the client was saturated, latencies include its own queueing (use more --threads or fewer connections, or give the generator a core of its own)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  Generator: busiest thread used {} of a core{waited}{throttled}{verdict}",
                format::percent(cpu),
            );
        }
        if let Some(p) = &self.pacing {
            let _ = writeln!(
                out,
                "  Open loop: target {}/s, achieved {:.1}/s, send lag p99 {} max {}, queued for a connection {}, unsent {}{}",
                format::rate(p.target_rate),
                p.achieved_rate,
                format::ms(p.lag_p99_ms),
                format::ms(p.lag_max_ms),
                format::thousands(p.queued),
                p.unsent,
                if p.valid {
                    ""
                } else {
                    "  INVALID: the target rate was not delivered (more connections or a faster generator needed)"
                }
            );
        }
        if !self.server_timing.is_empty() {
            let parts: Vec<String> = self
                .server_timing
                .iter()
                .map(|(k, v)| format!("{k} {}", format::ms(*v)))
                .collect();
            let _ = writeln!(out, "  Server-Timing (mean): {}", parts.join(", "));
        }
        out
    }
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[unit])
    }
}

/// The schema identifier of `tailgate bench` JSON results.
pub const BENCH_SCHEMA: &str = "tailgate.bench/v1";

/// One ladder step's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderStep {
    /// Connections or rate of the step.
    pub step: f64,
    /// p99 latency, ms (when anything succeeded).
    pub p99_ms: Option<f64>,
    /// Failed / all requests.
    pub error_rate: f64,
    /// Completed requests per second.
    pub requests_per_sec: f64,
    /// Whether the step met the p99 limit (and had no errors).
    pub meets_slo: Option<bool>,
}

/// What a ladder found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderResult {
    /// Connections or rate.
    pub kind: LadderKind,
    /// Every step in order.
    pub steps: Vec<LadderStep>,
    /// The p99 limit applied, ms.
    pub slo_p99_ms: Option<f64>,
    /// The highest step that met the limit, when one did.
    pub best_step: Option<f64>,
}

/// The results of one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointBench {
    /// The endpoint's name.
    pub name: String,
    /// The load profile in words.
    pub profile: String,
    /// Whether latency counts from the send (closed loop) or from the due time.
    pub latency_from: String,
    /// The first request to the target (cold start as a client sees it).
    pub first_request: Option<FirstRequest>,
    /// One phase, or one per ladder step.
    pub phases: Vec<PhaseSummary>,
    /// The ladder's finding, for a ladder profile.
    pub ladder: Option<LadderResult>,
}

/// Everything `tailgate bench` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    /// Always [`BENCH_SCHEMA`].
    pub schema: String,
    /// The target.
    pub url: String,
    /// Generator threads used.
    pub threads: usize,
    /// Per endpoint.
    pub endpoints: Vec<EndpointBench>,
}

impl BenchReport {
    /// A wrk-style text report.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for e in &self.endpoints {
            out.push_str(&format!(
                "{} @ {}\n  {}, {} generator thread{}\n  latency measured from {}\n",
                e.name,
                self.url,
                e.profile,
                self.threads,
                if self.threads == 1 { "" } else { "s" },
                e.latency_from
            ));
            if let Some(first) = &e.first_request {
                match (first.latency, first.status, first.error) {
                    (Some(l), Some(s), _) => out.push_str(&format!(
                        "  First request: {} (status {s})\n",
                        crate::format::duration(l)
                    )),
                    (_, _, Some(err)) => out.push_str(&format!("  First request failed: {err}\n")),
                    _ => {}
                }
            }
            for p in &e.phases {
                out.push_str(&p.render_text());
            }
            if let Some(l) = &e.ladder {
                out.push_str("  Ladder (step: p99, errors, req/s)\n");
                for s in &l.steps {
                    out.push_str(&format!(
                        "    {:>8}: {:>10}  {:>7}  {:>10.1}{}\n",
                        crate::format::rate(s.step),
                        s.p99_ms.map_or("n/a".into(), crate::format::ms),
                        crate::format::percent(s.error_rate),
                        s.requests_per_sec,
                        match s.meets_slo {
                            Some(true) => "  meets the SLO",
                            Some(false) => "  breaks the SLO",
                            None => "",
                        }
                    ));
                }
                if let Some(limit) = l.slo_p99_ms {
                    match l.best_step {
                        Some(best) => out.push_str(&format!(
                            "  Highest step meeting p99 < {}: {}\n",
                            crate::format::ms(limit),
                            crate::format::rate(best)
                        )),
                        None => out.push_str(&format!(
                            "  No step met p99 < {}\n",
                            crate::format::ms(limit)
                        )),
                    }
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Recorder;

    /// `tailgate bench` and the comparison read percentiles by one rule: p99 of
    /// 100 requests is the 99th, not the 100th a float rank would pick.
    #[test]
    fn phase_percentiles_follow_the_one_rule() {
        let mut recorder = Recorder::default();
        for ms in 1..=100u64 {
            recorder.success(Duration::from_millis(ms), 0);
        }
        let outcome = PhaseOutcome {
            recorder,
            elapsed: Duration::from_secs(1),
            pacing: None,
            generator_cpu: None,
            generator_wait: None,
            generator_throttled: None,
        };
        let latency = PhaseSummary::new("phase", &outcome).latency.unwrap();
        let near = |got: f64, want: f64| (got - want).abs() <= want * 0.001;
        assert!(near(latency.p50, 50.0), "{}", latency.p50);
        assert!(near(latency.p99, 99.0), "{}", latency.p99);
        assert!(near(latency.max, 100.0), "{}", latency.max);
    }
}
