//! The `OTEL_*` environment of a side's process when the run receives traces.

use crate::side::Side;

/// What a side's process is told about the run's OTLP receiver (`local`,
/// `command`; `crate::traces` fills it in, issue 27).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceExport {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The run's tag, in hex (`OTEL_RESOURCE_ATTRIBUTES`' `tailgate.run`).
    pub run: String,
}

impl TraceExport {
    /// The `OTEL_*` variables for `side`'s process: OTLP/HTTP protobuf to the
    /// receiver, a short batch delay (so the last round's spans arrive within the
    /// grace period), no metrics or logs exporters, and the side and run as
    /// resource attributes. `OTEL_SERVICE_NAME` is the deploy `env:`'s when given (a
    /// service that names itself keeps its name) else `app`, the same on both
    /// sides: spans are compared by service, so the sides must not differ in it
    /// (the side is the resource attribute `tailgate.side`).
    pub fn env(&self, side: Side, user: &[(String, String)]) -> Vec<(String, String)> {
        let has = |k: &str| user.iter().any(|(n, _)| n == k);
        let mut env = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), self.endpoint.clone()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into()),
            ("OTEL_TRACES_EXPORTER".into(), "otlp".into()),
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "200".into()),
            (
                "OTEL_RESOURCE_ATTRIBUTES".into(),
                format!("tailgate.side={side},tailgate.run={}", self.run),
            ),
        ];
        for (k, v) in [
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ] {
            if !has(k) {
                env.push((k.into(), v.into()));
            }
        }
        if !has("OTEL_SERVICE_NAME") {
            env.push(("OTEL_SERVICE_NAME".into(), "app".into()));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_side_is_told_the_receiver_its_side_and_a_name_shared_by_both_sides() {
        let export = TraceExport {
            endpoint: "http://127.0.0.1:4318".into(),
            run: "0badcafe".into(),
        };
        let get = |env: &[(String, String)], k: &str| {
            env.iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let head = export.env(Side::Head, &[]);
        let base = export.env(Side::Base, &[]);
        assert_eq!(
            get(&head, "OTEL_EXPORTER_OTLP_ENDPOINT").as_deref(),
            Some("http://127.0.0.1:4318")
        );
        assert_eq!(
            get(&head, "OTEL_EXPORTER_OTLP_PROTOCOL").as_deref(),
            Some("http/protobuf")
        );
        assert_eq!(
            get(&head, "OTEL_RESOURCE_ATTRIBUTES").as_deref(),
            Some("tailgate.side=head,tailgate.run=0badcafe")
        );
        assert_eq!(
            get(&head, "OTEL_SERVICE_NAME"),
            get(&base, "OTEL_SERVICE_NAME")
        );
        assert_eq!(get(&head, "OTEL_METRICS_EXPORTER").as_deref(), Some("none"));
        // The deploy's own `env:` keeps its service name and exporters.
        let user = [
            ("OTEL_SERVICE_NAME".to_string(), "orders".to_string()),
            ("OTEL_METRICS_EXPORTER".to_string(), "otlp".to_string()),
        ];
        let mine = export.env(Side::Head, &user);
        assert_eq!(get(&mine, "OTEL_SERVICE_NAME"), None);
        assert_eq!(get(&mine, "OTEL_METRICS_EXPORTER"), None);
    }
}
