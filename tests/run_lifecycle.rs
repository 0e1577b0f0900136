//! `tailgate run` end to end with the `local` deployer: after a run, and after a
//! run interrupted with SIGINT, no child process, port or git worktree remains.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tailgate");

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A git repo with one commit on `main` and a config that starts the sample
/// service from a worktree of each side; `token` marks the processes it starts.
fn setup(token: &str, rounds: u32, duration: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.email", "t@example.com"]);
    git(&repo, &["config", "user.name", "t"]);
    std::fs::write(repo.join("README"), "service\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "one"]);
    let config = format!(
        r#"
deploy:
  local:
    command: "exec {BIN} sample-service --variant base"
    repo: repo
    base_ref: main
    head_ref: main
    ready: {{ path: /healthz, timeout: 60s }}
    stop_timeout: 5s
    env: {{ TAILGATE_TEST_TOKEN: "{token}" }}
load:
  connections: 2
  duration: {duration}
  warmup: 0s
compare:
  rounds: {rounds}
  seed: 7
endpoints:
  - name: users
    path: /users/1
"#
    );
    let path = dir.path().join("tailgate.yml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

/// Processes whose environment holds `token` (zombies excluded).
fn processes_with(token: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'));
        if zombie {
            continue;
        }
        if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
            let needle = format!("TAILGATE_TEST_TOKEN={token}");
            if env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
                found.push(pid);
            }
        }
    }
    found
}

fn assert_nothing_left(dir: &Path, token: &str) {
    let worktrees = git(&dir.join("repo"), &["worktree", "list", "--porcelain"]);
    let count = worktrees
        .lines()
        .filter(|l| l.starts_with("worktree "))
        .count();
    assert_eq!(count, 1, "only the main worktree remains:\n{worktrees}");
    assert_eq!(
        processes_with(token),
        Vec::<u32>::new(),
        "no service process remains"
    );
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("out/tailgate-results.json")).unwrap(),
    )
    .unwrap();
    for target in results["targets"].as_array().unwrap() {
        let url = target["url"].as_str().unwrap();
        let addr = url.trim_start_matches("http://");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "{url} still accepts connections"
        );
    }
}

#[test]
fn a_finished_run_leaves_nothing_behind() {
    let token = format!("finished-{}", std::process::id());
    let (dir, config) = setup(&token, 2, "300ms");
    let out = Command::new(BIN)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Both sides run the same commit, so the gate passes or warns: never an error.
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("tailgate:"),
        "the report is printed:\n{stdout}"
    );
    assert_nothing_left(dir.path(), &token);
}

/// Run `tailgate run` with `config` and `env`; once a stderr line contains
/// `phase` (or `ready` says so), send SIGINT and, 300 ms later, SIGTERM, as GitHub
/// does on cancel (it waits longer: the second signal lands during teardown here).
/// Returns the exit status and the log.
fn interrupt_at(
    dir: &Path,
    config: &Path,
    env: &[(&str, String)],
    phase: &str,
    ready: impl Fn() -> bool,
) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(BIN)
        .arg("run")
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(dir.join("out"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let phase_line = phase.to_string();
    let log = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(&phase_line) {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // Wait (generously: the machine may be slow) until the phase has begun.
    let started = Instant::now();
    while rx.try_recv().is_err() && !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run never reached `{phase}`"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "tailgate did not stop after SIGINT and SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, log.join().unwrap())
}

#[test]
fn an_interrupted_run_tears_down_and_exits_130() {
    let token = format!("sigint-{}", std::process::id());
    // Long enough that the signal surely lands while measuring.
    let (dir, config) = setup(&token, 50, "2s");
    let (status, log) = interrupt_at(dir.path(), &config, &[], "round 1/", || false);
    assert_eq!(status.code(), Some(130), "{log}");
    assert_nothing_left(dir.path(), &token);
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/tailgate-results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["verdict"]["level"], "error");
}

#[test]
fn a_run_interrupted_while_deploying_tears_down_and_exits_130() {
    let token = format!("sigint-deploy-{}", std::process::id());
    let (dir, config) = setup(&token, 2, "300ms");
    // A service that takes its time to start: the signal lands in the deploy.
    let started = dir.path().join("started");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("command: \"exec {BIN} sample-service --variant base\""),
        &format!("command: \"echo $$ >> {}; sleep 60\"", started.display()),
    );
    std::fs::write(&config, text).unwrap();
    let (status, log) = interrupt_at(dir.path(), &config, &[], "never printed", || {
        started.exists()
    });
    assert_eq!(status.code(), Some(130), "{log}");
    assert_nothing_left(dir.path(), &token);
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/tailgate-results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["verdict"]["level"], "error");
    assert!(results["endpoints"].as_array().unwrap().is_empty());
}

/// A GitHub API that accepts connections and never answers.
fn silent_api() -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().take(64).flatten() {
            held.push(conn);
        }
    });
    (url, thread)
}

#[test]
fn a_run_interrupted_while_publishing_exits_130_with_its_summary_written() {
    let token = format!("sigint-publish-{}", std::process::id());
    let (dir, config) = setup(&token, 2, "300ms");
    // The config in the repository, as on GitHub: the base commit's copy gates.
    let repo = dir.path().join("repo");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("repo: repo\n", "repo: .\n");
    std::fs::write(repo.join("tailgate.yml"), text).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "config"]);
    let sha = git(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/github-events/pull_request.synchronize.0.json");
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    event["pull_request"]["base"]["sha"] = serde_json::json!(sha);
    event["pull_request"]["head"]["sha"] = serde_json::json!(sha);
    let event_path = dir.path().join("event.json");
    std::fs::write(&event_path, event.to_string()).unwrap();
    let (api, _api) = silent_api();
    let summary = dir.path().join("summary.md");
    let env = [
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", "pull_request".to_string()),
        ("GITHUB_EVENT_PATH", event_path.display().to_string()),
        ("GITHUB_REPOSITORY", "Codertocat/Hello-World".to_string()),
        ("GITHUB_WORKSPACE", repo.display().to_string()),
        ("GITHUB_API_URL", api),
        ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
        (
            "INPUT_GITHUB_TOKEN",
            "ghs_canary0123456789abcdefghijklmnopqrstu".to_string(),
        ),
    ];
    let (status, log) = interrupt_at(
        dir.path(),
        &repo.join("tailgate.yml"),
        &env,
        "tailgate: verdict",
        || false,
    );
    assert_eq!(status.code(), Some(130), "{log}");
    assert!(log.contains("interrupted while publishing"), "{log}");
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("tailgate"),
        "the job summary was written before the API calls"
    );
    assert!(!log.contains("ghs_canary"), "{log}");
    assert_nothing_left(dir.path(), &token);
}
