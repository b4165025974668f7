#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: starts a demo node (embedded, throwaway database), plays the browser
# flows of tests/web/flow.mjs and phone.mjs in Debian's Chromium and saves the console, the studio and the
# watch page (desktop; phone portrait, its checkout sheet, landscape) along the way.
# Usage: bash scripts/screenshots.sh [output dir]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshots}"
[ -x .venv/bin/python ] || bash scripts/install.sh
[ -d web/node_modules/playwright-core ] || (cd web && npm ci --no-audit --no-fund -s)
tmp="$(mktemp -d)"
port="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LIVESHOP_DATABASE_URL="sqlite+aiosqlite:///$tmp/shots.db" LIVESHOP_LOG_LEVEL=WARNING \
  .venv/bin/python -m server serve --demo --host 127.0.0.1 --port "$port" >"$tmp/node.log" 2>&1 &
node_pid=$!
trap 'kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  kill -0 "$node_pid" 2>/dev/null || { cat "$tmp/node.log" >&2; exit 1; }
  sleep 0.2
done
mkdir -p "$out"
# phone.mjs: the watch page at 390x844, its checkout sheet and landscape; report.mjs: the sale's report
for script in flow phone report; do
  node "tests/web/$script.mjs" --base "http://127.0.0.1:$port" --screenshots "$out" >"$tmp/report.json" || {
    cat "$tmp/report.json" >&2
    exit 1
  }
done
ls -1 "$out"/*.png
