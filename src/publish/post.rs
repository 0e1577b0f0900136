//! Publishing a run: annotations, job summary, PR comment, check run, step outputs.
//! Best-effort throughout: every step reports what it did or why not, and nothing
//! here changes the exit code.

use std::path::PathBuf;

use octocrab::models::pulls::PullRequest as ApiPullRequest;

use super::check::{self, CheckRequest};
use super::comment::{self, CommentAction, Upsert};
use super::workflow;
use crate::context::{CommentPolicy, Token};
use crate::context::{Context, Repo, Trigger};
use crate::github::api::{Call, GitHub, RetryPolicy};
use crate::github::GithubError;
use crate::judge::verdict::{ChangeState, Metric};
use crate::report::{self, Marker};
use crate::results::RunResults;

const GET_PR: Call = Call {
    what: "reading the pull request",
    permission: "pull-requests: read",
};

/// How to publish.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// When to comment.
    pub comment: CommentPolicy,
    /// Whether to create a check run.
    pub check_run: bool,
    /// The check run's name (default `tailgate`, or `tailgate (<config>)` for a
    /// config other than `tailgate.yml`).
    pub check_name: Option<String>,
    /// The login our comments are written by (default: the token's user, else
    /// `github-actions[bot]`).
    pub author: Option<String>,
    /// The results file, for the `results_path` output.
    pub results_path: Option<PathBuf>,
    /// Retries and waits.
    pub retry: RetryPolicy,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            comment: CommentPolicy::Always,
            check_run: true,
            check_name: None,
            author: None,
            results_path: None,
            retry: RetryPolicy::default(),
        }
    }
}

impl PublishOptions {
    /// The options the action's inputs ask for.
    pub fn from_context(ctx: &Context) -> PublishOptions {
        PublishOptions {
            comment: ctx.inputs.comment.unwrap_or_default(),
            check_run: ctx.inputs.check_run.unwrap_or(true),
            ..PublishOptions::default()
        }
    }
}

/// What one publishing step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// Done; the text says what (a link, a path).
    Done(String),
    /// Not attempted, and why.
    Skipped(String),
    /// Attempted and failed: the message says what to do.
    Failed(String),
}

impl StepOutcome {
    fn line(&self, step: &str) -> String {
        match self {
            StepOutcome::Done(what) => format!("tailgate: {step}: {what}"),
            StepOutcome::Skipped(why) => format!("tailgate: {step} skipped: {why}"),
            StepOutcome::Failed(why) => format!("tailgate: {step} failed: {why}"),
        }
    }
}

/// What [`publish`] did, step by step.
#[derive(Debug, Clone)]
pub struct PublishReport {
    /// The `::error::`/`::warning::` lines printed.
    pub annotations: Vec<String>,
    /// `$GITHUB_STEP_SUMMARY`.
    pub summary: StepOutcome,
    /// The PR comment.
    pub comment: StepOutcome,
    /// The check run.
    pub check_run: StepOutcome,
    /// `$GITHUB_OUTPUT`.
    pub outputs: StepOutcome,
    /// Notices printed to stderr (e.g. why a fork PR gets no comment).
    pub notices: Vec<String>,
}

impl PublishReport {
    /// One line per step, as printed to stderr.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = self.notices.clone();
        lines.push(self.summary.line("job summary"));
        lines.push(self.comment.line("PR comment"));
        lines.push(self.check_run.line("check run"));
        lines.push(self.outputs.line("step outputs"));
        lines
    }
}

/// The marker the comment of `results` carries.
pub fn marker_for(results: &RunResults) -> Marker {
    report::marker_for(results)
}

/// A client for the context's API URL and token; `None` without a token (or when
/// the API URL is unusable, which [`publish`] reports).
pub fn client(ctx: &Context, retry: RetryPolicy) -> Option<GitHub> {
    GitHub::new(&ctx.api_url, ctx.token.as_ref()?, retry).ok()
}

/// Read a results file written by `tailgate run` ([`crate::results::read`]: any
/// minor of schema [`crate::results::SCHEMA`]).
pub fn read_results(path: &std::path::Path) -> Result<RunResults, GithubError> {
    crate::results::read(path).map_err(|e| GithubError::Read {
        path: path.display().to_string(),
        message: match e {
            crate::results::ReadError::Io { source, .. } => source.to_string(),
            other => other.to_string(),
        },
    })
}

/// Replace what a results file says about where it ran with what this workflow
/// knows for sure. A results file published from a `workflow_run` is untrusted
/// input (a fork's workflow wrote it): the run link, run id, repository and server
/// come from the trusted event; the head sha is checked against it in [`publish`].
pub fn adopt_context(ctx: &Context, results: &mut RunResults) {
    let rc = &mut results.context;
    if let Trigger::WorkflowRun { run_id, .. } = &ctx.trigger {
        rc.run_id = Some(*run_id);
        rc.run_url = ctx
            .repo
            .as_ref()
            .map(|r| format!("{}/{}/actions/runs/{run_id}", ctx.server_url, r.full_name()));
    }
    if ctx.actions {
        rc.server_url = Some(ctx.server_url.clone());
        if let Some(repo) = &ctx.repo {
            if rc.repository.is_none() {
                rc.repository = Some(repo.full_name());
            }
        }
    }
}

/// Where a comment and a check run go.
struct Destination {
    repo: Repo,
    pr: Option<u64>,
    head_sha: Option<String>,
}

fn fork_notice(ctx: &Context) -> Option<String> {
    let pr = ctx.pull_request()?;
    ctx.is_unprivileged_fork().then(|| {
        format!(
            "this PR comes from a fork ({}): GitHub runs `pull_request` workflows of forks with a \
             read-only token and without secrets, so tailgate cannot comment or create a check run \
             here. The verdict is in the job summary and the exit code. To get the comment, upload \
             the results and run `tailgate publish` from a `workflow_run` workflow \
             (docs/github.md, \"Pull requests from forks\").",
            pr.head_repo.as_deref().unwrap_or("a deleted fork")
        )
    })
}

/// Where to publish, checking that a `workflow_run`'s results belong to it.
fn destination(ctx: &Context, results: &RunResults) -> Result<Destination, String> {
    let repo = ctx
        .repo
        .clone()
        .ok_or("GITHUB_REPOSITORY is not set: not on GitHub Actions")?;
    let rc = &results.context;
    match &ctx.trigger {
        Trigger::PullRequest { pr, .. } => Ok(Destination {
            repo,
            pr: Some(pr.number),
            head_sha: Some(pr.head_sha.clone()),
        }),
        Trigger::WorkflowRun {
            head_sha,
            pull_requests,
            ..
        } => {
            if rc.head_sha.as_deref() != Some(head_sha.as_str()) {
                return Err(format!(
                    "the results are for commit {} but the workflow run was for {head_sha}: \
                     refusing to publish results that do not belong to this run",
                    rc.head_sha
                        .as_deref()
                        .map_or("(none)".to_string(), super::trust::shown)
                ));
            }
            if let Some(results_repo) = &rc.repository {
                if !results_repo.eq_ignore_ascii_case(&repo.full_name()) {
                    return Err(format!(
                        "the results are for {}, this workflow runs in {}",
                        super::trust::shown(results_repo),
                        repo.full_name()
                    ));
                }
            }
            if let (Some(n), false) = (rc.pull_request, pull_requests.is_empty()) {
                if !pull_requests.contains(&n) {
                    return Err(format!(
                        "the results name PR #{n}, which the workflow run does not list"
                    ));
                }
            }
            // `rc.pull_request` is the PR `trust::verify` found from the event or the
            // API, never the number the file was written with.
            Ok(Destination {
                repo,
                pr: rc.pull_request,
                head_sha: Some(head_sha.clone()),
            })
        }
        // A merge queue's group: no PR to comment on; the check goes on its commit.
        Trigger::MergeGroup(group) => Ok(Destination {
            repo,
            pr: None,
            head_sha: Some(group.head_sha.clone()),
        }),
        Trigger::Release { sha, .. } => Ok(Destination {
            repo,
            pr: None,
            head_sha: rc
                .head_sha
                .clone()
                .or_else(|| sha.clone())
                .or(ctx.sha.clone()),
        }),
        Trigger::Local => Err("not on GitHub Actions".into()),
    }
}

fn failed(err: &GithubError, token: &Token, fork: bool) -> StepOutcome {
    let mut message = token.redact(&err.to_string());
    if fork && err.status() == Some(403) {
        message.push_str(
            " (a fork PR's token is read-only: use the workflow_run pattern in docs/github.md)",
        );
    }
    StepOutcome::Failed(message)
}

/// Publish a run: annotations, job summary, PR comment, check run and step
/// outputs. Prints the annotations to stdout and one line per step to stderr.
/// Never fails and never changes the exit code: see the report for what happened.
pub async fn publish(
    ctx: &Context,
    results: &RunResults,
    markdown: &str,
    options: &PublishOptions,
) -> PublishReport {
    let mut report = PublishReport {
        annotations: Vec::new(),
        summary: StepOutcome::Skipped("GITHUB_STEP_SUMMARY is not set".into()),
        comment: StepOutcome::Skipped("not a pull request".into()),
        check_run: StepOutcome::Skipped("disabled by the `check_run` input".into()),
        outputs: StepOutcome::Skipped("GITHUB_OUTPUT is not set".into()),
        notices: Vec::new(),
    };
    if ctx.actions {
        report.annotations = workflow::annotations(results);
        for line in &report.annotations {
            println!("{line}");
        }
    }
    if let Some(path) = &ctx.step_summary {
        report.summary = match workflow::append_summary(path, markdown) {
            Ok(()) => StepOutcome::Done(format!("written to {}", path.display())),
            Err(e) => StepOutcome::Failed(format!("could not write {}: {e}", path.display())),
        };
    }

    let mut comment_url = None;
    let mut check_url = None;
    let fork = ctx.is_unprivileged_fork();
    match (destination(ctx, results), &ctx.token) {
        (Err(why), _) => {
            report.comment = StepOutcome::Skipped(why.clone());
            if options.check_run {
                report.check_run = StepOutcome::Skipped(why);
            }
        }
        (Ok(_), _) if fork => {
            let notice = fork_notice(ctx).unwrap_or_default();
            report.notices.push(notice);
            report.comment = StepOutcome::Skipped("fork PR: read-only token".into());
            if options.check_run {
                report.check_run = StepOutcome::Skipped("fork PR: read-only token".into());
            }
        }
        (Ok(_), None) => {
            let why = "no token: set the `github_token` input (or GITHUB_TOKEN)".to_string();
            report.comment = StepOutcome::Skipped(why.clone());
            if options.check_run {
                report.check_run = StepOutcome::Skipped(why);
            }
        }
        (Ok(dest), Some(token)) => match GitHub::new(&ctx.api_url, token, options.retry) {
            Err(e) => {
                report.comment = failed(&e, token, fork);
                if options.check_run {
                    report.check_run = failed(&e, token, fork);
                }
            }
            Ok(gh) => {
                let pr_head = match dest.pr {
                    Some(n) => {
                        let path =
                            format!("/repos/{}/{}/pulls/{n}", dest.repo.owner, dest.repo.name);
                        match gh.get_json::<ApiPullRequest>(&path, &GET_PR).await {
                            Ok(pr) => Some(pr.head.sha),
                            Err(e) => {
                                report.notices.push(format!(
                                    "tailgate: could not read PR #{n} to check for newer commits: {}",
                                    token.redact(&e.to_string())
                                ));
                                None
                            }
                        }
                    }
                    None => None,
                };
                if let Some(number) = dest.pr {
                    report.comment = publish_comment(
                        &gh,
                        &dest.repo,
                        number,
                        results,
                        markdown,
                        options,
                        pr_head.as_deref(),
                    )
                    .await
                    .unwrap_or_else(|e| failed(&e, token, fork));
                    if let StepOutcome::Done(url) = &report.comment {
                        comment_url = url.split_whitespace().last().map(str::to_string);
                    }
                }
                if options.check_run {
                    report.check_run = match &dest.head_sha {
                        None => StepOutcome::Skipped("no commit to attach it to".into()),
                        Some(sha) => match publish_check(
                            &gh, &dest.repo, sha, ctx, results, markdown, options,
                        )
                        .await
                        {
                            Ok(url) => {
                                check_url = Some(url.clone());
                                StepOutcome::Done(format!("on {sha}: {url}"))
                            }
                            Err(e) => failed(&e, token, fork),
                        },
                    };
                }
            }
        },
    }

    let mut pairs = workflow::outputs(results, options.results_path.as_deref());
    if let Some(url) = comment_url {
        pairs.push(("comment_url".into(), url));
    }
    if let Some(url) = check_url {
        pairs.push(("check_run_url".into(), url));
    }
    finish(ctx, report, &pairs)
}

/// The last steps of every publish: the step outputs `pairs` (when `GITHUB_OUTPUT`
/// is set), then each step's outcome on stderr, the token redacted.
fn finish(ctx: &Context, mut report: PublishReport, pairs: &[(String, String)]) -> PublishReport {
    if let Some(path) = &ctx.output {
        report.outputs = match workflow::write_outputs(path, pairs) {
            Ok(()) => StepOutcome::Done(format!("{} outputs", pairs.len())),
            Err(e) => StepOutcome::Failed(format!("could not write {}: {e}", path.display())),
        };
    }
    for line in report.lines() {
        let line = match &ctx.token {
            Some(token) => token.redact(&line),
            None => line,
        };
        eprintln!("{line}");
    }
    report
}

/// Whether some endpoint's p99 changed (improved or regressed).
fn p99_changed(results: &RunResults) -> bool {
    results.comparisons.iter().any(|c| {
        c.get(Metric::P99)
            .is_some_and(|m| matches!(m.state, ChangeState::Improved | ChangeState::Regressed))
    })
}

async fn publish_comment(
    gh: &GitHub,
    repo: &Repo,
    number: u64,
    results: &RunResults,
    markdown: &str,
    options: &PublishOptions,
    current_head: Option<&str>,
) -> Result<StepOutcome, GithubError> {
    let marker = marker_for(results);
    let body = report::comment_body(results, markdown);
    let author = match &options.author {
        Some(a) => a.clone(),
        None => comment::resolve_author(gh).await,
    };
    let level = results.verdict.level.as_str();
    let req = Upsert {
        repo,
        number,
        body: &body,
        marker: &marker,
        author: &author,
        policy: options.comment,
        wants_new: comment::wants_new_comment(options.comment, level, p99_changed(results)),
        current_head,
    };
    Ok(match comment::upsert(gh, &req).await? {
        CommentAction::Created { url, .. } => StepOutcome::Done(format!("created {url}")),
        CommentAction::Updated { url, .. } => StepOutcome::Done(format!("updated {url}")),
        CommentAction::Skipped(why) => StepOutcome::Skipped(why),
    })
}

/// The check run's name for config `config`: `tailgate`, or `tailgate (<config>)`.
fn check_name(options: &PublishOptions, config: &str) -> String {
    options.check_name.clone().unwrap_or_else(|| {
        if config == "tailgate.yml" || config.is_empty() {
            "tailgate".to_string()
        } else {
            format!("tailgate ({config})")
        }
    })
}

/// Publish a refused results file of a `workflow_run`: the reason in the job
/// summary and as an error annotation, and a `failure` check run on the event's
/// head commit (the one commit this run knows for sure), named after the config
/// input, not the file. No comment: which PR the file is for is not trusted.
pub async fn publish_refusal(ctx: &Context, why: &str, options: &PublishOptions) -> PublishReport {
    let why = match &ctx.token {
        Some(token) => token.redact(why),
        None => why.to_string(),
    };
    let mut report = PublishReport {
        annotations: Vec::new(),
        summary: StepOutcome::Skipped("GITHUB_STEP_SUMMARY is not set".into()),
        comment: StepOutcome::Skipped("the results file was refused".into()),
        check_run: StepOutcome::Skipped("disabled by the `check_run` input".into()),
        outputs: StepOutcome::Skipped("GITHUB_OUTPUT is not set".into()),
        notices: Vec::new(),
    };
    let body = format!(
        "### ❗ tailgate: the results file was refused\n\n{}\n\nNothing from the file was \
         published. See the run's log and `SECURITY.md`.\n",
        report::escape::text(&why)
    );
    if ctx.actions {
        let line = workflow::annotation(
            workflow::Severity::Error,
            "tailgate: the results file was refused",
            &why,
        );
        println!("{line}");
        report.annotations.push(line);
    }
    if let Some(path) = &ctx.step_summary {
        report.summary = match workflow::append_summary(path, &body) {
            Ok(()) => StepOutcome::Done(format!("written to {}", path.display())),
            Err(e) => StepOutcome::Failed(format!("could not write {}: {e}", path.display())),
        };
    }
    let sha = match &ctx.trigger {
        Trigger::WorkflowRun { head_sha, .. } => Some(head_sha.clone()),
        Trigger::PullRequest { pr, .. } => Some(pr.head_sha.clone()),
        Trigger::MergeGroup(group) => Some(group.head_sha.clone()),
        _ => None,
    };
    if options.check_run {
        report.check_run = match (&ctx.repo, &ctx.token, sha) {
            (None, _, _) => StepOutcome::Skipped("GITHUB_REPOSITORY is not set".into()),
            (_, None, _) => StepOutcome::Skipped("no token".into()),
            (_, _, None) => StepOutcome::Skipped("not a workflow_run: no trusted commit".into()),
            (Some(repo), Some(token), Some(sha)) => {
                let config = super::trust::config_path(ctx);
                let name = check_name(options, &config.to_string_lossy());
                let run_url = ctx.run_url();
                let created = match GitHub::new(&ctx.api_url, token, options.retry) {
                    Err(e) => Err(e),
                    Ok(gh) => {
                        check::create(
                            &gh,
                            &CheckRequest {
                                repo,
                                name: &name,
                                head_sha: &sha,
                                title: "❗ tailgate: the results file was refused",
                                summary: &body,
                                conclusion: "failure",
                                details_url: run_url.as_deref(),
                            },
                        )
                        .await
                    }
                };
                match created {
                    Ok(url) => StepOutcome::Done(format!("on {sha}: {url}")),
                    Err(e) => failed(&e, token, false),
                }
            }
        };
    }
    let pairs = [
        ("verdict".to_string(), "error".to_string()),
        (
            "exit_code".to_string(),
            crate::judge::verdict::exit::USAGE.to_string(),
        ),
    ];
    finish(ctx, report, &pairs)
}

async fn publish_check(
    gh: &GitHub,
    repo: &Repo,
    sha: &str,
    ctx: &Context,
    results: &RunResults,
    markdown: &str,
    options: &PublishOptions,
) -> Result<String, GithubError> {
    // The stable config path (not `tailgate.yml@<sha>`): required checks match names.
    let config = marker_for(results).config;
    let name = check_name(options, &config);
    let title = report::headline_text(results);
    let summary = report::comment_body(results, markdown);
    let run_url = ctx.run_url();
    check::create(
        gh,
        &CheckRequest {
            repo,
            name: &name,
            head_sha: sha,
            title: &title,
            summary: &summary,
            conclusion: check::conclusion(&results.verdict),
            details_url: run_url.as_deref(),
        },
    )
    .await
}
