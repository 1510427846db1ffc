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
# the shipped model in ONNX for the in-page Try it view (chapters 08 and 10): generated, not committed
# (15 MB of float16 weights, rebuilt in seconds from artifacts/); the chapters' cells do the same if missing
python -m codegen_lib export-onnx shipped "$ROOT/_book_assets/tryit/model" >/dev/null
jupyter-book build . --all
echo "[book] built: $ROOT/_build/html/index.html"
