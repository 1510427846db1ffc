#!/usr/bin/env bash
# Installs everything codegen-book needs into a virtual environment (.venv, unless one is active).
# Sourced by scripts/test.sh and scripts/build_book.sh, so each README command works on a fresh machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    echo "[setup] creating $ROOT/.venv"
    python3 -m venv "$ROOT/.venv"
  fi
  # shellcheck disable=SC1091
  . "$ROOT/.venv/bin/activate"
fi
python -m pip install -q --upgrade pip >/dev/null
# The CPU wheel first: a bare 'torch' requirement with no torch installed would pull a multi-GB CUDA build.
# A machine that already has torch (Colab, a GPU box) keeps its own.
if ! python -c "import torch" >/dev/null 2>&1; then
  echo "[setup] installing the CPU build of torch (torch==2.13.0)"
  python -m pip install -q "torch==2.13.0"
fi
echo "[setup] installing codegen_lib with its book, eval and dev extras"
python -m pip install -q -e "$ROOT[eval,book,dev]"
