#!/usr/bin/env bash
# What the W3C `traceparent` costs the load engine (`traces:`, issue 27).
#
# nginx (one worker, access log off, a small static response) on 127.0.0.1 pinned
# to core 0; `tailgate bench` pinned to core 1, 50 connections, HTTP/1.1
# keep-alive, alternately without and with `--traceparent 50` (the gate's default
# sampling: 50 requests of the phase carry a sampled `traceparent`, every other
# one the same unsampled value, rendered once). ROUNDS rounds of DURATION each, the
# order swapped every round. Reported: the median req/s and requests per generator
# CPU-second (user + sys, /usr/bin/time) of each, and with / without as ratios.
#
#   bench/traceparent.sh                      # 7 rounds x 10 s, release build
#   ROUNDS=5 DURATION=5 bench/traceparent.sh
#   TAILGATE_BIN=target/debug/tailgate bench/traceparent.sh   # an existing binary
#
# Noise on a shared 2-core machine is several percent per run: read the medians.

source "$(dirname "$0")/lib.sh"

ROUNDS="${ROUNDS:-7}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-50}"
PER_ROUND="${PER_ROUND:-50}"
MODES=(without with)

need_tools nginx time taskset
if [ -n "${TAILGATE_BIN:-}" ]; then
  TAILGATE="$TAILGATE_BIN"
  log "using $TAILGATE (not rebuilt)"
else
  build_tailgate
fi
start_nginx

# run_mode MODE [SECONDS]: one run pinned to GEN_CPU; prints "REQ_PER_SEC CPU_SECONDS".
run_mode() {
  local mode="$1" secs="${2:-$DURATION}" out="$WORK/$1.out" timing="$WORK/$1.time" rps
  local -a extra=()
  [ "$mode" = with ] && extra=(--traceparent "$PER_ROUND")
  /usr/bin/time -f "%e %U %S" -o "$timing" taskset -c "$GEN_CPU" \
    "$TAILGATE" bench "$NGINX_URL" -c "$CONNS" -d "${secs}s" "${extra[@]}" >"$out" 2>&1
  rps="$(awk '/Requests\/sec:/ {print $2}' "$out")"
  if [ -z "$rps" ]; then
    echo "could not read the rate of tailgate bench ($mode); its output:" >&2
    cat "$out" >&2
    exit 1
  fi
  awk -v rps="$rps" '{print rps, $2 + $3}' "$timing"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

log "warm-up: 2 s each"
for mode in "${MODES[@]}"; do
  run_mode "$mode" 2 >/dev/null
done
: >"$WORK/results"
for round in $(seq 1 "$ROUNDS"); do
  for i in 0 1; do
    mode="${MODES[$(((i + round - 1) % 2))]}"
    run_mode "$mode" >"$WORK/last"
    read -r rps cpu <"$WORK/last"
    per_cpu="$(awk -v r="$rps" -v c="$cpu" -v d="$DURATION" 'BEGIN {printf "%.0f", (c > 0 ? r * d / c : 0)}')"
    log "round $round/$ROUNDS $mode traceparent: $rps req/s, ${cpu} CPU-s, $per_cpu req per CPU-s"
    echo "$mode $rps $cpu $per_cpu" >>"$WORK/results"
  done
done

declare -A MED_RPS MED_EFF RUNS
for mode in "${MODES[@]}"; do
  MED_RPS[$mode]="$(awk -v t="$mode" '$1 == t {print $2}' "$WORK/results" | median)"
  MED_EFF[$mode]="$(awk -v t="$mode" '$1 == t {print $4}' "$WORK/results" | median)"
  RUNS[$mode]="$(awk -v t="$mode" '$1 == t {printf "%s%.0f", sep, $2; sep=", "}' "$WORK/results")"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}'; }
echo
echo "### traceparent cost: tailgate bench against nginx (1 worker, core $SERVER_CPU), generator on core $GEN_CPU, $CONNS connections, HTTP/1.1, $ROUNDS x ${DURATION} s alternated"
echo
echo "| traceparent | median req/s | runs (req/s) | median req per CPU-s |"
echo "| --- | ---: | --- | ---: |"
for mode in "${MODES[@]}"; do
  printf '| %s | %.0f | %s | %.0f |\n' "$mode" "${MED_RPS[$mode]}" "${RUNS[$mode]}" "${MED_EFF[$mode]}"
done
echo
echo "with / without: req/s $(ratio "${MED_RPS[with]}" "${MED_RPS[without]}"), req per CPU-s $(ratio "${MED_EFF[with]}" "${MED_EFF[without]}")"
echo "($(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d), $TAILGATE)"
