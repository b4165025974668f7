#!/usr/bin/env bash
# Installs everything liveshop needs on a fresh Debian machine: Python deps into .venv, system tools the
# tests and benchmarks use (when missing and when we are allowed to), and the web front-end deps.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)  # the Redis Cluster tests create clusters with it
command -v wrk >/dev/null || need_apt+=(wrk)  # the claims benchmark's load generator
command -v psql >/dev/null || need_apt+=(postgresql postgresql-client)
command -v ss >/dev/null || need_apt+=(iproute2)  # a test reads the listen backlog with ss
command -v ffprobe >/dev/null || need_apt+=(ffmpeg)  # the HLS tests decode what the origin serves
command -v nginx >/dev/null || need_apt+=(nginx-light)  # bench hls: the CDN stand-in in front of the origin
# browser tests (web and media): Debian chromium, never a downloaded browser; npm for web/
command -v chromium >/dev/null || need_apt+=(chromium)
command -v npm >/dev/null || need_apt+=(nodejs npm)
# media interop test: GStreamer webrtcbin driven from python3-gi
dpkg -s gstreamer1.0-nice gir1.2-nice-0.1 >/dev/null 2>&1 || need_apt+=(gstreamer1.0-plugins-bad
  gstreamer1.0-nice gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-libav python3-gi
  gir1.2-gst-plugins-bad-1.0 gir1.2-gstreamer-1.0 gir1.2-nice-0.1)
if [ "${LIVESHOP_INSTALL_SYSTEM:-auto}" != "no" ] && [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "install.sh: please install: ${need_apt[*]}" >&2
  fi
fi

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e ".[dev]"

if [ -f web/package.json ] && command -v npm >/dev/null; then
  (cd web && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund -s; else npm install --no-audit --no-fund -s; fi)
fi
if [ -f tests/media/browser/package.json ] && command -v npm >/dev/null; then
  (cd tests/media/browser && npm install --no-audit --no-fund -s)
fi
