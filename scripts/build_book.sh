#!/usr/bin/env bash
# The README's book command: set-up, then build the executed book on CPU in fast mode.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
export CODEGEN_FAST="${CODEGEN_FAST:-1}"
# Execute chapters with this environment's own "python3" kernel (where codegen_lib is installed), not a
# same-named kernel registered elsewhere for the user; nothing is registered globally.
export JUPYTER_PREFER_ENV_PATH=1
bash "$ROOT/scripts/fetch_assets.sh"  # MathJax and the widget manager, served offline from _static
jupyter-book build . --all
echo "[book] built: $ROOT/_build/html/index.html"
