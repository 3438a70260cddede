#!/usr/bin/env bash
# Mail lab benchmark: messages per second accepted from postfix smtp-source (2 KB messages, 16 parallel sessions),
# our LocalMailServer vs postfix smtp-sink, alternating, several rounds, medians.
# Two comparisons: a new connection for every message (smtp-source default), and 16 sessions kept open (-d).
# Usage: bench/mail.sh [rounds=5] [messages=4000]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
MESSAGES=${2:-4000}
SESSIONS=16
SIZE=2048

if ! command -v smtp-source >/dev/null && [ ! -x /usr/sbin/smtp-source ]; then
  echo "installing postfix (smtp-source, smtp-sink)…" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
PATH="$PATH:/usr/sbin"

dotnet build bench/mail/MailBench.csproj -c Release -v q -nologo >/dev/null
RUNNER=bench/mail/bin/Release/net10.0/MailBench.dll
WORK=$(mktemp -d)
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "nothing on port $1" >&2; return 1; }

# Runs smtp-source against 127.0.0.1:$1 and prints messages per second.
blast() {
  local start end
  start=$(date +%s.%N)
  smtp-source $REUSE -s "$SESSIONS" -l "$SIZE" -m "$MESSAGES" -f alice@localhost -t bob@localhost -M bench.localhost "127.0.0.1:$1"
  end=$(date +%s.%N)
  python3 -c "print(f'{$MESSAGES/($end-$start):.0f}')"
}

run_ours() {
  local port; port=$(free_port)
  mkfifo "$WORK/in.$1"
  # Inline socket completions: continuations run on the epoll thread instead of hopping to the thread pool,
  # which is how a single-threaded event loop like smtp-sink works too (our session code never blocks).
  DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 dotnet "$RUNNER" "$port" < "$WORK/in.$1" > "$WORK/ours.$1.log" & PID=$!
  exec 4>"$WORK/in.$1"
  wait_port "$port"
  MESSAGES=300 blast "$port" >/dev/null 2>&1 || true   # warm-up (JIT)
  local rate; rate=$(blast "$port")
  exec 4>&-
  wait "$PID"; PID=
  echo "$rate"
}

run_sink() {
  local port; port=$(free_port)
  local user=(); [ "$(id -u)" = 0 ] && user=(-u nobody)
  smtp-sink "${user[@]}" "127.0.0.1:$port" 512 & PID=$!
  wait_port "$port"
  local rate; rate=$(blast "$port")
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  echo "$rate"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

compare() {
  local name=$1; REUSE=$2
  local ours=() peer=()
  for round in $(seq 1 "$ROUNDS"); do
    ours+=("$(run_ours "$name$round")")
    peer+=("$(run_sink)")
    echo "$name round $round: ours=${ours[-1]} smtp-sink=${peer[-1]} msg/s" >&2
  done
  local o p
  o=$(printf '%s\n' "${ours[@]}" | median)
  p=$(printf '%s\n' "${peer[@]}" | median)
  echo "bench $name: ours=$o peer=$p msg/s ratio=$(python3 -c "print(f'{$o/$p:.2f}')")"
}

compare smtp-accept-2k-16-sessions-new-connection-per-message ""
compare smtp-accept-2k-16-sessions-kept-open -d
