#!/usr/bin/env bash
# The README's test command: set-up, lint, then the whole test suite (CPU only).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
echo "[test] ruff"
ruff check codegen_lib tests benchmarks scripts
echo "[test] pytest"
python -m pytest "$@"
