//! Config errors that point at the line: every problem has the file, the line and
//! column, the field path, what is wrong, and how to fix it.
//!
//! ```text
//! tailgate.yml:14:12: error in `endpoints[1].slo.p99`: "fast" is not a duration
//!   help: write a number with a unit, e.g. `500ms` or `2s`
//! ```
//!
//! Problems come from four places: reading the file, YAML syntax (libyaml via
//! serde_yaml), the shape of the document (serde: wrong type, unknown key, a
//! badly written value) and the semantic checks in `validate.rs`. serde errors
//! carry their own position; semantic ones look theirs up in the position
//! index (`index.rs`).

use std::fmt;

use super::index::{FieldPath, Index, Pos};
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

/// Start and end of a leaf complaint inside a serde error message.
const START: char = '\u{1e}';
/// Separates the complaint's "what" from its "help".
const SEP: char = '\u{1f}';

/// A serde error from a leaf value's `Deserialize`, carrying what is wrong and
/// the help line through serde_yaml (which adds the position).
pub(crate) fn leaf_error<E: serde::de::Error>(what: String, help: &str) -> E {
    E::custom(format!("{START}{what}{SEP}{help}{START}"))
}

/// Take a leaf complaint back out of a serde_yaml error message.
fn decode_leaf(message: &str) -> Option<(String, String)> {
    let end = message.rfind(START)?;
    let body = message.get(..end)?;
    let start = body.rfind(START)?;
    let body = body.get(start + START.len_utf8()..)?;
    let (what, help) = body.split_once(SEP)?;
    Some((what.to_string(), help.to_string()))
}

/// Remove serde_yaml's `path: ` prefix and ` at line L column C` suffix.
fn bare_message(err: &serde_yaml::Error) -> String {
    let mut text = err.to_string();
    if let Some(loc) = err.location() {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(stripped) = text.strip_suffix(&suffix) {
            text = stripped.to_string();
        }
    }
    const MARKERS: &[&str] = &[
        "unknown field `",
        "unknown variant `",
        "duplicate field `",
        "missing field `",
        "invalid type: ",
        "invalid value: ",
        "invalid length ",
    ];
    MARKERS
        .iter()
        .filter_map(|m| text.find(m))
        .min()
        .and_then(|at| text.get(at..))
        .map(str::to_string)
        .unwrap_or(text)
}

/// The names between backticks in a serde message, in order.
pub(crate) fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
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

/// Turn a serde_yaml error met while deserializing the raw structs into a problem.
pub(crate) fn from_serde(
    err: serde_path_to_error::Error<serde_yaml::Error>,
    index: &Index,
    file: &str,
) -> Problem {
    let mut path = FieldPath::root();
    for segment in err.path().iter() {
        path = match segment {
            serde_path_to_error::Segment::Seq { index } => path.index(*index),
            serde_path_to_error::Segment::Map { key } => path.key(key),
            serde_path_to_error::Segment::Enum { variant } => path.key(variant),
            serde_path_to_error::Segment::Unknown => break,
        };
    }
    let inner = err.inner();
    let mut pos = inner
        .location()
        .map(|l| Pos {
            line: l.line().max(1),
            column: l.column().max(1),
        })
        .unwrap_or_else(|| index.value(&path));
    let text = bare_message(inner);
    let names = backticked(&text);
    let (kind, message, help) = if let Some((what, help)) = decode_leaf(&text) {
        // A complaint about one value: where the index has that value, use it
        // (serde_yaml marks a `null` list item at the start of its list).
        if index.contains(&path) {
            pos = index.value(&path);
        }
        (ProblemKind::Schema, what, help)
    } else if text.starts_with("unknown field `") {
        let wrong = names.first().copied().unwrap_or("");
        let valid: Vec<&str> = names.get(1..).unwrap_or(&[]).to_vec();
        // The path ends in the unknown key itself.
        let parent = path.parent();
        let message = match nearest(wrong, &valid) {
            Some(near) => format!(
                "unknown key `{wrong}` {}; did you mean `{near}`?",
                where_in(&parent)
            ),
            None => format!("unknown key `{wrong}` {}", where_in(&parent)),
        };
        let help = if valid.is_empty() {
            format!("remove `{wrong}`")
        } else {
            format!("the keys {} are {}", where_in(&parent), list(&valid))
        };
        (ProblemKind::Schema, message, help)
    } else if text.starts_with("unknown variant `") {
        let wrong = names.first().copied().unwrap_or("");
        let valid: Vec<&str> = names.get(1..).unwrap_or(&[]).to_vec();
        let message = match nearest(wrong, &valid) {
            Some(near) => format!("unknown value `{wrong}`; did you mean `{near}`?"),
            None => format!("unknown value `{wrong}`"),
        };
        let help = format!("write one of {}", list(&valid));
        (ProblemKind::Schema, message, help)
    } else if text.starts_with("duplicate field `") {
        let key = names.first().copied().unwrap_or("");
        let key_path = path.key(key);
        if let Some(at) = index.duplicate(&key_path) {
            pos = at;
        }
        path = key_path;
        (
            ProblemKind::Schema,
            format!("`{key}` is given twice"),
            "keep one of the two".to_string(),
        )
    } else if let Some(rest) = text.strip_prefix("invalid type: ") {
        let (found, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another type"));
        let found = match found {
            "unit value" => "nothing (null)",
            "map" => "a mapping",
            "sequence" => "a list",
            other => other,
        };
        let expected = match expected {
            "a sequence" => "a list",
            other => other,
        };
        let expected = expected.replace("field identifier", "a key name");
        let message = format!("expected {expected}, found {found}");
        (ProblemKind::Schema, message, shape_help(&path))
    } else if text.contains("recursion limit exceeded") {
        (
            ProblemKind::Syntax,
            "the document nests too deeply".to_string(),
            "a tailgate config is a few levels deep; see examples/tailgate.yml".to_string(),
        )
    } else {
        (ProblemKind::Schema, text, shape_help(&path))
    };
    Problem {
        file: file.to_string(),
        pos,
        path,
        kind,
        message,
        help,
    }
}

/// Help for a value of the wrong shape at `path`: its example, if it has one.
pub(crate) fn shape_help(path: &FieldPath) -> String {
    match schema::example(path) {
        Some(example) => format!("write it like `{example}`"),
        None => "see examples/tailgate.yml for the expected shape".to_string(),
    }
}

/// Turn a YAML syntax error (from a parse into `serde_yaml::Value`) into a problem.
pub(crate) fn from_syntax(
    err: &serde_yaml::Error,
    text: &str,
    index: &Index,
    file: &str,
) -> Problem {
    let shown = err.to_string();
    let mut pos = err
        .location()
        .map(|l| Pos {
            line: l.line().max(1),
            column: l.column().max(1),
        })
        .unwrap_or(Pos::START);
    // libyaml writes "problem at line L column C, context at line L column C",
    // or, for bad characters, "problem at position N" (a byte offset).
    let marks = line_columns(&shown);
    if let Some(at) = byte_offset(&shown).and_then(|offset| pos_of_offset(text, offset)) {
        pos = at;
    }
    let mut message = strip_marks(&shown);
    let help;
    let mut path = None;
    if shown.contains("more than one document") {
        path = Some(FieldPath::root());
        pos = index.documents.get(1).copied().unwrap_or(pos);
        message = "the file has more than one YAML document".to_string();
        help = "keep one document: remove this `---` and what follows, or move it into the first"
            .to_string();
    } else if shown.contains("end of stream") && shown.contains("quoted scalar") {
        if let Some(start) = marks.get(1) {
            pos = *start;
        }
        message = "this quoted value is never closed".to_string();
        help = "close the quote on the same value, or use a block scalar (`|`) for long text"
            .to_string();
    } else if char_at(text, pos) == Some('\t') {
        message = "a tab is used for indentation".to_string();
        help = "indent with spaces; YAML does not allow tabs".to_string();
    } else if shown.contains("recursion limit") {
        path = Some(FieldPath::root());
        message = "the document nests too deeply".to_string();
        help = "a tailgate config is a few levels deep; see examples/tailgate.yml".to_string();
    } else if shown.contains("unknown anchor") {
        message = "an alias (`*name`) refers to an anchor that is not defined".to_string();
        help = "define the anchor with `&name` before using `*name`".to_string();
    } else if shown.contains("control characters") || shown.contains("UTF-8") {
        message = format!("invalid YAML: {message}");
        help = "save the file as plain UTF-8 text without control characters".to_string();
    } else {
        message = format!("invalid YAML: {message}");
        help = "check the indentation and the quoting on this line and the line above".to_string();
    }
    Problem {
        file: file.to_string(),
        pos,
        path: path.unwrap_or_else(|| index.key_before(pos)),
        kind: ProblemKind::Syntax,
        message,
        help,
    }
}

/// The `line L column C` marks in a message, in order.
fn line_columns(text: &str) -> Vec<Pos> {
    let mut marks = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("line ") {
        rest = rest.get(at + 5..).unwrap_or("");
        let mut words = rest.split_whitespace();
        let line = words.next().and_then(|w| w.parse::<usize>().ok());
        let column = match (words.next(), words.next()) {
            (Some("column"), Some(c)) => c.trim_end_matches(',').parse::<usize>().ok(),
            _ => None,
        };
        if let (Some(line), Some(column)) = (line, column) {
            marks.push(Pos { line, column });
        }
    }
    marks
}

/// `"found x at line 3 column 1, while y at line 2 column 1"` -> `"found x, while y"`.
fn strip_marks(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split(", ").enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let part = part.split(" at line ").next().unwrap_or(part);
        out.push_str(part.split(" at position ").next().unwrap_or(part));
    }
    out
}

/// The `N` of `at position N` in a libyaml message.
fn byte_offset(text: &str) -> Option<usize> {
    let (_, rest) = text.split_once(" at position ")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Line and column (1-based, in characters) of a byte offset into `text`.
fn pos_of_offset(text: &str, offset: usize) -> Option<Pos> {
    let before = text.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some(Pos { line, column })
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
    fn leaf_complaints_survive_serde_yaml_decoration() {
        let err: serde_yaml::Error = leaf_error("\"x\" is bad".to_string(), "write y");
        let decorated = format!("load.duration: {err} at line 3 column 4");
        assert_eq!(
            decode_leaf(&decorated),
            Some(("\"x\" is bad".to_string(), "write y".to_string()))
        );
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
    fn libyaml_marks_are_read_and_stripped() {
        let text = "found unexpected end of stream at line 5 column 1, while scanning a quoted scalar at line 3 column 9";
        assert_eq!(
            line_columns(text),
            vec![Pos { line: 5, column: 1 }, Pos { line: 3, column: 9 }]
        );
        assert_eq!(
            strip_marks(text),
            "found unexpected end of stream, while scanning a quoted scalar"
        );
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
