//! Raw config -> domain [`Config`], with every semantic problem collected and
//! located (the position comes from the [`Index`] by field path).
//!
//! Each check that fails records a [`Problem`] and the conversion goes on, so one
//! run reports everything; only if nothing failed is a [`Config`] built.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::checker::{in_range, positive, Checker};
use super::cloud;
use super::error::{ConfigError, Problem, ProblemKind};
use super::index::{FieldPath, Index};
use super::merge;
use super::model::{
    Baseline, CompareConfig, Config, DeployConfig, Fraction, HistoryConfig, LocalDeploy, Mode,
    StoreLocation, TlsSettings,
};
use super::profile;
use super::raw::{
    RawBaseline, RawCompare, RawConfig, RawDeploy, RawHistory, RawLocalDeploy, RawMode, RawTls,
    RawUrlDeploy,
};
use super::units::format_percent;

/// Check `raw` and turn it into a [`Config`], or report every problem found.
pub(crate) fn validate(
    mut raw: RawConfig,
    index: &Index,
    file: &str,
    base_dir: &Path,
    options: &super::ReadOptions,
) -> Result<Config, ConfigError> {
    let mut check = Checker::new(index, file);
    let root = FieldPath::root();
    let secrets = super::interpolate::Interpolator::new(&options.env, &mut check).config(&mut raw);
    url_overrides(&mut raw, options, &mut check);
    let mode = match raw.mode {
        Some(RawMode::Advisory) => Mode::Advisory,
        Some(RawMode::Blocking) | None => Mode::Blocking,
    };
    let deploy = deploy(raw.deploy, &root.key("deploy"), base_dir, &mut check);
    let cost_path = root.key("cost");
    let currency = cloud::currency(raw.cost.as_ref(), &cost_path, &mut check);
    let cost = currency.and_then(|c| cloud::cost(raw.cost, c, &cost_path, &mut check));
    let load = profile::top_load(raw.load.as_ref(), &root.key("load"), &mut check);
    let compare = compare(raw.compare, &root.key("compare"), &mut check);
    let tls = tls(raw.tls, &root.key("tls"), base_dir, &mut check);
    let history = history(raw.history, &root.key("history"), base_dir, &mut check);
    let traces = super::traces::traces(raw.traces, &root.key("traces"), &mut check);
    let accept_label = raw.accept_label.and_then(|label| {
        let label = label.trim().to_string();
        if label.is_empty() || label.chars().count() > 50 {
            check.value(
                &root.key("accept_label"),
                "a label name is 1 to 50 characters",
                "name the label reviewers add to accept a regression, e.g. `accept_label: perf-accepted`",
            );
            return None;
        }
        Some(label)
    });
    let endpoint_count = raw.endpoints.as_ref().map_or(0, Vec::len);
    let endpoints = merge::endpoints(
        raw.endpoints,
        raw.defaults,
        load.as_ref(),
        base_dir,
        currency.unwrap_or(crate::cost::Currency::USD),
        &mut check,
    );
    if let Some(kind) = match &deploy {
        Some(DeployConfig::Url { .. }) => Some("url"),
        _ => None,
    } {
        unmeasurable_cost(kind, endpoint_count, &mut check);
    }
    let mut problems = check.into_problems();
    if !problems.is_empty() {
        // Problems go to the log, annotations and the job summary before any
        // `::add-mask::` is printed: no secret value read from the environment in them.
        for p in &mut problems {
            p.message = secrets.redact(&p.message);
            p.help = secrets.redact(&p.help);
        }
        problems.sort_by_key(|p| p.pos);
        return Err(ConfigError { problems });
    }
    match (deploy, load, compare, endpoints, tls, cost, history, traces) {
        (
            Some(deploy),
            Some(load),
            Some(compare),
            Some(endpoints),
            Some(tls),
            Some(cost),
            Some(history),
            Some(traces),
        ) => Ok(Config {
            source: file.to_string(),
            base_dir: base_dir.to_path_buf(),
            mode,
            deploy,
            load: load.load(),
            compare,
            endpoints,
            tls,
            cost,
            secrets,
            history,
            accept_label,
            traces,
        }),
        // Every `None` above comes with a recorded problem; this is a fallback.
        _ => Err(ConfigError::one(Problem {
            file: file.to_string(),
            pos: index.value(&root),
            path: root,
            kind: ProblemKind::Invalid,
            message: "the config is incomplete".to_string(),
            help: "compare it with examples/tailgate.yml".to_string(),
        })),
    }
}

/// `--base-url` / `--head-url` (the action's `base_url` / `head_url`): they name the
/// `url` deployer's sides, over what the config says.
fn url_overrides(raw: &mut RawConfig, options: &super::ReadOptions, check: &mut Checker) {
    if options.base_url.is_none() && options.head_url.is_none() {
        return;
    }
    let deploy = raw.deploy.get_or_insert(RawDeploy {
        url: None,
        local: None,
        cloudformation: None,
        command: None,
    });
    let other = [
        ("local", deploy.local.is_some()),
        ("cloudformation", deploy.cloudformation.is_some()),
        ("command", deploy.command.is_some()),
    ]
    .into_iter()
    .find(|(_, set)| *set);
    if let Some((kind, _)) = other {
        check.value(
            &FieldPath::root().key("deploy"),
            format!("base and head URLs were given (`--base-url`/`--head-url` or the `base_url`/`head_url` inputs), but this config deploys with `{kind}`"),
            "give the URLs only with `deploy: { url: ... }` or no `deploy:` at all, or drop them and let the deployer make the sides",
        );
        return;
    }
    let url = deploy.url.get_or_insert(RawUrlDeploy {
        base: None,
        head: None,
        ready: None,
    });
    if let Some(base) = &options.base_url {
        url.base = Some(base.clone());
    }
    if let Some(head) = &options.head_url {
        url.head = Some(head.clone());
    }
}

/// A cost SLO or budget with a deployer whose cost tailgate cannot see would fail
/// every run: reject it where it is written.
fn unmeasurable_cost(deployer: &str, endpoints: usize, check: &mut Checker) {
    let root = FieldPath::root();
    let defaults = root.key("defaults");
    let mut places = vec![
        defaults.key("slo").key("cost_per_1m"),
        defaults.key("budget").key("cost"),
    ];
    for i in 0..endpoints {
        let e = root.key("endpoints").index(i);
        places.push(e.key("slo").key("cost_per_1m"));
        places.push(e.key("budget").key("cost"));
    }
    places.retain(|p| check.written(p));
    for place in &places {
        check.key(
            place,
            format!("the cost of `{deployer}` targets cannot be measured"),
            "cost is measured for `local` targets (CPU time of the process), `cloudformation` stacks and \
             `command` deploys of Lambda functions (REPORT lines); remove this limit or use one of those deployers",
        );
    }
}

fn deploy(
    raw: Option<RawDeploy>,
    path: &FieldPath,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<DeployConfig> {
    let help =
        "give one of `url:` (the services already run somewhere), `local:` (start them here), \
                `cloudformation:` (a stack per side) or `command:` (your own deploy commands)";
    let Some(raw) = raw else {
        check.missing(path);
        return None;
    };
    let given: Vec<&str> = [
        ("url", raw.url.is_some()),
        ("local", raw.local.is_some()),
        ("cloudformation", raw.cloudformation.is_some()),
        ("command", raw.command.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(key, _)| key)
    .collect();
    if given.len() > 1 {
        // Point at the key written last: that is the one to reconsider.
        let last = given
            .iter()
            .max_by_key(|k| check.key_pos(&path.key(k)))
            .copied()
            .unwrap_or(given[1]);
        check.key(
            &path.key(last),
            format!(
                "`deploy` names {} deployers ({})",
                given.len(),
                given.join(", ")
            ),
            format!("keep one: {help}"),
        );
        return None;
    }
    if let Some(url) = raw.url {
        url_deploy(url, &path.key("url"), check)
    } else if let Some(local) = raw.local {
        local_deploy(local, &path.key("local"), base_dir, check)
    } else if let Some(cf) = raw.cloudformation {
        cloud::cloudformation(cf, &path.key("cloudformation"), base_dir, check)
    } else if let Some(command) = raw.command {
        cloud::command(command, &path.key("command"), base_dir, check)
    } else {
        check.value(path, "`deploy` names no deployer", help);
        None
    }
}

fn url_deploy(raw: RawUrlDeploy, path: &FieldPath, check: &mut Checker) -> Option<DeployConfig> {
    let mut side = |value: Option<String>, key: &str| {
        let path = path.key(key);
        let Some(url) = value else {
            check.missing(&path);
            return None;
        };
        match check_url(&url) {
            Ok(()) => Some(url),
            Err(reason) => {
                check.value(
                    &path,
                    format!("{url:?} is not a usable URL: {reason}"),
                    "write an absolute http(s) URL, e.g. `https://pr-12.preview.example.com`",
                );
                None
            }
        }
    };
    let base = side(raw.base, "base");
    let head = side(raw.head, "head");
    let ready = super::ready::remote_ready(raw.ready, &path.key("ready"), check);
    Some(DeployConfig::Url {
        base: base?,
        head: head?,
        ready: ready?,
    })
}

/// Whether `url` is an absolute `http://` or `https://` URL with a host.
fn check_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        Some(other) => return Err(format!("the scheme is `{other}`, not http or https")),
        None => return Err("it does not start with http:// or https://".to_string()),
    }
    match uri.host() {
        Some(host) if !host.is_empty() => Ok(()),
        _ => Err("it has no host".to_string()),
    }
}

fn local_deploy(
    raw: RawLocalDeploy,
    path: &FieldPath,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<DeployConfig> {
    let command = match raw.command {
        Some(c) if !c.trim().is_empty() => Some(c),
        Some(_) => {
            check.value(
                &path.key("command"),
                "the command is empty",
                "write the shell command that starts the service on `$PORT`",
            );
            None
        }
        None => {
            check.missing(&path.key("command"));
            None
        }
    };
    let repo = match raw.repo.as_deref() {
        None | Some(".") => base_dir.to_path_buf(),
        Some(repo) => base_dir.join(PathBuf::from(repo)),
    };
    let mut git_ref = |value: Option<String>, key: &str| match value {
        Some(r) if r.trim().is_empty() || r.contains(char::is_whitespace) => {
            check.value(
                &path.key(key),
                format!("{r:?} is not a git ref"),
                "write a branch, tag or commit, e.g. `main`, or leave the key out",
            );
            None
        }
        other => other,
    };
    let base_ref = git_ref(raw.base_ref, "base_ref");
    let head_ref = git_ref(raw.head_ref, "head_ref");
    let ready = path.key("ready");
    let (ready_path, ready_timeout) = match raw.ready {
        Some(r) => (r.path, r.timeout.map(|d| d.0)),
        None => (None, None),
    };
    let ready_path = ready_path.unwrap_or_else(|| "/".to_string());
    if !ready_path.starts_with('/') {
        check.value(
            &ready.key("path"),
            format!("{ready_path:?} does not start with `/`"),
            "write the path of the readiness probe, e.g. `/healthz`",
        );
    }
    let ready_timeout = ready_timeout.unwrap_or(Duration::from_secs(60));
    positive(ready_timeout, &ready.key("timeout"), check);
    let env = cloud::env_vars(raw.env, &path.key("env"), check);
    Some(DeployConfig::Local(LocalDeploy {
        command: command?,
        repo,
        worktree: raw.worktree.unwrap_or(true),
        base_ref,
        head_ref,
        ready_path,
        ready_timeout,
        stop_timeout: raw
            .stop_timeout
            .map(|d| d.0)
            .unwrap_or(Duration::from_secs(10)),
        env,
    }))
}

/// `tls:`: the CA file must be there now, readable, with at least one usable
/// PEM certificate, so a typo is reported at its line rather than at the first
/// https request.
fn tls(
    raw: Option<RawTls>,
    path: &FieldPath,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<TlsSettings> {
    let Some(raw) = raw else {
        return Some(TlsSettings::default());
    };
    let at = path.key("ca_file");
    let ca_file = match raw.ca_file {
        None => None,
        Some(file) if file.trim().is_empty() => {
            check.value(
                &at,
                "the CA file name is empty",
                "give a PEM file of CA certificates, relative to the config file's directory, or leave `ca_file` out",
            );
            return None;
        }
        Some(file) => {
            let full = base_dir.join(&file);
            if let Err(message) = check_ca_file(&full) {
                check.value(
                    &at,
                    message,
                    "give a PEM file of CA certificates (`-----BEGIN CERTIFICATE-----`), relative to the config file's directory",
                );
                return None;
            }
            Some(full)
        }
    };
    Some(TlsSettings {
        ca_file,
        insecure: raw.insecure.unwrap_or(false),
    })
}

/// Whether `path` is a readable PEM file whose certificates can all be trusted
/// as roots, and has at least one.
fn check_ca_file(path: &Path) -> Result<(), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{shown} is not valid PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("{shown} has a certificate that cannot be used as a CA: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{shown} has no PEM certificate in it"));
    }
    Ok(())
}

fn history(
    raw: Option<RawHistory>,
    path: &FieldPath,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<HistoryConfig> {
    let Some(raw) = raw else {
        return Some(HistoryConfig {
            trend: HistoryConfig::DEFAULT_TREND,
            min_runs: HistoryConfig::DEFAULT_MIN_RUNS,
            ..HistoryConfig::default()
        });
    };
    let store = match raw.store.as_deref().map(str::trim) {
        None => None,
        Some(s) if s.starts_with("s3://") => {
            let rest = &s["s3://".len()..];
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid = bucket.len() >= 3
                && bucket.len() <= 63
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !valid {
                check.value(
                    &path.key("store"),
                    format!("`{s}` does not name an S3 bucket"),
                    "write `s3://BUCKET/PREFIX` with a bucket name of 3 to 63 lowercase letters, digits, `-` and `.`",
                );
                None
            } else {
                Some(StoreLocation::S3 {
                    bucket: bucket.to_string(),
                    prefix: prefix.trim_matches('/').to_string(),
                    region: raw.region.clone(),
                })
            }
        }
        Some(s) if s.contains("://") => {
            check.value(
                &path.key("store"),
                format!("`{s}` is neither a folder nor an `s3://` location"),
                "write a folder (e.g. `.tailgate-history`, kept by actions/cache) or `s3://BUCKET/PREFIX`",
            );
            None
        }
        Some("") => {
            check.value(
                &path.key("store"),
                "the store is empty",
                "write a folder (e.g. `.tailgate-history`) or `s3://BUCKET/PREFIX`",
            );
            None
        }
        Some(s) => Some(StoreLocation::Dir(base_dir.join(s))),
    };
    let baseline = match raw.baseline {
        Some(RawBaseline::Stored) => Baseline::Stored,
        Some(RawBaseline::Fresh) | None => Baseline::Fresh,
    };
    if baseline == Baseline::Stored && raw.store.is_none() {
        check.value(
            &path.key("baseline"),
            "`baseline: stored` needs a history store to read the baseline from",
            "add `store:` (a folder or `s3://BUCKET/PREFIX`) next to it, or use `baseline: fresh`",
        );
    }
    let trend = match raw.trend {
        Some(n) => in_range(n.0, 0, 200, &path.key("trend"), check),
        None => Some(HistoryConfig::DEFAULT_TREND),
    };
    let min_runs = match raw.min_runs {
        Some(n) => in_range(n.0, 3, 10_000, &path.key("min_runs"), check),
        None => Some(HistoryConfig::DEFAULT_MIN_RUNS),
    };
    let branch = raw.branch.map(|b| b.trim().to_string());
    if branch.as_deref() == Some("") {
        check.value(
            &path.key("branch"),
            "the branch name is empty",
            "name the branch whose runs are stored, e.g. `branch: main`",
        );
    }
    Some(HistoryConfig {
        store,
        branch: branch.filter(|b| !b.is_empty()),
        baseline,
        trend: trend?,
        min_runs: min_runs?,
    })
}

fn compare(
    raw: Option<RawCompare>,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<CompareConfig> {
    let defaults = CompareConfig::default();
    let Some(raw) = raw else {
        return Some(defaults);
    };
    let rounds = match raw.rounds {
        Some(r) => in_range(r.0, 2, 1000, &path.key("rounds"), check),
        None => Some(defaults.rounds),
    };
    let resamples = match raw.resamples {
        Some(r) => in_range(
            r.0,
            100,
            u64::from(crate::stats::MAX_RESAMPLES),
            &path.key("resamples"),
            check,
        ),
        None => Some(defaults.resamples),
    };
    let noise_floor = raw.noise_floor.map(|p| p.0).unwrap_or(defaults.noise_floor);
    if noise_floor.0 >= 1.0 {
        check.value(
            &path.key("noise_floor"),
            format!(
                "a noise floor of {} hides every change",
                format_percent(noise_floor)
            ),
            "write a small percentage, e.g. `2%`",
        );
    }
    let confidence = raw
        .confidence
        .map(|p| p.0)
        .unwrap_or(Fraction(defaults.confidence));
    if confidence.0 <= 0.5 || confidence.0 >= 1.0 {
        check.value(
            &path.key("confidence"),
            format!(
                "a confidence of {} is outside (50%, 100%)",
                format_percent(confidence)
            ),
            "write a level above 50% and below 100%, e.g. `95%`",
        );
    }
    // `extend` (one extension of an inconclusive run) is kept for the configs that
    // have it: its rounds add to the most rounds, and the sequential looks decide
    // when to stop.
    let extend = match raw.extend {
        Some(r) => in_range(r.0, 0, 1000, &path.key("extend"), check),
        None => Some(0),
    };
    let min_rounds = match raw.min_rounds {
        Some(r) => in_range(r.0, 2, 1000, &path.key("min_rounds"), check),
        None => Some(defaults.min_rounds),
    };
    let rounds = rounds
        .zip(extend)
        .map(|(r, e)| r.saturating_add(e).min(2000));
    Some(CompareConfig {
        rounds: rounds?,
        min_rounds: min_rounds?,
        noise_floor,
        confidence: confidence.0,
        resamples: resamples?,
        seed: raw.seed.map(|s| s.0),
        extend: 0,
        endpoint_floors: Default::default(),
    })
}
