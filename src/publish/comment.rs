//! One sticky comment per PR (per config): page through every comment, find ours by
//! its hidden [`Marker`] AND its author, update it in place, else create it.
//!
//! Two runs racing on one PR end with one comment showing the newer head:
//! - a run whose head is no longer the PR's head (a newer push exists) never
//!   overwrites an existing comment;
//! - a run never overwrites a comment written by a later run (run ids only grow);
//! - after creating, the list is read again and duplicates are deleted, keeping
//!   the best-ranked one (current head, then latest run, then oldest comment), which
//!   every racer computes the same way.

use http::Method;
use octocrab::models::issues::Comment;
use serde_json::json;

use crate::context::CommentPolicy;
use crate::context::Repo;
use crate::github::api::{Call, GitHub};
use crate::github::GithubError;
use crate::report::Marker;

/// The login comments are written by with the workflow's `GITHUB_TOKEN`.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

const LIST: Call = Call {
    what: "listing the PR's comments",
    permission: "pull-requests: read",
};
const CREATE: Call = Call {
    what: "creating the PR comment",
    permission: "pull-requests: write",
};
const UPDATE: Call = Call {
    what: "updating the PR comment",
    permission: "pull-requests: write",
};
const DELETE: Call = Call {
    what: "deleting a duplicate PR comment",
    permission: "pull-requests: write",
};
const WHOAMI: Call = Call {
    what: "finding the token's user",
    permission: "contents: read",
};
const GET_PR: Call = Call {
    what: "reading the pull request",
    permission: "pull-requests: read",
};

/// What to post, where, and as whom.
#[derive(Debug, Clone)]
pub struct Upsert<'a> {
    /// The repository.
    pub repo: &'a Repo,
    /// The PR number.
    pub number: u64,
    /// The full comment body, ending with the marker.
    pub body: &'a str,
    /// Our marker (as rendered into `body`).
    pub marker: &'a Marker,
    /// The login our comments are written by.
    pub author: &'a str,
    /// When to comment.
    pub policy: CommentPolicy,
    /// Whether this run is worth a comment when none exists yet (the policy
    /// applied to the verdict; see [`wants_new_comment`]).
    pub wants_new: bool,
    /// The PR's current head, when known: a run for an older head is stale.
    pub current_head: Option<&'a str>,
}

/// What the upsert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentAction {
    /// A new comment.
    Created {
        /// Its id.
        id: u64,
        /// Its link.
        url: String,
    },
    /// Our existing comment, updated in place.
    Updated {
        /// Its id.
        id: u64,
        /// Its link.
        url: String,
    },
    /// Nothing written, and why.
    Skipped(String),
}

/// Whether a run with this verdict deserves a new comment under `policy`.
/// `changed`: some metric improved or regressed. An existing comment is always
/// kept current, whatever the policy but `never`.
pub fn wants_new_comment(policy: CommentPolicy, level: &str, changed: bool) -> bool {
    match policy {
        CommentPolicy::Always => true,
        CommentPolicy::Never => false,
        CommentPolicy::OnFailure => matches!(level, "fail" | "error"),
        CommentPolicy::OnChange => changed || level != "pass",
    }
}

/// The login of the token's user (`GET /user`); an Actions or app installation
/// token cannot read it, and then comments are written by `github-actions[bot]`.
pub async fn resolve_author(gh: &GitHub) -> String {
    #[derive(serde::Deserialize)]
    struct User {
        login: String,
    }
    match gh.get_json::<User>("/user", &WHOAMI).await {
        Ok(user) => user.login,
        Err(_) => ACTIONS_BOT.to_string(),
    }
}

/// The PR's current head sha (`GET /repos/{o}/{r}/pulls/{n}`).
pub async fn current_head(gh: &GitHub, repo: &Repo, number: u64) -> Result<String, GithubError> {
    let pr: octocrab::models::pulls::PullRequest = gh
        .get_json(
            &format!("/repos/{}/{}/pulls/{number}", repo.owner, repo.name),
            &GET_PR,
        )
        .await?;
    Ok(pr.head.sha)
}

/// Rank of a comment: current head first, then the latest run.
fn rank(marker: &Marker, current_head: Option<&str>) -> (bool, u64) {
    let is_current = match (current_head, &marker.head) {
        (Some(cur), Some(head)) => cur == head,
        _ => false,
    };
    (is_current, marker.run.unwrap_or(0))
}

/// Our comments on the PR: right marker key and right author.
async fn ours(gh: &GitHub, req: &Upsert<'_>) -> Result<Vec<(Comment, Marker)>, GithubError> {
    comments_for(gh, req.repo, req.number, &req.marker.config, req.author).await
}

/// The comments on PR `number` written by `author` with a marker for `config`.
async fn comments_for(
    gh: &GitHub,
    repo: &Repo,
    number: u64,
    config: &str,
    author: &str,
) -> Result<Vec<(Comment, Marker)>, GithubError> {
    let path = format!(
        "/repos/{}/{}/issues/{number}/comments?per_page=100",
        repo.owner, repo.name
    );
    let all: Vec<Comment> = gh.paginate(&path, &LIST).await?;
    Ok(all
        .into_iter()
        .filter(|c| c.user.login.eq_ignore_ascii_case(author))
        .filter_map(|c| {
            let marker = Marker::parse(c.body.as_deref()?)?;
            (marker.config == config).then_some((c, marker))
        })
        .collect())
}

/// The markers of tailgate's comments on PR `number` for `config` (written by
/// `author`), each with when its comment was last written (RFC 3339): what the
/// earlier runs of the PR decided, latest run first. The sticky comment's marker
/// is where an acceptance by the PR's label outlives any history store.
pub async fn markers(
    gh: &GitHub,
    repo: &Repo,
    number: u64,
    config: &str,
    author: &str,
) -> Result<Vec<(Marker, String)>, GithubError> {
    let mut out: Vec<(Marker, String)> = comments_for(gh, repo, number, config, author)
        .await?
        .into_iter()
        .map(|(c, m)| (m, c.updated_at.unwrap_or(c.created_at).to_rfc3339()))
        .collect();
    out.sort_by_key(|(m, _)| std::cmp::Reverse(m.run.unwrap_or(0)));
    Ok(out)
}

/// The best of `comments` (see the module doc); oldest wins a tie.
fn best<'c>(comments: &'c [(Comment, Marker)], current_head: Option<&str>) -> Option<&'c Comment> {
    comments
        .iter()
        .max_by(|a, b| {
            rank(&a.1, current_head)
                .cmp(&rank(&b.1, current_head))
                .then(b.0.id.0.cmp(&a.0.id.0))
        })
        .map(|(c, _)| c)
}

async fn delete(gh: &GitHub, repo: &Repo, id: u64) -> Result<(), GithubError> {
    let path = format!("/repos/{}/{}/issues/comments/{id}", repo.owner, repo.name);
    match gh.send(Method::DELETE, &path, None, &DELETE).await {
        Ok(_) | Err(GithubError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Create or update our comment; see the module doc for the rules.
pub async fn upsert(gh: &GitHub, req: &Upsert<'_>) -> Result<CommentAction, GithubError> {
    if req.policy == CommentPolicy::Never {
        return Ok(CommentAction::Skipped(
            "the `comment` input is `never`".into(),
        ));
    }
    let existing = ours(gh, req).await?;
    let our_rank = rank(req.marker, req.current_head);
    let stale =
        matches!((req.current_head, &req.marker.head), (Some(cur), Some(head)) if cur != head);
    if let Some(found) = best(&existing, req.current_head) {
        let found_marker = existing
            .iter()
            .find(|(c, _)| c.id == found.id)
            .map(|(_, m)| m.clone())
            .unwrap_or_default();
        if stale {
            return Ok(CommentAction::Skipped(format!(
                "the PR's head moved on to {}; the comment is left to the run for that commit",
                req.current_head.unwrap_or_default()
            )));
        }
        if rank(&found_marker, req.current_head) > our_rank {
            return Ok(CommentAction::Skipped(format!(
                "a later run ({}) already updated the comment",
                found_marker.run.unwrap_or(0)
            )));
        }
        let path = format!(
            "/repos/{}/{}/issues/comments/{}",
            req.repo.owner, req.repo.name, found.id
        );
        let reply = gh
            .send(
                Method::PATCH,
                &path,
                Some(&json!({ "body": req.body })),
                &UPDATE,
            )
            .await?;
        let updated: Comment = reply.json(&UPDATE)?;
        for (dup, _) in existing.iter().filter(|(c, _)| c.id != found.id) {
            delete(gh, req.repo, dup.id.0).await?;
        }
        return Ok(CommentAction::Updated {
            id: updated.id.0,
            url: updated.html_url.to_string(),
        });
    }
    if !req.wants_new {
        return Ok(CommentAction::Skipped(format!(
            "nothing to report under the `comment: {}` policy",
            req.policy
        )));
    }
    let path = format!(
        "/repos/{}/{}/issues/{}/comments",
        req.repo.owner, req.repo.name, req.number
    );
    let reply = gh
        .send(
            Method::POST,
            &path,
            Some(&json!({ "body": req.body })),
            &CREATE,
        )
        .await?;
    let created: Comment = reply.json(&CREATE)?;
    // A racing run may have created one too: keep the best, delete the rest.
    let now = ours(gh, req).await?;
    if now.len() > 1 {
        let keep = best(&now, req.current_head).map(|c| c.id);
        for (dup, _) in now.iter().filter(|(c, _)| Some(c.id) != keep) {
            delete(gh, req.repo, dup.id.0).await?;
        }
        if keep != Some(created.id) {
            return Ok(CommentAction::Skipped(
                "a racing run for a newer commit posted the comment; ours was removed".into(),
            ));
        }
    }
    Ok(CommentAction::Created {
        id: created.id.0,
        url: created.html_url.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        use CommentPolicy::*;
        assert!(wants_new_comment(Always, "pass", false));
        assert!(!wants_new_comment(Never, "fail", true));
        assert!(!wants_new_comment(OnFailure, "warn", true));
        assert!(wants_new_comment(OnFailure, "error", false));
        assert!(!wants_new_comment(OnChange, "pass", false));
        assert!(wants_new_comment(OnChange, "pass", true));
    }

    #[test]
    fn current_head_outranks_later_run() {
        let m = |head: &str, run| Marker {
            config: "c".into(),
            head: Some(head.into()),
            run: Some(run),
            verdict: None,
            accepted: None,
        };
        assert!(rank(&m("new", 1), Some("new")) > rank(&m("old", 9), Some("new")));
        assert!(rank(&m("a", 2), None) > rank(&m("a", 1), None));
    }
}
