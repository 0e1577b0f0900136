//! CloudWatch Logs Insights over a side's measured window: one query per side that
//! AWS aggregates itself, so a window with more REPORT lines than `FilterLogEvents`
//! pages through in reasonable time is still counted, and the slowest minute of
//! each side can be named.
//!
//! The query (Lambda's REPORT fields are discovered by Insights for `/aws/lambda/*`
//! groups: `@duration`, `@billedDuration`, `@initDuration`, `@maxMemoryUsed`):
//!
//! ```text
//! filter @type = "REPORT"
//! | stats count(*) as invocations, sum(@billedDuration) as billedMs,
//!         avg(@duration) as avgMs, pct(@duration, 99) as p99Ms,
//!         max(@maxMemoryUsed) as maxMemoryBytes, count(@initDuration) as coldStarts
//!   by bin(1m)
//! ```
//!
//! `StartQuery` takes the window in epoch *seconds* (so the window is widened to
//! whole seconds); `GetQueryResults` is polled until the query is `Complete` (or
//! `Failed`, `Cancelled`, `Timeout`); each result row is a list of `{field, value}`
//! pairs, values as text. `@maxMemoryUsed` is in bytes.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::types::QueryStatus;
use aws_sdk_cloudwatchlogs::Client;
use serde::{Deserialize, Serialize};

use crate::aws::AwsError;

/// The query tailgate runs.
pub const QUERY: &str = "filter @type = \"REPORT\" \
| stats count(*) as invocations, sum(@billedDuration) as billedMs, avg(@duration) as avgMs, \
pct(@duration, 99) as p99Ms, max(@maxMemoryUsed) as maxMemoryBytes, count(@initDuration) as coldStarts \
by bin(1m)";

/// One minute of one side, as Insights aggregated it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Minute {
    /// The minute's start, as Insights prints it (`2026-12-03 08:41:00.000`, UTC).
    pub minute: String,
    /// REPORT lines in it.
    pub invocations: u64,
    /// Billed milliseconds summed.
    pub billed_ms: f64,
    /// Mean duration (ms).
    pub avg_ms: Option<f64>,
    /// 99th percentile of the duration (ms).
    pub p99_ms: Option<f64>,
    /// Peak memory used (MB).
    pub max_memory_mb: Option<f64>,
    /// Lines with an init duration: cold starts.
    pub cold_starts: u64,
}

/// What Insights said about one side's window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InsightsSummary {
    /// Per minute, in time order.
    pub minutes: Vec<Minute>,
}

impl InsightsSummary {
    /// REPORT lines in all minutes.
    pub fn invocations(&self) -> u64 {
        self.minutes.iter().map(|m| m.invocations).sum()
    }

    /// Cold starts in all minutes.
    pub fn cold_starts(&self) -> u64 {
        self.minutes.iter().map(|m| m.cold_starts).sum()
    }

    /// The minute with the highest p99 duration.
    pub fn slowest_minute(&self) -> Option<&Minute> {
        self.minutes
            .iter()
            .filter(|m| m.p99_ms.is_some())
            .max_by(|a, b| {
                a.p99_ms
                    .partial_cmp(&b.p99_ms)
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }
}

/// Turn result rows (lists of `(field, value)`) into minutes. Rows without a
/// minute are skipped; numbers Insights could not compute are `None`.
pub fn parse_rows(rows: &[Vec<(String, String)>]) -> InsightsSummary {
    let mut minutes: Vec<Minute> = rows
        .iter()
        .filter_map(|row| {
            let get = |name: &str| row.iter().find(|(f, _)| f == name).map(|(_, v)| v.as_str());
            let num = |name: &str| get(name).and_then(|v| v.trim().parse::<f64>().ok());
            let minute = get("bin(1m)")?.to_string();
            Some(Minute {
                minute,
                invocations: num("invocations").map_or(0, |n| n as u64),
                billed_ms: num("billedMs").unwrap_or(0.0),
                avg_ms: num("avgMs"),
                p99_ms: num("p99Ms"),
                max_memory_mb: num("maxMemoryBytes").map(|b| b / 1_000_000.0),
                cold_starts: num("coldStarts").map_or(0, |n| n as u64),
            })
        })
        .collect();
    minutes.sort_by(|a, b| a.minute.cmp(&b.minute));
    InsightsSummary { minutes }
}

/// Run [`QUERY`] over the log groups of `functions` from `start_ms` to `end_ms`,
/// polling every `interval` for at most `timeout`.
pub async fn query_window(
    logs: &Client,
    functions: &[String],
    start_ms: i64,
    end_ms: i64,
    interval: Duration,
    timeout: Duration,
) -> Result<InsightsSummary, AwsError> {
    let groups: Vec<String> = functions
        .iter()
        .map(|f| format!("/aws/lambda/{f}"))
        .collect();
    let started = logs
        .start_query()
        .set_log_group_names(Some(groups))
        .start_time(start_ms.div_euclid(1000))
        .end_time((end_ms + 999).div_euclid(1000))
        .query_string(QUERY)
        .limit(10_000)
        .send()
        .await
        .map_err(|e| AwsError::api("StartQuery", &e))?;
    let id = started
        .query_id()
        .ok_or_else(|| AwsError::Api {
            operation: "StartQuery",
            message: "no queryId in the answer".into(),
        })?
        .to_string();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let out = logs
            .get_query_results()
            .query_id(&id)
            .send()
            .await
            .map_err(|e| AwsError::api("GetQueryResults", &e))?;
        match out.status() {
            Some(QueryStatus::Complete) => {
                let rows: Vec<Vec<(String, String)>> = out
                    .results()
                    .iter()
                    .map(|row| {
                        row.iter()
                            .map(|c| {
                                (
                                    c.field().unwrap_or_default().to_string(),
                                    c.value().unwrap_or_default().to_string(),
                                )
                            })
                            .collect()
                    })
                    .collect();
                return Ok(parse_rows(&rows));
            }
            Some(s @ (QueryStatus::Failed | QueryStatus::Cancelled | QueryStatus::Timeout)) => {
                return Err(AwsError::Api {
                    operation: "GetQueryResults",
                    message: format!("the Logs Insights query ended {}", s.as_str()),
                });
            }
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            // Do not leave it running (and billed) on AWS's side.
            let _ = logs.stop_query().query_id(&id).send().await;
            return Err(AwsError::Api {
                operation: "GetQueryResults",
                message: format!("the Logs Insights query was still running after {timeout:?}"),
            });
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rows_become_minutes_and_the_slowest_is_named() {
        let rows = vec![
            row(&[
                ("bin(1m)", "2026-12-03 08:42:00.000"),
                ("invocations", "1200"),
                ("billedMs", "122400"),
                ("avgMs", "101.2"),
                ("p99Ms", "180.5"),
                ("maxMemoryBytes", "88000000"),
                ("coldStarts", "0"),
            ]),
            row(&[
                ("bin(1m)", "2026-12-03 08:41:00.000"),
                ("invocations", "300"),
                ("billedMs", "30100"),
                ("avgMs", "99.0"),
                ("p99Ms", "410.0"),
                ("coldStarts", "2"),
            ]),
            row(&[("invocations", "5")]),
        ];
        let s = parse_rows(&rows);
        assert_eq!(s.minutes.len(), 2);
        assert_eq!(s.minutes[0].minute, "2026-12-03 08:41:00.000");
        assert_eq!(s.invocations(), 1500);
        assert_eq!(s.cold_starts(), 2);
        assert_eq!(s.slowest_minute().unwrap().p99_ms, Some(410.0));
        assert_eq!(s.minutes[1].max_memory_mb, Some(88.0));
        assert_eq!(s.minutes[0].max_memory_mb, None);
    }
}
