//! Config errors that point at the line: every problem has the file, the line and
//! column, the field path, what is wrong, and how to fix it.
//!
//! ```text
//! tailgate.yml:14:12: error in `endpoints[1].slo.p99`: "fast" is not a duration
//!   help: write a number with a unit, e.g. `500ms` or `2s`
//! ```
//!
//! Problems come from four places: reading the file, YAML syntax (granit-parser,
//! a typed error kind), the shape of the document (serde-saphyr's typed errors:
//! wrong type, unknown key, a badly written value) and the semantic checks in
//! `validate.rs`. serde errors carry their own position; semantic ones look
//! theirs up in the position index (`index.rs`).

use std::fmt;

use super::index::{FieldPath, Index, Pos, SyntaxError};
use super::schema;

/// What kind of problem a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The file could not be read (missing, unreadable, not UTF-8).
    Read,
    /// The file is not valid YAML, or not a single mapping.
    Syntax,
    /// A key is unknown, a value has the wrong type or is badly written.
    Schema,
    /// The values are well formed but do not make sense (duplicate names, p50
    /// above p99, a missing required key, ...).
    Invalid,
}

/// One located problem in a config file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", render_one(.file, *.pos, .path, .message, .help))]
pub struct Problem {
    /// The config file, as given.
    pub file: String,
    /// Line and column (1-based) of the offending key or value.
    pub pos: Pos,
    /// The offending field, e.g. `endpoints[1].slo.p99`.
    pub path: FieldPath,
    /// The kind of problem.
    pub kind: ProblemKind,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// Everything wrong with a config file: at least one [`Problem`], in file order.
/// Semantic problems are all collected; a YAML or serde error is one problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", render(.problems))]
pub struct ConfigError {
    /// The problems, sorted by position.
    pub problems: Vec<Problem>,
}

fn render_one(file: &str, pos: Pos, path: &FieldPath, message: &str, help: &str) -> String {
    let line = pos.line;
    let column = pos.column;
    if path.is_root() {
        format!("{file}:{line}:{column}: error at the top level: {message}\n  help: {help}")
    } else {
        format!("{file}:{line}:{column}: error in `{path}`: {message}\n  help: {help}")
    }
}

fn render(problems: &[Problem]) -> String {
    let mut out = problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    if problems.len() > 1 {
        let file = problems.first().map(|p| p.file.as_str()).unwrap_or("");
        out.push_str(&format!("\n{file}: {} problems", problems.len()));
    }
    out
}

impl ConfigError {
    /// An error made of one problem.
    pub(crate) fn one(problem: Problem) -> ConfigError {
        ConfigError {
            problems: vec![problem],
        }
    }
}

/// A leaf value's complaint, as serde's typed "invalid value": what is wrong
/// with the value (`"fast" is not a duration`) and how to fix it (`write a
/// number with a unit, ...`) travel as two fields of the deserializer's error
/// (serde-saphyr's `SerdeInvalidValue`), and the problem is located by its path.
pub(crate) fn leaf_error<E: serde::de::Error>(what: String, help: &str) -> E {
    E::invalid_value(serde::de::Unexpected::Other(&what), &help)
}

/// The valid name nearest to `wrong`, if one is close enough to be a typo.
pub(crate) fn nearest<'a>(wrong: &str, valid: &[&'a str]) -> Option<&'a str> {
    let wrong = wrong.to_lowercase();
    valid
        .iter()
        .map(|v| (strsim::jaro_winkler(&wrong, v), *v))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, v)| v)
}

/// Show names as `` `a`, `b`, `c` ``.
pub(crate) fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "in `load`" or "at the top level".
fn where_in(parent: &FieldPath) -> String {
    if parent.is_root() {
        "at the top level".to_string()
    } else {
        format!("in `{parent}`")
    }
}

/// A problem of the document's shape, with what the search for every problem
/// (`every_problem` in `mod.rs`) needs to know about it.
pub(crate) struct Shape {
    /// The problem.
    pub problem: Problem,
    /// What the search for every problem needs to know about it.
    pub hint: Hint,
}

/// What a shape problem says besides its text.
#[derive(Debug, Default)]
pub(crate) struct Hint {
    /// A required key of this name is missing (in the problem's path).
    pub missing: Option<String>,
    /// The unknown key is probably this key misspelt.
    pub meant: Option<String>,
}

/// Where serde-saphyr says an error is, when it says.
fn location(err: &serde_saphyr::Error) -> Option<Pos> {
    let loc = err.location()?;
    let line = usize::try_from(loc.line()).ok().filter(|l| *l >= 1)?;
    let column = usize::try_from(loc.column()).ok()?.max(1);
    Some(Pos { line, column })
}

/// Turn a serde-saphyr error met while deserializing the raw structs at `path`
/// into a problem.
pub(crate) fn from_serde(
    err: &serde_saphyr::Error,
    mut path: FieldPath,
    index: &Index,
    file: &str,
) -> Shape {
    use serde_saphyr::Error as E;
    let mut pos = location(err).unwrap_or_else(|| index.value(&path));
    let mut hint = Hint::default();
    let (kind, message, help) = match err {
        E::WithSnippet { error, .. } => return from_serde(error, path, index, file),
        E::Message { msg, .. } => (ProblemKind::Schema, msg.clone(), shape_help(&path)),
        // The raw structs have no value serde itself checks: every invalid value
        // is a leaf's complaint (`leaf_error`), what is wrong and how to fix it.
        E::SerdeInvalidValue {
            unexpected: what,
            expected: help,
            ..
        } => {
            if index.contains(&path) {
                pos = index.value(&path);
            }
            (ProblemKind::Schema, what.clone(), help.clone())
        }
        E::SerdeUnknownField {
            field: wrong,
            expected: valid,
            ..
        } => {
            // The path ends in the unknown key itself.
            let parent = path.parent();
            let near = nearest(wrong, valid);
            let message = match near {
                Some(near) => format!(
                    "unknown key `{wrong}` {}; did you mean `{near}`?",
                    where_in(&parent)
                ),
                None => format!("unknown key `{wrong}` {}", where_in(&parent)),
            };
            hint.meant = near.map(str::to_string);
            let help = if valid.is_empty() {
                format!("remove `{wrong}`")
            } else {
                format!("the keys {} are {}", where_in(&parent), list(valid))
            };
            pos = index.key(&path);
            (ProblemKind::Schema, message, help)
        }
        E::SerdeUnknownVariant {
            variant: wrong,
            expected: valid,
            ..
        } => {
            let message = match nearest(wrong, valid) {
                Some(near) => format!("unknown value `{wrong}`; did you mean `{near}`?"),
                None => format!("unknown value `{wrong}`"),
            };
            let help = format!("write one of {}", list(valid));
            (ProblemKind::Schema, message, help)
        }
        E::DuplicateMappingKey { key, .. } => {
            let key = key.clone().unwrap_or_default();
            let key_path = path.key(&key);
            if let Some(at) = index.duplicate(&key_path) {
                pos = at;
            }
            path = key_path;
            (
                ProblemKind::Schema,
                format!("`{key}` is given twice"),
                "keep one of the two".to_string(),
            )
        }
        E::Unexpected { expected, .. } => {
            let expected = match *expected {
                "sequence start" => "a list",
                "mapping start" => "a mapping",
                "string scalar" => "a string",
                other => other,
            };
            wrong_type(expected, &mut pos, &path, index)
        }
        E::InvalidBooleanStrict { .. } => wrong_type("a boolean", &mut pos, &path, index),
        E::InvalidScalar { ty, .. } => wrong_type(ty, &mut pos, &path, index),
        E::ExternallyTaggedEnumExpectedScalarOrMapping { .. } => {
            wrong_type("one of its values", &mut pos, &path, index)
        }
        E::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => {
            if index.contains(&path) {
                pos = index.value(&path);
            }
            let found = match unexpected.as_str() {
                "unit value" => "nothing (null)",
                "map" => "a mapping",
                "sequence" => "a list",
                other => other,
            };
            let expected = match expected.as_str() {
                "a sequence" => "a list",
                other => other,
            };
            let expected = expected.replace("field identifier", "a key name");
            let message = format!("expected {expected}, found {found}");
            (ProblemKind::Schema, message, shape_help(&path))
        }
        E::SerdeMissingField { field, .. } => {
            hint.missing = Some(field.to_string());
            (
                ProblemKind::Schema,
                format!("missing field `{field}`"),
                shape_help(&path),
            )
        }
        E::Budget { .. } | E::AliasReplayStackDepthExceeded { .. } => (
            ProblemKind::Syntax,
            "the document nests too deeply".to_string(),
            "a tailgate config is a few levels deep; see examples/tailgate.yml".to_string(),
        ),
        other => (
            ProblemKind::Schema,
            without_location(other),
            shape_help(&path),
        ),
    };
    Shape {
        problem: Problem {
            file: file.to_string(),
            pos,
            path,
            kind,
            message,
            help,
        },
        hint,
    }
}

/// A value of the wrong type at `path`: what was expected, what the file has
/// there (from the index), and where.
fn wrong_type(
    expected: &str,
    pos: &mut Pos,
    path: &FieldPath,
    index: &Index,
) -> (ProblemKind, String, String) {
    let message = match index.node(path) {
        Some(node) => {
            *pos = index.value(path);
            format!("expected {expected}, found {}", node.found())
        }
        None => format!("expected {expected}"),
    };
    (ProblemKind::Schema, message, shape_help(path))
}

/// An error's own text, without a position (the problem has it): serde-saphyr's
/// message for its typed error, control characters escaped.
fn without_location(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    serde_saphyr::DefaultMessageFormatter
        .format_message(err)
        .escape_debug()
        .to_string()
}

/// Help for a value of the wrong shape at `path`: its example, if it has one.
pub(crate) fn shape_help(path: &FieldPath) -> String {
    match schema::example(path) {
        Some(example) => format!("write it like `{example}`"),
        None => "see examples/tailgate.yml for the expected shape".to_string(),
    }
}

/// Turn a YAML syntax error (from the parser, in [`Index::build`]) into a problem.
pub(crate) fn from_syntax(err: &SyntaxError, text: &str, index: &Index, file: &str) -> Problem {
    use serde_saphyr::granit_parser::ErrorKind as K;
    let mut pos = err.pos;
    if is_tab(&err.kind) {
        // The parser stops after the tab; point at the tab itself.
        if let Some(at) = first_tab(text, pos) {
            pos = at;
        }
    }
    let (path, message, help) = match &err.kind {
        K::UnclosedQuotedScalar => (
            None,
            "this quoted value is never closed".to_string(),
            "close the quote on the same value, or use a block scalar (`|`) for long text"
                .to_string(),
        ),
        _ if char_at(text, pos) == Some('\t') || is_tab(&err.kind) => (
            None,
            "a tab is used for indentation".to_string(),
            "indent with spaces; YAML does not allow tabs".to_string(),
        ),
        K::RecursionLimitExceeded => (
            Some(FieldPath::root()),
            "the document nests too deeply".to_string(),
            "a tailgate config is a few levels deep; see examples/tailgate.yml".to_string(),
        ),
        K::UnknownAnchor => (
            None,
            "an alias (`*name`) refers to an anchor that is not defined".to_string(),
            "define the anchor with `&name` before using `*name`".to_string(),
        ),
        K::InputDecoding { .. } | K::BomInsideDocument => (
            None,
            format!("invalid YAML: {}", err.info),
            "save the file as plain UTF-8 text without control characters".to_string(),
        ),
        _ => (
            None,
            format!("invalid YAML: {}", err.info),
            "check the indentation and the quoting on this line and the line above".to_string(),
        ),
    };
    Problem {
        file: file.to_string(),
        pos,
        path: path.unwrap_or_else(|| index.key_before(pos)),
        kind: ProblemKind::Syntax,
        message,
        help,
    }
}

/// The first tab on `pos`'s line at or before it.
fn first_tab(text: &str, pos: Pos) -> Option<Pos> {
    let line = text.lines().nth(pos.line.checked_sub(1)?)?;
    let column = line.chars().take(pos.column).position(|c| c == '\t')? + 1;
    Some(Pos {
        line: pos.line,
        column,
    })
}

/// Whether the parser stopped at a tab.
fn is_tab(kind: &serde_saphyr::granit_parser::ErrorKind) -> bool {
    use serde_saphyr::granit_parser::ErrorKind as K;
    matches!(
        kind,
        K::TabNotAllowed
            | K::TabInBlockIndentation
            | K::TabInIndentation
            | K::TabAtBlockScalarStart
    )
}

/// The character at a 1-based position, if there is one.
fn char_at(text: &str, pos: Pos) -> Option<char> {
    text.lines()
        .nth(pos.line.checked_sub(1)?)?
        .chars()
        .nth(pos.column.checked_sub(1)?)
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProblemKind::Read => "read",
            ProblemKind::Syntax => "syntax",
            ProblemKind::Schema => "schema",
            ProblemKind::Invalid => "invalid",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_complaint_arrives_as_two_fields() {
        let err = serde_saphyr::from_str::<super::super::raw::RawDuration>("fast")
            .expect_err("not a duration");
        match err {
            serde_saphyr::Error::SerdeInvalidValue {
                unexpected,
                expected,
                ..
            } => {
                assert!(unexpected.contains("is not a duration"), "{unexpected}");
                assert!(expected.contains("500ms"), "{expected}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_error_in_serde_saphyrs_words_is_shown_without_its_position() {
        let err = serde_saphyr::from_str::<u16>("\n  eighty").expect_err("not a number");
        assert!(err.to_string().contains('2'), "{err}");
        let shown = without_location(&err);
        assert!(!shown.is_empty() && !shown.contains("line"), "{shown}");
    }

    #[test]
    fn suggestions_need_to_be_close() {
        let keys = ["connections", "duration", "requests", "warmup", "timeout"];
        assert_eq!(nearest("conections", &keys), Some("connections"));
        assert_eq!(nearest("Duration", &keys), Some("duration"));
        assert_eq!(nearest("timout", &keys), Some("timeout"));
        assert_eq!(nearest("zzz", &keys), None);
    }

    #[test]
    fn a_problem_renders_on_two_lines() {
        let problem = Problem {
            file: "tailgate.yml".to_string(),
            pos: Pos {
                line: 14,
                column: 12,
            },
            path: FieldPath::root()
                .key("endpoints")
                .index(1)
                .key("slo")
                .key("p99"),
            kind: ProblemKind::Schema,
            message: "\"fast\" is not a duration".to_string(),
            help: "write a number with a unit, e.g. `500ms` or `2s`".to_string(),
        };
        assert_eq!(
            problem.to_string(),
            "tailgate.yml:14:12: error in `endpoints[1].slo.p99`: \"fast\" is not a duration\n  help: write a number with a unit, e.g. `500ms` or `2s`"
        );
    }
}
