//! Context: where a run happens, read from the GitHub Actions environment once and
//! passed on as plain values.
//!
//! [`Context::from_env`] is a pure function of an environment map and the event
//! payload text, so every event kind is tested without setting variables;
//! [`Context::from_process`] is the one place that reads the real environment and
//! the file at `GITHUB_EVENT_PATH`. The variables are the documented default ones
//! (<https://docs.github.com/en/actions/reference/variables-reference>), the payloads
//! those of <https://docs.github.com/en/webhooks/webhook-events-and-payloads>.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod inputs;
mod token;

use crate::results::RunContext;
pub use inputs::{action_args, ActionInputs, CommentPolicy, ACTION_INPUTS};
pub use token::Token;

/// Environment variables by name.
pub type Env = HashMap<String, String>;

/// Why the environment could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The event payload file could not be read.
    #[error("could not read the event payload {path} (GITHUB_EVENT_PATH): {source}")]
    ReadEvent {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The event payload is not JSON.
    #[error("the `{event}` event payload is not valid JSON: {message}")]
    EventJson {
        /// The event name.
        event: String,
        /// The parser's message.
        message: String,
    },
    /// A field the event must have is missing.
    #[error("the `{event}` event payload has no `{field}`")]
    MissingField {
        /// The event name.
        event: String,
        /// The JSON path of the field.
        field: &'static str,
    },
    /// `GITHUB_REPOSITORY` is not `owner/name`.
    #[error("GITHUB_REPOSITORY must be `owner/name`, got `{0}`")]
    Repository(String),
    /// An action input has a value it cannot have.
    #[error("input `{input}` is `{value}`; expected {expected}")]
    Input {
        /// The input's id.
        input: &'static str,
        /// What it was.
        value: String,
        /// What it may be.
        expected: &'static str,
    },
}

/// A repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repo {
    /// The user or organisation.
    pub owner: String,
    /// The repository's name.
    pub name: String,
}

impl Repo {
    /// Parse `owner/name`.
    pub fn parse(full_name: &str) -> Option<Repo> {
        let (owner, name) = full_name.split_once('/')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (ok(owner) && ok(name)).then(|| Repo {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }

    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// A pull request, as its event describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// The PR number.
    pub number: u64,
    /// The branch it merges into (`main`).
    pub base_ref: String,
    /// The base branch's commit the PR was compared against.
    pub base_sha: String,
    /// The PR's branch.
    pub head_ref: String,
    /// The PR's last commit: check runs go here (not to the merge commit).
    pub head_sha: String,
    /// `owner/name` of the head repository (`None` when the fork was deleted).
    pub head_repo: Option<String>,
    /// Whether the head lives in another repository than the base: such a PR gets
    /// a read-only token and no secrets under `pull_request`.
    pub fork: bool,
}

/// A merge queue's group (`merge_group` event): the commit the queue built (the
/// base branch with the queued pull requests merged) and its parent on the base
/// branch. <https://docs.github.com/en/webhooks/webhook-events-and-payloads#merge_group>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeGroup {
    /// The branch the group will be merged into (`main`, from `refs/heads/main`).
    pub base_ref: String,
    /// The group's parent commit on that branch: base.
    pub base_sha: String,
    /// The queue's temporary branch (`gh-readonly-queue/main/pr-2-…`).
    pub head_ref: String,
    /// The group's commit: head, and where the check run goes.
    pub head_sha: String,
}

/// What a base-vs-head run compares: a pull request's or a merge group's commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compared<'a> {
    /// The base branch (`main`).
    pub base_ref: &'a str,
    /// Base's commit: its copy of the config gates.
    pub base_sha: &'a str,
    /// Head's branch.
    pub head_ref: &'a str,
    /// Head's commit: the check run goes here.
    pub head_sha: &'a str,
}

/// What started the run, and so what is gated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// `pull_request` or `pull_request_target`: base vs head.
    PullRequest {
        /// `true` for `pull_request_target` (runs in the base's context, with secrets).
        target: bool,
        /// The pull request.
        pr: PullRequest,
    },
    /// `push`, `release`, `workflow_dispatch`, `schedule`, ...: a release gate
    /// (SLOs only, no base).
    Release {
        /// The git ref (`refs/tags/v1.2.0`, `refs/heads/main`).
        git_ref: Option<String>,
        /// The tag, when the ref is one (or the release's tag).
        tag: Option<String>,
        /// The commit.
        sha: Option<String>,
    },
    /// `merge_group`: a merge queue's group, gated against its base commit like a
    /// pull request (the base's config gates); there is no PR to comment on.
    MergeGroup(MergeGroup),
    /// `workflow_run`: the privileged half of the fork-safe pattern, publishing
    /// results measured by another workflow.
    WorkflowRun {
        /// The measuring run's id.
        run_id: u64,
        /// The commit the measuring run ran on (the PR head for a PR).
        head_sha: String,
        /// The event of the measuring run (`pull_request`).
        event: String,
        /// PR numbers GitHub lists for the run (empty for fork PRs).
        pull_requests: Vec<u64>,
        /// `owner/name` of the repository the head commit is in.
        head_repo: Option<String>,
        /// The branch the head commit is on (in `head_repo`), to find the PR when
        /// GitHub lists none.
        head_branch: Option<String>,
    },
    /// Not on GitHub Actions.
    Local,
}

/// Where a run happens: everything tailgate needs from the Actions environment.
#[derive(Debug, Clone)]
pub struct Context {
    /// `GITHUB_ACTIONS == "true"`.
    pub actions: bool,
    /// `GITHUB_EVENT_NAME` (empty when local).
    pub event_name: String,
    /// What is gated.
    pub trigger: Trigger,
    /// `GITHUB_REPOSITORY`.
    pub repo: Option<Repo>,
    /// `GITHUB_SHA`: on a PR, the merge commit (not the head).
    pub sha: Option<String>,
    /// `GITHUB_REF`.
    pub git_ref: Option<String>,
    /// `GITHUB_RUN_ID`.
    pub run_id: Option<u64>,
    /// `GITHUB_RUN_ATTEMPT`.
    pub run_attempt: Option<u32>,
    /// `GITHUB_SERVER_URL` (`https://github.com` by default).
    pub server_url: String,
    /// `GITHUB_API_URL` (`https://api.github.com` by default): every API call goes
    /// here, so GitHub Enterprise Server and test stand-ins work.
    pub api_url: String,
    /// `GITHUB_WORKSPACE`.
    pub workspace: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`: the job summary file.
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_OUTPUT`: the step outputs file.
    pub output: Option<PathBuf>,
    /// The runner in words (`Linux X64, ubuntu24`), from `RUNNER_OS`,
    /// `RUNNER_ARCH` and `ImageOS`.
    pub runner: Option<String>,
    /// The token: `INPUT_GITHUB_TOKEN`, else `GITHUB_TOKEN`.
    pub token: Option<Token>,
    /// The action's inputs.
    pub inputs: ActionInputs,
    /// The repository's default branch, as the event payload names it.
    pub default_branch: Option<String>,
    /// The event's `action` (`opened`, `synchronize`, `labeled`, ...).
    pub event_action: Option<String>,
    /// The label a `labeled` / `unlabeled` event is about.
    pub event_label: Option<String>,
    /// The pull request's labels when the event was sent.
    pub pr_labels: Vec<String>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, key| v.get(key))?.as_str()
}

fn need<'a>(
    v: &'a Value,
    path: &[&str],
    event: &str,
    field: &'static str,
) -> Result<&'a str, ContextError> {
    str_at(v, path).ok_or_else(|| ContextError::MissingField {
        event: event.to_string(),
        field,
    })
}

fn pull_request(payload: &Value, event: &str) -> Result<PullRequest, ContextError> {
    let pr = payload
        .get("pull_request")
        .ok_or_else(|| ContextError::MissingField {
            event: event.to_string(),
            field: "pull_request",
        })?;
    let number = pr
        .get("number")
        .and_then(Value::as_u64)
        .or_else(|| payload.get("number").and_then(Value::as_u64))
        .ok_or_else(|| ContextError::MissingField {
            event: event.to_string(),
            field: "pull_request.number",
        })?;
    let head_repo = str_at(pr, &["head", "repo", "full_name"]).map(str::to_string);
    let base_repo = str_at(pr, &["base", "repo", "full_name"]);
    let fork = match (&head_repo, base_repo) {
        (Some(head), Some(base)) => !head.eq_ignore_ascii_case(base),
        // A deleted fork leaves `head.repo` null.
        (None, _) => true,
        (Some(_), None) => pr
            .pointer("/head/repo/fork")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    Ok(PullRequest {
        number,
        base_ref: need(pr, &["base", "ref"], event, "pull_request.base.ref")?.to_string(),
        base_sha: need(pr, &["base", "sha"], event, "pull_request.base.sha")?.to_string(),
        head_ref: need(pr, &["head", "ref"], event, "pull_request.head.ref")?.to_string(),
        head_sha: need(pr, &["head", "sha"], event, "pull_request.head.sha")?.to_string(),
        head_repo,
        fork,
    })
}

fn merge_group(payload: &Value, event: &str) -> Result<MergeGroup, ContextError> {
    let group = payload
        .get("merge_group")
        .ok_or_else(|| ContextError::MissingField {
            event: event.to_string(),
            field: "merge_group",
        })?;
    let branch = |r: &str| r.strip_prefix("refs/heads/").unwrap_or(r).to_string();
    Ok(MergeGroup {
        base_ref: branch(need(group, &["base_ref"], event, "merge_group.base_ref")?),
        base_sha: need(group, &["base_sha"], event, "merge_group.base_sha")?.to_string(),
        head_ref: branch(need(group, &["head_ref"], event, "merge_group.head_ref")?),
        head_sha: need(group, &["head_sha"], event, "merge_group.head_sha")?.to_string(),
    })
}

fn workflow_run(payload: &Value, event: &str) -> Result<Trigger, ContextError> {
    let run = payload
        .get("workflow_run")
        .ok_or_else(|| ContextError::MissingField {
            event: event.to_string(),
            field: "workflow_run",
        })?;
    Ok(Trigger::WorkflowRun {
        run_id: run.get("id").and_then(Value::as_u64).ok_or_else(|| {
            ContextError::MissingField {
                event: event.to_string(),
                field: "workflow_run.id",
            }
        })?,
        head_sha: need(run, &["head_sha"], event, "workflow_run.head_sha")?.to_string(),
        event: str_at(run, &["event"]).unwrap_or_default().to_string(),
        pull_requests: run
            .get("pull_requests")
            .and_then(Value::as_array)
            .map(|prs| {
                prs.iter()
                    .filter_map(|p| p.get("number").and_then(Value::as_u64))
                    .collect()
            })
            .unwrap_or_default(),
        head_repo: str_at(run, &["head_repository", "full_name"]).map(str::to_string),
        head_branch: str_at(run, &["head_branch"]).map(str::to_string),
    })
}

fn release(payload: &Value, event: &str, env_ref: Option<&str>, env_sha: Option<&str>) -> Trigger {
    let git_ref = str_at(payload, &["ref"])
        .filter(|r| r.starts_with("refs/"))
        .or(env_ref)
        .map(str::to_string);
    let tag = match event {
        "release" => str_at(payload, &["release", "tag_name"]).map(str::to_string),
        _ => git_ref
            .as_deref()
            .and_then(|r| r.strip_prefix("refs/tags/"))
            .map(str::to_string),
    };
    let sha = match event {
        "push" => str_at(payload, &["after"])
            .filter(|s| s.chars().any(|c| c != '0'))
            .or(env_sha),
        _ => env_sha,
    };
    Trigger::Release {
        git_ref,
        tag,
        sha: sha.map(str::to_string),
    }
}

impl Context {
    /// The context of `env`, with the event payload's text when there is one.
    pub fn from_env(env: &Env, event_payload: Option<&str>) -> Result<Context, ContextError> {
        let get = |name: &str| env.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let actions = get("GITHUB_ACTIONS") == Some("true");
        let event_name = get("GITHUB_EVENT_NAME").unwrap_or_default().to_string();
        let payload: Value = match event_payload {
            Some(text) if !text.trim().is_empty() => {
                serde_json::from_str(text).map_err(|e| ContextError::EventJson {
                    event: event_name.clone(),
                    message: e.to_string(),
                })?
            }
            _ => Value::Null,
        };
        let repo = match get("GITHUB_REPOSITORY") {
            Some(full) => {
                Some(Repo::parse(full).ok_or_else(|| ContextError::Repository(full.into()))?)
            }
            None => None,
        };
        let sha = get("GITHUB_SHA");
        let git_ref = get("GITHUB_REF");
        let trigger = match event_name.as_str() {
            "" if !actions => Trigger::Local,
            "" => release(&payload, "", git_ref, sha),
            "pull_request" | "pull_request_target" => Trigger::PullRequest {
                target: event_name == "pull_request_target",
                pr: pull_request(&payload, &event_name)?,
            },
            "workflow_run" => workflow_run(&payload, &event_name)?,
            "merge_group" => Trigger::MergeGroup(merge_group(&payload, &event_name)?),
            other => release(&payload, other, git_ref, sha),
        };
        let runner = match (get("RUNNER_OS"), get("RUNNER_ARCH")) {
            (Some(os), Some(arch)) => Some(match get("ImageOS") {
                Some(image) => format!("{os} {arch}, {image}"),
                None => format!("{os} {arch}"),
            }),
            (Some(os), None) => Some(os.to_string()),
            _ => None,
        };
        Ok(Context {
            actions,
            event_name,
            trigger,
            repo,
            sha: sha.map(str::to_string),
            git_ref: git_ref.map(str::to_string),
            run_id: get("GITHUB_RUN_ID").and_then(|v| v.parse().ok()),
            run_attempt: get("GITHUB_RUN_ATTEMPT").and_then(|v| v.parse().ok()),
            server_url: get("GITHUB_SERVER_URL")
                .unwrap_or("https://github.com")
                .trim_end_matches('/')
                .to_string(),
            api_url: get("GITHUB_API_URL")
                .unwrap_or("https://api.github.com")
                .trim_end_matches('/')
                .to_string(),
            workspace: get("GITHUB_WORKSPACE").map(PathBuf::from),
            step_summary: get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: get("GITHUB_OUTPUT").map(PathBuf::from),
            runner,
            token: get("INPUT_GITHUB_TOKEN")
                .and_then(Token::new)
                .or_else(|| get("GITHUB_TOKEN").and_then(Token::new)),
            inputs: ActionInputs::from_env(env)?,
            default_branch: str_at(&payload, &["repository", "default_branch"]).map(str::to_string),
            event_action: str_at(&payload, &["action"]).map(str::to_string),
            event_label: str_at(&payload, &["label", "name"]).map(str::to_string),
            pr_labels: payload
                .pointer("/pull_request/labels")
                .and_then(Value::as_array)
                .map(|labels| {
                    labels
                        .iter()
                        .filter_map(|l| l.get("name").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The context of this process: its environment and the file at
    /// `GITHUB_EVENT_PATH`.
    pub fn from_process() -> Result<Context, ContextError> {
        let env: Env = std::env::vars().collect();
        let payload =
            match env.get("GITHUB_EVENT_PATH").filter(|p| !p.is_empty()) {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|source| {
                    ContextError::ReadEvent {
                        path: PathBuf::from(path),
                        source,
                    }
                })?),
                None => None,
            };
        Context::from_env(&env, payload.as_deref())
    }

    /// The pull request, when the run gates one.
    pub fn pull_request(&self) -> Option<&PullRequest> {
        match &self.trigger {
            Trigger::PullRequest { pr, .. } => Some(pr),
            _ => None,
        }
    }

    /// The two commits a base-vs-head run compares: a pull request's, or a merge
    /// group's (head: the group's commit; base: its parent on the base branch).
    pub fn compared(&self) -> Option<Compared<'_>> {
        match &self.trigger {
            Trigger::PullRequest { pr, .. } => Some(Compared {
                base_ref: &pr.base_ref,
                base_sha: &pr.base_sha,
                head_ref: &pr.head_ref,
                head_sha: &pr.head_sha,
            }),
            Trigger::MergeGroup(g) => Some(Compared {
                base_ref: &g.base_ref,
                base_sha: &g.base_sha,
                head_ref: &g.head_ref,
                head_sha: &g.head_sha,
            }),
            _ => None,
        }
    }

    /// The link to this workflow run (`{server}/{repo}/actions/runs/{id}`).
    pub fn run_url(&self) -> Option<String> {
        let repo = self.repo.as_ref()?;
        let id = self.run_id?;
        let mut url = format!("{}/{}/actions/runs/{id}", self.server_url, repo.full_name());
        if let Some(attempt) = self.run_attempt.filter(|a| *a > 1) {
            url.push_str(&format!("/attempts/{attempt}"));
        }
        Some(url)
    }

    /// Whether this is a `pull_request` run from a fork: GitHub gives it a
    /// read-only token and no secrets, so it cannot comment or create checks.
    pub fn is_unprivileged_fork(&self) -> bool {
        matches!(&self.trigger, Trigger::PullRequest { target: false, pr } if pr.fork)
    }

    /// The plain values the results file records about where the run happened.
    pub fn run_context(&self) -> RunContext {
        let short = |s: &str| s.chars().take(7).collect::<String>();
        let (kind, base_label, head_label, pull_request, base_sha, head_sha) = match &self.trigger {
            Trigger::PullRequest { pr, .. } => (
                "pull_request".to_string(),
                format!("{}@{}", pr.base_ref, short(&pr.base_sha)),
                format!("{}@{}", pr.head_ref, short(&pr.head_sha)),
                Some(pr.number),
                Some(pr.base_sha.clone()),
                Some(pr.head_sha.clone()),
            ),
            Trigger::Release { git_ref, tag, sha } => {
                let label = tag
                    .clone()
                    .or_else(|| git_ref.clone())
                    .unwrap_or_else(|| "release".into());
                let head = match sha {
                    Some(s) => format!("{label}@{}", short(s)),
                    None => label,
                };
                (
                    "release".into(),
                    String::new(),
                    head,
                    None,
                    None,
                    sha.clone(),
                )
            }
            Trigger::MergeGroup(g) => (
                "merge_group".to_string(),
                format!("{}@{}", g.base_ref, short(&g.base_sha)),
                format!("merge queue@{}", short(&g.head_sha)),
                None,
                Some(g.base_sha.clone()),
                Some(g.head_sha.clone()),
            ),
            Trigger::WorkflowRun { head_sha, .. } => (
                "workflow_run".into(),
                String::new(),
                short(head_sha),
                None,
                None,
                Some(head_sha.clone()),
            ),
            Trigger::Local => (
                "local".into(),
                "base".into(),
                "head".into(),
                None,
                None,
                None,
            ),
        };
        RunContext {
            kind,
            base_label,
            head_label,
            run_url: self.run_url(),
            repository: self.repo.as_ref().map(Repo::full_name),
            server_url: self.actions.then(|| self.server_url.clone()),
            pull_request,
            base_sha,
            head_sha,
            run_id: self.run_id,
            runner: self.runner.clone(),
            config: None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An environment of `pairs`.
    pub(crate) fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn local_without_actions() {
        let ctx = Context::from_env(&Env::new(), None).expect("local");
        assert_eq!(ctx.trigger, Trigger::Local);
        assert_eq!(ctx.api_url, "https://api.github.com");
        assert!(ctx.token.is_none());
        assert!(ctx.run_url().is_none());
    }

    #[test]
    fn run_url_with_attempt() {
        let ctx = Context::from_env(
            &env(&[
                ("GITHUB_REPOSITORY", "o/r"),
                ("GITHUB_RUN_ID", "42"),
                ("GITHUB_RUN_ATTEMPT", "2"),
                ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
            ]),
            None,
        )
        .expect("ctx");
        assert_eq!(
            ctx.run_url().as_deref(),
            Some("https://ghe.example.com/o/r/actions/runs/42/attempts/2")
        );
    }

    #[test]
    fn repo_names() {
        assert!(Repo::parse("octo-org/octo.repo_1").is_some());
        assert!(Repo::parse("nope").is_none());
        assert!(Repo::parse("a/b/c").is_none());
    }
}
