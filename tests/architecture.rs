//! The dependency rules of docs/architecture.md: the pure stages (`stats/`,
//! `judge/`, `cost/`, `report/`) import no I/O: no async runtime, no files,
//! sockets or processes, no HTTP or AWS clients, no clocks.

use std::path::{Path, PathBuf};

const PURE: &[&str] = &["src/stats", "src/judge", "src/cost", "src/report"];

/// What I/O looks like in Rust source.
const IO: &[&str] = &[
    "tokio",
    "std::fs",
    "std::net",
    "std::process",
    "reqwest",
    "octocrab",
    "aws_sdk",
    "aws_config",
    "hyper",
    "mio",
    "Instant::now",
    "SystemTime::now",
    "OffsetDateTime::now",
    "std::env::var",
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments and without `#[cfg(test)]` modules (tests may use
/// files and clocks).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut skipping_tests = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            skipping_tests = true;
        }
        if skipping_tests {
            continue;
        }
        let without_comment = match trimmed.find("//") {
            Some(0) => "",
            _ => line,
        };
        out.push_str(without_comment);
        out.push('\n');
    }
    out
}

#[test]
fn the_pure_stages_import_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    let mut checked = 0;
    for dir in PURE {
        let mut all = Vec::new();
        files(&root.join(dir), &mut all);
        assert!(!all.is_empty(), "{dir} has sources");
        for file in all {
            checked += 1;
            let text = code(&std::fs::read_to_string(&file).unwrap());
            for (n, line) in text.lines().enumerate() {
                for io in IO {
                    if line.contains(io) {
                        found.push(format!(
                            "{}:{}: `{io}` in `{}`",
                            file.strip_prefix(root).unwrap().display(),
                            n + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} files checked");
    assert!(
        found.is_empty(),
        "I/O in a pure stage (docs/architecture.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_io_where_there_is_some() {
    // The same scan over the stages that do I/O finds it: the rule is not vacuous.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["src/deploy", "src/bench", "src/history"] {
        let mut all = Vec::new();
        files(&root.join(dir), &mut all);
        let hits = all
            .iter()
            .map(|f| code(&std::fs::read_to_string(f).unwrap()))
            .filter(|text| IO.iter().any(|io| text.contains(io)))
            .count();
        assert!(hits > 0, "{dir}: the scan found no I/O");
    }
}
