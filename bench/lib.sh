# Shared helpers of the scripts in bench/: installing the tools, a pinned nginx on
# 127.0.0.1, the test servers, and cleanup. Sourced, not run.
#
# Everything here loads only 127.0.0.1 servers started by the script itself, and
# every run is bounded in time or requests.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tailgate-bench.XXXXXX")"
TAILGATE="$REPO/target/release/tailgate"
SERVERS="$REPO/target/release/examples/bench-servers"
# Server on core 0, generator on core 1 (taskset); on a 1-core machine both on 0.
if [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=0
  GEN_CPU=1
else
  SERVER_CPU=0
  GEN_CPU=0
fi
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

apt_install() {
  # apt_install PACKAGE...: install Debian packages (update the lists once).
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

need_tools() {
  # need_tools wrk h2load oha nginx: install whichever is missing.
  local tool
  export PATH="$HOME/.cargo/bin:$PATH"
  for tool in "$@"; do
    case "$tool" in
      wrk) command -v wrk >/dev/null || apt_install wrk ;;
      h2load) command -v h2load >/dev/null || apt_install nghttp2-client ;;
      nginx)
        if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
          apt_install nginx-light || apt_install nginx
        fi
        ;;
      oha)
        if ! command -v oha >/dev/null; then
          log "installing oha with cargo (this compiles for a few minutes)"
          cargo install oha --locked >&2
        fi
        ;;
      time) [ -x /usr/bin/time ] || apt_install time ;;
      taskset) command -v taskset >/dev/null || apt_install util-linux ;;
    esac
  done
}

build_tailgate() {
  log "building tailgate and the test servers (release)"
  # Two builds: one with the example would unify the dev-dependencies' features
  # (tokio's test-util clock) into the tailgate binary measured here.
  (cd "$REPO" && cargo build --release --quiet --bin tailgate) >&2
  (cd "$REPO" && cargo build --release --quiet --example bench-servers) >&2
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for_port() {
  # wait_for_port PORT: until something accepts on 127.0.0.1:PORT (10 s at most).
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

start_nginx() {
  # start_nginx: one worker pinned to SERVER_CPU, access log off, a small static
  # response on 127.0.0.1:NGINX_PORT.
  local nginx
  nginx="$(command -v nginx || echo /usr/sbin/nginx)"
  NGINX_PORT="$(free_port)"
  mkdir -p "$WORK/nginx"
  cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      default_type text/plain;
      return 200 "hello from nginx\n";
    }
  }
}
EOF
  taskset -c "$SERVER_CPU" "$nginx" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
    >"$WORK/nginx/stdout.log" 2>&1 &
  PIDS+=("$!")
  wait_for_port "$NGINX_PORT"
  NGINX_URL="http://127.0.0.1:$NGINX_PORT/"
  log "nginx (1 worker, core $SERVER_CPU) on $NGINX_URL"
}

start_server() {
  # start_server ARGS...: bench-servers pinned to SERVER_CPU, as a coprocess;
  # sets SERVER_URL. Talk to it with server_cmd.
  coproc SERVER { taskset -c "$SERVER_CPU" "$SERVERS" "$@"; }
  PIDS+=("$SERVER_PID")
  local line
  read -r line <&"${SERVER[0]}"
  SERVER_URL="${line#listening on }"
  log "test server ($*) on $SERVER_URL"
}

server_cmd() {
  # server_cmd CMD: send a command to the test server and print its one-line answer.
  local line
  echo "$1" >&"${SERVER[1]}"
  read -r line <&"${SERVER[0]}"
  echo "$line"
}

stop_server() {
  exec {SERVER[1]}>&-
  wait "$SERVER_PID" 2>/dev/null || true
}
