#!/usr/bin/env bash
# The test command: installs what is missing (liveshop's deps, then the test-only system packages),
# makes sure services run, then runs pytest (the whole suite unless told otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] && .venv/bin/python -c "import server.app" 2>/dev/null || bash scripts/install.sh
bash scripts/install-test-deps.sh  # the test-only system packages (only what is missing)
# the web front end (socket.io client, Playwright for the browser tests) comes from npm
[ -d web/node_modules/socket.io-client ] || (cd web && npm ci --no-audit --no-fund -s)
bash scripts/services.sh
. .venv/bin/activate
exec python -m pytest "$@"
