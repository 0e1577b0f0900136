//! The one way a shell command is started: `sh -c COMMAND` in a process group of
//! its own (so a stop or a timeout reaches everything it started), stdin from
//! `/dev/null`, stdout and stderr piped, killed when dropped. Services
//! ([`super::process`]) keep running and are stopped at teardown; commands (`up`,
//! `down`, a side's `build`) are [`run`] to their end.

use std::io;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Child;

/// Lines of a command's output kept for error messages.
const TAIL_LINES: usize = 40;

/// Start `sh -c command` in `dir` with `env` added to the inherited environment
/// (later entries win), as the leader of a new process group (its pgid is its pid).
pub(crate) fn shell(command: &str, dir: &Path, env: &[(String, String)]) -> io::Result<Child> {
    tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
}

/// What a command printed and how it ended.
#[derive(Debug)]
pub(crate) struct Finished {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub tail: String,
}

fn push_tail(tail: &Mutex<Vec<String>>, line: String) {
    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
    t.push(line);
    if t.len() > TAIL_LINES {
        t.remove(0);
    }
}

async fn collect<R: AsyncRead + Unpin>(
    reader: R,
    tail: Arc<Mutex<Vec<String>>>,
    keep: bool,
) -> String {
    let mut lines = BufReader::new(reader).lines();
    let mut all = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if keep {
            all.push_str(&line);
            all.push('\n');
        }
        push_tail(&tail, line);
    }
    all
}

/// Kills the command's whole process group when dropped (timeout, cancellation).
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Why a command did not run to its end (a non-zero exit is a [`Finished`]).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    /// `sh -c` could not be started.
    #[error("cannot start `sh -c`: {0}")]
    Spawn(#[source] io::Error),
    /// The command ran past its time limit; its process group was killed.
    #[error("timed out after {after:?}; last output:\n{tail}")]
    TimedOut {
        /// The time limit.
        after: Duration,
        /// The last lines of its output.
        tail: String,
    },
    /// Waiting for the command failed.
    #[error("waiting for the command failed: {0}")]
    Wait(#[source] io::Error),
}

/// Run `command` with `sh -c` in `dir`; `Err` is a spawn failure or the timeout.
pub(crate) async fn run(
    command: &str,
    dir: &Path,
    env: &[(String, String)],
    timeout: Duration,
) -> Result<Finished, RunError> {
    let mut child = shell(command, dir, env).map_err(RunError::Spawn)?;
    let mut guard = GroupGuard(child.id().and_then(|id| i32::try_from(id).ok()));
    let tail = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let work = async {
        let out = async {
            match stdout {
                Some(s) => collect(s, tail.clone(), true).await,
                None => String::new(),
            }
        };
        let err = async {
            if let Some(s) = stderr {
                collect(s, tail.clone(), false).await;
            }
        };
        let (stdout, (), status) = tokio::join!(out, err, child.wait());
        (stdout, status)
    };
    let (stdout, status) = match tokio::time::timeout(timeout, work).await {
        Ok(done) => done,
        Err(_) => {
            drop(guard);
            let tail = tail.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
            return Err(RunError::TimedOut {
                after: timeout,
                tail,
            });
        }
    };
    // The command ended: its group may still hold background children; end them too.
    drop(std::mem::replace(&mut guard, GroupGuard(None)));
    let status = status.map_err(RunError::Wait)?;
    let tail = tail.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
    Ok(Finished {
        success: status.success(),
        status: status.to_string(),
        stdout,
        tail,
    })
}
