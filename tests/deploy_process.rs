//! `ProcessSpec` / `RunningProcess` with real processes: process groups, output
//! capture, stopping an already exited process, and the drop-time last resort.
//! Only outcomes are asserted, never durations.

use std::path::Path;
use std::time::Duration;

use tailgate::deploy::{free_port, DeployError, ProcessSpec, TeardownList};
use tailgate::side::Side;

fn spec(command: &str, cwd: &Path) -> ProcessSpec {
    ProcessSpec {
        command: command.to_string(),
        cwd: cwd.to_path_buf(),
        env: vec![("GREETING".to_string(), "hello from env".to_string())],
        side: Side::Head,
        label: "test".to_string(),
        stop_timeout: Duration::from_secs(10),
    }
}

/// The process's state letter from `/proc`, `None` when it no longer exists.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().next()?.chars().next()
}

fn is_dead(pid: u32) -> bool {
    matches!(proc_state(pid), None | Some('Z') | Some('X'))
}

async fn wait_for_file(path: &Path) -> u32 {
    for _ in 0..6000 {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().parse().expect("a pid");
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} never appeared", path.display());
}

/// Wait (bounded) for a condition that another party brings about.
async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..3000 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn the_stop_reaches_background_children() {
    let dir = tempfile::tempdir().expect("temp dir");
    let child_file = dir.path().join("child");
    let cleanup = TeardownList::new();
    let process = spec(
        &format!("sleep 600 & echo $! > '{}'; wait", child_file.display()),
        dir.path(),
    )
    .start(&cleanup)
    .expect("starts");
    assert_eq!(cleanup.len(), 1, "registered at once");
    let leader = process.pid();
    let child = wait_for_file(&child_file).await;
    assert!(!is_dead(child));
    assert!(process.try_exit_status().expect("status").is_none());

    let failures = cleanup.teardown_all().await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(proc_state(leader), None, "the leader is reaped");
    assert!(is_dead(child), "the background child is killed too");
}

#[tokio::test]
async fn stopping_a_process_that_already_exited_is_fine() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cleanup = TeardownList::new();
    let process = spec("exit 0", dir.path()).start(&cleanup).expect("starts");
    assert!(
        eventually(|| matches!(process.try_exit_status(), Ok(Some(_)))).await,
        "it exits"
    );
    let status = process.try_exit_status().expect("status").expect("exited");
    assert!(status.success());
    // Peeking does not reap: the stop still owns that.
    assert_eq!(proc_state(process.pid()), Some('Z'));

    assert!(cleanup.teardown_all().await.is_empty());
    assert_eq!(proc_state(process.pid()), None);
    assert!(process.try_exit_status().expect("status").is_some());
}

#[tokio::test]
async fn the_output_tail_is_bounded_and_reaches_the_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cleanup = TeardownList::new();
    let process = spec(
        "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done; exit 7",
        dir.path(),
    )
    .start(&cleanup)
    .expect("starts");
    let port = free_port().expect("a port");
    let err = process
        .wait_ready(
            &format!("http://127.0.0.1:{port}/"),
            Duration::from_secs(600),
        )
        .await
        .unwrap_err();
    match err {
        DeployError::ExitedEarly { status, output, .. } => {
            assert!(status.contains('7'), "{status}");
            assert_eq!(output.lines().count(), 100, "{output}");
            assert_eq!(output.lines().last(), Some("line 299"));
            assert_eq!(output, process.output_tail());
        }
        other => panic!("expected ExitedEarly, got {other:?}"),
    }
    assert!(cleanup.teardown_all().await.is_empty());
}

#[tokio::test]
async fn the_environment_reaches_the_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cleanup = TeardownList::new();
    let process = spec("echo \"$GREETING\"; exit 1", dir.path())
        .start(&cleanup)
        .expect("starts");
    let port = free_port().expect("a port");
    let err = process
        .wait_ready(
            &format!("http://127.0.0.1:{port}/"),
            Duration::from_secs(600),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("hello from env"), "{err}");
    assert!(cleanup.teardown_all().await.is_empty());
}

#[tokio::test]
async fn not_ready_carries_the_last_probe_and_the_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cleanup = TeardownList::new();
    let process = spec("echo still starting; exec sleep 600", dir.path())
        .start(&cleanup)
        .expect("starts");
    assert!(
        eventually(|| process.output_tail().contains("still starting")).await,
        "the output is captured while it runs"
    );
    let port = free_port().expect("a port");
    let url = format!("http://127.0.0.1:{port}/ready");
    let err = process
        .wait_ready(&url, Duration::from_millis(200))
        .await
        .unwrap_err();
    match &err {
        DeployError::NotReady {
            side,
            url: probed,
            last,
            output,
            ..
        } => {
            assert_eq!(*side, Side::Head);
            assert_eq!(*probed, url);
            assert!(last.contains("connect"), "{last}");
            assert!(output.contains("still starting"), "{output}");
        }
        other => panic!("expected NotReady, got {other:?}"),
    }
    assert!(process.try_exit_status().expect("status").is_none());
    assert!(cleanup.teardown_all().await.is_empty());
    assert_eq!(proc_state(process.pid()), None);
}

#[tokio::test]
async fn a_bad_probe_url_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cleanup = TeardownList::new();
    let process = spec("exec sleep 600", dir.path())
        .start(&cleanup)
        .expect("starts");
    let err = process
        .wait_ready("https://127.0.0.1:1/", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, DeployError::BadUrl { .. }), "{err:?}");
    assert!(cleanup.teardown_all().await.is_empty());
    assert_eq!(proc_state(process.pid()), None);
}

#[tokio::test]
async fn a_missing_directory_is_a_spawn_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cleanup = TeardownList::new();
    let err = spec("true", &dir.path().join("missing"))
        .start(&cleanup)
        .unwrap_err();
    assert!(matches!(err, DeployError::Spawn { .. }), "{err:?}");
    assert!(cleanup.is_empty());
}

#[tokio::test]
async fn dropping_the_cleanup_kills_the_group_as_a_last_resort() {
    let dir = tempfile::tempdir().expect("temp dir");
    let child_file = dir.path().join("child");
    let cleanup = TeardownList::new();
    let process = spec(
        &format!("sleep 600 & echo $! > '{}'; wait", child_file.display()),
        dir.path(),
    )
    .start(&cleanup)
    .expect("starts");
    let leader = process.pid();
    let child = wait_for_file(&child_file).await;

    drop(process);
    drop(cleanup);
    assert!(eventually(|| is_dead(leader)).await, "the leader is killed");
    assert!(eventually(|| is_dead(child)).await, "the child is killed");
}
