#!/usr/bin/env bash
# Run every test of tailgate on a fresh machine: installs what the tests need (the
# moto server and cfn-lint for the AWS tests, uvicorn and express for the
# keep-alive tests against real servers, hadolint for the Dockerfile, Chromium,
# cmark-gfm and mermaid for the rendering check), lints the
# action and the example template, then runs the whole Rust test suite. Safe to run
# again: installed tools are reused. Everything runs on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

# moto + cfn-lint; exports TAILGATE_REQUIRE_MOTO=1 so the AWS tests fail, not skip,
# without moto.
source .ci/aws-setup.sh
echo "== cfn-lint examples/aws"
cfn-lint --non-zero-exit-code error examples/aws/template.yaml

# uvicorn and express for the keep-alive tests against real servers; exports
# TAILGATE_REQUIRE_SERVERS=1 so those tests fail, not skip, without them.
source .ci/servers-setup.sh

# hadolint on the Dockerfile; action.yml inputs vs the INPUT_* the binary reads.
bash .ci/github-checks.sh

# The demo's comment rendered as GitHub does, checked in headless Chromium
# (installs chromium, cmark-gfm and the pinned mermaid; PNG in tailgate-out/render/).
bash .ci/render-check.sh

# Run the suite, then close with one total over every test binary (the last
# binary to report may legitimately hold no tests).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --locked --all-targets 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "tests: $passed passed, $failed failed"
exit "$status"
