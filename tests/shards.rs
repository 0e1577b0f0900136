//! Distributed load: `tailgate run --shard I/N --start-at T0` on four processes
//! started 1.5 s apart against real loopback servers, then `tailgate merge`. The
//! shards must measure every round together (their windows overlapping at least
//! 95 %, the skew reported) or merge must refuse them, naming shards and rounds;
//! the merged rounds must be exactly the pooled shards (counts summed, histograms
//! added), in the shards' side order, and shards that do not belong together must
//! be refused with a clear message and exit code 2.

#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use servers::{Behavior, Server};
use tailgate::bench::Recorder;
use tailgate::results::RunResults;
use tailgate::side::Side;

const BIN: &str = env!("CARGO_BIN_EXE_tailgate");
const SEED: &str = "7";

/// A closed loop of 6 connections (shares 2, 2, 1, 1) and an open loop at 100/s
/// (25/s each), 1 s per round and side: the phases are bounded by time, so the
/// shards' windows can coincide on the shared start's grid.
fn write_config(dir: &Path, connections: u32) -> PathBuf {
    let path = dir.join(format!("tailgate-{connections}.yml"));
    std::fs::write(
        &path,
        format!(
            r#"
mode: advisory
load:
  connections: {connections}
  duration: 1s
  warmup: 0s
compare:
  rounds: 3
defaults:
  budget: {{ p99: +50% }}
endpoints:
  - name: users
    path: /users/1
  - name: feed
    path: /feed
    load: {{ rate: 100/s, connections: 4 }}
"#
        ),
    )
    .unwrap();
    path
}

struct Sides {
    base: Server,
    head: Server,
}

fn servers() -> Sides {
    let delays = |fast_ms: u64| Behavior::Delays {
        fast: Duration::from_millis(fast_ms),
        slow_fraction: 0.1,
        slow: (Duration::from_millis(3), Duration::from_millis(6)),
    };
    Sides {
        base: Server::start(delays(1)),
        head: Server::start(delays(2)),
    }
}

/// RFC 3339 of now plus `secs` seconds: a shared start.
fn start_in(secs: f64) -> String {
    let t = time::OffsetDateTime::now_utc() + Duration::from_secs_f64(secs);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// `tailgate run` of shard `shard` with `seed` from the shared start `start`: as
/// flags, or (`inputs`) as the action's `shard`, `seed` and `start_at` inputs.
fn shard_command(
    sides: &Sides,
    config: &Path,
    (shard, seed, inputs): (&str, &str, bool),
    start: &str,
    out: &Path,
) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--quiet", "--no-publish"]);
    if inputs {
        cmd.env("INPUT_SHARD", shard)
            .env("INPUT_SEED", seed)
            .env("INPUT_START_AT", start);
    } else {
        cmd.args(["--shard", shard, "--seed", seed, "--start-at", start]);
    }
    cmd.arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--base-url")
        .arg(sides.base.base_url())
        .arg("--head-url")
        .arg(sides.head.base_url())
        .env_remove("GITHUB_ACTIONS");
    cmd
}

fn check_ok(out: &Output, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(path: &Path) -> RunResults {
    let path = if path.is_dir() {
        path.join("tailgate-results.json")
    } else {
        path.to_path_buf()
    };
    tailgate::results::read(&path).unwrap()
}

fn merge(files: &[&Path], out: &Path) -> Output {
    Command::new(BIN)
        .args(["merge", "--quiet"])
        .args(files)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Merging `files` is refused with exit 2 and a message containing `needle`.
fn refused(files: &[&Path], out: &Path, needle: &str) {
    let o = merge(files, out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(needle), "wanted `{needle}` in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !out.join("tailgate-results.json").exists(),
        "nothing written"
    );
}

/// A copy of a results file with `edit` applied to its JSON.
fn forged(from: &Path, to: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(from.join("tailgate-results.json")).unwrap())
            .unwrap();
    edit(&mut json);
    std::fs::write(to, serde_json::to_string(&json).unwrap()).unwrap();
    to.to_path_buf()
}

#[test]
fn four_shards_merge_into_the_pooled_run_and_strangers_are_refused() {
    let sides = servers();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 6);
    let shard_dir = |i: u32| dir.path().join(format!("shard-{i}"));

    // Four shards started 1.5 s apart, like the jobs of a matrix that reach the
    // step at different times; 3 and 4 are told their shard, seed and start by
    // the action's inputs. They share one start, 7 s from now.
    let start = start_in(7.0);
    let mut children = Vec::new();
    for i in 1..=4u32 {
        if i > 1 {
            std::thread::sleep(Duration::from_millis(1_500));
        }
        let shard = format!("{i}/4");
        children.push(
            shard_command(
                &sides,
                &config,
                (&shard, SEED, i > 2),
                &start,
                &shard_dir(i),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        );
    }
    for (i, child) in children.into_iter().enumerate() {
        check_ok(
            &child.wait_with_output().unwrap(),
            &format!("shard {}", i + 1),
        );
    }
    let shards: Vec<RunResults> = (1..=4).map(|i| read(&shard_dir(i))).collect();

    // Each shard measured its share of the load, and says which shard it is.
    let profile = |r: &RunResults, e: usize| r.endpoints[e].profile.clone();
    assert!(
        profile(&shards[0], 0).contains("2 connections"),
        "{}",
        profile(&shards[0], 0)
    );
    assert!(
        profile(&shards[3], 0).contains("1 connection,"),
        "{}",
        profile(&shards[3], 0)
    );
    assert!(
        profile(&shards[0], 1).contains("25 req/s"),
        "{}",
        profile(&shards[0], 1)
    );
    for (i, s) in shards.iter().enumerate() {
        let info = s.shard.as_ref().unwrap();
        assert_eq!((info.index, info.count), (Some(i as u32 + 1), 4));
        assert_eq!(info.config_hash.len(), 64);
        assert_eq!(
            info.config_hash,
            shards[0].shard.as_ref().unwrap().config_hash
        );
        assert_eq!(s.settings.seed, 7);
        // The same side order in every shard: drawn from the shared seed.
        assert_eq!(s.order, shards[0].order);
        assert_eq!(s.order.len(), 3);
        // It waited for the shared start: on time, its clock read from the
        // target's Date headers, every round measured.
        let st = info.start.as_ref().expect("the shared start recorded");
        assert_eq!(st.start_at, start);
        assert_eq!(st.late_ms, 0, "shard {} was not late", i + 1);
        let clock = st
            .clock
            .unwrap_or_else(|| panic!("no clock: {:?}", st.clock_error));
        // One machine: the Date header's second holds our clock.
        assert!(
            clock.offset_ms.abs() <= clock.uncertainty_ms + 1.0,
            "{clock:?}"
        );
        assert!(clock.uncertainty_ms < 500.0, "{clock:?}");
        for e in &s.endpoints {
            // Every (round, side) measured, or recorded as missed (reached after
            // its slot began, on a machine too busy to wake it in time).
            assert_eq!(e.rounds.len() + e.missed.len(), 6);
            assert!(e.rounds.iter().all(|r| r.data.total() > 0));
        }
    }

    let merged_dir = dir.path().join("merged");
    let dirs: Vec<PathBuf> = (1..=4).map(shard_dir).collect();
    let all: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let o = merge(&all, &merged_dir);
    let merged = match o.status.code() {
        Some(0) => read(&merged_dir),
        // A machine too loaded to start four processes' phases within 50 ms of
        // each other: merge must then refuse, naming the shards and rounds.
        Some(2) => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(
                stderr.contains("did not measure")
                    && stderr.contains("round")
                    && stderr.contains("shard "),
                "{stderr}"
            );
            eprintln!("merge refused shards that were apart: {stderr}");
            return;
        }
        _ => panic!("merge: {}", String::from_utf8_lossy(&o.stderr)),
    };
    assert!(merged_dir.join("report.md").exists());
    // Started 4.5 s apart, they measured every round together (a round a shard
    // missed is left out and named).
    let together = merged.shard.as_ref().unwrap().together.clone().unwrap();
    for d in &together.dropped {
        assert!(d.reason.contains("did not measure its"), "{d:?}");
    }
    assert_eq!(
        together.phases.len() + 2 * together.dropped.len(),
        2 * 3 * 2
    );
    let dropped = |e: &str, r: u32| {
        together
            .dropped
            .iter()
            .any(|d| d.endpoint == e && d.round == r)
    };
    for p in &together.phases {
        assert!(p.overlap >= 0.95, "{p:?}");
        assert!(p.skew_ms >= 0.0 && p.skew_ms < 1_000.0, "{p:?}");
    }
    assert!(together.least_overlap >= 0.95);
    eprintln!(
        "4 shards started 1.5 s apart: start skew at most {} ms (median {} ms), overlap at least {:.1} %",
        together.max_skew_ms,
        together.median_skew_ms,
        together.least_overlap * 100.0
    );
    assert_eq!(together.start_at.as_deref(), Some(start.as_str()));
    assert_eq!(together.shards.len(), 4);
    let report = std::fs::read_to_string(merged_dir.join("report.md")).unwrap();
    assert!(
        report.contains("Load split over 4 shards measuring together (start skew ≤"),
        "{report}"
    );
    assert!(
        report.contains("Sharded: the load was split over 4 shards"),
        "{report}"
    );
    assert!(report.contains("windows overlapped at least"), "{report}");
    // The action's way: no arguments, the `results` input names a folder of
    // shard folders (as `actions/download-artifact` fills it), `out_dir` the output.
    let downloaded = dir.path().join("shards");
    for i in 1..=4 {
        let to = downloaded.join(format!("tailgate-shard-{i}"));
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(
            shard_dir(i).join("tailgate-results.json"),
            to.join("tailgate-results.json"),
        )
        .unwrap();
    }
    let by_inputs = dir.path().join("merged-by-inputs");
    let o = Command::new(BIN)
        .args(["merge", "--quiet"])
        .env("INPUT_RESULTS", &downloaded)
        .env("INPUT_OUT_DIR", &by_inputs)
        .output()
        .unwrap();
    check_ok(&o, "merge by the action's inputs");
    let again = read(&by_inputs);
    assert_eq!(
        serde_json::to_value(&again.endpoints).unwrap(),
        serde_json::to_value(&merged.endpoints).unwrap()
    );
    assert_eq!(again.verdict.level, merged.verdict.level);

    assert_eq!(merged.order, shards[0].order, "the shards' round order");
    assert_eq!(merged.settings.seed, 7);
    let info = merged.shard.as_ref().unwrap();
    assert_eq!((info.index, info.count), (None, 4));
    assert!(merged.endpoints[0].profile.contains("6 connections"));
    assert!(merged.endpoints[1].profile.contains("100 req/s"));
    assert_eq!(merged.comparisons.len(), 2, "the merged run was judged");
    assert!(merged.verdict.error.is_none(), "{:?}", merged.verdict.error);

    let mut requests = 0;
    for (e, run) in merged.endpoints.iter().enumerate() {
        let left_out = (0..3).filter(|&r| dropped(&run.name, r)).count();
        assert_eq!(run.rounds.len(), 6 - 2 * left_out, "3 rounds x 2 sides");
        assert!(left_out <= 1, "{:?}", together.dropped);
        for r in &run.rounds {
            let parts: Vec<&Recorder> = shards
                .iter()
                .map(|s| {
                    let mine = &s.endpoints[e].rounds;
                    &mine
                        .iter()
                        .find(|x| x.round == r.round && x.side == r.side)
                        .unwrap()
                        .data
                })
                .collect();
            let mut pooled = tailgate::bench::record::new_histogram();
            for p in &parts {
                pooled.add(&p.latency).unwrap();
            }
            let sum = |f: fn(&Recorder) -> u64| parts.iter().map(|p| f(p)).sum::<u64>();
            assert_eq!(r.data.ok, sum(|p| p.ok));
            assert_eq!(r.data.total(), sum(Recorder::total));
            assert_eq!(r.data.error_count(), sum(Recorder::error_count));
            assert_eq!(r.data.bytes_in, sum(|p| p.bytes_in));
            assert_eq!(r.data.latency.len(), pooled.len());
            assert_eq!(
                r.data.latency, pooled,
                "{} round {} {}",
                run.name, r.round, r.side
            );
            for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(
                    r.data.latency.value_at_quantile(q),
                    pooled.value_at_quantile(q)
                );
            }
            // The merged req/s is the sum of the shards' rates (each over its
            // own window; the windows overlapped).
            let rates: f64 = shards
                .iter()
                .map(|s| {
                    let x = s.endpoints[e]
                        .rounds
                        .iter()
                        .find(|x| x.round == r.round && x.side == r.side)
                        .unwrap();
                    x.data.total() as f64 / x.elapsed.as_secs_f64()
                })
                .sum();
            let merged_rate = r.data.total() as f64 / r.elapsed.as_secs_f64();
            assert!(
                (merged_rate - rates).abs() <= 1e-6 * rates,
                "{merged_rate} vs {rates}"
            );
            requests += r.data.total();
        }
    }
    let shard_requests: u64 = shards
        .iter()
        .flat_map(|s| &s.endpoints)
        .flat_map(|e| e.rounds.iter().filter(|r| !dropped(&e.name, r.round)))
        .map(|r| r.data.total())
        .sum();
    assert_eq!(requests, shard_requests);
    assert!(requests > 0);
    // Both sides of every merged round were measured by every shard.
    for side in Side::BOTH {
        assert_eq!(
            merged.endpoints[0].side(side).count(),
            merged.endpoints[0].rounds.len() / 2
        );
    }

    // Strangers. A shard of another seed (its side order is drawn from it):
    let other_seed = dir.path().join("seed-8");
    check_ok(
        &shard_command(
            &sides,
            &config,
            ("4/4", "8", false),
            &start_in(2.5),
            &other_seed,
        )
        .output()
        .unwrap(),
        "shard of seed 8",
    );
    let bad = dir.path().join("bad");
    refused(
        &[&dirs[0], &dirs[1], &dirs[2], &other_seed],
        &bad,
        "with seed 7 but",
    );
    // A shard of another config (7 connections), same seed:
    let other_config = dir.path().join("config-7");
    check_ok(
        &shard_command(
            &sides,
            &write_config(dir.path(), 7),
            ("4/4", SEED, false),
            &start_in(2.5),
            &other_config,
        )
        .output()
        .unwrap(),
        "shard of another config",
    );
    refused(
        &[&dirs[0], &dirs[1], &dirs[2], &other_config],
        &bad,
        "were run with different configs",
    );
    // The same shard twice, a shard missing:
    refused(
        &[&dirs[0], &dirs[1], &dirs[2], &dirs[2]],
        &bad,
        "are both shard 3/4",
    );
    refused(
        &[&dirs[0], &dirs[1], &dirs[3]],
        &bad,
        "shard 3 of 4 missing",
    );
    // A shard of a run split in five:
    let five = forged(&dirs[3], &dir.path().join("five.json"), |j| {
        j["shard"]["count"] = 5.into();
    });
    refused(
        &[&dirs[0], &dirs[1], &dirs[2], &five],
        &bad,
        "every shard of one run has the same N",
    );
    // A newer major version of the results schema is refused by the one reader;
    // a newer minor is read.
    let v2 = forged(&dirs[3], &dir.path().join("v2.json"), |j| {
        j["schema"] = "tailgate.results/v2".into();
    });
    refused(
        &[&dirs[0], &dirs[1], &dirs[2], &v2],
        &bad,
        "major version 2, newer than this tailgate reads",
    );
    let compare_v2 = Command::new(BIN)
        .args(["compare", "--quiet"])
        .arg(&v2)
        .arg("--out")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(compare_v2.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&compare_v2.stderr).contains("major version 2"));
    let v1_3 = forged(&dirs[3], &dir.path().join("v1.3.json"), |j| {
        j["schema"] = "tailgate.results/v1.3".into();
    });
    check_ok(
        &merge(
            &[&dirs[0], &dirs[1], &dirs[2], &v1_3],
            &dir.path().join("minor"),
        ),
        "a v1.3 shard",
    );
    // Files that are not shards:
    refused(&[&merged_dir], &bad, "holds shards already merged");
    let plain = forged(&dirs[0], &dir.path().join("plain.json"), |j| {
        j.as_object_mut().unwrap().remove("shard");
    });
    refused(&[&plain], &bad, "is not a shard's results");
}

#[test]
fn bad_shard_arguments_are_usage_errors_before_any_load() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 6);
    // Nothing listens there: a usage error must come before any deploy or load.
    let url = format!("http://{}", servers::refused_port());
    let start = start_in(60.0);
    let run_with = |shard: &str, seed: Option<&str>, start: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "--quiet", "--no-publish", "--shard", shard])
            .arg("--config")
            .arg(&config)
            .arg("--out")
            .arg(dir.path().join("out"))
            .args(["--base-url", &url, "--head-url", &url])
            .env_remove("GITHUB_ACTIONS");
        if let Some(seed) = seed {
            cmd.args(["--seed", seed]);
        }
        if let Some(start) = start {
            cmd.args(["--start-at", start]);
        }
        cmd.output().unwrap()
    };
    let run = |shard: &str, seed: Option<&str>| run_with(shard, seed, Some(&start));
    // A shard of several needs the shared start, in RFC 3339.
    for (start, needle) in [
        (None, "--shard 2/4 needs --start-at"),
        (
            Some("tomorrow"),
            "--start-at `tomorrow` is not an RFC 3339 time",
        ),
    ] {
        let o = run_with("2/4", Some("1"), start);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle), "wanted `{needle}` in {stderr}");
    }
    // A shared start needs every round bounded by time.
    let by_count = dir.path().join("by-count.yml");
    std::fs::write(
        &by_count,
        "load: { connections: 2, requests: 10, duration: ~ }\nendpoints:\n  - name: users\n    path: /u\n",
    )
    .unwrap();
    let o = Command::new(BIN)
        .args([
            "run",
            "--quiet",
            "--no-publish",
            "--shard",
            "1/2",
            "--seed",
            "1",
        ])
        .args(["--start-at", &start, "--config"])
        .arg(&by_count)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--base-url", &url, "--head-url", &url])
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`users` is bounded by a request count alone"),
        "{stderr}"
    );
    for (shard, seed, needle) in [
        ("5/4", Some("1"), "between 1 and 4"),
        ("0/4", Some("1"), "between 1 and 4"),
        ("0/0", Some("1"), "at least 1"),
        ("x/y", Some("1"), "is not I/N"),
        ("2", Some("1"), "is not I/N"),
        ("1/4", None, "needs a seed shared by every shard"),
        // 6 connections cannot give each of 8 shards one.
        (
            "8/8",
            Some("1"),
            "has 6 connections, too little to give each of 8 shards a share; use at most 6 shards",
        ),
        // Every shard refuses, not only the one whose share would be 0.
        (
            "1/8",
            Some("1"),
            "has 6 connections, too little to give each of 8 shards a share; use at most 6 shards",
        ),
    ] {
        let o = run(shard, seed);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "--shard {shard}: {stderr}");
        assert!(
            stderr.contains(needle),
            "--shard {shard}: wanted `{needle}` in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // The same through the action's inputs.
    for (input, value, needle) in [
        ("INPUT_SHARD", "5/4", "input `shard` is `5/4`"),
        ("INPUT_SEED", "-3", "input `seed` is `-3`"),
    ] {
        let o = Command::new(BIN)
            .args(["run", "--quiet", "--no-publish", "--config"])
            .arg(&config)
            .args(["--base-url", &url, "--head-url", &url])
            .env_remove("GITHUB_ACTIONS")
            .env(input, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{input}={value}: {stderr}");
        assert!(stderr.contains(needle), "{input}={value}: {stderr}");
    }
    assert!(!dir.path().join("out/tailgate-results.json").exists());
}
