//! The keys of the cloud deployers (`deploy.cloudformation`, `deploy.command`) and of
//! the cost model (`cost:`): raw values -> domain types, every problem located.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::checker::positive;
use super::checker::Checker;
use super::index::FieldPath;
use super::model::{CloudFormationDeploy, CommandDeploy, DeployConfig};
use super::raw::{
    RawArchitecture, RawCloudFormationDeploy, RawCommandDeploy, RawCost, RawGateway, RawMoney,
    RawPrices, StringMap,
};
use crate::cost::{
    ApiGatewayKind, Architecture, CostModel, Currency, Money, PriceOverrides, Prices,
};

/// The capabilities CloudFormation knows.
const CAPABILITIES: [&str; 3] = [
    "CAPABILITY_IAM",
    "CAPABILITY_NAMED_IAM",
    "CAPABILITY_AUTO_EXPAND",
];

/// Whether `name` is a CloudFormation logical id (outputs, parameters): ASCII
/// letters and digits.
fn logical_id(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A non-empty, single-word value of `key`, or its default.
fn word(
    value: Option<String>,
    default: &str,
    path: &FieldPath,
    valid: fn(&str) -> bool,
    help: &str,
    check: &mut Checker,
) -> Option<String> {
    match value {
        None => Some(default.to_string()),
        Some(v) if valid(&v) => Some(v),
        Some(v) => {
            let key = path.last_key().unwrap_or("the value");
            check.value(path, format!("{v:?} is not a valid `{key}`"), help);
            None
        }
    }
}

/// Environment variables as `(name, value)`, checked like `deploy.local.env`.
pub(crate) fn env_vars(
    raw: Option<StringMap>,
    path: &FieldPath,
    check: &mut Checker,
) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for (name, value) in raw.map(|m| m.0).unwrap_or_default() {
        let at = path.key(&name);
        if name.is_empty() || name.contains(['=', '\0']) {
            check.key(
                &at,
                format!("{name:?} is not a valid environment variable name"),
                "use letters, digits and `_`, e.g. `RUST_LOG`",
            );
        } else if value.contains('\0') {
            check.value(&at, "the value contains a NUL byte", "remove the NUL byte");
        } else {
            env.push((name, value));
        }
    }
    env
}

/// `deploy.cloudformation:`.
pub(crate) fn cloudformation(
    raw: RawCloudFormationDeploy,
    path: &FieldPath,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<DeployConfig> {
    let template = match raw.template {
        None => {
            check.missing(&path.key("template"));
            None
        }
        Some(t) if t.trim().is_empty() => {
            check.value(
                &path.key("template"),
                "the template file name is empty",
                "give the CloudFormation or SAM template, relative to the config file, e.g. `template.yaml`",
            );
            None
        }
        Some(t) => {
            let full = base_dir.join(&t);
            // A template that `build` makes (`sam build`) exists only after it.
            if full.is_file() || raw.build.is_some() {
                Some(full)
            } else {
                check.value(
                    &path.key("template"),
                    format!("the template {} does not exist", full.display()),
                    "give the template's path relative to the config file's directory",
                );
                None
            }
        }
    };
    let defaults = CloudFormationDeploy::with_template(PathBuf::new());
    let stack_prefix = word(
        raw.stack_prefix,
        &defaults.stack_prefix,
        &path.key("stack_prefix"),
        |p| {
            p.len() <= 64
                && p.starts_with(|c: char| c.is_ascii_alphabetic())
                && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        },
        "a stack name starts with a letter and has letters, digits and `-`; keep the prefix short, e.g. `tailgate`",
        check,
    );
    let url_output = word(
        raw.url_output,
        &defaults.url_output,
        &path.key("url_output"),
        logical_id,
        "name the stack output that holds the base URL (letters and digits), e.g. `ApiUrl`",
        check,
    );
    let sha_parameter = match raw.sha_parameter {
        None => None,
        Some(p) if logical_id(&p) => Some(p),
        Some(p) => {
            check.value(
                &path.key("sha_parameter"),
                format!("{p:?} is not a CloudFormation parameter name"),
                "name the template parameter that receives the git sha (letters and digits), e.g. `GitSha`",
            );
            None
        }
    };
    let mut parameters = Vec::new();
    for (name, value) in raw.parameters.map(|m| m.0).unwrap_or_default() {
        if logical_id(&name) {
            parameters.push((name, value));
        } else {
            check.key(
                &path.key("parameters").key(&name),
                format!("{name:?} is not a CloudFormation parameter name"),
                "parameter names have letters and digits only, as in the template's `Parameters:`",
            );
        }
    }
    let capabilities = match raw.capabilities {
        None => defaults.capabilities.clone(),
        Some(list) => {
            for (i, c) in list.iter().enumerate() {
                if !CAPABILITIES.contains(&c.as_str()) {
                    check.value(
                        &path.key("capabilities").index(i),
                        format!("{c:?} is not a CloudFormation capability"),
                        format!("use {}", super::error::list(&CAPABILITIES)),
                    );
                }
            }
            list
        }
    };
    let region = match raw.region {
        None => None,
        Some(r)
            if !r.is_empty()
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            Some(r)
        }
        Some(r) => {
            check.value(
                &path.key("region"),
                format!("{r:?} is not an AWS region name"),
                "write a region like `eu-west-1`, or leave `region` out to use AWS_REGION / the profile",
            );
            None
        }
    };
    let duration =
        |d: Option<super::raw::RawDuration>, key: &str, default: Duration, check: &mut Checker| {
            let d = d.map_or(default, |d| d.0);
            positive(d, &path.key(key), check);
            d
        };
    let timeout = duration(raw.timeout, "timeout", defaults.timeout, check);
    let poll_interval = duration(
        raw.poll_interval,
        "poll_interval",
        defaults.poll_interval,
        check,
    );
    let ttl = duration(raw.ttl, "ttl", defaults.ttl, check);
    if poll_interval > timeout {
        check.value(
            &path.key("poll_interval"),
            "the poll interval is longer than the timeout",
            "poll more often than the timeout, e.g. `poll_interval: 5s` with `timeout: 20m`",
        );
    }
    let mut tags = Vec::new();
    for (key, value) in raw.tags.map(|m| m.0).unwrap_or_default() {
        let at = path.key("tags").key(&key);
        if key.is_empty() || key.len() > 128 || key.starts_with("aws:") {
            check.key(
                &at,
                format!("{key:?} cannot be a tag key"),
                "tag keys have 1 to 128 characters and do not start with `aws:`",
            );
        } else if key.starts_with("tailgate:") {
            check.key(
                &at,
                format!("{key:?} is a tag tailgate sets itself"),
                "pick another key; `tailgate:*` tags mark the stacks `tailgate cleanup` may delete",
            );
        } else if value.len() > 256 {
            check.value(
                &at,
                "the tag value is longer than 256 characters",
                "shorten the value",
            );
        } else {
            tags.push((key, value));
        }
    }
    let ready = super::ready::remote_ready(raw.ready, &path.key("ready"), check);
    let sides = side_build(raw.build, raw.build_timeout, raw.worktree, path, check);
    let bucket = match raw.bucket {
        Some(b) if !valid_bucket(&b) => {
            check.value(
                &path.key("bucket"),
                format!("{b:?} is not an S3 bucket name"),
                "write the bucket's name (3-63 lower-case letters, digits, dots and hyphens), not an s3:// URL",
            );
            None
        }
        other => other,
    };
    let sweep = match raw.sweep {
        None => Some(None),
        Some(s) => sweep(s, &path.key("sweep"), check).map(Some),
    };
    Some(DeployConfig::CloudFormation(CloudFormationDeploy {
        ready: ready?,
        sides: sides?,
        bucket,
        sweep: sweep?,
        template: template?,
        stack_prefix: stack_prefix?,
        url_output: url_output?,
        parameters,
        sha_parameter,
        capabilities,
        region,
        timeout,
        poll_interval,
        ttl,
        tags,
    }))
}

/// `deploy.cloudformation.sweep:`.
fn sweep(
    raw: super::raw::RawSweep,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<crate::config::Sweep> {
    let parameter = match raw.parameter {
        Some(p) if logical_id(&p) => Some(p),
        Some(p) => {
            check.value(
                &path.key("parameter"),
                format!("{p:?} is not a template parameter name"),
                "name a parameter of the template (letters and digits), e.g. `MemorySize`",
            );
            None
        }
        None => {
            check.missing(&path.key("parameter"));
            None
        }
    };
    let values = match raw.values {
        None => {
            check.missing(&path.key("values"));
            None
        }
        Some(v) if !(2..=10).contains(&v.len()) => {
            check.value(
                &path.key("values"),
                format!("{} values; a sweep takes 2 to 10", v.len()),
                "list the values to try, e.g. `values: [512, 1024, 2048]` (each is one more stack)",
            );
            None
        }
        Some(v) => {
            let mut seen = std::collections::BTreeSet::new();
            let dup = v.iter().position(|x| !seen.insert(x.clone()));
            match dup {
                Some(i) => {
                    check.value(
                        &path.key("values").index(i),
                        format!("{:?} is listed twice", v[i]),
                        "list each value once",
                    );
                    None
                }
                None => Some(v),
            }
        }
    };
    Some(crate::config::Sweep {
        parameter: parameter?,
        values: values?,
    })
}

/// An S3 bucket name as AWS allows it.
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// `build`, `build_timeout` and `worktree` of a deployer.
fn side_build(
    build: Option<String>,
    build_timeout: Option<super::raw::RawDuration>,
    worktree: Option<bool>,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<crate::config::SideBuild> {
    let defaults = crate::config::SideBuild::default();
    let build = match build {
        Some(b) if b.trim().is_empty() => {
            check.value(
                &path.key("build"),
                "the command is empty",
                "write the shell command that builds one side (e.g. `sam build`), or leave `build` out",
            );
            return None;
        }
        other => other,
    };
    let build_timeout = build_timeout.map_or(defaults.build_timeout, |d| d.0);
    positive(build_timeout, &path.key("build_timeout"), check);
    Some(crate::config::SideBuild {
        worktree,
        build,
        build_timeout,
    })
}

/// `deploy.command:`.
pub(crate) fn command(
    raw: RawCommandDeploy,
    path: &FieldPath,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<DeployConfig> {
    let defaults = CommandDeploy::with_up("");
    let up = match raw.up {
        None => {
            check.missing(&path.key("up"));
            None
        }
        Some(c) if c.trim().is_empty() => {
            check.value(
                &path.key("up"),
                "the command is empty",
                "write the shell command that deploys one side and prints its URL (or a JSON of outputs)",
            );
            None
        }
        Some(c) => Some(c),
    };
    let down = match raw.down {
        Some(c) if c.trim().is_empty() => {
            check.value(
                &path.key("down"),
                "the command is empty",
                "write the shell command that removes one side, or leave `down` out",
            );
            None
        }
        other => other,
    };
    let url_output = match raw.url_output {
        None => Some(defaults.url_output.clone()),
        Some(k) if !k.trim().is_empty() => Some(k),
        Some(_) => {
            check.value(
                &path.key("url_output"),
                "the output name is empty",
                "name the key of `up`'s JSON output that holds the URL, e.g. `url`",
            );
            None
        }
    };
    let dir = raw.dir.map(|d| base_dir.join(d));
    if let Some(d) = &dir {
        if !d.is_dir() {
            check.value(
                &path.key("dir"),
                format!("{} is not a directory", d.display()),
                "give the directory to run the commands in, relative to the config file",
            );
        }
    }
    let env = env_vars(raw.env, &path.key("env"), check);
    let up_timeout = raw.up_timeout.map_or(defaults.up_timeout, |d| d.0);
    positive(up_timeout, &path.key("up_timeout"), check);
    let down_timeout = raw.down_timeout.map_or(defaults.down_timeout, |d| d.0);
    positive(down_timeout, &path.key("down_timeout"), check);
    let ready = super::ready::remote_ready(raw.ready, &path.key("ready"), check);
    let sides = side_build(raw.build, raw.build_timeout, raw.worktree, path, check);
    let functions = raw.functions.unwrap_or_default();
    for (i, f) in functions.iter().enumerate() {
        if f.trim().is_empty() || f.contains(char::is_whitespace) {
            check.value(
                &path.key("functions").index(i),
                format!("{f:?} is not a Lambda function name"),
                "give a function name, a function ARN or its log group `/aws/lambda/NAME`",
            );
        }
    }
    Some(DeployConfig::Command(CommandDeploy {
        ready: ready?,
        sides: sides?,
        functions,
        up: up?,
        down,
        url_output: url_output?,
        dir,
        env,
        up_timeout,
        down_timeout,
    }))
}

/// One written price in `currency`.
fn price(
    raw: Option<&RawMoney>,
    path: &FieldPath,
    currency: Currency,
    check: &mut Checker,
) -> Option<Money> {
    let text = raw?;
    let money = Money::parse(&text.0, currency).ok()?;
    if money.currency != currency {
        check.value(
            path,
            format!(
                "the price is in {} but the cost model counts in {currency}",
                money.currency
            ),
            format!(
                "write every price in {currency}, or set `cost.currency: {}`",
                money.currency
            ),
        );
        return None;
    }
    Some(money)
}

/// The prices written in one `prices:` mapping.
fn overrides(
    raw: &RawPrices,
    path: &FieldPath,
    currency: Currency,
    check: &mut Checker,
) -> PriceOverrides {
    let mut one = |value: &Option<RawMoney>, key: &str| {
        price(value.as_ref(), &path.key(key), currency, check)
    };
    PriceOverrides {
        x86_64_gb_second: one(&raw.x86_64_gb_second, "x86_64_gb_second"),
        arm64_gb_second: one(&raw.arm64_gb_second, "arm64_gb_second"),
        lambda_requests_per_1m: one(&raw.lambda_requests_per_1m, "lambda_requests_per_1m"),
        rest_api_per_1m: one(&raw.rest_api_per_1m, "rest_api_per_1m"),
        http_api_per_1m: one(&raw.http_api_per_1m, "http_api_per_1m"),
        data_transfer_per_gb: one(&raw.data_transfer_per_gb, "data_transfer_per_gb"),
        vcpu_hour: one(&raw.vcpu_hour, "vcpu_hour"),
    }
}

/// The currency of `cost:` (USD unless written), or `None` after a problem.
pub(crate) fn currency(
    raw: Option<&RawCost>,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<Currency> {
    match raw.and_then(|c| c.currency.as_deref()) {
        None => Some(Currency::USD),
        Some(text) => match text.parse::<Currency>() {
            Ok(c) => Some(c),
            Err(_) => {
                check.value(
                    &path.key("currency"),
                    format!("{text:?} is not a currency code"),
                    "write a three-letter ISO 4217 code, e.g. `USD` or `EUR`",
                );
                None
            }
        },
    }
}

/// `cost:`: the default model (AWS list prices in USD) with what is written.
pub(crate) fn cost(
    raw: Option<RawCost>,
    currency: Currency,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<CostModel> {
    let Some(raw) = raw else {
        return Some(CostModel::default());
    };
    let mut model = CostModel {
        currency,
        monthly_requests: raw.monthly_requests.map(|c| c.0),
        api_gateway: raw.api_gateway.map(|g| match g {
            RawGateway::Rest => ApiGatewayKind::Rest,
            RawGateway::Http => ApiGatewayKind::Http,
            RawGateway::None => ApiGatewayKind::None,
        }),
        architecture: raw.architecture.map(|a| match a {
            RawArchitecture::X86_64 => Architecture::X86_64,
            RawArchitecture::Arm64 => Architecture::Arm64,
        }),
        ..CostModel::default()
    };
    let written = raw
        .prices
        .as_ref()
        .map(|p| overrides(p, &path.key("prices"), currency, check))
        .unwrap_or_default();
    let mut prices: Prices = model.prices.clone();
    written.apply(&mut prices);
    if currency != Currency::USD {
        // The built-in prices are AWS's in USD: in another currency every price the
        // runs may use must be written.
        let missing: Vec<&str> = [
            ("x86_64_gb_second", written.x86_64_gb_second),
            ("arm64_gb_second", written.arm64_gb_second),
            ("lambda_requests_per_1m", written.lambda_requests_per_1m),
            ("rest_api_per_1m", written.rest_api_per_1m),
            ("http_api_per_1m", written.http_api_per_1m),
            ("vcpu_hour", written.vcpu_hour),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
        if !missing.is_empty() {
            check.value(
                &path.key("currency"),
                format!(
                    "the built-in prices are in USD, and {currency} has no price for {}",
                    super::error::list(&missing)
                ),
                format!("write those prices in {currency} under `cost.prices`, or count in USD"),
            );
            return None;
        }
    }
    model.prices = prices;
    let mut regions = BTreeMap::new();
    for (name, prices) in raw.regions.unwrap_or_default() {
        let at = path.key("regions").key(&name);
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            check.key(
                &at,
                format!("{name:?} is not an AWS region name"),
                "name regions as AWS does, e.g. `eu-west-1`",
            );
            continue;
        }
        regions.insert(name, overrides(&prices, &at, currency, check));
    }
    model.regions = regions;
    Some(model)
}
