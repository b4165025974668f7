#!/usr/bin/env bash
# The test command: installs what is missing, makes sure services run, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] && .venv/bin/python -c "import server.app" 2>/dev/null || bash scripts/install.sh
bash scripts/services.sh
. .venv/bin/activate
exec python -m pytest "$@"
