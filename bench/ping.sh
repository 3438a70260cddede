#!/usr/bin/env bash
# Ping lab benchmark: loopback UDP round trips, our PingClient against our PingServer (each its own process) versus
# sockperf ping-pong against sockperf server, alternating, several rounds, medians. Then the largest paced rate our
# server echoes without any loss it did not choose (loss set to 0). Prints "bench <name>: ours=… peer=… <unit> ratio=…".
# Beside the RTTs, each server's CPU time per echo (user+system from /proc over the round trips it answered), which
# moves less with the machine's load than the RTTs do. The rounds run twice: as the machine is, and with every core
# kept from idling (see below), where a virtual machine's wake-up from idle no longer decides the RTT.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-7}
PINGS=${PINGS:-20000}        # our pings per round (≈ 0.3 s)
SOCKPERF_SECONDS=${SOCKPERF_SECONDS:-1}

if ! command -v sockperf >/dev/null; then
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq sockperf >/dev/null || { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq sockperf >/dev/null; }
fi
dotnet build bench/ping -c Release -nologo -v q -clp:NoSummary >/dev/null
RUNNER=bench/ping/bin/Release/net10.0/PingBench
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# Both servers on the last core, both clients on the first: a round trip then always crosses between the same two
# cores. Left to the scheduler, a client and its server sometimes shared a core and sometimes not, and each round's p50
# fell on one of two levels (15 or 30 us, 15 or 55 us) for ours and sockperf's alike, whichever way it fell.
SERVER_CPU=$(($(nproc) - 1))
CLIENT="taskset -c 0"
# Our server: a separate process, port 0, stays up while its stdin (a fifo we hold open) is open.
mkfifo "$work/server-in"
taskset -c "$SERVER_CPU" "$RUNNER" serve <"$work/server-in" >"$work/server-port" 2>"$work/server-err" &
pids+=($!)
exec 7>"$work/server-in"
for _ in $(seq 100); do [ -s "$work/server-port" ] && break; sleep 0.1; done
port=$(head -1 "$work/server-port")

taskset -c "$SERVER_CPU" sockperf server -i 127.0.0.1 -p 11811 >"$work/sockperf-server.log" 2>&1 7>&- &
pids+=($!)
sockperf_pid=$!
server_pid=${pids[0]}
HZ=$(getconf CLK_TCK)
ticks() { sed 's/.*) //' /proc/"$1"/stat | awk '{print $12 + $13}'; }
# CPU microseconds per echo: ticks before, ticks after, echoes
per_echo() { awk -v b="$1" -v a="$2" -v n="$3" -v hz="$HZ" 'BEGIN { printf "%.2f\n", (a - b) / hz * 1e6 / n }'; }
sleep 0.5

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

run_ours() {
  local before out
  before=$(ticks "$server_pid")
  out=$(timeout 60 $CLIENT "$RUNNER" rtt "$port" "$PINGS" 7>&-)
  per_echo "$before" "$(ticks "$server_pid")" "$(echo "$out" | sed -n 's/.*pings=\([0-9]*\).*/\1/p')" >>"$work/$1ours-cpu"   # warm-up included
  echo "$out" | sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' >>"$work/$1ours-p50"
  echo "$out" | sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' >>"$work/$1ours-p99"
  timeout 60 $CLIENT "$RUNNER" rtt-raw "$port" "$PINGS" 7>&- | sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' >>"$work/$1raw-p50"
}
run_sockperf() {
  local before sp
  before=$(ticks "$sockperf_pid")
  sp=$(timeout 60 $CLIENT sockperf ping-pong -i 127.0.0.1 -p 11811 -t "$SOCKPERF_SECONDS" -m 32 --full-rtt 2>&1 7>&-)
  per_echo "$before" "$(ticks "$sockperf_pid")" "$(echo "$sp" | sed -n 's/.*Total Run.*ReceivedMessages=\([0-9]*\).*/\1/p')" >>"$work/$1peer-cpu"
  echo "$sp" | sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p' >>"$work/$1peer-p50"
  echo "$sp" | sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p' >>"$work/$1peer-p99"
}
# All rounds of one setting: file names start with its prefix ("" as the machine is, "awake-" with the cores kept busy).
run_rounds() {
  for f in raw-p50 ours-p50 ours-p99 peer-p50 peer-p99 ours-cpu peer-cpu; do : >"$work/$1$f"; done
  for round in $(seq "$ROUNDS"); do
    # Alternate which goes first, so a change in the machine's load hits both alike.
    if [ $((round % 2)) = 1 ]; then run_ours "$1"; run_sockperf "$1"; else run_sockperf "$1"; run_ours "$1"; fi
    echo "${1}round $round: ours p50_us=$(tail -1 "$work/$1ours-p50") p99_us=$(tail -1 "$work/$1ours-p99") cpu_us_per_echo=$(tail -1 "$work/$1ours-cpu") (bare loop p50_us=$(tail -1 "$work/$1raw-p50")) | sockperf p50_us=$(tail -1 "$work/$1peer-p50") p99_us=$(tail -1 "$work/$1peer-p99") cpu_us_per_echo=$(tail -1 "$work/$1peer-cpu")" >&2
  done
}
run_rounds ""
# The same with both cores kept from idling by a SCHED_IDLE loop each (it runs only when nothing else wants the core).
# On a virtual machine a core that idles halts, and waking it for the next datagram costs tens of microseconds: a
# client whose process keeps a core busy between pings (.NET's thread pool spins a little before it sleeps) skips
# that wake-up, a blocking one (sockperf, the bare loop) pays it. Kept awake, both pay the same and the RTTs compare
# the code: measured here, sockperf's p50 went from 70 to 14 us with the cores kept awake.
awake=()
for cpu in $(seq 0 $(($(nproc) - 1))); do
  taskset -c "$cpu" chrt -i 0 sh -c 'while :; do :; done' 7>&- &
  awake+=($!); pids+=($!)
done
run_rounds awake-
kill "${awake[@]}" 2>/dev/null || true

ours50=$(median <"$work/ours-p50"); ours99=$(median <"$work/ours-p99")
peer50=$(median <"$work/peer-p50"); peer99=$(median <"$work/peer-p99")
awake_ours50=$(median <"$work/awake-ours-p50"); awake_ours99=$(median <"$work/awake-ours-p99")
awake_peer50=$(median <"$work/awake-peer-p50"); awake_peer99=$(median <"$work/awake-peer-p99")
# Lower RTT is better, so ratio = peer/ours: above 1 means ours is faster. The lines come after the rate test, at the end.
ours_cpu=$(median <"$work/ours-cpu"); peer_cpu=$(median <"$work/peer-cpu"); raw50=$(median <"$work/raw-p50"); awake_raw50=$(median <"$work/awake-raw-p50")

# Largest paced rate (datagrams/s, 1 s each, doubling) at which every datagram came back: the server is lossless, so
# any loss is the system's (socket buffers, scheduling), not a choice. No peer echoes our lab format, so no ratio.
best=0
for rate in 10000 20000 40000 80000 160000 320000; do
  out=$(timeout 60 "$RUNNER" rate "$port" "$rate" 1 7>&-)
  sent=$(echo "$out" | sed -n 's/.*sent=\([0-9]*\).*/\1/p'); received=$(echo "$out" | sed -n 's/.*received=\([0-9]*\).*/\1/p')
  achieved=$(echo "$out" | sed -n 's/.*achieved_rate=\([0-9]*\).*/\1/p')
  echo "rate $rate/s: $out" >&2
  if [ "$sent" = "$received" ] && [ "$achieved" -ge $((rate * 95 / 100)) ]; then best=$rate; else break; fi
done
echo
echo "ping: $ROUNDS rounds alternating ours (PingClient, $PINGS pings) and sockperf ping-pong (${SOCKPERF_SECONDS} s, 32 B), medians; clients on core 0, servers on core $SERVER_CPU; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %10s %10s %7s\n' measure ours sockperf ratio
awk -v o="$ours50" -v p="$peer50" 'BEGIN { printf "%-30s %10.1f %10.1f %7.2f\n", "RTT p50 (us)", o, p, p / o }'
awk -v o="$ours99" -v p="$peer99" 'BEGIN { printf "%-30s %10.1f %10.1f %7.2f\n", "RTT p99 (us)", o, p, p / o }'
awk -v o="$ours_cpu" -v p="$peer_cpu" 'BEGIN { printf "%-30s %10.2f %10.2f %7.2f\n", "server CPU per echo (us)", o, p, p / o }'
awk -v o="$raw50" 'BEGIN { printf "%-30s %10.1f %10s\n", "bare .NET loop RTT p50 (us)", o, "-" }'
awk -v o="$awake_ours50" -v p="$awake_peer50" 'BEGIN { printf "%-30s %10.1f %10.1f %7.2f\n", "cores awake: RTT p50 (us)", o, p, p / o }'
awk -v o="$awake_ours99" -v p="$awake_peer99" 'BEGIN { printf "%-30s %10.1f %10.1f %7.2f\n", "cores awake: RTT p99 (us)", o, p, p / o }'
awk -v o="$awake_raw50" 'BEGIN { printf "%-30s %10.1f %10s\n", "cores awake: bare loop p50 (us)", o, "-" }'
printf '%-30s %10s %10s\n' "lossless rate (datagrams/s)" "$best" "-"
echo
awk -v o="$ours50" -v p="$peer50" 'BEGIN { printf "bench ping-rtt-p50: ours=%.1f peer=%.1f us ratio=%.2f\n", o, p, p / o }'
awk -v o="$ours99" -v p="$peer99" 'BEGIN { printf "bench ping-rtt-p99: ours=%.1f peer=%.1f us ratio=%.2f\n", o, p, p / o }'
awk -v o="$ours_cpu" -v p="$peer_cpu" 'BEGIN { printf "bench ping-server-cpu-per-echo: ours=%.2f peer=%.2f us ratio=%.2f\n", o, p, p / o }'
awk -v o="$awake_ours50" -v p="$awake_peer50" 'BEGIN { printf "bench ping-rtt-p50-cores-awake: ours=%.1f peer=%.1f us ratio=%.2f\n", o, p, p / o }'
awk -v o="$awake_ours99" -v p="$awake_peer99" 'BEGIN { printf "bench ping-rtt-p99-cores-awake: ours=%.1f peer=%.1f us ratio=%.2f\n", o, p, p / o }'
# What a bare blocking send/receive loop in .NET gets against our server: the runtime's floor, for context.
echo "info ping-rtt-p50 of a bare .NET blocking loop against our server: $raw50 us ($awake_raw50 us with the cores kept awake)"
echo "bench ping-server-lossless-rate: ours=$best datagrams/s (largest rate tried with no loss; no peer)"

exec 7>&-   # our server sees end of input and stops; cleanup kills whatever is left
