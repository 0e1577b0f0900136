//! Where each field of the file is: a map from field path (`endpoints[1].slo.p99`)
//! to the line and column of its key and of its value, what the value is (for
//! "expected a list, found string \"x\""), and the byte range of each entry (so
//! a bad entry can be blanked out and the rest read again, every position kept:
//! [`Index::blank`]).
//!
//! serde's errors carry their own position, and their field path; the semantic
//! checks in `validate.rs` run on plain values and look their position up here. The index is built from
//! the event stream of granit-parser (the parser under serde-saphyr, so the file is
//! read by one YAML implementation) with an explicit stack (no recursion, so deep
//! nesting cannot overflow the stack). On a YAML error it keeps what it saw
//! before the error and the error itself ([`Index::syntax`]), and a lookup of a
//! path it does not know falls back to the nearest ancestor it does know, so
//! every lookup returns a position.

use std::collections::HashMap;
use std::fmt;

use serde_saphyr::granit_parser::{
    ErrorKind, Event, Marker, Parser, ScalarStyle, ScanError, Span, StructureStyle,
};

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

    pub(crate) fn from_marker(m: &Marker) -> Pos {
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
    /// Whether the first document's top-level node is a plain null scalar
    /// (`~`, `null` or nothing at all).
    pub root_is_null: bool,
    /// The YAML syntax error that stopped the parser, if one did.
    pub syntax: Option<SyntaxError>,
    /// Byte range from each key to the end of its value, and whether the mapping
    /// is written in flow style (`{ a: 1, b: 2 }`): what [`Index::blank`] removes.
    entries: HashMap<FieldPath, (usize, usize, bool)>,
    /// What each value is, for "found ..." in a problem.
    nodes: HashMap<FieldPath, Node>,
}

/// What a value is: a mapping, a list, an alias or a scalar with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// A mapping.
    Mapping,
    /// A list.
    Sequence,
    /// An alias (`*name`).
    Alias,
    /// A scalar: its text, and whether it is plain (unquoted, untagged), so
    /// that YAML reads it as null, a boolean or a number when it looks like one.
    Scalar { text: String, plain: bool },
}

impl Node {
    /// The value as a problem names it: `a list`, `string "x"`, `integer `5``
    /// (serde's words for a value of the wrong type).
    pub fn found(&self) -> String {
        match self {
            Node::Mapping => "a mapping".to_string(),
            Node::Sequence => "a list".to_string(),
            Node::Alias => "an alias".to_string(),
            Node::Scalar { text, plain: false } => format!("string {text:?}"),
            Node::Scalar { text, plain: true } => {
                let t = text.as_str();
                if matches!(t, "" | "~" | "null" | "Null" | "NULL") {
                    "nothing (null)".to_string()
                } else if matches!(t, "true" | "True" | "TRUE" | "false" | "False" | "FALSE") {
                    format!("boolean `{}`", t.eq_ignore_ascii_case("true"))
                } else if let Ok(n) = t.parse::<i64>() {
                    format!("integer `{n}`")
                } else if let Ok(n) = t.parse::<u64>() {
                    format!("integer `{n}`")
                } else if t.chars().any(|c| c.is_ascii_digit())
                    && t.parse::<f64>().is_ok_and(f64::is_finite)
                {
                    format!("floating point `{}`", t.parse::<f64>().unwrap_or_default())
                } else {
                    format!("string {t:?}")
                }
            }
        }
    }
}

/// A YAML syntax error: where the parser stopped and what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// What the parser found wrong.
    pub kind: ErrorKind,
    /// The parser's description of it.
    pub info: String,
}

impl SyntaxError {
    fn from_scan(e: &ScanError) -> SyntaxError {
        SyntaxError {
            pos: Pos::from_marker(e.marker()),
            kind: e.kind().clone(),
            info: e.info(),
        }
    }
}

/// Stop indexing after this many events: a config has a few hundred.
const MAX_EVENTS: usize = 1_000_000;

impl Index {
    /// Index `text`. Never fails: on a YAML error the index holds what came before.
    pub fn build(text: &str) -> Index {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        for _ in 0..MAX_EVENTS {
            match parser.next_event() {
                None | Some(Ok((Event::StreamEnd, _))) => break,
                Some(Err(e)) => {
                    builder.index.syntax = Some(SyntaxError::from_scan(&e));
                    break;
                }
                Some(Ok((event, span))) => builder.on_event(event, &span),
            }
        }
        builder.index
    }

    /// What the value at `path` is, if the file has it.
    pub fn node(&self, path: &FieldPath) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// `text` with the key at `path` and its value overwritten by spaces (line
    /// breaks kept, and the comma after it in a flow mapping), so the rest reads as
    /// before and every position stays where it was. A block mapping whose keys
    /// are all `removed` now becomes `{}`, an empty mapping, as it would in a
    /// tree. `None` when the index does not know the key.
    pub fn blank(&self, text: &str, path: &FieldPath, removed: &[FieldPath]) -> Option<String> {
        let &(start, end, flow) = self.entries.get(path)?;
        let parent = path.parent();
        let emptied = !flow
            && self
                .entries
                .keys()
                .all(|k| k == path || k.parent() != parent || removed.contains(k));
        let mut end = end.min(text.len());
        if flow {
            let rest = text.get(end..)?;
            let gap = rest.len() - rest.trim_start().len();
            if rest.get(gap..)?.starts_with(',') {
                end += gap + 1;
            }
        }
        let mut spaces: String = text
            .get(start..end)?
            .chars()
            .map(|c| if c == '\n' || c == '\r' { c } else { ' ' })
            .collect();
        if emptied {
            spaces.replace_range(..spaces.len().min(2), "{}");
        }
        Some(format!(
            "{}{spaces}{}",
            text.get(..start)?,
            text.get(end..)?
        ))
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

    /// Whether some key is given twice in its mapping.
    pub fn has_duplicates(&self) -> bool {
        !self.duplicates.is_empty()
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
struct Frame {
    path: Option<FieldPath>,
    kind: FrameKind,
    /// The key whose value this mapping or list is, with the byte offset where
    /// that key starts and whether its mapping is flow style: when the frame
    /// ends, the key's entry ends.
    owner: Option<(FieldPath, usize, bool)>,
}

#[derive(Debug)]
enum FrameKind {
    Map {
        /// `None` while waiting for a key; `Some(key path)` while waiting for its value.
        pending: Option<Option<FieldPath>>,
        /// Byte offset where the pending key starts.
        key_start: usize,
        /// Written in flow style (`{ a: 1 }`).
        flow: bool,
        /// No key seen yet: the first key's position becomes the mapping's
        /// when it comes earlier.
        first: bool,
    },
    Seq {
        next: usize,
    },
}

#[derive(Debug, Default)]
struct Builder {
    index: Index,
    stack: Vec<Frame>,
}

/// What a node is to its parent.
enum NodeRole {
    /// A mapping key.
    Key,
    /// A value with this path (if it has one), and the key it is the value of
    /// (path, key start, flow mapping).
    Value(Option<FieldPath>, Option<(FieldPath, usize, bool)>),
}

impl Builder {
    /// A node starts at `pos` (byte offset `start`): decide its path, record it,
    /// and say whether it is a key.
    fn node(&mut self, pos: Pos, start: usize, kind: RootKind, key_text: Option<&str>) -> NodeRole {
        let in_first_doc = self.index.documents.len() <= 1;
        let Some(frame) = self.stack.last_mut() else {
            if in_first_doc && self.index.root.is_none() {
                self.index.root = Some((kind, pos));
                self.index.values.insert(FieldPath::root(), pos);
                return NodeRole::Value(Some(FieldPath::root()), None);
            }
            return NodeRole::Value(None, None);
        };
        let path = &frame.path;
        match &mut frame.kind {
            FrameKind::Seq { next } => {
                let item = path.as_ref().map(|p| p.index(*next));
                *next += 1;
                if let Some(item) = &item {
                    self.index.values.insert(item.clone(), pos);
                }
                NodeRole::Value(item, None)
            }
            FrameKind::Map {
                pending,
                key_start,
                flow,
                first,
            } => match pending.take() {
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
                    *key_start = start;
                    if let Some(kp) = &key_path {
                        self.index.insert_key(kp, pos);
                    }
                    NodeRole::Key
                }
                Some(key_path) => {
                    if let Some(kp) = &key_path {
                        self.index.values.entry(kp.clone()).or_insert(pos);
                    }
                    let owner = key_path.clone().map(|kp| (kp, *key_start, *flow));
                    NodeRole::Value(key_path, owner)
                }
            },
        }
    }

    /// The value at `path` is `node` (the first one, for a key given twice).
    fn record(&mut self, path: Option<FieldPath>, node: Node) {
        if let Some(path) = path {
            self.index.nodes.entry(path).or_insert(node);
        }
    }

    /// A key's value ended at byte offset `end`.
    fn entry_ends(&mut self, owner: Option<(FieldPath, usize, bool)>, end: usize) {
        if let Some((path, start, flow)) = owner {
            self.index.entries.entry(path).or_insert((start, end, flow));
        }
    }

    fn on_event(&mut self, event: Event, span: &Span) {
        let pos = Pos::from_marker(&span.start);
        let start = span.start.byte_offset().unwrap_or(0);
        let end = span.end.byte_offset().unwrap_or(start);
        match event {
            Event::DocumentStart(..) => self.index.documents.push(pos),
            Event::Scalar(text, style, _, tag) => {
                let root = self.stack.is_empty() && self.index.root.is_none();
                if let NodeRole::Value(path, owner) =
                    self.node(pos, start, RootKind::Scalar, Some(&text))
                {
                    self.entry_ends(owner, end);
                    let plain = tag.is_none() && style == ScalarStyle::Plain;
                    self.record(
                        path,
                        Node::Scalar {
                            text: text.to_string(),
                            plain,
                        },
                    );
                }
                if root {
                    self.index.root_is_null = tag.is_none()
                        && style == ScalarStyle::Plain
                        && matches!(&*text, "" | "~" | "null" | "Null" | "NULL");
                }
            }
            Event::Alias(_) | Event::UnresolvedAlias(_) => {
                if let NodeRole::Value(path, owner) = self.node(pos, start, RootKind::Alias, None) {
                    self.entry_ends(owner, end);
                    self.record(path, Node::Alias);
                }
            }
            Event::MappingStart(style, ..) | Event::SequenceStart(style, ..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                let kind = if is_map {
                    RootKind::Mapping
                } else {
                    RootKind::Sequence
                };
                let (path, owner) = match self.node(pos, start, kind, None) {
                    NodeRole::Key => (None, None),
                    NodeRole::Value(path, owner) => (path, owner),
                };
                let node = if is_map {
                    Node::Mapping
                } else {
                    Node::Sequence
                };
                self.record(path.clone(), node);
                let kind = if is_map {
                    FrameKind::Map {
                        pending: None,
                        key_start: start,
                        flow: style == StructureStyle::Flow,
                        first: true,
                    }
                } else {
                    FrameKind::Seq { next: 0 }
                };
                self.stack.push(Frame { path, kind, owner });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(frame) = self.stack.pop() {
                    self.entry_ends(frame.owner, end);
                }
            }
            _ => {}
        }
    }
}

/// `p999` and `p99.9` are the same key; the index uses `p99.9`.
fn canonical_key(key: &str) -> &str {
    if key == "p999" {
        "p99.9"
    } else {
        key
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
    fn a_blanked_key_keeps_every_other_position() {
        let text = "load:\n  connections: x\n  duration: 1s\nslo: { p99: fast, p50: 1ms }\n";
        let index = Index::build(text);
        let blanked = index.blank(text, &path(&["load", "connections"]), &[]);
        assert_eq!(
            blanked.as_deref(),
            Some("load:\n                \n  duration: 1s\nslo: { p99: fast, p50: 1ms }\n")
        );
        // In a flow mapping the comma goes too.
        let blanked = index.blank(text, &path(&["slo", "p99"]), &[]);
        assert_eq!(
            blanked.as_deref(),
            Some("load:\n  connections: x\n  duration: 1s\nslo: {            p50: 1ms }\n")
        );
        // A block mapping left without keys is an empty mapping.
        let blanked = index.blank(
            text,
            &path(&["load", "duration"]),
            &[path(&["load", "connections"])],
        );
        assert_eq!(
            blanked.as_deref(),
            Some("load:\n  connections: x\n  {}          \nslo: { p99: fast, p50: 1ms }\n")
        );
        assert_eq!(index.blank(text, &path(&["nothing"]), &[]), None);
    }

    #[test]
    fn values_are_named_as_found() {
        let text = "a: ~\nb: yes\nc: 5\nd: '5'\ne: 1.5\nf: [1]\ng: {}\nh: true\n";
        let index = Index::build(text);
        let found = |k: &str| index.node(&path(&[k])).map(Node::found);
        assert_eq!(found("a").as_deref(), Some("nothing (null)"));
        assert_eq!(found("b").as_deref(), Some("string \"yes\""));
        assert_eq!(found("c").as_deref(), Some("integer `5`"));
        assert_eq!(found("d").as_deref(), Some("string \"5\""));
        assert_eq!(found("e").as_deref(), Some("floating point `1.5`"));
        assert_eq!(found("f").as_deref(), Some("a list"));
        assert_eq!(found("g").as_deref(), Some("a mapping"));
        assert_eq!(found("h").as_deref(), Some("boolean `true`"));
    }

    #[test]
    fn a_syntax_error_is_kept_with_its_kind() {
        let index = Index::build("load:\n  duration: 'abc\n");
        let err = index.syntax.expect("a syntax error");
        assert_eq!(err.kind, ErrorKind::UnclosedQuotedScalar);
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
