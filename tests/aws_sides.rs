//! Base and head really differ on AWS: on moto, a two-commit repository whose
//! handler source holds a different constant in each commit is deployed with the
//! `cloudformation` deployer. Each side's local `Code: src/` is packaged from its own
//! git worktree to the S3 bucket; the code each deployed function runs (read back
//! from moto while the stacks exist: the S3 object and the function's CodeSha256)
//! is that side's commit; afterwards no stack, object or worktree is left.

mod support;

use support::{creds, moto as moto_support};
#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use servers::{Behavior, Server};
use tailgate::aws::AwsClients;
use tailgate::config;
use tailgate::deploy::{CloudFormationDeployer, StackContext};
use tailgate::gate::{self, RunOptions};
use tailgate::progress::Progress;
use tailgate::results::RunContext;
use tailgate::server_side::ServerSideOptions;

const BUCKET: &str = "tailgate-artifacts";

const TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  TargetUrl: { Type: String }
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - { Effect: Allow, Principal: { Service: lambda.amazonaws.com }, Action: "sts:AssumeRole" }
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      MemorySize: 512
      Role: !GetAtt Role.Arn
      Code: src/
Outputs:
  ApiUrl:
    Value: !Sub "${TargetUrl}/${AWS::StackName}"
"#;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A SAM-like repository: infra/template.yaml with `Code: src/`, infra/src/app.py
/// whose GREETING is "base" in the first commit and "head" in the second.
fn two_commit_repo(dir: &Path) -> (String, String) {
    let infra = dir.join("infra");
    std::fs::create_dir_all(infra.join("src")).unwrap();
    std::fs::write(infra.join("template.yaml"), TEMPLATE).unwrap();
    let handler = |greeting: &str| {
        format!("GREETING = \"{greeting}\"\n\ndef handler(event, context):\n    return {{'statusCode': 200, 'body': GREETING}}\n")
    };
    std::fs::write(infra.join("src/app.py"), handler("base")).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "base"]);
    let base = git(dir, &["rev-parse", "HEAD"]);
    std::fs::write(infra.join("src/app.py"), handler("head")).unwrap();
    git(dir, &["commit", "-q", "-am", "head"]);
    let head = git(dir, &["rev-parse", "HEAD"]);
    (base, head)
}

fn config_text(url: &str, bucket: Option<&str>) -> String {
    let bucket = bucket
        .map(|b| format!("    bucket: {b}\n"))
        .unwrap_or_default();
    format!(
        r#"
deploy:
  cloudformation:
    template: template.yaml
{bucket}    parameters: {{ TargetUrl: "{url}" }}
    poll_interval: 20ms
    timeout: 60s
    ready: {{ interval: 50ms }}
load: {{ connections: 1, duration: 400ms, warmup: 0s }}
compare: {{ rounds: 3, seed: 3 }}
endpoints:
  - name: orders
    path: /orders
"#
    )
}

/// What a side's deployed function runs: GREETING of the packaged app.py, and
/// whether the function's CodeSha256 is that object's.
#[derive(Debug, Clone, PartialEq)]
struct Deployed {
    greeting: String,
    code_sha_matches: bool,
}

async fn read_back(clients: &AwsClients, moto: &str, stack: &str) -> Result<Deployed, String> {
    let fn_name = clients
        .cloudformation
        .describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id("Fn")
        .send()
        .await
        .map_err(|e| format!("{}: {e:?}", line!()))?
        .stack_resource_detail()
        .ok_or("detail")?
        .physical_resource_id()
        .ok_or("physical id")?
        .to_string();
    let listed = clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(format!("tailgate/{stack}/"))
        .send()
        .await
        .map_err(|e| format!("{}: {e:?}", line!()))?;
    let key = listed
        .contents()
        .first()
        .ok_or("no object")?
        .key()
        .ok_or("key")?
        .to_string();
    let object = clients
        .s3
        .get_object()
        .bucket(BUCKET)
        .key(&key)
        .send()
        .await
        .map_err(|e| format!("{}: {e:?}", line!()))?;
    let zip = object
        .body
        .collect()
        .await
        .map_err(|e| format!("{}: {e:?}", line!()))?
        .into_bytes()
        .to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.clone()))
        .map_err(|e| format!("{}: {e:?}", line!()))?;
    let mut app = String::new();
    archive
        .by_name("app.py")
        .map_err(|e| format!("{}: {e:?}", line!()))?
        .read_to_string(&mut app)
        .map_err(|e| format!("{}: {e:?}", line!()))?;
    let greeting = app
        .lines()
        .find_map(|l| l.strip_prefix("GREETING = "))
        .ok_or("no GREETING")?
        .trim_matches('"')
        .to_string();
    // Lambda's GetFunction over plain HTTP.
    let tls = tailgate::bench::rustls_client_config(&Default::default())
        .map_err(|e| format!("{}: {e:?}", line!()))?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| format!("{}: {e:?}", line!()))?;
    let text = client
        .get(format!("{moto}/2015-03-31/functions/{fn_name}"))
        // moto routes by the credential scope's service; it checks no signature.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIATAILGATETEST/20261203/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send()
        .await
        .map_err(|e| format!("{}: {e:?}", line!()))?
        .text()
        .await
        .map_err(|e| format!("{}: {e:?}", line!()))?;
    let function: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e:?}", line!()))?;
    let sha = base64::engine::general_purpose::STANDARD
        .encode(ring::digest::digest(&ring::digest::SHA256, &zip));
    Ok(Deployed {
        greeting,
        code_sha_matches: function["Configuration"]["CodeSha256"] == sha.as_str(),
    })
}

fn worktrees(repo: &Path) -> usize {
    git(repo, &["worktree", "list", "--porcelain"])
        .lines()
        .filter(|l| l.starts_with("worktree "))
        .count()
}

async fn objects(clients: &AwsClients) -> usize {
    clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .expect("ListObjectsV2")
        .contents()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_stack_runs_its_own_commits_code_and_everything_is_removed() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let moto = session.moto.url.clone();
    let clients = creds::clients_for(&moto).await;
    clients
        .s3
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("CreateBucket");
    let repo = tempfile::tempdir().unwrap();
    let (base_sha, head_sha) = two_commit_repo(repo.path());
    let target = Server::start(Behavior::Ok);
    let infra = repo.path().join("infra");
    let config = config::parse(
        &config_text(&target.base_url(), Some(BUCKET)),
        "tailgate.yml",
        &infra,
    )
    .expect("config");
    let config::DeployConfig::CloudFormation(stack) = &config.deploy else {
        panic!("{:?}", config.deploy)
    };
    let deployer = CloudFormationDeployer::new(
        stack.clone(),
        StackContext {
            repo: "acme/orders".into(),
            pr: Some(12),
            base_sha: base_sha.clone(),
            head_sha: head_sha.clone(),
        },
        clients.clone(),
    )
    .in_dir(&infra);

    // While the run measures, read back what each stack's function runs.
    let seen: Arc<Mutex<BTreeMap<String, Deployed>>> = Arc::default();
    let last_error: Arc<Mutex<String>> = Arc::default();
    let watcher = {
        let (clients, seen, moto) = (clients.clone(), seen.clone(), moto.clone());
        let last_error = last_error.clone();
        tokio::spawn(async move {
            loop {
                for stack in moto_support::live_tailgate_stacks(&clients).await {
                    if seen.lock().unwrap().contains_key(&stack) {
                        continue;
                    }
                    match read_back(&clients, &moto, &stack).await {
                        Ok(d) => {
                            seen.lock().unwrap().insert(stack, d);
                        }
                        Err(e) => *last_error.lock().unwrap() = format!("{stack}: {e}"),
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let out = tempfile::tempdir().unwrap();
    let options = RunOptions {
        server_side: ServerSideOptions {
            logs_patience: Duration::from_millis(300),
            poll_interval: Duration::from_millis(100),
            xray: false,
            ..Default::default()
        },
        out_dir: out.path().to_path_buf(),
        context: RunContext::default(),
        release: false,
        history: None,
        shard: None,
        start: None,
        traces: None,
    };
    let outcome = gate::measure(&config, &deployer, &options, &Progress::quiet())
        .await
        .expect("the run writes its outputs");
    watcher.abort();
    assert!(
        outcome.results.verdict.error.is_none(),
        "{:?}",
        outcome.results.verdict.error
    );
    assert!(
        outcome.teardown_failures.is_empty(),
        "{:?}",
        outcome.teardown_failures
    );

    let seen = seen.lock().unwrap().clone();
    let by_side = |suffix: &str| {
        seen.iter()
            .find(|(name, _)| name.ends_with(suffix))
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| {
                panic!(
                    "a {suffix} stack was read back: {seen:?}; last error: {}",
                    last_error.lock().unwrap()
                )
            })
    };
    let (base, head) = (by_side("-base"), by_side("-head"));
    assert_eq!(base.greeting, "base", "base's function runs base's commit");
    assert_eq!(head.greeting, "head", "head's function runs head's commit");
    assert!(base.code_sha_matches && head.code_sha_matches, "{seen:?}");
    // The targets say which commit each side is.
    for t in &outcome.results.targets {
        let sha = if t.side == tailgate::side::Side::Base {
            &base_sha
        } else {
            &head_sha
        };
        assert!(t.label.contains(sha.as_str()), "{}", t.label);
    }

    // Nothing left: stacks, packaged objects, worktrees.
    assert!(moto_support::live_tailgate_stacks(&clients)
        .await
        .is_empty());
    assert_eq!(objects(&clients).await, 0, "the packaged code is deleted");
    assert_eq!(worktrees(repo.path()), 1, "only the main worktree is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_code_without_a_bucket_names_the_key_and_leaves_nothing() {
    let Some(session) = moto_support::moto() else {
        return;
    };
    let clients = creds::clients_for(&session.moto.url).await;
    let repo = tempfile::tempdir().unwrap();
    let (base_sha, head_sha) = two_commit_repo(repo.path());
    let infra = repo.path().join("infra");
    let config = config::parse(
        &config_text("http://127.0.0.1:9", None),
        "tailgate.yml",
        &infra,
    )
    .expect("config");
    let config::DeployConfig::CloudFormation(stack) = &config.deploy else {
        panic!()
    };
    let deployer = CloudFormationDeployer::new(
        stack.clone(),
        StackContext {
            repo: "acme/orders".into(),
            pr: Some(13),
            base_sha,
            head_sha,
        },
        clients.clone(),
    )
    .in_dir(&infra);
    let out = tempfile::tempdir().unwrap();
    let options = RunOptions {
        server_side: ServerSideOptions::default(),
        out_dir: out.path().to_path_buf(),
        context: RunContext::default(),
        release: false,
        history: None,
        shard: None,
        start: None,
        traces: None,
    };
    let outcome = gate::measure(&config, &deployer, &options, &Progress::quiet())
        .await
        .expect("outputs");
    let error = outcome
        .results
        .verdict
        .error
        .clone()
        .expect("an error verdict");
    assert!(error.contains("`deploy.cloudformation.bucket`"), "{error}");
    assert!(
        error.contains("Resources.Fn.Properties.Code: src/"),
        "{error}"
    );
    assert!(moto_support::live_tailgate_stacks(&clients)
        .await
        .is_empty());
    assert_eq!(worktrees(repo.path()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_measuring_removes_stacks_objects_and_worktrees() {
    interrupted_at("round 1/").await;
}

/// After the rounds, while the functions' REPORT lines are awaited (moto has
/// none, so the stage waits its patience out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_reading_server_side_removes_stacks_objects_and_worktrees() {
    interrupted_at("reading the functions' REPORT lines").await;
}

/// SIGINT once a stderr line has `phase`, then SIGTERM (as GitHub cancels a job):
/// nothing is left on moto or in the repository, and the run exits 130.
async fn interrupted_at(phase: &str) {
    use std::io::BufRead;

    let Some(session) = moto_support::moto() else {
        return;
    };
    let moto = session.moto.url.clone();
    let clients = creds::clients_for(&moto).await;
    clients
        .s3
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("CreateBucket");
    let repo = tempfile::tempdir().unwrap();
    let (base_sha, head_sha) = two_commit_repo(repo.path());
    let target = Server::start(Behavior::Ok);
    let config = repo.path().join("infra/tailgate.yml");
    // Long rounds: the signal lands while measuring.
    let text = if phase.starts_with("round") {
        config_text(&target.base_url(), Some(BUCKET))
            .replace("duration: 400ms", "duration: 2s")
            .replace("rounds: 3", "rounds: 20")
    } else {
        config_text(&target.base_url(), Some(BUCKET))
    };
    std::fs::write(&config, text).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tailgate"))
        .args(["run", "--no-publish", "--quiet", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(repo.path().join("out"))
        .args(["--base-ref", &base_sha, "--head-ref", &head_sha])
        .env_remove("GITHUB_ACTIONS")
        .env("AWS_ENDPOINT_URL", &moto)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIATAILGATETEST")
        .env("AWS_SECRET_ACCESS_KEY", creds::TEST_SECRET)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let phase_line = phase.to_string();
    let log = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains(&phase_line) {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // Generous: two stacks, two worktrees and their packaging on a busy machine.
    let reached = rx.recv_timeout(Duration::from_secs(300));
    assert_eq!(moto_support::live_tailgate_stacks(&clients).await.len(), 2);
    assert_eq!(
        worktrees(repo.path()),
        3,
        "one worktree per side while measuring"
    );
    assert!(objects(&clients).await >= 2, "each side's code is packaged");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    let log = log.join().unwrap();
    reached.unwrap_or_else(|_| panic!("the run reached `{phase}`:\n{log}"));
    assert_eq!(status.code(), Some(130), "{log}");
    assert!(
        moto_support::live_tailgate_stacks(&clients)
            .await
            .is_empty(),
        "{log}"
    );
    assert_eq!(objects(&clients).await, 0, "{log}");
    assert_eq!(worktrees(repo.path()), 1, "{log}");
    assert!(!log.contains(creds::TEST_SECRET));
}
