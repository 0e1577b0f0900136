//! The `command` deployer with real shell commands: the URL or JSON outputs printed by
//! `up`, the environment both commands get, and `down` running on every exit path
//! (success, a failed `up`, a timed-out `up` whose process group is killed).

use std::path::Path;
use std::time::Duration;

use tailgate::config::CommandDeploy;
use tailgate::deploy::{CommandContext, CommandDeployer, DeployError, Deployer, TeardownList};
use tailgate::side::Side;

fn context() -> CommandContext {
    CommandContext {
        repo: "acme/orders".into(),
        pr: Some(12),
        base_ref: "main".into(),
        head_ref: "feature/x".into(),
    }
}

fn deployer(dir: &Path, up: &str, down: &str) -> CommandDeployer {
    let mut s = CommandDeploy::with_up(up);
    s.down = Some(down.into());
    s.env = vec![("EXTRA".into(), "yes".into())];
    CommandDeployer::new(s, dir.to_path_buf(), context())
}

#[tokio::test]
async fn up_prints_a_url_and_down_gets_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = deployer(
        dir.path(),
        "echo building >&2; echo \"side=$TAILGATE_SIDE ref=$TAILGATE_REF pr=$TAILGATE_PR stack=$TAILGATE_STACK_NAME extra=$EXTRA\" > up.txt; echo http://127.0.0.1:4321/",
        "echo \"$TAILGATE_SIDE $TAILGATE_URL\" >> down.txt",
    );
    let cleanup = TeardownList::new();
    let target = d.deploy(Side::Head, &cleanup).await.unwrap();
    assert_eq!(target.base_url, "http://127.0.0.1:4321");
    assert_eq!(target.label, "feature/x");
    let up = std::fs::read_to_string(dir.path().join("up.txt")).unwrap();
    assert_eq!(
        up.trim(),
        "side=head ref=feature/x pr=12 stack=tailgate-acme-orders-pr12-head extra=yes"
    );
    assert_eq!(cleanup.len(), 1);
    assert!(cleanup.teardown_all().await.is_empty());
    let down = std::fs::read_to_string(dir.path().join("down.txt")).unwrap();
    assert_eq!(down.trim(), "head http://127.0.0.1:4321/");
}

#[tokio::test]
async fn json_outputs_name_the_url_and_reach_down() {
    let dir = tempfile::tempdir().unwrap();
    let d = deployer(
        dir.path(),
        "echo 'Successfully created/updated stack'; echo '{\"url\": \"https://preview.example.com\", \"FunctionName\": \"orders-fn\"}'",
        "echo \"$TAILGATE_OUTPUT_FUNCTIONNAME\" > down.txt",
    );
    let cleanup = TeardownList::new();
    let target = d.deploy(Side::Base, &cleanup).await.unwrap();
    assert_eq!(target.base_url, "https://preview.example.com");
    assert_eq!(target.outputs["FunctionName"], "orders-fn");
    assert!(cleanup.teardown_all().await.is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("down.txt"))
            .unwrap()
            .trim(),
        "orders-fn"
    );
}

#[tokio::test]
async fn a_failed_up_reports_its_output_and_down_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = deployer(
        dir.path(),
        "echo 'Error: stack is in ROLLBACK_COMPLETE' >&2; exit 3",
        "touch down-ran",
    );
    let cleanup = TeardownList::new();
    let err = d.deploy(Side::Head, &cleanup).await.unwrap_err();
    assert!(matches!(err, DeployError::Command { which: "up", .. }));
    let text = err.to_string();
    assert!(
        text.contains("exit status: 3") && text.contains("ROLLBACK_COMPLETE"),
        "{text}"
    );
    assert!(cleanup.teardown_all().await.is_empty());
    assert!(dir.path().join("down-ran").exists());
}

#[tokio::test]
async fn up_without_a_url_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = deployer(dir.path(), "echo deployed", "true");
    let cleanup = TeardownList::new();
    let err = d
        .deploy(Side::Head, &cleanup)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("printed no URL"), "{err}");
    assert!(cleanup.teardown_all().await.is_empty());
}

#[tokio::test]
async fn a_timed_out_up_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = CommandDeploy::with_up("sleep 300 & echo $! > child.pid; wait");
    s.down = Some("touch down-ran".into());
    s.up_timeout = Duration::from_millis(300);
    let d = CommandDeployer::new(s, dir.path().to_path_buf(), context());
    let cleanup = TeardownList::new();
    let err = d
        .deploy(Side::Head, &cleanup)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("timed out"), "{err}");
    let pid = std::fs::read_to_string(dir.path().join("child.pid")).unwrap();
    let proc_dir = Path::new("/proc").join(pid.trim());
    // SIGKILL is asynchronous: give the kernel a bounded moment to reap it.
    let gone = (0..100).any(|_| {
        let alive = std::fs::read_to_string(proc_dir.join("stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false);
        if alive {
            std::thread::sleep(Duration::from_millis(20));
        }
        !alive
    });
    assert!(gone, "the background child of `up` survived");
    assert!(cleanup.teardown_all().await.is_empty());
    assert!(dir.path().join("down-ran").exists());
}
