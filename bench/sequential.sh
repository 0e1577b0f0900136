#!/usr/bin/env bash
# Time to verdict: the sequential gate next to the fixed design, on loopback
# services with known effects (the bench-servers `delays` server: 95 % of
# requests at 2 ms, 5 % uniform in 20-100 ms, so p99 (84 ms) lies inside the slow
# requests rather than on their edge; head's every delay multiplied by
# the effect, so head p99 / base p99 is the effect exactly).
#
# For each effect (x1.00, x1.10, x3.00) and each design it runs REPEATS gates of
# one endpoint (closed loop, 8 connections, 1 s rounds, at most ROUNDS rounds,
# p99 budget +10 %):
#   sequential  compare.min_rounds 4: looks every 2 rounds, stops when decided
#   fixed       compare.min_rounds = rounds: one look, at the end
# and prints, per effect and design, the verdicts, the rounds used and the wall
# time of the measuring (the results file's endpoints[].stop), with the ratio of
# the sequential wall time to the fixed one.
#
#   bench/sequential.sh
#   REPEATS=3 ROUNDS=24 bench/sequential.sh
#
# Servers on core 0, tailgate on core 1. Only 127.0.0.1 servers started here are
# loaded; every gate is bounded by its rounds.

source "$(dirname "$0")/lib.sh"

REPEATS="${REPEATS:-2}"
ROUNDS="${ROUNDS:-16}"
EFFECTS="${EFFECTS:-1.00 1.10 3.00}"

need_tools taskset
build_tailgate

# serve NAME EFFECT: a delays server with every delay times EFFECT; sets URL.
# Its stdin is a FIFO held open here (the server exits at EOF on stdin).
serve() {
  local name="$1" effect="$2"
  local fast slow_min slow_max
  fast=$(python3 -c "print(2 * $effect)")
  slow_min=$(python3 -c "print(20 * $effect)")
  slow_max=$(python3 -c "print(100 * $effect)")
  mkfifo "$WORK/$name.in"
  exec {fd}<>"$WORK/$name.in"
  taskset -c "$SERVER_CPU" "$SERVERS" delays "$fast" 0.05 "$slow_min" "$slow_max" \
    <&"$fd" >"$WORK/$name.out" 2>&1 &
  PIDS+=("$!")
  local i
  for i in $(seq 1 100); do
    if grep -q "listening on" "$WORK/$name.out" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  URL=$(sed -n 's/^listening on //p' "$WORK/$name.out")
  [ -n "$URL" ] || { echo "the $name server did not start" >&2; exit 1; }
}

# gate EFFECT DESIGN REP: one gate; appends "EFFECT|DESIGN|LEVEL|ROUNDS|SECONDS|P99".
gate() {
  local effect="$1" design="$2" rep="$3"
  local dir="$WORK/$effect-$design-$rep"
  local min_rounds=4
  [ "$design" = fixed ] && min_rounds="$ROUNDS"
  mkdir -p "$dir"
  cat >"$dir/tailgate.yml" <<EOF
mode: blocking
deploy:
  url:
    base: "$BASE_URL"
    head: "$HEAD_URL"
load: { connections: 8, duration: 1s, warmup: 300ms, timeout: 5s }
compare: { rounds: $ROUNDS, min_rounds: $min_rounds, seed: $((rep * 7919)) }
defaults:
  budget: { p99: +10% }
endpoints:
  - path: /
EOF
  taskset -c "$GEN_CPU" "$TAILGATE" run --config "$dir/tailgate.yml" --out "$dir/out" \
    >"$dir/stdout" 2>"$dir/stderr" || true
  python3 - "$dir/out/tailgate-results.json" "$effect" "$design" >>"$WORK/rows" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e = r["endpoints"][0]
stop = e.get("stop") or {}
rounds = stop.get("rounds", len(e["rounds"]) // 2)
seconds = stop.get("elapsed_ms", 0) / 1000
p99 = next((m for m in r["comparisons"][0]["metrics"] if m["metric"] == "p99"), {})
change = (p99.get("change") or {}).get("point")
print(f"{sys.argv[2]}|{sys.argv[3]}|{r['verdict']['level']}|{p99.get('state', '?')}|{rounds}|{seconds:.1f}|{change}")
PY
  log "x$effect $design #$rep: $(tail -n 1 "$WORK/rows")"
}

: >"$WORK/rows"
for effect in $EFFECTS; do
  serve "base-$effect" 1
  BASE_URL="$URL"
  serve "head-$effect" "$effect"
  HEAD_URL="$URL"
  for rep in $(seq 1 "$REPEATS"); do
    for design in sequential fixed; do
      gate "$effect" "$design" "$rep"
    done
  done
done

python3 - "$WORK/rows" "$ROUNDS" <<'PY'
import sys
from collections import defaultdict
rows = [l.strip().split("|") for l in open(sys.argv[1]) if l.strip()]
most = int(sys.argv[2])
cells = defaultdict(list)
for effect, design, level, state, rounds, seconds, change in rows:
    cells[(effect, design)].append((level, state, int(rounds), float(seconds)))
print(f"\nat most {most} rounds per side, 1 s rounds, 8 connections, p99 budget +10 %\n")
print("| head p99 / base | design | verdicts | p99 states | rounds used (mean) | wall time (mean) | sequential / fixed |")
print("|---|---|---|---|---|---|---|")
for effect in dict.fromkeys(e for e, _ in cells):
    fixed = cells.get((effect, "fixed"), [])
    fixed_mean = sum(s for *_, s in fixed) / len(fixed) if fixed else 0
    for design in ("sequential", "fixed"):
        runs = cells.get((effect, design), [])
        if not runs:
            continue
        mean_rounds = sum(r for _, _, r, _ in runs) / len(runs)
        mean_s = sum(s for *_, s in runs) / len(runs)
        levels = ", ".join(sorted(set(l for l, *_ in runs)))
        states = ", ".join(sorted(set(s for _, s, *_ in runs)))
        ratio = f"x{mean_s / fixed_mean:.2f}" if design == "sequential" and fixed_mean else ""
        print(f"| x{effect} | {design} | {levels} | {states} | {mean_rounds:.1f} | {mean_s:.1f} s | {ratio} |")
PY
