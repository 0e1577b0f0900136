#!/usr/bin/env bash
# Install what the AWS tests and checks need: the moto server (AWS stand-in on
# 127.0.0.1, started by the tests themselves) and cfn-lint (lints examples/aws).
# Idempotent; safe to run on every CI run. Source it, or run it and then export
# TAILGATE_REQUIRE_MOTO=1 so a missing moto fails the AWS tests instead of skipping.
set -euo pipefail

MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
CFN_LINT_VERSION="${CFN_LINT_VERSION:-1.58.0}"

py=python3
if ! command -v "$py" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq python3 python3-pip python3-venv
fi

pip_install() {
  # Debian's python marks itself externally managed; pyenv's and venvs do not.
  "$py" -m pip install --quiet --disable-pip-version-check "$@" \
    || "$py" -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}

if ! "$py" -c "import moto, sys; sys.exit(0 if moto.__version__ == '$MOTO_VERSION' else 1)" 2>/dev/null; then
  pip_install "moto[server]==$MOTO_VERSION" || pip_install "moto[server]"
fi
if ! command -v cfn-lint >/dev/null 2>&1; then
  pip_install "cfn-lint==$CFN_LINT_VERSION" || pip_install cfn-lint
fi

"$py" -c "import moto.server, moto; print('moto', moto.__version__)"
cfn-lint --version
export TAILGATE_REQUIRE_MOTO=1
