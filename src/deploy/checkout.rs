//! Each side of a `cloudformation` or `command` deploy from its own commit: the
//! side's sha checked out into its own git worktree (as the `local` deployer does,
//! removed the same way), then the optional `build` command run there. Without
//! this, both stacks would be built from the one checkout the run stands in, and
//! the comparison would be head against head.

use std::path::{Path, PathBuf};

use super::spawn::run;
use super::worktree::{add_worktree, resolve_commit, toplevel};
use super::{DeployError, TeardownList};
use crate::config::SideBuild;
use crate::side::Side;

/// A side's folder, ready to deploy from.
#[derive(Debug, Clone)]
pub(crate) struct SideDir {
    /// The folder that stands for `dir` in the side's checkout.
    pub dir: PathBuf,
    /// The commit checked out, when the side has its own worktree.
    pub sha: Option<String>,
    /// How the folder came to be, for the report's details.
    pub note: String,
}

impl SideDir {
    /// `path` (inside the run's own checkout, under `dir`) in the side's checkout.
    pub fn map(&self, dir: &Path, path: &Path) -> PathBuf {
        match path.strip_prefix(dir) {
            Ok(rel) => self.dir.join(rel),
            Err(_) => path.to_path_buf(),
        }
    }
}

/// Check `side` out at `git_ref` (when `sides.worktree` says so, or, by default,
/// when `dir` is in a git repository), then run `sides.build` in its folder.
pub(crate) async fn prepare(
    dir: &Path,
    sides: &SideBuild,
    side: Side,
    git_ref: &str,
    env: &[(String, String)],
    cleanup: &TeardownList,
) -> Result<SideDir, DeployError> {
    let top = match sides.worktree {
        Some(false) => None,
        Some(true) => Some(toplevel(dir).await.ok_or_else(|| DeployError::Git {
            args: format!("-C {} rev-parse --show-toplevel", dir.display()),
            message: format!(
                "{} is not in a git repository, so {side} cannot be checked out; set `worktree: false` to deploy both sides from it as it is",
                dir.display()
            ),
        })?),
        None => toplevel(dir).await,
    };
    let mut side_dir = match top {
        Some(top) => {
            let sha = resolve_commit(&top, git_ref).await?;
            let tree = add_worktree(&top, side, &sha, cleanup).await?;
            let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
            let rel = canonical(dir)
                .strip_prefix(canonical(&top))
                .map(Path::to_path_buf)
                .unwrap_or_default();
            SideDir {
                dir: tree.join(rel),
                note: format!("worktree of {} at {}", git_ref, &sha[..sha.len().min(12)]),
                sha: Some(sha),
            }
        }
        None => SideDir {
            dir: dir.to_path_buf(),
            sha: None,
            note: format!(
                "{} as it is (not a git repository: both sides deploy the same files)",
                dir.display()
            ),
        },
    };
    if let Some(build) = &sides.build {
        let mut env = env.to_vec();
        if let Some(sha) = &side_dir.sha {
            env.push(("TAILGATE_SHA".into(), sha.clone()));
        }
        let fail = |message: String, output: String| DeployError::Command {
            side,
            which: "build",
            message,
            output,
        };
        let done = run(build, &side_dir.dir, &env, sides.build_timeout)
            .await
            .map_err(|e| fail(e.to_string(), String::new()))?;
        if !done.success {
            return Err(fail(format!("exited with {}", done.status), done.tail));
        }
        side_dir.note.push_str(&format!("; built with `{build}`"));
    }
    Ok(side_dir)
}
