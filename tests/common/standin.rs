//! A local GitHub REST API stand-in on 127.0.0.1 (port 0), speaking the endpoints
//! tailgate uses with GitHub's real object shapes (built from the fixtures: the
//! `issue_comment` and `check_run` objects and the PR payload), `Link`-header
//! pagination, GitHub's error bodies (401/403/404/422), and scripted faults (a 502
//! that recovers, a secondary rate limit with `retry-after`).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

pub const OWNER: &str = "Codertocat";
pub const REPO: &str = "Hello-World";
pub const REPO_ID: u64 = 186853002;
pub const PR: u64 = 2;
pub const BASE_SHA: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
pub const HEAD_SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
pub const MERGE_SHA: &str = "c4295bd74fb0f4fda03689c3df3f2803b658fd85";
pub const BOT: &str = "github-actions[bot]";

const DOCS: &str = "https://docs.github.com/rest";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A scripted answer for the next matching requests.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Method,
    pub path_contains: String,
    pub times: usize,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Fault {
    /// A 502 Bad Gateway from GitHub's front end.
    pub fn bad_gateway(method: Method, path_contains: &str, times: usize) -> Fault {
        Fault {
            method,
            path_contains: path_contains.into(),
            times,
            status: 502,
            headers: vec![("content-type".into(), "text/html".into())],
            body: "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
        }
    }

    /// A secondary rate limit, as GitHub sends it.
    pub fn secondary_rate_limit(method: Method, path_contains: &str, retry_after: u64) -> Fault {
        Fault {
            method,
            path_contains: path_contains.into(),
            times: 1,
            status: 403,
            headers: vec![
                ("retry-after".into(), retry_after.to_string()),
                ("content-type".into(), "application/json; charset=utf-8".into()),
            ],
            body: json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID DBB6:2B7C:1A2E0B:3F6A7C:6650F0B8.",
                "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                "status": "403"
            })
            .to_string(),
        }
    }

    /// A permission error, as an Actions token without the permission gets it.
    pub fn forbidden(method: Method, path_contains: &str) -> Fault {
        Fault {
            method,
            path_contains: path_contains.into(),
            times: usize::MAX,
            status: 403,
            headers: vec![("x-ratelimit-remaining".into(), "4990".into())],
            body: json!({
                "message": "Resource not accessible by integration",
                "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
                "status": "403"
            })
            .to_string(),
        }
    }
}

/// The stand-in's state: what GitHub would hold.
#[derive(Debug)]
pub struct State {
    pub token: String,
    pub comments: Vec<Value>,
    pub next_id: u64,
    pub check_runs: Vec<Value>,
    pub requests: Vec<Recorded>,
    pub faults: VecDeque<Fault>,
    /// The PR's current head.
    pub pr_head: String,
    /// Commits the repository has (check runs on others get a 422).
    pub commits: Vec<String>,
    /// `(sha, path)` -> file text, for the contents API.
    pub files: HashMap<(String, String), String>,
    /// The token's user for `GET /user` (`None`: an Actions token, which gets 403).
    pub viewer: Option<String>,
}

/// A running stand-in.
pub struct StandIn {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture JSON")
}

/// A user object of GitHub's shape (from the `issue_comment` fixture's `user`).
pub fn user(login: &str) -> Value {
    let mut u = fixture("github-api/issue_comment.json")["user"].clone();
    let bot = login.ends_with("[bot]");
    u["login"] = json!(login);
    u["id"] = json!(if bot {
        41898282
    } else {
        21031067 + login.len() as u64
    });
    u["type"] = json!(if bot { "Bot" } else { "User" });
    for key in ["url", "html_url"] {
        let v = u[key]
            .as_str()
            .unwrap_or_default()
            .replace("Codertocat", login);
        u[key] = json!(v);
    }
    u
}

/// A comment object of GitHub's shape (the `issue_comment` fixture's).
pub fn comment(base: &str, id: u64, author: &str, body: &str) -> Value {
    let mut c = fixture("github-api/issue_comment.json");
    c["id"] = json!(id);
    c["url"] = json!(format!("{base}/repos/{OWNER}/{REPO}/issues/comments/{id}"));
    c["html_url"] = json!(format!(
        "https://github.com/{OWNER}/{REPO}/pull/{PR}#issuecomment-{id}"
    ));
    c["issue_url"] = json!(format!("{base}/repos/{OWNER}/{REPO}/issues/{PR}"));
    c["user"] = user(author);
    c["body"] = json!(body);
    c
}

/// PR #2 as the API shows it, at the current head.
fn open_pr(s: &State) -> Value {
    let mut pr = fixture("github-events/pull_request.opened.0.json")["pull_request"].clone();
    pr["head"]["sha"] = json!(s.pr_head);
    pr
}

fn reply(status: u16, headers: &[(String, String)], body: String) -> Response<Full<Bytes>> {
    let mut r = Response::builder().status(status);
    let mut has_type = false;
    for (k, v) in headers {
        has_type |= k.eq_ignore_ascii_case("content-type");
        r = r.header(k.as_str(), v.as_str());
    }
    if !has_type {
        r = r.header("content-type", "application/json; charset=utf-8");
    }
    r.body(Full::new(Bytes::from(body))).expect("response")
}

fn error(status: u16, message: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        &[],
        json!({"message": message, "documentation_url": DOCS, "status": status.to_string()})
            .to_string(),
    )
}

fn query(path: &str, key: &str) -> Option<String> {
    let (_, q) = path.split_once('?')?;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
}

impl StandIn {
    /// Start on 127.0.0.1:0, accepting `token`.
    pub async fn start(token: &str) -> StandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            comments: Vec::new(),
            next_id: 1_000_000,
            check_runs: Vec::new(),
            requests: Vec::new(),
            faults: VecDeque::new(),
            pr_head: HEAD_SHA.to_string(),
            commits: vec![BASE_SHA.into(), HEAD_SHA.into(), MERGE_SHA.into()],
            files: HashMap::new(),
            viewer: None,
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(req, addr, &state).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        StandIn { addr, state }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Add a comment as if someone had posted it; returns its id.
    pub fn add_comment(&self, author: &str, body: &str) -> u64 {
        let base = self.url();
        let mut s = self.state.lock().expect("state");
        s.next_id += 1;
        let id = s.next_id;
        s.comments.push(comment(&base, id, author, body));
        id
    }

    /// Queue a fault.
    pub fn fault(&self, fault: Fault) {
        self.state.lock().expect("state").faults.push_back(fault);
    }

    /// Comments whose body contains `needle`.
    pub fn comments_with(&self, needle: &str) -> Vec<Value> {
        self.state
            .lock()
            .expect("state")
            .comments
            .iter()
            .filter(|c| c["body"].as_str().unwrap_or_default().contains(needle))
            .cloned()
            .collect()
    }

    /// Every request received.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("state").requests.clone()
    }
}

async fn handle(
    req: Request<Incoming>,
    addr: SocketAddr,
    state: &Mutex<State>,
) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let base = format!("http://{addr}");
    let mut s = state.lock().expect("state");
    s.requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        headers,
        body: body.clone(),
    });
    if auth != format!("Bearer {}", s.token) && auth != format!("token {}", s.token) {
        return error(401, "Bad credentials");
    }
    if let Some(i) = s
        .faults
        .iter()
        .position(|f| f.method == method && path.contains(&f.path_contains))
    {
        let fault = s.faults[i].clone();
        if fault.times <= 1 {
            s.faults.remove(i);
        } else if fault.times != usize::MAX {
            s.faults[i].times -= 1;
        }
        return reply(fault.status, &fault.headers, fault.body);
    }
    let json_body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    route(&mut s, &method, &path, &json_body, &base)
}

fn route(
    s: &mut State,
    method: &Method,
    path: &str,
    body: &Value,
    base: &str,
) -> Response<Full<Bytes>> {
    let bare = path.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = bare.trim_matches('/').split('/').collect();
    let repo_prefix = |p: &[&str]| {
        (p.len() >= 3 && p[0] == "repos" && p[1] == OWNER && p[2] == REPO)
            || (p.len() >= 2 && p[0] == "repositories" && p[1] == REPO_ID.to_string())
    };
    let rest: Vec<&str> = if parts.first() == Some(&"repos") && repo_prefix(&parts) {
        parts[3..].to_vec()
    } else if parts.first() == Some(&"repositories") && repo_prefix(&parts) {
        parts[2..].to_vec()
    } else if parts == ["user"] && method == Method::GET {
        return match &s.viewer {
            Some(login) => reply(200, &[], user(login).to_string()),
            None => error(403, "Resource not accessible by integration"),
        };
    } else {
        return error(404, "Not Found");
    };
    match (method.clone(), rest.as_slice()) {
        (Method::GET, ["pulls", n]) if *n == PR.to_string() => {
            reply(200, &[], open_pr(s).to_string())
        }
        // The open PRs, filtered by `head=owner:branch` as GitHub does.
        (Method::GET, ["pulls"]) => {
            let pr = open_pr(s);
            let wanted = query(path, "head");
            let state = query(path, "state").unwrap_or_else(|| "open".into());
            let matches = (state == "open" || state == "all")
                && wanted.is_none_or(|h| pr["head"]["label"].as_str() == Some(h.as_str()));
            let items = if matches { vec![pr] } else { Vec::new() };
            reply(200, &[], Value::Array(items).to_string())
        }
        // The PRs associated with a commit: the open PR whose head it is.
        (Method::GET, ["commits", sha, "pulls"]) => {
            let items = if *sha == s.pr_head {
                vec![open_pr(s)]
            } else {
                Vec::new()
            };
            reply(200, &[], Value::Array(items).to_string())
        }
        (Method::GET, ["issues", n, "comments"]) if *n == PR.to_string() => {
            let per_page: usize = query(path, "per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30)
                .clamp(1, 100);
            let page: usize = query(path, "page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1)
                .max(1);
            let total = s.comments.len();
            let last = total.div_ceil(per_page).max(1);
            let items: Vec<Value> = s
                .comments
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .cloned()
                .collect();
            let link = |p: usize, rel: &str| {
                format!(
                    "<{base}/repositories/{REPO_ID}/issues/{PR}/comments?per_page={per_page}&page={p}>; rel=\"{rel}\""
                )
            };
            let mut links = Vec::new();
            if page > 1 {
                links.push(link(page - 1, "prev"));
            }
            if page < last {
                links.push(link(page + 1, "next"));
                links.push(link(last, "last"));
            }
            if page > 1 {
                links.push(link(1, "first"));
            }
            let headers = if links.is_empty() {
                Vec::new()
            } else {
                vec![("link".to_string(), links.join(", "))]
            };
            reply(200, &headers, Value::Array(items).to_string())
        }
        (Method::POST, ["issues", n, "comments"]) if *n == PR.to_string() => {
            let Some(text) = body.get("body").and_then(Value::as_str) else {
                return error(422, "Invalid request.\n\n\"body\" wasn't supplied.");
            };
            if text.chars().count() > 65_536 {
                return reply(
                    422,
                    &[],
                    json!({"message": "Validation Failed", "errors": [{"resource": "IssueComment", "code": "unprocessable", "field": "data", "message": "Body is too long (maximum is 65536 characters)"}], "documentation_url": DOCS, "status": "422"}).to_string(),
                );
            }
            s.next_id += 1;
            let c = comment(base, s.next_id, BOT, text);
            s.comments.push(c.clone());
            reply(201, &[], c.to_string())
        }
        // GitHub accepts both PATCH and POST to update a comment.
        (Method::PATCH | Method::POST, ["issues", "comments", id]) => {
            let Some(c) = s
                .comments
                .iter_mut()
                .find(|c| c["id"].as_u64().map(|v| v.to_string()).as_deref() == Some(*id))
            else {
                return error(404, "Not Found");
            };
            let Some(text) = body.get("body").and_then(Value::as_str) else {
                return error(422, "Invalid request.\n\n\"body\" wasn't supplied.");
            };
            c["body"] = json!(text);
            c["updated_at"] = json!("2019-05-15T15:30:00Z");
            reply(200, &[], c.to_string())
        }
        (Method::DELETE, ["issues", "comments", id]) => {
            let before = s.comments.len();
            s.comments
                .retain(|c| c["id"].as_u64().map(|v| v.to_string()).as_deref() != Some(*id));
            if s.comments.len() == before {
                return error(404, "Not Found");
            }
            reply(204, &[], String::new())
        }
        (Method::POST, ["check-runs"]) => {
            let sha = body
                .get("head_sha")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !s.commits.iter().any(|c| c == sha) {
                return reply(
                    422,
                    &[],
                    json!({"message": format!("No commit found for SHA: {sha}"), "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run", "status": "422"}).to_string(),
                );
            }
            let mut run = fixture("github-api/check_run.json");
            let id = 128620228 + s.check_runs.len() as u64;
            run["id"] = json!(id);
            run["head_sha"] = json!(sha);
            run["name"] = body["name"].clone();
            run["status"] = body["status"].clone();
            run["conclusion"] = body["conclusion"].clone();
            run["url"] = json!(format!("{base}/repos/{OWNER}/{REPO}/check-runs/{id}"));
            run["html_url"] = json!(format!("https://github.com/{OWNER}/{REPO}/runs/{id}"));
            run["output"]["title"] = body["output"]["title"].clone();
            run["output"]["summary"] = body["output"]["summary"].clone();
            s.check_runs.push(run.clone());
            reply(201, &[], run.to_string())
        }
        (Method::GET, ["contents", file @ ..]) => {
            let sha = query(path, "ref").unwrap_or_else(|| "main".into());
            let file = file.join("/");
            match s.files.get(&(sha.clone(), file.clone())) {
                None => error(404, "Not Found"),
                Some(text) => {
                    use base64::Engine as _;
                    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
                    // GitHub wraps the base64 at 60 characters.
                    let wrapped: Vec<String> = encoded
                        .as_bytes()
                        .chunks(60)
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect();
                    let url = format!("{base}/repos/{OWNER}/{REPO}/contents/{file}?ref={sha}");
                    reply(
                        200,
                        &[],
                        json!({
                            "type": "file", "encoding": "base64", "size": text.len(),
                            "name": file.rsplit('/').next(), "path": file,
                            "content": wrapped.join("\n") + "\n",
                            "sha": "3d21ec53a331a6f037a91c368710b99387d012c1",
                            "url": url,
                            "git_url": format!("{base}/repos/{OWNER}/{REPO}/git/blobs/3d21ec53a331a6f037a91c368710b99387d012c1"),
                            "html_url": format!("https://github.com/{OWNER}/{REPO}/blob/{sha}/{file}"),
                            "download_url": format!("https://raw.githubusercontent.com/{OWNER}/{REPO}/{sha}/{file}"),
                            "_links": {"self": url, "git": "", "html": ""}
                        })
                        .to_string(),
                    )
                }
            }
        }
        _ => error(404, "Not Found"),
    }
}
