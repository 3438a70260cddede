#!/bin/sh
# Makes the video lab's clip: ffmpeg's test pattern (a moving gradient, colour bars and a frame counter),
# 320x240, 10 frames per second, 3 seconds, as raw Motion-JPEG (concatenated JPEG files).
# The JPEGs are what RTP's JPEG payload (RFC 2435) carries: baseline, 4:2:0 (yuvj420p), the standard Huffman
# tables (-huffman default: RFC 2435 receivers rebuild them, they never travel) and no restart markers.
# Reproducible: the same ffmpeg version gives the same bytes (-bitexact, no metadata). Needs Debian's ffmpeg.
set -eu
cd "$(dirname "$0")"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc=size=320x240:rate=10:duration=3" \
  -c:v mjpeg -pix_fmt yuvj420p -huffman default -q:v 5 -bitexact -fflags +bitexact -flags +bitexact \
  -f mjpeg testsrc-320x240-10fps.mjpeg
ls -l testsrc-320x240-10fps.mjpeg
