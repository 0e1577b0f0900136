//! Malformed configs: each error names the file, the exact line and column, the
//! field path, what is wrong, and has a `help:` line saying how to fix it.

use std::path::Path;

use tailgate::config::{self, Problem, ProblemKind};

/// Line 1: a valid `deploy`. The case starts on line 2.
fn with_deploy(rest: &str) -> String {
    format!("deploy: {{ url: {{ base: \"http://127.0.0.1:1\", head: \"http://127.0.0.1:2\" }} }}\n{rest}")
}

/// Lines 1-2: a valid `deploy` and `endpoints`. The case starts on line 3.
fn with_both(rest: &str) -> String {
    with_deploy(&format!("endpoints: [{{ path: /ok }}]\n{rest}"))
}

fn problems(text: &str) -> Vec<Problem> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs");
    match config::parse(text, "tailgate.yml", &dir) {
        Ok(_) => panic!("should be rejected:\n{text}"),
        Err(e) => e.problems,
    }
}

/// The single problem of `text`, checked for position, path, message and help.
#[track_caller]
fn only(text: &str, line: usize, column: usize, path: &str, says: &str) -> Problem {
    let mut all = problems(text);
    assert_eq!(all.len(), 1, "one problem expected, got {all:#?}");
    let problem = all.remove(0);
    check(&problem, line, column, path, says);
    problem
}

#[track_caller]
fn check(problem: &Problem, line: usize, column: usize, path: &str, says: &str) {
    let shown = problem.to_string();
    assert_eq!(
        (problem.pos.line, problem.pos.column),
        (line, column),
        "{shown}"
    );
    assert_eq!(problem.path.to_string(), path, "{shown}");
    assert!(problem.message.contains(says), "{shown}");
    assert!(!problem.help.is_empty(), "{shown}");
    assert!(
        shown.starts_with(&format!("tailgate.yml:{line}:{column}: error ")),
        "{shown}"
    );
    assert!(shown.contains("\n  help: "), "{shown}");
}

// --- YAML and the shape of the document -----------------------------------

#[test]
fn tab_indentation() {
    let p = only(&with_both("load:\n\tconnections: 5\n"), 4, 1, "load", "tab");
    assert_eq!(p.kind, ProblemKind::Syntax);
    assert!(p.help.contains("spaces"));
}

#[test]
fn unclosed_quote_points_at_the_opening_quote() {
    let p = only(
        &with_both("load:\n  duration: 'abc\n  warmup: 1s\n"),
        4,
        13,
        "load.duration",
        "never closed",
    );
    assert_eq!(p.kind, ProblemKind::Syntax);
}

#[test]
fn misplaced_colon() {
    let p = only(&with_both("mode: a: b\n"), 3, 8, "mode", "invalid YAML");
    assert_eq!(p.kind, ProblemKind::Syntax);
}

#[test]
fn several_documents() {
    only(
        &with_both("---\nmode: advisory\n"),
        3,
        1,
        "(top level)",
        "more than one YAML document",
    );
}

#[test]
fn empty_file() {
    only("", 1, 1, "(top level)", "empty");
    only("# only a comment\n\n", 1, 1, "(top level)", "empty");
}

#[test]
fn top_level_is_not_a_mapping() {
    only(
        "- deploy\n- endpoints\n",
        1,
        1,
        "(top level)",
        "not a mapping",
    );
}

#[test]
fn duplicate_key_points_at_the_second() {
    only(
        &with_both("load:\n  connections: 1\n  connections: 2\n"),
        5,
        3,
        "load.connections",
        "given twice",
    );
}

#[test]
fn unknown_top_level_key_with_suggestion() {
    let p = only(
        &with_deploy("endpoint: [{ path: /a }]\n"),
        2,
        1,
        "endpoint",
        "unknown key `endpoint` at the top level; did you mean `endpoints`?",
    );
    assert_eq!(p.kind, ProblemKind::Schema);
}

#[test]
fn unknown_key_in_load_with_suggestion() {
    let p = only(
        &with_both("load:\n  conections: 5\n"),
        4,
        3,
        "load.conections",
        "unknown key `conections` in `load`; did you mean `connections`?",
    );
    assert!(p.help.contains("`connections`, `duration`, `requests`"));
}

#[test]
fn unknown_key_deep_in_an_endpoint_with_suggestion() {
    only(
        &with_deploy("endpoints:\n  - path: /a\n    slo: { p99.5: 1s }\n"),
        4,
        12,
        "endpoints[0].slo.\"p99.5\"",
        "did you mean `p99.9`?",
    );
}

#[test]
fn unknown_key_without_a_close_match_lists_the_valid_ones() {
    let p = only(
        &with_both("compare:\n  zzz: 1\n"),
        4,
        3,
        "compare.zzz",
        "unknown key `zzz` in `compare`",
    );
    assert!(!p.message.contains("did you mean"));
    assert!(p.help.contains("`rounds`") && p.help.contains("`seed`"));
}

#[test]
fn unknown_mode_with_suggestion() {
    let p = only(
        &with_both("mode: blockng\n"),
        3,
        7,
        "mode",
        "did you mean `blocking`?",
    );
    assert!(p.help.contains("`advisory`"));
}

#[test]
fn wrong_type_for_a_list() {
    let p = only(
        &with_deploy("endpoints: orders\n"),
        2,
        12,
        "endpoints",
        "expected a list, found string \"orders\"",
    );
    assert!(p.help.contains("endpoints: ["));
}

// --- Units ------------------------------------------------------------------

#[test]
fn a_duration_that_is_not_one_renders_like_the_docs() {
    let text = with_deploy("endpoints:\n  - path: /a\n  - path: /b\n    slo: { p99: fast }\n");
    let p = only(&text, 5, 17, "endpoints[1].slo.p99", "is not a duration");
    assert_eq!(
        p.to_string(),
        "tailgate.yml:5:17: error in `endpoints[1].slo.p99`: \"fast\" is not a duration\n  help: write a number with a unit, e.g. `500ms` or `2s`"
    );
}

#[test]
fn duration_without_unit() {
    let p = only(
        &with_both("load:\n  duration: 5\n"),
        4,
        13,
        "load.duration",
        "no unit",
    );
    assert!(p.help.contains("`500ms`"));
}

#[test]
fn negative_duration() {
    only(
        &with_both("load:\n  warmup: -2s\n"),
        4,
        11,
        "load.warmup",
        "negative",
    );
}

#[test]
fn duration_too_long_is_an_error_not_an_overflow() {
    only(
        &with_both("load:\n  duration: 99999999999999h\n"),
        4,
        13,
        "load.duration",
        "too long",
    );
}

#[test]
fn unitless_percentage() {
    let p = only(
        &with_both("compare:\n  noise_floor: 0.02\n"),
        4,
        16,
        "compare.noise_floor",
        "no `%`",
    );
    assert!(p.help.contains("write 10% not 0.1 or 10"));
}

#[test]
fn error_rate_over_100_percent() {
    only(
        &with_both("defaults:\n  slo:\n    error_rate: 150%\n"),
        5,
        17,
        "defaults.slo.error_rate",
        "over 100%",
    );
}

#[test]
fn confidence_of_100_percent() {
    only(
        &with_both("compare:\n  confidence: 100%\n"),
        4,
        15,
        "compare.confidence",
        "outside (50%, 100%)",
    );
}

#[test]
fn negative_latency_budget() {
    let p = only(
        &with_both("defaults:\n  budget:\n    p99: -5%\n"),
        5,
        10,
        "defaults.budget.p99",
        "negative",
    );
    assert_eq!(p.help, "a budget is how much head may grow; write +10%");
}

// --- Values that do not make sense -----------------------------------------

#[test]
fn empty_endpoint_list() {
    only(&with_deploy("endpoints: []\n"), 2, 12, "endpoints", "empty");
}

#[test]
fn duplicate_endpoint_names_point_at_the_second() {
    only(
        &with_deploy(
            "endpoints:\n  - name: orders\n    path: /a\n  - name: orders\n    path: /b\n",
        ),
        5,
        11,
        "endpoints[1].name",
        "already used by `endpoints[0]`",
    );
}

#[test]
fn duplicate_default_names_point_at_the_second_endpoint() {
    only(
        &with_deploy("endpoints:\n  - path: /a\n  - path: /a\n"),
        4,
        5,
        "endpoints[1]",
        "\"GET /a\" is already used",
    );
}

#[test]
fn missing_path() {
    let p = only(
        &with_deploy("endpoints:\n  - name: orders\n    method: GET\n"),
        3,
        5,
        "endpoints[0].path",
        "missing key `path` in `endpoints[0]`",
    );
    assert!(p.help.contains("path: /orders"));
}

#[test]
fn path_without_leading_slash() {
    let p = only(
        &with_deploy("endpoints:\n  - path: orders\n"),
        3,
        11,
        "endpoints[0].path",
        "does not start with `/`",
    );
    assert!(p.help.contains("`/orders`"));
}

#[test]
fn bad_method() {
    only(
        &with_deploy("endpoints:\n  - path: /a\n    method: \"GE T\"\n"),
        4,
        13,
        "endpoints[0].method",
        "not an HTTP method",
    );
}

#[test]
fn bad_header_name_points_at_the_key() {
    only(
        &with_deploy("endpoints:\n  - path: /a\n    headers:\n      \"Bad Header\": x\n"),
        5,
        7,
        "endpoints[0].headers.\"Bad Header\"",
        "not a valid header name",
    );
}

#[test]
fn bad_header_value_points_at_the_value() {
    only(
        &with_deploy("endpoints:\n  - path: /a\n    headers:\n      X-Ok: \"a\\x01b\"\n"),
        5,
        13,
        "endpoints[0].headers.X-Ok",
        "not a valid header value",
    );
}

#[test]
fn body_and_body_file() {
    only(
        &with_deploy("endpoints:\n  - path: /a\n    body: x\n    body_file: payload.json\n"),
        5,
        5,
        "endpoints[0].body_file",
        "both `body` and `body_file`",
    );
}

#[test]
fn body_file_that_does_not_exist() {
    only(
        &with_deploy("endpoints:\n  - path: /a\n    body_file: nope.json\n"),
        4,
        16,
        "endpoints[0].body_file",
        "cannot read",
    );
}

#[test]
fn status_code_999() {
    only(
        &with_deploy("endpoints:\n  - path: /a\n    expect_status: [200, 999]\n"),
        4,
        26,
        "endpoints[0].expect_status[1]",
        "999 is not an HTTP status code",
    );
}

#[test]
fn one_round() {
    only(
        &with_both("compare:\n  rounds: 1\n"),
        4,
        11,
        "compare.rounds",
        "must be at least 2",
    );
}

#[test]
fn zero_connections() {
    only(
        &with_both("load: { connections: 0 }\n"),
        3,
        22,
        "load.connections",
        "must be at least 1",
    );
}

#[test]
fn negative_connections() {
    only(
        &with_both("load:\n  connections: -1\n"),
        4,
        16,
        "load.connections",
        "negative",
    );
}

#[test]
fn neither_duration_nor_requests() {
    only(
        &with_both("load:\n  duration: ~\n"),
        4,
        13,
        "load.duration",
        "no `duration` and no `requests`",
    );
}

#[test]
fn slo_limits_out_of_order() {
    only(
        &with_both("defaults:\n  slo: { p50: 300ms, p99: 200ms }\n"),
        4,
        27,
        "defaults.slo.p99",
        "the p99 limit (200ms) is below the p50 limit (300ms)",
    );
}

#[test]
fn deploy_with_both_kinds() {
    only(
        "deploy:\n  url: { base: \"http://a\", head: \"http://b\" }\n  local: { command: x }\nendpoints: [{ path: /a }]\n",
        3,
        3,
        "deploy.local",
        "names 2 deployers (url, local)",
    );
}

#[test]
fn deploy_with_no_kind() {
    only(
        "deploy: {}\nendpoints: [{ path: /a }]\n",
        1,
        9,
        "deploy",
        "names no deployer",
    );
}

#[test]
fn deploy_url_that_is_not_http() {
    let p = only(
        "deploy:\n  url:\n    base: \"ftp://example.com\"\n    head: \"http://b\"\nendpoints: [{ path: /a }]\n",
        3,
        11,
        "deploy.url.base",
        "not a usable URL",
    );
    assert!(p.help.contains("http(s)"));
}

#[test]
fn deploy_url_that_is_relative() {
    only(
        "deploy:\n  url: { base: \"http://a\", head: \"/head\" }\nendpoints: [{ path: /a }]\n",
        2,
        34,
        "deploy.url.head",
        "does not start with http:// or https://",
    );
}

#[test]
fn missing_sections_are_all_reported() {
    let all = problems("mode: advisory\n");
    let paths: Vec<String> = all.iter().map(|p| p.path.to_string()).collect();
    assert_eq!(paths, ["deploy", "endpoints"]);
    for p in &all {
        check(p, 1, 1, &p.path.to_string(), "missing key");
    }
}

#[test]
fn semantic_problems_are_collected_in_file_order() {
    let text = with_deploy(
        "load: { connections: 0 }\ncompare: { rounds: 1 }\nendpoints:\n  - path: a\n  - path: /b\n    method: \"x y\"\n",
    );
    let all = problems(&text);
    assert_eq!(all.len(), 4, "{all:#?}");
    check(&all[0], 2, 22, "load.connections", "at least 1");
    check(&all[1], 3, 20, "compare.rounds", "at least 2");
    check(
        &all[2],
        5,
        11,
        "endpoints[0].path",
        "does not start with `/`",
    );
    check(&all[3], 7, 13, "endpoints[1].method", "not an HTTP method");
    let rendered = config::ConfigError { problems: all }.to_string();
    assert!(rendered.ends_with("tailgate.yml: 4 problems"), "{rendered}");
}

#[test]
fn columns_count_characters_not_bytes() {
    // serde-saphyr's position and the index's (both from granit-parser) agree
    // after multi-byte characters.
    let text =
        with_deploy("endpoints:\n  - { name: \"日本語😀\", path: /a, slo: { p99: lent } }\n");
    only(&text, 3, 43, "endpoints[0].slo.p99", "is not a duration");
    let text = with_deploy("endpoints:\n  - { name: \"日本語😀\", path: /a, method: \"G T\" }\n");
    only(&text, 3, 39, "endpoints[0].method", "not an HTTP method");
}

#[test]
fn wrong_scalar_type_gets_an_example() {
    let p = only(
        "deploy:\n  local:\n    command: ./server\n    worktree: yes\nendpoints: [{ path: /a }]\n",
        4,
        15,
        "deploy.local.worktree",
        "expected a boolean, found string \"yes\"",
    );
    assert_eq!(p.help, "write it like `worktree: true`");
}

// --- Load profiles: open loop, ladder, HTTP version -------------------------

#[test]
fn rate_of_zero() {
    let p = only(
        &with_both("load:\n  rate: 0/s\n"),
        4,
        9,
        "load.rate",
        "\"0/s\" sends nothing; a rate must be more than 0",
    );
    assert_eq!(p.help, "write requests per second, e.g. `200/s`");
}

#[test]
fn rate_that_is_not_one() {
    let p = only(
        &with_both("load:\n  rate: 200/min\n"),
        4,
        9,
        "load.rate",
        "\"200/min\" is not a rate",
    );
    assert_eq!(p.kind, ProblemKind::Schema);
    assert!(p.help.contains("`200/s`"));
}

#[test]
fn rate_too_high() {
    only(
        &with_both("load: { rate: 20000000 rps }\n"),
        3,
        15,
        "load.rate",
        "too high (at most 10000000/s)",
    );
}

#[test]
fn rate_and_ladder_point_at_the_second() {
    let p = only(
        &with_both("load:\n  ladder: [1, 10]\n  rate: 100/s\n"),
        5,
        3,
        "load.rate",
        "`rate` and `ladder` are both given",
    );
    assert!(p.help.contains("keep one"));
    only(
        &with_deploy("endpoints:\n  - path: /a\n    load: { rate: 5, ladder: { rate: [1, 2] } }\n"),
        4,
        22,
        "endpoints[0].load.ladder",
        "`ladder` and `rate` are both given",
    );
}

#[test]
fn empty_ladder() {
    let p = only(
        &with_both("load: { ladder: [] }\n"),
        3,
        17,
        "load.ladder",
        "the ladder has no steps",
    );
    assert_eq!(p.help, "write it like `ladder: [1, 10, 100]`");
    let p = only(
        &with_both("load:\n  ladder:\n    rate: []\n"),
        5,
        11,
        "load.ladder.rate",
        "the ladder has no steps",
    );
    assert_eq!(p.help, "write it like `rate: [100/s, 200/s, 400/s]`");
}

#[test]
fn ladder_that_does_not_go_up_points_at_the_step() {
    let p = only(
        &with_both("load:\n  ladder: [1, 10, 10, 100]\n"),
        4,
        19,
        "load.ladder[2]",
        "the ladder's steps must go up, but 10 comes after 10",
    );
    assert!(p.help.contains("ascending"));
    let p = only(
        &with_both("load:\n  ladder: { rate: [200/s, 100/s] }\n"),
        4,
        27,
        "load.ladder.rate[1]",
        "but 100/s comes after 200/s",
    );
    assert!(p.help.contains("`[100/s, 200/s, 400/s]`"));
}

#[test]
fn ladder_steps_out_of_range() {
    let all = problems(&with_both("load:\n  ladder: [0, 10, 20000]\n"));
    assert_eq!(all.len(), 2, "{all:#?}");
    check(&all[0], 4, 12, "load.ladder[0]", "a step of 0 connections");
    check(
        &all[1],
        4,
        19,
        "load.ladder[2]",
        "a step of 20000 connections is over the limit of 10000",
    );
}

#[test]
fn ladder_step_that_is_not_a_whole_number() {
    only(
        &with_both("load: { ladder: [1, 2.5] }\n"),
        3,
        21,
        "load.ladder[1]",
        "\"2.5\" is not a whole number",
    );
}

#[test]
fn ladder_rate_that_is_not_a_rate() {
    only(
        &with_both("load: { ladder: { rate: [100/s, fast] } }\n"),
        3,
        33,
        "load.ladder.rate[1]",
        "\"fast\" is not a rate",
    );
}

#[test]
fn ladder_of_the_wrong_shape() {
    let p = only(
        &with_both("load: { ladder: 100 }\n"),
        3,
        17,
        "load.ladder",
        "expected a list of connection counts like `[1, 10, 100]` or a mapping like `{ rate: [100/s, 200/s] }`, found integer `100`",
    );
    assert_eq!(p.help, "write it like `ladder: [1, 10, 100]`");
}

#[test]
fn ladder_mapping_without_rate() {
    let p = only(
        &with_both("load:\n  ladder: {}\n"),
        4,
        11,
        "load.ladder.rate",
        "missing key `rate` in `load.ladder`",
    );
    assert_eq!(p.help, "add `rate: [100/s, 200/s, 400/s]`");
}

#[test]
fn unknown_key_in_a_ladder_with_suggestion() {
    let p = only(
        &with_both("load:\n  ladder: { rates: [1/s] }\n"),
        4,
        13,
        "load.ladder.rates",
        "unknown key `rates` in `load.ladder`; did you mean `rate`?",
    );
    assert_eq!(p.help, "the keys in `load.ladder` are `rate`");
}

#[test]
fn unknown_http_version_lists_the_choices() {
    let p = only(
        &with_both("load:\n  http: 3\n"),
        4,
        9,
        "load.http",
        "\"3\" is not an HTTP version (the choices are \"1.1\" and \"2\")",
    );
    assert_eq!(
        p.help,
        "write `http: \"1.1\"` (HTTP/1.1, the default) or `http: \"2\"` (HTTP/2)"
    );
    only(
        &with_deploy("endpoints:\n  - path: /a\n    load: { http: h3 }\n"),
        4,
        19,
        "endpoints[0].load.http",
        "\"h3\" is not an HTTP version",
    );
}

#[test]
fn unknown_load_keys_suggest_the_new_ones() {
    let p = only(
        &with_both("load:\n  rat: 100/s\n"),
        4,
        3,
        "load.rat",
        "did you mean `rate`?",
    );
    assert!(p.help.contains("`rate`, `ladder`, `http`"), "{p}");
    only(
        &with_both("load:\n  ladders: [1]\n"),
        4,
        3,
        "load.ladders",
        "did you mean `ladder`?",
    );
}

// --- TLS --------------------------------------------------------------------

#[test]
fn tls_ca_file_that_does_not_exist() {
    let p = only(
        &with_both("tls:\n  ca_file: certs/nope.pem\n"),
        4,
        12,
        "tls.ca_file",
        "cannot read",
    );
    assert!(p.message.contains("certs/nope.pem"), "{p}");
    assert!(p.help.contains("relative to the config file's directory"));
}

#[test]
fn tls_ca_file_without_a_certificate() {
    only(
        &with_both("tls: { ca_file: payload.json }\n"),
        3,
        17,
        "tls.ca_file",
        "has no PEM certificate in it",
    );
}

#[test]
fn tls_ca_file_with_a_broken_certificate() {
    only(
        &with_both("tls: { ca_file: certs/broken.pem, insecure: false }\n"),
        3,
        17,
        "tls.ca_file",
        "has a certificate that cannot be used as a CA",
    );
}

#[test]
fn tls_ca_file_that_is_a_directory() {
    only(
        &with_both("tls:\n  ca_file: certs\n"),
        4,
        12,
        "tls.ca_file",
        "cannot read",
    );
}

#[test]
fn tls_ca_file_empty() {
    only(
        &with_both("tls:\n  ca_file: \"\"\n"),
        4,
        12,
        "tls.ca_file",
        "the CA file name is empty",
    );
}

#[test]
fn tls_insecure_that_is_not_a_boolean() {
    let p = only(
        &with_both("tls:\n  insecure: yes\n"),
        4,
        13,
        "tls.insecure",
        "expected a boolean, found string \"yes\"",
    );
    assert_eq!(p.help, "write it like `insecure: false`");
}

#[test]
fn unknown_key_in_tls_with_suggestion() {
    let p = only(
        &with_both("tls:\n  cafile: certs/ca.pem\n"),
        4,
        3,
        "tls.cafile",
        "unknown key `cafile` in `tls`; did you mean `ca_file`?",
    );
    assert_eq!(p.help, "the keys in `tls` are `ca_file`, `insecure`");
    only(
        &with_both("TLS: { insecure: true }\n"),
        3,
        1,
        "TLS",
        "unknown key `TLS` at the top level; did you mean `tls`?",
    );
}

// --- Request variables and items --------------------------------------------

/// Lines 1-2: a valid `deploy` and `endpoints:`; line 3 is `  - path: {path}`,
/// and the endpoint's other keys start on line 4.
fn with_endpoint(path: &str, rest: &str) -> String {
    with_deploy(&format!("endpoints:\n  - path: {path}\n{rest}"))
}

#[test]
fn item_in_the_path_without_items() {
    let p = only(
        &with_endpoint("/users/{{item}}", ""),
        3,
        11,
        "endpoints[0].path",
        "`{{item}}` is used, but the endpoint has no items",
    );
    assert!(p.help.contains("`items: [ada, grace, 42]`"), "{p}");
    assert!(p.help.contains("items_file"), "{p}");
}

#[test]
fn item_in_the_body_without_items() {
    only(
        &with_endpoint(
            "/users",
            "    method: POST\n    body: '{\"name\": \"{{ item }}\"}'\n",
        ),
        5,
        11,
        "endpoints[0].body",
        "`{{item}}` is used, but the endpoint has no items",
    );
    only(
        &with_endpoint("/users", "    headers:\n      X-User: \"{{item}}\"\n"),
        5,
        15,
        "endpoints[0].headers.X-User",
        "`{{item}}` is used",
    );
}

#[test]
fn items_that_nothing_uses() {
    let p = only(
        &with_endpoint("/users", "    items: [ada, grace]\n"),
        4,
        5,
        "endpoints[0].items",
        "items are given, but nothing uses `{{item}}`",
    );
    assert!(p.help.contains("`path: /users/{{item}}`"), "{p}");
}

#[test]
fn a_variable_name_with_a_typo() {
    let p = only(
        &with_endpoint("/users/{{ count }}", ""),
        3,
        11,
        "endpoints[0].path",
        "unknown variable `{{count}}`; did you mean `{{counter}}`?",
    );
    assert!(p.help.contains("`{{random_id}}`"), "{p}");
}

#[test]
fn items_and_items_file_point_at_the_second() {
    let p = only(
        &with_endpoint(
            "/u/{{item}}",
            "    items_file: items/ids.json\n    items: [a]\n",
        ),
        5,
        5,
        "endpoints[0].items",
        "both `items` and `items_file` are given",
    );
    assert!(p.help.contains("keep one"));
}

#[test]
fn empty_items() {
    only(
        &with_endpoint("/u/{{item}}", "    items: []\n"),
        4,
        12,
        "endpoints[0].items",
        "the list of items is empty",
    );
    only(
        &with_endpoint("/u/{{item}}", "    items_file: items/empty.json\n"),
        4,
        17,
        "endpoints[0].items_file",
        "the list of items is empty",
    );
}

#[test]
fn null_item() {
    let p = only(
        &with_endpoint("/u/{{item}}", "    items: [a, ~]\n"),
        4,
        16,
        "endpoints[0].items[1]",
        "an item is empty (null)",
    );
    assert!(p.help.contains("`\"~\"`"));
}

#[test]
fn item_that_is_a_list() {
    let p = only(
        &with_endpoint("/u/{{item}}", "    items: [a, [b]]\n"),
        4,
        16,
        "endpoints[0].items[1]",
        "expected a string, found a list",
    );
    assert_eq!(p.help, "write it like `items: [ada, grace, 42]`");
}

#[test]
fn items_that_are_not_a_list() {
    only(
        &with_endpoint("/u/{{item}}", "    items: ada\n"),
        4,
        12,
        "endpoints[0].items",
        "expected a list, found string \"ada\"",
    );
}

#[test]
fn item_that_cannot_go_in_the_path_points_at_the_item() {
    let p = only(
        &with_endpoint("/u/{{item}}", "    items: [ada, \"grace hopper\"]\n"),
        4,
        18,
        "endpoints[0].items[1]",
        "the item \"grace hopper\" is used in `endpoints[0].path`, but it cannot go in the path",
    );
    assert!(p.help.contains("percent-encode"));
}

#[test]
fn item_that_cannot_go_in_a_header() {
    only(
        &with_endpoint(
            "/u",
            "    headers: { X-Id: \"id-{{item}}\" }\n    items: [\"a\\nb\"]\n",
        ),
        5,
        13,
        "endpoints[0].items[0]",
        "cannot go in a header value",
    );
}

#[test]
fn item_from_a_file_that_cannot_go_in_the_path_names_the_line() {
    only(
        &with_endpoint("/u/{{item}}", "    items_file: items/spaced.csv\n"),
        4,
        17,
        "endpoints[0].items_file",
        "items/spaced.csv line 2: the item \"a b\" is used in `endpoints[0].path`",
    );
}

#[test]
fn items_file_that_does_not_exist() {
    let p = only(
        &with_endpoint("/u/{{item}}", "    items_file: items/nope.csv\n"),
        4,
        17,
        "endpoints[0].items_file",
        "cannot read",
    );
    assert!(p.help.contains("relative to the config file's directory"));
}

#[test]
fn items_file_of_an_unknown_format() {
    let p = only(
        &with_endpoint("/u/{{item}}", "    items_file: users.txt\n"),
        4,
        17,
        "endpoints[0].items_file",
        "cannot tell the format of \"users.txt\"",
    );
    assert!(p.help.contains("`.csv`") && p.help.contains("`.json`"));
}

#[test]
fn items_column_that_does_not_exist() {
    let p = only(
        &with_endpoint(
            "/u/{{item}}",
            "    items_file: items/users.csv\n    items_column: nam\n",
        ),
        5,
        19,
        "endpoints[0].items_column",
        "items/users.csv has no column `nam`; did you mean `name`?",
    );
    assert_eq!(
        p.help,
        "the columns of items/users.csv are `id`, `name`, `note`"
    );
}

#[test]
fn items_column_named_twice_in_the_header() {
    only(
        &with_endpoint(
            "/u/{{item}}",
            "    items_file: items/twice.csv\n    items_column: id\n",
        ),
        5,
        19,
        "endpoints[0].items_column",
        "items/twice.csv has 2 columns named `id`",
    );
}

#[test]
fn items_column_without_a_csv_file() {
    only(
        &with_endpoint(
            "/u/{{item}}",
            "    items_file: items/ids.json\n    items_column: id\n",
        ),
        5,
        5,
        "endpoints[0].items_column",
        "`items_column` picks a CSV column, but items/ids.json is not a .csv file",
    );
    let p = only(
        &with_endpoint("/u/{{item}}", "    items: [a]\n    items_column: id\n"),
        5,
        5,
        "endpoints[0].items_column",
        "and there is none",
    );
    assert!(p.help.contains("remove `items_column`"));
}

#[test]
fn malformed_csv_names_the_line() {
    let cases = [
        ("ragged.csv", "line 3 has 1 field, but the header row has 2"),
        (
            "unclosed.csv",
            "line 2: a quoted field that starts here is never closed",
        ),
        (
            "after_quote.csv",
            "line 2: 'x' after the closing quote of a field",
        ),
        ("header_only.csv", "has a header row and no items"),
    ];
    for (file, says) in cases {
        let p = only(
            &with_endpoint("/u/{{item}}", &format!("    items_file: items/{file}\n")),
            4,
            17,
            "endpoints[0].items_file",
            says,
        );
        assert!(p.message.starts_with(&format!("items/{file}")), "{p}");
        assert!(p.help.contains("header row"), "{p}");
    }
}

#[test]
fn malformed_json() {
    let cases = [
        (
            "broken.json",
            "items/broken.json is not valid JSON: EOF while parsing",
        ),
        (
            "objects.json",
            "items/objects.json[1] is an object; items are strings or numbers",
        ),
        (
            "object.json",
            "items/object.json holds an object, not an array",
        ),
    ];
    for (file, says) in cases {
        let p = only(
            &with_endpoint("/u/{{item}}", &format!("    items_file: items/{file}\n")),
            4,
            17,
            "endpoints[0].items_file",
            says,
        );
        assert!(p.help.contains("JSON array"), "{p}");
    }
}

#[test]
fn unknown_endpoint_keys_suggest_the_item_keys() {
    let p = only(
        &with_endpoint("/u/{{item}}", "    item: [a]\n"),
        4,
        5,
        "endpoints[0].item",
        "did you mean `items`?",
    );
    assert!(
        p.help.contains("`items`, `items_file`, `items_column`"),
        "{p}"
    );
    only(
        &with_endpoint("/u/{{item}}", "    items_fil: ids.json\n"),
        4,
        5,
        "endpoints[0].items_fil",
        "did you mean `items_file`?",
    );
}

// --- `${NAME}` from the environment -------------------------------------------

fn parse_with_env(text: &str, vars: &[(&str, &str)]) -> Result<config::Config, Vec<Problem>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs");
    let options = config::ReadOptions {
        env: config::Environment::Fixed(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..Default::default()
    };
    config::parse_with(text, "tailgate.yml", &dir, &options).map_err(|e| e.problems)
}

#[test]
fn an_unset_variable_is_located_at_its_value_and_says_how_to_set_it() {
    let text = with_deploy(
        "endpoints:\n  - path: /ok\n    headers:\n      Authorization: \"Bearer ${TG_UNSET_TOKEN}\"\n",
    );
    let problems = parse_with_env(&text, &[]).expect_err("unset");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    check(
        &problems[0],
        5,
        22,
        "endpoints[0].headers.Authorization",
        "`TG_UNSET_TOKEN`",
    );
    assert!(problems[0].help.contains("env:"), "{}", problems[0]);
}

/// An unset `${BASE_URL}` is one problem (the variable), not a second one about
/// the URL it left behind.
#[test]
fn an_unset_variable_in_a_url_is_said_once() {
    let text = "deploy: { url: { base: \"${BASE_URL}\", head: \"http://127.0.0.1:2\" } }\nendpoints: [{ path: /ok }]\n";
    let problems = parse_with_env(text, &[]).expect_err("unset");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    check(&problems[0], 1, 24, "deploy.url.base", "`BASE_URL`");
}

#[test]
fn a_malformed_reference_is_an_error_not_a_literal() {
    let text = "deploy: { url: { base: \"${BASE\", head: \"http://127.0.0.1:2\" } }\nendpoints: [{ path: /ok }]\n";
    let problems = parse_with_env(text, &[("BASE", "http://127.0.0.1:1")]).expect_err("bad");
    check(&problems[0], 1, 24, "deploy.url.base", "not closed");
}

#[test]
fn references_resolve_and_only_secrets_are_kept_for_redaction() {
    let text = "deploy: { url: { base: \"${BASE_URL}\", head: \"${HEAD_URL:-http://127.0.0.1:9}\" } }\n\
                endpoints:\n  - path: /orders?tenant=${TENANT}\n    headers: { X-Api-Key: \"${K}\" }\n    body: '{\"pin\":\"$${literal} ${PIN}\"}'\n    method: POST\n";
    let config = parse_with_env(
        text,
        &[
            ("BASE_URL", "http://127.0.0.1:8"),
            ("TENANT", "acme"),
            ("K", "k-123456"),
            ("PIN", "pin-98765"),
        ],
    )
    .expect("valid");
    match &config.deploy {
        config::DeployConfig::Url { base, head, .. } => {
            assert_eq!(base, "http://127.0.0.1:8");
            assert_eq!(head, "http://127.0.0.1:9");
        }
        other => panic!("{other:?}"),
    }
    let e = &config.endpoints[0];
    assert_eq!(e.path, "/orders?tenant=acme");
    assert_eq!(e.headers["x-api-key"], "k-123456");
    assert_eq!(
        e.body.as_deref(),
        Some(&b"{\"pin\":\"${literal} pin-98765\"}"[..])
    );
    // Header values and bodies are secrets; a path's tenant is not.
    let shown = config
        .secrets
        .redact("k-123456 pin-98765 acme http://127.0.0.1:8");
    assert_eq!(shown, "${K} ${PIN} acme http://127.0.0.1:8");
}

#[test]
fn urls_from_the_command_line_need_no_deploy_section_and_win_over_the_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs");
    let options = config::ReadOptions {
        base_url: Some("http://127.0.0.1:7".into()),
        head_url: Some("http://127.0.0.1:8".into()),
        ..Default::default()
    };
    for text in [
        "endpoints: [{ path: /ok }]\n",
        "deploy: { url: { ready: { path: /healthz } } }\nendpoints: [{ path: /ok }]\n",
        &with_both(""),
    ] {
        let config = config::parse_with(text, "tailgate.yml", &dir, &options).expect(text);
        let config::DeployConfig::Url { base, head, .. } = &config.deploy else {
            panic!("url deployer");
        };
        assert_eq!(
            (base.as_str(), head.as_str()),
            ("http://127.0.0.1:7", "http://127.0.0.1:8")
        );
    }
    let local = "deploy: { local: { command: ./serve } }\nendpoints: [{ path: /ok }]\n";
    let problems = config::parse_with(local, "tailgate.yml", &dir, &options)
        .expect_err("urls with a local deployer")
        .problems;
    check(&problems[0], 1, 9, "deploy", "deploys with `local`");
}

#[test]
fn history_settings_are_checked_where_they_are_written() {
    only(
        &with_both("history: { store: \"ftp://host/x\" }\n"),
        3,
        19,
        "history.store",
        "neither a folder nor an `s3://` location",
    );
    only(
        &with_both("history: { store: \"s3://Bad_Bucket\" }\n"),
        3,
        19,
        "history.store",
        "does not name an S3 bucket",
    );
    only(
        &with_both("history:\n  baseline: stored\n"),
        4,
        13,
        "history.baseline",
        "needs a history store",
    );
    only(
        &with_both("history: { store: h, min_runs: 1 }\n"),
        3,
        32,
        "history.min_runs",
        "at least 3",
    );
    only(
        &with_both("history: { store: h, baseline: later }\n"),
        3,
        32,
        "history.baseline",
        "unknown value `later`",
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs");
    let ok = config::parse(
        &with_both("history: { store: \"s3://perf-history/main\", baseline: stored, trend: 0 }\naccept_label: perf-accepted\n"),
        "tailgate.yml",
        &dir,
    )
    .expect("valid");
    assert_eq!(ok.history.baseline, config::Baseline::Stored);
    assert_eq!(ok.history.trend, 0);
    assert_eq!(ok.accept_label.as_deref(), Some("perf-accepted"));
    assert_eq!(
        ok.history.store,
        Some(config::StoreLocation::S3 {
            bucket: "perf-history".into(),
            prefix: "main".into(),
            region: None
        })
    );
}

// --- Every problem at once (issue 26) ---------------------------------------

/// A config with three problems: an unknown key and a badly written value (the
/// shape, found by serde one at a time) and a duplicate endpoint name (a semantic
/// check).
pub const THREE_PROBLEMS: &str = include_str!("fixtures/configs/three_problems.yml");

#[test]
fn every_problem_of_a_file_is_reported_at_once() {
    let all = problems(THREE_PROBLEMS);
    assert_eq!(all.len(), 3, "{all:#?}");
    check(
        &all[0],
        8,
        3,
        "compare.confidance",
        "unknown key `confidance`",
    );
    assert!(
        all[0].message.contains("did you mean `confidence`"),
        "{}",
        all[0]
    );
    check(&all[1], 11, 10, "defaults.slo.p99", "\"fast\"");
    assert_eq!(all[1].kind, ProblemKind::Schema);
    check(&all[2], 15, 11, "endpoints[1].name", "already used");
    assert_eq!(all[2].kind, ProblemKind::Invalid);
}

#[test]
fn a_removed_bad_value_is_not_also_reported_missing() {
    // `path` is required: its bad value is one problem, not two.
    let all = problems(&with_deploy(
        "endpoints:\n  - path: [1, 2]\n  - path: /b\n    methd: GET\n",
    ));
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].path.to_string(), "endpoints[0].path", "{}", all[0]);
    assert_eq!(all[1].path.to_string(), "endpoints[1].methd", "{}", all[1]);
}

#[test]
fn traces_settings_are_checked_where_they_are_written() {
    // Line 3 is the `traces:` line after the deploy and the endpoints.
    only(
        &with_both("traces: { listen: \"localhost:4318\" }\n"),
        3,
        19,
        "traces.listen",
        "is not an address and port",
    );
    only(
        &with_both("traces:\n  per_round: 0\n"),
        4,
        14,
        "traces.per_round",
        "at least 1",
    );
    only(
        &with_both("traces: { max_body_kib: 1 }\n"),
        3,
        25,
        "traces.max_body_kib",
        "at least 16",
    );
    only(
        &with_both("traces: { grace: 1h }\n"),
        3,
        18,
        "traces.grace",
        "at most 10m",
    );
    only(
        &with_both("traces: { sampling: 5 }\n"),
        3,
        11,
        "traces.sampling",
        "unknown",
    );
    only(
        &with_both("traces: { enabled: maybe }\n"),
        3,
        20,
        "traces.enabled",
        "",
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs");
    let parse = |text: &str| config::parse(&with_both(text), "tailgate.yml", &dir).expect(text);
    let off = parse("");
    assert!(!off.traces.enabled);
    let on = parse("traces: { per_round: 20, every: 3, max_spans: 5000, max_body_kib: 1024, grace: 2s, listen: \"0.0.0.0:4318\" }\n");
    assert!(on.traces.enabled);
    assert_eq!(on.traces.per_round, 20);
    assert_eq!(on.traces.every, 3);
    assert_eq!(on.traces.max_spans, 5000);
    assert_eq!(on.traces.max_body, 1024 * 1024);
    assert_eq!(on.traces.grace, std::time::Duration::from_secs(2));
    assert_eq!(on.traces.listen.port(), 4318);
    assert!(!parse("traces: { enabled: false }\n").traces.enabled);
}
