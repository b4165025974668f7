#!/usr/bin/env bash
# The house rules, checked: style (ruff), the import contracts (import-linter: features independent,
# floors below features, only app/cli wire), and types (mypy on server/).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check server tests loadtests
.venv/bin/lint-imports
.venv/bin/mypy
