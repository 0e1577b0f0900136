//! Reading and writing the results file: the schema check first, then the whole
//! document; every number is read back to the bit (serde_json `float_roundtrip`).

use std::path::Path;

use serde::Deserialize;

use super::{RunResults, SCHEMA, SCHEMA_MAJOR};

const SCHEMA_PREFIX: &str = "tailgate.results/v";

/// Why a results file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or JSON of another shape.
    #[error("{path}:{line}:{column}: not a tailgate results file: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What serde said.
        message: String,
    },
    /// A `schema` this tailgate does not read.
    #[error("{path}: {message}")]
    Schema {
        /// The file.
        path: String,
        /// What is wrong with the schema identifier, and what to do.
        message: String,
    },
}

/// The major version of a results schema identifier: `tailgate.results/v1` and
/// `tailgate.results/v1.3` are major 1. `None` when it is not a results identifier.
pub fn schema_major(schema: &str) -> Option<u32> {
    let version = schema.strip_prefix(SCHEMA_PREFIX)?;
    let (major, minor) = match version.split_once('.') {
        Some((major, minor)) => (major, Some(minor)),
        None => (version, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || minor.is_some_and(|m| !digits(m)) {
        return None;
    }
    major.parse().ok()
}

/// Whether this tailgate reads files of `schema`; the error says why not.
pub fn check_schema(schema: &str) -> Result<(), String> {
    match schema_major(schema) {
        Some(SCHEMA_MAJOR) => Ok(()),
        Some(major) if major > SCHEMA_MAJOR => Err(format!(
            "schema `{schema}` is major version {major}, newer than this tailgate reads \
             (`{SCHEMA}` and its minor versions); use the tailgate release that wrote it"
        )),
        Some(major) => Err(format!(
            "schema `{schema}` is major version {major}, older than this tailgate reads \
             (`{SCHEMA}` and its minor versions); use the tailgate release that wrote it"
        )),
        None => Err(format!(
            "schema `{schema}` is not a tailgate results schema (expected `{SCHEMA}`)"
        )),
    }
}

/// Read and check a results file: its `schema` first (a file of another major
/// version is refused before its shape is looked at), then the whole document.
pub fn read(path: &Path) -> Result<RunResults, ReadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown)
}

/// [`read`] of a text already in memory; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<RunResults, ReadError> {
    let parse_err = |e: serde_json::Error| ReadError::Parse {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    /// Just the identifier, so a file of another major is named as such even when
    /// the rest of it has another shape.
    #[derive(Deserialize)]
    struct Head {
        schema: Option<serde_json::Value>,
    }
    let head: Head = serde_json::from_str(text).map_err(parse_err)?;
    match head.schema {
        Some(serde_json::Value::String(schema)) => {
            check_schema(&schema).map_err(|message| ReadError::Schema {
                path: path.to_string(),
                message,
            })?
        }
        _ => {
            return Err(ReadError::Schema {
                path: path.to_string(),
                message: format!(
                    "no `schema` string: not a tailgate results file (expected `{SCHEMA}`)"
                ),
            })
        }
    }
    serde_json::from_str(text).map_err(parse_err)
}

/// Write `results` to `path` as the pretty JSON every reader takes.
pub fn write(path: &Path, results: &RunResults) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(results).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors_and_minors() {
        assert_eq!(schema_major("tailgate.results/v1"), Some(1));
        assert_eq!(schema_major("tailgate.results/v1.7"), Some(1));
        assert_eq!(schema_major("tailgate.results/v2"), Some(2));
        assert_eq!(schema_major("tailgate.results/v1."), None);
        assert_eq!(schema_major("tailgate.results/vx"), None);
        assert_eq!(schema_major("tailgate.bench/v1"), None);
        assert!(check_schema(SCHEMA).is_ok());
        assert!(check_schema("tailgate.results/v1.2").is_ok());
        let newer = check_schema("tailgate.results/v2").unwrap_err();
        assert!(newer.contains("major version 2, newer"), "{newer}");
        assert!(check_schema("tailgate.results/v0").is_err());
        assert!(check_schema("something/v1")
            .unwrap_err()
            .contains("not a tailgate"));
    }

    #[test]
    fn another_major_is_refused_before_its_shape_is_read() {
        let err = parse(r#"{"schema": "tailgate.results/v2", "new": []}"#, "x.json").unwrap_err();
        assert!(matches!(err, ReadError::Schema { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("x.json: schema `tailgate.results/v2`"),
            "{err}"
        );
        let err = parse(r#"{"hello": 1}"#, "y.json").unwrap_err();
        assert!(err.to_string().contains("no `schema`"), "{err}");
        let err = parse("not json", "z.json").unwrap_err();
        assert!(
            err.to_string().contains("not a tailgate results file"),
            "{err}"
        );
    }
}
