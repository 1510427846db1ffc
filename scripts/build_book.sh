#!/usr/bin/env bash
# The README's book command: set-up, then build the executed book on CPU in fast mode.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
export CODEGEN_FAST="${CODEGEN_FAST:-1}"
python -m ipykernel install --user --name python3 >/dev/null 2>&1 || true
jupyter-book build . --all
echo "[book] built: $ROOT/_build/html/index.html"
