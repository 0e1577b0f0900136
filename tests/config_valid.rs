//! Valid configs parse into the expected domain values: the annotated example,
//! the defaults of a minimal file, and merging of defaults into endpoints.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use tailgate::config::{
    self, Budget, CompareConfig, Config, DeployConfig, Fraction, HttpVersion, LadderKind, Load,
    LocalDeploy, Mode, ProblemKind, Profile, Slo, TlsSettings,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/configs").join(name)
}

fn load_ok(path: &Path) -> Config {
    match config::load(path) {
        Ok(config) => config,
        Err(e) => panic!("{} should load:\n{e}", path.display()),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Percentages go through a division; compare fractions with a tolerance.
fn assert_fraction(actual: Option<Fraction>, expected: f64) {
    let actual = actual.unwrap_or_else(|| panic!("expected {expected}, got None"));
    assert!(
        (actual.0 - expected).abs() < 1e-12,
        "expected {expected}, got {}",
        actual.0
    );
}

#[test]
fn the_example_parses_into_the_documented_values() {
    let path = root().join("examples/tailgate.yml");
    let config = load_ok(&path);
    let dir = root().join("examples");

    assert_eq!(config.source, path.display().to_string());
    assert_eq!(config.base_dir, dir);
    assert_eq!(config.mode, Mode::Blocking);
    assert_eq!(
        config.deploy,
        DeployConfig::Local(LocalDeploy {
            command: "./target/release/server".to_string(),
            repo: dir.clone(),
            worktree: true,
            base_ref: Some("main".to_string()),
            head_ref: Some("HEAD".to_string()),
            ready_path: "/healthz".to_string(),
            ready_timeout: secs(60),
            stop_timeout: secs(10),
            env: vec![("RUST_LOG".to_string(), "warn".to_string())],
        })
    );
    let load = Load {
        profile: Profile::Closed { connections: 10 },
        duration: Some(secs(5)),
        requests: Some(10_000),
        warmup: secs(2),
        timeout: secs(10),
        http: Default::default(),
    };
    assert_eq!(config.load, load);
    assert_eq!(
        config.compare,
        CompareConfig {
            rounds: 24,
            min_rounds: 4,
            noise_floor: Fraction(0.02),
            confidence: 0.95,
            resamples: 2000,
            seed: Some(42),
            extend: 0,
            endpoint_floors: Default::default(),
        }
    );
    assert_eq!(config.endpoints.len(), 3);

    let orders = &config.endpoints[0];
    assert_eq!(orders.name, "orders");
    assert_eq!(orders.method, Method::GET);
    assert_eq!(orders.path, "/orders?limit=20");
    assert_eq!(orders.headers.len(), 1);
    assert_eq!(orders.headers["accept"], "application/json");
    assert_eq!(orders.body, None);
    assert_eq!(orders.expect_status, vec![200]);
    assert_eq!(orders.load, load);
    assert_eq!(orders.slo.p50, Some(ms(100)));
    assert_eq!(orders.slo.p95, Some(ms(300)));
    assert_eq!(orders.slo.p99, Some(ms(200)), "the endpoint's own p99");
    assert_eq!(orders.slo.p999, Some(secs(1)));
    assert_fraction(orders.slo.error_rate, 0.001);
    assert_eq!(orders.slo.min_throughput, Some(50.0));
    assert_fraction(orders.budget.p50, 0.10);
    assert_fraction(orders.budget.p95, 0.10);
    assert_fraction(orders.budget.p99, 0.05);
    assert_fraction(orders.budget.p999, 0.20);
    assert_fraction(orders.budget.error_rate, 0.001);
    assert_fraction(orders.budget.throughput, 0.10);

    let create = &config.endpoints[1];
    assert_eq!(create.name, "create order");
    assert_eq!(create.method, Method::POST, "`post` is upper-cased");
    assert_eq!(create.path, "/orders");
    assert_eq!(create.headers["content-type"], "application/json");
    assert_eq!(
        create.body,
        Some(Bytes::from_static(br#"{"sku": "A-1", "qty": 1}"#))
    );
    assert_eq!(create.expect_status, vec![200, 201]);
    assert_eq!(
        create.load,
        Load {
            profile: Profile::Closed { connections: 5 },
            requests: Some(2000),
            ..load
        }
    );
    assert_eq!(create.slo.p99, Some(ms(500)), "the default p99");
    assert_fraction(create.budget.p99, 0.10);
    assert!(create.items.is_empty());

    let user = &config.endpoints[2];
    assert_eq!(user.name, "user");
    assert_eq!(user.path, "/users/{{item}}?trace={{random_id}}");
    assert_eq!(user.items, ["ada", "grace", "42"]);
    assert_eq!(user.headers["x-request-id"], "{{counter}}");
    assert_eq!(user.load, load);
    assert_eq!(config.tls, TlsSettings::default());
}

#[test]
fn a_minimal_config_takes_every_default() {
    let config = load_ok(&fixture("minimal.yml"));
    assert_eq!(config.mode, Mode::Blocking);
    assert_eq!(
        config.deploy,
        DeployConfig::Url {
            base: "http://127.0.0.1:8080".to_string(),
            head: "http://127.0.0.1:8081".to_string(),
            ready: tailgate::config::RemoteReady::default(),
        }
    );
    assert_eq!(config.load, Load::default());
    assert_eq!(config.compare, CompareConfig::default());
    let [endpoint] = config.endpoints.as_slice() else {
        panic!("one endpoint expected");
    };
    assert_eq!(endpoint.name, "GET /health");
    assert_eq!(endpoint.method, Method::GET);
    assert!(endpoint.headers.is_empty());
    assert_eq!(endpoint.body, None);
    assert!(endpoint.expect_status.is_empty());
    assert!(endpoint.is_expected(204) && !endpoint.is_expected(301));
    assert_eq!(endpoint.load, Load::default());
    assert_eq!(endpoint.slo, Slo::default());
    assert_eq!(
        endpoint.budget,
        Budget {
            p99: Some(Fraction(0.10)),
            ..Budget::default()
        },
        "with no budget anywhere, p99 may grow 10%"
    );
}

#[test]
fn defaults_merge_into_endpoints_key_by_key() {
    let config = load_ok(&fixture("merging.yml"));
    assert_eq!(config.mode, Mode::Advisory);
    assert_eq!(config.compare.rounds, 10);
    assert_eq!(config.compare.seed, Some(7));
    assert_eq!(config.compare.resamples, 2000);
    let top = Load {
        profile: Profile::Closed { connections: 20 },
        duration: Some(secs(5)),
        requests: Some(500),
        warmup: Duration::ZERO,
        timeout: secs(10),
        http: Default::default(),
    };
    assert_eq!(config.load, top);

    let a = &config.endpoints[0];
    assert_eq!(a.name, "GET /a");
    assert_eq!(a.load, top);
    assert_eq!(a.slo.p50, Some(ms(50)));
    assert_eq!(a.slo.p99, Some(ms(400)));
    assert_eq!(a.slo.p999, None);
    assert_fraction(a.slo.error_rate, 0.01);
    assert_eq!(a.slo.min_throughput, None);
    assert_fraction(a.budget.p95, 0.15);
    assert_fraction(a.budget.throughput, 0.10);
    assert_eq!(
        a.budget.p99, None,
        "defaults.budget exists: no implicit p99"
    );

    let b = &config.endpoints[1];
    assert_eq!(b.name, "b");
    assert_eq!(b.method, Method::DELETE);
    assert_eq!(b.expect_status, vec![204, 404]);
    assert!(b.is_expected(404) && !b.is_expected(200));
    assert_eq!(
        b.load,
        Load {
            profile: Profile::Closed { connections: 2 },
            duration: None,
            ..top
        },
        "`duration: ~` removes the inherited time limit"
    );
    assert_eq!(b.slo.p50, Some(ms(50)));
    assert_eq!(b.slo.p99, Some(ms(250)));
    assert_eq!(b.slo.p999, Some(ms(900)), "`p999` is `p99.9`");
    assert_fraction(b.slo.error_rate, 0.01);
    assert_eq!(b.slo.min_throughput, Some(12.5));
    assert_fraction(b.budget.p95, 0.05);
    assert_fraction(b.budget.throughput, 0.20);
    assert_fraction(b.budget.error_rate, 0.005);
    assert_eq!(b.budget.p99, None);
}

#[test]
fn body_file_is_read_relative_to_the_config() {
    let config = load_ok(&fixture("body_file.yml"));
    let endpoint = &config.endpoints[0];
    assert_eq!(endpoint.method, Method::PUT);
    assert_eq!(
        endpoint.body,
        Some(Bytes::from_static(b"{\"sku\": \"A-1\", \"qty\": 1}\n"))
    );
    let DeployConfig::Local(local) = &config.deploy else {
        panic!("local deploy expected");
    };
    assert_eq!(local.repo, fixture("../../.."));
    assert!(!local.worktree);
    assert_eq!(local.base_ref, None);
    assert_eq!(local.ready_path, "/");
    assert_eq!(local.ready_timeout, secs(60));
    assert_eq!(local.stop_timeout, secs(10));
    assert!(local.env.is_empty());
}

#[test]
fn parse_keeps_source_and_base_dir() {
    let text =
        "deploy: { url: { base: 'http://a', head: 'http://b' } }\nendpoints: [{ path: / }]\n";
    let config = config::parse(text, "inline.yml", Path::new("/srv/app")).expect("valid");
    assert_eq!(config.source, "inline.yml");
    assert_eq!(config.base_dir, PathBuf::from("/srv/app"));
    assert_eq!(config.endpoints[0].name, "GET /");
}

#[test]
fn a_missing_file_is_a_located_error() {
    // Even a file that cannot be read gives a position, a path and a help line.
    let err = config::load(Path::new("no-such-tailgate.yml")).expect_err("missing file");
    let [problem] = err.problems.as_slice() else {
        panic!("one problem expected: {err}");
    };
    assert_eq!(problem.kind, ProblemKind::Read);
    assert_eq!((problem.pos.line, problem.pos.column), (1, 1));
    assert_eq!(problem.file, "no-such-tailgate.yml");
    assert!(problem.message.contains("cannot read"), "{problem}");
    assert!(problem.help.contains("examples/tailgate.yml"), "{problem}");
    assert!(err
        .to_string()
        .starts_with("no-such-tailgate.yml:1:1: error at the top level: cannot read"));
}

#[test]
fn a_file_that_is_not_utf8_is_located_at_the_first_bad_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tailgate.yml");
    std::fs::write(&path, b"mode: blocking\nload:\n  du\xffration: 5s\n").expect("write");
    let err = config::load(&path).expect_err("not UTF-8");
    let problem = &err.problems[0];
    assert_eq!(problem.kind, ProblemKind::Read);
    assert_eq!((problem.pos.line, problem.pos.column), (3, 5));
    assert!(problem.message.contains("UTF-8"));
}

#[test]
fn status_codes_headers_and_budgets_in_every_spelling() {
    let text = r#"
deploy: { url: { base: "http://127.0.0.1:1", head: "http://127.0.0.1:2" } }
defaults:
  budget: { p999: 20%, throughput: 10% }
endpoints:
  - path: /one
    expect_status: 201
    headers: { X-Trace: 1, x-flag: true, Authorization: "Bearer abc" }
  - path: /none
    expect_status: []
    budget: { "p99.9": +30%, throughput: "-5%" }
"#;
    let config = config::parse(text, "t.yml", Path::new(".")).expect("valid");
    let one = &config.endpoints[0];
    assert_eq!(one.expect_status, vec![201]);
    assert_eq!(one.headers["x-trace"], "1");
    assert_eq!(one.headers["x-flag"], "true");
    assert_eq!(one.headers["authorization"], "Bearer abc");
    assert_fraction(one.budget.p999, 0.20);
    assert_fraction(one.budget.throughput, 0.10);
    let none = &config.endpoints[1];
    assert!(none.expect_status.is_empty());
    assert_fraction(none.budget.p999, 0.30);
    assert_fraction(none.budget.throughput, 0.05);
}

#[test]
fn a_round_can_end_on_the_request_count_alone() {
    let text = r#"
deploy: { url: { base: "http://127.0.0.1:1", head: "http://127.0.0.1:2" } }
load: { duration: ~, requests: 100 }
endpoints: [{ path: / }]
"#;
    let config = config::parse(text, "t.yml", Path::new(".")).expect("valid");
    assert_eq!(config.load.duration, None);
    assert_eq!(config.load.requests, Some(100));
}

/// Parse `load` lines under a valid deploy and one endpoint.
fn parse_load(load: &str) -> Load {
    let text = format!(
        "deploy: {{ url: {{ base: \"http://127.0.0.1:1\", head: \"http://127.0.0.1:2\" }} }}\nendpoints: [{{ path: / }}]\nload: {load}\n"
    );
    match config::parse(&text, "t.yml", Path::new(".")) {
        Ok(config) => {
            assert_eq!(config.endpoints[0].load, config.load);
            config.load
        }
        Err(e) => panic!("`load: {load}` should parse:\n{e}"),
    }
}

#[test]
fn open_loop_in_every_spelling() {
    for rate in [
        "200",
        "200/s",
        "200 /s",
        "200 rps",
        "200 req/s",
        "+200/s",
        "200.0/s",
    ] {
        assert_eq!(
            parse_load(&format!("{{ rate: {rate} }}")).profile,
            Profile::Open {
                rate: 200.0,
                connections: 10
            },
            "{rate}"
        );
    }
    assert_eq!(
        parse_load("{ rate: 0.5/s, connections: 3 }").profile,
        Profile::Open {
            rate: 0.5,
            connections: 3
        }
    );
    assert_eq!(
        parse_load("{ rate: 10000000/s }").profile,
        Profile::Open {
            rate: 10_000_000.0,
            connections: 10
        },
        "the highest rate"
    );
}

#[test]
fn ladders_of_connections_and_of_rates() {
    assert_eq!(
        parse_load("{ ladder: [1, 10, 100, 10000] }").profile,
        Profile::Ladder {
            kind: LadderKind::Concurrency,
            steps: vec![1.0, 10.0, 100.0, 10_000.0],
            connections: 10_000,
        }
    );
    assert_eq!(
        parse_load("{ ladder: [4] }").profile.max_connections(),
        4,
        "a one-step ladder"
    );
    assert_eq!(
        parse_load("{ ladder: { rate: [100/s, 200 rps, 400] }, connections: 50 }").profile,
        Profile::Ladder {
            kind: LadderKind::Rate,
            steps: vec![100.0, 200.0, 400.0],
            connections: 50,
        }
    );
    // `~` for the other key is allowed next to a ladder or a rate.
    assert_eq!(
        parse_load("{ ladder: [1, 2], rate: ~ }").profile,
        Profile::Ladder {
            kind: LadderKind::Concurrency,
            steps: vec![1.0, 2.0],
            connections: 2,
        }
    );
    assert_eq!(
        parse_load("{ ladder: ~, rate: 5 }").profile,
        Profile::Open {
            rate: 5.0,
            connections: 10
        }
    );
}

#[test]
fn http_versions_in_every_spelling() {
    for (text, version) in [
        ("\"1.1\"", HttpVersion::Http1),
        ("1.1", HttpVersion::Http1),
        ("HTTP/1.1", HttpVersion::Http1),
        ("h1", HttpVersion::Http1),
        ("\"2\"", HttpVersion::Http2),
        ("2", HttpVersion::Http2),
        ("2.0", HttpVersion::Http2),
        ("h2", HttpVersion::Http2),
        ("H2", HttpVersion::Http2),
        ("http/2", HttpVersion::Http2),
    ] {
        assert_eq!(
            parse_load(&format!("{{ http: {text} }}")).http,
            version,
            "{text}"
        );
    }
    assert_eq!(parse_load("{ http: ~ }").http, HttpVersion::Http1);
}

#[test]
fn profiles_and_http_layer_from_the_top_level_to_endpoints() {
    let config = load_ok(&fixture("profiles.yml"));
    let top = Load {
        profile: Profile::Open {
            rate: 200.0,
            connections: 20,
        },
        http: HttpVersion::Http2,
        ..Load::default()
    };
    assert_eq!(config.load, top);
    let load = |path: &str| {
        config
            .endpoints
            .iter()
            .find(|e| e.path == path)
            .map(|e| e.load.clone())
            .unwrap_or_else(|| panic!("no endpoint {path}"))
    };
    assert_eq!(load("/inherit"), top);
    assert_eq!(
        load("/fewer").profile,
        Profile::Open {
            rate: 200.0,
            connections: 5
        }
    );
    assert_eq!(
        load("/closed"),
        Load {
            profile: Profile::Closed { connections: 20 },
            http: HttpVersion::Http1,
            ..top.clone()
        }
    );
    assert_eq!(
        load("/faster").profile,
        Profile::Open {
            rate: 1000.0,
            connections: 20
        }
    );
    assert_eq!(
        load("/ladder"),
        Load {
            profile: Profile::Ladder {
                kind: LadderKind::Concurrency,
                steps: vec![1.0, 10.0, 100.0],
                connections: 100,
            },
            ..top.clone()
        }
    );
    assert_eq!(
        load("/rate-ladder").profile,
        Profile::Ladder {
            kind: LadderKind::Rate,
            steps: vec![50.0, 100.0, 150.5],
            connections: 20,
        }
    );
}

#[test]
fn leaving_an_inherited_ladder_restores_the_connections() {
    let text = r#"
deploy: { url: { base: "http://127.0.0.1:1", head: "http://127.0.0.1:2" } }
load: { ladder: [1, 10, 100], http: h2 }
endpoints:
  - path: /ladder
  - path: /closed
    load: { ladder: ~ }
  - path: /open
    load: { rate: 300/s, connections: 30 }
"#;
    let config = config::parse(text, "t.yml", Path::new(".")).expect("valid");
    let ladder = Profile::Ladder {
        kind: LadderKind::Concurrency,
        steps: vec![1.0, 10.0, 100.0],
        connections: 100,
    };
    assert_eq!(config.load.profile, ladder);
    assert_eq!(config.endpoints[0].load.profile, ladder);
    assert_eq!(
        config.endpoints[1].load.profile,
        Profile::Closed { connections: 10 },
        "the default connections, not the ladder's top step"
    );
    assert_eq!(
        config.endpoints[2].load.profile,
        Profile::Open {
            rate: 300.0,
            connections: 30
        }
    );
    assert!(config
        .endpoints
        .iter()
        .all(|e| e.load.http == HttpVersion::Http2));
}

#[test]
fn tls_settings_resolve_the_ca_file_against_the_config() {
    let head = "deploy: { url: { base: \"https://127.0.0.1:1\", head: \"https://127.0.0.1:2\" } }\nendpoints: [{ path: / }]\n";
    let dir = fixture("");
    let parse = |tls: &str| {
        let text = format!("{head}{tls}");
        config::parse(&text, "t.yml", &dir)
            .unwrap_or_else(|e| panic!("{tls} should parse:\n{e}"))
            .tls
    };
    assert_eq!(parse(""), TlsSettings::default());
    assert_eq!(
        parse("tls: { ca_file: certs/ca.pem, insecure: false }\n"),
        TlsSettings {
            ca_file: Some(dir.join("certs/ca.pem")),
            insecure: false,
        }
    );
    assert_eq!(
        parse("tls:\n  insecure: true\n"),
        TlsSettings {
            ca_file: None,
            insecure: true,
        }
    );
    let absolute = fixture("certs/ca.pem");
    assert_eq!(
        parse(&format!(
            "tls: {{ ca_file: {:?} }}\n",
            absolute.display().to_string()
        ))
        .ca_file,
        Some(absolute),
        "an absolute path stays as it is"
    );
    assert_eq!(parse("tls: {}\n"), TlsSettings::default());
}

#[test]
fn items_inline_from_csv_and_from_json() {
    let config = load_ok(&fixture("items.yml"));
    let items = |name: &str| {
        config
            .endpoints
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.items.clone())
            .unwrap_or_else(|| panic!("no endpoint {name}"))
    };
    assert_eq!(
        items("inline"),
        ["ada", "grace", "42", "1.50", "true", "~"],
        "scalars as written"
    );
    assert_eq!(
        items("csv first column"),
        ["1", "2", "3"],
        "blank lines are skipped"
    );
    assert_eq!(
        items("csv named column"),
        ["Lovelace, Ada", "Grace", "Mary\nKenneth"],
        "quoted fields keep commas and line breaks"
    );
    assert_eq!(items("json"), ["ada", "42", "grace", "7.5"]);
    assert!(items("no items").is_empty());
    let plain = &config.endpoints[4];
    assert_eq!(
        plain.path, "/plain/{{random_id}}?literal={{not_a_variable}}",
        "the path keeps its variables for the engine"
    );
    assert_eq!(
        config.endpoints[2].body,
        Some(Bytes::from_static(br#"{"name": "{{item}}"}"#))
    );
}

#[test]
fn a_csv_column_with_quotes_and_empty_fields() {
    let text = r#"
deploy: { url: { base: "http://127.0.0.1:1", head: "http://127.0.0.1:2" } }
endpoints:
  - path: /notes
    method: PUT
    body: "{{item}}"
    items_file: items/users.csv
    items_column: note
"#;
    let config = config::parse(text, "t.yml", &fixture("")).expect("valid");
    assert_eq!(config.endpoints[0].items, ["said \"hi\"", "", "x"]);
}

#[test]
fn connections_are_kept_but_unused_by_a_concurrency_ladder() {
    // Uncommenting `ladder:` in the example, under `connections: 10`, works.
    let text = r#"
deploy: { url: { base: "http://127.0.0.1:1", head: "http://127.0.0.1:2" } }
load: { connections: 25, ladder: [1, 10, 100] }
endpoints:
  - path: /ladder
  - path: /closed
    load: { ladder: ~ }
  - path: /still-a-ladder
    load: { connections: 5 }
"#;
    let config = config::parse(text, "t.yml", Path::new(".")).expect("valid");
    let ladder = Profile::Ladder {
        kind: LadderKind::Concurrency,
        steps: vec![1.0, 10.0, 100.0],
        connections: 100,
    };
    assert_eq!(config.endpoints[0].load.profile, ladder);
    assert_eq!(
        config.endpoints[1].load.profile,
        Profile::Closed { connections: 25 }
    );
    assert_eq!(config.endpoints[2].load.profile, ladder);
}
