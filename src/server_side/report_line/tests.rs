use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn warm_report_without_init() {
    let r = parse_message(
        "REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\t\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(r.request_id, "3604209a-e9a3-11e6-939a-754dd98c7be3");
    assert_eq!(r.duration, ms(12) + Duration::from_micros(340));
    assert_eq!(r.billed_duration, ms(13));
    assert_eq!((r.memory_size_mb, r.max_memory_used_mb), (128, 18));
    assert!(!r.is_cold());
    assert_eq!(r.billed_total(), ms(13));
}

#[test]
fn cold_report_with_init_and_xray() {
    let r = parse_message(
        "REPORT RequestId: abc\tDuration: 2.01 ms\tBilled Duration: 158 ms\tMemory Size: 512 MB\tMax Memory Used: 70 MB\tInit Duration: 155.527 ms\t\nXRAY TraceId: 1-5e645f3e-1dfad076a177c5ccc5de12f5\tSegmentId: 094f4bd2cd0f4e8e\tSampled: true\t\n",
    )
    .unwrap()
    .unwrap();
    assert!(r.is_cold());
    assert_eq!(r.init_duration, Some(ms(155) + Duration::from_micros(527)));
    assert_eq!(
        r.trace_id.as_deref(),
        Some("1-5e645f3e-1dfad076a177c5ccc5de12f5")
    );
}

#[test]
fn snapstart_restore_is_cold_and_billed() {
    let r = parse_message(
        "REPORT RequestId: r1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 1024 MB\tMax Memory Used: 120 MB\tRestore Duration: 474.16 ms\tBilled Restore Duration: 206 ms\t",
    )
    .unwrap()
    .unwrap();
    assert!(r.is_cold());
    assert_eq!(r.billed_restore_duration, Some(ms(206)));
    assert_eq!(r.billed_total(), ms(208));
}

#[test]
fn timeout_status_and_unknown_fields_are_kept() {
    let r = parse_message(
        "REPORT RequestId: t\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: timeout\tFuture Field: 7 units\t",
    )
    .unwrap()
    .unwrap();
    assert_eq!(r.status.as_deref(), Some("timeout"));
    assert_eq!(
        r.extra.get("Future Field").map(String::as_str),
        Some("7 units")
    );
}

#[test]
fn space_separated_report_as_copied_from_a_console() {
    let r = parse_message(
        "REPORT RequestId: 8f507cfc-xmpl Duration: 15.74 ms Billed Duration: 16 ms Memory Size: 128 MB Max Memory Used: 57 MB Init Duration: 154.13 ms",
    )
    .unwrap()
    .unwrap();
    assert_eq!(r.billed_duration, ms(16));
    assert_eq!(r.init_duration, Some(ms(154) + Duration::from_micros(130)));
    assert_eq!(r.request_id, "8f507cfc-xmpl");
}

#[test]
fn json_platform_report() {
    let line = r#"{"time":"2024-01-01T00:00:00.000Z","type":"platform.report","record":{"requestId":"6d68ca91-49c9-448d-89b8-7ca3e6dc66aa","metrics":{"durationMs":2.524,"billedDurationMs":3,"memorySizeMB":128,"maxMemoryUsedMB":68,"initDurationMs":180.5},"tracing":{"spanId":"54565fb41ac79632","type":"X-Amzn-Trace-Id","value":"Root=1-62e900b2-710d76f009d6e7785905449a;Parent=0efbd19962d95b05;Sampled=1"},"status":"success"}}"#;
    let r = parse_message(line).unwrap().unwrap();
    assert_eq!(r.billed_duration, ms(3));
    assert_eq!(r.init_duration, Some(ms(180) + Duration::from_micros(500)));
    assert_eq!(r.status, None);
    assert_eq!(
        r.trace_id.as_deref(),
        Some("1-62e900b2-710d76f009d6e7785905449a")
    );
}

#[test]
fn other_messages_are_not_reports() {
    for msg in [
        "START RequestId: abc Version: $LATEST",
        "END RequestId: abc",
        "2024-01-01T00:00:00Z abc INFO hello REPORT RequestId: x",
        "REPORTING for duty",
        "",
        r#"{"type":"platform.start","record":{}}"#,
        r#"{"level":"info","msg":"hi"}"#,
        "{ not json",
    ] {
        assert_eq!(parse_message(msg), Ok(None), "{msg}");
    }
}

#[test]
fn malformed_reports_are_errors() {
    let cases = [
        "REPORT RequestId: a\tDuration: 1 ms",
        "REPORT RequestId: a\tDuration: x ms\tBilled Duration: 1 ms\tMemory Size: 1 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: a\tDuration: 1 s\tBilled Duration: 1 ms\tMemory Size: 1 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: a\tDuration: -1 ms\tBilled Duration: 1 ms\tMemory Size: 1 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: a\tDuration: 1. ms\tBilled Duration: 1 ms\tMemory Size: 1 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: a\tDuration: 99999999999999999999 ms\tBilled Duration: 1 ms\tMemory Size: 1 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: a\tDuration: 1 ms\tBilled Duration: 1 ms\tMemory Size: 4294967296 MB\tMax Memory Used: 1 MB",
        "REPORT Duration: 1 ms\tBilled Duration: 1 ms\tMemory Size: 1 MB\tMax Memory Used: 1 MB",
        r#"{"type":"platform.report","record":{"requestId":"a","metrics":{"durationMs":-1,"billedDurationMs":1,"memorySizeMB":1,"maxMemoryUsedMB":1}}}"#,
        r#"{"type":"platform.report","record":{"requestId":"a","metrics":{"durationMs":1}}}"#,
        r#"{"type":"platform.report"}"#,
    ];
    for case in cases {
        assert!(parse_message(case).is_err(), "{case}");
    }
}

#[test]
fn error_messages_name_the_field() {
    let err = parse_message(
        "REPORT RequestId: a\tDuration: 1 ms\tBilled Duration: soon\tMemory Size: 1 MB\tMax Memory Used: 1 MB",
    )
    .unwrap_err();
    assert!(err.to_string().contains("Billed Duration"), "{err}");
}
