#!/usr/bin/env bash
# Install the real servers the keep-alive tests run against (tests/real_servers.rs):
# uvicorn (pip, into the same python3 as moto) and express (npm ci into tests/node,
# from its committed package-lock.json). Idempotent. Source it, or run it and then
# export TAILGATE_REQUIRE_SERVERS=1 so a missing server fails those tests instead
# of skipping them.
set -euo pipefail

UVICORN_VERSION="${UVICORN_VERSION:-0.55.0}"
servers_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

py=python3
if ! command -v "$py" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq python3 python3-pip python3-venv
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq nodejs npm
fi

pip_install() {
  # Debian's python marks itself externally managed; pyenv's and venvs do not.
  "$py" -m pip install --quiet --disable-pip-version-check "$@" \
    || "$py" -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}

if ! "$py" -c "import uvicorn, sys; sys.exit(0 if uvicorn.__version__ == '$UVICORN_VERSION' else 1)" 2>/dev/null; then
  pip_install "uvicorn==$UVICORN_VERSION" || pip_install uvicorn
fi
if [ ! -d "$servers_root/tests/node/node_modules/express" ]; then
  (cd "$servers_root/tests/node" && npm ci --no-audit --no-fund --silent)
fi

"$py" -c "import uvicorn; print('uvicorn', uvicorn.__version__)"
echo "node $(node --version), express $(node -p "require('$servers_root/tests/node/node_modules/express/package.json').version")"
export TAILGATE_REQUIRE_SERVERS=1
