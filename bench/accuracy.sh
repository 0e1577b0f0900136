#!/usr/bin/env bash
# Accuracy of tailgate's latencies against known truths (test servers from
# tests/common, run as the bench-servers example, pinned to core 0; tailgate on
# core 1):
#
# 1. A known delay distribution: 98.5 % at 2 ms, 1.5 % uniform in 20-100 ms. (With
#    exactly 1 % slow, p99 would sit on the step between 2 and 20 ms, where any
#    value between is "right"; 1.5 % puts p99 inside the tail, near 47 ms.) The
#    server records its own service times; tailgate's p50/p99/p99.9 must be within
#    5 % of them, in a closed loop and in an open loop.
# 2. Coordinated omission: a server that stalls 500 ms every 5 s and otherwise
#    takes 3 ms. Open loop at 200 req/s with 10 connections over 30 s (six whole
#    cycles): 10 % of the requests wait 0-500 ms, so the true p95/p99/p99.9 are
#    253/453/498 ms; tailgate must be within 10 %, with every planned request sent
#    or reported unsent. The closed loop against the same server is shown too,
#    labelled as such: it hides the stall.
#
#   bench/accuracy.sh
#   DIST_SECONDS=10 STALL_SECONDS=30 bench/accuracy.sh

source "$(dirname "$0")/lib.sh"

DIST_SECONDS="${DIST_SECONDS:-20}"
STALL_SECONDS="${STALL_SECONDS:-30}"
FAILED=0

need_tools time taskset
build_tailgate

# field JSON EXPR: evaluate a Python expression over the report `r` and phase `p`.
field() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
p = r["endpoints"][0]["phases"][0]
print(eval(sys.argv[2]))
EOF
}

# row NAME GOT TRUTH TOLERANCE_PERCENT: a table row, and FAILED=1 when outside.
row() {
  local verdict
  verdict="$(awk -v g="$2" -v t="$3" -v tol="$4" 'BEGIN {e = (g - t) / t * 100; printf "%+.1f %% | %s", e, ((e < 0 ? -e : e) <= tol ? "ok" : "OUT")}')"
  printf '| %s | %.2f | %.2f | %s |\n' "$1" "$2" "$3" "$verdict"
  case "$verdict" in *OUT) FAILED=1 ;; esac
}

bench() {
  # bench JSON ARGS...: tailgate bench pinned to the generator core.
  local json="$1"
  shift
  taskset -c "$GEN_CPU" "$TAILGATE" bench "$@" --json "$json" >"$json.txt" 2>&1
}

echo "### Accuracy against a known delay distribution (98.5 % 2 ms, 1.5 % 20-100 ms), server-side truth, tolerance 5 %"
echo
echo "| run, percentile | tailgate ms | server ms | error | |"
echo "| --- | ---: | ---: | ---: | --- |"
start_server delays 2 0.015 20 100
for mode in closed open; do
  server_cmd reset >/dev/null
  if [ "$mode" = closed ]; then
    bench "$WORK/dist-$mode.json" "$SERVER_URL/" -c 10 -d "${DIST_SECONDS}s"
  else
    bench "$WORK/dist-$mode.json" "$SERVER_URL/" -r 1000 -c 20 -d "${DIST_SECONDS}s"
  fi
  read -r _ _ s50 _ s99 _ s999 _ _ _ n <<<"$(server_cmd stats)"
  label="$mode loop, $(field "$WORK/dist-$mode.json" 'p["ok"]') requests (server saw $n)"
  row "$label, p50" "$(field "$WORK/dist-$mode.json" 'p["latency"]["p50"]')" "$s50" 5
  row "$label, p99" "$(field "$WORK/dist-$mode.json" 'p["latency"]["p99"]')" "$s99" 5
  row "$label, p99.9" "$(field "$WORK/dist-$mode.json" 'p["latency"]["p999"]')" "$s999" 5
done
stop_server

echo
echo "### Coordinated omission: a stall of 500 ms every 5 s (3 ms otherwise), open loop 200 req/s, 10 connections, ${STALL_SECONDS} s; tolerance 10 %"
echo
echo "| percentile | tailgate ms | truth ms | error | |"
echo "| --- | ---: | ---: | ---: | --- |"
start_server stall 5000 500 3
bench "$WORK/stall-open.json" "$SERVER_URL/" -r 200 -c 10 -d "${STALL_SECONDS}s"
row "p95" "$(field "$WORK/stall-open.json" 'p["latency"]["p95"]')" 253 10
row "p99" "$(field "$WORK/stall-open.json" 'p["latency"]["p99"]')" 453 10
row "p99.9" "$(field "$WORK/stall-open.json" 'p["latency"]["p999"]')" 498 10
accounting="$(field "$WORK/stall-open.json" \
  '"planned %d = ok %d + errors %d + unsent %d; achieved %.1f req/s; %s" % (p["pacing"]["planned"], p["ok"], sum(p["errors"].values()), p["pacing"]["unsent"], p["pacing"]["achieved_rate"], "valid" if p["pacing"]["valid"] else "INVALID")')"
balanced="$(field "$WORK/stall-open.json" \
  'p["pacing"]["planned"] == p["ok"] + sum(p["errors"].values()) + p["pacing"]["unsent"]')"
echo
echo "Open loop: $accounting"
[ "$balanced" = True ] || FAILED=1
bench "$WORK/stall-closed.json" "$SERVER_URL/" -c 10 -d 10s
echo
echo "Same server, $(field "$WORK/stall-closed.json" 'r["endpoints"][0]["profile"]'):" \
  "p95 $(field "$WORK/stall-closed.json" 'p["latency"]["p95"]') ms," \
  "p99 $(field "$WORK/stall-closed.json" 'p["latency"]["p99"]') ms" \
  "(latency from $(field "$WORK/stall-closed.json" 'r["endpoints"][0]["latency_from"].split(" (")[0]'): the stall is hidden)"
stop_server

echo
echo "($(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d))"
if [ "$FAILED" != 0 ]; then
  echo "FAIL: a figure is outside its tolerance" >&2
  exit 1
fi
