//! `action.yml` agrees with the binary: the inputs it declares are the `INPUT_*`
//! variables the binary reads, the outputs are the ones it writes, every input is
//! described with a default, and the action runs a published image by version.

use serde_yaml::Value;
use tailgate::context::ACTION_INPUTS;
use tailgate::github::workflow::OUTPUTS;

fn action() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("action.yml")).expect("YAML")
}

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .as_mapping()
        .expect("a mapping")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    keys.sort();
    keys
}

#[test]
fn inputs_match_what_the_binary_reads() {
    let action = action();
    let declared: Vec<String> = keys(&action["inputs"])
        .iter()
        .map(|k| format!("INPUT_{}", k.to_uppercase().replace(' ', "_")))
        .collect();
    let mut read: Vec<String> = ACTION_INPUTS.iter().map(|s| s.to_string()).collect();
    read.sort();
    let mut declared_sorted = declared.clone();
    declared_sorted.sort();
    assert_eq!(declared_sorted, read);
    for (name, input) in action["inputs"].as_mapping().expect("inputs") {
        let name = name.as_str().unwrap_or_default();
        assert!(
            input["description"].as_str().is_some_and(|d| d.len() > 10),
            "{name}"
        );
        assert!(!input["default"].is_null(), "{name} has a default");
    }
}

#[test]
fn outputs_match_what_the_binary_writes() {
    let mut written: Vec<String> = OUTPUTS.iter().map(|s| s.to_string()).collect();
    written.sort();
    assert_eq!(keys(&action()["outputs"]), written);
}

#[test]
fn runs_a_published_image_by_version() {
    let action = action();
    assert_eq!(action["runs"]["using"], "docker");
    let image = action["runs"]["image"].as_str().expect("image");
    let version = format!(":v{}", env!("CARGO_PKG_VERSION"));
    assert!(
        image.starts_with("docker://") && image.ends_with(&version),
        "{image}"
    );
}
