//! Shards that load the target together (issue 24): a shard that reaches the
//! shared start late joins at the next slot or fails saying how late it was;
//! `tailgate merge` drops the rounds it missed, and refuses (or, with
//! `--drop-apart`, drops and reports) rounds whose windows did not overlap; on a
//! capacity-limited service, a sharded run started apart reports the throughput of
//! the unsharded run, not the sum of rates that never met.
//!
//! Real servers on 127.0.0.1 (port 0), short rounds, bounded load; no assertion on
//! a duration except the physical bound of the capacity-limited service.

#[expect(
    dead_code,
    unused_imports,
    reason = "the servers shared with bench_engine.rs; these tests use only some"
)]
mod servers;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use servers::{Behavior, Server};
use tailgate::results::RunResults;
use tailgate::side::Side;

const BIN: &str = env!("CARGO_BIN_EXE_tailgate");

fn start_in(secs: f64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds_f64(secs);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// One closed-loop endpoint, `rounds` rounds of 1 s per side.
fn write_config(dir: &Path, connections: u32, rounds: u32) -> PathBuf {
    let path = dir.join("tailgate.yml");
    std::fs::write(
        &path,
        format!(
            "mode: advisory\nload: {{ connections: {connections}, duration: 1s, warmup: 0s }}\n\
             compare: {{ rounds: {rounds} }}\nendpoints:\n  - name: users\n    path: /users/1\n"
        ),
    )
    .unwrap();
    path
}

/// `tailgate run` of `shard` (or the whole run) against `base` and `head`.
fn run(
    (base, head): (&str, &str),
    config: &Path,
    shard: Option<(&str, &str)>,
    extra: &[&str],
    out: &Path,
) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--quiet", "--no-publish", "--seed", "11"])
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(["--base-url", base, "--head-url", head])
        .args(extra)
        .env_remove("GITHUB_ACTIONS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some((shard, start)) = shard {
        cmd.args(["--shard", shard, "--start-at", start]);
    }
    cmd
}

fn ok(out: &Output, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(dir: &Path) -> RunResults {
    tailgate::results::read(&dir.join("tailgate-results.json")).unwrap()
}

fn merge(files: &[&Path], out: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .args(["merge", "--quiet"])
        .args(files)
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// `dir`'s results file matches `docs/results.schema.json` (its shard fields too).
fn assert_schema(dir: &Path) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/results.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let id = schema["$id"].as_str().unwrap().to_string();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(&id, schema).unwrap();
    let index = compiler.compile(&id, &mut schemas).unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tailgate-results.json")).unwrap())
            .unwrap();
    if let Err(e) = schemas.validate(&doc, index) {
        panic!("{} does not match the schema: {e:#}", dir.display());
    }
}

/// Each merged round is exactly the pooled shards' rounds.
fn assert_pooled(merged: &RunResults, shards: &[&RunResults]) {
    for (e, run) in merged.endpoints.iter().enumerate() {
        for r in &run.rounds {
            let mut pooled = tailgate::bench::record::new_histogram();
            let mut total = 0;
            for s in shards {
                let x = s.endpoints[e]
                    .rounds
                    .iter()
                    .find(|x| x.round == r.round && x.side == r.side)
                    .expect("every shard measured a merged round");
                pooled.add(&x.data.latency).unwrap();
                total += x.data.total();
            }
            assert_eq!(r.data.total(), total);
            assert_eq!(r.data.latency, pooled);
            for q in [0.5, 0.99, 1.0] {
                assert_eq!(
                    r.data.latency.value_at_quantile(q),
                    pooled.value_at_quantile(q)
                );
            }
        }
    }
}

#[test]
fn a_late_shard_joins_at_the_next_slot_or_says_how_late_and_apart_rounds_are_refused() {
    let base = Server::start(Behavior::Delays {
        fast: Duration::from_millis(1),
        slow_fraction: 0.0,
        slow: (Duration::ZERO, Duration::ZERO),
    });
    let head = Server::start(Behavior::Delays {
        fast: Duration::from_millis(1),
        slow_fraction: 0.0,
        slow: (Duration::ZERO, Duration::ZERO),
    });
    let (b, h) = (base.base_url(), head.base_url());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 2, 4);
    let one = dir.path().join("shard-1");
    let two = dir.path().join("shard-2");

    // Shard 1 on time; shard 2 reaches the start about 2 s late (its slots are
    // 1.5 s each: it misses the first round's two) and joins at the next slot.
    let start = start_in(3.0);
    let first = run((&b, &h), &config, Some(("1/2", &start)), &[], &one)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(4_700));
    let late = run((&b, &h), &config, Some(("2/2", &start)), &[], &two)
        .output()
        .unwrap();
    ok(&first.wait_with_output().unwrap(), "shard 1");
    ok(&late, "shard 2 (late)");
    let (s1, s2) = (read(&one), read(&two));
    let st2 = s2.shard.as_ref().unwrap().start.clone().unwrap();
    assert!(st2.late_ms >= 1_500, "{st2:?}");
    assert!(st2.clock.is_none(), "no time was left to read the clock");
    let missed = &s2.endpoints[0].missed;
    assert!(missed.iter().any(|m| m.round == 0), "{missed:?}");
    for s in [&s1, &s2] {
        assert_eq!(s.endpoints[0].rounds.len() + s.endpoints[0].missed.len(), 8);
    }

    // Merge leaves the missed round out and says so; the rest is pooled exactly.
    let merged_dir = dir.path().join("merged");
    ok(&merge(&[&one, &two], &merged_dir, &[]), "merge");
    let merged = read(&merged_dir);
    let together = merged.shard.as_ref().unwrap().together.clone().unwrap();
    // Round 1; another only when a busy machine woke a shard after a slot began.
    assert!(
        !together.dropped.is_empty() && together.dropped.len() <= 2,
        "{:?}",
        together.dropped
    );
    assert_eq!(together.dropped[0].round, 0);
    assert!(
        together.dropped[0].reason.contains("shard 2/2 joined late"),
        "{}",
        together.dropped[0].reason
    );
    assert_eq!(
        merged.endpoints[0].rounds.len(),
        8 - 2 * together.dropped.len(),
        "rounds 2 to 4, both sides"
    );
    assert!(merged.endpoints[0].rounds.iter().all(|r| r.round > 0));
    assert_pooled(&merged, &[&s1, &s2]);
    assert_eq!(together.shards[1].late_ms, st2.late_ms);
    // The shards' and the merge's new fields are in the published schema.
    for d in [&one, &two, &merged_dir] {
        assert_schema(d);
    }
    assert!(s1
        .shard
        .as_ref()
        .unwrap()
        .start
        .as_ref()
        .unwrap()
        .clock
        .is_some());
    let report = std::fs::read_to_string(merged_dir.join("report.md")).unwrap();
    assert!(
        report.contains("left out, not measured together"),
        "{report}"
    );
    assert!(report.contains("shard 2/2 joined"), "{report}");
    assert!(merged.verdict.error.is_none(), "{:?}", merged.verdict.error);

    // Hand-made: shard 2's third round 10 s later than shard 1's. Refused by
    // default, naming the round and the shards; dropped and reported on request.
    let text = std::fs::read_to_string(two.join("tailgate-results.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for r in json["endpoints"][0]["rounds"].as_array_mut().unwrap() {
        if r["round"] == 2 {
            for k in ["start_ms", "end_ms"] {
                let v = r["window"][k].as_i64().unwrap();
                r["window"][k] = (v + 10_000).into();
            }
        }
    }
    let apart = dir.path().join("apart");
    std::fs::create_dir_all(&apart).unwrap();
    std::fs::write(
        apart.join("tailgate-results.json"),
        serde_json::to_string(&json).unwrap(),
    )
    .unwrap();
    let bad = dir.path().join("bad");
    let o = merge(&[&one, &apart], &bad, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("did not measure 1 round together"),
        "{stderr}"
    );
    assert!(stderr.contains("`users` round 3"), "{stderr}");
    assert!(stderr.contains("shard 2/2 started 10"), "{stderr}");
    assert!(stderr.contains("after shard 1/2"), "{stderr}");
    assert!(stderr.contains("--drop-apart"), "{stderr}");
    assert!(!bad.join("tailgate-results.json").exists());
    let dropped_dir = dir.path().join("dropped");
    ok(
        &merge(&[&one, &apart], &dropped_dir, &["--drop-apart"]),
        "merge --drop-apart",
    );
    let dropped = read(&dropped_dir);
    let t = dropped.shard.as_ref().unwrap().together.clone().unwrap();
    let rounds: Vec<u32> = t.dropped.iter().map(|d| d.round).collect();
    assert!(rounds.contains(&0) && rounds.contains(&2), "{rounds:?}");
    assert_eq!(dropped.endpoints[0].rounds.len(), 8 - 2 * rounds.len());
    assert!(dropped
        .warnings
        .iter()
        .any(|w| w.contains("round 3 was left out")));
    // Hand-made: shard 2's clock 600 ms ahead of shard 1's, so every window it
    // recorded is 600 ms later. With each shard's offset from the target's Date
    // header, merge puts the windows on the target's clock and they meet; without
    // them, they are 600 ms apart and refused.
    let clocked = |path: &Path, offset_ms: f64, shift_ms: i64, to: &Path| {
        let text = std::fs::read_to_string(path.join("tailgate-results.json")).unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["shard"]["start"]["clock"] =
            serde_json::json!({ "offset_ms": offset_ms, "uncertainty_ms": 15.0, "samples": 28 });
        for r in json["endpoints"][0]["rounds"].as_array_mut().unwrap() {
            for k in ["start_ms", "end_ms"] {
                let v = r["window"][k].as_i64().unwrap();
                r["window"][k] = (v + shift_ms).into();
            }
        }
        std::fs::create_dir_all(to).unwrap();
        std::fs::write(
            to.join("tailgate-results.json"),
            serde_json::to_string(&json).unwrap(),
        )
        .unwrap();
    };
    let (c1, c2) = (dir.path().join("clock-1"), dir.path().join("clock-2"));
    clocked(&one, 3.0, 0, &c1);
    clocked(&two, -597.0, 600, &c2);
    let on_target = dir.path().join("on-target");
    ok(
        &merge(&[&c1, &c2], &on_target, &[]),
        "merge on the target's clock",
    );
    let t = read(&on_target).shard.unwrap().together.unwrap();
    assert!(t.on_target_clock);
    assert!(
        (t.shards[1].correction_ms - t.shards[0].correction_ms + 600.0).abs() <= 30.0,
        "{:?}",
        t.shards
    );
    assert!(t.least_overlap >= 0.95, "{t:?}");
    let report = std::fs::read_to_string(on_target.join("report.md")).unwrap();
    assert!(report.contains("2: -597 ms ± 15 ms"), "{report}");
    assert!(
        report.contains("put the windows on the target's clock"),
        "{report}"
    );
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(c2.join("tailgate-results.json")).unwrap())
            .unwrap();
    json["shard"]["start"]
        .as_object_mut()
        .unwrap()
        .remove("clock");
    std::fs::write(
        c2.join("tailgate-results.json"),
        serde_json::to_string(&json).unwrap(),
    )
    .unwrap();
    let o = merge(&[&c1, &c2], &bad, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    // 600 ms apart, give or take the shards' own skew.
    let apart_ms: f64 = stderr
        .split("shard 2/2 started ")
        .nth(1)
        .and_then(|rest| rest.split(" ms after shard 1/2").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no skew in ms named: {stderr}"));
    assert!((550.0..=650.0).contains(&apart_ms), "{stderr}");

    // A share that is not one.
    let o = merge(&[&one, &two], &bad, &["--min-overlap", "150%"]);
    assert_eq!(o.status.code(), Some(2));

    // Joining in the middle of a round (its first side's slot has begun): the
    // round's second side is not measured either, so the sides still pair by
    // round and the shard's own report is judged.
    let mid = dir.path().join("mid-round");
    let o = run((&b, &h), &config, Some(("2/2", &start_in(-0.3))), &[], &mid)
        .output()
        .unwrap();
    ok(&o, "a shard joining mid-round");
    let m = read(&mid);
    assert!(m.verdict.error.is_none(), "{:?}", m.verdict.error);
    let e = &m.endpoints[0];
    assert_eq!(e.rounds.len() + e.missed.len(), 8);
    for side in Side::BOTH {
        assert!(
            e.missed
                .contains(&tailgate::bench::Missed { round: 0, side }),
            "{:?}",
            e.missed
        );
        assert_eq!(e.side(side).count(), e.rounds.len() / 2);
    }

    // Later than --max-late: it fails (exit 3) saying by how much, measuring nothing.
    let too_late = dir.path().join("too-late");
    let o = run(
        (&b, &h),
        &config,
        Some(("2/2", &start_in(-2.0))),
        &["--max-late", "500ms"],
        &too_late,
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("shard 2/2 reached the shared start 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("it may join at most 500 ms late (--max-late)"),
        "{stderr}"
    );
    assert!(stderr.contains("larger margin"), "{stderr}");
    assert!(read(&too_late).endpoints.is_empty());
    // And merge names it.
    let o = merge(&[&one, &too_late], &bad, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("has no measurements"), "{stderr}");
}

/// The capacity-limited Python service of `tests/python/pool_server.py`: 4
/// workers of 5 ms each, at most 800 req/s.
struct Pool {
    child: Child,
    url: String,
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pool() -> Option<Pool> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/pool_server.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["4", "0.005"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let port: u16 = line.trim().parse().ok()?;
    Some(Pool {
        child,
        url: format!("http://127.0.0.1:{port}"),
    })
}

/// The mean req/s of one side's rounds.
fn rate(r: &RunResults, side: Side) -> f64 {
    let rounds: Vec<f64> = r.endpoints[0]
        .side(side)
        .map(|x| x.data.total() as f64 / x.elapsed.as_secs_f64())
        .collect();
    rounds.iter().sum::<f64>() / rounds.len() as f64
}

#[test]
fn on_a_capacity_limited_service_shards_started_apart_report_the_unsharded_throughput() {
    let Some(service) = pool() else {
        if std::env::var_os("TAILGATE_REQUIRE_SERVERS").is_some() {
            panic!("python3 is needed for tests/python/pool_server.py");
        }
        eprintln!("skipped: no python3");
        return;
    };
    const CAPACITY: f64 = 4.0 / 0.005;
    let url = service.url.clone();
    let dir = tempfile::tempdir().unwrap();
    // 16 connections in all: the 4 workers are the bottleneck, whole or split.
    let config = write_config(dir.path(), 16, 3);

    let whole_dir = dir.path().join("whole");
    ok(
        &run((&url, &url), &config, None, &[], &whole_dir)
            .output()
            .unwrap(),
        "unsharded",
    );
    let whole = read(&whole_dir);

    // Two shards of 8 connections, the second started 3 s after the first.
    let start = start_in(6.0);
    let one = dir.path().join("shard-1");
    let two = dir.path().join("shard-2");
    let first = run((&url, &url), &config, Some(("1/2", &start)), &[], &one)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let second = run((&url, &url), &config, Some(("2/2", &start)), &[], &two)
        .output()
        .unwrap();
    ok(&first.wait_with_output().unwrap(), "shard 1");
    ok(&second, "shard 2");
    let merged_dir = dir.path().join("merged");
    let o = merge(&[&one, &two], &merged_dir, &[]);
    if o.status.code() == Some(2) {
        // Too loaded a machine to start two phases within 50 ms: refused, by name.
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("did not measure"), "{stderr}");
        return;
    }
    ok(&o, "merge");
    let merged = read(&merged_dir);
    let (s1, s2) = (read(&one), read(&two));
    assert_pooled(&merged, &[&s1, &s2]);
    let together = merged.shard.as_ref().unwrap().together.clone().unwrap();
    assert!(together.dropped.is_empty(), "{:?}", together.dropped);
    assert!(together.least_overlap >= 0.95);
    eprintln!(
        "2 shards started 3 s apart: start skew at most {} ms, overlap at least {:.1} %",
        together.max_skew_ms,
        together.least_overlap * 100.0
    );

    for side in Side::BOTH {
        let (w, m) = (rate(&whole, side), rate(&merged, side));
        eprintln!("{side}: unsharded {w:.0} req/s, sharded {m:.0} req/s (capacity {CAPACITY})");
        // The service cannot serve more than its capacity: rates that never met
        // would add up to about twice that.
        assert!(w <= CAPACITY * 1.1, "unsharded {w}");
        assert!(
            m <= CAPACITY * 1.1,
            "sharded {m}: more than the service can serve"
        );
        // The same load, the same bottleneck: the same throughput, loosely.
        assert!(m >= 0.5 * w && m <= 1.5 * w, "sharded {m} vs unsharded {w}");
    }
    let p50 = |r: &RunResults| {
        r.endpoints[0]
            .merged(Side::Head)
            .latency
            .value_at_quantile(0.5) as f64
    };
    let (pw, pm) = (p50(&whole), p50(&merged));
    eprintln!("p50: unsharded {pw} µs, sharded {pm} µs");
    // Queueing behind 4 workers at 16 connections: neither at half the load.
    assert!(
        pm >= 0.5 * pw && pm <= 2.0 * pw,
        "p50 sharded {pm} vs unsharded {pw}"
    );
}
