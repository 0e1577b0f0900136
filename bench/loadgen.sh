#!/usr/bin/env bash
# Throughput and efficiency of tailgate's load engine against wrk, h2load and oha.
#
# nginx (one worker, access log off, a small static response) on 127.0.0.1 pinned
# to core 0, each generator pinned to core 1, 50 connections, HTTP/1.1 keep-alive.
# The tools run alternately (the order rotates each round) for ROUNDS rounds of
# DURATION each, so drift of the machine hits them alike. Reported per tool: the
# median req/s, and requests per generator CPU-second (user + sys of the generator
# process, from /usr/bin/time), with tailgate's ratio to each peer. Noise on a
# shared 2-core machine is +/-20 %: compare medians of several rounds, not runs.
#
#   bench/loadgen.sh                 # 5 rounds x 10 s, then the memory check
#   ROUNDS=3 DURATION=5 bench/loadgen.sh
#   bench/loadgen.sh --memory-only   # 10 million requests, peak RSS < 64 MB
#   bench/loadgen.sh --no-memory
#
# Installs what is missing: wrk and h2load (nghttp2-client) and nginx with
# apt-get, oha with `cargo install oha --locked`.

source "$(dirname "$0")/lib.sh"

ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-50}"
MEMORY_REQUESTS="${MEMORY_REQUESTS:-10000000}"
MEMORY_LIMIT_KB="${MEMORY_LIMIT_KB:-65536}"
TOOLS=(tailgate wrk h2load oha)

throughput=1
memory=1
for arg in "$@"; do
  case "$arg" in
    --memory-only) throughput=0 ;;
    --no-memory) memory=0 ;;
    *) echo "usage: $0 [--memory-only | --no-memory]" >&2; exit 2 ;;
  esac
done

need_tools wrk h2load oha nginx time taskset
build_tailgate
start_nginx

# run_tool TOOL: one run pinned to GEN_CPU; prints "REQ_PER_SEC CPU_SECONDS".
run_tool() {
  local tool="$1" out="$WORK/$1.out" timing="$WORK/$1.time" rps
  local -a cmd
  case "$tool" in
    tailgate) cmd=("$TAILGATE" bench "$NGINX_URL" -c "$CONNS" -d "${DURATION}s") ;;
    wrk) cmd=(wrk -t1 -c "$CONNS" -d "${DURATION}s" "$NGINX_URL") ;;
    h2load) cmd=(h2load --h1 -t1 -c "$CONNS" -D "$DURATION" "$NGINX_URL") ;;
    oha) cmd=(oha --no-tui -c "$CONNS" -z "${DURATION}s" "$NGINX_URL") ;;
  esac
  /usr/bin/time -f "%e %U %S" -o "$timing" taskset -c "$GEN_CPU" "${cmd[@]}" >"$out" 2>&1
  case "$tool" in
    tailgate | wrk) rps="$(awk '/Requests\/sec:/ {print $2}' "$out")" ;;
    h2load) rps="$(awk '/^finished in/ {print $4}' "$out")" ;;
    oha) rps="$(awk '/Requests\/sec:/ {print $2}' "$out")" ;;
  esac
  if [ -z "$rps" ]; then
    echo "could not read the rate of $tool; its output:" >&2
    cat "$out" >&2
    exit 1
  fi
  awk -v rps="$rps" '{print rps, $2 + $3}' "$timing"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

if [ "$throughput" = 1 ]; then
  log "warm-up: 2 s per tool"
  for tool in "${TOOLS[@]}"; do
    DURATION=2 run_tool "$tool" >/dev/null
  done
  : >"$WORK/results"
  for round in $(seq 1 "$ROUNDS"); do
    # Rotate the order each round.
    n=${#TOOLS[@]}
    for i in $(seq 0 $((n - 1))); do
      tool="${TOOLS[$(((i + round - 1) % n))]}"
      run_tool "$tool" >"$WORK/last"
      read -r rps cpu <"$WORK/last"
      per_cpu="$(awk -v r="$rps" -v c="$cpu" -v d="$DURATION" 'BEGIN {printf "%.0f", (c > 0 ? r * d / c : 0)}')"
      log "round $round/$ROUNDS $tool: $rps req/s, ${cpu} CPU-s, $per_cpu req per CPU-s"
      echo "$tool $rps $cpu $per_cpu" >>"$WORK/results"
    done
  done

  declare -A MED_RPS MED_EFF RUNS
  for tool in "${TOOLS[@]}"; do
    MED_RPS[$tool]="$(awk -v t="$tool" '$1 == t {print $2}' "$WORK/results" | median)"
    MED_EFF[$tool]="$(awk -v t="$tool" '$1 == t {print $4}' "$WORK/results" | median)"
    RUNS[$tool]="$(awk -v t="$tool" '$1 == t {printf "%s%.0f", sep, $2; sep=", "}' "$WORK/results")"
  done
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
  echo
  echo "### Load generators against nginx (1 worker, core $SERVER_CPU), generator on core $GEN_CPU, $CONNS connections, HTTP/1.1, $ROUNDS x ${DURATION} s alternated"
  echo
  echo "| tool | median req/s | runs (req/s) | median req per CPU-s | tailgate / tool (req/s) | tailgate / tool (req per CPU-s) |"
  echo "| --- | ---: | --- | ---: | ---: | ---: |"
  for tool in "${TOOLS[@]}"; do
    printf '| %s | %.0f | %s | %.0f | %s | %s |\n' "$tool" "${MED_RPS[$tool]}" "${RUNS[$tool]}" \
      "${MED_EFF[$tool]}" "$(ratio "${MED_RPS[tailgate]}" "${MED_RPS[$tool]}")" \
      "$(ratio "${MED_EFF[tailgate]}" "${MED_EFF[$tool]}")"
  done
  best_peer="$(for t in wrk h2load oha; do echo "${MED_RPS[$t]} $t"; done | sort -g | tail -1)"
  echo
  echo "tailgate / best peer (${best_peer#* }) req/s: $(ratio "${MED_RPS[tailgate]}" "${best_peer%% *}"); tailgate / wrk req per CPU-s: $(ratio "${MED_EFF[tailgate]}" "${MED_EFF[wrk]}")"
  echo "($(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d))"
fi

if [ "$memory" = 1 ]; then
  log "memory: $MEMORY_REQUESTS requests against nginx, $CONNS connections"
  /usr/bin/time -v -o "$WORK/mem.time" taskset -c "$GEN_CPU" \
    "$TAILGATE" bench "$NGINX_URL" -c "$CONNS" -n "$MEMORY_REQUESTS" >"$WORK/mem.out" 2>&1
  rss_kb="$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/mem.time")"
  total="$(awk '$2 == "requests" && $3 == "in" {print $1}' "$WORK/mem.out")"
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/mem.time")"
  echo
  echo "### Memory: tailgate bench -c $CONNS -n $MEMORY_REQUESTS against nginx"
  echo
  echo "| requests | wall | peak RSS | limit |"
  echo "| ---: | ---: | ---: | ---: |"
  printf '| %s | %s | %.1f MB | %.0f MB |\n' "$total" "$wall" "$(awk -v k="$rss_kb" 'BEGIN {print k / 1024}')" \
    "$(awk -v k="$MEMORY_LIMIT_KB" 'BEGIN {print k / 1024}')"
  if [ "$rss_kb" -ge "$MEMORY_LIMIT_KB" ]; then
    echo "FAIL: peak RSS ${rss_kb} kB is not under ${MEMORY_LIMIT_KB} kB" >&2
    exit 1
  fi
fi
