//! What shapes a run, hashed: the one config hash, over a canonical serialisation
//! of a plain view of the config (for the whole run JSON with object keys sorted,
//! no whitespace; for the history's key its fixed line form), never over `Debug`
//! output, whose format is not stable.
//!
//! Two views: [`measurement`] (what shapes a measurement: rounds and each endpoint's
//! request and load), which keys the history's records, and [`run`] (the
//! measurement, and on top the version, the seed, the mode, every compare setting,
//! the deployer's kind and each endpoint in full, SLOs and budgets included), which
//! shards must agree on before they are merged.

use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, Endpoint, Profile};

/// SHA-256 (64 hex digits) of `view` as canonical JSON, with every secret value of
/// `config` replaced by its `${NAME}` (so a per-job token does not change it).
fn hash<T: Serialize>(view: &T, config: &Config) -> String {
    let value = serde_json::to_value(view).unwrap_or_else(|e| Value::String(e.to_string()));
    let text = config.secrets.redact(&canonical(value).to_string());
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` with the keys of every object in sorted order (whatever the map type).
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: std::collections::BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// What shapes a measurement: runs with the same hash measured the same endpoints
/// under the same load and rounds.
#[derive(Serialize)]
struct Measurement {
    rounds: u32,
    endpoints: Vec<MeasuredEndpoint>,
}

#[derive(Serialize)]
struct MeasuredEndpoint {
    name: String,
    method: String,
    path: String,
    load: String,
}

fn measurement_view(config: &Config) -> Measurement {
    Measurement {
        rounds: config.compare.rounds,
        endpoints: config
            .endpoints
            .iter()
            .map(|e| MeasuredEndpoint {
                name: e.name.clone(),
                method: e.method.to_string(),
                path: e.path.clone(),
                load: crate::bench::describe_load(&e.load),
            })
            .collect(),
    }
}

/// The hash of what shapes a measurement (rounds; each endpoint's name, method,
/// path and load), 12 hex digits: the history's records are keyed by it.
///
/// Its canonical form is the one the history has keyed its records with since it
/// was first written, kept byte for byte so that stores written by earlier
/// versions stay comparable (their trends and learned floors carry on): the view's
/// fields in a fixed order, `rounds=N` on the first line, then one line per
/// endpoint, `name`, `method`, `path` and `load` separated by tabs.
pub fn measurement(config: &Config) -> String {
    let view = measurement_view(config);
    let mut text = format!("rounds={}\n", view.rounds);
    for e in &view.endpoints {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            e.name, e.method, e.path, e.load
        ));
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The whole run, as shards must share it.
#[derive(Serialize)]
struct Run {
    measurement: Measurement,
    tailgate: &'static str,
    seed: u64,
    mode: crate::config::Mode,
    compare: Compare,
    deployer: String,
    endpoints: Vec<FullEndpoint>,
}

#[derive(Serialize)]
struct Compare {
    rounds: u32,
    min_rounds: u32,
    noise_floor: crate::config::Fraction,
    confidence: f64,
    resamples: u32,
    extend: u32,
    endpoint_floors: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<crate::stats::Metric, crate::config::Fraction>,
    >,
}

#[derive(Serialize)]
struct FullEndpoint {
    name: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    /// UTF-8 text, else `0x` and hex digits.
    body: Option<String>,
    expect_status: Vec<u16>,
    items: Vec<String>,
    load: LoadView,
    slo: crate::config::Slo,
    budget: crate::config::Budget,
}

#[derive(Serialize)]
struct LoadView {
    profile: ProfileView,
    duration: Option<std::time::Duration>,
    requests: Option<u64>,
    warmup: std::time::Duration,
    timeout: std::time::Duration,
    http: crate::config::HttpVersion,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ProfileView {
    Closed {
        connections: u32,
    },
    Open {
        rate: f64,
        connections: u32,
    },
    Ladder {
        ladder: crate::config::LadderKind,
        steps: Vec<f64>,
        connections: u32,
    },
}

fn full_endpoint(e: &Endpoint) -> FullEndpoint {
    FullEndpoint {
        name: e.name.clone(),
        method: e.method.to_string(),
        path: e.path.clone(),
        headers: e
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: e.body.as_ref().map(|b| match std::str::from_utf8(b) {
            Ok(text) => text.to_string(),
            Err(_) => format!(
                "0x{}",
                b.iter().map(|x| format!("{x:02x}")).collect::<String>()
            ),
        }),
        expect_status: e.expect_status.clone(),
        items: e.items.clone(),
        load: LoadView {
            profile: match &e.load.profile {
                Profile::Closed { connections } => ProfileView::Closed {
                    connections: *connections,
                },
                Profile::Open { rate, connections } => ProfileView::Open {
                    rate: *rate,
                    connections: *connections,
                },
                Profile::Ladder {
                    kind,
                    steps,
                    connections,
                } => ProfileView::Ladder {
                    ladder: *kind,
                    steps: steps.clone(),
                    connections: *connections,
                },
            },
            duration: e.load.duration,
            requests: e.load.requests,
            warmup: e.load.warmup,
            timeout: e.load.timeout,
            http: e.load.http,
        },
        slo: e.slo.clone(),
        budget: e.budget.clone(),
    }
}

/// The hash of the whole run (64 hex digits): the [`measurement`], and on top the
/// tailgate version, the seed, the mode, every compare setting, the deployer's
/// kind and every endpoint in full (request, load, SLOs, budgets; ladders
/// expanded). Paths of the sides and URLs are left out (each shard may deploy its
/// own copy of the sides).
pub fn run(config: &Config, deployer: &str, seed: u64) -> String {
    let c = &config.compare;
    let view = Run {
        measurement: measurement_view(config),
        tailgate: env!("CARGO_PKG_VERSION"),
        seed,
        mode: config.mode,
        compare: Compare {
            rounds: c.rounds,
            min_rounds: c.min_rounds,
            noise_floor: c.noise_floor,
            confidence: c.confidence,
            resamples: c.resamples,
            extend: c.extend,
            endpoint_floors: c.endpoint_floors.clone(),
        },
        deployer: deployer.to_string(),
        endpoints: crate::bench::expand_ladders(&config.endpoints)
            .iter()
            .map(full_endpoint)
            .collect(),
    };
    hash(&view, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        crate::config::parse(text, "tailgate.yml", std::path::Path::new(".")).unwrap()
    }

    const CONFIG: &str = r#"
deploy: { url: { base: "http://127.0.0.1:1", head: "http://127.0.0.1:2" } }
load: { connections: 10, duration: 1s }
compare: { rounds: 4 }
endpoints:
  - name: home
    path: /
    slo: { p99: 200ms }
"#;

    #[test]
    fn the_measurement_hash_sees_load_and_rounds_not_limits() {
        let h = measurement(&config(CONFIG));
        // The key stores written by earlier versions hold for this config
        // (SHA-256 of "rounds=4\nhome\tGET\t/\t<load in words>\n", computed apart).
        assert_eq!(h, "e85564ed7bd2");
        assert_eq!(h.len(), 12);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()), "{h}");
        let slo = config(&CONFIG.replace("200ms", "300ms"));
        assert_eq!(measurement(&slo), h);
        assert_ne!(run(&slo, "url", 1), run(&config(CONFIG), "url", 1));
        let rounds = config(&CONFIG.replace("rounds: 4", "rounds: 6"));
        assert_ne!(measurement(&rounds), h);
        let load = config(&CONFIG.replace("connections: 10", "connections: 11"));
        assert_ne!(measurement(&load), h);
    }

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let value = serde_json::json!({"b": 1, "a": {"d": [{"z": 1, "y": 2}], "c": 0}});
        assert_eq!(
            canonical(value).to_string(),
            r#"{"a":{"c":0,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }
}
