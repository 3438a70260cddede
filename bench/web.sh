#!/usr/bin/env bash
# Web lab benchmark: wrk on loopback (2 threads, 64 connections) asking for data/www/HelloWorld.html from
#   - ours:   the lab's concurrent WebServer (bench/web, Release), no access log,
#   - nginx:  Debian's, worker_processes 2 (this box has 2 cores), sendfile on, access_log off,
#   - python: python3 -m http.server, the original lab's language,
# first with keep-alive, then with "Connection: close" on every request (a new connection each time).
# Servers run side by side; rounds alternate their order; the medians are printed, with the ratio to nginx.
# Besides requests/s it reports each server's CPU time per request (user+system, all its threads/processes, from
# /proc): on a machine shared with other work, throughput moves with the load but CPU per request hardly does.
# Usage: bench/web.sh [rounds=5] [seconds per run=5] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
DURATION=${2:-5}
CONNECTIONS=${3:-64}
THREADS=2
FILE=HelloWorld.html
ROOT=$(pwd)/data/www

if ! command -v wrk >/dev/null || { ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; }; then
  echo "installing wrk and nginx-light…" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light curl >/dev/null
fi

source bench/common.sh

dotnet build bench/web/WebBench.csproj -c Release -v q -nologo >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }

# Ours. Inline socket completions: continuations run on the epoll thread instead of hopping to the thread pool, as an
# event loop like nginx's does (the handler never blocks). Set WEB_BENCH_INLINE=0 to measure without.
OURS_PORT=$(free_port)
mkfifo "$WORK/ours.in"
DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=${WEB_BENCH_INLINE:-1} \
  dotnet bench/web/bin/Release/net10.0/WebBench.dll "$ROOT" "$OURS_PORT" concurrent <"$WORK/ours.in" >"$WORK/ours.log" 2>&1 &
PIDS+=($!)
OURS_PID=$!
exec 4>"$WORK/ours.in"

# nginx: everything in a temp prefix, in the foreground (killed at the end).
NGINX_PORT=$(free_port)
start_nginx 2 "  include /etc/nginx/mime.types;
  sendfile on;
  tcp_nopush on;
  server { listen 127.0.0.1:$NGINX_PORT; root $ROOT; }"

PY_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$ROOT" "$PY_PORT" >"$WORK/python.log" 2>&1 &
PIDS+=($!)
PY_PID=$!

wait_port "$OURS_PORT"; wait_port "$NGINX_PORT"; wait_port "$PY_PORT"
declare -A PORT=([ours]=$OURS_PORT [nginx]=$NGINX_PORT [python]=$PY_PORT)
for server in ours nginx python; do
  cmp -s <(curl -sS "http://127.0.0.1:${PORT[$server]}/$FILE") "$ROOT/$FILE" || { echo "$server does not serve $FILE correctly" >&2; exit 1; }
done

declare -A PROCS=([ours]=$OURS_PID [python]=$PY_PID)
PROCS[nginx]="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"   # master and workers

# One wrk run: server scenario -> "requests/s cpu-microseconds-per-request"
measure() {
  local extra=() before after out
  [ "$2" = close ] && extra=(-H "Connection: close")
  before=$(cpu_ticks ${PROCS[$1]})
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "${extra[@]}" "http://127.0.0.1:${PORT[$1]}/$FILE" 2>&1)
  after=$(cpu_ticks ${PROCS[$1]})
  echo "$out" >>"$WORK/wrk.log"
  echo "$out" | awk -v t=$((after - before)) -v hz="$HZ" '/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {printf "%s %.1f\n", r, t / hz * 1e6 / n}'
}

for server in ours nginx python; do   # warm-up: JIT, caches, TCP state
  wrk -t1 -c8 -d2s "http://127.0.0.1:${PORT[$server]}/$FILE" >/dev/null 2>&1 || true
done

declare -A RESULT CPU
for scenario in keep-alive close; do
  declare -A RUNS=() CPUS=()
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order=(ours nginx python); else order=(nginx ours python); fi
    line="$scenario round $round:"
    for server in "${order[@]}"; do
      read -r value cpu < <(measure "$server" "$scenario")
      RUNS[$server]="${RUNS[$server]:-} $value"
      CPUS[$server]="${CPUS[$server]:-} $cpu"
      line="$line $server=$value req/s (${cpu} us/req)"
    done
    echo "$line" >&2
  done
  for server in ours nginx python; do
    RESULT[$scenario,$server]=$(printf '%s\n' ${RUNS[$server]} | median)
    CPU[$scenario,$server]=$(printf '%s\n' ${CPUS[$server]} | median)
  done
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds, medians; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), $(python3 --version)"
printf '%-12s %-32s %12s %9s %16s\n' scenario server "requests/s" "vs nginx" "CPU us/request"
for scenario in keep-alive close; do
  for server in ours nginx python; do
    case $server in
      ours) label="NetLabs WebServer (concurrent)";;
      nginx) label="nginx (2 workers, sendfile)";;
      python) label="python3 -m http.server";;
    esac
    printf '%-12s %-32s %12s %8sx %16s\n' "$scenario" "$label" "${RESULT[$scenario,$server]}" \
      "$(ratio "${RESULT[$scenario,$server]}" "${RESULT[$scenario,nginx]}")" "${CPU[$scenario,$server]}"
  done
done
echo
for scenario in keep-alive close; do
  o=${RESULT[$scenario,ours]}; p=${RESULT[$scenario,nginx]}
  echo "bench web-helloworld-$CONNECTIONS-connections-$scenario: ours=$o peer=$p req/s ratio=$(ratio "$o" "$p")"
  o=${CPU[$scenario,ours]}; p=${CPU[$scenario,nginx]}
  echo "bench web-helloworld-$CONNECTIONS-connections-$scenario-cpu: ours=$o peer=$p us/request ratio=$(ratio "$p" "$o")"
  o=${RESULT[$scenario,ours]}; p=${RESULT[$scenario,python]}
  echo "bench web-helloworld-$CONNECTIONS-connections-$scenario-vs-python3-http-server: ours=$o peer=$p req/s ratio=$(ratio "$o" "$p")"
done
