//! Targets tailgate did not start (the `url` deployer, previews of an earlier step):
//! they are polled until they answer before the first round, and they can be named
//! from the workflow (`--base-url`, `--head-url`).

#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use servers::{Behavior, Server};

const BIN: &str = env!("CARGO_BIN_EXE_tailgate");

fn write_config(dir: &Path, deploy: &str) -> PathBuf {
    let text = format!(
        r#"
deploy:
{deploy}
load:
  connections: 2
  duration: 200ms
  warmup: 0s
compare:
  rounds: 2
  seed: 11
endpoints:
  - name: users
    path: /users/1
"#
    );
    let path = dir.join("tailgate.yml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Run {
    code: i32,
    stderr: String,
    results: Option<serde_json::Value>,
}

fn run(dir: &Path, config: &Path, extra: &[&str]) -> Run {
    let out_dir = dir.join("out");
    let out = Command::new(BIN)
        .args(["run", "--quiet", "--no-publish", "--config"])
        .arg(config)
        .arg("--out")
        .arg(&out_dir)
        .args(extra)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let results = std::fs::read_to_string(out_dir.join("tailgate-results.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        results,
    }
}

/// Every status counted in the rounds of `results`, summed.
fn statuses(results: &serde_json::Value) -> std::collections::BTreeMap<String, u64> {
    let mut all = std::collections::BTreeMap::new();
    for endpoint in results["endpoints"].as_array().unwrap() {
        for round in endpoint["rounds"].as_array().unwrap() {
            for (status, n) in round["data"]["statuses"].as_object().unwrap() {
                *all.entry(status.clone()).or_insert(0) += n.as_u64().unwrap();
            }
            assert_eq!(
                round["data"]["errors"],
                serde_json::json!({}),
                "no request failed: {round}"
            );
        }
    }
    all
}

#[test]
fn a_preview_answering_503_while_it_starts_is_measured_only_once_ready() {
    let dir = tempfile::tempdir().unwrap();
    // Sides deploy one after the other: head still starts when base is ready.
    let base = Server::start(Behavior::Warming {
        ready_after: Duration::from_secs(3),
    });
    let head = Server::start(Behavior::Warming {
        ready_after: Duration::from_secs(8),
    });
    let config = write_config(
        dir.path(),
        &format!(
            "  url:\n    base: \"{}\"\n    head: \"{}\"\n    ready: {{ path: /healthz, timeout: 60s, interval: 200ms }}",
            base.base_url(),
            head.base_url()
        ),
    );
    let run = run(dir.path(), &config, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for server in [&base, &head] {
        assert!(
            server.state.unready.load(Ordering::Relaxed) >= 1,
            "the side was polled while it answered 503"
        );
        assert!(server.state.warm.load(Ordering::Relaxed) > 10);
    }
    let results = run.results.expect("results written");
    let statuses = statuses(&results);
    assert_eq!(statuses.keys().collect::<Vec<_>>(), ["200"], "{statuses:?}");
}

#[test]
fn a_preview_that_never_gets_ready_is_an_error_verdict_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = Server::start(Behavior::Status(503));
    let head = Server::start(Behavior::Ok);
    let config = write_config(
        dir.path(),
        &format!(
            "  url:\n    base: \"{}\"\n    head: \"{}\"\n    ready: {{ timeout: 1500ms, interval: 100ms }}",
            base.base_url(),
            head.base_url()
        ),
    );
    let run = run(dir.path(), &config, &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let results = run.results.expect("an error verdict is still written");
    assert_eq!(results["verdict"]["level"], "error");
    let reason = results["verdict"]["error"].as_str().unwrap();
    assert!(
        reason.contains("was not ready") && reason.contains("it answered 503"),
        "{reason}"
    );
    assert!(base.state.requests.load(Ordering::Relaxed) >= 2);
    assert!(run.stderr.contains(reason), "{}", run.stderr);
}

#[test]
fn status_lists_make_a_403_from_a_deploying_stage_count_as_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let base = Server::start(Behavior::Status(403));
    let head = Server::start(Behavior::Ok);
    let config = write_config(
        dir.path(),
        &format!(
            "  url:\n    base: \"{}\"\n    head: \"{}\"\n    ready: {{ timeout: 1s, interval: 100ms, status: [200] }}",
            base.base_url(),
            head.base_url()
        ),
    );
    let run = run(dir.path(), &config, &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("it answered 403"), "{}", run.stderr);
}

#[test]
fn an_https_preview_is_polled_with_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = servers::TestCa::new();
    ca.write_ca(dir.path(), "ca.pem");
    let base = Server::start_tls(
        Behavior::Warming {
            ready_after: Duration::from_secs(1),
        },
        &ca,
    );
    let head = Server::start_tls(Behavior::Ok, &ca);
    let config = write_config(
        dir.path(),
        &format!(
            "  url:\n    base: \"{}\"\n    head: \"{}\"\n    ready: {{ interval: 100ms }}\ntls:\n  ca_file: ca.pem",
            base.base_url().replace("127.0.0.1", "localhost"),
            head.base_url().replace("127.0.0.1", "localhost")
        ),
    );
    let run = run(dir.path(), &config, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(base.state.unready.load(Ordering::Relaxed) >= 1);
    let statuses = statuses(&run.results.unwrap());
    assert_eq!(statuses.keys().collect::<Vec<_>>(), ["200"], "{statuses:?}");
}

/// Every file under `dir`, as text.
fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path, text));
        }
    }
    out
}

#[test]
fn urls_from_flags_and_a_secret_header_from_the_environment_work_end_to_end() {
    const SECRET: &str = "tg-secret-6f1c9a2e77d04b1f";
    let dir = tempfile::tempdir().unwrap();
    let base = Server::start(Behavior::Record);
    let head = Server::start(Behavior::Record);
    // No `deploy:` at all: the URLs come from the command line, the token from the
    // environment, as a workflow passes them.
    let config = dir.path().join("tailgate.yml");
    std::fs::write(
        &config,
        r#"
load: { connections: 2, duration: 200ms, warmup: 0s }
compare: { rounds: 2, seed: 3 }
endpoints:
  - name: orders
    method: POST
    path: /orders
    headers:
      Authorization: "Bearer ${TG_E2E_TOKEN}"
      Content-Type: application/json
    body: '{"item": 1}'
"#,
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new(BIN)
        .args(["run", "--no-publish", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out_dir)
        .arg("--base-url")
        .arg(base.base_url())
        .arg("--head-url")
        .arg(head.base_url())
        .env("TG_E2E_TOKEN", SECRET)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    // Each side got the header, and the secret nowhere else in any request.
    for server in [&base, &head] {
        let seen = server.seen();
        let measured: Vec<_> = seen.iter().filter(|s| s.path == "/orders").collect();
        assert!(measured.len() > 10, "{} requests", measured.len());
        for request in &seen {
            assert!(!request.path.contains(SECRET));
            assert!(!String::from_utf8_lossy(&request.body).contains(SECRET));
            for (name, value) in &request.headers {
                if name != "authorization" {
                    assert!(!value.contains(SECRET), "{name}: {value}");
                }
            }
        }
        for request in measured {
            assert_eq!(
                request.header("authorization"),
                Some(format!("Bearer {SECRET}").as_str())
            );
            assert_eq!(request.body, b"{\"item\": 1}");
        }
    }
    // ... and in nothing tailgate wrote or printed.
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    let files = files_under(&out_dir);
    assert!(files.len() >= 2, "{files:?}");
    for (path, text) in &files {
        assert!(
            !text.contains(SECRET),
            "{} holds the secret",
            path.display()
        );
    }
    let results = std::fs::read_to_string(out_dir.join("tailgate-results.json")).unwrap();
    assert!(results.contains(&base.base_url()) && results.contains(&head.base_url()));
}

#[test]
fn a_command_deploy_is_polled_at_the_url_it_printed() {
    let dir = tempfile::tempdir().unwrap();
    let base = Server::start(Behavior::Warming {
        ready_after: Duration::from_secs(1),
    });
    let head = Server::start(Behavior::Warming {
        ready_after: Duration::from_secs(6),
    });
    // `up` prints each side's URL, from the environment as a workflow would give it.
    let config = write_config(
        dir.path(),
        "  command:\n    up: 'if [ \"$TAILGATE_SIDE\" = base ]; then echo \"$TG_BASE\"; else echo \"$TG_HEAD\"; fi'\n    ready: { path: /healthz, interval: 100ms }",
    );
    let out_dir = dir.path().join("out");
    let out = Command::new(BIN)
        .args(["run", "--quiet", "--no-publish", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out_dir)
        .env("TG_BASE", base.base_url())
        .env("TG_HEAD", head.base_url())
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    // Both sides were deployed, polled until ready and measured: a verdict (pass,
    // or on a loaded machine a 2-round p99 that differs), never a failed run.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(base.state.unready.load(Ordering::Relaxed) >= 1);
    assert!(head.state.unready.load(Ordering::Relaxed) >= 1);
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("tailgate-results.json")).unwrap(),
    )
    .unwrap();
    let statuses = statuses(&results);
    assert_eq!(statuses.keys().collect::<Vec<_>>(), ["200"], "{statuses:?}");
}

/// A server answering every request with a redirect to `location`, keep-alive.
fn redirecting(location: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let location = location.clone();
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let reply = format!(
                            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
                        );
                        if conn.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    url
}

/// Load goes only where the config points: a redirect to another host is neither
/// followed by the readiness poll nor by the load; it is counted as a status.
#[test]
fn redirects_to_another_host_are_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = Server::start(Behavior::Ok);
    let base = redirecting(format!("{}/stolen", elsewhere.base_url()));
    let head = Server::start(Behavior::Ok);
    let config = write_config(
        dir.path(),
        &format!(
            "  url:\n    base: \"{base}\"\n    head: \"{}\"\n    ready: {{ path: /healthz, timeout: 5s, interval: 100ms, status: [200, 302] }}",
            head.base_url()
        ),
    );
    let run = run(dir.path(), &config, &[]);
    let results = run.results.expect("results");
    assert_eq!(
        elsewhere.state.requests.load(Ordering::Relaxed),
        0,
        "nothing reached the redirect's target: {}",
        run.stderr
    );
    let base_rounds: Vec<&serde_json::Value> = results["endpoints"][0]["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["side"] == "base")
        .collect();
    assert!(!base_rounds.is_empty());
    for round in base_rounds {
        let statuses = round["data"]["statuses"].as_object().unwrap();
        assert_eq!(statuses.keys().collect::<Vec<_>>(), ["302"], "{round}");
        assert_eq!(round["data"]["ok"], 0);
        let errors = round["data"]["errors"].as_object().unwrap();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["status_other"],
            "{round}"
        );
    }
}
