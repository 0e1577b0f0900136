//! `${VAR}` in a config: values that come from the workflow, not from the file.
//!
//! The config gates from the base branch, so a token or a per-PR preview URL cannot
//! be written in it; the workflow hands them over as environment variables and the
//! config names them: `Authorization: "Bearer ${API_TOKEN}"`, `head: "${PREVIEW_URL}"`.
//! Interpolation runs on the deserialised text, after the file was read and before
//! anything is checked, in endpoint header values, bodies and paths, and in the
//! deployer's URLs, commands, directories, parameters, tags and environments.
//!
//! - `${NAME}` is the variable's value; a variable that is not set is a located
//!   config error. `${NAME:-fallback}` uses `fallback` when it is unset or empty.
//! - `$${` writes a literal `${`; a `$` not followed by `{` is kept as it is.
//! - A value is a secret when it lands in a header value or a body, or when its
//!   variable's name says so (`TOKEN`, `SECRET`, `PASSWORD`, `KEY`, `AUTH`,
//!   `CREDENTIAL`, `COOKIE`, `SESSION`, `SIGNATURE`). Secrets are masked in the
//!   Actions log (`::add-mask::`) and replaced by their `${NAME}` in everything
//!   tailgate writes: results file, report, comment, check run, summary, messages.

use std::collections::BTreeMap;

use super::checker::Checker;
use super::index::FieldPath;
use super::raw::{RawConfig, RawDeploy, StringMap};

/// Where `${NAME}` values come from.
#[derive(Debug, Clone, Default)]
pub enum Environment {
    /// The process environment (the workflow step's `env:`).
    #[default]
    Process,
    /// A fixed set of variables (tests, tools).
    Fixed(BTreeMap<String, String>),
    /// The process environment, with an unset variable read as its own
    /// `${NAME}` text instead of an error: for reading a config's gate (SLOs,
    /// budgets, mode, compare settings) where the deployer's values are not
    /// needed (`tailgate publish`).
    ProcessOrPlaceholder,
}

impl Environment {
    fn get(&self, name: &str) -> Option<String> {
        match self {
            Environment::Process => std::env::var(name).ok(),
            Environment::Fixed(vars) => vars.get(name).cloned(),
            Environment::ProcessOrPlaceholder => {
                Some(std::env::var(name).unwrap_or_else(|_| format!("${{{name}}}")))
            }
        }
    }
}

/// Values shorter than this are never treated as secrets: masking `1` or `on`
/// would blank every such text in the output without hiding anything.
const MIN_SECRET_LEN: usize = 4;

/// The secret values a config was given, each with the `${NAME}` shown instead.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Secrets {
    /// `(value, placeholder)`, longest value first (so a value that contains
    /// another is replaced whole).
    pairs: Vec<(String, String)>,
}

impl Secrets {
    /// No secrets.
    pub fn none() -> Secrets {
        Secrets::default()
    }

    fn add(&mut self, name: &str, value: &str) {
        if value.chars().count() < MIN_SECRET_LEN || self.pairs.iter().any(|(v, _)| v == value) {
            return;
        }
        self.pairs.push((value.to_string(), format!("${{{name}}}")));
        self.pairs
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// `text` with every secret value replaced by its `${NAME}`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (value, placeholder) in &self.pairs {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), placeholder);
            }
            // JSON and other escaped forms of the value (quotes, backslashes,
            // newlines) are caught by redacting the escaped text too.
            let escaped = serde_json::to_string(value).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            if escaped != value && out.contains(escaped) {
                out = out.replace(escaped, placeholder);
            }
        }
        out
    }

    /// `value` with every secret in its strings (keys included) replaced, by a
    /// round trip through JSON: what is written or published from it is clean.
    pub fn redact_all<T>(&self, value: &T) -> Result<T, serde_json::Error>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        fn walk(secrets: &Secrets, v: &mut serde_json::Value) {
            match v {
                serde_json::Value::String(s) => *s = secrets.redact(s),
                serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(secrets, i)),
                serde_json::Value::Object(map) => {
                    let entries = std::mem::take(map);
                    for (key, mut item) in entries {
                        walk(secrets, &mut item);
                        map.insert(secrets.redact(&key), item);
                    }
                }
                _ => {}
            }
        }
        let mut json = serde_json::to_value(value)?;
        if !self.is_empty() {
            walk(self, &mut json);
        }
        serde_json::from_value(json)
    }

    /// The workflow commands that mask every secret in the Actions log, one per
    /// line of each value (the runner masks line by line).
    pub fn mask_commands(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .pairs
            .iter()
            .flat_map(|(value, _)| value.lines())
            .filter(|line| line.trim().chars().count() >= MIN_SECRET_LEN)
            .map(|line| format!("::add-mask::{line}"))
            .collect();
        lines.dedup();
        lines
    }
}

/// Whether a variable's name says it holds a secret.
fn secret_name(name: &str) -> bool {
    const WORDS: [&str; 10] = [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "KEY",
        "AUTH",
        "CREDENTIAL",
        "COOKIE",
        "SESSION",
        "SIGNATURE",
    ];
    let upper = name.to_ascii_uppercase();
    WORDS.iter().any(|w| upper.contains(w))
}

/// One `${...}` reference found in a text.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Var {
        name: &'a str,
        fallback: Option<&'a str>,
    },
}

/// Split `text` into literal text and references; `Err` says what is malformed.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        if let Some(literal) = after.strip_prefix("${") {
            // `$${` is a literal `${`.
            out.push(Piece::Text(&rest[..at]));
            out.push(Piece::Text("${"));
            rest = literal;
            continue;
        }
        let Some(inner) = after.strip_prefix('{') else {
            out.push(Piece::Text(&rest[..=at]));
            rest = after;
            continue;
        };
        let Some(end) = inner.find('}') else {
            return Err(format!(
                "`${{` at `{}` is not closed with `}}`",
                preview(&rest[at..])
            ));
        };
        let body = &inner[..end];
        let (name, fallback) = match body.split_once(":-") {
            Some((name, fallback)) => (name, Some(fallback)),
            None => (body, None),
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "`${{{body}}}` does not name an environment variable"
            ));
        }
        out.push(Piece::Text(&rest[..at]));
        out.push(Piece::Var { name, fallback });
        rest = &inner[end + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

fn preview(text: &str) -> String {
    text.chars().take(20).collect()
}

/// Resolves the references of one config, collecting its secrets and problems.
pub(crate) struct Interpolator<'e, 'c, 'i> {
    env: &'e Environment,
    check: &'c mut Checker<'i>,
    secrets: Secrets,
}

impl<'e, 'c, 'i> Interpolator<'e, 'c, 'i> {
    pub(crate) fn new(env: &'e Environment, check: &'c mut Checker<'i>) -> Self {
        Interpolator {
            env,
            check,
            secrets: Secrets::none(),
        }
    }

    /// Resolve every field of `raw` that may hold references.
    pub(crate) fn config(mut self, raw: &mut RawConfig) -> Secrets {
        let root = FieldPath::root();
        if let Some(deploy) = raw.deploy.as_mut() {
            self.deploy(deploy, &root.key("deploy"));
        }
        if let Some(endpoints) = raw.endpoints.as_mut() {
            let list = root.key("endpoints");
            for (i, e) in endpoints.iter_mut().enumerate() {
                let at = list.index(i);
                self.field(&mut e.path, &at.key("path"), false);
                self.field(&mut e.body, &at.key("body"), true);
                self.map(&mut e.headers, &at.key("headers"), true);
            }
        }
        self.secrets
    }

    fn deploy(&mut self, deploy: &mut RawDeploy, at: &FieldPath) {
        if let Some(url) = deploy.url.as_mut() {
            let at = at.key("url");
            self.field(&mut url.base, &at.key("base"), false);
            self.field(&mut url.head, &at.key("head"), false);
        }
        if let Some(local) = deploy.local.as_mut() {
            let at = at.key("local");
            self.field(&mut local.command, &at.key("command"), false);
            self.map(&mut local.env, &at.key("env"), false);
        }
        if let Some(command) = deploy.command.as_mut() {
            let at = at.key("command");
            self.field(&mut command.up, &at.key("up"), false);
            self.field(&mut command.down, &at.key("down"), false);
            self.field(&mut command.dir, &at.key("dir"), false);
            self.field(&mut command.build, &at.key("build"), false);
            self.map(&mut command.env, &at.key("env"), false);
        }
        if let Some(stack) = deploy.cloudformation.as_mut() {
            let at = at.key("cloudformation");
            self.field(&mut stack.template, &at.key("template"), false);
            self.field(&mut stack.region, &at.key("region"), false);
            self.field(&mut stack.bucket, &at.key("bucket"), false);
            self.field(&mut stack.build, &at.key("build"), false);
            self.map(&mut stack.parameters, &at.key("parameters"), false);
            self.map(&mut stack.tags, &at.key("tags"), false);
        }
    }

    fn map(&mut self, map: &mut Option<StringMap>, at: &FieldPath, secret: bool) {
        for (key, value) in map.iter_mut().flat_map(|m| m.0.iter_mut()) {
            let at = at.key(key);
            if let Some(resolved) = self.text(value, &at, secret) {
                *value = resolved;
            }
        }
    }

    fn field(&mut self, value: &mut Option<String>, at: &FieldPath, secret: bool) {
        if let Some(text) = value.as_mut() {
            if let Some(resolved) = self.text(text, at, secret) {
                *text = resolved;
            }
        }
    }

    /// `text` resolved, or `None` (and a problem recorded) when it cannot be.
    fn text(&mut self, text: &str, at: &FieldPath, secret: bool) -> Option<String> {
        if !text.contains('$') {
            return None;
        }
        let pieces = match pieces(text) {
            Ok(p) => p,
            Err(message) => {
                self.check.value(
                    at,
                    message,
                    "write `${NAME}` to read the environment variable NAME, or `$${` for a literal `${`",
                );
                return None;
            }
        };
        let mut out = String::with_capacity(text.len());
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var { name, fallback } => {
                    let value = match (self.env.get(name), fallback) {
                        (Some(v), Some(f)) if v.is_empty() => f.to_string(),
                        (Some(v), _) => v,
                        (None, Some(f)) => f.to_string(),
                        (None, None) => {
                            self.check.value(
                                at,
                                format!("the environment variable `{name}` (in `${{{name}}}`) is not set"),
                                format!(
                                    "set it in the workflow step's `env:` (e.g. `{name}: ${{{{ secrets.{name} }}}}`), \
                                     or give a fallback: `${{{name}:-value}}`"
                                ),
                            );
                            return None;
                        }
                    };
                    if secret || secret_name(name) {
                        self.secrets.add(name, &value);
                    }
                    out.push_str(&value);
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_references_literals_and_escapes() {
        assert_eq!(
            pieces("Bearer ${TOKEN}").unwrap(),
            [
                Piece::Text("Bearer "),
                Piece::Var {
                    name: "TOKEN",
                    fallback: None
                },
                Piece::Text("")
            ]
        );
        let p = pieces("a$b $${x} ${U:-http://h:1}").unwrap();
        let text: String = p
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.to_string(),
                Piece::Var { name, fallback } => format!("<{name}|{fallback:?}>"),
            })
            .collect();
        assert_eq!(text, "a$b ${x} <U|Some(\"http://h:1\")>");
        assert!(pieces("${oops").is_err());
        assert!(pieces("${1X}").is_err());
        assert!(pieces("${}").is_err());
    }

    #[test]
    fn redaction_replaces_longest_values_and_escaped_forms() {
        let mut s = Secrets::none();
        s.add("A", "abcd");
        s.add("B", "xxabcdxx");
        s.add("SHORT", "abc");
        s.add("Q", "p\"q\\r");
        assert_eq!(s.redact("xxabcdxx abcd abc"), "${B} ${A} abc");
        assert_eq!(s.redact(r#"{"h":"p\"q\\r"}"#), r#"{"h":"${Q}"}"#);
        assert_eq!(
            s.mask_commands(),
            [
                "::add-mask::xxabcdxx",
                "::add-mask::p\"q\\r",
                "::add-mask::abcd"
            ]
        );
    }

    #[test]
    fn names_that_say_secret() {
        for name in [
            "API_TOKEN",
            "db_password",
            "STRIPE_KEY",
            "AUTH_HEADER",
            "x_session",
        ] {
            assert!(secret_name(name), "{name}");
        }
        for name in ["PREVIEW_URL", "STAGE", "REGION"] {
            assert!(!secret_name(name), "{name}");
        }
    }
}
