//! The `command` deployer: the user's own `up` and `down` shell commands
//! (`sam deploy`, `cdk deploy`, `terraform apply`, `vercel`, ...).
//!
//! `up` runs with `sh -c` and prints the side's URL, or a JSON object of outputs, on
//! stdout; the last line that is a URL or a JSON object counts (a whole stdout that is
//! one JSON object counts too). `down` is registered *before* `up` starts, so it runs
//! on every exit path, also after a failed, timed-out or cancelled `up`; it receives
//! the outputs as environment variables when `up` got that far.
//!
//! Both commands get `TAILGATE_SIDE`, `TAILGATE_REF`, `TAILGATE_REPO`, `TAILGATE_PR`
//! and `TAILGATE_STACK_NAME` (a valid CloudFormation name, stable across reruns, for
//! `sam deploy --stack-name "$TAILGATE_STACK_NAME"`); `down` also gets `TAILGATE_URL`
//! and `TAILGATE_OUTPUT_<KEY>` for each output.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::spawn::run;
use super::url::normalise_url;
use super::{BoxFuture, DeployError, Deployer, Resource, Target, TeardownList};
use crate::config::CommandDeploy;
use crate::deploy::cloudformation::tags::StackIdentity;
use crate::side::Side;

/// What this run is, for the commands' environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    /// `owner/name` of the repository.
    pub repo: String,
    /// The pull request, when there is one.
    pub pr: Option<u64>,
    /// The git ref or sha of base.
    pub base_ref: String,
    /// The git ref or sha of head.
    pub head_ref: String,
}

/// Runs the user's `up`/`down` per side.
#[derive(Debug)]
pub struct CommandDeployer {
    settings: CommandDeploy,
    dir: PathBuf,
    context: CommandContext,
    /// AWS clients, loaded when a side turns out to run Lambda functions.
    clients: tokio::sync::OnceCell<crate::aws::AwsClients>,
    /// The functions' architecture (`cost.architecture`), which outputs do not tell
    /// (`None`: unknown, and the cost model says it could not price).
    architecture: Option<crate::cost::Architecture>,
    /// Where each side's process exports its spans (issue 27).
    traces: Option<crate::deploy::TraceExport>,
}

impl CommandDeployer {
    /// A deployer running in `dir` (the settings' `dir` resolved against the config's).
    pub fn new(settings: CommandDeploy, dir: PathBuf, context: CommandContext) -> Self {
        CommandDeployer {
            settings,
            dir,
            context,
            clients: tokio::sync::OnceCell::new(),
            architecture: None,
            traces: None,
        }
    }

    /// Tell each side's commands where to export spans (`OTEL_*`, issue 27).
    pub fn with_traces(mut self, traces: Option<crate::deploy::TraceExport>) -> Self {
        self.traces = traces;
        self
    }

    /// The architecture of the functions behind the deploy (`None`: unknown).
    pub fn with_architecture(mut self, architecture: Option<crate::cost::Architecture>) -> Self {
        self.architecture = architecture;
        self
    }

    /// Use `clients` for the server-side reading (tests; else the standard chain).
    pub fn with_aws(self, clients: crate::aws::AwsClients) -> Self {
        let _ = self.clients.set(clients);
        self
    }

    fn git_ref(&self, side: Side) -> &str {
        match side {
            Side::Base => &self.context.base_ref,
            Side::Head => &self.context.head_ref,
        }
    }

    fn env(&self, side: Side) -> Vec<(String, String)> {
        let git_ref = self.git_ref(side).to_string();
        let stack = StackIdentity {
            prefix: "tailgate".into(),
            repo: self.context.repo.clone(),
            pr: self.context.pr,
            git_ref: git_ref.clone(),
            side,
        }
        .stack_name()
        .unwrap_or_default();
        let mut env = self.settings.env.clone();
        env.extend([
            ("TAILGATE_SIDE".to_string(), side.as_str().to_string()),
            ("TAILGATE_REF".to_string(), git_ref.clone()),
            ("TAILGATE_REPO".to_string(), self.context.repo.clone()),
            (
                "TAILGATE_PR".to_string(),
                self.context.pr.map(|n| n.to_string()).unwrap_or_default(),
            ),
            ("TAILGATE_STACK_NAME".to_string(), stack),
        ]);
        if let Some(traces) = &self.traces {
            env.extend(traces.env(side, &self.settings.env));
        }
        env
    }
}

/// What `up` printed that is not a side's URL. The message says what to print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpOutputError {
    /// JSON outputs without the URL's key.
    #[error("`up` printed JSON outputs without the key `{key}` (it has: {}); set `deploy.url_output`", .available.join(", "))]
    MissingKey {
        /// The key looked for (`deploy.url_output`).
        key: String,
        /// The keys printed.
        available: Vec<String>,
    },
    /// Neither a URL nor a JSON object.
    #[error("`up` printed no URL: print the side's base URL (http:// or https://) or a JSON object of outputs as its last line of stdout")]
    NoUrl,
}

/// The URL and outputs printed by `up`. `Err` says what was looked for.
pub fn parse_up_output(
    stdout: &str,
    url_key: &str,
) -> Result<(String, BTreeMap<String, String>), UpOutputError> {
    let as_object = |text: &str| -> Option<BTreeMap<String, String>> {
        let value: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
        let map = value.as_object()?;
        Some(
            map.iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect(),
        )
    };
    let from_outputs = |outputs: BTreeMap<String, String>| match outputs.get(url_key) {
        Some(url) => Ok((url.clone(), outputs)),
        None => Err(UpOutputError::MissingKey {
            key: url_key.to_string(),
            available: outputs.keys().cloned().collect(),
        }),
    };
    if stdout.trim_start().starts_with('{') {
        if let Some(outputs) = as_object(stdout) {
            return from_outputs(outputs);
        }
    }
    for line in stdout.lines().rev().map(str::trim) {
        if line.starts_with('{') {
            if let Some(outputs) = as_object(line) {
                return from_outputs(outputs);
            }
        }
        if line.starts_with("http://") || line.starts_with("https://") {
            let url = line.split_whitespace().next().unwrap_or(line);
            return Ok((url.to_string(), BTreeMap::new()));
        }
    }
    Err(UpOutputError::NoUrl)
}

/// The Lambda functions behind a deploy: the config's list, else `up`'s outputs
/// (a `functions` key holding a JSON list or comma-separated names, else every
/// value that is a function ARN). Names, ARNs and `/aws/lambda/NAME` log groups
/// all become function names.
pub fn lambda_functions(configured: &[String], outputs: &BTreeMap<String, String>) -> Vec<String> {
    fn name(item: &str) -> Option<String> {
        let item = item.trim().trim_matches('"');
        if item.is_empty() {
            return None;
        }
        if let Some(group) = item.strip_prefix("/aws/lambda/") {
            return Some(group.to_string());
        }
        if let Some(rest) = item.strip_prefix("arn:") {
            // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
            let parts: Vec<&str> = rest.split(':').collect();
            return match parts.as_slice() {
                [_, "lambda", _, _, "function", name, ..] => Some(name.to_string()),
                _ => None,
            };
        }
        Some(item.to_string())
    }
    let mut names: Vec<String> = if !configured.is_empty() {
        configured.iter().filter_map(|f| name(f)).collect()
    } else if let Some(list) = outputs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("functions"))
        .map(|(_, v)| v)
    {
        match serde_json::from_str::<Vec<String>>(list) {
            Ok(items) => items.iter().filter_map(|f| name(f)).collect(),
            Err(_) => list.split([',', ' ']).filter_map(name).collect(),
        }
    } else {
        outputs
            .values()
            .filter(|v| v.starts_with("arn:") && v.contains(":lambda:") && v.contains(":function:"))
            .filter_map(|v| name(v))
            .collect()
    };
    names.sort();
    names.dedup();
    names
}

fn output_env(outputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    outputs
        .iter()
        .map(|(k, v)| {
            let key: String = k
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            (format!("TAILGATE_OUTPUT_{key}"), v.clone())
        })
        .collect()
}

impl Deployer for CommandDeployer {
    fn name(&self) -> &'static str {
        "command"
    }

    fn readiness(&self) -> Option<&crate::config::RemoteReady> {
        Some(&self.settings.ready)
    }

    fn parallel_sides(&self) -> bool {
        true
    }

    fn aws_clients(&self) -> Option<&crate::aws::AwsClients> {
        self.clients.get()
    }

    fn deploy<'a>(
        &'a self,
        side: Side,
        cleanup: &'a TeardownList,
    ) -> BoxFuture<'a, Result<Target, DeployError>> {
        Box::pin(async move {
            let mut env = self.env(side);
            let side_dir = super::checkout::prepare(
                &self.dir,
                &self.settings.sides,
                side,
                self.git_ref(side),
                &env,
                cleanup,
            )
            .await?;
            if let Some(sha) = &side_dir.sha {
                env.push(("TAILGATE_SHA".into(), sha.clone()));
            }
            let outputs = Arc::new(Mutex::new(Vec::new()));
            if let Some(down) = &self.settings.down {
                cleanup.register(Box::new(DownCommand {
                    side,
                    command: down.clone(),
                    dir: side_dir.dir.clone(),
                    env: env.clone(),
                    outputs: outputs.clone(),
                    timeout: self.settings.down_timeout,
                }));
            }
            let fail = |message: String, output: String| DeployError::Command {
                side,
                which: "up",
                message,
                output,
            };
            let done = run(
                &self.settings.up,
                &side_dir.dir,
                &env,
                self.settings.up_timeout,
            )
            .await
            .map_err(|e| fail(e.to_string(), String::new()))?;
            if !done.success {
                return Err(fail(format!("exited with {}", done.status), done.tail));
            }
            let (url, map) = parse_up_output(&done.stdout, &self.settings.url_output)
                .map_err(|e| fail(e.to_string(), done.tail.clone()))?;
            let mut extra = output_env(&map);
            extra.push(("TAILGATE_URL".into(), url.clone()));
            *outputs.lock().unwrap_or_else(|p| p.into_inner()) = extra;
            let functions = lambda_functions(&self.settings.functions, &map);
            let mut aws = None;
            if !functions.is_empty() {
                // REPORT lines, cold starts and cost, as for a stack.
                self.clients
                    .get_or_init(|| async {
                        crate::aws::AwsClients::load(&crate::aws::ClientOptions::default()).await
                    })
                    .await;
                aws = Some(super::AwsTarget {
                    stack: None,
                    region: None,
                    functions: functions
                        .into_iter()
                        .map(|name| super::FunctionInfo {
                            name,
                            logical_id: String::new(),
                            architecture: self.architecture,
                        })
                        .collect(),
                    gateway: None,
                    applied: None,
                    packaged: Vec::new(),
                });
            }
            Ok(Target {
                side,
                base_url: normalise_url(side, &url)?,
                label: match &side_dir.sha {
                    Some(sha) => format!("{} ({})", self.git_ref(side), &sha[..sha.len().min(7)]),
                    None => self.git_ref(side).to_string(),
                },
                pid: None,
                checkout: Some(side_dir.note.clone()),
                worktree: None,
                outputs: map,
                aws,
            })
        })
    }
}

/// The `down` command of one side, run at teardown.
struct DownCommand {
    side: Side,
    command: String,
    dir: PathBuf,
    env: Vec<(String, String)>,
    outputs: Arc<Mutex<Vec<(String, String)>>>,
    timeout: Duration,
}

impl Resource for DownCommand {
    fn describe(&self) -> String {
        format!("`down` command of {}", self.side)
    }

    fn teardown(self: Box<Self>) -> BoxFuture<'static, Result<(), DeployError>> {
        Box::pin(async move {
            let mut env = self.env.clone();
            env.extend(
                self.outputs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .cloned(),
            );
            let fail = |message: String, output: String| DeployError::Command {
                side: self.side,
                which: "down",
                message,
                output,
            };
            let done = run(&self.command, &self.dir, &env, self.timeout)
                .await
                .map_err(|e| fail(e.to_string(), String::new()))?;
            if done.success {
                Ok(())
            } else {
                Err(fail(format!("exited with {}", done.status), done.tail))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_url_line_counts() {
        let (url, outputs) = parse_up_output(
            "Deploying...\nhttps://old.example.com\nhttps://x.example.com/prod  (ready)\n",
            "url",
        )
        .unwrap();
        assert_eq!(url, "https://x.example.com/prod");
        assert!(outputs.is_empty());
    }

    #[test]
    fn json_outputs_name_the_url() {
        let (url, outputs) = parse_up_output(
            "log line\n{\"url\": \"http://127.0.0.1:9\", \"FunctionName\": \"f\", \"n\": 3}\n",
            "url",
        )
        .unwrap();
        assert_eq!(url, "http://127.0.0.1:9");
        assert_eq!(outputs["n"], "3");
        let pretty = "{\n  \"ApiUrl\": \"https://a.b\"\n}\n";
        assert_eq!(parse_up_output(pretty, "ApiUrl").unwrap().0, "https://a.b");
        let err = parse_up_output("{\"x\": 1}", "url")
            .unwrap_err()
            .to_string();
        assert!(err.contains("x") && err.contains("url_output"), "{err}");
    }

    #[test]
    fn no_url_is_an_error_that_says_what_to_print() {
        let err = parse_up_output("done\n", "url").unwrap_err().to_string();
        assert!(err.contains("http://"), "{err}");
    }

    #[test]
    fn functions_come_from_the_config_or_the_outputs() {
        let outputs = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let arns = outputs(&[
            ("url", "https://x"),
            (
                "OrdersFn",
                "arn:aws:lambda:eu-west-1:123456789012:function:orders-pr1:live",
            ),
            ("Table", "arn:aws:dynamodb:eu-west-1:123456789012:table/t"),
        ]);
        assert_eq!(lambda_functions(&[], &arns), ["orders-pr1"]);
        let listed = outputs(&[("functions", "[\"a\", \"/aws/lambda/b\"]")]);
        assert_eq!(lambda_functions(&[], &listed), ["a", "b"]);
        let csv = outputs(&[("Functions", "a, b")]);
        assert_eq!(lambda_functions(&[], &csv), ["a", "b"]);
        assert_eq!(
            lambda_functions(&["/aws/lambda/c".into()], &arns),
            ["c"],
            "the config wins"
        );
    }

    #[test]
    fn outputs_become_environment_names() {
        let env = output_env(&BTreeMap::from([("Api-Url".to_string(), "u".to_string())]));
        assert_eq!(
            env,
            vec![("TAILGATE_OUTPUT_API_URL".to_string(), "u".to_string())]
        );
    }
}
