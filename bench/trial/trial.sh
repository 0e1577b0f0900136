#!/usr/bin/env bash
# Real-service trial of tailgate: a FastAPI + SQLite service (app.py), or an express +
# better-sqlite3 service with three HTTP backends (express/), in several variants, each
# gated against base on 127.0.0.1.
#
#   bench/trial/trial.sh [VARIANT ...]     # default: readme n_plus_1 lost_cache drop_index add_index select_star
#   APP=express bench/trial/trial.sh [VARIANT ...]
#                                          # default: every variant of express/app.js but base
#
# Env:
#   APP          fastapi (default: app.py, tailgate.yml) or express (express/app.js and
#                express/backend.js, express/tailgate.yml; `npm ci` in express/ when its
#                node_modules is missing: node 20 and npm, and a C++ toolchain for
#                better-sqlite3)
#   TAILGATE     the binary (default: a copy of $CARGO_TARGET_DIR/debug/tailgate, built if missing)
#   TRIAL_OUT    output folder (default: tailgate-out/trial, or tailgate-out/trial-express);
#                per variant: report.md, tailgate-results.json, run.log, base.log, head.log
#                (and backend-*.log for express)
#   PYTHON       python3 (with fastapi + uvicorn for APP=fastapi: pip install fastapi uvicorn)
#
# All load goes to the two servers this script starts on 127.0.0.1 (for express also to
# the three backends that both call, started per variant), for 10 rounds of 1 s per side
# and endpoint (tailgate.yml). Servers are killed on exit (trap).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
APP="${APP:-fastapi}"
case "$APP" in
  fastapi)
    OUT="${TRIAL_OUT:-$ROOT/tailgate-out/trial}"
    CONFIG="$HERE/tailgate.yml"
    DEFAULT_VARIANTS=(readme n_plus_1 lost_cache drop_index add_index select_star)
    ;;
  express)
    OUT="${TRIAL_OUT:-$ROOT/tailgate-out/trial-express}"
    CONFIG="$HERE/express/tailgate.yml"
    DEFAULT_VARIANTS=(readme serial n_plus_1 drop_index lost_cache select_star json_twice add_index batched)
    ;;
  *)
    echo "trial: APP must be fastapi or express, not $APP" >&2
    exit 2
    ;;
esac
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=("${DEFAULT_VARIANTS[@]}")

if [ -z "${TAILGATE:-}" ]; then
  target="${CARGO_TARGET_DIR:-$ROOT/target}"
  if [ ! -x "$target/debug/tailgate" ]; then
    (cd "$ROOT" && cargo build)
  fi
  # a copy: the build folder may be rebuilt while the trial runs
  TAILGATE="$(mktemp -d)/tailgate"
  cp "$target/debug/tailgate" "$TAILGATE"
fi

if [ "$APP" = fastapi ]; then
  "$PYTHON" -c 'import fastapi, uvicorn' 2>/dev/null || {
    echo "trial: $PYTHON needs fastapi and uvicorn (pip install fastapi uvicorn)" >&2
    exit 2
  }
else
  command -v node >/dev/null && command -v npm >/dev/null || {
    echo "trial: APP=express needs node (20) and npm" >&2
    exit 2
  }
  if [ ! -d "$HERE/express/node_modules" ]; then
    # better-sqlite3 builds from source when no prebuilt binary can be fetched: let
    # node-gyp use the installed node's headers instead of downloading them
    nodedir="$(dirname "$(dirname "$(command -v node)")")"
    if [ -z "${npm_config_nodedir:-}" ] && [ -f "$nodedir/include/node/common.gypi" ]; then
      export npm_config_nodedir="$nodedir"
    fi
    if [ -f "$HERE/express/package-lock.json" ]; then
      (cd "$HERE/express" && npm ci --no-audit --no-fund) >&2
    else
      (cd "$HERE/express" && npm install --no-audit --no-fund) >&2
    fi
  fi
  (cd "$HERE/express" && node -e 'require("express"); require("better-sqlite3")') || {
    echo "trial: express/node_modules is broken: remove it and run again" >&2
    exit 2
  }
fi

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    kill "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start VARIANT LOG: sets STARTED_PORT; the pid goes to PIDS (not in a subshell, so
# that the trap sees it)
start() {
  local variant="$1" log="$2"
  STARTED_PORT="$(free_port)"
  if [ "$APP" = fastapi ]; then
    VARIANT="$variant" PORT="$STARTED_PORT" "$PYTHON" "$HERE/app.py" >"$log" 2>&1 &
  else
    VARIANT="$variant" PORT="$STARTED_PORT" PRICING_URL="$PRICING_URL" \
      INVENTORY_URL="$INVENTORY_URL" REVIEWS_URL="$REVIEWS_URL" \
      node "$HERE/express/app.js" >"$log" 2>&1 &
  fi
  PIDS+=("$!")
}

# start_backends DIR (express): the three backends that base and head both call, each
# on its own port; sets PRICING_URL, INVENTORY_URL, REVIEWS_URL
start_backends() {
  local dir="$1" name port
  for name in pricing inventory reviews; do
    port="$(free_port)"
    node "$HERE/express/backend.js" "$name" "$port" >"$dir/backend-$name.log" 2>&1 &
    PIDS+=("$!")
    wait_ready "$port"
    printf -v "$(echo "$name" | tr a-z A-Z)_URL" '%s' "http://127.0.0.1:$port"
  done
}

wait_ready() {
  local port="$1" i
  for i in $(seq 1 150); do
    if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/health" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  echo "trial: server on port $port not ready after 30 s" >&2
  return 1
}

# One summary line (plus indented Why/improved lines) from the results JSON and report.
summarize() {
  local variant="$1" rc="$2" dir="$3"
  "$PYTHON" - "$variant" "$rc" "$dir" <<'PY'
import json, os, re, sys
variant, rc, d = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    r = json.load(open(os.path.join(d, "tailgate-results.json")))
except Exception as e:
    print(f"{variant:<11} exit={rc} NO RESULTS ({e})")
    sys.exit(0)
v = r.get("verdict") or {}
level = v.get("level", "?")

def count(x):
    if isinstance(x, dict):
        return sum(count(y) for y in x.values())
    if isinstance(x, (int, float)):
        return x
    return 0

errors = reconnects = replays = 0
saturated = []
for ep in r.get("endpoints", []):
    for rnd in ep.get("rounds", []):
        rec = rnd.get("data") or {}
        errors += count(rec.get("errors", {}))
        reconnects += rec.get("reconnects", 0) or 0
        replays += rec.get("replays", 0) or 0
        if rnd.get("generator_saturated"):
            saturated.append(ep.get("name"))
states = []
for c in r.get("comparisons", []):
    name = c.get("name") or c.get("endpoint")
    st = ",".join(
        f"{m.get('metric')}={m.get('state')}"
        for m in c.get("metrics", c.get("comparisons", []))
        if m.get("metric") in ("p50", "p99", "error_rate", "throughput")
    )
    states.append(f"{name}[{st}]")
sat = sorted(set(saturated))
print(
    f"{variant:<11} level={level} exit={rc} errors={errors:g} reconnects={reconnects:g} "
    f"replays={replays:g} saturated={','.join(sat) if sat else '-'}"
)
for s in states:
    print(f"    {s}")
try:
    rep = open(os.path.join(d, "report.md")).read().splitlines()
except OSError:
    rep = []
for line in rep:
    if line.startswith("base → head"):  # the legend names every state
        continue
    if "Why:" in line or re.search(r"improved", line, re.I):
        print(f"    | {line.strip()[:240]}")
PY
}

mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
for variant in "${VARIANTS[@]}"; do
  dir="$OUT/$variant"
  rm -rf "$dir"
  mkdir -p "$dir"
  [ "$APP" = fastapi ] || start_backends "$dir"
  start base "$dir/base.log"
  base_port="$STARTED_PORT"
  start "$variant" "$dir/head.log"
  head_port="$STARTED_PORT"
  wait_ready "$base_port"
  wait_ready "$head_port"
  export BASE_URL="http://127.0.0.1:$base_port" HEAD_URL="http://127.0.0.1:$head_port"
  echo "== $variant: base $BASE_URL, head $HEAD_URL" >&2
  t0=$(date +%s)
  set +e
  timeout 300 "$TAILGATE" run --config "$CONFIG" --base-url "$BASE_URL" --head-url "$HEAD_URL" \
    --out "$dir" --no-publish --quiet >"$dir/run.log" 2>&1
  rc=$?
  set -e
  echo "   $variant took $(( $(date +%s) - t0 )) s, exit $rc" >&2
  cleanup
  summarize "$variant" "$rc" "$dir" | tee -a "$SUMMARY"
done
echo "summary: $SUMMARY" >&2
