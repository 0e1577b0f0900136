//! Endpoints and the layered settings they inherit: the load profile (built-in
//! defaults <- top-level `load` <- the endpoint's `load`, in `profile.rs`), the SLOs
//! (`defaults.slo` <- the endpoint's `slo`) and the budgets (`defaults.budget`
//! <- the endpoint's `budget`), merged key by key.
//!
//! Values are checked where they are written (once for `defaults`, once per
//! endpoint), so a problem is reported at the line that has it.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};

use super::checker::positive;
use super::checker::Checker;
use super::index::FieldPath;
use super::items::{self, ItemKeys, Role, Template};
use super::model::{Budget, Endpoint, Fraction, Slo};
use super::profile::{self, LoadLayers};
use super::raw::{RawBudget, RawDefaults, RawEndpoint, RawSlo};
use super::units::{format_duration, format_percent};
use crate::cost::{Currency, Money};

const LIMIT_KEYS: [&str; 4] = ["p50", "p95", "p99", "p99.9"];

/// Check the values of one written `slo:` mapping on their own: latency limits
/// above zero and ordered (p50 <= p95 <= p99 <= p99.9), error rate at most 100%.
///
/// The order is checked within one mapping only: an endpoint may tighten its p99
/// below an inherited p95, which makes the inherited limit redundant, not wrong.
fn check_slo_values(
    raw: Option<&RawSlo>,
    path: &FieldPath,
    currency: Currency,
    check: &mut Checker,
) {
    let Some(raw) = raw else { return };
    if let Some(text) = &raw.cost_per_1m {
        if let Ok(money) = Money::parse(&text.0, currency) {
            if money.currency != currency {
                check.value(
                    &path.key("cost_per_1m"),
                    format!(
                        "the limit is in {} but the cost model counts in {currency}",
                        money.currency
                    ),
                    format!(
                        "write the limit in {currency}, or set `cost.currency` to {}",
                        money.currency
                    ),
                );
            }
        }
    }
    let limits = [raw.p50, raw.p95, raw.p99, raw.p999];
    let written: Vec<(&str, Duration)> = LIMIT_KEYS
        .iter()
        .zip(limits)
        .filter_map(|(key, d)| d.map(|d| (*key, d.0)))
        .collect();
    for (key, d) in &written {
        positive(*d, &path.key(key), check);
    }
    for pair in written.windows(2) {
        let [(lo_key, lo), (hi_key, hi)] = pair else {
            continue;
        };
        if lo > hi {
            check.value(
                &path.key(hi_key),
                format!(
                    "the {hi_key} limit ({}) is below the {lo_key} limit ({})",
                    format_duration(*hi),
                    format_duration(*lo)
                ),
                format!(
                    "a higher percentile needs an equal or higher limit: keep {lo_key} <= {hi_key}"
                ),
            );
        }
    }
    if let Some(rate) = raw.error_rate {
        if rate.0 .0 > 1.0 {
            check.value(
                &path.key("error_rate"),
                format!("an error rate of {} is over 100%", format_percent(rate.0)),
                "write the highest acceptable share of failed requests, e.g. `0.1%`",
            );
        }
    }
}

/// Check the values of one written `budget:` mapping on their own.
fn check_budget_values(raw: Option<&RawBudget>, path: &FieldPath, check: &mut Checker) {
    let Some(raw) = raw else { return };
    if let Some(drop) = raw.throughput {
        if drop.0 .0 > 1.0 {
            check.value(
                &path.key("throughput"),
                format!("throughput cannot drop by {}", format_percent(drop.0)),
                "write a drop of at most 100%, e.g. `-10%`",
            );
        }
    }
    if let Some(rate) = raw.error_rate {
        if rate.0 .0 > 1.0 {
            check.value(
                &path.key("error_rate"),
                format!(
                    "the error rate cannot grow by {} points",
                    format_percent(rate.0)
                ),
                "write a growth in percentage points of at most 100%, e.g. `+0.1%`",
            );
        }
    }
}

/// Merge `own` over `defaults`, key by key.
fn merge_slo(defaults: Option<&RawSlo>, own: Option<&RawSlo>, currency: Currency) -> Slo {
    let pick =
        |f: fn(&RawSlo) -> Option<Duration>| own.and_then(f).or_else(|| defaults.and_then(f));
    let pick_rate =
        |f: fn(&RawSlo) -> Option<Fraction>| own.and_then(f).or_else(|| defaults.and_then(f));
    Slo {
        p50: pick(|s| s.p50.map(|d| d.0)),
        p95: pick(|s| s.p95.map(|d| d.0)),
        p99: pick(|s| s.p99.map(|d| d.0)),
        p999: pick(|s| s.p999.map(|d| d.0)),
        error_rate: pick_rate(|s| s.error_rate.map(|p| p.0)),
        min_throughput: own
            .and_then(|s| s.min_throughput)
            .or_else(|| defaults.and_then(|s| s.min_throughput))
            .map(|n| n.0),
        cost_per_1m: own
            .and_then(|s| s.cost_per_1m.as_ref())
            .or_else(|| defaults.and_then(|s| s.cost_per_1m.as_ref()))
            .and_then(|text| Money::parse(&text.0, currency).ok()),
    }
}

/// Merge `own` over `defaults`; with no budget key at all, p99 may grow 10 %.
fn merge_budget(defaults: Option<&RawBudget>, own: Option<&RawBudget>) -> Budget {
    let pick =
        |f: fn(&RawBudget) -> Option<Fraction>| own.and_then(f).or_else(|| defaults.and_then(f));
    let budget = Budget {
        p50: pick(|b| b.p50.map(|g| g.0)),
        p95: pick(|b| b.p95.map(|g| g.0)),
        p99: pick(|b| b.p99.map(|g| g.0)),
        p999: pick(|b| b.p999.map(|g| g.0)),
        error_rate: pick(|b| b.error_rate.map(|g| g.0)),
        throughput: pick(|b| b.throughput.map(|d| d.0)),
        cost: pick(|b| b.cost.map(|g| g.0)),
    };
    if budget == Budget::default() {
        Budget {
            p99: Some(Fraction(0.10)),
            ..Budget::default()
        }
    } else {
        budget
    }
}

/// All endpoints, with defaults merged in.
pub(crate) fn endpoints(
    raw: Option<Vec<RawEndpoint>>,
    defaults: Option<RawDefaults>,
    load: Option<&LoadLayers>,
    base_dir: &Path,
    currency: Currency,
    check: &mut Checker,
) -> Option<Vec<Endpoint>> {
    let root = FieldPath::root();
    let list_path = root.key("endpoints");
    let defaults_path = root.key("defaults");
    let (default_slo, default_budget) = match defaults {
        Some(d) => (d.slo, d.budget),
        None => (None, None),
    };
    let slo_path = defaults_path.key("slo");
    check_slo_values(default_slo.as_ref(), &slo_path, currency, check);
    check_budget_values(default_budget.as_ref(), &defaults_path.key("budget"), check);

    let Some(raw) = raw else {
        check.missing(&list_path);
        return None;
    };
    if raw.is_empty() {
        check.value(
            &list_path,
            "the list of endpoints is empty",
            "add at least one endpoint, e.g. `- { name: orders, path: /orders }`",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut complete = true;
    for (i, mut ep) in raw.into_iter().enumerate() {
        let path = list_path.index(i);
        let slo_own = ep.slo.take();
        let budget_own = ep.budget.take();
        check_slo_values(slo_own.as_ref(), &path.key("slo"), currency, check);
        check_budget_values(budget_own.as_ref(), &path.key("budget"), check);
        let slo = merge_slo(default_slo.as_ref(), slo_own.as_ref(), currency);
        let budget = merge_budget(default_budget.as_ref(), budget_own.as_ref());
        let Some(mut endpoint) = endpoint(ep, &path, load, base_dir, check) else {
            complete = false;
            continue;
        };
        endpoint.slo = slo;
        endpoint.budget = budget;
        if let Some(first) = names.get(&endpoint.name) {
            let at = if check.written(&path.key("name")) {
                path.key("name")
            } else {
                path.clone()
            };
            check.value(
                &at,
                format!(
                    "the endpoint name {:?} is already used by `endpoints[{first}]`",
                    endpoint.name
                ),
                "give each endpoint a unique `name:`",
            );
        } else {
            names.insert(endpoint.name.clone(), i);
        }
        out.push(endpoint);
    }
    complete.then_some(out)
}

fn endpoint(
    raw: RawEndpoint,
    path: &FieldPath,
    load: Option<&LoadLayers>,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<Endpoint> {
    let method_text = raw.method.unwrap_or_else(|| "GET".to_string());
    let method = match Method::from_bytes(method_text.trim().to_uppercase().as_bytes()) {
        Ok(m) if !method_text.trim().is_empty() => Some(m),
        _ => {
            check.value(
                &path.key("method"),
                format!("{method_text:?} is not an HTTP method"),
                "write a method such as `GET`, `POST`, `PUT` or `DELETE`",
            );
            None
        }
    };
    let request_path = match raw.path {
        None => {
            check.missing(&path.key("path"));
            None
        }
        Some(p) if !p.starts_with('/') => {
            check.value(
                &path.key("path"),
                format!("{p:?} does not start with `/`"),
                format!(
                    "write the path from the root, e.g. `/{}`",
                    p.trim_start_matches('/')
                ),
            );
            None
        }
        Some(p) if !items::check_names(&p, &path.key("path"), check) => None,
        // With the variables filled in, as the engine sends it.
        Some(p) => match items::render(&p, "x").parse::<http::uri::PathAndQuery>() {
            Ok(_) => Some(p),
            Err(e) => {
                check.value(
                    &path.key("path"),
                    format!("{p:?} is not a valid request path: {e}"),
                    "percent-encode spaces and special characters, e.g. `%20` for a space",
                );
                None
            }
        },
    };
    let name = match raw.name {
        Some(n) if n.trim().is_empty() => {
            check.value(
                &path.key("name"),
                "the name is empty",
                "write a short name, e.g. `orders`",
            );
            None
        }
        Some(n) => Some(n),
        None => match (&method, &request_path) {
            (Some(m), Some(p)) => Some(format!("{m} {p}")),
            _ => None,
        },
    };
    let mut headers = HeaderMap::new();
    let mut header_texts = Vec::new();
    for (key, value) in raw.headers.map(|h| h.0).unwrap_or_default() {
        let at = path.key("headers").key(&key);
        let Ok(name) = HeaderName::from_bytes(key.as_bytes()) else {
            check.key(
                &at,
                format!("{key:?} is not a valid header name"),
                "header names are letters, digits and `-`, e.g. `Content-Type`",
            );
            continue;
        };
        let Ok(parsed) = HeaderValue::from_str(&value) else {
            check.value(
                &at,
                format!("the value of {key:?} is not a valid header value"),
                "remove line breaks and control characters from the value",
            );
            continue;
        };
        headers.append(name, parsed);
        header_texts.push((at, value));
    }
    let raw_body_file = raw.body_file.is_some();
    let body = match (raw.body, raw.body_file) {
        (Some(_), Some(_)) => {
            check.key(
                &path.key("body_file"),
                "both `body` and `body_file` are given",
                "keep one: `body` for an inline body, `body_file` to read it from a file",
            );
            None
        }
        (Some(body), None) => Some(Bytes::from(body)),
        (None, Some(file)) => {
            let full = base_dir.join(&file);
            match std::fs::read(&full) {
                Ok(bytes) => Some(Bytes::from(bytes)),
                Err(e) => {
                    check.value(
                        &path.key("body_file"),
                        format!("cannot read {}: {e}", full.display()),
                        "give a path relative to the config file's directory",
                    );
                    None
                }
            }
        }
        (None, None) => None,
    };
    let body_key = if raw_body_file { "body_file" } else { "body" };
    let items = items::items(
        ItemKeys {
            items: raw
                .items
                .map(|list| list.into_iter().map(|item| item.0).collect()),
            file: raw.items_file,
            column: raw.items_column,
        },
        path,
        base_dir,
        check,
    );
    if let (Some(items), Some(request_path)) = (&items, &request_path) {
        let body_text = body.as_ref().map(|b| String::from_utf8_lossy(b));
        let mut templates = vec![Template {
            at: path.key("path"),
            role: Role::Path,
            text: request_path,
        }];
        templates.extend(header_texts.iter().map(|(at, text)| Template {
            at: at.clone(),
            role: Role::Header,
            text,
        }));
        templates.extend(body_text.as_deref().map(|text| Template {
            at: path.key(body_key),
            role: Role::Body,
            text,
        }));
        items::check_variables(&templates, items, path, check);
    }
    let endpoint_load = profile::endpoint_load(load, raw.load.as_ref(), &path.key("load"), check);
    Some(Endpoint {
        name: name?,
        method: method?,
        path: request_path?,
        headers,
        body,
        expect_status: raw.expect_status.map(|s| s.0).unwrap_or_default(),
        items: items?.into_iter().map(|item| item.value).collect(),
        load: endpoint_load?.load(),
        slo: Slo::default(),
        budget: Budget::default(),
    })
}
