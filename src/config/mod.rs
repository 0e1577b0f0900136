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
    let raw: raw::RawConfig = serde_path_to_error::deserialize(deserializer)
        .map_err(|e| ConfigError::one(error::from_serde(e, &index, source)))?;
    validate::validate(raw, &index, source, base_dir, options)
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
