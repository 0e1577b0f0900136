//! `deploy.cloudformation`, `deploy.command`, `cost:` and the cost SLO and budget:
//! what valid files give, and where invalid ones are wrong.

use std::path::Path;
use std::time::Duration;

use tailgate::config::{self, DeployConfig, Fraction, Problem};
use tailgate::cost::{ApiGatewayKind, Architecture, Currency, Money};

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/aws")
}

fn parse(text: &str) -> config::Config {
    match config::parse(text, "tailgate.yml", &dir()) {
        Ok(c) => c,
        Err(e) => panic!("should be accepted:\n{text}\n{e}"),
    }
}

fn problems(text: &str) -> Vec<Problem> {
    match config::parse(text, "tailgate.yml", &dir()) {
        Ok(_) => panic!("should be rejected:\n{text}"),
        Err(e) => e.problems,
    }
}

#[track_caller]
fn only(text: &str, line: usize, column: usize, path: &str, says: &str) {
    let all = problems(text);
    assert_eq!(all.len(), 1, "one problem expected, got {all:#?}");
    let p = &all[0];
    let shown = p.to_string();
    assert_eq!((p.pos.line, p.pos.column), (line, column), "{shown}");
    assert_eq!(p.path.to_string(), path, "{shown}");
    assert!(p.message.contains(says), "{shown}");
    assert!(shown.contains("\n  help: "), "{shown}");
}

fn usd(text: &str) -> Money {
    Money::parse(text, Currency::USD).unwrap()
}

const ENDPOINTS: &str = "endpoints: [{ path: /orders }]\n";

#[test]
fn the_aws_example_gives_the_stack_the_cost_model_and_the_limits() {
    let path = dir().join("tailgate.yml");
    let c = config::load(&path).unwrap();
    let DeployConfig::CloudFormation(cf) = &c.deploy else {
        panic!("{:?}", c.deploy)
    };
    assert_eq!(cf.template, dir().join("template.yaml"));
    assert_eq!(cf.url_output, "ApiUrl");
    assert_eq!(cf.sha_parameter.as_deref(), Some("GitSha"));
    assert_eq!(cf.region.as_deref(), Some("eu-west-1"));
    assert_eq!(cf.timeout, Duration::from_secs(20 * 60));
    assert_eq!(cf.ttl, Duration::from_secs(24 * 3600));
    assert_eq!(cf.tags, vec![("team".to_string(), "orders".to_string())]);
    assert!(cf
        .capabilities
        .contains(&"CAPABILITY_AUTO_EXPAND".to_string()));
    assert_eq!(c.cost.monthly_requests, Some(30_000_000));
    assert_eq!(
        c.cost.prices_for(Some("eu-west-1")).x86_64_gb_second,
        usd("0.0000166667")
    );
    for e in &c.endpoints {
        assert_eq!(e.slo.cost_per_1m, Some(usd("$2.00")));
        assert_eq!(e.budget.cost, Some(Fraction(0.05)));
    }
}

#[test]
fn cloudformation_defaults_are_filled_in() {
    let c = parse(&format!(
        "deploy: {{ cloudformation: {{ template: template.yaml }} }}\n{ENDPOINTS}"
    ));
    let DeployConfig::CloudFormation(cf) = c.deploy else {
        panic!()
    };
    assert_eq!(cf.stack_prefix, "tailgate");
    assert_eq!(cf.url_output, "ApiUrl");
    assert_eq!(cf.poll_interval, Duration::from_secs(5));
    assert_eq!(cf.capabilities.len(), 3);
    assert!(cf.parameters.is_empty());
    assert_eq!(c.cost, tailgate::cost::CostModel::default());
}

#[test]
fn command_deployer_with_everything() {
    let c = parse(&format!(
        "deploy:\n  command:\n    up: ./up.sh $TAILGATE_SIDE\n    down: ./down.sh\n    url_output: endpoint\n    env: {{ STAGE: preview, PORT: 8080 }}\n    up_timeout: 5m\n{ENDPOINTS}"
    ));
    let DeployConfig::Command(cmd) = c.deploy else {
        panic!()
    };
    assert_eq!(cmd.up, "./up.sh $TAILGATE_SIDE");
    assert_eq!(cmd.down.as_deref(), Some("./down.sh"));
    assert_eq!(cmd.url_output, "endpoint");
    assert_eq!(cmd.up_timeout, Duration::from_secs(300));
    assert_eq!(
        cmd.env,
        vec![
            ("STAGE".to_string(), "preview".to_string()),
            ("PORT".to_string(), "8080".to_string())
        ]
    );
}

#[test]
fn cost_section_in_full() {
    let c = parse(&format!(
        "deploy: {{ local: {{ command: ./server }} }}\n\
         cost:\n  currency: EUR\n  monthly_requests: 1.5M\n  api_gateway: rest\n  architecture: arm64\n  prices:\n    x86_64_gb_second: \"0.000016\"\n    arm64_gb_second: \"0.000013\"\n    lambda_requests_per_1m: EUR 0.19\n    rest_api_per_1m: \"3.2\"\n    http_api_per_1m: \"0.95\"\n    vcpu_hour: \"0.037\"\n    data_transfer_per_gb: \"0.08\"\n\
         defaults:\n  slo: {{ cost_per_1m: EUR 1.50 }}\n{ENDPOINTS}"
    ));
    let eur = |t: &str| Money::parse(t, "EUR".parse().unwrap()).unwrap();
    assert_eq!(c.cost.currency.code(), "EUR");
    assert_eq!(c.cost.monthly_requests, Some(1_500_000));
    assert_eq!(c.cost.api_gateway, Some(ApiGatewayKind::Rest));
    assert_eq!(c.cost.architecture, Some(Architecture::Arm64));
    assert_eq!(c.cost.prices.vcpu_hour, eur("0.037"));
    assert_eq!(c.cost.prices.data_transfer_per_gb, Some(eur("0.08")));
    assert_eq!(c.endpoints[0].slo.cost_per_1m, Some(eur("1.50")));
    // A budget of cost alone replaces the default p99 budget, like any budget.
    assert_eq!(c.endpoints[0].budget.cost, None);
}

#[test]
fn missing_template_is_located() {
    only(
        &format!("deploy:\n  cloudformation:\n    template: missing.yaml\n{ENDPOINTS}"),
        3,
        15,
        "deploy.cloudformation.template",
        "does not exist",
    );
}

#[test]
fn template_key_is_required() {
    only(
        &format!("deploy:\n  cloudformation: {{ url_output: ApiUrl }}\n{ENDPOINTS}"),
        2,
        19,
        "deploy.cloudformation.template",
        "missing key `template`",
    );
}

#[test]
fn bad_stack_prefix() {
    only(
        &format!(
            "deploy:\n  cloudformation:\n    template: template.yaml\n    stack_prefix: 9_lives\n{ENDPOINTS}"
        ),
        4,
        19,
        "deploy.cloudformation.stack_prefix",
        "\"9_lives\"",
    );
}

#[test]
fn unknown_capability() {
    only(
        &format!(
            "deploy:\n  cloudformation:\n    template: template.yaml\n    capabilities: [CAPABILITY_IAM, CAPABILITY_ROOT]\n{ENDPOINTS}"
        ),
        4,
        36,
        "deploy.cloudformation.capabilities[1]",
        "not a CloudFormation capability",
    );
}

#[test]
fn reserved_tag() {
    only(
        &format!(
            "deploy:\n  cloudformation:\n    template: template.yaml\n    tags:\n      tailgate:pr: \"1\"\n{ENDPOINTS}"
        ),
        5,
        7,
        "deploy.cloudformation.tags.\"tailgate:pr\"",
        "tailgate sets itself",
    );
}

#[test]
fn empty_up_command() {
    only(
        &format!("deploy:\n  command:\n    up: \"  \"\n{ENDPOINTS}"),
        3,
        9,
        "deploy.command.up",
        "empty",
    );
}

#[test]
fn two_deployers() {
    only(
        &format!(
            "deploy:\n  command: {{ up: ./up.sh }}\n  cloudformation: {{ template: template.yaml }}\n{ENDPOINTS}"
        ),
        3,
        3,
        "deploy.cloudformation",
        "names 2 deployers",
    );
}

#[test]
fn bad_count_and_currency() {
    only(
        &format!(
            "deploy: {{ url: {{ base: \"http://a\", head: \"http://b\" }} }}\ncost:\n  monthly_requests: lots\n{ENDPOINTS}"
        ),
        3,
        21,
        "cost.monthly_requests",
        "not a count",
    );
    only(
        &format!(
            "deploy: {{ url: {{ base: \"http://a\", head: \"http://b\" }} }}\ncost:\n  currency: dollars\n{ENDPOINTS}"
        ),
        3,
        13,
        "cost.currency",
        "not a currency code",
    );
}

#[test]
fn price_in_another_currency() {
    only(
        &format!(
            "deploy: {{ url: {{ base: \"http://a\", head: \"http://b\" }} }}\ncost:\n  regions:\n    eu-west-1: {{ vcpu_hour: EUR 0.04 }}\n{ENDPOINTS}"
        ),
        4,
        29,
        "cost.regions.eu-west-1.vcpu_hour",
        "in EUR but the cost model counts in USD",
    );
}

#[test]
fn bad_money_and_bad_budget() {
    only(
        &format!(
            "deploy: {{ url: {{ base: \"http://a\", head: \"http://b\" }} }}\ndefaults:\n  slo: {{ cost_per_1m: two dollars }}\n{ENDPOINTS}"
        ),
        3,
        23,
        "defaults.slo.cost_per_1m",
        "not an amount of money",
    );
    only(
        &format!(
            "deploy: {{ url: {{ base: \"http://a\", head: \"http://b\" }} }}\ndefaults:\n  budget: {{ cost: -5% }}\n{ENDPOINTS}"
        ),
        3,
        19,
        "defaults.budget.cost",
        "negative",
    );
}

#[test]
fn a_cost_limit_needs_a_deployer_whose_cost_is_measured() {
    only(
        &format!(
            "deploy: {{ url: {{ base: \"http://a\", head: \"http://b\" }} }}\ndefaults:\n  budget: {{ p99: +10%, cost: +5% }}\n{ENDPOINTS}"
        ),
        3,
        24,
        "defaults.budget.cost",
        "the cost of `url` targets cannot be measured",
    );
    // A `command` deploy's Lambda functions come from its outputs or `functions:`.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    tailgate::config::parse(
        "deploy: { command: { up: ./up.sh, functions: [orders] } }\nendpoints:\n  - path: /a\n    slo: { cost_per_1m: $1 }\n",
        "tailgate.yml",
        dir,
    )
    .expect("a command deploy's cost is measured from its functions");
}
