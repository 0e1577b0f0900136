//! The results file, snapshot-tested: an honest run's `tailgate-results.json`
//! (rounds with their compressed histograms, the comparison and the verdict
//! recomputed from them, as `tailgate run` and `tailgate compare` write it), so a
//! change of the file's shape or of any number in it shows in review.

mod common;

use common::standin::HEAD_SHA;

#[test]
fn an_honest_results_file() {
    let results = common::measured_results(HEAD_SHA, 4242, 2.1);
    // Written as `run`, `compare` and `merge` write it (each check worded
    // beside its numbers).
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, path) = tailgate::gate::write_outputs(dir.path(), &results, "report").expect("write");
    let json = std::fs::read_to_string(path).expect("read");
    insta::assert_snapshot!("results_file", json);
    // What was written reads back to the same file.
    let again = tailgate::results::parse(&json, "tailgate-results.json").expect("parse");
    // Every number, to the last bit (serde_json's `float_roundtrip`): a
    // recomputed comparison must start from the values that were written.
    assert_eq!(serde_json::to_string_pretty(&again).unwrap(), json);
}
