#!/usr/bin/env bash
# Installs everything codegen-book needs into a virtual environment (.venv, unless one is active).
# Sourced by scripts/test.sh and scripts/build_book.sh (so each README command works on a fresh machine), and
# leaves that environment active for them. The pip commands themselves come from scripts/setup_env.py: the CPU
# build of torch on a bare Linux machine, an existing torch (Colab, a GPU box) kept, and nothing at all when
# pyproject.toml and requirements.txt have not changed since the last run (a stamp in the environment).
# `bash scripts/setup.sh --dry-run` prints the commands without running them; `--force` reinstalls.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    if ! command -v python3 >/dev/null 2>&1; then
      echo "[setup] python3 not found: install Python 3.10 or newer" >&2
      exit 1
    fi
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
      echo "[setup] codegen-book needs Python >= 3.10; python3 is $(python3 -V 2>&1)" >&2
      exit 1
    fi
    echo "[setup] creating $ROOT/.venv"
    if ! python3 -m venv "$ROOT/.venv"; then
      rm -rf "$ROOT/.venv"
      echo "[setup] 'python3 -m venv' failed: install the venv module (Debian/Ubuntu: apt install python3-venv)" >&2
      exit 1
    fi
  fi
  # shellcheck disable=SC1091
  . "$ROOT/.venv/bin/activate"
fi
# Only setup.sh's own options go to setup_env.py (when sourced, "$@" holds the caller's arguments).
SETUP_ARGS=()
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  SETUP_ARGS=("$@")
fi
python "$ROOT/scripts/setup_env.py" ${SETUP_ARGS[@]+"${SETUP_ARGS[@]}"}
