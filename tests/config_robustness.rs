//! No input makes the config stage panic: weird files are errors, each located.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tailgate::config::{self, ConfigError};

/// Parse `text`; it must be rejected, and every problem must be located.
#[track_caller]
fn rejected(text: &str) -> ConfigError {
    match config::parse(text, "weird.yml", Path::new(".")) {
        Ok(config) => panic!("accepted {text:?} as {config:#?}"),
        Err(e) => {
            assert_well_formed(&e);
            e
        }
    }
}

#[track_caller]
fn assert_well_formed(e: &ConfigError) {
    assert!(!e.problems.is_empty());
    for p in &e.problems {
        assert!(p.pos.line >= 1 && p.pos.column >= 1, "{p}");
        assert!(!p.message.is_empty() && !p.help.is_empty(), "{p}");
        assert!(p.to_string().starts_with("weird.yml:"), "{p}");
    }
}

const VALID_HEAD: &str =
    "deploy: { url: { base: \"http://127.0.0.1:1\", head: \"http://127.0.0.1:2\" } }\n";

#[test]
fn weird_inputs_are_errors_not_panics() {
    let deep_list = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_map = format!("{}1{}", "{a: ".repeat(5_000), "}".repeat(5_000));
    let deep_block: String = (0..300)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let long_key = format!("{}: 1\n", "k".repeat(100_000));
    let many_keys: String = (0..5_000).map(|i| format!("key{i}: {i}\n")).collect();
    let inputs: Vec<String> = vec![
        String::new(),
        " ".to_string(),
        "\n\n\n".to_string(),
        "~".to_string(),
        "null".to_string(),
        "[]".to_string(),
        "{}".to_string(),
        "123".to_string(),
        "\"just a string\"".to_string(),
        "-".to_string(),
        ":".to_string(),
        "? [a, b]\n: c\n".to_string(),
        "{[1]: 2}".to_string(),
        deep_list,
        deep_map,
        deep_block,
        long_key,
        many_keys,
        "mode: 1e400\n".to_string(),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ connections: 1e400 }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ connections: 99999999999999999999999999 }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ connections: -1 }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ duration: 99999999999999h }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\ndefaults: {{ slo: {{ min_throughput: 1e400 }} }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\ncompare: {{ seed: -0 }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ rate: 1e400 }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ rate: \"{}/s\" }}\n", "9".repeat(400)),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ rate: NaN }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ ladder: [99999999999999999999999] }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ ladder: {{ rate: [.inf] }} }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ ladder: [[[1]]] }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ ladder: {{ rate: {{ a: 1 }} }} }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ ladder: {{ [1]: 2 }} }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\nload: {{ http: [2] }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: \"/{{{{item}}}}\", items: [[[[]]]] }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: \"/{{{{item}}}}\", items: {{ a: 1 }} }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: \"/{{{{item}}}}\", items: [\"\\0\"] }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: \"/{{{{item}}}}\", items_file: \"\\0.csv\" }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: \"/{{{{item}}}}\", items_file: \"/\" }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: \"/{{{{item}}}}\", items_file: \".json\" }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: \"/{{{{item}}}}\", items_file: \"src/config/\" }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: \"/{{{{\", body: \"}}}}{{{{itme}}}}\" }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: \"/{{{{item}}}}\", items: [\"é😀\", \"a b\"] }}]\n"),
        format!("{VALID_HEAD}tls: {{ ca_file: \"\\0\" }}\nendpoints: [{{ path: /a }}]\n"),
        format!("{VALID_HEAD}tls: {{ ca_file: Cargo.toml }}\nendpoints: [{{ path: /a }}]\n"),
        format!("{VALID_HEAD}tls: [1]\nendpoints: [{{ path: /a }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a }}]\ncompare: {{ noise_floor: \"1e400%\" }}\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a, expect_status: 65536 }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a, expect_status: [[200]] }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: \"/é/😀\", name: \"日本語\", method: \"ПОСТ\" }}]\n"),
        format!("{VALID_HEAD}endpoints: [{{ path: /a, headers: {{ \"😀\": \"é\" }} }}]\n"),
        format!("{VALID_HEAD}endpoints:\n  - path: /a\n    load: {{ duration: \"\u{0}\" }}\n"),
        "\u{feff}\u{feff}mode: x\n".to_string(),
        "mode: \u{7}\n".to_string(),
        "\u{0}\u{1}\u{2}\u{3}".to_string(),
        "key: \"\\uD800\"\n".to_string(),
        "a: &x [*x]\n".to_string(),
        "a: &a [1]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n".to_string(),
        "%YAML 1.2\n%TAG ! tag:x,2000:\n---\nmode: !weird blocking\n".to_string(),
        "mode: !!binary aGVsbG8=\n".to_string(),
        "endpoints: !!map {}\n".to_string(),
        "...\n".to_string(),
        "--- |\n  text\n".to_string(),
        "\t".to_string(),
        "'".to_string(),
        "\"\\".to_string(),
        "&".to_string(),
        "*".to_string(),
        "!".to_string(),
        "{".to_string(),
        "[".to_string(),
        "a:\n  - b\n  c: d\n".to_string(),
    ];
    for text in &inputs {
        let result = std::panic::catch_unwind(|| {
            let _ = config::parse(text, "weird.yml", Path::new("."));
        });
        assert!(result.is_ok(), "panicked on {:?}", truncate(text));
        rejected(text);
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[test]
fn binary_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for i in 0..20 {
        let path = dir.path().join(format!("bin{i}.yml"));
        let len = rng.gen_range(1..512);
        let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        std::fs::write(&path, &bytes).expect("write");
        let err = config::load(&path).expect_err("random bytes are not a config");
        assert!(err.to_string().contains("bin"), "{err}");
        for p in &err.problems {
            assert!(p.pos.line >= 1 && p.pos.column >= 1);
        }
    }
    let dir_as_file = config::load(dir.path()).expect_err("a directory");
    assert!(dir_as_file.problems[0].message.contains("cannot read"));
}

/// Mutations of the annotated example: deleted, repeated and replaced bytes.
/// Deterministic (seeded); checks only that nothing panics and that errors are
/// located.
#[test]
fn mutated_example_never_panics() {
    mutations_never_panic("examples", 7);
}

/// The same over the AWS example: the `cloudformation` deployer and the cost model.
#[test]
fn mutated_aws_example_never_panics() {
    mutations_never_panic("examples/aws", 11);
}

/// 1,000,000 mutations of both examples (with arbitrary text mixed in). Slow in a
/// debug build: `scripts/fuzz.sh` runs it in release.
#[test]
#[ignore = "1,000,000 inputs: scripts/fuzz.sh"]
fn fuzz_one_million() {
    mutations(("examples", 101), 500_000);
    mutations(("examples/aws", 103), 500_000);
}

fn mutations_never_panic(folder: &str, seed: u64) {
    mutations((folder, seed), 1500);
}

fn mutations((folder, seed): (&str, u64), cases: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let example = std::fs::read_to_string(dir.join("tailgate.yml")).expect("example");
    let chars: Vec<char> = example.chars().collect();
    let alphabet: Vec<char> = " \t\n:-[]{}#&*!|>'\"%@`,?~0123456789.smhux+$MkB"
        .chars()
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..cases {
        let mut text = chars.clone();
        for _ in 0..rng.gen_range(1..4) {
            let at = rng.gen_range(0..text.len());
            match rng.gen_range(0..3) {
                0 => {
                    text.remove(at);
                }
                1 => {
                    let c = text.get(at).copied().unwrap_or(' ');
                    text.insert(at, c);
                }
                _ => {
                    let c = alphabet.get(rng.gen_range(0..alphabet.len())).copied();
                    if let (Some(slot), Some(c)) = (text.get_mut(at), c) {
                        *slot = c;
                    }
                }
            }
        }
        let text: String = text.into_iter().collect();
        match std::panic::catch_unwind(|| config::parse(&text, "weird.yml", &dir)) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => assert_well_formed(&e),
            Err(_) => panic!("panicked on:\n{text}"),
        }
    }
}
