//! Fuzzing the REPORT-line parser with proptest.
//!
//! Properties: (1) no input makes it panic — arbitrary text, text after a `REPORT `
//! prefix, valid lines with random edits, and `platform.report` JSON with arbitrary
//! numbers; (2) every well-formed line (tabs or spaces, with or without Init/Restore
//! Duration, XRAY line, extra fields) parses back to exactly the values written.
//!
//! `cargo test --test aws_report_fuzz` runs 10,000 cases per property (50,000 inputs);
//! the ignored `fuzz_one_million` runs 1,000,000 inputs:
//! `cargo test --release --test aws_report_fuzz -- --ignored`.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tailgate::server_side::report_line::parse_message;

/// A well-formed REPORT line and the values written into it.
#[derive(Debug, Clone)]
struct Line {
    text: String,
    duration_us: u64,
    billed_ms: u64,
    memory: u32,
    used: u32,
    init_us: Option<u64>,
    restore: Option<(u64, u64)>,
    trace: Option<String>,
}

fn ms_text(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

fn well_formed() -> impl Strategy<Value = Line> {
    (
        "[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
        0u64..900_000_000,
        1u64..900_000,
        128u32..10_241,
        1u32..10_241,
        proptest::option::of(0u64..10_000_000),
        proptest::option::of((0u64..10_000_000, 0u64..10_000)),
        proptest::option::of("1-[0-9a-f]{8}-[0-9a-f]{24}"),
        prop::bool::ANY,
        proptest::option::of(("[A-Z][a-z]{2,8} [A-Z][a-z]{2,8}", "[a-z0-9 ]{0,12}")),
    )
        .prop_map(|(id, duration_us, billed_ms, memory, used, init_us, restore, trace, tabs, extra)| {
            let sep = if tabs { "\t" } else { " " };
            let mut fields = vec![
                format!("RequestId: {id}"),
                format!("Duration: {} ms", ms_text(duration_us)),
                format!("Billed Duration: {billed_ms} ms"),
                format!("Memory Size: {memory} MB"),
                format!("Max Memory Used: {used} MB"),
            ];
            if let Some(us) = init_us {
                fields.push(format!("Init Duration: {} ms", ms_text(us)));
            }
            if let Some((us, billed)) = restore {
                fields.push(format!("Restore Duration: {} ms", ms_text(us)));
                fields.push(format!("Billed Restore Duration: {billed} ms"));
            }
            // Unknown fields are only unambiguous in the tab-separated format.
            if let (Some((k, v)), true) = (&extra, tabs) {
                fields.push(format!("{k}: {}", v.trim()));
            }
            let mut text = format!("REPORT {}{sep}", fields.join(sep));
            if let Some(t) = &trace {
                text.push_str(&format!("\nXRAY TraceId: {t}{sep}SegmentId: 0123456789abcdef{sep}Sampled: true{sep}\n"));
            }
            Line { text, duration_us, billed_ms, memory, used, init_us, restore, trace }
        })
}

/// A valid line with random edits: characters replaced, inserted or removed.
fn mutated() -> impl Strategy<Value = String> {
    (
        well_formed(),
        proptest::collection::vec((any::<usize>(), 0u8..3, any::<char>()), 1..6),
    )
        .prop_map(|(line, edits)| {
            let mut chars: Vec<char> = line.text.chars().collect();
            for (at, op, ch) in edits {
                if chars.is_empty() {
                    chars.push(ch);
                    continue;
                }
                let i = at % chars.len();
                match op {
                    0 => chars[i] = ch,
                    1 => chars.insert(i, ch),
                    _ => {
                        chars.remove(i);
                    }
                }
            }
            chars.into_iter().collect()
        })
}

fn json_number() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        "[a-z]{0,4}".prop_map(serde_json::Value::from),
    ]
}

fn platform_json() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(("(durationMs|billedDurationMs|memorySizeMB|maxMemoryUsedMB|initDurationMs|restoreDurationMs|billedRestoreDurationMs|other)", json_number()), 0..8),
        proptest::option::of("[a-z0-9-]{0,40}"),
    )
        .prop_map(|(metrics, id)| {
            let metrics: serde_json::Map<String, serde_json::Value> = metrics.into_iter().collect();
            serde_json::json!({"type": "platform.report", "record": {"requestId": id, "metrics": metrics}}).to_string()
        })
}

/// Every kind of input, for the no-panic property.
fn any_input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "REPORT[ \t]\\PC{0,200}".prop_map(|s| s),
        "REPORT RequestId: [^\t]{0,20}\t(Duration|Billed Duration|Memory Size|Max Memory Used|Init Duration): [-0-9.eE+ a-zA-Z]{0,24}\t.{0,80}",
        mutated(),
        platform_json(),
        well_formed().prop_map(|l| l.text),
    ]
}

fn check_round_trip(line: &Line) -> Result<(), TestCaseError> {
    let r = parse_message(&line.text)
        .map_err(|e| TestCaseError::fail(format!("{e}: {:?}", line.text)))?
        .ok_or_else(|| TestCaseError::fail(format!("not a REPORT: {:?}", line.text)))?;
    prop_assert_eq!(r.duration, Duration::from_micros(line.duration_us));
    prop_assert_eq!(r.billed_duration, Duration::from_millis(line.billed_ms));
    prop_assert_eq!(r.memory_size_mb, line.memory);
    prop_assert_eq!(r.max_memory_used_mb, line.used);
    prop_assert_eq!(r.init_duration, line.init_us.map(Duration::from_micros));
    prop_assert_eq!(
        r.restore_duration,
        line.restore.map(|(us, _)| Duration::from_micros(us))
    );
    prop_assert_eq!(
        r.billed_restore_duration,
        line.restore.map(|(_, b)| Duration::from_millis(b))
    );
    prop_assert_eq!(
        r.is_cold(),
        line.init_us.is_some() || line.restore.is_some()
    );
    prop_assert_eq!(&r.trace_id, &line.trace);
    Ok(())
}

fn run(cases: u32, strategy: impl Strategy<Value = String>) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |input| {
            // Ok or Err, never a panic (a panic fails the case and proptest shrinks it).
            let _ = parse_message(&input);
            Ok(())
        })
        .unwrap();
}

#[test]
fn well_formed_lines_round_trip() {
    let mut runner = TestRunner::new(Config {
        cases: 10_000,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&well_formed(), |line| check_round_trip(&line))
        .unwrap();
}

#[test]
fn no_input_panics_10k_each() {
    run(10_000, any::<String>());
    run(10_000, mutated());
    run(10_000, platform_json());
    run(10_000, any_input());
}

/// 1,000,000 inputs of every kind. Slow in a debug build: run it with `--release`.
#[test]
#[ignore = "1,000,000 inputs: cargo test --release --test aws_report_fuzz -- --ignored"]
fn fuzz_one_million() {
    run(1_000_000, any_input());
}
