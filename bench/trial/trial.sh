#!/usr/bin/env bash
# Real-service trial of tailgate: a FastAPI + SQLite service (app.py) in several
# variants, each gated against base on 127.0.0.1.
#
#   bench/trial/trial.sh [VARIANT ...]     # default: readme n_plus_1 lost_cache drop_index add_index
#
# Env:
#   TAILGATE     the binary (default: a copy of $CARGO_TARGET_DIR/debug/tailgate, built if missing)
#   TRIAL_OUT    output folder (default: tailgate-out/trial); per variant: report.md,
#                tailgate-results.json, run.log, base.log, head.log
#   PYTHON       python3 with fastapi + uvicorn (pip install fastapi uvicorn)
#
# All load goes to the two servers this script starts on 127.0.0.1, for 10 rounds of 1 s
# per side and endpoint (tailgate.yml). Servers are killed on exit (trap).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
OUT="${TRIAL_OUT:-$ROOT/tailgate-out/trial}"
CONFIG="$HERE/tailgate.yml"
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(readme n_plus_1 lost_cache drop_index add_index)

if [ -z "${TAILGATE:-}" ]; then
  target="${CARGO_TARGET_DIR:-$ROOT/target}"
  if [ ! -x "$target/debug/tailgate" ]; then
    (cd "$ROOT" && cargo build)
  fi
  # a copy: the build folder may be rebuilt while the trial runs
  TAILGATE="$(mktemp -d)/tailgate"
  cp "$target/debug/tailgate" "$TAILGATE"
fi

"$PYTHON" -c 'import fastapi, uvicorn' 2>/dev/null || {
  echo "trial: $PYTHON needs fastapi and uvicorn (pip install fastapi uvicorn)" >&2
  exit 2
}

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
  VARIANT="$variant" PORT="$STARTED_PORT" "$PYTHON" "$HERE/app.py" >"$log" 2>&1 &
  PIDS+=("$!")
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
