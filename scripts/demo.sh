#!/usr/bin/env bash
# The demo: installs on first use, then runs a demo shop, live, on the embedded default (no services).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/liveshop ] || bash scripts/install.sh
exec .venv/bin/liveshop serve --demo "$@"
