//! The Lambda `REPORT` line: one per invocation, the billing truth.
//!
//! Documented at <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html>
//! (text format) and <https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html>
//! (`platform.report`, the JSON log format). Variants handled:
//!
//! - text, tab-separated: `REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\t
//!   Memory Size: 128 MB\tMax Memory Used: 60 MB\t` then optionally `Init Duration: … ms`
//!   (a cold start), `Restore Duration: … ms` and `Billed Restore Duration: … ms` (SnapStart),
//!   `Status: timeout`, `Error Type: …`, and any field added later (kept, not fatal);
//! - the same with spaces instead of tabs (as copied from a console);
//! - a second line `XRAY TraceId: …\tSegmentId: …\tSampled: true` when traced;
//! - JSON log format: `{"type":"platform.report","record":{"requestId":…,"metrics":{…}}}`.
//!
//! A message that is not a REPORT (START, END, the function's own logs) is `Ok(None)`;
//! one that claims to be a REPORT but is malformed is an error. Nothing here panics:
//! the parser is fuzzed (see `tests/aws_report_fuzz.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

/// One invocation's REPORT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The invocation's request id.
    pub request_id: String,
    /// Time spent in the handler.
    pub duration: Duration,
    /// Time billed (rounded up to 1 ms; includes the init phase where AWS bills it).
    pub billed_duration: Duration,
    /// Configured memory.
    pub memory_size_mb: u32,
    /// Peak memory used.
    pub max_memory_used_mb: u32,
    /// Present on a cold start: time to initialise the runtime and the code.
    pub init_duration: Option<Duration>,
    /// SnapStart: time to restore the snapshot (a cold start too).
    pub restore_duration: Option<Duration>,
    /// SnapStart: restore time billed, on top of `billed_duration`.
    pub billed_restore_duration: Option<Duration>,
    /// `timeout`, `error`, ... when the invocation did not succeed.
    pub status: Option<String>,
    /// The error type of a failed invocation (`Runtime.ExitError`).
    pub error_type: Option<String>,
    /// X-Ray trace id when the invocation was traced.
    pub trace_id: Option<String>,
    /// Fields this parser does not know, by name (kept for the curious).
    pub extra: BTreeMap<String, String>,
}

impl Report {
    /// Whether this invocation started a new execution environment.
    pub fn is_cold(&self) -> bool {
        self.init_duration.is_some() || self.restore_duration.is_some()
    }

    /// Everything billed for this invocation: billed duration plus billed restore.
    pub fn billed_total(&self) -> Duration {
        self.billed_duration + self.billed_restore_duration.unwrap_or_default()
    }
}

/// Why a REPORT line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// A required field is missing.
    #[error("REPORT line without `{0}`")]
    Missing(&'static str),
    /// A field's value is not what the format says.
    #[error("REPORT field `{field}` has an unreadable value `{value}`")]
    BadValue {
        /// The field.
        field: &'static str,
        /// The value as found (cut to 64 characters).
        value: String,
    },
    /// A JSON `platform.report` record that does not have the documented shape.
    #[error("platform.report record is not valid: {0}")]
    Json(String),
}

const MAX_MS: u64 = 1_000_000_000; // ~11.6 days: far beyond Lambda's 15-minute limit.
const MAX_MB: u64 = 1_048_576;

/// Known text keys, longest first so `Billed Duration` wins over `Duration`.
const KEYS: [&str; 10] = [
    "Billed Restore Duration",
    "Restore Duration",
    "Max Memory Used",
    "Billed Duration",
    "Init Duration",
    "Memory Size",
    "Error Type",
    "RequestId",
    "Duration",
    "Status",
];

fn cut(value: &str) -> String {
    value.chars().take(64).collect()
}

/// Parse a decimal millisecond count (`12.34`) exactly into a [`Duration`]
/// (digits past the microsecond are dropped).
fn parse_ms_number(text: &str, field: &'static str) -> Result<Duration, ReportError> {
    let bad = || ReportError::BadValue {
        field,
        value: cut(text),
    };
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (text.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    let int = int.trim_start_matches('0');
    if int.len() > 10 {
        return Err(bad());
    }
    let ms: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    if ms > MAX_MS {
        return Err(bad());
    }
    let mut micros = 0u64;
    for (i, d) in frac.bytes().take(3).enumerate() {
        micros += u64::from(d - b'0') * 10u64.pow(2 - i as u32);
    }
    Ok(Duration::from_millis(ms) + Duration::from_micros(micros))
}

/// `<number> <unit>`; in `loose` mode text after the unit is ignored.
fn split_unit<'v>(
    value: &'v str,
    unit: &str,
    field: &'static str,
    loose: bool,
) -> Result<&'v str, ReportError> {
    let mut parts = value.split_whitespace();
    let (Some(number), Some(u)) = (parts.next(), parts.next()) else {
        return Err(ReportError::BadValue {
            field,
            value: cut(value),
        });
    };
    if u != unit || (!loose && parts.next().is_some()) {
        return Err(ReportError::BadValue {
            field,
            value: cut(value),
        });
    }
    Ok(number)
}

fn ms_field(value: &str, field: &'static str, loose: bool) -> Result<Duration, ReportError> {
    parse_ms_number(split_unit(value, "ms", field, loose)?, field)
}

fn mb_field(value: &str, field: &'static str, loose: bool) -> Result<u32, ReportError> {
    let number = split_unit(value, "MB", field, loose)?;
    let bad = || ReportError::BadValue {
        field,
        value: cut(value),
    };
    if number.is_empty() || number.len() > 8 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let mb: u64 = number.parse().map_err(|_| bad())?;
    if mb > MAX_MB {
        return Err(bad());
    }
    u32::try_from(mb).map_err(|_| bad())
}

/// Split `Key: value` pairs. With tabs every field is one tab-separated cell; without,
/// known keys are found at word starts.
fn fields(body: &str) -> (Vec<(String, String)>, bool) {
    if body.contains('\t') {
        let pairs = body
            .split('\t')
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .map(|cell| match cell.split_once(':') {
                Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
                None => (cell.to_string(), String::new()),
            })
            .collect();
        return (pairs, false);
    }
    let mut starts: Vec<(usize, &str)> = Vec::new();
    let mut prev_space = true;
    let mut inside_key_until = 0;
    for (i, ch) in body.char_indices() {
        if prev_space && i >= inside_key_until {
            let rest = &body[i..];
            if let Some(key) = KEYS
                .iter()
                .find(|k| rest.starts_with(**k) && rest[k.len()..].starts_with(':'))
            {
                starts.push((i, key));
                inside_key_until = i + key.len();
            }
        }
        prev_space = ch.is_whitespace();
    }
    let mut pairs = Vec::with_capacity(starts.len());
    for (n, (at, key)) in starts.iter().enumerate() {
        let value_start = at + key.len() + 1;
        let end = starts.get(n + 1).map_or(body.len(), |(next, _)| *next);
        let value = body.get(value_start..end).unwrap_or("").trim();
        pairs.push((key.to_string(), value.to_string()));
    }
    (pairs, true)
}

fn parse_text(report_line: &str, xray_line: Option<&str>) -> Result<Report, ReportError> {
    let body = &report_line["REPORT".len()..];
    let (pairs, loose) = fields(body);
    let mut found: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut extra = BTreeMap::new();
    for (key, value) in pairs {
        match KEYS.iter().find(|k| **k == key) {
            Some(k) => {
                found.insert(k, value);
            }
            None => {
                extra.insert(cut(&key), cut(&value));
            }
        }
    }
    let req = |k: &'static str| {
        found
            .get(k)
            .map(String::as_str)
            .ok_or(ReportError::Missing(k))
    };
    let opt_ms = |k: &'static str| -> Result<Option<Duration>, ReportError> {
        found.get(k).map(|v| ms_field(v, k, loose)).transpose()
    };
    let request_id = req("RequestId")?.split_whitespace().next().unwrap_or("");
    if request_id.is_empty() || request_id.len() > 128 {
        return Err(ReportError::BadValue {
            field: "RequestId",
            value: cut(request_id),
        });
    }
    let word = |k: &'static str| {
        found
            .get(k)
            .and_then(|v| v.split_whitespace().next())
            .map(cut)
    };
    let xray_trace = xray_line.and_then(|line| {
        line.split_whitespace()
            .skip_while(|w| *w != "TraceId:")
            .nth(1)
            .map(cut)
    });
    Ok(Report {
        request_id: request_id.to_string(),
        duration: ms_field(req("Duration")?, "Duration", loose)?,
        billed_duration: ms_field(req("Billed Duration")?, "Billed Duration", loose)?,
        memory_size_mb: mb_field(req("Memory Size")?, "Memory Size", loose)?,
        max_memory_used_mb: mb_field(req("Max Memory Used")?, "Max Memory Used", loose)?,
        init_duration: opt_ms("Init Duration")?,
        restore_duration: opt_ms("Restore Duration")?,
        billed_restore_duration: opt_ms("Billed Restore Duration")?,
        status: word("Status"),
        error_type: word("Error Type"),
        trace_id: xray_trace,
        extra,
    })
}

#[derive(serde::Deserialize)]
struct JsonLine {
    #[serde(rename = "type")]
    kind: String,
    record: Option<JsonRecord>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRecord {
    request_id: Option<String>,
    metrics: Option<JsonMetrics>,
    status: Option<String>,
    error_type: Option<String>,
    tracing: Option<JsonTracing>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonMetrics {
    duration_ms: Option<f64>,
    billed_duration_ms: Option<f64>,
    #[serde(rename = "memorySizeMB")]
    memory_size_mb: Option<f64>,
    #[serde(rename = "maxMemoryUsedMB")]
    max_memory_used_mb: Option<f64>,
    init_duration_ms: Option<f64>,
    restore_duration_ms: Option<f64>,
    billed_restore_duration_ms: Option<f64>,
}

#[derive(serde::Deserialize)]
struct JsonTracing {
    value: Option<String>,
}

fn json_ms(v: Option<f64>, field: &'static str) -> Result<Option<Duration>, ReportError> {
    match v {
        None => Ok(None),
        Some(ms) if ms.is_finite() && (0.0..=MAX_MS as f64).contains(&ms) => {
            Ok(Some(Duration::from_micros((ms * 1000.0).round() as u64)))
        }
        Some(ms) => Err(ReportError::BadValue {
            field,
            value: ms.to_string(),
        }),
    }
}

fn json_mb(v: Option<f64>, field: &'static str) -> Result<u32, ReportError> {
    match v {
        Some(mb) if mb.is_finite() && mb.fract() == 0.0 && (0.0..=MAX_MB as f64).contains(&mb) => {
            Ok(mb as u32)
        }
        Some(mb) => Err(ReportError::BadValue {
            field,
            value: mb.to_string(),
        }),
        None => Err(ReportError::Missing(field)),
    }
}

fn parse_json(message: &str) -> Result<Option<Report>, ReportError> {
    let Ok(line) = serde_json::from_str::<JsonLine>(message) else {
        return Ok(None);
    };
    if line.kind != "platform.report" {
        return Ok(None);
    }
    let record = line.record.ok_or(ReportError::Missing("record"))?;
    let m = record.metrics.ok_or(ReportError::Missing("metrics"))?;
    let request_id = record
        .request_id
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .ok_or(ReportError::Missing("requestId"))?;
    let need = |v: Option<Duration>, k| v.ok_or(ReportError::Missing(k));
    let trace_id = record.tracing.and_then(|t| t.value).and_then(|v| {
        v.split(';')
            .find_map(|part| part.strip_prefix("Root="))
            .map(cut)
    });
    Ok(Some(Report {
        request_id,
        duration: need(json_ms(m.duration_ms, "durationMs")?, "durationMs")?,
        billed_duration: need(
            json_ms(m.billed_duration_ms, "billedDurationMs")?,
            "billedDurationMs",
        )?,
        memory_size_mb: json_mb(m.memory_size_mb, "memorySizeMB")?,
        max_memory_used_mb: json_mb(m.max_memory_used_mb, "maxMemoryUsedMB")?,
        init_duration: json_ms(m.init_duration_ms, "initDurationMs")?,
        restore_duration: json_ms(m.restore_duration_ms, "restoreDurationMs")?,
        billed_restore_duration: json_ms(m.billed_restore_duration_ms, "billedRestoreDurationMs")?,
        status: record.status.filter(|s| s != "success").map(|s| cut(&s)),
        error_type: record.error_type.map(|s| cut(&s)),
        trace_id,
        extra: BTreeMap::new(),
    }))
}

/// Parse one CloudWatch Logs message. `Ok(None)`: not a REPORT at all.
pub fn parse_message(message: &str) -> Result<Option<Report>, ReportError> {
    let trimmed = message.trim_start();
    if trimmed.starts_with('{') {
        return parse_json(trimmed);
    }
    let mut lines = trimmed.lines();
    let Some(first) = lines.next() else {
        return Ok(None);
    };
    let is_report = first
        .strip_prefix("REPORT")
        .is_some_and(|rest| rest.starts_with(char::is_whitespace));
    if !is_report {
        return Ok(None);
    }
    let xray = lines.find(|l| l.trim_start().starts_with("XRAY"));
    parse_text(first, xray.map(str::trim_start)).map(Some)
}

#[cfg(test)]
mod tests;
