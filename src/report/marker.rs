//! The hidden marker that ends every comment: an HTML comment GitHub does not
//! render, used to find tailgate's comment again (together with its author) and to
//! know which run wrote it.
//!
//! `<!-- tailgate:comment config=tailgate.yml head=ec26c3e… run=4242 verdict=fail -->`
//!
//! A run whose failing verdict the PR's `accept_label` accepted adds
//! `accepted=<label>`: the acceptance of that head commit, where the next run of the
//! same commit reads it back through the API whatever became of the history store.

use std::fmt::Write as _;

const PREFIX: &str = "<!-- tailgate:comment ";

/// Longest value kept of one attribute, in characters before encoding: a config
/// path or head sha from a results file is outside input, and the marker must stay
/// a small part of a comment whatever it says.
pub const MAX_VALUE_CHARS: usize = 200;

/// What the marker records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Marker {
    /// The config the gate ran with: one comment per config, when several gates run
    /// on one PR.
    pub config: String,
    /// The head commit the comment reports on.
    pub head: Option<String>,
    /// The workflow run that wrote it (run ids only grow).
    pub run: Option<u64>,
    /// The verdict level (`pass`, `warn`, `fail`, `error`).
    pub verdict: Option<String>,
    /// The label that accepted the failing verdict of `head`, when one did.
    pub accepted: Option<String>,
}

/// Percent-encode what could end the HTML comment or split the attributes.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_VALUE_CHARS * 3));
    let mut prev_dash = false;
    for c in value.chars().take(MAX_VALUE_CHARS) {
        let plain = c.is_ascii_alphanumeric()
            || matches!(c, '.' | '_' | '/' | '(' | ')')
            || (c == '-' && !prev_dash);
        if plain {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        }
        prev_dash = c == '-';
    }
    out
}

fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Marker {
    /// The marker line.
    pub fn render(&self) -> String {
        let mut line = format!("{PREFIX}config={}", encode(&self.config));
        if let Some(head) = &self.head {
            let _ = write!(line, " head={}", encode(head));
        }
        if let Some(run) = self.run {
            let _ = write!(line, " run={run}");
        }
        if let Some(verdict) = &self.verdict {
            let _ = write!(line, " verdict={}", encode(verdict));
        }
        if let Some(label) = &self.accepted {
            let _ = write!(line, " accepted={}", encode(label));
        }
        line.push_str(" -->");
        line
    }

    /// The marker of a comment body, if it has one (the last one wins).
    pub fn parse(body: &str) -> Option<Marker> {
        let start = body.rfind(PREFIX)?;
        let rest = &body[start + PREFIX.len()..];
        let end = rest.find("-->")?;
        let mut marker = Marker::default();
        let mut has_config = false;
        for attr in rest[..end].split_whitespace() {
            let Some((key, value)) = attr.split_once('=') else {
                continue;
            };
            match key {
                "config" => {
                    marker.config = decode(value);
                    has_config = true;
                }
                "head" => marker.head = Some(decode(value)),
                "run" => marker.run = value.parse().ok(),
                "verdict" => marker.verdict = Some(decode(value)),
                "accepted" => marker.accepted = Some(decode(value)),
                _ => {}
            }
        }
        has_config.then_some(marker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let m = Marker {
            config: "perf--gate dir/tailgate.yml".into(),
            head: Some("ec26c3e57ca3a959ca5aad62de7213c562f8c821".into()),
            run: Some(4242),
            verdict: Some("pass".into()),
            accepted: Some("perf-accepted".into()),
        };
        let line = m.render();
        assert!(!line[4..line.len() - 3].contains("--"), "{line}");
        assert_eq!(Marker::parse(&format!("body\n{line}\n")), Some(m));
    }

    #[test]
    fn hostile_values_stay_inside_a_bounded_comment() {
        let m = Marker {
            config: format!("-->{}<script>", "\u{1F4A3}-- ".repeat(100_000)),
            head: Some("x -->\n<img src=x>".repeat(1000)),
            run: Some(u64::MAX),
            verdict: Some("pass --> <b>".into()),
            accepted: Some("a -->\n<b>".repeat(500)),
        };
        let line = m.render();
        // Each value is at most 200 characters, each at most 4 bytes as %XX.
        assert!(
            line.len() < 3 * 4 * 3 * MAX_VALUE_CHARS + 100,
            "{}",
            line.len()
        );
        let inner = &line[4..line.len() - 3];
        assert!(!inner.contains("--"), "{line}");
        assert!(!inner.contains('<') && !inner.contains('>') && !inner.contains('\n'));
        assert!(line.ends_with(" -->"));
        assert!(Marker::parse(&line).is_some());
    }

    #[test]
    fn old_markers_parse() {
        let m = Marker::parse("x <!-- tailgate:comment config=tailgate.yml -->").expect("marker");
        assert_eq!(m.config, "tailgate.yml");
        assert_eq!(m.run, None);
        assert_eq!(Marker::parse("<!-- something else -->"), None);
    }
}
