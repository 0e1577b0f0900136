//! Where each field of the file is: a map from field path (`endpoints[1].slo.p99`)
//! to the line and column of its key and of its value.
//!
//! serde's errors carry their own position; the semantic checks in `validate.rs`
//! run on plain values and look their position up here. The index is built from
//! the yaml-rust2 event stream with an explicit stack (no recursion, so deep
//! nesting cannot overflow the stack). On a YAML error it keeps what it saw
//! before the error, and a lookup of a path it does not know falls back to the
//! nearest ancestor it does know, so every lookup returns a position.

use std::collections::HashMap;
use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A position in the file, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Pos {
    /// The start of the file.
    pub const START: Pos = Pos { line: 1, column: 1 };

    fn from_marker(m: Marker) -> Pos {
        Pos {
            line: m.line().max(1),
            column: m.col() + 1,
        }
    }
}

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A key of a mapping.
    Key(String),
    /// An item of a list, from 0.
    Index(usize),
}

/// The path of a field, shown as `endpoints[1].slo.p99`; keys that are not plain
/// words are quoted (`defaults.slo."p99.9"`). The empty path is the top level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The top level of the file.
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// This path with a key appended.
    pub fn key(&self, key: &str) -> FieldPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_string()));
        FieldPath(segments)
    }

    /// This path with a list index appended.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        FieldPath(segments)
    }

    /// The path one step up (the top level stays the top level).
    pub fn parent(&self) -> FieldPath {
        let mut segments = self.0.clone();
        segments.pop();
        FieldPath(segments)
    }

    /// The last key of the path, if it ends in a key.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// Whether this is the top level.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let plain = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if plain {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// What the top-level node of the (first) document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RootKind {
    Mapping,
    Sequence,
    Scalar,
    Alias,
}

/// Positions of keys and values by field path.
#[derive(Debug, Default)]
pub(crate) struct Index {
    values: HashMap<FieldPath, Pos>,
    keys: HashMap<FieldPath, Pos>,
    /// The second and later occurrences of a key in one mapping.
    duplicates: HashMap<FieldPath, Pos>,
    /// Every key position in file order, for "the field before this point".
    key_order: Vec<(Pos, FieldPath)>,
    /// Where each document starts.
    pub documents: Vec<Pos>,
    /// The kind of the first document's top-level node.
    pub root: Option<(RootKind, Pos)>,
}

/// Stop indexing after this many events: a config has a few hundred.
const MAX_EVENTS: usize = 1_000_000;

impl Index {
    /// Index `text`. Never fails: on a YAML error the index holds what came before.
    pub fn build(text: &str) -> Index {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        for _ in 0..MAX_EVENTS {
            match parser.next_token() {
                Ok((Event::StreamEnd, _)) | Err(_) => break,
                Ok((event, mark)) => builder.on_event(event, mark),
            }
        }
        builder.index
    }

    /// Where the value of `path` starts (or of its nearest known ancestor).
    pub fn value(&self, path: &FieldPath) -> Pos {
        let mut path = path.clone();
        loop {
            if let Some(pos) = self.values.get(&path) {
                return *pos;
            }
            if path.is_root() {
                return Pos::START;
            }
            path = path.parent();
        }
    }

    /// Where the key of `path` is; for list items and unknown paths, the value.
    pub fn key(&self, path: &FieldPath) -> Pos {
        self.keys
            .get(path)
            .copied()
            .unwrap_or_else(|| self.value(path))
    }

    /// Whether the file has this exact path.
    pub fn contains(&self, path: &FieldPath) -> bool {
        self.values.contains_key(path)
    }

    /// Where `path`'s key occurs a second time in its mapping, if it does.
    pub fn duplicate(&self, path: &FieldPath) -> Option<Pos> {
        self.duplicates.get(path).copied()
    }

    /// The last key that starts at or before `pos` (for YAML syntax errors).
    pub fn key_before(&self, pos: Pos) -> FieldPath {
        self.key_order
            .iter()
            .rev()
            .find(|(at, _)| *at <= pos)
            .map(|(_, path)| path.clone())
            .unwrap_or_default()
    }

    fn insert_key(&mut self, path: &FieldPath, pos: Pos) {
        if self.keys.contains_key(path) {
            self.duplicates.entry(path.clone()).or_insert(pos);
        } else {
            self.keys.insert(path.clone(), pos);
        }
        self.key_order.push((pos, path.clone()));
    }
}

/// One open mapping or list. `path` is `None` inside something that has no
/// field path (a mapping used as a key) or after the first document.
#[derive(Debug)]
enum Frame {
    Map {
        path: Option<FieldPath>,
        /// `None` while waiting for a key; `Some(key path)` while waiting for its value.
        pending: Option<Option<FieldPath>>,
        /// No key seen yet: a block mapping's start event is marked at its first
        /// `:`, so the first key's position becomes the mapping's.
        first: bool,
    },
    Seq {
        path: Option<FieldPath>,
        next: usize,
    },
}

#[derive(Debug, Default)]
struct Builder {
    index: Index,
    stack: Vec<Frame>,
}

impl Builder {
    /// A node starts at `pos`: decide its path, record it, and say whether it is a key.
    fn node(&mut self, pos: Pos, kind: RootKind, key_text: Option<&str>) -> NodeRole {
        let in_first_doc = self.index.documents.len() <= 1;
        match self.stack.last_mut() {
            None => {
                if in_first_doc && self.index.root.is_none() {
                    self.index.root = Some((kind, pos));
                    self.index.values.insert(FieldPath::root(), pos);
                    return NodeRole::Value(Some(FieldPath::root()));
                }
                NodeRole::Value(None)
            }
            Some(Frame::Seq { path, next }) => {
                let item = path.as_ref().map(|p| p.index(*next));
                *next += 1;
                if let Some(item) = &item {
                    self.index.values.insert(item.clone(), pos);
                }
                NodeRole::Value(item)
            }
            Some(Frame::Map {
                path,
                pending,
                first,
            }) => match pending.take() {
                None => {
                    if std::mem::take(first) {
                        if let Some(map_path) = path.as_ref() {
                            if let Some(at) = self.index.values.get_mut(map_path) {
                                *at = (*at).min(pos);
                            }
                            if map_path.is_root() {
                                if let Some((_, at)) = self.index.root.as_mut() {
                                    *at = (*at).min(pos);
                                }
                            }
                        }
                    }
                    // This node is a key. Only scalar keys name a field.
                    let key_path = match (path.as_ref(), key_text) {
                        (Some(p), Some(k)) => Some(p.key(canonical_key(k))),
                        _ => None,
                    };
                    *pending = Some(key_path.clone());
                    if let Some(kp) = &key_path {
                        self.index.insert_key(kp, pos);
                    }
                    NodeRole::Key
                }
                Some(key_path) => {
                    if let Some(kp) = &key_path {
                        self.index.values.entry(kp.clone()).or_insert(pos);
                    }
                    NodeRole::Value(key_path)
                }
            },
        }
    }
}

/// Whether a node is a mapping key or a value with this path.
enum NodeRole {
    Key,
    Value(Option<FieldPath>),
}

/// `p999` and `p99.9` are the same key; the index uses `p99.9`.
fn canonical_key(key: &str) -> &str {
    if key == "p999" {
        "p99.9"
    } else {
        key
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let pos = Pos::from_marker(mark);
        match event {
            Event::DocumentStart => self.index.documents.push(pos),
            Event::Scalar(text, ..) => {
                self.node(pos, RootKind::Scalar, Some(&text));
            }
            Event::Alias(_) => {
                self.node(pos, RootKind::Alias, None);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                let kind = if is_map {
                    RootKind::Mapping
                } else {
                    RootKind::Sequence
                };
                let path = match self.node(pos, kind, None) {
                    NodeRole::Key => None,
                    NodeRole::Value(path) => path,
                };
                self.stack.push(if is_map {
                    Frame::Map {
                        path,
                        pending: None,
                        first: true,
                    }
                } else {
                    Frame::Seq { path, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &[&str]) -> FieldPath {
        FieldPath(
            s.iter()
                .map(|p| match p.parse::<usize>() {
                    Ok(n) => Segment::Index(n),
                    Err(_) => Segment::Key(p.to_string()),
                })
                .collect(),
        )
    }

    fn at(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn keys_values_and_items() {
        let text = "mode: advisory\nendpoints:\n  - name: a\n    slo: { p99: 5ms }\n  - path: /x\n";
        let index = Index::build(text);
        assert_eq!(index.key(&path(&["mode"])), at(1, 1));
        assert_eq!(index.value(&path(&["mode"])), at(1, 7));
        assert_eq!(index.value(&path(&["endpoints", "0"])), at(3, 5));
        assert_eq!(index.value(&path(&["endpoints", "0", "name"])), at(3, 11));
        assert_eq!(
            index.value(&path(&["endpoints", "0", "slo", "p99"])),
            at(4, 17)
        );
        assert_eq!(index.key(&path(&["endpoints", "1", "path"])), at(5, 5));
        assert_eq!(index.root.map(|r| r.0), Some(RootKind::Mapping));
    }

    #[test]
    fn unknown_paths_fall_back_to_the_nearest_ancestor() {
        let index = Index::build("load:\n  connections: 5\n");
        assert_eq!(index.value(&path(&["load", "duration"])), at(2, 3));
        assert_eq!(index.value(&path(&["nothing", "here"])), at(1, 1));
    }

    #[test]
    fn p999_is_indexed_as_p99_9_and_duplicates_are_kept() {
        let index = Index::build("slo:\n  p999: 1s\n  p50: 1ms\n  p50: 2ms\n");
        assert_eq!(index.value(&path(&["slo", "p99.9"])), at(2, 9));
        assert_eq!(index.duplicate(&path(&["slo", "p50"])), Some(at(4, 3)));
    }

    #[test]
    fn broken_yaml_keeps_what_came_before() {
        let index = Index::build("load:\n  connections: 5\n\tduration: 1s\n");
        assert_eq!(index.key(&path(&["load", "connections"])), at(2, 3));
        assert_eq!(index.key_before(at(3, 1)), path(&["load", "connections"]));
    }

    #[test]
    fn documents_are_counted() {
        let index = Index::build("a: 1\n---\nb: 2\n");
        assert_eq!(index.documents.len(), 2);
        assert_eq!(index.documents.get(1), Some(&at(2, 1)));
    }

    #[test]
    fn paths_display_like_code() {
        assert_eq!(
            path(&["endpoints", "1", "slo", "p99"]).to_string(),
            "endpoints[1].slo.p99"
        );
        assert_eq!(
            path(&["defaults", "slo", "p99.9"]).to_string(),
            "defaults.slo.\"p99.9\""
        );
        assert_eq!(FieldPath::root().to_string(), "(top level)");
    }
}
