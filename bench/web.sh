#!/usr/bin/env bash
# Lab 1 benchmark: wrk on loopback against
#   - our concurrent server (bench/WebServe, Release build, access log off like nginx's),
#   - nginx from Debian (worker_processes 2 on this 2-core box, sendfile on, access_log off),
#   - python3 -m http.server (the original lab's language),
# all serving data/www, first with keep-alive (64 connections), then with "Connection: close" on every request.
# Prints requests/s and the ratio to nginx. Needs: apt-get install wrk nginx-light (or nginx) python3.
# Usage: bench/web.sh [seconds per run, default 10] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=${2:-64}
THREADS=2
FILE=HelloWorld.html
ROOT=$(pwd)/data/www

for tool in wrk nginx python3 dotnet; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "missing $tool (apt-get install wrk nginx-light python3)"; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1"; exit 1
}

echo "building bench/WebServe (Release)…"
dotnet build -c Release -v quiet -nologo bench/WebServe >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }

# Our concurrent server.
OURS_PORT=$(free_port)
bench/WebServe/bin/Release/net10.0/WebServe "$ROOT" "$OURS_PORT" concurrent < <(sleep infinity) >"$WORK/ours.log" 2>&1 &
PIDS+=($!)

# nginx, as the issue asks: 2 workers, sendfile, no access log; everything in a temp prefix.
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $ROOT;
  }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" &
PIDS+=($!)

# The original lab's language.
PY_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$ROOT" "$PY_PORT" >"$WORK/python.log" 2>&1 &
PIDS+=($!)

wait_port "$OURS_PORT"; wait_port "$NGINX_PORT"; wait_port "$PY_PORT"
for port in "$OURS_PORT" "$NGINX_PORT" "$PY_PORT"; do
  cmp -s <(curl -sS "http://127.0.0.1:$port/$FILE") "$ROOT/$FILE" || { echo "port $port does not serve $FILE correctly"; exit 1; }
done

rps() { # url [extra wrk args] -> requests/s
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$@" 2>&1 | tee -a "$WORK/wrk.log" | awk '/Requests\/sec/ {print $2}'
}

declare -A RESULT
for scenario in keep-alive close; do
  extra=()
  [ "$scenario" = close ] && extra=(-H "Connection: close")
  for server in nginx ours python; do
    case $server in ours) port=$OURS_PORT;; nginx) port=$NGINX_PORT;; python) port=$PY_PORT;; esac
    wrk -t1 -c4 -d1s "${extra[@]}" "http://127.0.0.1:$port/$FILE" >/dev/null 2>&1 || true # warm-up
    RESULT[$scenario,$server]=$(rps "${extra[@]}" "http://127.0.0.1:$port/$FILE")
  done
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s http://127.0.0.1:PORT/$FILE   ($(nproc) cores, $(uname -r))"
printf '%-11s %-34s %14s %10s\n' scenario server requests/s vs-nginx
for scenario in keep-alive close; do
  for server in ours nginx python; do
    case $server in
      ours) label="NetLabs WebServer (concurrent)";;
      nginx) label="nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') (2 workers)";;
      python) label="python3 -m http.server";;
    esac
    value=${RESULT[$scenario,$server]:-0}
    ratio=$(awk -v a="$value" -v b="${RESULT[$scenario,nginx]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
    printf '%-11s %-34s %14s %10s\n' "$scenario" "$label" "$value" "$ratio"
  done
done
