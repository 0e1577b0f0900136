//! The dependency rules of docs/architecture.md: the pure stages (`stats/`,
//! `judge/`, `cost/`, `report/`) import no I/O: no async runtime, no files,
//! sockets or processes, no HTTP or AWS clients, no clocks; and no module of the
//! crate depends on itself through others (no circle).

use std::collections::{BTreeMap, BTreeSet};
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

/// The crate's top-level modules and, for each, the others its code names
/// (`crate::x`, `crate::{x, y}`), with the first place it does.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn module_graph(root: &Path) -> Graph {
    let src = root.join("src");
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir()
            || (path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main")
        {
            modules.insert(name);
        }
    }
    let mut graph = Graph::new();
    for module in &modules {
        let mut all = Vec::new();
        let dir = src.join(module);
        if dir.is_dir() {
            files(&dir, &mut all);
        } else {
            all.push(src.join(format!("{module}.rs")));
        }
        let edges = graph.entry(module.clone()).or_default();
        for file in all {
            // A `tests.rs` is a `#[cfg(test)] mod tests;` of its parent.
            if file.file_stem().is_some_and(|s| s == "tests") {
                continue;
            }
            let text = code(&std::fs::read_to_string(&file).unwrap());
            for (n, line) in text.lines().enumerate() {
                for (at, _) in line.match_indices("crate::") {
                    let rest = &line[at + "crate::".len()..];
                    let named: Vec<&str> = match rest.strip_prefix('{') {
                        Some(group) => group
                            .split('}')
                            .next()
                            .unwrap_or("")
                            .split(',')
                            .map(|item| item.trim().split("::").next().unwrap_or("").trim())
                            .collect(),
                        None => vec![rest
                            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .next()
                            .unwrap_or("")],
                    };
                    for other in named {
                        if other != module && modules.contains(other) {
                            edges.entry(other.to_string()).or_insert_with(|| {
                                format!("{}:{}", file.strip_prefix(root).unwrap().display(), n + 1)
                            });
                        }
                    }
                }
            }
        }
    }
    graph
}

/// A circle in `graph` (`a -> b -> a`, each step with where it is), if any.
fn find_circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut circle: Vec<String> = path[start..].to_vec();
            circle.push(node.to_string());
            return Some(
                circle
                    .windows(2)
                    .map(|w| format!("{} -> {} ({})", w[0], w[1], graph[&w[0]][&w[1]]))
                    .collect(),
            );
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|e| e.keys()) {
            if let Some(circle) = visit(graph, next, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = module_graph(root);
    for module in [
        "config", "bench", "context", "results", "github", "aws", "deploy", "judge",
    ] {
        assert!(graph.contains_key(module), "{module} is a module");
    }
    assert!(
        graph["bench"].contains_key("config") && graph["server_side"].contains_key("bench"),
        "the scan sees the crate's dependencies: {graph:?}"
    );
    if let Some(circle) = find_circle(&graph) {
        panic!(
            "a module circle (docs/architecture.md):\n{}",
            circle.join("\n")
        );
    }
}

/// The names a path prefix is followed by on `line`: `prefix::a`, `prefix::{a, b::c}`.
fn named_after<'a>(line: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (at, _) in line.match_indices(prefix) {
        // `super::super::x` is read once, from its last `super::`.
        if prefix == "super::" && line[at + prefix.len()..].starts_with("super::") {
            continue;
        }
        let rest = &line[at + prefix.len()..];
        match rest.strip_prefix('{') {
            Some(group) => out.extend(
                group
                    .split('}')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(|item| item.trim().split("::").next().unwrap_or("").trim()),
            ),
            None => out.push(
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or(""),
            ),
        }
    }
    out
}

/// The pieces of the stage in `dir` (its files and sub-folders, not `mod.rs`,
/// which declares and re-exports them) and, for each, the siblings its code names
/// (`super::x`, `crate::stage::x`), with the first place it does.
fn folder_graph(root: &Path, dir: &Path) -> Graph {
    let stage = dir.file_name().unwrap().to_string_lossy().to_string();
    let mut pieces = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let mut all = Vec::new();
            files(&path, &mut all);
            pieces.insert(name, all);
        } else if path.extension().is_some_and(|e| e == "rs") && name != "mod" && name != "tests" {
            pieces.insert(name, vec![path]);
        }
    }
    let mut graph = Graph::new();
    for (piece, all) in &pieces {
        let edges = graph.entry(piece.clone()).or_default();
        for file in all {
            if file.file_stem().is_some_and(|s| s == "tests") {
                continue;
            }
            // A file of a sub-folder reaches its stage's pieces with one more `super::`.
            let depth = file.strip_prefix(dir).unwrap().components().count();
            let up = "super::".repeat(depth);
            let text = code(&std::fs::read_to_string(file).unwrap());
            for (n, line) in text.lines().enumerate() {
                let mut named = named_after(line, &format!("crate::{stage}::"));
                if depth == 1 {
                    named.extend(named_after(line, "super::"));
                } else {
                    // Only the `super::` chains that climb to the stage's folder.
                    for (at, _) in line.match_indices(&up) {
                        if at >= "super::".len() && line[..at].ends_with("super::") {
                            continue;
                        }
                        named.extend(named_after(
                            &line[at + up.len() - "super::".len()..],
                            "super::",
                        ));
                    }
                }
                for other in named {
                    if other != piece && pieces.contains_key(other) {
                        edges.entry(other.to_string()).or_insert_with(|| {
                            format!("{}:{}", file.strip_prefix(root).unwrap().display(), n + 1)
                        });
                    }
                }
            }
        }
    }
    graph
}

/// Inside a stage's folder too: no file depends on itself through its siblings
/// (a piece two others share moves to a file of its own).
#[test]
fn no_circle_inside_a_stages_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut circles = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("src")).unwrap().flatten() {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let graph = folder_graph(root, &dir);
        seen += graph.values().filter(|e| !e.is_empty()).count();
        if let Some(circle) = find_circle(&graph) {
            circles.push(format!("{}:\n{}", dir.display(), circle.join("\n")));
        }
    }
    assert!(
        seen > 10,
        "the scan sees the folders' pieces naming each other"
    );
    assert!(
        circles.is_empty(),
        "circles inside a stage's folder (docs/architecture.md):\n{}",
        circles.join("\n\n")
    );
}

#[test]
fn the_folder_scan_reads_super_and_crate_paths() {
    assert_eq!(
        named_after("use super::{a, b::C}; super::super::d::e()", "super::"),
        vec!["a", "b", "d"]
    );
    assert_eq!(
        named_after("crate::bench::record::X", "crate::bench::"),
        vec!["record"]
    );
}

#[test]
fn the_circle_check_finds_a_circle() {
    let edge = |to: &str| (to.to_string(), "here".to_string());
    let mut graph = Graph::new();
    graph.insert("a".into(), [edge("b")].into());
    graph.insert("b".into(), [edge("c")].into());
    graph.insert("c".into(), [edge("a")].into());
    graph.insert("d".into(), [edge("a")].into());
    let circle = find_circle(&graph).expect("a -> b -> c -> a");
    assert_eq!(circle.len(), 3, "{circle:?}");
    graph.get_mut("c").unwrap().clear();
    assert_eq!(find_circle(&graph), None);
}
