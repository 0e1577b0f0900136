//! The action as a GitHub runner runs it: a workflow job whose steps run with bash
//! in order, one of them `uses:` this repository's `action.yml`, whose composite
//! steps run in turn, with the runner's files and variables (`GITHUB_OUTPUT`,
//! `GITHUB_PATH`, `GITHUB_STEP_SUMMARY`, `RUNNER_OS`, `RUNNER_ARCH`, `RUNNER_TEMP`,
//! `RUNNER_TOOL_CACHE`, inputs as `${{ inputs.* }}`, `::add-mask::`).
//!
//! The release download is served on 127.0.0.1 with real checksum files (and a
//! tampered one, which must be refused); an earlier step starts the service on the
//! runner's 127.0.0.1; `tailgate run` measures it and publishes to the GitHub
//! stand-in. A `uses:` of another action is recorded and skipped, except the
//! action's own `actions/cache/restore` and `actions/cache/save`, which keep the
//! saved folder by key in a folder beside the runner (the cache server: it
//! outlives a job's tool cache, as GitHub's does).

mod common;
#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use common::standin::{StandIn, BASE_SHA, HEAD_SHA, OWNER, PR, REPO};
use common::{actions_env, pr_event, CANARY};
use serde_json::{json, Value};
use servers::{Behavior, Server};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const SECRET: &str = "tg-runner-secret-5b0e9d14c2a7";

/// The runner's name for this machine's architecture, and the release target.
fn runner_arch() -> (&'static str, String) {
    match std::env::consts::ARCH {
        "x86_64" => ("X64", "x86_64-unknown-linux-musl".into()),
        "aarch64" => ("ARM64", "aarch64-unknown-linux-musl".into()),
        other => panic!("no runner architecture for {other}"),
    }
}

/// What one step did.
#[derive(Debug, Clone)]
struct StepRun {
    name: String,
    code: i32,
    /// stdout + stderr, raw (before the runner's masking).
    log: String,
    outputs: BTreeMap<String, String>,
}

/// A job on an emulated runner.
struct Runner {
    /// The job's environment (GITHUB_*, RUNNER_*), without PATH.
    env: BTreeMap<String, String>,
    /// `github.token`.
    token: String,
    /// Folders steps added with `GITHUB_PATH`, newest first.
    path: Vec<String>,
    /// The system PATH the runner started with (no cargo target dir on it).
    system_path: String,
    workspace: PathBuf,
    temp: PathBuf,
    /// Every step run, in order (composite steps included).
    steps: Vec<StepRun>,
    /// Values masked with `::add-mask::`.
    masks: Vec<String>,
    /// `uses:` of other actions, skipped.
    skipped: Vec<String>,
    /// The step summaries, in order.
    summaries: Vec<String>,
    /// The cache server's store: one folder per saved key.
    cache_store: PathBuf,
    /// Keys saved by `actions/cache/save`, in order.
    saved: Vec<String>,
    counter: usize,
}

impl Runner {
    fn new(env: BTreeMap<String, String>, workspace: PathBuf, temp: PathBuf) -> Runner {
        // A runner's PATH has the usual system folders: bash, curl, tar, sha256sum.
        let system_path = "/usr/local/bin:/usr/bin:/bin".to_string();
        let cache_store = temp.parent().expect("temp's parent").join("cache-server");
        Runner {
            env,
            token: CANARY.to_string(),
            path: Vec::new(),
            system_path,
            workspace,
            temp,
            steps: Vec::new(),
            masks: Vec::new(),
            skipped: Vec::new(),
            summaries: Vec::new(),
            cache_store,
            saved: Vec::new(),
            counter: 0,
        }
    }

    /// Run the steps of a job (YAML sequence) in order; stops at the first
    /// failing step, as a job does. Returns the contexts' `steps`.
    async fn job(&mut self, steps: &Value, secrets: &Value) -> Result<Value, StepRun> {
        let mut ctx = json!({
            "github": self.github_context(None),
            "secrets": secrets,
            "runner": { "os": "Linux", "temp": self.temp.display().to_string() },
            "steps": {},
            "env": {},
        });
        for step in steps.as_array().expect("steps") {
            let id = step["id"].as_str().map(str::to_string);
            let outputs = if let Some(uses) = step["uses"].as_str() {
                if uses == "./" {
                    self.composite(step, &ctx).await?
                } else {
                    self.skipped.push(uses.to_string());
                    BTreeMap::new()
                }
            } else {
                let env = expand_env(&step["env"], &ctx);
                let run = step["run"].as_str().expect("run");
                let result = self
                    .run_step(step_name(step), &expand(run, &ctx), &env)
                    .await;
                if result.code != 0 {
                    return Err(result);
                }
                result.outputs
            };
            if let Some(id) = id {
                ctx["steps"][id] = json!({ "outputs": outputs });
            }
        }
        Ok(ctx["steps"].clone())
    }

    fn github_context(&self, action: Option<(&str, &str)>) -> Value {
        let mut github = json!({
            "token": self.token,
            "workspace": self.workspace.display().to_string(),
            "repository": format!("{OWNER}/{REPO}"),
            "event_name": self.env.get("GITHUB_EVENT_NAME").cloned().unwrap_or_default(),
            "server_url": self.env.get("GITHUB_SERVER_URL").cloned().unwrap_or_default(),
        });
        if let Some((path, action_ref)) = action {
            github["action_path"] = json!(path);
            github["action_ref"] = json!(action_ref);
            github["action_repository"] = json!("tailgate-dev/tailgate");
        }
        github
    }

    /// `uses: ./` of this repository's action.yml at ref `with.__ref` (the ref the
    /// workflow would name after `@`).
    async fn composite(
        &mut self,
        step: &Value,
        caller: &Value,
    ) -> Result<BTreeMap<String, String>, StepRun> {
        let action: Value = serde_saphyr::from_str(
            &std::fs::read_to_string(Path::new(ROOT).join("action.yml")).expect("action.yml"),
        )
        .expect("action.yml is YAML");
        assert_eq!(action["runs"]["using"], "composite");
        let action_ref = step["with"]["__ref"].as_str().unwrap_or("").to_string();
        let mut ctx = json!({
            "github": self.github_context(Some((ROOT, &action_ref))),
            "secrets": caller["secrets"].clone(),
            "runner": caller["runner"].clone(),
            "steps": {},
            "inputs": {},
        });
        // Inputs: what `with:` gives (expanded in the caller's context), else the
        // default (expanded in the action's). An input action.yml lacks is an error.
        let with = step["with"].as_object().cloned().unwrap_or_default();
        for key in with.keys() {
            let key = key.as_str();
            if key != "__ref" {
                assert!(
                    !action["inputs"][key].is_null(),
                    "the workflow passes input `{key}`, which action.yml does not declare"
                );
            }
        }
        for (name, input) in action["inputs"].as_object().expect("inputs") {
            let name = name.as_str();
            let value = match with.get(name) {
                Some(v) => expand(&yaml_text(v), caller),
                None => expand(&yaml_text(&input["default"]), &ctx),
            };
            ctx["inputs"][name] = json!(value);
        }
        // The `uses:` step's own `env:` reaches every composite step.
        let outer_env = expand_env(&step["env"], caller);
        for inner in action["runs"]["steps"].as_array().expect("runs.steps") {
            if let Some(condition) = inner["if"].as_str() {
                if !truthy(condition, &ctx) {
                    continue;
                }
            }
            let id = inner["id"].as_str().map(str::to_string);
            let outputs = if let Some(uses) = inner["uses"].as_str() {
                self.skipped.push(uses.to_string());
                self.cache_step(uses, &inner["with"], &ctx)
            } else {
                assert_eq!(
                    inner["shell"], "bash",
                    "composite run steps name their shell"
                );
                let mut env = outer_env.clone();
                env.extend(expand_env(&inner["env"], &ctx));
                let run = expand(inner["run"].as_str().expect("run"), &ctx);
                let result = self.run_step(step_name(inner), &run, &env).await;
                if result.code != 0 {
                    return Err(result);
                }
                result.outputs
            };
            if let Some(id) = id {
                ctx["steps"][id] = json!({ "outputs": outputs });
            }
        }
        let mut outputs = BTreeMap::new();
        for (name, output) in action["outputs"].as_object().expect("outputs") {
            let value = expand(output["value"].as_str().expect("output value"), &ctx);
            outputs.insert(name.clone(), value);
        }
        Ok(outputs)
    }

    /// `actions/cache/restore` (output `cache-hit`) and `actions/cache/save` (a key
    /// is saved once, as on GitHub) against the cache store; other actions: nothing.
    fn cache_step(&mut self, uses: &str, with: &Value, ctx: &Value) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let (Some(path), Some(key)) = (with["path"].as_str(), with["key"].as_str()) else {
            return out;
        };
        let path = PathBuf::from(expand(path, ctx));
        let key = expand(key, ctx);
        let stored = self.cache_store.join(&key);
        let copy = |from: &Path, to: &Path| {
            std::fs::create_dir_all(to).expect("cache dir");
            let status = std::process::Command::new("cp")
                .arg("-a")
                .arg(from.join("."))
                .arg(to)
                .status()
                .expect("cp");
            assert!(status.success());
        };
        if uses.starts_with("actions/cache/restore@") {
            let hit = stored.is_dir();
            if hit {
                copy(&stored, &path);
            }
            out.insert("cache-hit".into(), hit.to_string());
        } else if uses.starts_with("actions/cache/save@") && !stored.exists() && path.is_dir() {
            copy(&path, &stored);
            self.saved.push(key);
        }
        out
    }

    /// One `run:` step with bash, as the runner runs it: `bash --noprofile --norc
    /// -eo pipefail FILE`, fresh `GITHUB_OUTPUT` / `GITHUB_PATH` /
    /// `GITHUB_STEP_SUMMARY` files read back afterwards.
    async fn run_step(
        &mut self,
        name: String,
        script: &str,
        env: &BTreeMap<String, String>,
    ) -> StepRun {
        self.counter += 1;
        let dir = self.temp.join(format!("_step{}", self.counter));
        std::fs::create_dir_all(&dir).expect("step dir");
        let file = dir.join("script.sh");
        std::fs::write(&file, script).expect("script");
        let (output_file, path_file, summary_file) =
            (dir.join("output"), dir.join("path"), dir.join("summary"));
        for f in [&output_file, &path_file, &summary_file] {
            std::fs::write(f, "").expect("runner file");
        }
        let mut path = self.path.clone();
        path.push(self.system_path.clone());
        let out = tokio::process::Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .env_clear()
            .envs(&self.env)
            .env("PATH", path.join(":"))
            .env("HOME", self.temp.join("home"))
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", &path_file)
            .env("GITHUB_STEP_SUMMARY", &summary_file)
            .env("GITHUB_ACTION_PATH", ROOT)
            .envs(env)
            .current_dir(&self.workspace)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run bash");
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for line in log.lines() {
            if let Some(value) = line.strip_prefix("::add-mask::") {
                self.masks.push(value.to_string());
            }
        }
        let outputs = parse_outputs(&std::fs::read_to_string(&output_file).expect("output"));
        for added in std::fs::read_to_string(&path_file).expect("path").lines() {
            if !added.trim().is_empty() {
                self.path.insert(0, added.trim().to_string());
            }
        }
        self.summaries
            .push(std::fs::read_to_string(&summary_file).expect("summary"));
        let run = StepRun {
            name,
            code: out.status.code().unwrap_or(-1),
            log,
            outputs,
        };
        self.steps.push(run.clone());
        run
    }

    /// Every step's log, as raw text.
    fn log(&self) -> String {
        self.steps
            .iter()
            .map(|s| format!("--- {} (exit {})\n{}", s.name, s.code, s.log))
            .collect()
    }
}

fn step_name(step: &Value) -> String {
    step["name"]
        .as_str()
        .or(step["id"].as_str())
        .unwrap_or("step")
        .to_string()
}

fn yaml_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn expand_env(env: &Value, ctx: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in env.as_object().into_iter().flatten() {
        out.insert(k.clone(), expand(&yaml_text(v), ctx));
    }
    out
}

/// `${{ expr }}` replaced by its value. The expressions the action and these
/// workflows use: a context path (`inputs.x`, `steps.id.outputs.y`, `github.z`,
/// `secrets.s`), and `a == 'b'` / `a != 'b'`.
fn expand(text: &str, ctx: &Value) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed ${{") + start;
        out.push_str(&eval(rest[start + 3..end].trim(), ctx));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

fn eval(expr: &str, ctx: &Value) -> String {
    for (op, equal) in [("!=", false), ("==", true)] {
        if let Some((left, right)) = expr.split_once(op) {
            let right = right.trim().trim_matches('\'');
            return ((eval(left.trim(), ctx) == right) == equal).to_string();
        }
    }
    let mut parts = expr.split('.');
    let top = parts.next().unwrap_or_default();
    assert!(
        ["inputs", "github", "steps", "secrets", "runner", "env"].contains(&top),
        "the emulated runner knows no context `{top}` (in `{expr}`)"
    );
    let mut v = &ctx[top];
    for p in parts {
        v = &v[p];
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn truthy(condition: &str, ctx: &Value) -> bool {
    let condition = condition.trim();
    let inner = condition
        .strip_prefix("${{")
        .and_then(|c| c.strip_suffix("}}"))
        .unwrap_or(condition);
    inner.split("&&").all(|part| {
        let part = part.trim();
        if part == "always()" {
            return true;
        }
        let v = eval(part, ctx);
        !(v.is_empty() || v == "false" || v == "0")
    })
}

/// `GITHUB_OUTPUT`'s two forms: `name=value` and `name<<DELIMITER` ... `DELIMITER`.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

fn sha256_hex(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a checksum")
        .to_string()
}

/// The release assets of v`VERSION` for this machine, as the release workflow
/// makes them: `tailgate` at the top of a tar.gz, and `<asset>.sha256` holding
/// `<hex>  <asset>`. With `tampered`, the checksum file names another file's hash.
fn release_server(dir: &Path, tampered: bool) -> Server {
    release_server_with(dir, |hash, asset| {
        if tampered {
            // The checksum of something else: what a swapped asset looks like.
            format!(
                "{}  {asset}\n",
                sha256_hex(&Path::new(ROOT).join("Cargo.toml"))
            )
        } else {
            format!("{hash}  {asset}\n")
        }
    })
}

/// [`release_server`] with the checksum file `checksum(hash, asset)` writes.
fn release_server_with(dir: &Path, checksum: impl Fn(&str, &str) -> String) -> Server {
    let (_, target) = runner_arch();
    let asset = format!("tailgate-v{VERSION}-{target}.tar.gz");
    let staging = dir.join("release");
    std::fs::create_dir_all(&staging).expect("staging");
    std::fs::copy(env!("CARGO_BIN_EXE_tailgate"), staging.join("tailgate")).expect("copy");
    let tarball = dir.join(&asset);
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&staging)
        .arg("tailgate")
        .status()
        .expect("tar");
    assert!(status.success());
    let checksum = checksum(&sha256_hex(&tarball), &asset);
    let mut files = HashMap::new();
    files.insert(
        format!("/v{VERSION}/{asset}"),
        Bytes::from(std::fs::read(&tarball).expect("tarball")),
    );
    files.insert(format!("/v{VERSION}/{asset}.sha256"), Bytes::from(checksum));
    Server::start(Behavior::Files(files))
}

/// A pull request job on the emulated runner against `standin`, with a config in
/// the workspace (and at the base commit, through the contents API).
async fn pr_runner(dir: &Path, standin: &StandIn, config: &str) -> Runner {
    let event = pr_event(dir, HEAD_SHA);
    event_runner(dir, standin, config, "pull_request", &event)
}

/// A job of `event_name` (payload at `event`) on the emulated runner; the config
/// is in the workspace and, through the contents API, at [`BASE_SHA`].
fn event_runner(
    dir: &Path,
    standin: &StandIn,
    config: &str,
    event_name: &str,
    event: &Path,
) -> Runner {
    let workspace = dir.join("workspace");
    let temp = dir.join("runner-temp");
    for d in [&workspace, &temp, &temp.join("home")] {
        std::fs::create_dir_all(d).expect("dir");
    }
    std::fs::write(workspace.join("tailgate.yml"), config).expect("config");
    standin
        .state
        .lock()
        .expect("state")
        .files
        .insert((BASE_SHA.into(), "tailgate.yml".into()), config.to_string());
    let mut env: BTreeMap<String, String> = actions_env(standin, dir, event_name, event, 4242)
        .into_iter()
        .filter(|(k, _)| {
            !k.starts_with("INPUT_") && k != "GITHUB_OUTPUT" && k != "GITHUB_STEP_SUMMARY"
        })
        .collect();
    let (arch, _) = runner_arch();
    env.insert("RUNNER_ARCH".into(), arch.into());
    env.insert("RUNNER_OS".into(), "Linux".into());
    env.insert("RUNNER_TEMP".into(), temp.display().to_string());
    env.insert(
        "RUNNER_TOOL_CACHE".into(),
        dir.join("toolcache").display().to_string(),
    );
    env.insert("GITHUB_WORKSPACE".into(), workspace.display().to_string());
    env.insert("CI".into(), "true".into());
    Runner::new(env, workspace, temp)
}

const CONFIG: &str = r#"
load: { connections: 2, duration: 200ms, warmup: 0s }
compare: { rounds: 2, seed: 5 }
# Two short rounds on a shared machine are noisy: the verdict is not what this tests.
defaults: { budget: { p99: +1000% } }
endpoints:
  - name: users
    path: /users/1
    headers:
      Authorization: "Bearer ${TG_RUNNER_TOKEN}"
"#;

/// The user's workflow: start the service on the runner (two instances, base and
/// head), then the gate with their URLs and the token from a secret.
fn workflow(release_url: &str, action_ref: &str) -> Value {
    let bin = env!("CARGO_BIN_EXE_tailgate");
    let text = format!(
        r#"
- name: Start the service
  id: service
  env:
    SAMPLE: "{bin}"
  run: |
    for side in base head; do
      "$SAMPLE" sample-service --variant base --port 0 > "$RUNNER_TEMP/$side.log" 2>&1 &
      echo $! >> "$RUNNER_TEMP/services.pid"
    done
    for side in base head; do
      for i in $(seq 1 200); do grep -q listening "$RUNNER_TEMP/$side.log" && break; sleep 0.05; done
      echo "${{side}}_url=$(grep -o 'http://127.0.0.1:[0-9]*' "$RUNNER_TEMP/$side.log")" >> "$GITHUB_OUTPUT"
    done
- uses: actions/checkout@v4
- name: Performance gate
  id: gate
  uses: ./
  env:
    TG_RUNNER_TOKEN: ${{{{ secrets.TG_RUNNER_TOKEN }}}}
    TAILGATE_RELEASE_URL: "{release_url}"
  with:
    __ref: "{action_ref}"
    base_url: ${{{{ steps.service.outputs.base_url }}}}
    head_url: ${{{{ steps.service.outputs.head_url }}}}
    github_token: ${{{{ github.token }}}}
"#
    );
    serde_saphyr::from_str(&text).expect("workflow YAML")
}

fn stop_services(runner: &Runner) {
    if let Ok(pids) = std::fs::read_to_string(runner.temp.join("services.pid")) {
        for pid in pids.split_whitespace() {
            let _ = std::process::Command::new("kill").arg(pid).status();
        }
    }
}

fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let text =
                String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
            out.push((path, text));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_installs_a_verified_binary_and_gates_a_service_on_the_runner() {
    let dir = tempfile::tempdir().unwrap();
    let standin = StandIn::start(CANARY).await;
    let release = release_server(dir.path(), false);
    let mut runner = pr_runner(dir.path(), &standin, CONFIG).await;
    let secrets = json!({ "TG_RUNNER_TOKEN": SECRET });
    let result = runner
        .job(
            &workflow(&release.base_url(), &format!("v{VERSION}")),
            &secrets,
        )
        .await;
    stop_services(&runner);
    let log = runner.log();
    let steps = result.unwrap_or_else(|failed| panic!("step `{}` failed:\n{log}", failed.name));

    // Installed from the release, verified, on PATH for the run step.
    let (_, target) = runner_arch();
    let installed = dir
        .path()
        .join(format!("toolcache/tailgate/{VERSION}/{target}/tailgate"));
    assert!(installed.is_file(), "{log}");
    assert!(log.contains("checksum verified"), "{log}");
    assert!(
        runner.path.iter().any(|p| installed.starts_with(p)),
        "{:?}",
        runner.path
    );
    assert_eq!(
        runner.skipped,
        [
            "actions/checkout@v4",
            "actions/cache/restore@v4",
            "actions/cache/save@v4"
        ]
    );

    // The gate's outputs, through the composite's `outputs:`.
    let gate = &steps["gate"]["outputs"];
    assert_eq!(gate["verdict"], "pass", "{log}");
    assert_eq!(gate["exit_code"], "0");
    assert!(
        gate["check_run_url"].as_str().unwrap().contains("/runs/"),
        "{gate}"
    );
    assert!(gate["comment_url"]
        .as_str()
        .unwrap()
        .contains("#issuecomment-"));
    let results_path = runner
        .workspace
        .join(gate["results_path"].as_str().unwrap());
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(&results_path).unwrap()).unwrap();
    let ok: u64 = results["endpoints"][0]["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"]["ok"].as_u64().unwrap())
        .sum();
    assert!(
        ok > 10,
        "the service on 127.0.0.1 was measured: {ok} requests"
    );

    // The job summary was written by the run step.
    let summary = runner.summaries.concat();
    assert!(summary.contains("tailgate"), "{summary}");

    // One comment on the PR and one check run on its head commit, on the stand-in.
    {
        let state = standin.state.lock().unwrap();
        assert_eq!(state.comments.len(), 1);
        assert_eq!(state.check_runs.len(), 1);
        assert_eq!(state.check_runs[0]["head_sha"], HEAD_SHA);
        let issue = format!("/repos/{OWNER}/{REPO}/issues/{PR}/comments");
        assert!(state.requests.iter().any(|r| r.path.starts_with(&issue)));
    }

    // The secret: masked by the runner, and nowhere in what tailgate wrote, printed
    // (beyond the mask command itself) or sent to GitHub.
    assert!(
        runner.masks.iter().any(|m| m == SECRET),
        "{:?}",
        runner.masks
    );
    for line in log.lines() {
        if !line.starts_with("::add-mask::") {
            assert!(!line.contains(SECRET), "log line: {line}");
        }
    }
    assert!(!summary.contains(SECRET));
    for (path, text) in files_under(&runner.workspace).into_iter().chain(
        files_under(&runner.temp)
            .into_iter()
            .filter(|(p, _)| !p.ends_with("script.sh")),
    ) {
        assert!(
            !text.contains(SECRET),
            "{} holds the secret",
            path.display()
        );
    }
    for request in standin.requests() {
        assert!(
            !request.body.contains(SECRET),
            "{} {}",
            request.method,
            request.path
        );
    }

    // A second job with the same tool cache (a cache hit) uses the verified copy,
    // with the release server gone.
    drop(release);
    installs_from_the_cache(&mut runner, &secrets).await;
}

/// Runs the action's `check` again with the release server gone, and asserts its
/// install used the cached, verified binary.
async fn installs_from_the_cache(runner: &mut Runner, secrets: &Value) {
    let from = runner.counter;
    let again = serde_saphyr::from_str::<Value>(&format!(
        r#"
- id: gate
  uses: ./
  env: {{ TAILGATE_RELEASE_URL: "http://127.0.0.1:9" }}
  with: {{ __ref: "v{VERSION}", command: "check" }}
"#
    ))
    .unwrap();
    let _ = runner.job(&again, secrets).await;
    let install = runner.steps[from..]
        .iter()
        .find(|s| s.name == "Install tailgate")
        .expect("install ran");
    assert_eq!(install.code, 0, "{}", install.log);
    assert!(
        install.log.contains("using the cached, verified"),
        "{}",
        install.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_checksum_is_refused_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let standin = StandIn::start(CANARY).await;
    let release = release_server(dir.path(), true);
    let mut runner = pr_runner(dir.path(), &standin, CONFIG).await;
    let result = runner
        .job(
            &workflow(&release.base_url(), &format!("v{VERSION}")),
            &json!({ "TG_RUNNER_TOKEN": SECRET }),
        )
        .await;
    stop_services(&runner);
    let failed = result.expect_err("the install must fail");
    assert_eq!(failed.name, "Install tailgate", "{}", runner.log());
    assert_eq!(failed.code, 1);
    assert!(
        failed
            .log
            .contains("::error title=tailgate install::checksum mismatch")
            && failed.log.contains("refusing to install"),
        "{}",
        failed.log
    );
    let (_, target) = runner_arch();
    assert!(!dir
        .path()
        .join(format!("toolcache/tailgate/{VERSION}/{target}/tailgate"))
        .exists());
    assert!(runner.steps.iter().all(|s| s.name != "Run tailgate"));
    assert!(standin.requests().is_empty(), "nothing reached GitHub");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_ref_without_a_release_is_told_to_build_from_source() {
    let dir = tempfile::tempdir().unwrap();
    let standin = StandIn::start(CANARY).await;
    let mut runner = pr_runner(dir.path(), &standin, CONFIG).await;
    let result = runner
        .job(&workflow("http://127.0.0.1:9", "main"), &json!({}))
        .await;
    stop_services(&runner);
    let failed = result.expect_err("no release for a branch");
    assert_eq!(failed.name, "Plan the tailgate install");
    assert!(
        failed
            .log
            .contains("'main' is not a release tag or a full commit sha")
            && failed.log.contains("build_from_source: true"),
        "{}",
        failed.log
    );
}

/// The PR event `action` at `head` with `labels` on the PR (`label`: the one a
/// `labeled` event added), written to `dir`.
fn labeled_event(dir: &Path, name: &str, action: &str, head: &str, labels: &[&str]) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(ROOT).join("tests/fixtures/github-events/pull_request.synchronize.0.json"),
    )
    .expect("fixture");
    let mut payload: Value = serde_json::from_str(&text).expect("json");
    payload["action"] = json!(action);
    payload["pull_request"]["head"]["sha"] = json!(head);
    payload["after"] = json!(head);
    payload["pull_request"]["labels"] = json!(labels
        .iter()
        .map(|l| json!({ "name": l, "color": "ededed" }))
        .collect::<Vec<_>>());
    if action == "labeled" {
        payload["label"] = json!({ "name": labels[labels.len() - 1], "color": "ededed" });
    }
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, payload.to_string()).expect("event");
    path
}

/// `examples/workflows/history.yml`'s steps, with its `uses:` of the action
/// pointed at this repository's action.yml and the release server.
fn history_workflow(release_url: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join("examples/workflows/history.yml"))
        .expect("history.yml");
    let doc: Value = serde_saphyr::from_str(&text).expect("YAML");
    let mut steps = doc["jobs"]["tailgate"]["steps"].clone();
    for step in steps.as_array_mut().expect("steps") {
        let ours = step["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("tailgate-dev/tailgate@"));
        if ours {
            step["uses"] = "./".into();
            step["id"] = "gate".into();
            step["with"]["__ref"] = format!("v{VERSION}").into();
            step["env"]["TAILGATE_RELEASE_URL"] = release_url.into();
        }
    }
    steps
}

/// One job of `steps` for the PR event `(name, action, head, labels)` as run
/// `run`, on a fresh workspace: whether it passed, and its log.
async fn history_job(
    runner: &mut Runner,
    steps: &Value,
    events: &Path,
    (name, action, head, labels): (&str, &str, &str, &[&str]),
    run: u64,
) -> (bool, String) {
    let event = labeled_event(events, name, action, head, labels);
    runner
        .env
        .insert("GITHUB_EVENT_PATH".into(), event.display().to_string());
    runner.env.insert("GITHUB_RUN_ID".into(), run.to_string());
    // A fresh runner: nothing of the last job's workspace is left.
    let _ = std::fs::remove_dir_all(runner.workspace.join(".tailgate-history"));
    let from = runner.steps.len();
    let result = runner.job(steps, &json!({})).await;
    let log: String = runner.steps[from..]
        .iter()
        .map(|s| format!("--- {} (exit {})\n{}", s.name, s.code, s.log))
        .collect();
    (result.is_ok(), log)
}

/// The accept label with the example history workflow, as a runner runs it: each
/// job on a fresh workspace, the history store never restored (the example saves
/// it on pushes only, and `actions/cache` is not emulated: whatever a cache
/// pattern keeps, this keeps nothing). A failing PR; the label added on its head:
/// accepted, with a notice and no error; a second event on the same commit (another
/// label): still accepted, read back from the sticky comment; a new commit: gated
/// again, and the message names the commit the label was added for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accept_label_survives_the_history_workflow_and_a_new_commit_is_gated_again() {
    let dir = tempfile::tempdir().unwrap();
    let standin = StandIn::start(CANARY).await;
    let release = release_server(dir.path(), false);
    let fast = Server::start(Behavior::Delays {
        fast: std::time::Duration::from_millis(2),
        slow_fraction: 0.0,
        slow: (std::time::Duration::ZERO, std::time::Duration::ZERO),
    });
    let slow = Server::start(Behavior::Delays {
        fast: std::time::Duration::from_millis(60),
        slow_fraction: 0.0,
        slow: (std::time::Duration::ZERO, std::time::Duration::ZERO),
    });
    let config = format!(
        r#"
deploy:
  url: {{ base: "{}", head: "{}" }}
load: {{ connections: 8, duration: 300ms, warmup: 0s }}
compare: {{ rounds: 4, seed: 5 }}
history: {{ store: .tailgate-history }}
accept_label: perf-accepted
defaults: {{ budget: {{ p50: +10% }} }}
endpoints:
  - name: users
    path: /users/1
"#,
        fast.base_url(),
        slow.base_url()
    );
    let mut runner = pr_runner(dir.path(), &standin, &config).await;
    let steps = history_workflow(&release.base_url());
    let events = dir.path().join("events");
    std::fs::create_dir_all(&events).unwrap();
    let mut run_job = async |name: &str, action: &str, head: &str, labels: &[&str], run: u64| {
        history_job(
            &mut runner,
            &steps,
            &events,
            (name, action, head, labels),
            run,
        )
        .await
    };

    // 1. The regression fails the PR.
    let (ok, log) = run_job("sync", "synchronize", HEAD_SHA, &[], 5001).await;
    assert!(!ok, "{log}");
    assert!(log.contains("::error title=tailgate"), "{log}");

    // 2. The label is added on this head: accepted, a notice and no error.
    let (ok, log) = run_job("labeled", "labeled", HEAD_SHA, &["perf-accepted"], 5002).await;
    assert!(ok, "{log}");
    assert!(!log.contains("::error"), "{log}");
    assert!(
        log.contains("::notice title=tailgate%3A accepted by the label \"perf-accepted\"::"),
        "{log}"
    );
    assert!(log.contains(&HEAD_SHA[..7]), "{log}");
    assert!(
        !log.contains("perf\\-accepted") && !log.contains("\\:"),
        "plain text: {log}"
    );
    let marker = {
        let state = standin.state.lock().unwrap();
        assert_eq!(state.comments.len(), 1);
        state.comments[0]["body"].as_str().unwrap().to_string()
    };
    assert!(marker.contains("accepted=perf-accepted"), "{marker}");
    assert!(marker.contains("verdict=pass"), "{marker}");

    // 3. Another label on the same commit: a second event, a fresh workspace (no
    // history), still accepted.
    let (ok, log) = run_job("bug", "labeled", HEAD_SHA, &["perf-accepted", "bug"], 5003).await;
    assert!(ok, "the acceptance was lost: {log}");
    assert!(!log.contains("::error"), "{log}");
    assert!(!log.contains("earlier commit"), "{log}");
    assert!(log.contains("::notice"), "{log}");

    // 4. A new push: the label is still on the PR, the new commit is gated again.
    common::push_newer_head(&standin);
    let (ok, log) = run_job(
        "push",
        "synchronize",
        common::NEWER_SHA,
        &["perf-accepted", "bug"],
        5004,
    )
    .await;
    assert!(!ok, "a new commit is gated again: {log}");
    assert!(log.contains("::error title=tailgate"), "{log}");
    assert!(
        log.contains(&format!(
            "the label \"perf-accepted\" was added for {}, an earlier commit: it does not accept {}",
            &HEAD_SHA[..7],
            &common::NEWER_SHA[..7]
        )),
        "{log}"
    );
    let state = standin.state.lock().unwrap();
    let conclusions: Vec<&str> = state
        .check_runs
        .iter()
        .map(|c| c["conclusion"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(conclusions, ["failure", "success", "success", "failure"]);
    drop(state);
    drop(release);
}

/// The merge queue's group commit the `merge_group` payload names in these tests.
const GROUP_SHA: &str = "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d";

/// The real `merge_group` payload, its base commit moved to [`BASE_SHA`] (where the
/// stand-in serves the gate's config); its head is [`GROUP_SHA`].
fn merge_group_event(dir: &Path, standin: &StandIn) -> PathBuf {
    let text = std::fs::read_to_string(common::fixture(
        "github-events/merge_group.checks_requested.0.json",
    ))
    .expect("fixture");
    let mut payload: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(payload["merge_group"]["head_sha"], GROUP_SHA);
    payload["merge_group"]["base_sha"] = json!(BASE_SHA);
    standin
        .state
        .lock()
        .expect("state")
        .commits
        .push(GROUP_SHA.into());
    let path = dir.join("merge_group.json");
    std::fs::write(&path, payload.to_string()).expect("write");
    path
}

/// A commit sha of this action (what `uses: tailgate-dev/tailgate@<sha>` names).
const ACTION_SHA: &str = "9f2c4e1a7b3d5f6e8a0c2b4d6f8e0a1c3b5d7f9e";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_by_sha_a_merge_group_is_gated_with_a_check_run_on_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let standin = StandIn::start(CANARY).await;
    let release = release_server(dir.path(), false);
    let event = merge_group_event(dir.path(), &standin);
    let mut runner = event_runner(dir.path(), &standin, CONFIG, "merge_group", &event);
    let result = runner
        .job(
            &workflow(&release.base_url(), ACTION_SHA),
            &json!({ "TG_RUNNER_TOKEN": SECRET }),
        )
        .await;
    stop_services(&runner);
    let log = runner.log();
    let steps = result.unwrap_or_else(|failed| panic!("step `{}` failed:\n{log}", failed.name));

    // The release of the checkout's version, verified, and said to be for the sha.
    assert!(log.contains("checksum verified"), "{log}");
    assert!(
        log.contains(&format!(
            "installed release v{VERSION} (tailgate-v{VERSION}-"
        )) && log.contains(&format!("for the action's commit {ACTION_SHA}")),
        "{log}"
    );
    let gate = &steps["gate"]["outputs"];
    assert_eq!(gate["verdict"], "pass", "{log}");
    assert_eq!(gate["exit_code"], "0");
    assert_eq!(gate["comment_url"], "", "no PR, no comment");

    // Head: the group's commit; base: its parent, whose config gates.
    let results_path = runner
        .workspace
        .join(gate["results_path"].as_str().unwrap());
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(&results_path).unwrap()).unwrap();
    assert_eq!(results["context"]["kind"], "merge_group");
    assert_eq!(results["context"]["head_sha"], GROUP_SHA);
    assert_eq!(results["context"]["base_sha"], BASE_SHA);
    assert!(!results["endpoints"][0]["rounds"]
        .as_array()
        .unwrap()
        .is_empty());
    let summary = runner.summaries.concat();
    assert!(summary.contains("tailgate"), "{summary}");
    {
        let state = standin.state.lock().unwrap();
        assert_eq!(state.check_runs.len(), 1);
        assert_eq!(state.check_runs[0]["head_sha"], GROUP_SHA);
        assert!(state.comments.is_empty(), "no PR to comment on");
        assert!(state.requests.iter().all(|r| !r.path.contains("/issues/")));
        assert!(state.requests.iter().any(|r| r
            .path
            .contains(&format!("contents/tailgate.yml?ref={BASE_SHA}"))));
    }

    // A branch is still refused (no release binary of its code).
    let branch_dir = dir.path().join("branch");
    std::fs::create_dir_all(&branch_dir).expect("dir");
    let mut other = pr_runner(&branch_dir, &standin, CONFIG).await;
    let failed = other
        .job(&workflow("http://127.0.0.1:9", "main"), &json!({}))
        .await
        .expect_err("a branch has no release");
    stop_services(&other);
    assert!(
        failed
            .log
            .contains("not a release tag or a full commit sha"),
        "{}",
        failed.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failing_gate_the_binary_is_in_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let standin = StandIn::start(CANARY).await;
    let release = release_server(dir.path(), false);
    // An SLO no service meets: the gate fails (blocking, exit 1).
    let failing =
        format!("{CONFIG}  - name: impossible\n    path: /users/2\n    slo: {{ p99: 1us }}\n");
    let mut runner = pr_runner(dir.path(), &standin, &failing).await;
    let secrets = json!({ "TG_RUNNER_TOKEN": SECRET });
    let result = runner
        .job(
            &workflow(&release.base_url(), &format!("v{VERSION}")),
            &secrets,
        )
        .await;
    stop_services(&runner);
    let failed = result.expect_err("the gate fails");
    assert_eq!(failed.name, "Run tailgate", "{}", runner.log());
    assert_eq!(failed.code, 1, "{}", failed.log);
    let (_, target) = runner_arch();
    let key = format!("tailgate-{VERSION}-{target}");
    assert_eq!(runner.saved, std::slice::from_ref(&key), "{}", runner.log());
    assert!(runner.cache_store.join(&key).join("tailgate").is_file());

    // The next run, on a fresh runner (empty tool cache, release server gone):
    // restored from the cache, checked, used.
    drop(release);
    std::fs::remove_dir_all(dir.path().join("toolcache")).expect("tool cache");
    installs_from_the_cache(&mut runner, &secrets).await;
    assert_eq!(runner.saved.len(), 1, "a cache hit saves nothing");
}

/// `install.sh install` as the composite's install step runs it, at `v{VERSION}`.
async fn install(dir: &Path, release_url: &str, env: &[(&str, &str)]) -> (i32, String) {
    let (arch, _) = runner_arch();
    for d in ["toolcache", "tmp"] {
        std::fs::create_dir_all(dir.join(d)).expect("dir");
    }
    let out = tokio::process::Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/action/install.sh"))
        .arg("install")
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("TAILGATE_ACTION_PATH", ROOT)
        .env("TAILGATE_ACTION_REF", format!("v{VERSION}"))
        .env("TAILGATE_RELEASE_URL", release_url)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", arch)
        .env("RUNNER_TOOL_CACHE", dir.join("toolcache"))
        .env("RUNNER_TEMP", dir.join("tmp"))
        .envs(env.iter().copied())
        .output()
        .await
        .expect("bash");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_install_checks_the_checksum_files_asset_name_and_the_assets_size() {
    let dir = tempfile::tempdir().unwrap();
    // The checksum file of another asset of the release (a swapped download).
    let other = release_server_with(dir.path(), |hash, _| {
        format!("{hash}  tailgate-v{VERSION}-x86_64-apple-darwin.tar.gz\n")
    });
    let (code, log) = install(&dir.path().join("a"), &other.base_url(), &[]).await;
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("is the checksum of 'tailgate-v") && log.contains("refusing to install"),
        "{log}"
    );
    drop(other);

    // An asset over the size a stripped release stays under.
    let honest = release_server(dir.path(), false);
    let (code, log) = install(
        &dir.path().join("b"),
        &honest.base_url(),
        &[("TAILGATE_MAX_ASSET_BYTES", "1000")],
    )
    .await;
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("over the 1000 bytes"), "{log}");
    let (_, target) = runner_arch();
    assert!(!dir
        .path()
        .join(format!("b/toolcache/tailgate/{VERSION}/{target}/tailgate"))
        .exists());

    // The same asset under the default limit (40 MB) installs, its size in the log.
    let (code, log) = install(&dir.path().join("c"), &honest.base_url(), &[]).await;
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(" bytes") && log.contains("checksum verified"),
        "{log}"
    );
}
