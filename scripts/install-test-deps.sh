#!/usr/bin/env bash
# The system tools the tests and benchmarks use, installed when missing: real Redis and PostgreSQL,
# Debian chromium (never a downloaded browser), GStreamer for the WHIP interop test, ffmpeg, nginx and
# wrk for the benchmarks. The browser tests' npm deps are web/'s (scripts/test.sh runs `npm ci` there and
# this script).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)  # the Redis Cluster tests create clusters with it
command -v psql >/dev/null || need_apt+=(postgresql postgresql-client)
command -v ss >/dev/null || need_apt+=(iproute2)  # a test reads the listen backlog with ss
command -v wrk >/dev/null || need_apt+=(wrk)  # the claims benchmark's load generator
command -v ffprobe >/dev/null || need_apt+=(ffmpeg)  # the HLS tests decode what the origin serves
command -v nginx >/dev/null || need_apt+=(nginx-light)  # bench hls: the CDN stand-in in front of the origin
command -v chromium >/dev/null || need_apt+=(chromium)  # browser tests (web and media)
dpkg -s fonts-nanum >/dev/null 2>&1 || need_apt+=(fonts-nanum)  # Korean glyphs for the ko pages' browser test and screenshots
command -v npm >/dev/null || need_apt+=(nodejs npm)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)  # a test checks docker-compose.yml with `docker-compose config`
# media interop test: GStreamer webrtcbin driven from python3-gi
dpkg -s gstreamer1.0-nice gir1.2-nice-0.1 >/dev/null 2>&1 || need_apt+=(gstreamer1.0-plugins-bad
  gstreamer1.0-nice gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-libav python3-gi
  gir1.2-gst-plugins-bad-1.0 gir1.2-gstreamer-1.0 gir1.2-nice-0.1)
apt_install "${need_apt[@]}"
