#!/usr/bin/env bash
# Regenerates the two images of data/www with Debian's ImageMagick (apt-get install imagemagick).
# The committed files came from exactly these commands; nothing needs to run this.
set -euo pipefail
cd "$(dirname "$0")/www/images"
convert -size 240x120 xc:'#1e90ff' -fill white -draw "circle 60,60 60,20" \
  -fill '#ffcc00' -draw "rectangle 130,30 210,90" \
  -strip -depth 8 -define png:exclude-chunks=date,time PNG24:logo.png
convert -seed 42 -size 320x200 plasma:fractal -blur 0x1 -quality 80 -strip photo.jpg
