//! git: the one way tailgate runs it (worktrees of the `local` deployer, the gate's
//! config at the base commit, history's commit candidates, the commit a run
//! records). Async (`tokio::process`), killed when the future is dropped; an error
//! names the command and says what git said.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

/// What a finished git command said (whatever its exit status).
#[derive(Debug, Clone)]
pub struct GitOutput {
    /// The exit status.
    pub status: ExitStatus,
    /// stdout, as printed (lossy UTF-8).
    pub stdout: String,
    /// stderr, trimmed (lossy UTF-8).
    pub stderr: String,
}

/// A git command that could not run, or that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("git {} failed: {message}", self.shown())]
pub struct GitError {
    /// The folder git ran in (`git -C`).
    pub dir: PathBuf,
    /// The arguments after `-C dir`.
    pub args: Vec<String>,
    /// git's stderr (or its exit status when it printed nothing), or why it could
    /// not be started.
    pub message: String,
}

impl GitError {
    /// The command as shown in messages: `-C <dir> <args>`.
    pub fn shown(&self) -> String {
        format!("-C {} {}", self.dir.display(), self.args.join(" "))
    }
}

fn error(dir: &Path, args: &[&str], message: String) -> GitError {
    GitError {
        dir: dir.to_path_buf(),
        args: args.iter().map(|a| a.to_string()).collect(),
        message,
    }
}

/// Run `git -C dir ARGS` to its end, whatever its exit status; `Err` only when git
/// could not be run.
pub async fn output(dir: &Path, args: &[&str]) -> Result<GitOutput, GitError> {
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| {
            error(
                dir,
                args,
                format!("could not run git (is it installed and on PATH?): {e}"),
            )
        })?;
    Ok(GitOutput {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// Run `git -C dir ARGS` and return its trimmed stdout; a non-zero exit is an error
/// carrying git's stderr.
pub async fn run(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let out = output(dir, args).await?;
    if out.status.success() {
        return Ok(out.stdout.trim().to_string());
    }
    Err(error(
        dir,
        args,
        if out.stderr.is_empty() {
            out.status.to_string()
        } else {
            out.stderr
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_names_the_command_and_what_git_said() {
        let dir = std::env::temp_dir();
        let err = run(&dir, &["rev-parse", "--verify", "no-such-ref-anywhere"])
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("git -C {} rev-parse --verify", dir.display())),
            "{text}"
        );
        assert!(!err.message.is_empty(), "{text}");
    }
}
