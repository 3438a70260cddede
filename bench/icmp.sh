#!/usr/bin/env bash
# ICMP lab benchmark: loopback echo round trips, our pinger over a raw socket (netlabs icmp ping --json, one process per
# round) versus iputils ping, same count and pacing, alternating, several rounds, medians of each round's median RTT.
# Needs root (raw sockets). Prints "bench <name>: ours=… peer=… <unit> ratio=…" (ratio above 1 means ours is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
COUNT=${COUNT:-200}
if [ "$(id -u)" != 0 ]; then echo "bench icmp: skipped, raw sockets need root" >&2; exit 0; fi
if ! command -v ping >/dev/null; then
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq iputils-ping >/dev/null || { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq iputils-ping >/dev/null; }
fi
dotnet build lib/NetLabs.Cli -c Release -nologo -v q -clp:NoSummary >/dev/null
NETLABS=lib/NetLabs.Cli/bin/Release/net10.0/netlabs.dll

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ours=(); peer=()
for round in $(seq "$ROUNDS"); do
  o=$(timeout 120 dotnet "$NETLABS" icmp ping 127.0.0.1 -c "$COUNT" -i 2ms --json | tail -1 | sed -n 's/.*"p50Ms":\([0-9.eE+-]*\).*/\1/p')
  p=$(timeout 120 ping -n -c "$COUNT" -i 0.002 127.0.0.1 | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | median)
  echo "round $round: ours p50=${o} ms, iputils ping p50=${p} ms" >&2
  ours+=("$o"); peer+=("$p")
done
o=$(printf '%s\n' "${ours[@]}" | median); p=$(printf '%s\n' "${peer[@]}" | median)
awk -v o="$o" -v p="$p" 'BEGIN { printf "bench icmp-rtt-p50: ours=%.1f peer=%.1f us ratio=%.2f\n", o * 1000, p * 1000, p / o }'
