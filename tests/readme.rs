//! The README stays true: it opens with the two commands, and its annotated config
//! is `examples/tailgate.yml` to the letter (which `config_valid` parses).

#[test]
fn readme_opens_with_the_two_commands() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block: Vec<&str> = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .unwrap()
        .lines()
        .collect();
    assert_eq!(block.len(), 2, "{block:?}");
    assert!(block[0].starts_with("cargo run --release -- demo"));
    assert!(block[1].starts_with("./scripts/test.sh"));
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(
        ci.contains("./scripts/test.sh"),
        "CI runs the README's test command"
    );
}

#[test]
fn readme_config_is_the_example_file() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/tailgate.yml"
    ))
    .unwrap();
    assert!(
        readme.contains(example.trim_end()),
        "README's tailgate.yml block differs from examples/tailgate.yml"
    );
}
