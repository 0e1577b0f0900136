//! `action.yml` agrees with the binary: the inputs it declares are the `INPUT_*`
//! variables the binary (or the install script) reads, each passed to the step that
//! reads it; the outputs are the ones the binary writes; every input is described
//! with a default; and the action is a composite that runs on the runner.

use serde_json::Value;
use tailgate::context::ACTION_INPUTS;
use tailgate::publish::workflow::OUTPUTS;

/// Inputs only the install steps read (scripts/action/install.sh), not the binary.
const INSTALL_INPUTS: [&str; 1] = ["INPUT_BUILD_FROM_SOURCE"];

fn steps(action: &Value) -> &Vec<Value> {
    action["runs"]["steps"].as_array().expect("runs.steps")
}

fn step<'a>(action: &'a Value, id: &str) -> &'a Value {
    steps(action)
        .iter()
        .find(|s| s["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("a step with id {id}"))
}

fn action() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml");
    serde_saphyr::from_str(&std::fs::read_to_string(path).expect("action.yml")).expect("YAML")
}

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("a mapping").keys().cloned().collect();
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
    let mut read: Vec<String> = ACTION_INPUTS
        .iter()
        .chain(INSTALL_INPUTS.iter())
        .map(|s| s.to_string())
        .collect();
    read.sort();
    let mut declared_sorted = declared.clone();
    declared_sorted.sort();
    assert_eq!(declared_sorted, read);
    for (name, input) in action["inputs"].as_object().expect("inputs") {
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
fn a_composite_passes_each_input_to_the_step_that_reads_it() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let run = step(&action, "run");
    assert_eq!(run["run"].as_str().map(str::trim), Some("tailgate"));
    for input in ACTION_INPUTS {
        let name = input.trim_start_matches("INPUT_").to_lowercase();
        assert_eq!(
            run["env"][input].as_str(),
            Some(format!("${{{{ inputs.{name} }}}}").as_str()),
            "the run step passes {input}"
        );
    }
    for input in INSTALL_INPUTS {
        let name = input.trim_start_matches("INPUT_").to_lowercase();
        for id in ["plan", "install"] {
            assert_eq!(
                step(&action, id)["env"][input].as_str(),
                Some(format!("${{{{ inputs.{name} }}}}").as_str())
            );
        }
    }
    for (name, output) in action["outputs"].as_object().expect("outputs") {
        assert_eq!(
            output["value"].as_str(),
            Some(format!("${{{{ steps.run.outputs.{name} }}}}").as_str()),
            "output {name}"
        );
    }
    // Every step of a composite names its shell or is a `uses:`.
    for s in steps(&action) {
        assert!(s["uses"].is_string() || s["shell"] == "bash", "{s:?}");
    }
}
