#!/usr/bin/env bash
# Video lab benchmark: RTP packets per second on loopback, at full rate. Our server paces the lab's clip (looping) at
# doubling frame rates and our receiver takes it in; then ffmpeg streams the same clip as RTP/JPEG (-re -loop 1 … -f rtp, RFC 2435
# like ours) at the same frame rates into the same receiver. Each sender climbs until its first run with a loss; the
# figure is the highest packet rate the receiver took in without losing one packet.
# CPU per packet, sender and receiver together, at the highest frame rate both took without loss: ours is the one
# process's CPU; ffmpeg's is its own (GNU time, over its whole run, per packet it paced) plus our receiver's.
# Prints "bench <name>: ours=… peer=… <unit> ratio=…".
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
RATES=${RATES:-"100 200 400 800 1600 3200 4800 6400 10000"}
CLIP=data/video/testsrc-320x240-10fps.mjpeg
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if ! command -v ffmpeg >/dev/null; then
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq ffmpeg >/dev/null || { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq ffmpeg >/dev/null; }
fi
dotnet build bench/video -c Release -nologo -v q -clp:NoSummary >/dev/null
# ffmpeg loops the clip as a sequence of JPEG files (image2 -loop 1): -stream_loop on the raw MJPEG file gives the first
# frame of each loop the timestamp of the last one, which any receiver must count as a late (lost) frame.
ffmpeg -hide_banner -loglevel error -f mjpeg -i "$CLIP" -c copy "$WORK/frame%03d.jpg"
RUNNER=bench/video/bin/Release/net10.0/VideoBench
field() { sed -n "s/.*$1=\([0-9na.]*\).*/\1/p"; }
declare -A OURS_CPU PEER_CPU
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

ours_best=0; peer_best=0; ours_fps=0; peer_fps=0; ours_on=1; peer_on=1
for fps in $RATES; do
  if [ "$ours_on" = 1 ]; then
    out=$(timeout 60 "$RUNNER" ours "$CLIP" "$fps" "$SECONDS_PER_RUN")
    echo "ours   fps=$fps: $out" >&2
    if [ "$(echo "$out" | field lost)" = 0 ]; then ours_best=$(echo "$out" | field received_pps); ours_fps=$fps; OURS_CPU[$fps]=$(echo "$out" | field cpu_us_per_packet); else ours_on=0; fi
  fi
  if [ "$peer_on" = 1 ]; then
    port=$(free_port)
    "$RUNNER" receive "$port" "$SECONDS_PER_RUN" >"$WORK/received" &
    receiver=$!
    sleep 1
    timeout $((SECONDS_PER_RUN + 20)) /usr/bin/time -f "%e %U %S" -o "$WORK/ffmpeg-time" ffmpeg -hide_banner -loglevel error -re -loop 1 -framerate "$fps" -i "$WORK/frame%03d.jpg" \
      -t $((SECONDS_PER_RUN + 3)) -c copy -f rtp "rtp://127.0.0.1:$port?pkt_size=1412" >/dev/null 2>&1 || true
    wait "$receiver" || true
    out=$(cat "$WORK/received")
    # ffmpeg's CPU per packet over its whole run (it paces at -re, so its packet rate is the one received)
    sender=$(awk -v pps="$(echo "$out" | field received_pps)" '{ if (pps > 0 && $1 > 0) printf "%.2f", ($2 + $3) * 1e6 / (pps * $1); else print "na" }' "$WORK/ffmpeg-time" 2>/dev/null || echo na)
    echo "ffmpeg fps=$fps: $out ffmpeg_cpu_us_per_packet=$sender" >&2
    if [ "$(echo "$out" | field lost)" = 0 ]; then
      peer_best=$(echo "$out" | field received_pps); peer_fps=$fps
      [ "$sender" != na ] && PEER_CPU[$fps]=$(awk -v a="$sender" -v b="$(echo "$out" | field cpu_us_per_packet)" 'BEGIN { printf "%.2f", a + b }')
    else peer_on=0; fi
  fi
  [ "$ours_on" = 0 ] && [ "$peer_on" = 0 ] && break
done
awk -v o="$ours_best" -v p="$peer_best" 'BEGIN { printf "bench video-lossless-pps: ours=%d peer=%d packets/s ratio=%.2f\n", o, p, (p > 0 ? o / p : 0) }'
common=$(( ours_fps < peer_fps ? ours_fps : peer_fps ))
if [ -n "${OURS_CPU[$common]:-}" ] && [ -n "${PEER_CPU[$common]:-}" ]; then
  awk -v o="${OURS_CPU[$common]}" -v p="${PEER_CPU[$common]}" -v f="$common" 'BEGIN { printf "bench video-cpu-per-packet-at-%d-fps: ours=%.2f peer=%.2f us/packet ratio=%.2f\n", f, o, p, (o > 0 ? p / o : 0) }'
fi
last=$(echo $RATES | awk '{print $NF}')
echo "info highest lossless frame rate: ours $ours_fps, ffmpeg $peer_fps frames/s$([ "$ours_on$peer_on" != 00 ] && echo " (still lossless at $last, the last rate tried: may go higher)")"
echo "info both senders use 1400-byte RTP payloads (RFC 2435); the receiver is ours in both runs; rates tried (frames/s): $RATES"
