//! The config that gates a pull request is the base branch's copy: a PR cannot
//! loosen its own gate. This reads it at the base sha — with `git show` when the
//! repository is checked out (fetching the one commit if a shallow clone lacks it),
//! else with the contents API — and compares it with the PR's copy for the note in
//! the comment.
//! <https://docs.github.com/en/rest/repos/contents#get-repository-content>

use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use similar::TextDiff;

use super::api::{Call, GitHub};
use super::GithubError;
use crate::context::Context;
use crate::results::{ConfigChange, ConfigNote, ConfigOrigin};

const CONTENTS: Call = Call {
    what: "reading the config at the base commit",
    permission: "contents: read",
};

/// Longest diff shown in the comment, in lines.
const DIFF_LINES: usize = 80;

/// One copy of the config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigCopy {
    /// Its text.
    pub text: String,
    /// A label for errors and reports: `tailgate.yml@f95f852`.
    pub source: String,
    /// How it was read.
    pub origin: ConfigOrigin,
    /// The commit it was read at (`None` for the working tree).
    pub sha: Option<String>,
}

/// The config that decides, the PR's copy, and the note for the comment.
#[derive(Debug, Clone, PartialEq)]
pub struct GateConfig {
    /// The copy that gates: parse this one.
    pub gate: ConfigCopy,
    /// The PR's copy (the working tree), when it exists and differs from `gate`.
    pub head: Option<ConfigCopy>,
    /// Where the gate came from and what the PR changes, for the report.
    pub note: ConfigNote,
}

/// `path` relative to `repo_dir`, with `/` separators (git and the API want that).
pub fn repo_relative(path: &Path, repo_dir: &Path) -> String {
    let rel = path.strip_prefix(repo_dir).unwrap_or(path);
    rel.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

async fn git(repo_dir: &Path, args: &[&str]) -> Result<crate::git::GitOutput, GithubError> {
    crate::git::output(repo_dir, args)
        .await
        .map_err(|e| GithubError::Git {
            args: e.args.join(" "),
            message: e.message,
        })
}

/// The file at `sha` with git: `Ok(None)` when the commit has no such file, `Err`
/// when git or the commit is not available.
async fn read_with_git(
    repo_dir: &Path,
    sha: &str,
    path: &str,
) -> Result<Option<String>, GithubError> {
    let commit = format!("{sha}^{{commit}}");
    let has_commit = |out: &crate::git::GitOutput| out.status.success();
    if !has_commit(&git(repo_dir, &["cat-file", "-e", &commit]).await?) {
        // A shallow checkout (actions/checkout's default) lacks the base commit.
        let _ = git(
            repo_dir,
            &["fetch", "--no-tags", "--quiet", "--depth=1", "origin", sha],
        )
        .await;
        if !has_commit(&git(repo_dir, &["cat-file", "-e", &commit]).await?) {
            return Err(GithubError::Git {
                args: format!("cat-file -e {commit}"),
                message: format!("commit {sha} is not in {}", repo_dir.display()),
            });
        }
    }
    let spec = format!("{sha}:./{path}");
    let out = git(repo_dir, &["show", &spec]).await?;
    if out.status.success() {
        return Ok(Some(out.stdout));
    }
    if out.stderr.contains("does not exist") || out.stderr.contains("exists on disk, but not in") {
        return Ok(None);
    }
    Err(GithubError::Git {
        args: format!("show {spec}"),
        message: out.stderr,
    })
}

#[derive(Deserialize)]
struct Contents {
    #[serde(rename = "type")]
    kind: String,
    encoding: Option<String>,
    content: Option<String>,
}

/// The file at `sha` with the contents API: `Ok(None)` on 404.
async fn read_with_api(
    gh: &GitHub,
    ctx: &Context,
    sha: &str,
    path: &str,
) -> Result<Option<String>, GithubError> {
    let repo = ctx
        .repo
        .as_ref()
        .ok_or_else(|| GithubError::NoTarget("GITHUB_REPOSITORY is not set".into()))?;
    let api_path = format!(
        "/repos/{}/{}/contents/{}?ref={sha}",
        repo.owner,
        repo.name,
        path.split('/')
            .map(percent_encode_segment)
            .collect::<Vec<_>>()
            .join("/")
    );
    let contents: Contents = match gh.get_json(&api_path, &CONTENTS).await {
        Ok(c) => c,
        Err(GithubError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let decode_err = |message: String| GithubError::Decode {
        what: CONTENTS.what.into(),
        message,
    };
    if contents.kind != "file" {
        return Err(decode_err(format!(
            "`{path}` is a {}, not a file",
            contents.kind
        )));
    }
    match contents.encoding.as_deref() {
        Some("base64") => {
            let packed: String = contents
                .content
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(packed)
                .map_err(|e| decode_err(e.to_string()))?;
            Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
        }
        other => Err(decode_err(format!(
            "`{path}` came with encoding {other:?} (larger than 1 MB?)"
        ))),
    }
}

fn percent_encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The config file `path` at commit `sha`, with git in `repo_dir` when it has the
/// commit, else with the contents API: never the working tree. `Ok(None)` when the
/// commit has no such file. For `tailgate publish`, which gates with the copy of
/// the commit its own (privileged) workflow runs on.
pub async fn read_at(
    ctx: &Context,
    path: &Path,
    repo_dir: &Path,
    sha: &str,
    gh: Option<&GitHub>,
) -> Result<Option<ConfigCopy>, GithubError> {
    let rel = repo_relative(path, repo_dir);
    let (text, origin) = match read_with_git(repo_dir, sha, &rel).await {
        Ok(text) => (text, ConfigOrigin::Git),
        Err(git_err) => match gh {
            Some(gh) => (
                read_with_api(gh, ctx, sha, &rel).await?,
                ConfigOrigin::ContentsApi,
            ),
            None => return Err(git_err),
        },
    };
    Ok(text.map(|text| ConfigCopy {
        text,
        source: format!("{rel}@{}", short(sha)),
        origin,
        sha: Some(sha.to_string()),
    }))
}

/// The config that gates this run. `path` is the config file (relative to
/// `repo_dir` or absolute inside it), `repo_dir` the checked-out repository
/// (`GITHUB_WORKSPACE`), `gh` a client for the contents API when git cannot help.
///
/// On a pull request the base sha's copy gates; if the base has none, the PR adds
/// the config and its own copy gates. Elsewhere the working tree's copy gates.
pub async fn gate_config(
    ctx: &Context,
    path: &Path,
    repo_dir: &Path,
    gh: Option<&GitHub>,
) -> Result<GateConfig, GithubError> {
    let rel = repo_relative(path, repo_dir);
    let full: PathBuf = repo_dir.join(&rel);
    let working = match tokio::fs::read_to_string(&full).await {
        Ok(text) => Some(ConfigCopy {
            text,
            source: rel.clone(),
            origin: ConfigOrigin::WorkingTree,
            sha: None,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(GithubError::Read {
                path: full.display().to_string(),
                message: e.to_string(),
            })
        }
    };
    let Some(pr) = ctx.compared() else {
        let gate = working.ok_or_else(|| GithubError::Read {
            path: full.display().to_string(),
            message: "no such file".into(),
        })?;
        let note = note_for(&rel, None, Some(&gate), "working tree");
        return Ok(GateConfig {
            gate,
            head: None,
            note,
        });
    };

    let (base_text, origin) = match read_with_git(repo_dir, pr.base_sha, &rel).await {
        Ok(text) => (text, ConfigOrigin::Git),
        Err(git_err) => match gh {
            Some(gh) => (
                read_with_api(gh, ctx, pr.base_sha, &rel).await?,
                ConfigOrigin::ContentsApi,
            ),
            None => return Err(git_err),
        },
    };
    let base = base_text.map(|text| ConfigCopy {
        text,
        source: format!("{rel}@{}", short(pr.base_sha)),
        origin,
        sha: Some(pr.base_sha.to_string()),
    });
    let note = note_for(&rel, base.as_ref(), working.as_ref(), pr.base_ref);
    match (base, working) {
        (Some(base), working) => {
            let head = working.filter(|w| w.text != base.text);
            Ok(GateConfig {
                gate: base,
                head,
                note,
            })
        }
        (None, Some(working)) => Ok(GateConfig {
            gate: working,
            head: None,
            note,
        }),
        (None, None) => Err(GithubError::Read {
            path: rel,
            message: format!(
                "neither the base commit {} nor the working tree has it",
                short(pr.base_sha)
            ),
        }),
    }
}

/// The note for the report, from the base copy (on a PR) and the working tree's.
/// `base_ref` names where the gating copy came from (`main`).
pub fn note_for(
    path: &str,
    base: Option<&ConfigCopy>,
    head: Option<&ConfigCopy>,
    base_ref: &str,
) -> ConfigNote {
    let (change, gate) = match (base, head) {
        (None, Some(h)) if h.origin == ConfigOrigin::WorkingTree && base_ref == "working tree" => {
            (ConfigChange::NotPullRequest, h)
        }
        (None, Some(h)) => (ConfigChange::Added, h),
        (Some(b), None) => (ConfigChange::Removed, b),
        (Some(b), Some(h)) if b.text == h.text => (ConfigChange::Unchanged, b),
        (Some(b), Some(_)) => (ConfigChange::Changed, b),
        (None, None) => {
            return ConfigNote {
                path: path.to_string(),
                read_from: base_ref.to_string(),
                sha: None,
                via: ConfigOrigin::WorkingTree,
                change: ConfigChange::NotPullRequest,
                diff: None,
                head_verdict: None,
            }
        }
    };
    let diff = match (change, base, head) {
        (ConfigChange::Changed, Some(b), Some(h)) => Some(unified_diff(&b.text, &h.text, path)),
        _ => None,
    };
    ConfigNote {
        path: path.to_string(),
        read_from: match change {
            ConfigChange::Added => "this PR".to_string(),
            _ => base_ref.to_string(),
        },
        sha: gate.sha.clone(),
        via: gate.origin,
        change,
        diff,
        head_verdict: None,
    }
}

/// A unified diff, at most [`DIFF_LINES`] lines.
fn unified_diff(old: &str, new: &str, path: &str) -> String {
    let diff = TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{path} (base)"), &format!("b/{path} (this PR)"))
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= DIFF_LINES {
        return text;
    }
    format!(
        "{}\n… {} more lines\n",
        lines[..DIFF_LINES].join("\n"),
        lines.len() - DIFF_LINES
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(text: &str, origin: ConfigOrigin, sha: Option<&str>) -> ConfigCopy {
        ConfigCopy {
            text: text.into(),
            source: "x".into(),
            origin,
            sha: sha.map(str::to_string),
        }
    }

    #[test]
    fn notes() {
        let base = copy("a: 1\nb: 2\n", ConfigOrigin::Git, Some("f95f852bd8"));
        let same = copy("a: 1\nb: 2\n", ConfigOrigin::WorkingTree, None);
        let changed = copy("a: 1\nb: 3\n", ConfigOrigin::WorkingTree, None);
        let n = note_for("tailgate.yml", Some(&base), Some(&same), "main");
        assert_eq!(n.change, ConfigChange::Unchanged);
        assert_eq!(n.sha.as_deref(), Some("f95f852bd8"));
        let n = note_for("tailgate.yml", Some(&base), Some(&changed), "main");
        assert_eq!(n.change, ConfigChange::Changed);
        let diff = n.diff.expect("diff");
        assert!(diff.contains("-b: 2") && diff.contains("+b: 3"), "{diff}");
        let n = note_for("tailgate.yml", None, Some(&changed), "main");
        assert_eq!(n.change, ConfigChange::Added);
        let n = note_for("tailgate.yml", None, Some(&same), "working tree");
        assert_eq!(n.change, ConfigChange::NotPullRequest);
    }

    #[test]
    fn paths() {
        assert_eq!(
            repo_relative(Path::new("/ws/perf/tailgate.yml"), Path::new("/ws")),
            "perf/tailgate.yml"
        );
        assert_eq!(
            repo_relative(Path::new("./tailgate.yml"), Path::new("/ws")),
            "tailgate.yml"
        );
        assert_eq!(percent_encode_segment("a b.yml"), "a%20b.yml");
    }
}
