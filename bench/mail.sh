#!/usr/bin/env bash
# Mail lab benchmark: messages per second accepted from postfix smtp-source (2 KB messages, 16 parallel sessions),
# our LocalMailServer vs postfix smtp-sink, alternating, several rounds, medians.
# Two comparisons: a new connection for every message (smtp-source default), and 16 sessions kept open (-d).
# Besides messages/s it reports each server's CPU time per message (user+system, all its threads, from /proc): on a
# machine shared with other work, throughput moves with the load but CPU per message hardly does.
# Usage: bench/mail.sh [rounds=5] [messages=8000] (kept-open sessions send 3 times as many: each run lasts about a
# second either way; runs of a quarter second moved ±20 % from round to round)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
MESSAGES=${2:-8000}
SESSIONS=16
SIZE=2048

if ! command -v smtp-source >/dev/null && [ ! -x /usr/sbin/smtp-source ]; then
  echo "installing postfix (smtp-source, smtp-sink)…" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
PATH="$PATH:/usr/sbin"

dotnet build bench/mail/MailBench.csproj -c Release -v q -nologo >/dev/null
RUNNER=bench/mail/bin/Release/net10.0/MailBench.dll
source bench/common.sh
PID=
# Runs smtp-source against 127.0.0.1:$1 (served by process $2) and prints "messages/s cpu-microseconds-per-message".
blast() {
  local start end before after
  before=$(cpu_ticks "$2")
  start=$(date +%s.%N)
  smtp-source $REUSE -s "$SESSIONS" -l "$SIZE" -m "$MESSAGES" -f alice@localhost -t bob@localhost -M bench.localhost "127.0.0.1:$1"
  end=$(date +%s.%N)
  after=$(cpu_ticks "$2")
  python3 -c "print(f'{$MESSAGES/($end-$start):.0f} {($after-$before)/$HZ*1e6/$MESSAGES:.1f}')"
}

run_ours() {
  local port; port=$(free_port)
  mkfifo "$WORK/in.$1"
  # Inline socket completions: continuations run on the epoll thread instead of hopping to the thread pool,
  # which is how a single-threaded event loop like smtp-sink works too (our session code never blocks). And one such
  # thread, as smtp-sink has one process: with inlining .NET starts one per core, and on 2 cores the two event loops
  # each sleep and wake for half the sessions (measured: 15.6k vs 21k messages/s kept open, 58 vs 45 us of CPU per
  # message). MAIL_BENCH_THREADS=2 measures that.
  DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT=${MAIL_BENCH_THREADS:-1} dotnet "$RUNNER" "$port" < "$WORK/in.$1" > "$WORK/ours.$1.log" & PID=$!
  exec 4>"$WORK/in.$1"
  wait_port "$port"
  MESSAGES=300 blast "$port" "$PID" >/dev/null 2>&1 || true   # warm-up (JIT)
  local rate; rate=$(blast "$port" "$PID")
  exec 4>&-
  wait "$PID"; PID=
  echo "$rate"
}

run_sink() {
  local port; port=$(free_port)
  local user=(); [ "$(id -u)" = 0 ] && user=(-u nobody)
  smtp-sink "${user[@]}" "127.0.0.1:$port" 512 & PID=$!
  wait_port "$port"
  local rate; rate=$(blast "$port" "$PID")
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  echo "$rate"
}

compare() {
  local name=$1; REUSE=$2
  local ours=() peer=() ours_cpu=() peer_cpu=() value cpu
  for round in $(seq 1 "$ROUNDS"); do
    # Alternate which server goes first, so a change in the machine's load hits both alike.
    if [ $((round % 2)) = 1 ]; then
      read -r value cpu < <(run_ours "$name$round"); ours+=("$value"); ours_cpu+=("$cpu")
      read -r value cpu < <(run_sink); peer+=("$value"); peer_cpu+=("$cpu")
    else
      read -r value cpu < <(run_sink); peer+=("$value"); peer_cpu+=("$cpu")
      read -r value cpu < <(run_ours "$name$round"); ours+=("$value"); ours_cpu+=("$cpu")
    fi
    echo "$name round $round: ours=${ours[-1]} msg/s (${ours_cpu[-1]} us/msg) smtp-sink=${peer[-1]} msg/s (${peer_cpu[-1]} us/msg)" >&2
  done
  local o p oc pc
  o=$(printf '%s\n' "${ours[@]}" | median); p=$(printf '%s\n' "${peer[@]}" | median)
  oc=$(printf '%s\n' "${ours_cpu[@]}" | median); pc=$(printf '%s\n' "${peer_cpu[@]}" | median)
  TABLE+=("$(printf '%-14s %12s %12s %7s %14s %14s' "$3" "$o" "$p" "$(ratio "$o" "$p")" "$oc" "$pc")")
  SUMMARY+=("bench $name: ours=$o peer=$p msg/s ratio=$(ratio "$o" "$p")"
            "bench $name-cpu: ours=$oc peer=$pc us/message ratio=$(ratio "$pc" "$oc")")
}

TABLE=(); SUMMARY=()
compare smtp-accept-2k-16-sessions-new-connection-per-message "" "new-connection"
MESSAGES=$((MESSAGES * 3)) compare smtp-accept-2k-16-sessions-kept-open -d "kept-open"

echo
echo "smtp-source -s $SESSIONS -l $SIZE -m $MESSAGES (kept open: $((MESSAGES * 3))), $ROUNDS rounds alternating, medians; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %12s %12s %7s %14s %14s\n' sessions "ours msg/s" "sink msg/s" ratio "ours us/msg" "sink us/msg"
printf '%s\n' "${TABLE[@]}"
echo
printf '%s\n' "${SUMMARY[@]}"
