//! The collector of a config's problems: each check that fails records a located
//! [`Problem`] (the position comes from the [`Index`] by field path) and the
//! conversion goes on, so one run reports everything.

use std::time::Duration;

use super::error::{shape_help, Problem, ProblemKind};
use super::index::{FieldPath, Index};
use super::schema;

/// Collects located problems while the conversion goes on.
pub(crate) struct Checker<'a> {
    index: &'a Index,
    file: &'a str,
    problems: Vec<Problem>,
}

impl<'a> Checker<'a> {
    /// A checker of `file`, locating problems with `index`.
    pub(super) fn new(index: &'a Index, file: &'a str) -> Self {
        Checker {
            index,
            file,
            problems: Vec::new(),
        }
    }

    /// A problem with the value at `path`.
    pub fn value(&mut self, path: &FieldPath, message: impl Into<String>, help: impl Into<String>) {
        let pos = self.index.value(path);
        self.push(pos, path, message.into(), help.into());
    }

    /// A problem with the key at `path` (its name, or its presence).
    pub fn key(&mut self, path: &FieldPath, message: impl Into<String>, help: impl Into<String>) {
        let pos = self.index.key(path);
        self.push(pos, path, message.into(), help.into());
    }

    /// A required key is missing; located at its parent.
    pub fn missing(&mut self, path: &FieldPath) {
        let key = path.last_key().unwrap_or("");
        let parent = path.parent();
        let message = if parent.is_root() {
            format!("missing key `{key}` at the top level")
        } else {
            format!("missing key `{key}` in `{parent}`")
        };
        let help = match schema::example(path) {
            Some(example) => format!("add `{example}`"),
            None => format!("add `{key}:`"),
        };
        let pos = self.index.value(&parent);
        self.push(pos, path, message, help);
    }

    /// Where the key of `path` is written (for "which of two keys comes second").
    pub fn key_pos(&self, path: &FieldPath) -> super::index::Pos {
        self.index.key(path)
    }

    /// Whether the file has `path` (written, possibly as `~`).
    pub fn written(&self, path: &FieldPath) -> bool {
        self.index.contains(path)
    }

    /// The problems found, in the order they were found.
    pub(super) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// Records a problem, unless the field has one already: the first is the
    /// one to fix, and what follows from it (a `${VAR}` left unset, then read as
    /// a URL) would only say it twice.
    fn push(&mut self, pos: super::index::Pos, path: &FieldPath, message: String, help: String) {
        if self.problems.iter().any(|p| p.path == *path) {
            return;
        }
        self.problems.push(Problem {
            file: self.file.to_string(),
            pos,
            path: path.clone(),
            kind: ProblemKind::Invalid,
            message,
            help,
        });
    }
}

/// Record a problem unless `d` is more than zero.
pub(crate) fn positive(d: Duration, path: &FieldPath, check: &mut Checker) {
    if d.is_zero() {
        check.value(path, "must be more than 0s", shape_help(path));
    }
}

/// Narrow a whole number to `min..=max`, recording a problem if it is outside.
pub(crate) fn in_range(
    value: u64,
    min: u64,
    max: u64,
    path: &FieldPath,
    check: &mut Checker,
) -> Option<u32> {
    let key = path.last_key().unwrap_or("the value");
    if value < min {
        check.value(
            path,
            format!("`{key}` is {value}; it must be at least {min}"),
            shape_help(path),
        );
        None
    } else if value > max {
        check.value(
            path,
            format!("`{key}` is {value}; it can be at most {max}"),
            shape_help(path),
        );
        None
    } else {
        u32::try_from(value).ok()
    }
}
