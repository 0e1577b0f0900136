#!/usr/bin/env bash
# Run every test of tailgate on a fresh machine: installs what the tests need
# (the moto server for the AWS tests, hadolint for the Dockerfile), then runs the
# Rust test suite. Safe to run again: installed tools are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

for setup in .ci/aws-setup.sh .ci/github-checks.sh; do
  if [ -f "$setup" ]; then
    bash "$setup"
  fi
done

cargo test --locked --all-targets
