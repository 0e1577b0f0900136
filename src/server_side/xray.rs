//! Where the time went: the slowest downstream calls per endpoint from X-Ray.
//!
//! `GetTraceSummaries` for the benchmark window (every page) gives each trace's URL and
//! response time; the slowest few traces per endpoint are fetched with
//! `BatchGetTraces` (at most 5 ids per call) and their segment documents walked for
//! subsegments that call out: namespace `aws` (an AWS SDK call: service and
//! operation), `remote` (HTTP), or with a `sql` block (the sanitized query)
//! (<https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html>).

use std::collections::BTreeMap;

use aws_sdk_xray::primitives::DateTime;
use aws_sdk_xray::Client;
use serde::{Deserialize, Serialize};

use crate::aws::AwsError;

/// Slowest traces fetched per endpoint.
pub const TRACES_PER_ENDPOINT: usize = 5;
/// Calls kept per endpoint.
pub const CALLS_PER_ENDPOINT: usize = 5;
/// Endpoints looked at, at most.
const MAX_ENDPOINTS: usize = 20;

/// One kind of downstream call, aggregated over the traces read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownstreamCall {
    /// `GET /orders` (method and path of the traced request).
    pub endpoint: String,
    /// The called service (`DynamoDB`, `api.example.com`, `orders-db`).
    pub service: String,
    /// The operation (`GetItem`, `GET https://...`), when recorded.
    pub operation: Option<String>,
    /// The sanitized SQL, when recorded.
    pub sql: Option<String>,
    /// Calls seen.
    pub count: u64,
    /// Mean duration, ms.
    pub mean_ms: f64,
    /// Longest duration, ms.
    pub max_ms: f64,
}

#[derive(Debug, Deserialize)]
struct Doc {
    name: Option<String>,
    namespace: Option<String>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    aws: Option<AwsBlock>,
    sql: Option<SqlBlock>,
    http: Option<HttpBlock>,
    #[serde(default)]
    subsegments: Vec<Doc>,
}

#[derive(Debug, Deserialize)]
struct AwsBlock {
    operation: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SqlBlock {
    sanitized_query: Option<String>,
}

#[derive(Debug, Deserialize)]
struct HttpBlock {
    request: Option<HttpRequest>,
}

#[derive(Debug, Deserialize)]
struct HttpRequest {
    method: Option<String>,
    url: Option<String>,
}

type CallKey = (String, Option<String>, Option<String>);

fn walk(doc: &Doc, out: &mut Vec<(CallKey, f64)>) {
    let is_call = matches!(doc.namespace.as_deref(), Some("aws" | "remote")) || doc.sql.is_some();
    if is_call {
        if let (Some(start), Some(end)) = (doc.start_time, doc.end_time) {
            let ms = ((end - start) * 1000.0).max(0.0);
            if ms.is_finite() {
                let operation = doc
                    .aws
                    .as_ref()
                    .and_then(|a| a.operation.clone())
                    .or_else(|| {
                        let req = doc.http.as_ref()?.request.as_ref()?;
                        Some(format!(
                            "{} {}",
                            req.method.as_deref().unwrap_or("?"),
                            req.url.as_deref().unwrap_or("?")
                        ))
                    });
                let sql = doc.sql.as_ref().and_then(|s| s.sanitized_query.clone());
                let service = doc.name.clone().unwrap_or_else(|| "?".into());
                out.push(((service, operation, sql), ms));
            }
        }
    }
    for sub in &doc.subsegments {
        walk(sub, out);
    }
}

/// The downstream calls in one segment document (a JSON string); garbage gives none.
pub fn calls_in_document(document: &str) -> Vec<(CallKey, f64)> {
    let mut out = Vec::new();
    if let Ok(doc) = serde_json::from_str::<Doc>(document) {
        walk(&doc, &mut out);
    }
    out
}

/// `GET /path` from a method and a full URL.
pub fn endpoint_label(method: Option<&str>, url: Option<&str>) -> String {
    let path = url
        .map(|u| {
            let after_scheme = u.split_once("://").map_or(u, |(_, rest)| rest);
            let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
            path.split('?').next().unwrap_or("/").to_string()
        })
        .unwrap_or_else(|| "(unknown)".into());
    format!("{} {path}", method.unwrap_or("?"))
}

/// Aggregate `(endpoint, calls)` into the slowest calls per endpoint.
pub fn aggregate(per_endpoint: Vec<(String, Vec<(CallKey, f64)>)>) -> Vec<DownstreamCall> {
    let mut groups: BTreeMap<(String, CallKey), Vec<f64>> = BTreeMap::new();
    for (endpoint, calls) in per_endpoint {
        for (key, ms) in calls {
            groups.entry((endpoint.clone(), key)).or_default().push(ms);
        }
    }
    let mut by_endpoint: BTreeMap<String, Vec<DownstreamCall>> = BTreeMap::new();
    for ((endpoint, (service, operation, sql)), times) in groups {
        let count = times.len() as u64;
        let max_ms = times.iter().copied().fold(0.0, f64::max);
        let mean_ms = times.iter().sum::<f64>() / times.len() as f64;
        by_endpoint
            .entry(endpoint.clone())
            .or_default()
            .push(DownstreamCall {
                endpoint,
                service,
                operation,
                sql,
                count,
                mean_ms,
                max_ms,
            });
    }
    by_endpoint
        .into_values()
        .flat_map(|mut calls| {
            calls.sort_by(|a, b| b.mean_ms.total_cmp(&a.mean_ms));
            calls.truncate(CALLS_PER_ENDPOINT);
            calls
        })
        .collect()
}

/// The slowest downstream calls of traces in `[start_ms, end_ms]` whose service is one
/// of `services` (a side's function names; empty: all traces).
pub async fn slowest_calls(
    xray: &Client,
    start_ms: i64,
    end_ms: i64,
    services: &[String],
) -> Result<Vec<DownstreamCall>, AwsError> {
    let filter = services
        .iter()
        .map(|s| format!("service(\"{}\")", s.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" OR ");
    let mut pages = xray
        .get_trace_summaries()
        .start_time(DateTime::from_millis(start_ms))
        .end_time(DateTime::from_millis(end_ms))
        .set_filter_expression((!filter.is_empty()).then_some(filter))
        .into_paginator()
        .send();
    let mut traces: BTreeMap<String, Vec<(f64, String)>> = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::api("GetTraceSummaries", &e))?;
        for summary in page.trace_summaries() {
            let Some(id) = summary.id() else { continue };
            let http = summary.http();
            let endpoint = endpoint_label(
                http.and_then(|h| h.http_method()),
                http.and_then(|h| h.http_url()),
            );
            let time = summary
                .response_time()
                .or(summary.duration())
                .unwrap_or(0.0);
            traces
                .entry(endpoint)
                .or_default()
                .push((time, id.to_string()));
        }
    }
    let mut per_endpoint = Vec::new();
    for (endpoint, mut list) in traces.into_iter().take(MAX_ENDPOINTS) {
        list.sort_by(|a, b| b.0.total_cmp(&a.0));
        let ids: Vec<String> = list
            .into_iter()
            .take(TRACES_PER_ENDPOINT)
            .map(|(_, id)| id)
            .collect();
        let mut calls = Vec::new();
        for chunk in ids.chunks(5) {
            let out = xray
                .batch_get_traces()
                .set_trace_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::api("BatchGetTraces", &e))?;
            for trace in out.traces() {
                for segment in trace.segments() {
                    calls.extend(calls_in_document(segment.document().unwrap_or("")));
                }
            }
        }
        per_endpoint.push((endpoint, calls));
    }
    Ok(aggregate(per_endpoint))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"id":"1","name":"orders-fn","start_time":1.0,"end_time":1.5,
      "origin":"AWS::Lambda::Function",
      "subsegments":[
        {"id":"2","name":"DynamoDB","namespace":"aws","start_time":1.0,"end_time":1.12,"aws":{"operation":"GetItem"}},
        {"id":"3","name":"orders-db","start_time":1.2,"end_time":1.45,"sql":{"sanitized_query":"SELECT * FROM orders WHERE id = ?"},
          "subsegments":[{"id":"4","name":"api.example.com","namespace":"remote","start_time":1.3,"end_time":1.31,
            "http":{"request":{"method":"GET","url":"https://api.example.com/x"}}}]},
        {"id":"5","name":"local work","start_time":1.0,"end_time":1.4}
      ]}"#;

    #[test]
    fn finds_aws_sql_and_remote_calls() {
        let calls = calls_in_document(DOC);
        assert_eq!(calls.len(), 3);
        let dynamo = &calls[0];
        assert_eq!(dynamo.0 .0, "DynamoDB");
        assert_eq!(dynamo.0 .1.as_deref(), Some("GetItem"));
        assert!((dynamo.1 - 120.0).abs() < 1e-6);
        assert!(calls[1].0 .2.as_deref().unwrap().starts_with("SELECT"));
        assert_eq!(
            calls[2].0 .1.as_deref(),
            Some("GET https://api.example.com/x")
        );
        assert!(calls_in_document("not json").is_empty());
    }

    #[test]
    fn aggregates_and_sorts_by_mean() {
        let a = calls_in_document(DOC);
        let out = aggregate(vec![("GET /orders".into(), [a.clone(), a].concat())]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].service, "orders-db");
        assert_eq!(out[0].count, 2);
    }

    #[test]
    fn endpoint_labels_strip_host_and_query() {
        assert_eq!(
            endpoint_label(
                Some("GET"),
                Some("https://x.execute-api.eu-west-1.amazonaws.com/prod/orders?id=1")
            ),
            "GET /prod/orders"
        );
        assert_eq!(endpoint_label(None, None), "? (unknown)");
    }
}
