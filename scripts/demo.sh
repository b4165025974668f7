#!/usr/bin/env bash
# The demo: installs on first use, then runs a demo shop, live, on the embedded default (no services).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/liveshop ] || bash scripts/install.sh
# the web front end (socket.io client, Playwright for the browser tests) comes from npm
[ -d web/node_modules/socket.io-client ] || (cd web && npm ci --no-audit --no-fund -s)
exec .venv/bin/liveshop serve --demo "$@"
