//! The check run: the verdict as a check on the PR's head commit, so it shows in the
//! PR's checks list and can be a required status check.
//!
//! It goes to the PR's *head* sha: `GITHUB_SHA` of a `pull_request` run is the
//! temporary merge commit, and a check there never appears on the PR.
//! <https://docs.github.com/en/rest/checks/runs#create-a-check-run>

use http::Method;
use octocrab::models::checks::CheckRun;
use serde_json::json;

use crate::config::Mode;
use crate::context::Repo;
use crate::github::api::{Call, GitHub};
use crate::github::GithubError;
use crate::judge::verdict::{Level, Verdict};

/// GitHub's limit on `output.summary` and `output.text`.
pub const OUTPUT_LIMIT: usize = 65_535;

const CREATE: Call = Call {
    what: "creating the check run",
    permission: "checks: write",
};

/// A check run to create.
#[derive(Debug, Clone)]
pub struct CheckRequest<'a> {
    /// The repository.
    pub repo: &'a Repo,
    /// The check's name (`tailgate`).
    pub name: &'a str,
    /// The commit: the PR's head sha.
    pub head_sha: &'a str,
    /// One line: the headline.
    pub title: &'a str,
    /// Markdown (the comment body; cut to [`OUTPUT_LIMIT`]).
    pub summary: &'a str,
    /// The conclusion (see [`conclusion`]).
    pub conclusion: &'static str,
    /// A link to the workflow run.
    pub details_url: Option<&'a str>,
}

/// The check conclusion of a verdict: `failure` only when the gate blocks (or the
/// run failed); a failing advisory gate and warnings are `neutral`.
pub fn conclusion(verdict: &Verdict) -> &'static str {
    match (verdict.level, verdict.mode) {
        (Level::Pass, _) => "success",
        (Level::Warn, _) => "neutral",
        (Level::Fail, Mode::Advisory) => "neutral",
        (Level::Fail, Mode::Blocking) | (Level::Error, _) => "failure",
    }
}

/// `text` cut to at most `limit` characters on a line boundary, with a note.
pub fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let note = "\n\n… (cut to fit GitHub's limit; the full report is in the job summary)";
    let keep = limit.saturating_sub(note.chars().count());
    let mut end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    if let Some(nl) = text[..end].rfind('\n') {
        end = nl;
    }
    format!("{}{note}", &text[..end])
}

/// Create a completed check run; returns its link.
pub async fn create(gh: &GitHub, req: &CheckRequest<'_>) -> Result<String, GithubError> {
    let mut body = json!({
        "name": req.name,
        "head_sha": req.head_sha,
        "status": "completed",
        "conclusion": req.conclusion,
        "output": {
            "title": cut(req.title, 1000),
            "summary": cut(req.summary, OUTPUT_LIMIT),
        },
    });
    if let Some(url) = req.details_url {
        body["details_url"] = json!(url);
    }
    let path = format!("/repos/{}/{}/check-runs", req.repo.owner, req.repo.name);
    let reply = gh.send(Method::POST, &path, Some(&body), &CREATE).await?;
    let run: CheckRun = reply.json(&CREATE)?;
    Ok(run.html_url.unwrap_or(run.url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conclusions() {
        let v = |level, mode| Verdict {
            level,
            mode,
            checks: Vec::new(),
            error: None,
        };
        assert_eq!(conclusion(&v(Level::Fail, Mode::Blocking)), "failure");
        assert_eq!(conclusion(&v(Level::Fail, Mode::Advisory)), "neutral");
        assert_eq!(conclusion(&v(Level::Error, Mode::Advisory)), "failure");
        assert_eq!(conclusion(&v(Level::Pass, Mode::Blocking)), "success");
    }

    #[test]
    fn cuts_on_a_line() {
        let text = "line one\nline two\nline three";
        let out = cut(text, 90);
        assert_eq!(out, text);
        let out = cut(&"x\n".repeat(100), 80);
        assert!(out.chars().count() <= 80, "{}", out.len());
        assert!(out.ends_with("job summary)"));
    }

    #[test]
    fn fixture_shape_decodes() {
        let text = include_str!("../../tests/fixtures/github-api/check_run.json");
        let run: CheckRun = serde_json::from_str(text).expect("octocrab's CheckRun model");
        assert_eq!(run.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    }
}
