//! Services started on this machine: spawn, capture output, probe, stop.
//!
//! A service runs as `sh -c COMMAND` in a process group of its own, so a stop reaches
//! everything the command started (`cargo run` and the server it builds, a
//! `npm start` wrapper and its node process). The stop follows the convention of
//! `docker stop` and systemd (`KillMode=control-group`, `TimeoutStopSec`): SIGTERM to
//! the whole group, a grace period, then SIGKILL to the group.
//!
//! The group leader is not reaped before the stop is over. A leader that has exited
//! but not been reaped keeps its pid, and with it the group id, from being reused, so
//! a signal sent to the group can only ever reach processes we started. Exit is
//! detected without reaping with `waitid(..., WNOWAIT)` where the platform has it.
//! A process that leaves its group on purpose (`setsid`, a daemonising server) is out
//! of reach; `kill_on_drop` is the last resort for the leader itself.

use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::Child;
use tokio::task::JoinHandle;

use super::output::{capture, OutputTail};
use super::ready::LocalProbe;
use super::{BoxFuture, DeployError, Resource, TeardownList};
use crate::side::Side;

/// Time limit of one readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// First pause between probes; it doubles up to [`MAX_PROBE_PAUSE`].
const FIRST_PROBE_PAUSE: Duration = Duration::from_millis(50);
/// Longest pause between probes.
const MAX_PROBE_PAUSE: Duration = Duration::from_millis(250);
/// How often a stop checks whether the group is gone.
const STOP_POLL: Duration = Duration::from_millis(20);
/// How long to wait for the group to die after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for the output readers after the process exited early (a
/// grandchild may keep the pipes open).
const OUTPUT_DRAIN_WAIT: Duration = Duration::from_secs(1);

/// A TCP port on 127.0.0.1 that was free a moment ago.
///
/// Binds port 0, reads the port the kernel chose and closes the socket. Another
/// process may take the port before the service binds it; the readiness probe would
/// then fail or reach the wrong server, which is rare enough on a CI runner to accept.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// What to start: a shell command, where, and with which environment.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// The command line, run by `sh -c`.
    pub command: String,
    /// Working directory.
    pub cwd: PathBuf,
    /// Environment added to the inherited one (later entries win).
    pub env: Vec<(String, String)>,
    /// The side this process serves.
    pub side: Side,
    /// A short name for logs and teardown messages (a ref, a label).
    pub label: String,
    /// Time between SIGTERM and SIGKILL when the process is stopped.
    pub stop_timeout: Duration,
}

impl ProcessSpec {
    /// Spawn the command in a new process group and register its stop with `cleanup`
    /// before returning, so no exit path (error, cancellation) can leak it.
    ///
    /// stdin is `/dev/null`; stdout and stderr are read by background tasks into a
    /// ring buffer of the last lines ([`RunningProcess::output_tail`]).
    ///
    /// Must be called inside a Tokio runtime (it spawns the output readers).
    pub fn start(self, cleanup: &TeardownList) -> Result<RunningProcess, DeployError> {
        let spawn_error = |source: io::Error| DeployError::Spawn {
            command: self.command.clone(),
            side: self.side,
            source,
        };
        let mut child =
            super::spawn::shell(&self.command, &self.cwd, &self.env).map_err(spawn_error)?;
        let Some(pid) = child.id() else {
            // Cannot happen: nothing reaps the child before we do. Dropping it kills it.
            return Err(spawn_error(io::Error::other(
                "the process was reaped before its pid could be read",
            )));
        };
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let inner = Arc::new(Inner {
            pid,
            // `process_group(0)` makes the child a group leader: its pgid is its pid.
            // Never 0 or 1, which would mean "our own group" or "everything".
            pgid: i32::try_from(pid)
                .ok()
                .filter(|&p| p > 1)
                .map(Pid::from_raw),
            side: self.side,
            label: self.label,
            command: self.command,
            stop_timeout: self.stop_timeout,
            output: Arc::new(OutputTail::default()),
            readers: Mutex::new(Vec::new()),
            state: Mutex::new(State {
                child: Some(child),
                exit: None,
                reaped: false,
            }),
        });
        cleanup.register(Box::new(ProcessResource(Arc::clone(&inner))));

        let mut readers = Vec::new();
        if let Some(out) = stdout {
            readers.push(tokio::spawn(capture(out, Arc::clone(&inner.output))));
        }
        if let Some(err) = stderr {
            readers.push(tokio::spawn(capture(err, Arc::clone(&inner.output))));
        }
        *lock(&inner.readers) = readers;
        Ok(RunningProcess { inner })
    }
}

/// A started service. Its stop is owned by the [`TeardownList`] it was registered with;
/// dropping this handle does not stop it.
pub struct RunningProcess {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RunningProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningProcess")
            .field("pid", &self.inner.pid)
            .field("side", &self.inner.side)
            .field("label", &self.inner.label)
            .finish_non_exhaustive()
    }
}

impl RunningProcess {
    /// The process id of `sh`, which is also the id of the process group.
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// The last lines (at most 100) of stdout and stderr, interleaved as they arrived.
    pub fn output_tail(&self) -> String {
        self.inner.output.text()
    }

    /// The exit status if the process has exited, without waiting (and without
    /// reaping it: the stop still owns that).
    pub fn try_exit_status(&self) -> io::Result<Option<ExitStatus>> {
        self.inner.peek_exit()
    }

    /// Poll `url` with `GET` until it answers with a status below 500.
    ///
    /// Each probe uses a new connection and at most one second; probes start 50 ms
    /// apart and back off to 250 ms. Fails with [`DeployError::ExitedEarly`] when the
    /// process exits first, [`DeployError::NotReady`] when `timeout` passes, and
    /// [`DeployError::BadUrl`] when `url` is not a plain `http://` URL. Cancelling
    /// the future leaves the process running (the cleanup stops it).
    pub async fn wait_ready(&self, url: &str, timeout: Duration) -> Result<(), DeployError> {
        let side = self.inner.side;
        let probe = LocalProbe::new(url).map_err(|reason| DeployError::BadUrl {
            side,
            url: url.to_string(),
            reason,
        })?;
        let started = Instant::now();
        let mut pause = FIRST_PROBE_PAUSE;
        let mut last = "no probe was made".to_string();
        loop {
            if let Some(status) = self.exit_status(side)? {
                return Err(self.exited_early(status).await);
            }
            let remaining = timeout.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(DeployError::NotReady {
                    side,
                    url: url.to_string(),
                    waited: started.elapsed(),
                    last,
                    output: self.output_tail(),
                });
            }
            let budget = remaining.min(PROBE_TIMEOUT);
            match tokio::time::timeout(budget, probe.probe(budget)).await {
                Ok(Ok(status)) if status < 500 => return Ok(()),
                Ok(Ok(status)) => last = format!("the last probe answered HTTP {status}"),
                Ok(Err(error)) => last = format!("the last probe failed: {error}"),
                Err(_) => last = format!("the last probe had no answer within {budget:?}"),
            }
            let remaining = timeout.saturating_sub(started.elapsed());
            tokio::time::sleep(pause.min(remaining)).await;
            pause = (pause * 2).min(MAX_PROBE_PAUSE);
        }
    }

    fn exit_status(&self, side: Side) -> Result<Option<ExitStatus>, DeployError> {
        self.inner.peek_exit().map_err(|source| DeployError::Io {
            context: format!("checking whether the {side} service is still running"),
            source,
        })
    }

    async fn exited_early(&self, status: ExitStatus) -> DeployError {
        self.inner.drain_output(OUTPUT_DRAIN_WAIT).await;
        DeployError::ExitedEarly {
            side: self.inner.side,
            status: status.to_string(),
            output: self.output_tail(),
        }
    }
}

/// State shared by the [`RunningProcess`] handle and the registered stop.
struct Inner {
    pid: u32,
    /// The group to signal; `None` if the pid is not a safe group id.
    pgid: Option<Pid>,
    side: Side,
    label: String,
    command: String,
    stop_timeout: Duration,
    output: Arc<OutputTail>,
    readers: Mutex<Vec<JoinHandle<()>>>,
    state: Mutex<State>,
}

struct State {
    /// The child until it is reaped (taken out while the stop reaps it).
    child: Option<Child>,
    /// The exit status once known.
    exit: Option<ExitStatus>,
    /// Whether the leader has been reaped; after that its group id may be reused
    /// and the group is never signalled again.
    reaped: bool,
}

impl Inner {
    /// The exit status if the leader has exited, without reaping it where possible.
    fn peek_exit(&self) -> io::Result<Option<ExitStatus>> {
        let mut state = lock(&self.state);
        if let Some(status) = state.exit {
            return Ok(Some(status));
        }
        let status = peek_child(&mut state, self.pid)?;
        state.exit = status;
        Ok(status)
    }

    /// Send `signal` to the process group, unless the leader has been reaped (the
    /// group id could then belong to someone else). A group that is gone is fine.
    fn signal_group(&self, signal: Signal) -> Result<(), DeployError> {
        // Held while signalling, so the leader cannot be reaped in between.
        let state = lock(&self.state);
        let Some(pgid) = self.pgid else { return Ok(()) };
        if state.reaped || state.child.is_none() {
            return Ok(());
        }
        match killpg(pgid, signal) {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(errno) => Err(DeployError::Io {
                context: format!("sending {signal} to process group {pgid} ({})", self.side),
                source: io::Error::from(errno),
            }),
        }
    }

    /// Whether the leader has exited and no other process of the group is alive.
    fn group_gone(&self) -> Result<bool, DeployError> {
        let exited = self
            .peek_exit()
            .map_err(|source| DeployError::Io {
                context: format!("waiting for process {} ({}) to exit", self.pid, self.side),
                source,
            })?
            .is_some();
        Ok(exited && self.pgid.and_then(live_group_members) != Some(true))
    }

    /// Poll [`Inner::group_gone`] until it holds or `limit` passes.
    async fn wait_group_gone(&self, limit: Duration) -> Result<bool, DeployError> {
        let deadline = Instant::now() + limit;
        loop {
            if self.group_gone()? {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(STOP_POLL.min(deadline - now)).await;
        }
    }

    /// SIGTERM to the group, up to `stop_timeout` for it to go, SIGKILL to whatever
    /// is left, then reap the leader. Safe to call when it already exited.
    async fn stop(&self) -> Result<(), DeployError> {
        if lock(&self.state).reaped {
            return Ok(());
        }
        self.signal_group(Signal::SIGTERM)?;
        self.wait_group_gone(self.stop_timeout).await?;
        // Also when the grace period was enough: it reaches stragglers that the
        // group check could not see (no /proc) and is a no-op on an empty group.
        self.signal_group(Signal::SIGKILL)?;
        let gone = self.wait_group_gone(KILL_WAIT).await?;
        self.reap().await?;
        if gone {
            Ok(())
        } else {
            Err(DeployError::Io {
                context: format!(
                    "stopping process group {} ({}, `{}`)",
                    self.pid, self.side, self.command
                ),
                source: io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("processes of the group were still alive {KILL_WAIT:?} after SIGKILL"),
                ),
            })
        }
    }

    /// Reap the leader (after SIGKILL it is dead or about to be).
    async fn reap(&self) -> Result<(), DeployError> {
        let child = lock(&self.state).child.take();
        let Some(mut child) = child else {
            return Ok(());
        };
        let result = tokio::time::timeout(KILL_WAIT, child.wait()).await;
        let mut state = lock(&self.state);
        match result {
            Ok(Ok(status)) => {
                state.exit.get_or_insert(status);
                state.reaped = true;
                Ok(())
            }
            Ok(Err(source)) => Err(DeployError::Io {
                context: format!("reaping process {} ({})", self.pid, self.side),
                source,
            }),
            Err(_) => {
                // Dropping the child hands it to Tokio, which kills and reaps it.
                state.reaped = true;
                Err(DeployError::Io {
                    context: format!("reaping process {} ({})", self.pid, self.side),
                    source: io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("it did not exit within {KILL_WAIT:?} of SIGKILL"),
                    ),
                })
            }
        }
    }

    /// Wait (at most `limit`) for the output readers to reach the end of the pipes.
    async fn drain_output(&self, limit: Duration) {
        let readers = std::mem::take(&mut *lock(&self.readers));
        let deadline = tokio::time::Instant::now() + limit;
        for reader in readers {
            // A reader still blocked after the limit keeps running on its own.
            let _ = tokio::time::timeout_at(deadline, reader).await;
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Last resort when the cleanup was dropped without a teardown: kill the whole
        // group while the unreaped leader still pins its id. The child's
        // `kill_on_drop` then has Tokio reap the leader.
        let state = self
            .state
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let (Some(pgid), Some(_), false) = (self.pgid, &state.child, state.reaped) {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

/// The registered stop of a [`RunningProcess`].
struct ProcessResource(Arc<Inner>);

impl Resource for ProcessResource {
    fn describe(&self) -> String {
        format!(
            "process {} ({} {}: `{}`)",
            self.0.pid, self.0.side, self.0.label, self.0.command
        )
    }

    fn teardown(self: Box<Self>) -> BoxFuture<'static, Result<(), DeployError>> {
        Box::pin(async move { self.0.stop().await })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether the leader has exited, leaving it unreaped (Linux, Android, FreeBSD).
#[cfg(any(
    target_os = "android",
    target_os = "freebsd",
    all(target_os = "linux", not(target_env = "uclibc")),
))]
fn peek_child(state: &mut State, pid: u32) -> io::Result<Option<ExitStatus>> {
    use std::os::unix::process::ExitStatusExt;

    use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};

    if state.child.is_none() {
        // Being reaped by the stop right now.
        return Ok(None);
    }
    let pid = i32::try_from(pid).map_err(io::Error::other)?;
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    // Encode as a wait(2) status word, which is what `ExitStatus` wraps.
    match waitid(Id::Pid(Pid::from_raw(pid)), flags).map_err(io::Error::from)? {
        WaitStatus::Exited(_, code) => Ok(Some(ExitStatus::from_raw((code & 0xff) << 8))),
        WaitStatus::Signaled(_, signal, core) => Ok(Some(ExitStatus::from_raw(
            signal as i32 | if core { 0x80 } else { 0 },
        ))),
        _ => Ok(None),
    }
}

/// Whether the leader has exited. Without `waitid` this reaps it, after which the
/// group is no longer signalled (its id could be reused).
#[cfg(not(any(
    target_os = "android",
    target_os = "freebsd",
    all(target_os = "linux", not(target_env = "uclibc")),
)))]
fn peek_child(state: &mut State, _pid: u32) -> io::Result<Option<ExitStatus>> {
    let Some(child) = state.child.as_mut() else {
        return Ok(None);
    };
    let status = child.try_wait()?;
    if status.is_some() {
        state.reaped = true;
    }
    Ok(status)
}

/// Whether a process other than a zombie belongs to group `pgid`, read from
/// `/proc/<pid>/stat`; `None` where `/proc` cannot be read.
fn live_group_members(pgid: Pid) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let pgid = pgid.as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // The process may be gone by now; that is fine.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((state, group)) = parse_stat(&stat) {
            if group == pgid && state != 'Z' && state != 'X' {
                return Some(true);
            }
        }
    }
    Some(false)
}

/// State letter and process group from a `/proc/<pid>/stat` line
/// (`pid (comm) state ppid pgrp ...`; `comm` may hold spaces and parentheses).
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_nonzero_and_bindable() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }

    #[test]
    fn parses_stat_with_odd_command_names() {
        let stat = "4242 (my (weird) srv) S 1 4240 4240 0 -1 4194560";
        assert_eq!(parse_stat(stat), Some(('S', 4240)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn own_group_has_live_members() {
        let own = nix::unistd::getpgrp();
        assert_ne!(live_group_members(own), Some(false));
    }
}
