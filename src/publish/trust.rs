//! What `tailgate publish` trusts in the fork-safe pair: measurements, not
//! conclusions.
//!
//! In a `workflow_run` the results file was written by a workflow the PR's author
//! controls (a fork's `pull_request` workflow runs the fork's copy of it). So
//! `publish` takes from the file only what it cannot check better elsewhere, the
//! measured rounds (histograms and counters), and only after checking that they
//! hang together. Everything else comes from places the fork cannot write:
//!
//! - the commit from the `workflow_run` event (`workflow_run.head_sha`); a file for
//!   another commit is refused;
//! - the PR from the event (`workflow_run.pull_requests`) or, when GitHub lists none
//!   (the usual case for forks), from the API: the open PR whose head is that commit
//!   (<https://docs.github.com/en/rest/pulls/pulls#list-pull-requests>, `head=user:ref`;
//!   <https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit>);
//!   a file that names another PR is refused;
//! - the gate (SLOs, budgets, mode, compare settings) from the config at the commit
//!   the privileged workflow runs on (`GITHUB_SHA`: the default branch), read with
//!   git or the contents API, never from the file's recorded settings;
//! - the comparison, the verdict and the report, recomputed from the rounds with
//!   the same code as `tailgate compare` ([`crate::judge::comparisons::recompute`]).
//!
//! A fork can still make up rounds that are consistent with each other: a green check
//! from this mode says that the numbers the fork's runner reported pass the base
//! branch's gate, not that a trusted machine measured them (see `SECURITY.md`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::bench::{EndpointRun, Recorder};
use crate::config::{self, Config, Environment, ReadOptions};
use crate::context::{Context, Trigger};
use crate::github::api::{Call, GitHub};
use crate::github::gate_config;
use crate::results::ConfigNote;
use crate::results::RunResults;
use crate::side::Side;

const LIST_PULLS: Call = Call {
    what: "finding the pull request of the measured commit",
    permission: "pull-requests: read",
};

/// Largest count one round may record of anything (requests, bytes, statuses):
/// far above any real round, low enough that no sum over rounds can overflow.
pub const MAX_COUNT: u64 = 1 << 40;

/// Most rounds one endpoint may have (both sides, extensions included).
pub const MAX_ROUNDS: usize = 10_000;

/// Largest `Server-Timing` sum or round cost accepted, in its unit.
const MAX_AMOUNT: f64 = 1e15;

/// Why a results file is refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The file is for another commit than the `workflow_run`.
    #[error(
        "the results are for commit {file} but the workflow run was for {event}: refusing to \
         publish results that do not belong to this run"
    )]
    HeadSha {
        /// What the file says (shown quoted).
        file: String,
        /// The event's head sha.
        event: String,
    },
    /// The file is for another repository.
    #[error("the results are for repository {file}, this workflow runs in {this}: refusing them")]
    Repository {
        /// What the file says (shown quoted).
        file: String,
        /// This repository.
        this: String,
    },
    /// The file names another PR than the one whose head is the measured commit.
    #[error(
        "the results name PR #{file}, but commit {sha} is the head of PR #{actual}: refusing to \
         publish them (to either PR)"
    )]
    PullRequest {
        /// The number the file names.
        file: u64,
        /// The PR the commit belongs to.
        actual: u64,
        /// The commit.
        sha: String,
    },
    /// The measured data is missing or does not hang together.
    #[error("the results file is refused: {0}; the verdict is recomputed from the measured rounds, so they must be complete and consistent")]
    Measurements(String),
    /// The trusted config could not be read or parsed.
    #[error("the gate's config could not be read from this workflow's commit: {0}")]
    Config(String),
    /// The rounds could not be compared.
    #[error("the measured rounds could not be compared: {0}")]
    Compare(#[from] crate::judge::comparisons::CompareError),
}

/// An outside string as shown in a message: quoted with its control characters
/// escaped (so it cannot start a workflow command line), at most 80 characters.
pub fn shown(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    let more = if s.chars().count() > 80 { "…" } else { "" };
    format!("{:?}{more}", cut)
}

fn bad(what: String) -> Refusal {
    Refusal::Measurements(what)
}

fn check_count(endpoint: &str, at: &str, field: &str, value: u64) -> Result<(), Refusal> {
    if value > MAX_COUNT {
        return Err(bad(format!(
            "endpoint {} {at}: `{field}` = {value} is more than one round can record",
            shown(endpoint)
        )));
    }
    Ok(())
}

fn check_recorder(endpoint: &str, at: &str, r: &Recorder) -> Result<(), Refusal> {
    let count = |field: &str, value: u64| check_count(endpoint, at, field, value);
    for (field, value) in [
        ("ok", r.ok),
        ("bytes_in", r.bytes_in),
        ("bytes_out", r.bytes_out),
        ("bytes_body", r.bytes_body),
        ("bytes_decoded", r.bytes_decoded),
        ("queued", r.queued),
        ("unsent", r.unsent),
        ("sent_in_window", r.sent_in_window),
    ] {
        count(field, value)?;
    }
    for (kind, n) in &r.errors {
        count(&format!("errors.{kind}"), *n)?;
    }
    for (status, n) in &r.statuses {
        count(&format!("statuses.{status}"), *n)?;
    }
    for (name, sum) in &r.server_timing {
        count(&format!("server_timing.{}.count", shown(name)), sum.count)?;
        if !(sum.total_ms.is_finite() && (0.0..=MAX_AMOUNT).contains(&sum.total_ms)) {
            return Err(bad(format!(
                "endpoint {} {at}: `Server-Timing` {} sums to {} ms",
                shown(endpoint),
                shown(name),
                sum.total_ms
            )));
        }
    }
    // `Recorder::success` is the only writer of both: every success is one sample.
    if r.latency.len() != r.ok {
        return Err(bad(format!(
            "endpoint {} {at}: `ok` = {} but the latency histogram holds {} samples",
            shown(endpoint),
            r.ok,
            r.latency.len()
        )));
    }
    // Bounded above, so these sums cannot overflow.
    let errors: u64 = r.errors.values().sum();
    let total = r.ok + errors;
    if r.timeline.seconds.len() > crate::bench::record::Timeline::MAX_SECONDS {
        return Err(bad(format!(
            "endpoint {} {at}: the timeline has {} seconds, more than {}",
            shown(endpoint),
            r.timeline.seconds.len(),
            crate::bench::record::Timeline::MAX_SECONDS
        )));
    }
    if !r.timeline.seconds.is_empty() {
        let mut requests = 0u64;
        let mut failed = 0u64;
        let mut samples = 0u64;
        for s in &r.timeline.seconds {
            count("timeline.requests", s.requests)?;
            count("timeline.errors", s.errors)?;
            requests += s.requests;
            failed += s.errors;
            samples += s.latency.len();
        }
        // `Recorder::success` and `failure` write the timeline too.
        if requests != total || failed != errors || samples != r.ok {
            return Err(bad(format!(
                "endpoint {} {at}: the per-second timeline counts {requests} requests, {failed} \
                 errors and {samples} latencies, the counters {total}, {errors} and {}",
                shown(endpoint),
                r.ok
            )));
        }
    }
    Ok(())
}

fn check_run(run: &EndpointRun) -> Result<(), Refusal> {
    let name = &run.name;
    if run.rounds.len() > MAX_ROUNDS {
        return Err(bad(format!(
            "endpoint {} has {} rounds, more than {MAX_ROUNDS}",
            shown(name),
            run.rounds.len()
        )));
    }
    let mut seen = BTreeSet::new();
    for r in &run.rounds {
        let at = format!("round {} ({})", r.round, r.side);
        if !seen.insert((r.round, r.side)) {
            return Err(bad(format!("endpoint {} has {at} twice", shown(name))));
        }
        check_recorder(name, &at, &r.data)?;
        if r.data.total() > 0 && r.elapsed.is_zero() {
            return Err(bad(format!(
                "endpoint {} {at}: requests in no time",
                shown(name)
            )));
        }
        if r.elapsed.as_secs() > 24 * 3600 {
            return Err(bad(format!(
                "endpoint {} {at}: a round of {} s",
                shown(name),
                r.elapsed.as_secs()
            )));
        }
        if let Some(cost) = r.cost {
            let amount = cost.to_f64();
            if !(amount.is_finite() && (0.0..=MAX_AMOUNT).contains(&amount)) {
                return Err(bad(format!(
                    "endpoint {} {at}: a round cost of {amount}",
                    shown(name)
                )));
            }
        }
    }
    Ok(())
}

/// Check that the measured rounds of `results` hang together: each (round, side)
/// once, every count bounded, the success count equal to the latency histogram's
/// count, and the per-second timeline (when recorded) adding up to the counters.
/// Histograms that do not decode never get here: reading the file fails.
pub fn check_measurements(results: &RunResults) -> Result<(), Refusal> {
    if results.endpoints.is_empty() {
        return Err(bad(format!(
            "it holds no measured rounds (the run failed: {})",
            results
                .verdict
                .error
                .as_deref()
                .map_or("no endpoints".to_string(), shown)
        )));
    }
    results.endpoints.iter().try_for_each(check_run)
}

/// Judge `results` under `config` alone: only the config's endpoints, each of them
/// measured on both sides with at least the config's rounds; the config's limits,
/// mode and compare settings; comparisons and verdict recomputed; `note` says where
/// the config was read.
pub fn rejudge(results: &mut RunResults, config: &Config, note: ConfigNote) -> Result<(), Refusal> {
    rejudge_sides(results, config, note, &Side::BOTH)
}

/// [`rejudge`], asking rounds of `sides` only (a release gate measures head alone).
pub fn rejudge_sides(
    results: &mut RunResults,
    config: &Config,
    note: ConfigNote,
    sides: &[Side],
) -> Result<(), Refusal> {
    check_measurements(results)?;
    let limits = crate::judge::verdict::limits_of(config);
    let mut endpoints = Vec::with_capacity(limits.len());
    for limit in &limits {
        let Some(run) = results.endpoints.iter().find(|e| e.name == limit.name) else {
            return Err(bad(format!(
                "endpoint {} of the gate's config was not measured",
                shown(&limit.name)
            )));
        };
        // A sequential run may stop an endpoint at a look, never before the first.
        let first_look = config.compare.looks().rounds()[0];
        for &side in sides {
            let rounds = run.side(side).count();
            if rounds < first_look as usize {
                return Err(bad(format!(
                    "endpoint {} has {rounds} {side} rounds, the gate's config asks for {}",
                    shown(&limit.name),
                    first_look
                )));
            }
        }
        endpoints.push(run.clone());
    }
    let looks = results.settings.looks;
    if looks == 0 || looks > 2 || (looks == 2 && config.compare.extend == 0) {
        return Err(bad(format!(
            "it records {looks} looks at the data; the gate allows 1{}",
            if config.compare.extend > 0 {
                " or 2"
            } else {
                ""
            }
        )));
    }
    results.endpoints = endpoints;
    results.limits = limits;
    let s = &mut results.settings;
    s.config_source = config.source.clone();
    s.mode = config.mode;
    s.rounds = config.compare.rounds;
    s.min_rounds = config.compare.min_rounds.min(config.compare.rounds);
    s.noise_floor = config.compare.noise_floor;
    s.confidence = config.compare.confidence;
    s.resamples = config.compare.resamples;
    s.extend = config.compare.extend;
    if let Some(seed) = config.compare.seed {
        s.seed = seed;
    }
    // The file's note may carry a diff and a verdict "under the PR's copy" that
    // nobody here computed: keep only what it says about the PR changing the config.
    let change = results
        .context
        .config
        .as_ref()
        .map(|n| n.change)
        .filter(|c| {
            matches!(
                c,
                crate::results::ConfigChange::Changed | crate::results::ConfigChange::Unchanged
            )
        })
        .unwrap_or(note.change);
    let diff = results
        .context
        .config
        .as_ref()
        .filter(|_| change == crate::results::ConfigChange::Changed)
        .and_then(|n| n.diff.clone());
    results.context.config = Some(ConfigNote {
        change,
        diff,
        head_verdict: None,
        ..note
    });
    // Nor can it bring what only a trusted run knows: a history (learned noise
    // floors, a stored baseline) or a label's acceptance.
    results.history = None;
    results.acceptance = None;
    crate::results::recompute(results)?;
    // An endpoint that stopped before the most rounds must have been decided then:
    // a file cannot end an undecided endpoint early to escape its verdict.
    let limits = crate::judge::verdict::limits_of(config);
    for run in &results.endpoints {
        let rounds = run
            .side(Side::Base)
            .count()
            .min(run.side(Side::Head).count());
        if rounds >= config.compare.rounds as usize {
            continue;
        }
        let decided = results
            .comparisons
            .iter()
            .find(|c| c.endpoint == run.name)
            .is_some_and(|c| crate::judge::verdict::decided(c, &limits, config.compare.rounds));
        if !decided {
            return Err(bad(format!(
                "endpoint {} stopped after {rounds} of {} rounds before its checks were decided",
                shown(&run.name),
                config.compare.rounds
            )));
        }
    }
    Ok(())
}

/// The config path publish reads: the `config` input, else `tailgate.yml`.
pub fn config_path(ctx: &Context) -> PathBuf {
    ctx.inputs
        .config
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("tailgate.yml"))
}

/// The gate's config at the commit this (privileged) workflow runs on
/// (`GITHUB_SHA`), read with git in the workspace or else with the contents API;
/// never the working tree, which a step may have changed.
pub async fn trusted_config(
    ctx: &Context,
    gh: Option<&GitHub>,
) -> Result<(Config, ConfigNote), Refusal> {
    let sha = ctx
        .sha
        .clone()
        .ok_or_else(|| Refusal::Config("GITHUB_SHA is not set".into()))?;
    let read_from = ctx
        .git_ref
        .as_deref()
        .and_then(|r| r.strip_prefix("refs/heads/"))
        .unwrap_or("the default branch")
        .to_string();
    config_at(ctx, gh, sha, read_from).await
}

/// The gate's config at commit `sha` (of the branch `read_from`, for the note),
/// read with git in the workspace or else with the contents API; never the
/// working tree.
pub async fn config_at(
    ctx: &Context,
    gh: Option<&GitHub>,
    sha: String,
    read_from: String,
) -> Result<(Config, ConfigNote), Refusal> {
    let path = config_path(ctx);
    let repo_dir = ctx.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let copy = gate_config::read_at(ctx, &path, &repo_dir, &sha, gh)
        .await
        .map_err(|e| Refusal::Config(e.to_string()))?
        .ok_or_else(|| {
            Refusal::Config(format!(
                "commit {sha} has no `{}` (set the `config` input to its path)",
                path.display()
            ))
        })?;
    let base_dir = repo_dir
        .join(&path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo_dir.clone());
    // Only the gate is needed: the deployer's URLs and `${NAME}` values are not.
    let read = ReadOptions {
        env: Environment::ProcessOrPlaceholder,
        base_url: Some("http://127.0.0.1/".into()),
        head_url: Some("http://127.0.0.1/".into()),
    };
    let config = config::parse_with(&copy.text, &copy.source, &base_dir, &read)
        .map_err(|e| Refusal::Config(e.to_string()))?;
    let note = ConfigNote {
        path: gate_config::repo_relative(&path, &repo_dir),
        read_from,
        sha: Some(sha),
        via: copy.origin,
        change: crate::results::ConfigChange::Unchanged,
        diff: None,
        head_verdict: None,
    };
    Ok((config, note))
}

#[derive(Debug, Deserialize)]
struct PullRef {
    number: u64,
    #[serde(default)]
    state: Option<String>,
    head: CommitRef,
    base: BaseRef,
}

#[derive(Debug, Deserialize)]
struct CommitRef {
    sha: String,
}

#[derive(Debug, Deserialize)]
struct BaseRef {
    repo: Option<RepoRef>,
}

#[derive(Debug, Deserialize)]
struct RepoRef {
    full_name: String,
}

/// Open PRs into `repo` whose head is `sha`, by the API: first by head branch
/// (`pulls?head=owner:branch`), then by commit (`commits/{sha}/pulls`).
async fn pulls_with_head(
    gh: &GitHub,
    repo: &crate::context::Repo,
    sha: &str,
    head_repo: Option<&str>,
    head_branch: Option<&str>,
) -> Result<Vec<u64>, crate::github::GithubError> {
    let matching = |prs: Vec<PullRef>| -> Vec<u64> {
        let mut numbers: Vec<u64> = prs
            .into_iter()
            .filter(|p| p.head.sha == sha)
            .filter(|p| p.state.as_deref().is_none_or(|s| s == "open"))
            .filter(|p| {
                p.base
                    .repo
                    .as_ref()
                    .is_some_and(|r| r.full_name.eq_ignore_ascii_case(&repo.full_name()))
            })
            .map(|p| p.number)
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        numbers
    };
    let base = format!("/repos/{}/{}", repo.owner, repo.name);
    if let (Some(owner), Some(branch)) = (head_repo.and_then(|r| r.split('/').next()), head_branch)
    {
        let head = format!("{owner}:{branch}");
        let path = format!(
            "{base}/pulls?state=open&per_page=100&head={}",
            percent_encode(&head)
        );
        let found = matching(gh.get_json(&path, &LIST_PULLS).await?);
        if !found.is_empty() {
            return Ok(found);
        }
    }
    let path = format!("{base}/commits/{sha}/pulls?per_page=100");
    Ok(matching(gh.get_json(&path, &LIST_PULLS).await?))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The PR of a `workflow_run`, from trusted sources only: `listed` (the event's
/// `pull_requests`), else `found` (the API's open PRs with the measured head).
/// `file` (what the results file says) may pick among several, never add one;
/// naming another PR than the only one is refused.
pub fn choose_pr(
    listed: &[u64],
    found: &[u64],
    file: Option<u64>,
    sha: &str,
) -> Result<Option<u64>, Refusal> {
    let candidates = if listed.is_empty() { found } else { listed };
    match (candidates, file) {
        ([], _) => Ok(None),
        ([only], Some(n)) if *only != n => Err(Refusal::PullRequest {
            file: n,
            actual: *only,
            sha: sha.to_string(),
        }),
        ([only], _) => Ok(Some(*only)),
        (many, Some(n)) if many.contains(&n) => Ok(Some(n)),
        (many, Some(n)) => Err(Refusal::PullRequest {
            file: n,
            actual: many[0],
            sha: sha.to_string(),
        }),
        (_, None) => Ok(None),
    }
}

/// A results file that passed [`verify`], with what to tell the user.
#[derive(Debug)]
pub struct Verified {
    /// The results: measured rounds from the file; gate, comparison, verdict,
    /// commit and PR from trusted sources.
    pub results: RunResults,
    /// Why no PR was found, or an API call failed.
    pub notices: Vec<String>,
}

/// Verify an untrusted results file for publishing from a `workflow_run`, and
/// rebuild what is posted from trusted sources (see the module). Other triggers
/// publish the results of their own job: returned as they are.
pub async fn verify(
    ctx: &Context,
    gh: Option<&GitHub>,
    mut results: RunResults,
) -> Result<Verified, Refusal> {
    let (head_sha, pull_requests, head_repo, head_branch) = match &ctx.trigger {
        Trigger::WorkflowRun {
            head_sha,
            pull_requests,
            head_repo,
            head_branch,
            ..
        } => (head_sha, pull_requests, head_repo, head_branch),
        _ => return verify_in_place(ctx, gh, results).await,
    };
    let rc = &results.context;
    if rc.head_sha.as_deref() != Some(head_sha.as_str()) {
        return Err(Refusal::HeadSha {
            file: rc.head_sha.as_deref().map_or("(none)".to_string(), shown),
            event: head_sha.clone(),
        });
    }
    if let (Some(file), Some(repo)) = (&rc.repository, &ctx.repo) {
        if !file.eq_ignore_ascii_case(&repo.full_name()) {
            return Err(Refusal::Repository {
                file: shown(file),
                this: repo.full_name(),
            });
        }
    }
    check_measurements(&results)?;
    let (config, note) = trusted_config(ctx, gh).await?;
    rejudge(&mut results, &config, note)?;

    let mut notices = Vec::new();
    let found = match (pull_requests.is_empty(), gh, &ctx.repo) {
        (true, Some(gh), Some(repo)) => {
            match pulls_with_head(
                gh,
                repo,
                head_sha,
                head_repo.as_deref(),
                head_branch.as_deref(),
            )
            .await
            {
                Ok(found) => found,
                Err(e) => {
                    notices.push(format!(
                        "tailgate: could not find the PR of {head_sha}, so no comment: {e}"
                    ));
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    };
    let pr = choose_pr(
        pull_requests,
        &found,
        results.context.pull_request,
        head_sha,
    )?;
    if pr.is_none() && notices.is_empty() {
        notices.push(format!(
            "tailgate: no single open PR has {head_sha} as its head, so no comment (the check run \
             still goes on the commit)"
        ));
    }
    results.context.pull_request = pr;
    results.context.head_sha = Some(head_sha.clone());
    results.context.base_sha = None;
    Ok(Verified { results, notices })
}

/// [`verify`] outside `workflow_run`: the file was measured for this event (a
/// pull request's head, a release's commit), so it must be for this event's
/// commit and PR; its rounds are judged again under the gate's config — on a pull
/// request the base commit's copy, as `tailgate run` gates — and its own
/// comparison, verdict and recorded settings are never posted.
async fn verify_in_place(
    ctx: &Context,
    gh: Option<&GitHub>,
    mut results: RunResults,
) -> Result<Verified, Refusal> {
    let (sha, pr, gate_sha, read_from) = match &ctx.trigger {
        Trigger::PullRequest { pr, .. } => (
            Some(pr.head_sha.clone()),
            Some(pr.number),
            Some(pr.base_sha.clone()),
            pr.base_ref.clone(),
        ),
        Trigger::MergeGroup(group) => (
            Some(group.head_sha.clone()),
            None,
            Some(group.base_sha.clone()),
            group.base_ref.clone(),
        ),
        Trigger::Release { sha, git_ref, .. } => (
            sha.clone(),
            None,
            sha.clone().or_else(|| ctx.sha.clone()),
            git_ref
                .as_deref()
                .map(|r| r.trim_start_matches("refs/heads/").to_string())
                .unwrap_or_else(|| "this commit".into()),
        ),
        Trigger::WorkflowRun { .. } | Trigger::Local => (None, None, None, String::new()),
    };
    let rc = &results.context;
    if let Some(sha) = &sha {
        if rc.head_sha.as_deref() != Some(sha.as_str()) {
            return Err(Refusal::HeadSha {
                file: rc.head_sha.as_deref().map_or("(none)".to_string(), shown),
                event: sha.clone(),
            });
        }
    }
    if let (Some(file), Some(repo)) = (&rc.repository, &ctx.repo) {
        if !file.eq_ignore_ascii_case(&repo.full_name()) {
            return Err(Refusal::Repository {
                file: shown(file),
                this: repo.full_name(),
            });
        }
    }
    if let (Some(actual), Some(file)) = (pr, rc.pull_request) {
        if file != actual {
            return Err(Refusal::PullRequest {
                file,
                actual,
                sha: sha.clone().unwrap_or_default(),
            });
        }
    }
    check_measurements(&results)?;
    let Some(gate_sha) = gate_sha else {
        // Not on GitHub Actions: no commit names the gate, and nothing is posted
        // to GitHub; the rounds are still judged again under the file's limits.
        crate::results::recompute(&mut results)?;
        return Ok(Verified {
            results,
            notices: vec![
                "tailgate: not on GitHub Actions: the verdict is recomputed from the rounds under the file's recorded gate".into(),
            ],
        });
    };
    let (config, note) = config_at(ctx, gh, gate_sha, read_from).await?;
    // A release gate measures head alone; a comparison needs both sides.
    let head_alone = matches!(ctx.trigger, Trigger::Release { .. })
        && results
            .endpoints
            .iter()
            .all(|e| e.side(Side::Base).count() == 0);
    let sides: &[Side] = if head_alone {
        &[Side::Head]
    } else {
        &Side::BOTH
    };
    rejudge_sides(&mut results, &config, note, sides)?;
    if let Some(number) = pr {
        results.context.pull_request = Some(number);
    }
    Ok(Verified {
        results,
        notices: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pr_comes_from_trusted_sources() {
        let sha = "ec26c3e";
        assert_eq!(choose_pr(&[2], &[], None, sha).unwrap(), Some(2));
        assert_eq!(choose_pr(&[2], &[], Some(2), sha).unwrap(), Some(2));
        assert!(matches!(
            choose_pr(&[2], &[], Some(7), sha),
            Err(Refusal::PullRequest {
                file: 7,
                actual: 2,
                ..
            })
        ));
        assert_eq!(choose_pr(&[], &[3], None, sha).unwrap(), Some(3));
        assert!(choose_pr(&[], &[3], Some(4), sha).is_err());
        // Nothing trusted names a PR: the file cannot add one.
        assert_eq!(choose_pr(&[], &[], Some(4), sha).unwrap(), None);
        // Several: the file may pick one of them, not another.
        assert_eq!(choose_pr(&[5, 6], &[], Some(6), sha).unwrap(), Some(6));
        assert_eq!(choose_pr(&[5, 6], &[], None, sha).unwrap(), None);
        assert!(choose_pr(&[5, 6], &[], Some(9), sha).is_err());
    }

    #[test]
    fn shown_strings_cannot_start_a_line() {
        let s = shown("x\n::add-mask::y\r\n");
        assert!(!s.contains('\n') && !s.contains('\r'), "{s}");
        assert!(shown(&"a".repeat(500)).chars().count() < 90);
    }
}
