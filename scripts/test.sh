#!/usr/bin/env bash
# Run every test of tailgate on a fresh machine: installs what the tests need (the
# moto server and cfn-lint for the AWS tests, hadolint for the Dockerfile), lints the
# action and the example template, then runs the whole Rust test suite. Safe to run
# again: installed tools are reused. Everything runs on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

# moto + cfn-lint; exports TAILGATE_REQUIRE_MOTO=1 so the AWS tests fail, not skip,
# without moto.
source .ci/aws-setup.sh
echo "== cfn-lint examples/aws"
cfn-lint --non-zero-exit-code error examples/aws/template.yaml

# hadolint on the Dockerfile; action.yml inputs vs the INPUT_* the binary reads.
bash .ci/github-checks.sh

cargo test --locked --all-targets
