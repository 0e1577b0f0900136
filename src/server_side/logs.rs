//! Fetch a function's REPORT lines for a time window from CloudWatch Logs.
//!
//! `FilterLogEvents` on `/aws/lambda/<function>` with the filter pattern
//! `?"REPORT RequestId" ?"platform.report"` (text or JSON log format), every page
//! followed (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html>).
//! The parser decides what a REPORT is; the pattern only keeps the traffic down.
//! Logs reach CloudWatch a few seconds after the invocation: [`fetch_settled`] polls
//! until the count stops growing or reaches what was expected.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;

use super::report_line::{parse_message, Report};
use crate::aws::{error_code, AwsError};

/// The CloudWatch filter pattern that selects REPORT lines of both log formats.
pub const REPORT_FILTER: &str = r#"?"REPORT RequestId" ?"platform.report""#;

/// One REPORT with where and when it was logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEvent {
    /// The function (physical name) it belongs to.
    pub function: String,
    /// The log event's timestamp, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The parsed line.
    pub report: Report,
}

/// What a fetch found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchedReports {
    /// Every REPORT, in log order.
    pub events: Vec<ReportEvent>,
    /// Messages that looked like a REPORT but did not parse.
    pub rejected: u64,
    /// The first few rejections, as `error: message` (cut), for the report.
    pub rejected_examples: Vec<String>,
}

impl FetchedReports {
    fn merge(&mut self, other: FetchedReports) {
        self.events.extend(other.events);
        self.rejected += other.rejected;
        for ex in other.rejected_examples {
            if self.rejected_examples.len() < 3 {
                self.rejected_examples.push(ex);
            }
        }
    }
}

/// The default log group of a function.
pub fn log_group(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// All REPORT lines of `function` logged in `[start_ms, end_ms]`. A function that
/// never logged (no log group yet) has none.
pub async fn fetch(
    logs: &Client,
    function: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<FetchedReports, AwsError> {
    let mut pages = logs
        .filter_log_events()
        .log_group_name(log_group(function))
        .start_time(start_ms)
        .end_time(end_ms)
        .filter_pattern(REPORT_FILTER)
        .into_paginator()
        .send();
    let mut out = FetchedReports::default();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(err) if error_code(&err).as_deref() == Some("ResourceNotFoundException") => {
                return Ok(out);
            }
            Err(err) => return Err(AwsError::api("FilterLogEvents", &err)),
        };
        for event in page.events() {
            let message = event.message().unwrap_or_default();
            match parse_message(message) {
                Ok(Some(report)) => out.events.push(ReportEvent {
                    function: function.to_string(),
                    timestamp_ms: event.timestamp().unwrap_or_default(),
                    report,
                }),
                Ok(None) => {}
                Err(err) => {
                    out.rejected += 1;
                    if out.rejected_examples.len() < 3 {
                        let cut: String = message.chars().take(120).collect();
                        out.rejected_examples.push(format!("{err}: {cut}"));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// REPORT lines of every function in `functions`, polled until their count reaches
/// `expected` or stops growing over three polls in a row, or `patience` runs out.
pub async fn fetch_settled(
    logs: &Client,
    functions: &[String],
    start_ms: i64,
    end_ms: i64,
    expected: u64,
    patience: Duration,
    interval: Duration,
) -> Result<FetchedReports, AwsError> {
    // Logs arrive in bursts: a count is settled only when it stayed the same over
    // this many polls in a row (one unchanged poll is often just a pause).
    const QUIET_POLLS: u32 = 3;
    let started = tokio::time::Instant::now();
    let mut last_count: Option<usize> = None;
    let mut unchanged = 0;
    loop {
        let mut all = FetchedReports::default();
        for f in functions {
            all.merge(fetch(logs, f, start_ms, end_ms).await?);
        }
        let count = all.events.len();
        let enough = count as u64 >= expected;
        if last_count == Some(count) && count > 0 {
            unchanged += 1;
        } else {
            unchanged = 0;
        }
        if enough || unchanged >= QUIET_POLLS || started.elapsed() >= patience {
            all.events.sort_by_key(|e| e.timestamp_ms);
            return Ok(all);
        }
        last_count = Some(count);
        tokio::time::sleep(interval).await;
    }
}
