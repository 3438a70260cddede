#!/usr/bin/env bash
# Proxy lab benchmark: wrk on loopback (2 threads, 64 connections, absolute-form request lines set by
# bench/proxy/absolute-form.lua) through three proxies to one nginx origin serving a 1 KiB page:
#   - cached:   ours (bench/proxy, Release, no request log, 64 MB memory cache) vs Squid (Debian's, memory cache only,
#               cache_mem 64 MB, access_log none, 1 worker) on a page with "Cache-Control: max-age=3600": every
#               request after the first is a hit, the origin is not asked;
#   - uncached: ours vs tinyproxy (Debian's, no cache by design) on the same page with "Cache-Control: no-store":
#               every request goes to the origin on a new connection. tinyproxy closes each client connection after its
#               answer, which wrk reports as read errors and reconnects; that is tinyproxy's way, not a failure.
# Proxies run side by side; rounds alternate their order; medians are printed, with CPU time per request (user+system,
# from /proc) which moves less with the machine's load than requests/s.
# Usage: bench/proxy.sh [rounds=3] [seconds per run=5] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
DURATION=${2:-5}
CONNECTIONS=${3:-64}
THREADS=2

if ! command -v wrk >/dev/null || ! command -v tinyproxy >/dev/null || [ ! -x /usr/sbin/squid ] || [ ! -x /usr/sbin/nginx ]; then
  echo "installing wrk, squid, tinyproxy and nginx-light…" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk squid tinyproxy nginx-light curl >/dev/null
fi
# Debian starts the packaged daemons; the benchmark runs its own copies on free ports.
command -v systemctl >/dev/null && systemctl stop squid tinyproxy 2>/dev/null || true

source bench/common.sh
chmod 755 "$WORK"   # Squid drops to its own user, which must reach $WORK/squid

dotnet build bench/proxy/ProxyBench.csproj -c Release -v q -nologo >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }

# The origin: nginx, 1 worker, one 1 KiB page under two paths that differ only in their Cache-Control.
ORIGIN_PORT=$(free_port)
mkdir -p "$WORK/www/cached" "$WORK/www/uncached"
python3 -c 'import random; random.seed(1); print("<!DOCTYPE html><p>" + "".join(random.choice("abcdefgh ") for _ in range(1000)) + "</p>")' >"$WORK/www/cached/page.html"
cp "$WORK/www/cached/page.html" "$WORK/www/uncached/page.html"
start_nginx 1 "  server {
    listen 127.0.0.1:$ORIGIN_PORT;
    root $WORK/www;
    location /cached/ { add_header Cache-Control \"max-age=3600\"; }
    location /uncached/ { add_header Cache-Control \"no-store\"; }
  }"

# Ours.
OURS_PORT=$(free_port)
mkfifo "$WORK/ours.in"
dotnet bench/proxy/bin/Release/net10.0/ProxyBench.dll "$OURS_PORT" 64 <"$WORK/ours.in" >"$WORK/ours.log" 2>&1 &
PIDS+=($!)
OURS_PID=$!
exec 4>"$WORK/ours.in"

# Squid: memory cache only (no cache_dir), as a small site's accelerating proxy is tuned; its own user can write $WORK/squid.
SQUID_PORT=$(free_port)
mkdir -p "$WORK/squid"
chmod 777 "$WORK/squid"
cat >"$WORK/squid/squid.conf" <<CONF
http_port 127.0.0.1:$SQUID_PORT
acl localnet src 127.0.0.1/32
http_access allow localnet
http_access deny all
cache_mem 64 MB
maximum_object_size_in_memory 512 KB
memory_replacement_policy lru
access_log none
cache_store_log none
cache_log $WORK/squid/cache.log
pid_filename $WORK/squid/squid.pid
coredump_dir $WORK/squid
workers 1
shutdown_lifetime 0 seconds
client_persistent_connections on
server_persistent_connections on
max_filedescriptors 8192
CONF
/usr/sbin/squid -N -f "$WORK/squid/squid.conf" >"$WORK/squid/stdout.log" 2>&1 &
PIDS+=($!)
SQUID_PID=$!

# tinyproxy: no cache, as it is built.
TINY_PORT=$(free_port)
cat >"$WORK/tinyproxy.conf" <<CONF
Port $TINY_PORT
Listen 127.0.0.1
Timeout 600
MaxClients 1024
Allow 127.0.0.1
LogLevel Critical
PidFile "$WORK/tinyproxy.pid"
CONF
tinyproxy -d -c "$WORK/tinyproxy.conf" >"$WORK/tinyproxy.log" 2>&1 &
PIDS+=($!)
TINY_PID=$!

wait_port "$ORIGIN_PORT"; wait_port "$OURS_PORT"; wait_port "$SQUID_PORT"; wait_port "$TINY_PORT"
declare -A PORT=([ours]=$OURS_PORT [squid]=$SQUID_PORT [tinyproxy]=$TINY_PORT)
declare -A PROCS=([ours]=$OURS_PID [squid]="$SQUID_PID $(pgrep -P "$SQUID_PID" | tr '\n' ' ')" [tinyproxy]=$TINY_PID)
declare -A PATHS=([cached]=/cached/page.html [uncached]=/uncached/page.html)
declare -A PEER=([cached]=squid [uncached]=tinyproxy)
for scenario in cached uncached; do
  for proxy in ours "${PEER[$scenario]}"; do
    cmp -s <(curl -sS -x "http://127.0.0.1:${PORT[$proxy]}" "http://127.0.0.1:$ORIGIN_PORT${PATHS[$scenario]}") "$WORK/www/$scenario/page.html" \
      || { echo "$proxy does not relay ${PATHS[$scenario]} correctly" >&2; exit 1; }
  done
done
# The cached page must really be a hit in both caches from now on (Squid says so in X-Cache too).
curl -sS -o /dev/null -D - -x "http://127.0.0.1:$SQUID_PORT" "http://127.0.0.1:$ORIGIN_PORT/cached/page.html" | grep -qi '^X-Cache: HIT' \
  || { echo "squid does not serve the cached page from its cache" >&2; exit 1; }
curl -sS -o /dev/null -D - -x "http://127.0.0.1:$OURS_PORT" "http://127.0.0.1:$ORIGIN_PORT/cached/page.html" | grep -qi '^X-Cache: HIT' \
  || { echo "ours does not serve the cached page from its cache" >&2; exit 1; }


# One wrk run: proxy scenario -> "requests/s cpu-microseconds-per-request errors"
measure() {
  local before after out
  before=$(cpu_ticks ${PROCS[$1]})
  out=$(TARGET="http://127.0.0.1:$ORIGIN_PORT${PATHS[$2]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s bench/proxy/absolute-form.lua "http://127.0.0.1:${PORT[$1]}/" 2>&1)
  after=$(cpu_ticks ${PROCS[$1]})
  echo "== $1 $2" >>"$WORK/wrk.log"; echo "$out" >>"$WORK/wrk.log"
  echo "$out" | awk -v t=$((after - before)) -v hz="$HZ" '/requests in/ {n = $1} /Requests\/sec/ {r = $2} /Non-2xx|Socket errors/ {e = e " " $0} END {printf "%s %.1f%s\n", r, t / hz * 1e6 / n, (e == "" ? "" : " !" e)}'
}

for scenario in cached uncached; do   # warm-up: JIT, caches, TCP state
  for proxy in ours "${PEER[$scenario]}"; do
    TARGET="http://127.0.0.1:$ORIGIN_PORT${PATHS[$scenario]}" wrk -t1 -c8 -d2s -s bench/proxy/absolute-form.lua "http://127.0.0.1:${PORT[$proxy]}/" >/dev/null 2>&1 || true
  done
done

declare -A RESULT CPU
for scenario in cached uncached; do
  declare -A RUNS=() CPUS=()
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order=(ours "${PEER[$scenario]}"); else order=("${PEER[$scenario]}" ours); fi
    line="$scenario round $round:"
    for proxy in "${order[@]}"; do
      read -r value cpu errors < <(measure "$proxy" "$scenario")
      RUNS[$proxy]="${RUNS[$proxy]:-} $value"
      CPUS[$proxy]="${CPUS[$proxy]:-} $cpu"
      line="$line $proxy=$value req/s (${cpu} us/req)${errors:+ $errors}"
    done
    echo "$line" >&2
  done
  for proxy in ours "${PEER[$scenario]}"; do
    RESULT[$scenario,$proxy]=$(printf '%s\n' ${RUNS[$proxy]} | median)
    CPU[$scenario,$proxy]=$(printf '%s\n' ${CPUS[$proxy]} | median)
  done
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s through each proxy to nginx, $ROUNDS rounds, medians; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); $(/usr/sbin/squid -v | head -1), $(tinyproxy -v)"
printf '%-9s %-40s %12s %16s\n' scenario proxy "requests/s" "CPU us/request"
for scenario in cached uncached; do
  for proxy in ours "${PEER[$scenario]}"; do
    case $proxy in
      ours) label="NetLabs proxy (64 MB memory cache)";;
      squid) label="Squid (cache_mem 64 MB, no disk)";;
      tinyproxy) label="tinyproxy (no cache)";;
    esac
    printf '%-9s %-40s %12s %16s\n' "$scenario" "$label" "${RESULT[$scenario,$proxy]}" "${CPU[$scenario,$proxy]}"
  done
done
echo
for scenario in cached uncached; do
  peer=${PEER[$scenario]}
  o=${RESULT[$scenario,ours]}; p=${RESULT[$scenario,$peer]}
  echo "bench proxy-$scenario-1k-$CONNECTIONS-connections-vs-$peer: ours=$o peer=$p req/s ratio=$(ratio "$o" "$p")"
  o=${CPU[$scenario,ours]}; p=${CPU[$scenario,$peer]}
  echo "bench proxy-$scenario-1k-$CONNECTIONS-connections-vs-$peer-cpu: ours=$o peer=$p us/request ratio=$(ratio "$p" "$o")"
done
