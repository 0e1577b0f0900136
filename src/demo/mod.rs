//! `tailgate demo`: the whole gate on this machine, no cloud and no GitHub.
//!
//! Two variants of a sample service (see [`service`]) run on 127.0.0.1 as base and
//! head; the real pipeline deploys, benchmarks, compares and judges them, and the
//! report is printed. The demo's own exit code is 0; it says which exit code a real
//! run would give.

pub mod service;

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{
    Budget, CompareConfig, Config, DeployConfig, Endpoint, Fraction, Load, LocalDeploy, Mode,
    Profile, Slo,
};

/// How the demo deploys the sample service: `command` (which starts
/// `tailgate sample-service`) per side, no git worktree, in `cwd`.
pub fn demo_local_deploy(command: String, cwd: PathBuf) -> LocalDeploy {
    LocalDeploy {
        command,
        repo: cwd,
        worktree: false,
        base_ref: None,
        head_ref: None,
        ready_path: "/healthz".into(),
        ready_timeout: Duration::from_secs(30),
        stop_timeout: Duration::from_secs(5),
        env: Vec::new(),
    }
}

/// The demo's config: three endpoints of the sample service, p50 and p99 budgets
/// of +10 % and a p99 SLO of 250 ms, 8 interleaved rounds of 0.6 s per side. The
/// slow base of `GET /orders` serves about 50 requests a round, too few in all to
/// estimate its p99 (the report says so), so its p50 budget is what sees it
/// improve.
pub fn demo_config(deploy: DeployConfig) -> Config {
    let load = Load {
        profile: Profile::Closed { connections: 8 },
        duration: Some(Duration::from_millis(600)),
        requests: None,
        warmup: Duration::from_millis(400),
        timeout: Duration::from_secs(5),
        http: Default::default(),
    };
    let slo = Slo {
        p99: Some(Duration::from_millis(250)),
        error_rate: Some(Fraction(0.001)),
        ..Slo::default()
    };
    let budget = Budget {
        p50: Some(Fraction(0.10)),
        p99: Some(Fraction(0.10)),
        error_rate: Some(Fraction(0.001)),
        ..Budget::default()
    };
    let endpoint =
        |method: http::Method, path: &str, body: Option<&'static str>, status: u16| Endpoint {
            name: format!("{method} {path}"),
            method,
            path: path.to_string(),
            headers: http::HeaderMap::new(),
            body: body.map(|b: &'static str| bytes::Bytes::from_static(b.as_bytes())),
            expect_status: vec![status],
            items: vec![],
            load: load.clone(),
            slo: slo.clone(),
            budget: budget.clone(),
        };
    Config {
        source: "demo (built in)".into(),
        base_dir: PathBuf::from("."),
        mode: Mode::Blocking,
        deploy,
        load: load.clone(),
        compare: CompareConfig {
            rounds: 8,
            ..CompareConfig::default()
        },
        endpoints: vec![
            endpoint(http::Method::GET, "/orders", None, 200),
            endpoint(http::Method::GET, "/users/42", None, 200),
            endpoint(
                http::Method::POST,
                "/items",
                Some(r#"{"name":"widget","qty":3}"#),
                201,
            ),
        ],
        tls: Default::default(),
        cost: Default::default(),
        secrets: Default::default(),
        history: Default::default(),
        accept_label: None,
        traces: Default::default(),
    }
}
