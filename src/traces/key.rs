//! What makes two spans "the same span" across requests, rounds and sides: its
//! service, kind and name, and the attributes of the OpenTelemetry semantic
//! conventions that say what it did (<https://opentelemetry.io/docs/specs/semconv/>):
//! `http.route`, `db.system`(`.name`) with `db.query.text`/`db.statement` (literals
//! stripped, so `WHERE id = 7` and `WHERE id = 8` are one query), `server.address`
//! (`net.peer.name`) with its port, `rpc.method`.

use opentelemetry_proto::tonic::common::v1::{any_value::Value, KeyValue};

/// A key is cut to this many bytes (on a character boundary).
pub const MAX_KEY_LEN: usize = 240;

/// A statement is normalised from at most this many bytes of its text.
const MAX_STATEMENT: usize = 4_096;

/// The string (or number, as text) of attribute `name`.
pub fn attr<'a>(attrs: &'a [KeyValue], name: &str) -> Option<std::borrow::Cow<'a, str>> {
    let v = attrs.iter().find(|kv| kv.key == name)?.value.as_ref()?;
    match v.value.as_ref()? {
        Value::StringValue(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
        Value::IntValue(i) => Some(std::borrow::Cow::Owned(i.to_string())),
        _ => None,
    }
}

fn first<'a>(attrs: &'a [KeyValue], names: &[&str]) -> Option<std::borrow::Cow<'a, str>> {
    names
        .iter()
        .find_map(|n| attr(attrs, n))
        .filter(|s| !s.is_empty())
}

/// `SELECT * FROM t WHERE id = 7 AND name IN ('a', 'b')` →
/// `SELECT * FROM t WHERE id = ? AND name IN (?)`: string and numeric literals
/// become `?`, a list of placeholders one, runs of white space one space.
pub fn strip_literals(sql: &str) -> String {
    let sql = cut(sql, MAX_STATEMENT);
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut prev_ident = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // A string literal, with '' as an escaped quote.
                loop {
                    match chars.next() {
                        None => break,
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                        }
                        Some('\'') => break,
                        Some(_) => {}
                    }
                }
                out.push('?');
                prev_ident = false;
            }
            '0'..='9' if !prev_ident => {
                while chars
                    .peek()
                    .is_some_and(|d| d.is_ascii_hexdigit() || matches!(d, '.' | 'x' | 'X' | '_'))
                {
                    chars.next();
                }
                out.push('?');
                prev_ident = false;
            }
            c if c.is_whitespace() => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
                prev_ident = false;
            }
            c => {
                out.push(c);
                prev_ident = c.is_alphanumeric() || c == '_' || c == '$';
            }
        }
    }
    // `(?, ?, ?)` → `(?)`: an IN list's length is not another query.
    while let Some(at) = out.find("?, ?").or_else(|| out.find("?,?")) {
        let len = if out[at..].starts_with("?, ?") { 4 } else { 3 };
        out.replace_range(at..at + len, "?");
    }
    out.trim().to_string()
}

/// `s` cut to at most `max` bytes on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Whether `host` is this machine.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The kind's word.
pub fn kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "span",
    }
}

/// The key of a span of `service` named `name`, of `kind`, with `attrs`.
pub fn span_key(service: &str, name: &str, kind: i32, attrs: &[KeyValue]) -> String {
    let statement = first(attrs, &["db.query.text", "db.statement"]);
    let system = first(attrs, &["db.system.name", "db.system"]);
    let peer = first(attrs, &["server.address", "net.peer.name", "peer.service"]);
    let port = first(attrs, &["server.port", "net.peer.port"]);
    let route = first(attrs, &["http.route"]);
    let method = first(attrs, &["http.request.method", "http.method"]);
    let rpc = first(attrs, &["rpc.method"]);
    let what = if let Some(statement) = statement {
        let system = system.unwrap_or_default();
        format!("{system} {}", strip_literals(&statement))
            .trim()
            .to_string()
    } else if let Some(rpc) = rpc {
        match peer {
            Some(peer) => format!("{} {rpc} → {peer}", kind_name(kind)),
            None => format!("{} {rpc}", kind_name(kind)),
        }
    } else if kind == 3 && peer.is_some() {
        let peer = peer.unwrap_or_default();
        // A loopback port is drawn per side (services the run started): it is not
        // part of what was called.
        let at = match port {
            Some(port) if !is_loopback(&peer) => format!("{peer}:{port}"),
            _ => peer.to_string(),
        };
        format!("{} {name} → {at}", kind_name(kind))
    } else if let (Some(route), Some(method)) = (&route, &method) {
        if name.contains(route.as_ref()) {
            format!("{} {name}", kind_name(kind))
        } else {
            format!("{} {method} {route}", kind_name(kind))
        }
    } else {
        format!("{} {name}", kind_name(kind))
    };
    let key = if service.is_empty() {
        what
    } else {
        format!("{service}: {what}")
    };
    cut(&key, MAX_KEY_LEN).to_string()
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::AnyValue;

    use super::*;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn literals_are_stripped_and_lists_folded() {
        assert_eq!(
            strip_literals(
                "SELECT  *\nFROM t1 WHERE id = 7 AND n IN ('a', 'it''s', 3.5) AND x=0x1F"
            ),
            "SELECT * FROM t1 WHERE id = ? AND n IN (?) AND x=?"
        );
        assert_eq!(strip_literals("select ? from t"), "select ? from t");
        assert_eq!(strip_literals("'unterminated"), "?");
        assert_eq!(strip_literals(""), "");
    }

    #[test]
    fn keys_name_the_statement_the_call_and_the_route() {
        let q = span_key(
            "orders",
            "SELECT",
            3,
            &[
                kv("db.system", "sqlite"),
                kv(
                    "db.statement",
                    "SELECT * FROM order_items WHERE order_id = 12",
                ),
            ],
        );
        assert_eq!(
            q,
            "orders: sqlite SELECT * FROM order_items WHERE order_id = ?"
        );
        let call = span_key(
            "front",
            "GET",
            3,
            &[kv("server.address", "127.0.0.1"), kv("server.port", "4001")],
        );
        assert_eq!(call, "front: client GET → 127.0.0.1");
        let remote = span_key(
            "front",
            "GET",
            3,
            &[
                kv("server.address", "pricing.internal"),
                kv("server.port", "8080"),
            ],
        );
        assert_eq!(remote, "front: client GET → pricing.internal:8080");
        let server = span_key(
            "front",
            "GET",
            2,
            &[kv("http.route", "/o/:id"), kv("http.method", "GET")],
        );
        assert_eq!(server, "front: server GET /o/:id");
        let long = span_key("s", &"é".repeat(400), 1, &[]);
        assert!(long.len() <= MAX_KEY_LEN);
    }
}
