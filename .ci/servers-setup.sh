#!/usr/bin/env bash
# Install the real servers the keep-alive tests run against (tests/real_servers.rs):
# uvicorn and gunicorn (pip, into the same python3 as moto), express (npm ci into
# tests/node, from its committed package-lock.json) and nginx (Debian); and the
# services of the traces tests (tests/traces_real.rs), instrumented with the stock
# OpenTelemetry SDKs: the Python distro with the Starlette and sqlite3
# instrumentations and the OTLP/HTTP exporter (pip), and Node's
# auto-instrumentations with the SDK (npm ci into tests/otel/node). PyPI, npm and
# Debian only. Idempotent. Source it, or run it and then
# export TAILGATE_REQUIRE_SERVERS=1 so a missing server fails those tests instead
# of skipping them.
set -euo pipefail

UVICORN_VERSION="${UVICORN_VERSION:-0.55.0}"
GUNICORN_VERSION="${GUNICORN_VERSION:-27.0.1}"
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
if ! "$py" -c "import gunicorn" 2>/dev/null; then
  pip_install "gunicorn==$GUNICORN_VERSION" || pip_install gunicorn
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  # The tests start their own nginx on loopback: keep the package's service from
  # starting on port 80 during the install (policy-rc.d 101: "not allowed").
  policy=/usr/sbin/policy-rc.d
  created_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx
  [ -z "$created_policy" ] || rm -f "$policy"
fi
if [ ! -d "$servers_root/tests/node/node_modules/express" ]; then
  (cd "$servers_root/tests/node" && npm ci --no-audit --no-fund --silent)
fi

OTEL_PY_VERSION="${OTEL_PY_VERSION:-0.66b1}"
OTEL_PY_SDK_VERSION="${OTEL_PY_SDK_VERSION:-1.45.1}"
if ! command -v opentelemetry-instrument >/dev/null 2>&1 \
  || ! "$py" -c "import starlette, opentelemetry.instrumentation.starlette, opentelemetry.instrumentation.sqlite3, opentelemetry.exporter.otlp.proto.http" 2>/dev/null; then
  pip_install "starlette==1.10.0" \
    "opentelemetry-distro==$OTEL_PY_VERSION" \
    "opentelemetry-instrumentation-starlette==$OTEL_PY_VERSION" \
    "opentelemetry-instrumentation-asgi==$OTEL_PY_VERSION" \
    "opentelemetry-instrumentation-sqlite3==$OTEL_PY_VERSION" \
    "opentelemetry-sdk==$OTEL_PY_SDK_VERSION" \
    "opentelemetry-exporter-otlp-proto-http==$OTEL_PY_SDK_VERSION"
fi
if [ ! -f "$servers_root/tests/otel/node/node_modules/@opentelemetry/auto-instrumentations-node/package.json" ]; then
  (cd "$servers_root/tests/otel/node" && npm ci --no-audit --no-fund --silent)
fi

"$py" -c "import uvicorn; print('uvicorn', uvicorn.__version__)"
echo "gunicorn $("$py" -c "import gunicorn; print(gunicorn.__version__)"), $({ command -v nginx >/dev/null && nginx -v || /usr/sbin/nginx -v; } 2>&1)"
echo "node $(node --version), express $(node -p "require('$servers_root/tests/node/node_modules/express/package.json').version")"
echo "opentelemetry (python) $("$py" -c "import opentelemetry.version as v; print(v.__version__)"), auto-instrumentations-node $(node -p "require('$servers_root/tests/otel/node/node_modules/@opentelemetry/auto-instrumentations-node/package.json').version")"
export TAILGATE_REQUIRE_SERVERS=1
