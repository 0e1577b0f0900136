#!/usr/bin/env bash
# The long fuzzing runs: 1,000,000 inputs for each parser of outside input, in a
# release build (the 10,000-case versions of the same properties run in the test
# suite). Not part of CI (minutes per target); run it before a release, or with
# TARGETS="fuzz_http" for one. Prints each target's cases and wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=${TARGETS:-"config_robustness fuzz_events fuzz_results fuzz_http fuzz_server_timing fuzz_otlp aws_report_fuzz"}
cargo test --release --locked --no-run $(printf -- '--test %s ' $targets) >/dev/null
for t in $targets; do
  start=$(date +%s)
  cargo test --release --locked --test "$t" -- --ignored --exact fuzz_one_million --quiet 2>&1 | grep -E "test result|panicked|FAILED" || true
  echo "fuzz: $t: 1,000,000 inputs in $(( $(date +%s) - start )) s"
done
