//! Config: `tailgate.yml`, parsed with serde and validated into domain types.
//!
//! The stage runs in four steps, each in its own file:
//! 1. index the YAML events, field path -> line and column (`index.rs`), with
//!    granit-parser, the parser serde-saphyr deserializes with;
//! 2. deserialize what the user wrote into raw structs, parsing units on the way
//!    (`raw.rs`, `units.rs`);
//! 3. validate and merge into the domain types of `model.rs` (`validate.rs`,
//!    `profile.rs` (load profiles), `merge.rs`), reading the files the config names (`items.rs`,
//!    `csv.rs`);
//! 4. report every problem with its file, line, column, field path and a help
//!    line ([`ConfigError`], `error.rs`).
//!
//! The schema, with every key explained, is `examples/tailgate.yml`.

mod checker;
mod cloud;
mod csv;
mod error;
mod index;
mod interpolate;
mod items;
mod merge;
mod model;
mod profile;
mod raw;
mod ready;
mod schema;
mod traces;
pub mod units;
mod validate;

use std::path::Path;

pub use error::{ConfigError, Problem, ProblemKind};
pub use index::{FieldPath, Pos, Segment};
pub use interpolate::{Environment, Secrets};
pub use model::*;

use index::{Index, RootKind};

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
    // YAML syntax, several documents: one problem, from the parser.
    if let Some(syntax) = &index.syntax {
        return Err(ConfigError::one(error::from_syntax(
            syntax, text, &index, source,
        )));
    }
    if let Some(second) = index.documents.get(1) {
        return Err(problem(
            *second,
            "the file has more than one YAML document",
            "keep one document: remove this `---` and what follows, or move it into the first",
        ));
    }
    match index.root {
        Some((RootKind::Mapping, _)) => {}
        None => {
            return Err(problem(
                Pos::START,
                "the config file is empty",
                "start from examples/tailgate.yml: at least `deploy:` and `endpoints:`",
            ));
        }
        Some((_, pos)) if index.root_is_null => {
            return Err(problem(
                pos,
                "the config file is empty",
                "start from examples/tailgate.yml: at least `deploy:` and `endpoints:`",
            ));
        }
        Some((_, pos)) => {
            return Err(problem(
                pos,
                "the top level is not a mapping of keys",
                "write keys at the top level, e.g. `deploy:` and `endpoints:`",
            ));
        }
    }
    match deserialize(text, &index, source) {
        Ok(raw) => validate::validate(raw, &index, source, base_dir, options),
        Err(first) => Err(every_problem(
            *first, text, &index, source, base_dir, options,
        )),
    }
}

/// How the config is read, as serde_yaml read it before: a null written for a
/// text is its text (`~`), only `true` and `false` are booleans (not `yes`), a
/// merge key (`<<`) is an ordinary (so unknown) key; no snippet is kept (the
/// problem has the position); serde-saphyr's limits on depth and aliases stay on.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        null_as_string: true,
        strict_booleans: true,
        merge_keys: serde_saphyr::MergeKeyPolicy::AsOrdinary,
        with_snippet: false,
    }
}

/// Deserialize the raw structs from `text`, or the first problem, located at the
/// field it is about.
fn deserialize(
    text: &str,
    index: &Index,
    source: &str,
) -> Result<raw::RawConfig, Box<error::Shape>> {
    let mut at = FieldPath::root();
    serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(), |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            at = field_path(e.path());
            e.into_inner()
        })
    })
    .map_err(|e| Box::new(error::from_serde(&e, at, index, source)))
}

/// serde_path_to_error's path as a [`FieldPath`].
fn field_path(path: &serde_path_to_error::Path) -> FieldPath {
    let mut out = FieldPath::root();
    for segment in path.iter() {
        out = match segment {
            serde_path_to_error::Segment::Seq { index } => out.index(*index),
            serde_path_to_error::Segment::Map { key } => out.key(key),
            serde_path_to_error::Segment::Enum { variant } => out.key(variant),
            serde_path_to_error::Segment::Unknown => break,
        };
    }
    out
}

/// At most this many problems of the shape are collected from one file.
const MOST_SHAPE_PROBLEMS: usize = 50;

/// Every problem of a file whose shape is wrong somewhere, not only the first:
/// serde stops at the first bad value, so the bad value's key is blanked out of
/// the text (positions stay where they were) and the rest deserialized again,
/// until it deserializes (then the semantic checks run on what is left) or
/// nothing more can be taken out. A problem the removal itself causes (a
/// required key now missing, a check on the removed value's parent or children)
/// is not reported.
fn every_problem(
    first: error::Shape,
    text: &str,
    index: &Index,
    source: &str,
    base_dir: &Path,
    options: &ReadOptions,
) -> ConfigError {
    let mut hint = first.hint;
    let mut problems = vec![first.problem];
    // A key given twice: which of the two to take out is a guess, so the first
    // problem is all there is.
    if index.has_duplicates() {
        return ConfigError { problems };
    }
    let mut removed: Vec<FieldPath> = Vec::new();
    let mut rest = text.to_string();
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
        if let Some(key) = &hint.missing {
            // A required key missing: if this pass removed it, not the file's problem.
            if removed.contains(&last.path.key(key)) {
                problems.pop();
            }
            break;
        }
        let path = last.path.clone();
        if path.is_root() || matches!(path.0.last(), Some(Segment::Index(_))) {
            break;
        }
        let Some(blanked) = index.blank(&rest, &path, &removed) else {
            break;
        };
        rest = blanked;
        // A misspelt key stands for the key it was meant to be: that key's absence
        // is the same problem.
        if let Some(meant) = &hint.meant {
            removed.push(path.parent().key(meant));
        }
        removed.push(path);
        match deserialize(&rest, index, source) {
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
                if problems.contains(&next.problem) {
                    break;
                }
                hint = next.hint;
                problems.push(next.problem);
            }
        }
    }
    problems.sort_by_key(|p| p.pos);
    ConfigError { problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text, "t.yml", Path::new(".")) {
            Ok(config) => panic!("accepted {text:?} as {config:?}"),
            Err(e) => e.problems,
        }
    }

    #[test]
    fn a_merge_key_is_an_unknown_key_as_before() {
        let all = problems("defaults: &d { slo: { p99: 5ms } }\n<<: *d\n");
        assert!(
            all.iter()
                .any(|p| p.message.starts_with("unknown key `<<`")),
            "{all:#?}"
        );
    }

    #[test]
    fn a_name_given_twice_in_two_spellings_is_one_problem() {
        let all = problems("endpoints:\n  - path: /a\n    headers: { 1: a, \"1\": b }\n");
        let p = all
            .iter()
            .find(|p| p.message.contains("given twice"))
            .expect("the header given twice");
        assert_eq!(p.message, "`1` is given twice", "{p}");
        assert_eq!(p.help, "keep one of the two", "{p}");
        assert_eq!(p.pos.line, 3, "{p}");
    }

    #[test]
    fn every_shape_problem_keeps_its_position() {
        // Two bad values in one flow mapping, a third in a block mapping: each is
        // found, at its own place, after the ones before are blanked out.
        let all =
            problems("load: { duration: fast, connections: many }\ncompare:\n  rounds: lots\n");
        let at: Vec<(usize, usize, String)> = all
            .iter()
            .map(|p| (p.pos.line, p.pos.column, p.path.to_string()))
            .collect();
        assert!(
            at.contains(&(1, 19, "load.duration".to_string())),
            "{all:#?}"
        );
        assert!(
            at.contains(&(1, 38, "load.connections".to_string())),
            "{all:#?}"
        );
        assert!(
            at.contains(&(3, 11, "compare.rounds".to_string())),
            "{all:#?}"
        );
    }
}
