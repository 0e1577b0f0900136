//! Git plumbing of the `local` deployer: resolve a ref, check it out into a
//! temporary worktree (`git worktree add --detach`), and remove it again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{BoxFuture, DeployError, Resource, TeardownList};
use crate::side::Side;

fn deploy_error(e: crate::git::GitError) -> DeployError {
    DeployError::Git {
        args: e.shown(),
        message: e.message,
    }
}

/// Run `git -C repo ARGS` to its end, whatever its exit status, with stdout trimmed.
async fn run_git(repo: &Path, args: &[&str]) -> Result<crate::git::GitOutput, DeployError> {
    let mut out = crate::git::output(repo, args).await.map_err(deploy_error)?;
    out.stdout = out.stdout.trim().to_string();
    Ok(out)
}

/// Run `git -C repo ARGS` and return its trimmed stdout; a failure carries git's
/// stderr.
async fn git(repo: &Path, args: &[&str]) -> Result<String, DeployError> {
    crate::git::run(repo, args).await.map_err(deploy_error)
}

/// The top folder of the git work tree `dir` is in, or `None` when it is in none
/// (or git is missing).
pub(crate) async fn toplevel(dir: &Path) -> Option<PathBuf> {
    let out = run_git(dir, &["rev-parse", "--show-toplevel"]).await.ok()?;
    (out.status.success() && !out.stdout.is_empty()).then(|| PathBuf::from(out.stdout))
}

/// The full commit id `git_ref` names in `repo`. The error names the ref and says
/// how to make it available.
pub(crate) async fn resolve_commit(repo: &Path, git_ref: &str) -> Result<String, DeployError> {
    let spec = format!("{git_ref}^{{commit}}");
    let args = ["rev-parse", "--verify", "--quiet", spec.as_str()];
    let error = |message: String| DeployError::Git {
        args: format!("-C {} {}", repo.display(), args.join(" ")),
        message,
    };
    let missing = |detail: &str| {
        error(format!(
            "ref `{git_ref}` does not name a commit in {}{detail}; check the ref, or fetch \
             it first (a shallow CI checkout lacks other branches: use `fetch-depth: 0` \
             with actions/checkout, or `git fetch origin {git_ref}`)",
            repo.display()
        ))
    };
    if git_ref.is_empty() || git_ref.starts_with('-') {
        return Err(missing(" (a ref cannot be empty or start with `-`)"));
    }
    let out = run_git(repo, &args).await?;
    if out.status.success() && !out.stdout.is_empty() {
        return Ok(out.stdout);
    }
    if out.stderr.contains("not a git repository") {
        return Err(error(format!(
            "{} is not a git repository; set `deploy.repo`, or turn `deploy.worktree` off \
             ({})",
            repo.display(),
            out.stderr
        )));
    }
    // `--quiet` makes a missing ref a silent exit 1; anything else git says is shown.
    if out.stderr.is_empty() {
        Err(missing(""))
    } else {
        Err(missing(&format!(" ({})", out.stderr)))
    }
}

/// Check `sha` out, detached, into `<tmp>/tailgate-<side>-<pid>-<n>/<side>`.
///
/// The temporary directory is registered with `cleanup` as soon as it exists, before
/// git runs, so a failed or cancelled `worktree add` is cleaned up too. Returns the
/// worktree's path.
pub(crate) async fn add_worktree(
    repo: &Path,
    side: Side,
    sha: &str,
    cleanup: &TeardownList,
) -> Result<PathBuf, DeployError> {
    let temp_dir = make_temp_dir(side).map_err(|source| DeployError::Io {
        context: format!(
            "creating a temporary directory for the {side} worktree in {}",
            std::env::temp_dir().display()
        ),
        source,
    })?;
    let path = temp_dir.join(side.as_str());
    cleanup.register(Box::new(WorktreeResource {
        repo: repo.to_path_buf(),
        temp_dir,
        path: path.clone(),
    }));
    let path_arg = path.to_string_lossy();
    git(repo, &["worktree", "add", "--detach", &path_arg, sha]).await?;
    Ok(path)
}

/// A temporary directory holding (maybe) a git worktree.
struct WorktreeResource {
    repo: PathBuf,
    temp_dir: PathBuf,
    path: PathBuf,
}

impl Resource for WorktreeResource {
    fn describe(&self) -> String {
        format!("worktree {}", self.path.display())
    }

    fn teardown(self: Box<Self>) -> BoxFuture<'static, Result<(), DeployError>> {
        Box::pin(async move { self.remove().await })
    }
}

impl WorktreeResource {
    /// `git worktree remove`, delete the directory, `git worktree prune`; then check
    /// that git no longer lists the worktree.
    async fn remove(&self) -> Result<(), DeployError> {
        let path_arg = self.path.to_string_lossy();
        // Twice `--force`: also removes a worktree left locked by an interrupted add.
        // Fails harmlessly when the add never happened.
        let removed = git(
            &self.repo,
            &["worktree", "remove", "--force", "--force", &path_arg],
        )
        .await;
        match tokio::fs::remove_dir_all(&self.temp_dir).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(DeployError::Io {
                    context: format!("removing {}", self.temp_dir.display()),
                    source,
                })
            }
        }
        git(&self.repo, &["worktree", "prune"]).await?;
        let listed = git(&self.repo, &["worktree", "list", "--porcelain"]).await?;
        let still_listed = listed
            .lines()
            .filter_map(|line| line.strip_prefix("worktree "))
            .any(|p| Path::new(p) == self.path);
        match (still_listed, removed) {
            (false, _) => Ok(()),
            (true, Err(err)) => Err(err),
            (true, Ok(_)) => Err(DeployError::Git {
                args: format!("-C {} worktree list", self.repo.display()),
                message: format!(
                    "{} is still listed after removal; run `git worktree prune`",
                    self.path.display()
                ),
            }),
        }
    }
}

/// Create a new, recognisable directory `tailgate-<side>-<pid>-<unique>` in the
/// system's temporary directory and return its canonical path (git prints
/// canonical paths).
fn make_temp_dir(side: Side) -> std::io::Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let parent = std::env::temp_dir().canonicalize()?;
    let pid = std::process::id();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = parent.join(format!("tailgate-{side}-{pid}-{n}-{nanos:08x}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 100 => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dirs_are_recognisable_and_unique() {
        let a = make_temp_dir(Side::Base).unwrap();
        let b = make_temp_dir(Side::Base).unwrap();
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!("tailgate-base-{}-", std::process::id())),
            "{name}"
        );
        std::fs::remove_dir(a).unwrap();
        std::fs::remove_dir(b).unwrap();
    }

    #[tokio::test]
    async fn refs_that_look_like_options_are_refused() {
        let err = resolve_commit(Path::new("."), "--all").await.unwrap_err();
        assert!(err.to_string().contains("`--all`"), "{err}");
    }
}
