#!/usr/bin/env bash
# Installs what liveshop itself runs (the demo, `liveshop serve`): Python deps into .venv and the web
# front end's npm deps. The tests' and benchmarks' system tools come with scripts/install-test-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

need_apt=()
python3 -c "import ensurepip" 2>/dev/null || need_apt+=(python3-venv)
command -v npm >/dev/null || need_apt+=(nodejs npm)  # the web front end's socket.io client comes from npm
apt_install "${need_apt[@]}"

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e ".[dev]"

if [ -f web/package.json ] && command -v npm >/dev/null; then
  (cd web && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund -s; else npm install --no-audit --no-fund -s; fi)
fi
