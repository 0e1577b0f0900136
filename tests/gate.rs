//! The gate in-process: `gate::run` with a `Context` value, no process and no
//! environment read. What the run prints and what it writes are the same report,
//! rendered once from the results, so `tailgate publish` of the file shows the
//! same thing (the shard note included).

#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::time::Duration;

use servers::{Behavior, Server};
use tailgate::context::{Context, Env};
use tailgate::gate::{self, Deps, Request};
use tailgate::progress::Progress;

fn delays(fast_ms: u64) -> Behavior {
    Behavior::Delays {
        fast: Duration::from_millis(fast_ms),
        slow_fraction: 0.0,
        slow: (Duration::ZERO, Duration::ZERO),
    }
}

fn config(dir: &std::path::Path, base: &Server, head: &Server) -> std::path::PathBuf {
    let path = dir.join("tailgate.yml");
    std::fs::write(
        &path,
        format!(
            r#"
deploy:
  url: {{ base: "{}", head: "{}" }}
load: {{ connections: 4, duration: 200ms, warmup: 0s }}
compare: {{ rounds: 4, seed: 11 }}
defaults:
  budget: {{ p50: +50% }}
endpoints:
  - name: users
    path: /users/1
"#,
            base.base_url(),
            head.base_url()
        ),
    )
    .unwrap();
    path
}

fn local() -> Context {
    Context::from_env(&Env::new(), None).expect("a local context")
}

fn deps() -> Deps {
    Deps {
        progress: Progress::quiet(),
        github: None,
    }
}

/// Written once, from the results: the report on disk is the outcome's, and is the
/// results file rendered again.
fn assert_written_once(outcome: &gate::RunOutcome) {
    let on_disk = std::fs::read_to_string(&outcome.markdown_path).unwrap();
    assert_eq!(on_disk, outcome.markdown);
    let results = tailgate::results::read(&outcome.results_path).unwrap();
    let again = tailgate::report::render_markdown(&tailgate::report::build_view(&results)).unwrap();
    assert_eq!(again, outcome.markdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_runs_in_process_with_a_context_value() {
    let (base, head) = (Server::start(delays(1)), Server::start(delays(1)));
    let dir = tempfile::tempdir().unwrap();
    let request = Request {
        config: config(dir.path(), &base, &head),
        out_dir: dir.path().join("out"),
        quiet: true,
        ..Request::default()
    };
    let outcome = gate::run(&local(), request, deps()).await;
    let run = outcome.run.expect("measured");
    assert_eq!(outcome.code, run.exit_code());
    assert_eq!(run.results.endpoints.len(), 1);
    assert_eq!(run.results.context.kind, "local");
    assert!(run.results.endpoints[0].rounds.len() >= 2);
    assert_written_once(&run);

    // A config that cannot be read is exit 2 and nothing measured.
    let request = Request {
        config: dir.path().join("missing.yml"),
        out_dir: dir.path().join("out-missing"),
        quiet: true,
        ..Request::default()
    };
    let outcome = gate::run(&local(), request, deps()).await;
    assert_eq!(outcome.code, 2);
    assert!(outcome.run.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shards_report_says_it_judges_only_its_share_in_the_file_too() {
    let (base, head) = (Server::start(delays(1)), Server::start(delays(2)));
    let dir = tempfile::tempdir().unwrap();
    let start_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + 3_000;
    let request = Request {
        config: config(dir.path(), &base, &head),
        out_dir: dir.path().join("shard-1"),
        shard: Some("1/2".parse().unwrap()),
        start: Some(tailgate::bench::SharedStart {
            start_ms,
            given: "in 3 s".into(),
            max_late: Duration::from_secs(30),
        }),
        quiet: true,
        ..Request::default()
    };
    let outcome = gate::run(&local(), request, deps()).await;
    // A shard that measured exits 0 whatever its share shows: the merge judges.
    assert_eq!(outcome.code, 0);
    let run = outcome.run.expect("measured");
    assert!(
        run.markdown.starts_with(
            "> Shard 1 of 2: this report judges only this shard's share of the load. \
             Merge all 2 shards' `tailgate-results.json` with `tailgate merge` for the verdict.\n"
        ),
        "{}",
        run.markdown
    );
    assert_written_once(&run);
}
