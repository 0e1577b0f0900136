//! Every workflow a user may copy is correct: each `uses:` of this action in the
//! example workflows (examples/) and in the YAML blocks of the docs (README.md,
//! docs/*.md) names the owner and version the README names, and passes only inputs
//! that action.yml declares.

use std::path::{Path, PathBuf};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The ```yaml blocks of a markdown file.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        let fence = line.trim_start();
        match &mut current {
            None if fence.starts_with("```yaml") || fence.starts_with("```yml") => {
                current = Some(Vec::new())
            }
            Some(lines) if fence.starts_with("```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            Some(lines) => lines.push(line),
            None => {}
        }
    }
    blocks
}

/// Every mapping with a `uses:` that names tailgate, anywhere in `v`.
fn tailgate_steps<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if m.get("uses")
                .and_then(Value::as_str)
                .is_some_and(|u| u.contains("tailgate"))
            {
                out.push(v);
            }
            for (_, item) in m {
                tailgate_steps(item, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| tailgate_steps(i, out)),
        _ => {}
    }
}

/// The README's `uses:` of the action: the one every example must name.
fn readme_uses() -> String {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README");
    let mut steps = Vec::new();
    let docs: Vec<Value> = yaml_blocks(&readme)
        .iter()
        .filter_map(|b| serde_saphyr::from_str(b).ok())
        .collect();
    for d in &docs {
        tailgate_steps(d, &mut steps);
    }
    let uses = steps
        .first()
        .and_then(|s| s["uses"].as_str())
        .expect("the README shows how to use the action")
        .to_string();
    assert_eq!(
        uses,
        format!("tailgate-dev/tailgate@v{}", env!("CARGO_PKG_VERSION")),
        "the README names the current release"
    );
    uses
}

#[test]
fn every_example_and_doc_uses_the_action_as_it_is() {
    let action: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join("action.yml")).expect("action.yml"),
    )
    .expect("action.yml");
    let inputs: Vec<&str> = action["inputs"]
        .as_object()
        .expect("inputs")
        .keys()
        .map(String::as_str)
        .collect();
    let expected = readme_uses();

    let mut sources: Vec<(String, String)> = Vec::new();
    let mut yml = Vec::new();
    files(&Path::new(ROOT).join("examples"), "yml", &mut yml);
    for path in yml {
        let text = std::fs::read_to_string(&path).expect("read");
        sources.push((path.display().to_string(), text));
    }
    let mut md = vec![Path::new(ROOT).join("README.md")];
    files(&Path::new(ROOT).join("docs"), "md", &mut md);
    for path in md {
        let text = std::fs::read_to_string(&path).expect("read");
        for (i, block) in yaml_blocks(&text).into_iter().enumerate() {
            sources.push((format!("{} (yaml block {})", path.display(), i + 1), block));
        }
    }

    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, text) in &sources {
        let doc: Value = match serde_saphyr::from_str(text) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{name}: not YAML: {e}"));
                continue;
            }
        };
        let mut steps = Vec::new();
        tailgate_steps(&doc, &mut steps);
        for step in steps {
            checked += 1;
            let uses = step["uses"].as_str().unwrap_or_default();
            // Pinned by commit sha (GitHub's hardening guide), with the version
            // in a comment that Dependabot keeps up to date: `@<sha> # v0.1.0`.
            let version = expected.rsplit('@').next().unwrap_or_default();
            let pinned = uses
                .strip_prefix("tailgate-dev/tailgate@")
                .is_some_and(|sha| {
                    sha.len() == 40
                        && sha.chars().all(|c| c.is_ascii_hexdigit())
                        && text.contains(&format!("{uses} # {version}"))
                });
            if uses != expected && !pinned {
                problems.push(format!(
                    "{name}: `uses: {uses}`, not `{expected}` (or a full sha with `# {version}`)"
                ));
            }
            for key in step["with"].as_object().into_iter().flat_map(|m| m.keys()) {
                let key = key.as_str();
                if !inputs.contains(&key) {
                    problems.push(format!(
                        "{name}: input `{key}` is not declared in action.yml (it has {inputs:?})"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 8, "only {checked} uses of the action found");
}

#[test]
fn a_wrong_input_or_owner_is_caught() {
    // The check itself, on a workflow with both mistakes.
    let doc: Value = serde_saphyr::from_str(
        "steps:\n  - uses: acme/tailgate@v1\n    with: { github-token: x }\n",
    )
    .unwrap();
    let mut steps = Vec::new();
    tailgate_steps(&doc, &mut steps);
    assert_eq!(steps.len(), 1);
    assert_ne!(steps[0]["uses"].as_str(), Some(readme_uses().as_str()));
    assert!(steps[0]["with"]["github-token"].is_string());
}
