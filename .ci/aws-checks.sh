#!/usr/bin/env bash
# AWS checks: lint the example template with cfn-lint, then run the AWS tests with
# moto required (TAILGATE_REQUIRE_MOTO=1: a missing moto fails instead of skipping).
# Everything runs on loopback; no AWS account, no internet.
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/aws-setup.sh

echo "== cfn-lint examples/aws"
cfn-lint --non-zero-exit-code error examples/aws/template.yaml

echo "== AWS tests (moto on 127.0.0.1, fake AWS endpoints, REPORT parser proptest)"
TAILGATE_REQUIRE_MOTO=1 cargo test --test aws_moto --test aws_moto_logs --test aws_fake --test aws_report_fuzz --test aws_command

if [[ "${TAILGATE_FUZZ_MILLION:-0}" == "1" ]]; then
  echo "== REPORT parser: 1,000,000 proptest inputs"
  cargo test --release --test aws_report_fuzz -- --ignored
fi
