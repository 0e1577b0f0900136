//! The pull request's `accept_label`: a reviewer accepts a known regression for
//! the head commit the label was added on, and for no other.
//!
//! The acceptance is kept twice: in the history (`accepted/<sha>.json`) and in the
//! hidden marker of the sticky PR comment (`accepted=<label>` next to
//! `head=<sha>`). The next run of the same commit reads the history first, then
//! the comment through the API, so an acceptance outlives a history store the
//! workflow did not keep (the example workflow saves it on pushes only).

use crate::context::Context;
use crate::judge::verdict::Level;
use crate::publish;

/// Apply the PR's `accept_label`: a failing verdict passes when the label was
/// added for this head commit: the `labeled` event itself, or an acceptance an
/// earlier run of this commit left in the history or in the marker of the PR's
/// sticky comment (read back through the API, so it holds whatever the workflow
/// does with the history store). Returns whether the results changed.
pub(crate) async fn accept(
    ctx: &Context,
    label: &str,
    pr: &crate::context::PullRequest,
    history: Option<&crate::history::History>,
    results: &mut crate::results::RunResults,
) -> bool {
    if results.verdict.level != Level::Fail {
        return false;
    }
    let labeled_now =
        ctx.event_action.as_deref() == Some("labeled") && ctx.event_label.as_deref() == Some(label);
    let failing: Vec<String> = results
        .verdict
        .at(Level::Fail)
        .map(|c| format!("{} {}", c.endpoint, crate::report::checks::reason(c)))
        .collect();
    let short = crate::history::short;
    let mut recorded = None;
    // The commit an earlier acceptance named, when it is another one.
    let mut accepted_other = None;
    if !labeled_now && ctx.pr_labels.iter().any(|l| l == label) {
        if let Some(h) = history {
            match h.acceptance(&pr.head_sha).await {
                Ok(found) => recorded = found.filter(|a| a.label == label),
                Err(e) => eprintln!("tailgate: history: {e}"),
            }
        }
        if recorded.is_none() {
            match accepted_in_comments(ctx, pr.number, label, results).await {
                Ok(heads) => {
                    if let Some((_, at)) = heads.iter().find(|(head, _)| *head == pr.head_sha) {
                        recorded = Some(crate::results::Acceptance {
                            label: label.to_string(),
                            pull_request: pr.number,
                            head_sha: pr.head_sha.clone(),
                            accepted_at: at.clone(),
                            failing: failing.clone(),
                        });
                    } else {
                        accepted_other = heads.into_iter().next().map(|(head, _)| head);
                    }
                }
                Err(e) => {
                    let message = match &ctx.token {
                        Some(token) => token.redact(&e.to_string()),
                        None => e.to_string(),
                    };
                    eprintln!(
                        "tailgate: reading the PR's comments for an acceptance of {}: {message}",
                        short(&pr.head_sha)
                    );
                }
            }
        }
    }
    let acceptance = match recorded {
        Some(a) => a,
        None if labeled_now => {
            let a = crate::results::Acceptance {
                label: label.to_string(),
                pull_request: pr.number,
                head_sha: pr.head_sha.clone(),
                accepted_at: crate::results::now_rfc3339(),
                failing,
            };
            if let Some(h) = history {
                if let Err(e) = h.accept(&a).await {
                    eprintln!("tailgate: history: recording the acceptance: {e}");
                }
            }
            a
        }
        None => {
            if !ctx.pr_labels.iter().any(|l| l == label) {
                return false;
            }
            let warning = match accepted_other {
                Some(other) => format!(
                    "the label \"{label}\" was added for {}, an earlier commit: it does not accept {}; remove it and add it again to accept this one",
                    short(&other),
                    short(&pr.head_sha)
                ),
                None => format!(
                    "the label \"{label}\" is on the pull request, but no acceptance of {} was found (it was added for an earlier commit, or the record of it is gone); remove it and add it again to accept this one",
                    short(&pr.head_sha)
                ),
            };
            eprintln!("tailgate: {warning}");
            results.warnings.push(warning);
            return true;
        }
    };
    eprintln!(
        "tailgate: the failing verdict of {} is accepted by the label \"{label}\": {}",
        short(&acceptance.head_sha),
        acceptance.failing.join("; ")
    );
    results.verdict.level = Level::Pass;
    results.acceptance = Some(acceptance);
    true
}

/// The head commits the markers of tailgate's comments on PR `number` record as
/// accepted by `label`, latest run first, with when each comment was written.
/// Empty without a token or a repository (nothing to read).
async fn accepted_in_comments(
    ctx: &Context,
    number: u64,
    label: &str,
    results: &crate::results::RunResults,
) -> Result<Vec<(String, String)>, crate::github::GithubError> {
    let (Some(repo), Some(gh)) = (ctx.repo.as_ref(), publish::client(ctx, Default::default()))
    else {
        return Ok(Vec::new());
    };
    let config = crate::report::marker_for(results).config;
    let author = publish::comment::resolve_author(&gh).await;
    Ok(
        publish::comment::markers(&gh, repo, number, &config, &author)
            .await?
            .into_iter()
            .filter(|(m, _)| m.accepted.as_deref() == Some(label))
            .filter_map(|(m, at)| Some((m.head?, at)))
            .collect(),
    )
}
