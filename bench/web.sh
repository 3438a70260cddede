#!/usr/bin/env bash
# Web lab benchmark: wrk on loopback (64 connections, with 1 and with 2 threads) asking for data/www/HelloWorld.html from
#   - ours:   the lab's concurrent WebServer (bench/web, Release), no access log (it keeps small files in memory),
#   - nginx:  Debian's, tuned as a user would for this: worker_processes 2 (this box has 2 cores), sendfile on,
#             open_file_cache on (so nginx, too, does not open and stat the file for every request), access_log off,
#   - python: python3 -m http.server, the original lab's language (2-thread runs only: it is far behind),
# first with keep-alive, then with "Connection: close" on every request (a new connection each time).
# Servers run side by side; rounds alternate their order; the medians are printed, with the ratio to nginx.
# Besides requests/s it reports each server's CPU time per request (user+system, all its threads/processes, from
# /proc): on a machine shared with other work, throughput moves with the load but CPU per request hardly does.
# Usage: bench/web.sh [rounds=5] [seconds per run=4] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}   # 3 rounds: medians moved ±6 % from one run to the next
DURATION=${2:-4}
CONNECTIONS=${3:-64}
FILE=HelloWorld.html
ROOT=$(pwd)/data/www

if ! command -v wrk >/dev/null || { ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; }; then
  echo "installing wrk and nginx-light…" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light curl >/dev/null
fi

source bench/common.sh

dotnet build bench/web/WebBench.csproj -c Release -v q -nologo >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }

# Ours. Inline socket completions: continuations run on the epoll thread instead of hopping to the thread pool, as an
# event loop like nginx's does (the handler never blocks). Set WEB_BENCH_INLINE=0 to measure without. With inlining
# .NET runs one event-loop thread per core, as nginx runs one worker per core here; WEB_BENCH_THREADS=1 measures one.
OURS_PORT=$(free_port)
mkfifo "$WORK/ours.in"
DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=${WEB_BENCH_INLINE:-1} DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT=${WEB_BENCH_THREADS:-2} \
  dotnet bench/web/bin/Release/net10.0/WebBench.dll "$ROOT" "$OURS_PORT" concurrent <"$WORK/ours.in" >"$WORK/ours.log" 2>&1 &
PIDS+=($!)
OURS_PID=$!
exec 4>"$WORK/ours.in"

# nginx: everything in a temp prefix, in the foreground (killed at the end).
NGINX_PORT=$(free_port)
start_nginx 2 "  include /etc/nginx/mime.types;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=1000 inactive=60s;
  open_file_cache_valid 60s;
  open_file_cache_min_uses 1;
  open_file_cache_errors on;
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

# One wrk run: server scenario threads -> "requests/s cpu-microseconds-per-request"
measure() {
  local extra=() before after out
  [ "$2" = close ] && extra=(-H "Connection: close")
  before=$(cpu_ticks ${PROCS[$1]})
  out=$(wrk -t"$3" -c"$CONNECTIONS" -d"${DURATION}s" "${extra[@]}" "http://127.0.0.1:${PORT[$1]}/$FILE" 2>&1)
  after=$(cpu_ticks ${PROCS[$1]})
  echo "$out" >>"$WORK/wrk.log"
  echo "$out" | awk -v t=$((after - before)) -v hz="$HZ" '/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {printf "%s %.1f\n", r, t / hz * 1e6 / n}'
}

for server in ours nginx python; do   # warm-up: JIT, caches, TCP state
  wrk -t1 -c8 -d2s "http://127.0.0.1:${PORT[$server]}/$FILE" >/dev/null 2>&1 || true
done

SCENARIOS=(keep-alive:1 keep-alive:2 close:1 close:2)   # connection handling : wrk threads
servers_for() { if [ "${1#*:}" = 2 ]; then echo ours nginx python; else echo ours nginx; fi; }
declare -A RESULT CPU
for run in "${SCENARIOS[@]}"; do
  scenario=${run%:*}; threads=${run#*:}
  declare -A RUNS=() CPUS=()
  read -r -a servers <<<"$(servers_for "$run")"
  for round in $(seq 1 "$ROUNDS"); do
    order=("${servers[@]}")
    if [ $((round % 2)) = 0 ]; then order=(nginx ours "${servers[@]:2}"); fi
    line="$scenario -t$threads round $round:"
    for server in "${order[@]}"; do
      read -r value cpu < <(measure "$server" "$scenario" "$threads")
      RUNS[$server]="${RUNS[$server]:-} $value"
      CPUS[$server]="${CPUS[$server]:-} $cpu"
      line="$line $server=$value req/s (${cpu} us/req)"
    done
    echo "$line" >&2
  done
  for server in "${servers[@]}"; do
    RESULT[$run,$server]=$(printf '%s\n' ${RUNS[$server]} | median)
    CPU[$run,$server]=$(printf '%s\n' ${CPUS[$server]} | median)
  done
done

echo
echo "wrk -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds alternating, medians; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), $(python3 --version)"
printf '%-12s %-5s %-40s %12s %9s %16s\n' scenario wrk server "requests/s" "vs nginx" "CPU us/request"
for run in "${SCENARIOS[@]}"; do
  read -r -a servers <<<"$(servers_for "$run")"
  for server in "${servers[@]}"; do
    case $server in
      ours) label="NetLabs WebServer (concurrent)";;
      nginx) label="nginx (2 workers, open_file_cache)";;
      python) label="python3 -m http.server";;
    esac
    printf '%-12s %-5s %-40s %12s %8sx %16s\n' "${run%:*}" "-t${run#*:}" "$label" "${RESULT[$run,$server]}" \
      "$(ratio "${RESULT[$run,$server]}" "${RESULT[$run,nginx]}")" "${CPU[$run,$server]}"
  done
done
echo
for run in "${SCENARIOS[@]}"; do
  name="web-helloworld-$CONNECTIONS-connections-${run%:*}-t${run#*:}"
  o=${RESULT[$run,ours]}; p=${RESULT[$run,nginx]}
  echo "bench $name: ours=$o peer=$p req/s ratio=$(ratio "$o" "$p")"
  o=${CPU[$run,ours]}; p=${CPU[$run,nginx]}
  echo "bench $name-cpu: ours=$o peer=$p us/request ratio=$(ratio "$p" "$o")"
  if [ -n "${RESULT[$run,python]:-}" ]; then
    o=${RESULT[$run,ours]}; p=${RESULT[$run,python]}
    echo "bench $name-vs-python3-http-server: ours=$o peer=$p req/s ratio=$(ratio "$o" "$p")"
  fi
done
