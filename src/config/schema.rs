//! One example line per key of `tailgate.yml`, shown in the help of errors about
//! a value of the wrong shape or a missing key.

use super::index::{FieldPath, Segment};

/// `(section, key, example)`; the section is the key the mapping hangs under
/// (`""` for the top level, `endpoints` for an endpoint).
const EXAMPLES: &[(&str, &str, &str)] = &[
    ("", "mode", "mode: blocking"),
    (
        "",
        "deploy",
        "deploy: { url: { base: \"http://127.0.0.1:8080\", head: \"http://127.0.0.1:8081\" } }",
    ),
    ("", "load", "load: { connections: 10, duration: 5s }"),
    ("", "compare", "compare: { rounds: 24, noise_floor: 2% }"),
    ("", "tls", "tls: { ca_file: certs/ca.pem }"),
    (
        "",
        "defaults",
        "defaults: { slo: { p99: 500ms }, budget: { p99: +10% } }",
    ),
    (
        "",
        "endpoints",
        "endpoints: [ { name: orders, path: /orders } ]",
    ),
    (
        "deploy",
        "url",
        "url: { base: \"http://127.0.0.1:8080\", head: \"http://127.0.0.1:8081\" }",
    ),
    (
        "deploy",
        "local",
        "local: { command: \"./target/release/server\" }",
    ),
    (
        "deploy",
        "cloudformation",
        "cloudformation: { template: template.yaml, url_output: ApiUrl }",
    ),
    (
        "deploy",
        "command",
        "command: { up: \"./deploy.sh\", down: \"./destroy.sh\" }",
    ),
    ("cloudformation", "template", "template: template.yaml"),
    ("cloudformation", "stack_prefix", "stack_prefix: tailgate"),
    ("cloudformation", "url_output", "url_output: ApiUrl"),
    ("cloudformation", "sha_parameter", "sha_parameter: GitSha"),
    (
        "cloudformation",
        "parameters",
        "parameters: { Stage: preview }",
    ),
    (
        "cloudformation",
        "capabilities",
        "capabilities: [CAPABILITY_IAM, CAPABILITY_AUTO_EXPAND]",
    ),
    ("cloudformation", "region", "region: eu-west-1"),
    ("cloudformation", "timeout", "timeout: 20m"),
    ("cloudformation", "poll_interval", "poll_interval: 5s"),
    ("cloudformation", "ttl", "ttl: 24h"),
    ("cloudformation", "tags", "tags: { team: orders }"),
    ("command", "up", "up: \"./deploy.sh\""),
    ("command", "down", "down: \"./destroy.sh\""),
    ("command", "url_output", "url_output: url"),
    ("command", "dir", "dir: infra"),
    ("command", "env", "env: { STAGE: preview }"),
    ("command", "up_timeout", "up_timeout: 20m"),
    ("command", "down_timeout", "down_timeout: 20m"),
    ("", "cost", "cost: { monthly_requests: 30M }"),
    ("cost", "currency", "currency: USD"),
    ("cost", "monthly_requests", "monthly_requests: 30M"),
    ("cost", "api_gateway", "api_gateway: http"),
    ("cost", "architecture", "architecture: arm64"),
    ("cost", "prices", "prices: { vcpu_hour: $0.04048 }"),
    (
        "cost",
        "regions",
        "regions: { eu-west-1: { x86_64_gb_second: \"0.0000166667\" } }",
    ),
    (
        "prices",
        "x86_64_gb_second",
        "x86_64_gb_second: \"0.0000166667\"",
    ),
    (
        "prices",
        "arm64_gb_second",
        "arm64_gb_second: \"0.0000133334\"",
    ),
    (
        "prices",
        "lambda_requests_per_1m",
        "lambda_requests_per_1m: $0.20",
    ),
    ("prices", "rest_api_per_1m", "rest_api_per_1m: $3.50"),
    ("prices", "http_api_per_1m", "http_api_per_1m: $1.00"),
    (
        "prices",
        "data_transfer_per_gb",
        "data_transfer_per_gb: $0.09",
    ),
    ("prices", "vcpu_hour", "vcpu_hour: $0.04048"),
    ("slo", "cost_per_1m", "cost_per_1m: $2.00"),
    ("budget", "cost", "cost: +5%"),
    ("url", "base", "base: \"http://127.0.0.1:8080\""),
    ("url", "head", "head: \"http://127.0.0.1:8081\""),
    ("local", "command", "command: \"./target/release/server\""),
    ("local", "repo", "repo: ."),
    ("local", "worktree", "worktree: true"),
    ("local", "base_ref", "base_ref: main"),
    ("local", "head_ref", "head_ref: HEAD"),
    ("local", "ready", "ready: { path: /healthz, timeout: 60s }"),
    ("local", "stop_timeout", "stop_timeout: 10s"),
    ("local", "env", "env: { RUST_LOG: warn }"),
    ("ready", "path", "path: /healthz"),
    ("ready", "timeout", "timeout: 60s"),
    ("ready", "interval", "interval: 1s"),
    ("ready", "status", "status: [200]"),
    ("url", "ready", "ready: { path: /healthz, timeout: 5m }"),
    ("cloudformation", "bucket", "bucket: my-deploy-artifacts"),
    (
        "cloudformation",
        "sweep",
        "sweep: { parameter: MemorySize, values: [512, 1024, 2048] }",
    ),
    ("sweep", "parameter", "parameter: MemorySize"),
    ("sweep", "values", "values: [512, 1024, 2048]"),
    ("cloudformation", "build", "build: sam build"),
    ("cloudformation", "build_timeout", "build_timeout: 10m"),
    ("cloudformation", "worktree", "worktree: true"),
    ("command", "build", "build: npm ci && npm run build"),
    ("command", "build_timeout", "build_timeout: 10m"),
    ("command", "worktree", "worktree: true"),
    (
        "command",
        "functions",
        "functions: [orders-api, /aws/lambda/users-api]",
    ),
    ("command", "ready", "ready: { path: /healthz, timeout: 5m }"),
    (
        "cloudformation",
        "ready",
        "ready: { path: /healthz, timeout: 5m, status: [200] }",
    ),
    ("load", "connections", "connections: 10"),
    ("load", "duration", "duration: 5s"),
    ("load", "requests", "requests: 10000"),
    ("load", "warmup", "warmup: 2s"),
    ("load", "timeout", "timeout: 10s"),
    ("load", "rate", "rate: 200/s"),
    ("load", "ladder", "ladder: [1, 10, 100]"),
    ("load", "http", "http: \"2\""),
    ("ladder", "rate", "rate: [100/s, 200/s, 400/s]"),
    ("tls", "ca_file", "ca_file: certs/ca.pem"),
    ("tls", "insecure", "insecure: false"),
    ("", "history", "history: { store: .tailgate-history }"),
    ("", "accept_label", "accept_label: perf-accepted"),
    ("", "traces", "traces: { enabled: true, per_round: 50 }"),
    ("traces", "enabled", "enabled: true"),
    ("traces", "per_round", "per_round: 50"),
    ("traces", "every", "every: 1"),
    ("traces", "max_spans", "max_spans: 20000"),
    ("traces", "max_body_kib", "max_body_kib: 4096"),
    ("traces", "grace", "grace: 6s"),
    ("traces", "listen", "listen: \"0.0.0.0:4318\""),
    ("history", "store", "store: s3://my-bucket/tailgate"),
    ("history", "region", "region: eu-west-1"),
    ("history", "branch", "branch: main"),
    ("history", "baseline", "baseline: stored"),
    ("history", "trend", "trend: 20"),
    ("history", "min_runs", "min_runs: 10"),
    ("compare", "rounds", "rounds: 24"),
    ("compare", "min_rounds", "min_rounds: 4"),
    ("compare", "noise_floor", "noise_floor: 2%"),
    ("compare", "confidence", "confidence: 95%"),
    ("compare", "resamples", "resamples: 2000"),
    ("compare", "seed", "seed: 42"),
    ("compare", "extend", "extend: 12"),
    ("defaults", "slo", "slo: { p99: 500ms, error_rate: 0.1% }"),
    ("defaults", "budget", "budget: { p99: +10% }"),
    ("slo", "p50", "p50: 100ms"),
    ("slo", "p95", "p95: 300ms"),
    ("slo", "p99", "p99: 500ms"),
    ("slo", "p99.9", "\"p99.9\": 1s"),
    ("slo", "error_rate", "error_rate: 0.1%"),
    ("slo", "min_throughput", "min_throughput: 50"),
    ("budget", "p50", "p50: +10%"),
    ("budget", "p95", "p95: +10%"),
    ("budget", "p99", "p99: +10%"),
    ("budget", "p99.9", "\"p99.9\": +20%"),
    ("budget", "error_rate", "error_rate: +0.1%"),
    ("budget", "throughput", "throughput: -10%"),
    ("endpoints", "name", "name: orders"),
    ("endpoints", "method", "method: GET"),
    ("endpoints", "path", "path: /orders"),
    (
        "endpoints",
        "headers",
        "headers: { Accept: application/json }",
    ),
    ("endpoints", "body", "body: '{\"a\": 1}'"),
    ("endpoints", "body_file", "body_file: payload.json"),
    ("endpoints", "expect_status", "expect_status: [200, 201]"),
    ("endpoints", "items", "items: [ada, grace, 42]"),
    ("endpoints", "items_file", "items_file: users.csv"),
    ("endpoints", "items_column", "items_column: id"),
    ("endpoints", "load", "load: { connections: 5 }"),
    ("endpoints", "slo", "slo: { p99: 200ms }"),
    ("endpoints", "budget", "budget: { p99: +5% }"),
];

/// An example line for the key at `path`, if the key is part of the schema.
pub(crate) fn example(path: &FieldPath) -> Option<&'static str> {
    let mut keys = path.0.iter().rev().filter_map(|s| match s {
        Segment::Key(k) => Some(k.as_str()),
        Segment::Index(_) => None,
    });
    let key = match keys.next()? {
        "p999" => "p99.9",
        other => other,
    };
    let section = keys.next().unwrap_or("");
    EXAMPLES
        .iter()
        .find(|(s, k, _)| *s == section && *k == key)
        .map(|(_, _, example)| *example)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_found_by_section() {
        let root = FieldPath::root();
        assert_eq!(
            example(&root.key("load").key("duration")),
            Some("duration: 5s")
        );
        assert_eq!(
            example(&root.key("endpoints").index(0).key("budget").key("p99")),
            Some("p99: +10%")
        );
        assert_eq!(
            example(&root.key("endpoints").index(3).key("load").key("requests")),
            Some("requests: 10000")
        );
        assert_eq!(
            example(&root.key("load").key("ladder").key("rate").index(1)),
            Some("rate: [100/s, 200/s, 400/s]")
        );
        assert_eq!(
            example(&root.key("endpoints").index(0).key("load").key("rate")),
            Some("rate: 200/s")
        );
        assert_eq!(example(&root.key("nope")), None);
        assert_eq!(example(&root), None);
    }
}
