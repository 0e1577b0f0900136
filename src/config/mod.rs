//! Config: `tailgate.yml`, parsed with serde and validated into domain types.
//!
//! The stage runs in four steps, each in its own file:
//! 1. index the YAML events, field path -> line and column (`index.rs`);
//! 2. deserialize what the user wrote into raw structs, parsing units on the way
//!    (`raw.rs`, `units.rs`);
//! 3. validate and merge into the domain types of `model.rs` (`validate.rs`,
//!    `load.rs`, `merge.rs`), reading the files the config names (`items.rs`,
//!    `csv.rs`);
//! 4. report every problem with its file, line, column, field path and a help
//!    line ([`ConfigError`], `error.rs`).
//!
//! The schema, with every key explained, is `examples/tailgate.yml`.

mod cloud;
mod csv;
mod error;
mod index;
mod interpolate;
mod items;
mod load;
mod merge;
mod model;
mod raw;
mod schema;
mod traces;
pub mod units;
mod validate;

use std::path::Path;

pub use error::{ConfigError, Problem, ProblemKind};
pub use index::{FieldPath, Pos, Segment};
pub use interpolate::{Environment, Secrets};
pub use model::*;

use index::Index;

/// Read and validate the config file at `path`. Relative paths inside it
/// (`body_file`, `items_file`, `tls.ca_file`, `deploy.local.repo`) resolve
/// against the file's directory.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with(path, &ReadOptions::default())
}

/// What a config is read with besides its text.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Where `${NAME}` references are resolved (default: the process environment).
    pub env: Environment,
    /// The `url` deployer's base URL, given on the command line or as the action's
    /// `base_url` input; it wins over `deploy.url.base`. With both URLs given, the
    /// config needs no `deploy:` at all.
    pub base_url: Option<String>,
    /// The same for head (`--head-url`, `head_url`).
    pub head_url: Option<String>,
}

/// [`load`] with `options`.
pub fn load_with(path: &Path, options: &ReadOptions) -> Result<Config, ConfigError> {
    let source = path.display().to_string();
    let read_problem = |pos: Pos, message: String, help: &str| {
        ConfigError::one(Problem {
            file: source.clone(),
            pos,
            path: FieldPath::root(),
            kind: ProblemKind::Read,
            message,
            help: help.to_string(),
        })
    };
    let bytes = std::fs::read(path).map_err(|e| {
        let help = match e.kind() {
            std::io::ErrorKind::NotFound => {
                "create it (start from examples/tailgate.yml) or pass its path with --config"
            }
            std::io::ErrorKind::PermissionDenied => "make the file readable by this user",
            _ => "check that the path names a readable file",
        };
        read_problem(
            Pos::START,
            format!("cannot read the config file: {e}"),
            help,
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e
            .as_bytes()
            .get(..e.utf8_error().valid_up_to())
            .unwrap_or(&[]);
        let before = String::from_utf8_lossy(valid);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        read_problem(
            Pos { line, column },
            "the file is not valid UTF-8 text".to_string(),
            "save it as UTF-8; a YAML config is plain text",
        )
    })?;
    let base_dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    parse_with(&text, &source, base_dir, options)
}

/// Parse and validate config `text`. `source` names it in errors and in
/// [`Config::source`]; `base_dir` is where relative paths inside resolve.
pub fn parse(text: &str, source: &str, base_dir: &Path) -> Result<Config, ConfigError> {
    parse_with(text, source, base_dir, &ReadOptions::default())
}

/// [`parse`] with `options`: the environment `${NAME}` reads, URLs from the
/// command line.
pub fn parse_with(
    text: &str,
    source: &str,
    base_dir: &Path,
    options: &ReadOptions,
) -> Result<Config, ConfigError> {
    let index = Index::build(text);
    let problem = |pos: Pos, message: &str, help: &str| {
        ConfigError::one(Problem {
            file: source.to_string(),
            pos,
            path: FieldPath::root(),
            kind: ProblemKind::Syntax,
            message: message.to_string(),
            help: help.to_string(),
        })
    };
    // YAML syntax, several documents, nesting: one problem, from libyaml.
    let top = serde_yaml::from_str::<TopLevel>(text)
        .map_err(|e| ConfigError::one(error::from_syntax(&e, text, &index, source)))?;
    let root_pos = index.root.map_or(Pos::START, |(_, pos)| pos);
    match top {
        TopLevel::Mapping => {}
        TopLevel::Nothing => {
            return Err(problem(
                root_pos,
                "the config file is empty",
                "start from examples/tailgate.yml: at least `deploy:` and `endpoints:`",
            ));
        }
        TopLevel::Other => {
            return Err(problem(
                root_pos,
                "the top level is not a mapping of keys",
                "write keys at the top level, e.g. `deploy:` and `endpoints:`",
            ));
        }
    }
    let deserializer = serde_yaml::Deserializer::from_str(text);
    let raw: raw::RawConfig = match serde_path_to_error::deserialize(deserializer) {
        Ok(raw) => raw,
        Err(first) => {
            let first = error::from_serde(first, &index, source);
            return Err(every_problem(
                first, text, &index, source, base_dir, options,
            ));
        }
    };
    validate::validate(raw, &index, source, base_dir, options)
}

/// At most this many problems of the shape are collected from one file.
const MOST_SHAPE_PROBLEMS: usize = 50;

/// Every problem of a file whose shape is wrong somewhere, not only the first:
/// serde stops at the first bad value, so the bad value's key is taken out of the
/// document and the rest deserialized again, until it deserializes (then the
/// semantic checks run on what is left) or nothing more can be taken out. A
/// problem the removal itself causes (a required key now missing, a check on the
/// removed value's parent or children) is not reported.
fn every_problem(
    first: Problem,
    text: &str,
    index: &Index,
    source: &str,
    base_dir: &Path,
    options: &ReadOptions,
) -> ConfigError {
    let mut problems = vec![first];
    let mut removed: Vec<FieldPath> = Vec::new();
    // A document serde_yaml cannot read as a plain tree (duplicate keys, merge
    // keys it rejects): the first problem is all there is.
    let Ok(mut tree) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return ConfigError { problems };
    };
    // A check on a removed value's siblings may follow from the removal too (an
    // `items` taken out leaves a `path` with an `{{item}}` placeholder unfilled):
    // below the top level, problems beside a removed key are not reported.
    let related = |p: &FieldPath, removed: &FieldPath| {
        let parent = removed.parent();
        let near = if parent.is_root() { removed } else { &parent };
        p.0.starts_with(&near.0) || near.0.starts_with(&p.0)
    };
    while problems.len() < MOST_SHAPE_PROBLEMS {
        let Some(last) = problems.last() else { break };
        if last.message.starts_with("missing field `") {
            // A required key missing: if this pass removed it, not the file's problem.
            let removed_here = error::backticked(&last.message)
                .first()
                .is_some_and(|key| removed.contains(&last.path.key(key)));
            if removed_here {
                problems.pop();
            }
            break;
        }
        let path = last.path.clone();
        if path.is_root() || !remove(&mut tree, &path) {
            break;
        }
        // A misspelt key stands for the key it was meant to be: that key's absence
        // is the same problem.
        if let Some(meant) = last
            .message
            .split_once("did you mean `")
            .and_then(|(_, rest)| rest.split('`').next())
        {
            removed.push(path.parent().key(meant));
        }
        removed.push(path);
        // Deserialized again from YAML text, as the file was (a tree deserializes
        // numbers differently); positions come from the original file's index.
        let Ok(rest) = serde_yaml::to_string(&tree) else {
            break;
        };
        let deserializer = serde_yaml::Deserializer::from_str(&rest);
        match serde_path_to_error::deserialize::<_, raw::RawConfig>(deserializer) {
            Ok(raw) => {
                if let Err(semantic) = validate::validate(raw, index, source, base_dir, options) {
                    problems.extend(
                        semantic
                            .problems
                            .into_iter()
                            .filter(|p| !removed.iter().any(|r| related(&p.path, r))),
                    );
                }
                break;
            }
            Err(next) => {
                let mut next = error::from_serde(next, index, source);
                // The position serde gave is in the re-written text.
                next.pos = if next.message.starts_with("unknown key") {
                    index.key(&next.path)
                } else {
                    index.value(&next.path)
                };
                if problems.contains(&next) {
                    break;
                }
                problems.push(next);
            }
        }
    }
    problems.sort_by_key(|p| p.pos);
    ConfigError { problems }
}

/// Take the key at `path` out of `tree`; `false` when there is no such key (or the
/// path ends in a list item, whose removal would renumber its siblings).
fn remove(tree: &mut serde_yaml::Value, path: &FieldPath) -> bool {
    let Some((Segment::Key(last), parents)) = path.0.split_last() else {
        return false;
    };
    let mut node = tree;
    for segment in parents {
        let next = match segment {
            Segment::Key(k) => node.get_mut(k.as_str()),
            Segment::Index(i) => node.get_mut(*i),
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    node.as_mapping_mut()
        .is_some_and(|m| m.remove(last.as_str()).is_some())
}

/// What the document is at the top level, found without interpreting anything
/// below it (so no value can fail to convert here: this pass finds YAML errors).
enum TopLevel {
    Mapping,
    Nothing,
    Other,
}

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, Visitor};

        struct Probe;

        impl<'de> Visitor<'de> for Probe {
            type Value = TopLevel;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML document")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(TopLevel::Mapping)
            }

            fn visit_unit<E>(self) -> Result<TopLevel, E> {
                Ok(TopLevel::Nothing)
            }

            fn visit_none<E>(self) -> Result<TopLevel, E> {
                Ok(TopLevel::Nothing)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<TopLevel, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(TopLevel::Other)
            }

            fn visit_bool<E>(self, _: bool) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_i64<E>(self, _: i64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_u64<E>(self, _: u64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_i128<E>(self, _: i128) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_u128<E>(self, _: u128) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_f64<E>(self, _: f64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_str<E>(self, _: &str) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_enum<A: serde::de::EnumAccess<'de>>(
                self,
                data: A,
            ) -> Result<TopLevel, A::Error> {
                use serde::de::VariantAccess;
                let ((), variant) = data.variant::<IgnoredAny>().map(|(_, v)| ((), v))?;
                variant.newtype_variant::<IgnoredAny>()?;
                Ok(TopLevel::Other)
            }
        }

        deserializer.deserialize_any(Probe)
    }
}
