#!/usr/bin/env bash
# Reproduce the report's Table 5.1 at full scale: XLCoST, Alpaca and merged rows, each with the report's `seed`
# preset and the book's `improved` one (6 training runs), then BLEU (+ sacrebleu signature), XLCoST-style BLEU,
# syntax validity and CodeBERTScore on each dataset's test split. Writes OUT/results.json and OUT/results.md
# (the same format as artifacts/results.*) and one run directory per row, OUT/<dataset>-<preset>/.
#
# Needs: a GPU machine WITH INTERNET (the XLCoST training code, Alpaca, and neulab/codebert-python come from
# the Hugging Face hub; without it the command stops at once with a HubUnavailableError). bf16/fp16 autocast
# is chosen automatically. Expected time per row on a GPU: unmeasured (no GPU with internet was available
# when this was written) -- run with --dry-run to see the plan, or with --max-steps to time one row first.
#
# Usage:
#   bash scripts/reproduce_full.sh                          # everything, into runs/full
#   OUT=runs/try bash scripts/reproduce_full.sh --datasets xlcost --presets seed --max-steps 200
#   bash scripts/reproduce_full.sh --dry-run                # print the six planned runs
# Extra arguments go to `python -m codegen_lib reproduce --scale full` (see its --help). An interrupted run
# resumes from OUT/<dataset>-<preset>/last when the command is run again. The environment is set up first with
# scripts/setup.sh (a machine that already has torch keeps its own CUDA build); SKIP_SETUP=1 skips that.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${SKIP_SETUP:-0}" != "1" ]; then
  # shellcheck disable=SC1091
  source "$ROOT/scripts/setup.sh"
fi
cd "$ROOT"
OUT="${OUT:-runs/full}"
exec python -m codegen_lib reproduce --scale full --out "$OUT" "$@"
