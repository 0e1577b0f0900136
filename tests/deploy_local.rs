//! The `local` deployer against a real temporary git repository and real processes
//! on loopback. The service is a small Python `http.server` (python3 is on every
//! machine this runs on). Only outcomes are asserted, never durations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tailgate::config::LocalDeploy;
use tailgate::deploy::{DeployError, Deployer, LocalDeployer, Target, TeardownList};
use tailgate::side::Side;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The service: `/health` is 200, `/content` serves `content.txt`, `/env` shows the
/// environment tailgate sets, `/status/N` answers status N.
const SERVER: &str = r#"
import http.server, os

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200
        if self.path == "/health":
            body = b"ok"
        elif self.path == "/content":
            with open("content.txt", "rb") as f:
                body = f.read()
        elif self.path == "/env":
            keys = ["TAILGATE_SIDE", "TAILGATE_REF", "TAILGATE_SHA", "EXTRA", "PORT"]
            lines = ["%s=%s" % (k, os.environ.get(k, "")) for k in keys]
            lines.append("pid=%d" % os.getpid())
            body = "\n".join(lines).encode()
        elif self.path.startswith("/status/"):
            status = int(self.path[len("/status/"):])
            body = b"status"
        else:
            status, body = 404, b"not found"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
print("listening on", server.server_address, flush=True)
server.serve_forever()
"#;

/// A repository with two commits that differ in `content.txt`.
struct Repo {
    dir: TempDir,
    first: String,
    second: String,
}

impl Repo {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=tailgate test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn make_repo() -> Repo {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path();
    git(path, &["init", "-q", "-b", "main"]);
    std::fs::write(path.join("server.py"), SERVER).expect("write server");
    std::fs::write(path.join("content.txt"), "content of the first commit").expect("write");
    git(path, &["add", "."]);
    git(path, &["commit", "-q", "-m", "first"]);
    let first = git(path, &["rev-parse", "HEAD"]);
    std::fs::write(path.join("content.txt"), "content of the second commit").expect("write");
    git(path, &["commit", "-q", "-am", "second"]);
    let second = git(path, &["rev-parse", "HEAD"]);
    Repo { dir, first, second }
}

fn config(repo: &Path, command: &str) -> LocalDeploy {
    LocalDeploy {
        command: command.to_string(),
        repo: repo.to_path_buf(),
        worktree: true,
        base_ref: None,
        head_ref: None,
        ready_path: "/health".to_string(),
        ready_timeout: Duration::from_secs(120),
        stop_timeout: Duration::from_secs(10),
        env: Vec::new(),
    }
}

/// `GET path` with HTTP/1.0 (the server closes the connection after answering).
async fn get(base_url: &str, path: &str) -> (u16, String) {
    let authority = base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).await.expect("connect");
    let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, body.to_string())
}

async fn env_of(target: &Target) -> BTreeMap<String, String> {
    let (status, body) = get(&target.base_url, "/env").await;
    assert_eq!(status, 200);
    body.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The process's state letter from `/proc`, `None` when it no longer exists.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().next()?.chars().next()
}

/// The process we reaped is gone entirely.
fn assert_reaped(pid: u32) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid fits"));
    assert!(
        nix::sys::signal::kill(pid, None).is_err(),
        "process {pid} still exists"
    );
}

/// A process we did not reap ourselves is gone or a zombie (orphans are reparented
/// to an init that may not reap them).
fn assert_dead(pid: u32) {
    let state = proc_state(pid);
    assert!(
        matches!(state, None | Some('Z') | Some('X')),
        "process {pid} is alive (state {state:?})"
    );
}

async fn assert_port_closed(base_url: &str) {
    let authority = base_url.trim_start_matches("http://");
    assert!(
        TcpStream::connect(authority).await.is_err(),
        "{authority} still accepts connections"
    );
}

/// Paths of the worktrees git knows about (the main one first).
fn worktrees(repo: &Path) -> Vec<String> {
    git(repo, &["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .map(str::to_string)
        .collect()
}

async fn wait_for_file(path: &Path) -> String {
    for _ in 0..6000 {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} never appeared", path.display());
}

fn parse_pid(text: &str) -> u32 {
    text.parse().expect("a pid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_each_side_from_its_commit_and_tears_everything_down() {
    let repo = make_repo();
    let mut cfg = config(
        repo.path(),
        // Not `exec`: python is a grandchild, so the stop must reach the group.
        "python3 server.py; echo server stopped",
    );
    cfg.env = vec![
        ("EXTRA".to_string(), "from config".to_string()),
        ("PORT".to_string(), "1".to_string()),
    ];
    let deployer = LocalDeployer::new(cfg, "main~1".to_string(), "main".to_string());
    assert_eq!(deployer.name(), "local");
    let cleanup = TeardownList::new();

    let (base, head) = tokio::join!(
        deployer.deploy(Side::Base, &cleanup),
        deployer.deploy(Side::Head, &cleanup)
    );
    let (base, head) = (base.expect("base deploys"), head.expect("head deploys"));
    assert_eq!(cleanup.len(), 4, "a worktree and a process per side");

    for (target, git_ref, sha, content) in [
        (&base, "main~1", &repo.first, "content of the first commit"),
        (&head, "main", &repo.second, "content of the second commit"),
    ] {
        assert_eq!(
            get(&target.base_url, "/content").await,
            (200, content.to_string())
        );
        let env = env_of(target).await;
        assert_eq!(env["TAILGATE_SIDE"], target.side.as_str());
        assert_eq!(env["TAILGATE_REF"], git_ref);
        assert_eq!(&env["TAILGATE_SHA"], sha);
        assert_eq!(env["EXTRA"], "from config");
        assert!(target.base_url.ends_with(&format!(":{}", env["PORT"])));
        assert!(target.label.starts_with(git_ref), "{}", target.label);
        assert!(target.label.contains(&sha[..7]), "{}", target.label);
        assert_eq!(target.worktree.as_ref().unwrap().sha, *sha);
        let worktree = target.worktree.as_ref().unwrap().path.clone();
        let temp_name = worktree
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .expect("the worktree is in a temp dir");
        let prefix = format!("tailgate-{}-{}-", target.side, std::process::id());
        assert!(temp_name.starts_with(&prefix), "{temp_name}");
        assert!(worktree.join("content.txt").exists());
    }
    assert_eq!(worktrees(repo.path()).len(), 3);

    let servers = [
        parse_pid(&env_of(&base).await["pid"]),
        parse_pid(&env_of(&head).await["pid"]),
    ];
    let leaders = [base.pid.expect("a pid"), head.pid.expect("a pid")];
    assert_ne!(servers, leaders, "python runs under sh");

    let failures = cleanup.teardown_all().await;
    assert!(failures.is_empty(), "{failures:?}");
    assert!(cleanup.is_empty());

    assert_eq!(
        worktrees(repo.path()).len(),
        1,
        "only the main worktree is left"
    );
    for target in [&base, &head] {
        let worktree = target.worktree.as_ref().unwrap().path.clone();
        assert!(!worktree.exists());
        assert!(!worktree.parent().expect("a parent").exists());
        assert_port_closed(&target.base_url).await;
    }
    for pid in leaders {
        assert_reaped(pid);
    }
    for pid in servers {
        assert_dead(pid);
    }
}

#[tokio::test]
async fn without_worktree_runs_in_the_repository() {
    let repo = make_repo();
    let mut cfg = config(repo.path(), "exec python3 server.py");
    cfg.worktree = false;
    let deployer = LocalDeployer::new(cfg, "base-label".to_string(), "HEAD".to_string());
    let cleanup = TeardownList::new();
    let target = deployer
        .deploy(Side::Head, &cleanup)
        .await
        .expect("deploys");
    assert_eq!(target.label, "HEAD");
    assert!(target.worktree.is_none());
    assert_eq!(
        get(&target.base_url, "/content").await.1,
        "content of the second commit"
    );
    let env = env_of(&target).await;
    assert_eq!(env["TAILGATE_SIDE"], "head");
    assert_eq!(env["TAILGATE_REF"], "HEAD");
    assert_eq!(env["TAILGATE_SHA"], "");
    assert_eq!(cleanup.len(), 1, "only the process");

    assert!(cleanup.teardown_all().await.is_empty());
    assert_reaped(target.pid.expect("a pid"));
    assert_port_closed(&target.base_url).await;
    assert_eq!(worktrees(repo.path()).len(), 1);
}

#[tokio::test]
async fn a_command_that_exits_at_once_is_exited_early_with_its_output() {
    let repo = make_repo();
    let mut cfg = config(repo.path(), "echo to stdout; echo to stderr >&2; exit 3");
    cfg.worktree = false;
    let deployer = LocalDeployer::new(cfg, "main".to_string(), "main".to_string());
    let cleanup = TeardownList::new();

    let err = deployer.deploy(Side::Base, &cleanup).await.unwrap_err();
    match &err {
        DeployError::ExitedEarly {
            side,
            status,
            output,
        } => {
            assert_eq!(*side, Side::Base);
            assert!(status.contains('3'), "{status}");
            assert!(output.contains("to stdout"), "{output}");
            assert!(output.contains("to stderr"), "{output}");
        }
        other => panic!("expected ExitedEarly, got {other:?}"),
    }
    assert!(err.to_string().contains("to stderr"), "{err}");
    assert!(cleanup.teardown_all().await.is_empty());
}

#[tokio::test]
async fn a_command_that_never_listens_is_not_ready() {
    let repo = make_repo();
    let scratch = tempfile::tempdir().expect("temp dir");
    let pid_file = scratch.path().join("pid");
    let mut cfg = config(
        repo.path(),
        &format!("echo $$ > '{}'; exec sleep 600", pid_file.display()),
    );
    cfg.worktree = false;
    cfg.ready_timeout = Duration::from_secs(1);
    let deployer = LocalDeployer::new(cfg, "main".to_string(), "main".to_string());
    let cleanup = TeardownList::new();

    let err = deployer.deploy(Side::Head, &cleanup).await.unwrap_err();
    match &err {
        DeployError::NotReady {
            side, url, last, ..
        } => {
            assert_eq!(*side, Side::Head);
            assert!(url.ends_with("/health"), "{url}");
            assert!(last.contains("connect"), "{last}");
        }
        other => panic!("expected NotReady, got {other:?}"),
    }
    let pid = parse_pid(&wait_for_file(&pid_file).await);
    assert!(cleanup.teardown_all().await.is_empty());
    assert_reaped(pid);
}

#[tokio::test]
async fn server_errors_are_not_ready_but_client_errors_are() {
    let repo = make_repo();
    let mut cfg = config(repo.path(), "exec python3 server.py");
    cfg.worktree = false;
    cfg.ready_path = "/status/404".to_string();
    let deployer = LocalDeployer::new(cfg.clone(), "main".to_string(), "main".to_string());
    let cleanup = TeardownList::new();
    deployer
        .deploy(Side::Base, &cleanup)
        .await
        .expect("a 404 counts as ready");

    cfg.ready_path = "status/503".to_string();
    cfg.ready_timeout = Duration::from_secs(3);
    let deployer = LocalDeployer::new(cfg, "main".to_string(), "main".to_string());
    let err = deployer.deploy(Side::Head, &cleanup).await.unwrap_err();
    match &err {
        DeployError::NotReady { url, last, .. } => {
            assert!(url.ends_with("/status/503"), "{url}");
            // Python may still be starting when the time is up on a slow machine.
            assert!(
                last.contains("503") || last.contains("connect") || last.contains("no answer"),
                "{last}"
            );
        }
        other => panic!("expected NotReady, got {other:?}"),
    }
    assert!(cleanup.teardown_all().await.is_empty());
}

#[tokio::test]
async fn a_process_that_ignores_sigterm_is_killed() {
    let repo = make_repo();
    let mut cfg = config(
        repo.path(),
        "trap '' TERM; python3 server.py; echo not reached",
    );
    cfg.worktree = false;
    cfg.stop_timeout = Duration::from_millis(300);
    let deployer = LocalDeployer::new(cfg, "main".to_string(), "main".to_string());
    let cleanup = TeardownList::new();
    let target = deployer
        .deploy(Side::Base, &cleanup)
        .await
        .expect("deploys");
    let server = parse_pid(&env_of(&target).await["pid"]);

    assert!(cleanup.teardown_all().await.is_empty());
    assert_reaped(target.pid.expect("a pid"));
    assert_dead(server);
    assert_port_closed(&target.base_url).await;
}

#[tokio::test]
async fn a_missing_ref_is_a_git_error_naming_it() {
    let repo = make_repo();
    let deployer = LocalDeployer::new(
        config(repo.path(), "exec python3 server.py"),
        "no-such-branch".to_string(),
        "main".to_string(),
    );
    let cleanup = TeardownList::new();
    let err = deployer.deploy(Side::Base, &cleanup).await.unwrap_err();
    assert!(matches!(err, DeployError::Git { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("`no-such-branch`"), "{message}");
    assert!(message.contains("fetch"), "{message}");
    assert!(cleanup.is_empty(), "nothing was created");
    assert_eq!(worktrees(repo.path()).len(), 1);
}

#[tokio::test]
async fn a_repository_that_is_not_one_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let deployer = LocalDeployer::new(
        config(dir.path(), "true"),
        "main".to_string(),
        "main".to_string(),
    );
    let cleanup = TeardownList::new();
    let err = deployer.deploy(Side::Head, &cleanup).await.unwrap_err();
    assert!(err.to_string().contains("is not a git repository"), "{err}");
    assert!(cleanup.is_empty());
}

#[tokio::test]
async fn a_deploy_cancelled_while_waiting_leaves_nothing_behind() {
    let repo = make_repo();
    let scratch = tempfile::tempdir().expect("temp dir");
    let pid_file = scratch.path().join("pid");
    let cwd_file = scratch.path().join("cwd");
    let cfg = config(
        repo.path(),
        &format!(
            "pwd > '{}'; echo $$ > '{}'; exec sleep 600",
            cwd_file.display(),
            pid_file.display()
        ),
    );
    let deployer = LocalDeployer::new(cfg, "main~1".to_string(), "main".to_string());
    let cleanup = TeardownList::new();

    let pid = tokio::select! {
        result = deployer.deploy(Side::Base, &cleanup) => panic!("deploy ended: {result:?}"),
        pid = wait_for_file(&pid_file) => parse_pid(&pid),
    };
    // The deploy future is dropped here, in the middle of its readiness wait.
    let worktree = PathBuf::from(wait_for_file(&cwd_file).await);
    assert!(worktree.exists());
    assert_eq!(worktrees(repo.path()).len(), 2);
    assert_eq!(cleanup.len(), 2, "the worktree and the process");

    let failures = cleanup.teardown_all().await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_reaped(pid);
    assert!(!worktree.exists());
    assert!(!worktree.parent().expect("a parent").exists());
    assert_eq!(worktrees(repo.path()).len(), 1);
}
