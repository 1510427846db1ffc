#!/usr/bin/env bash
# The README's test command: set-up, lint, then the whole test suite (CPU only); CI runs it as it is.
#   scripts/test.sh                 everything (what CI runs)
#   scripts/test.sh --fast          a few minutes: leaves out the tests marked slow, book and browser
#   scripts/test.sh --fast -k mbpp  further pytest arguments pass through
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FAST=()
if [[ "${1:-}" == "--fast" ]]; then
  shift
  FAST=(-m "not slow and not book and not browser")
fi
# shellcheck disable=SC1091
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
echo "[test] ruff"
ruff check codegen_lib tests benchmarks scripts
echo "[test] pytest ${FAST[*]:-(everything)}"
python -m pytest "${FAST[@]}" "$@"
