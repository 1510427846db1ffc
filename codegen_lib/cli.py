"""The command line: ``codegen`` (installed into ``.venv/bin`` by ``scripts/setup.sh``; the same as
``python -m codegen_lib``) with ``train``, ``generate``, ``evaluate``, ``reproduce`` (checkpoints -> the results
table; the full-scale Table 5.1 recipe), ``results``, ``data fetch`` (the real corpora, pinned:
:mod:`codegen_lib.datafetch`) and ``export-onnx`` (the model for the book's Try it view). What each command
does is :mod:`codegen_lib.commands`.

``generate`` and ``evaluate`` use the model the repository ships (``--checkpoint shipped``, the default:
``artifacts/<codegen_lib.pretrained.SHIPPED_MODEL>``) unless given a checkpoint or run directory. The README's
quick-start and chapter 07 show the main commands; ``EPILOG`` below lists examples that paste into bash as they
are (tests/test_cli.py parses them with ``shlex`` and checks that each parses).

Heavy imports (torch, datasets, the model) happen inside the subcommands, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codegen_lib import fast_mode
from codegen_lib.commands import (
    BEAM_DEFAULTS,
    COMMANDS,
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    SAMPLING_DEFAULTS,
    SHIPPED,
    hub_error_line,
)

__all__ = ["main", "build_parser"]

MODEL_PRESETS = ("seed", "tiny", "small", "improved")


EPILOG = """\
examples:
  codegen generate 'Write a function `calc_affine(value)` that returns 7 times value plus 6.'
  codegen generate --strategy beam --beam-size 4 --no-repeat-ngram 3 'Define is_odd(n) returning whether n is odd.'
  codegen generate --strategy sample --temperature 0.8 --seed 0 'Implement `reverse_str` that reverses a string `s`.'
  codegen evaluate --dataset tasks --split test --limit 50 --no-codebert --out runs/shipped-eval
  codegen train --preset tiny --out runs/tiny                     # a smoke test (40 steps): it learns nothing useful
  codegen train --out runs/tiny --resume                          # continue an interrupted run where it stopped
  codegen generate --checkpoint runs/tiny 'Write a function `double(x)` that returns 2 * x.'
  codegen train --preset improved --out runs/improved             # a real model (a GPU helps)
  codegen train --recipe mix-improved --out runs/mix-improved     # the CPU-trained mix model (real data)
  codegen train --preset seed --dataset xlcost --out runs/seed    # the report's model on XLCoST (hub, GPU)
  accelerate launch -m codegen_lib train --preset seed --out runs/seed   # several GPUs, same loop
  codegen reproduce --scale offline --runs seed=runs/seed improved=runs/improved \\
      --xlcost-dir ../shared/data/raw/xlcost --out artifacts          # the book's results table
  codegen reproduce --scale full --out runs/full                  # Table 5.1 from the hub (GPU)
  codegen results artifacts/a/results.json artifacts/b/results.json --out artifacts
  codegen export-onnx shipped runs/onnx                           # the model for the book's Try it view

codegen is .venv/bin/codegen after scripts/setup.sh (no need to activate .venv); python -m codegen_lib is the
same program. --checkpoint defaults to "shipped": the trained model in the repository's artifacts/. A run directory
holds best/ (lowest validation loss; what generate/evaluate load), last/ (for --resume) and history.json (step
and epoch losses, learning rate, tokens/s, device).

exit status: 0 done; 2 bad input, or data or a checkpoint that cannot be loaded (one "error:" line on
stderr saying what to do, e.g. --data-dir for a corpus when the hub is unreachable); 130 interrupted
(Ctrl-C). Notes (a prompt cut to the model's source length, --resume using the run's options) go to stderr.
"""



class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults and keeps the epilog's line breaks."""


class _Given(argparse.Action):
    """Stores the value and records that the option was given (``args.given``), so that a default can be
    told apart from the same value typed on the command line."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = {*getattr(namespace, "given", set()), self.dest}


def build_parser(prog: str = "python -m codegen_lib") -> argparse.ArgumentParser:
    """The argument parser (exposed so the book can print ``--help``); ``prog`` names the program in it."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Train, run and evaluate the from-scratch seq2seq Transformer for Python code generation.",
        epilog=EPILOG, formatter_class=_Formatter)
    sub = parser.add_subparsers(dest="command",
                                metavar="{train,generate,evaluate,reproduce,results,data,export-onnx}")
    sub.required = True

    # ---- train
    t = sub.add_parser(
        "train", formatter_class=_Formatter, epilog=EPILOG,
        help="train a model (BPE tokenizer + Transformer) and write a run directory",
        description="Train a byte-level BPE tokenizer on the training split's prompts and code, then the "
                    "Transformer with teacher forcing. Writes OUT/best, OUT/last and OUT/history.json.")
    t.add_argument("--preset", choices=MODEL_PRESETS, default="tiny" if fast_mode() else "seed", action=_Given,
                   help="model preset (ModelConfig.preset): seed = the report's model, tiny = tests and the "
                        "fast mode (CODEGEN_FAST=1 makes tiny the default)")
    t.add_argument("--train-preset", choices=("seed", "tiny", "small", "improved"), default=None,
                   help="training recipe (TrainConfig.preset); default: the same name as --preset")
    t.add_argument("--dataset", default="tasks", action=_Given,
                   help="corpus name for codegen_lib.data.load_corpus: tasks (generated, offline), xlcost, "
                        "alpaca, merged, stdlib")
    t.add_argument("--data-dir", default=None,
                   help="a local copy of the corpus (its release folder or file, e.g. ../shared/data/raw/mbpp); "
                        "unset = the hub")
    t.add_argument("--out", default="runs/default", help="run directory")
    t.add_argument("--resume", action="store_true",
                   help="continue exactly from OUT/last (its saved configs and tokenizer are used)")
    t.add_argument("--overwrite", action="store_true",
                   help="replace a previous run in OUT; it stays there, whole, until the new run's first "
                        "checkpoint is written (an interrupted start leaves the old run as it was)")
    t.add_argument("--epochs", type=int, default=None, help="override the preset's number of epochs")
    t.add_argument("--max-steps", type=int, default=None, help="override the preset's step limit")
    t.add_argument("--batch-size", type=int, default=None, help="override the preset's batch size")
    t.add_argument("--lr", type=float, default=None, help="override the preset's peak learning rate")
    t.add_argument("--warmup-steps", type=int, default=None, help="override the preset's warmup steps")
    t.add_argument("--patience", type=int, default=None,
                   help="override the preset's early-stopping patience (epochs without a better val loss)")
    t.add_argument("--save-every", type=int, default=None, help="also write OUT/last every N steps")
    t.add_argument("--vocab-size", type=int, default=None,
                   help="BPE vocabulary size (default: 1000 for tiny, 8000 otherwise)")
    t.add_argument("--seed", type=int, default=0, help="seeds the corpus split, initialisation and data order")
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to train")
    t.add_argument("--mixed-precision", choices=("auto", "no", "bf16", "fp16"), default=None,
                   help="GPU autocast (auto = bf16 if supported, else fp16; always off on CPU)")
    t.add_argument("--max-rows", type=int, default=None,
                   help="use only the first N rows of the train and validation splits (quick experiments)")
    t.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    t.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's choice; 1 is fastest on a busy shared CPU)")
    r = t.add_argument_group("--recipe (codegen_lib.recipe: the shipped model's run and the ablations)")
    r.add_argument("--recipe", default=None, metavar="NAME|FILE",
                   help="train a recipe on the mix corpus: mix-improved (issue 11's shipped model), mix (the ablations' "
                        "base), or a recipe JSON file; OUT is resumed when OUT/last exists. --preset, "
                        "--train-preset, --vocab-size, --max-steps, --seed, --data-dir and the train "
                        "overrides (--lr, --batch-size...) change the recipe; --dataset, --max-rows, --resume "
                        "and --overwrite do not apply")
    r.add_argument("--set", action="append", default=[], metavar="SCOPE.FIELD=VALUE",
                   help="with --recipe: override model.<field> or train.<field> (a JSON value); repeatable")
    r.add_argument("--task", choices=("mix", "denoise"), default=None,
                   help="with --recipe: denoise = span denoising of the code corpus's rows (a warm-up)")
    r.add_argument("--init-from", default=None, help="with --recipe: start from this checkpoint's weights")
    r.add_argument("--snapshot-every", type=int, default=None,
                   help="with --recipe: keep every N-th step's weights in OUT/snapshots/ (checkpoint averaging)")
    r.add_argument("--cache", default="runs/data", help="with --recipe: where the corpus and tokenizer are kept")

    # ---- generate
    g = sub.add_parser(
        "generate", formatter_class=_Formatter, epilog=EPILOG, help="generate code for prompts",
        description="Load a checkpoint (a run directory uses its best/) and print the generated code.")
    g.add_argument("prompts", nargs="+", metavar="PROMPT", help='prompt text(s); "-" reads one prompt from stdin')
    g.add_argument("--checkpoint", default=SHIPPED,
                   help=f"checkpoint or run directory; {SHIPPED!r} = the model the repository ships in artifacts/")
    g.add_argument("--strategy", choices=("greedy", "beam", "sample"), default="greedy", help="decoding strategy")
    g.add_argument("--beam-size", type=int, default=BEAM_DEFAULTS["beam_size"],
                   help="beams (--strategy beam only; an error with another strategy)")
    g.add_argument("--length-penalty", type=float, default=BEAM_DEFAULTS["length_penalty"],
                   help="beam score / length**penalty (--strategy beam only)")
    g.add_argument("--temperature", type=float, default=SAMPLING_DEFAULTS["temperature"],
                   help="softmax temperature (--strategy sample only, an error with greedy or beam; > 0; "
                        "for deterministic output use --strategy greedy)")
    g.add_argument("--top-k", type=int, default=SAMPLING_DEFAULTS["top_k"],
                   help="sample from the k most likely tokens (0 = all; --strategy sample only)")
    g.add_argument("--top-p", type=float, default=SAMPLING_DEFAULTS["top_p"],
                   help="nucleus sampling mass (1.0 = off; --strategy sample only)")
    g.add_argument("--no-repeat-ngram", type=int, default=0,
                   help="forbid repeating any n-gram of this size (0 = off); guards against loops")
    g.add_argument("--max-new-tokens", type=int, default=None,
                   help="longest output in tokens (default: the model's target length limit)")
    g.add_argument("--seed", type=int, default=None, help="makes sampling reproducible")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to run")
    g.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's choice; 1 is fastest on a busy shared CPU)")

    # ---- evaluate
    e = sub.add_parser(
        "evaluate", formatter_class=_Formatter, epilog=EPILOG, help="score a checkpoint on a dataset split",
        description="Decode a dataset split with a checkpoint and score it with codegen_lib.evaluate: BLEU, "
                    "exact match, syntax validity, CodeBERTScore, and pass@k in the sandbox where the split "
                    "has tests (the tasks corpus). Prints the metrics as JSON.")
    e.add_argument("--checkpoint", default=SHIPPED,
                   help=f"checkpoint or run directory; {SHIPPED!r} = the model the repository ships in artifacts/")
    e.add_argument("--dataset", default="tasks", help="corpus name (see train --dataset)")
    e.add_argument("--data-dir", default=None,
                   help="a local copy of the corpus (see train --data-dir); unset = the hub")
    e.add_argument("--split", default="test", help="split to score (tasks: validation, test, test_unseen)")
    e.add_argument("--out", default=None,
                   help="a directory (results.json, results.md, predictions.jsonl) or a .json file path")
    e.add_argument("--num-samples", type=int, default=1, help="samples per prompt for pass@k (1 = greedy)")
    e.add_argument("--limit", type=int, default=None, help="score only the first N rows")
    e.add_argument("--strategy", choices=("greedy", "beam", "sample"), default="greedy", help="decoding strategy")
    e.add_argument("--max-new-tokens", type=int, default=None,
                   help="longest output in tokens (default: the model's target length limit)")
    e.add_argument("--seed", type=int, default=0, help="corpus seed and sampling seed")
    e.add_argument("--humaneval", action="store_true", help="also report HumanEval pass@1 (slow on CPU)")
    e.add_argument("--no-codebert", action="store_true", help="skip CodeBERTScore (it needs a model download)")
    e.add_argument("--no-progress", action="store_true", help="no progress bars")
    e.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to run")
    e.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's choice; 1 is fastest on a busy shared CPU)")
    _add_reproduce_parsers(sub)

    # ---- export-onnx
    x = sub.add_parser(
        "export-onnx", formatter_class=_Formatter, epilog=EPILOG,
        help="export a checkpoint to ONNX for the book's in-page Try it view",
        description="Write encoder.onnx, decoder_step.onnx (one step with its KV cache), weights.bin (fp16), "
                    "tokenizer.json and manifest.json into OUT (codegen_lib.onnx_export). Exit codes: 0 done, "
                    "2 bad checkpoint or arguments.")
    x.add_argument("checkpoint", metavar="CHECKPOINT",
                   help=f"checkpoint or run directory; {SHIPPED!r} = the model the repository ships in artifacts/")
    x.add_argument("out", metavar="OUT", help="output directory (created)")
    x.add_argument("--int8", action="store_true",
                   help="also write *.int8.onnx (dynamic int8 quantization, for comparison)")
    return parser


def _add_reproduce_parsers(sub) -> None:
    """``reproduce`` (codegen_lib.reproduce), ``results`` (codegen_lib.experiments) and ``data fetch``
    (codegen_lib.datafetch)."""
    r = sub.add_parser(
        "reproduce", formatter_class=_Formatter, epilog=EPILOG,
        help="evaluate checkpoints into the results table, or run the full-scale Table 5.1 recipe",
        description="--scale offline: run every evaluation this machine can (tasks test/test_unseen pass@1 "
                    "and pass@5, stdlib, the real XLCoST test set, HumanEval) for each --runs checkpoint and "
                    "write OUT/results.json and OUT/results.md beside the report's Table 5.1. "
                    "--scale full: for each dataset (xlcost, alpaca, merged; from the hub) and preset (seed, "
                    "improved), train then evaluate on the dataset's test split (BLEU + signature, XLCoST-style "
                    "BLEU, syntax validity, CodeBERTScore) and write the same files; for a GPU machine with "
                    "internet. Expected time per row on a GPU: unmeasured (no GPU with internet was available).")
    r.add_argument("--scale", choices=("offline", "full"), default="offline", help="what to reproduce")
    r.add_argument("--out", default=None, help="output directory (default: artifacts, or runs/full for --scale full)")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to train/decode")
    r.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's choice; 1 is fastest on a busy shared CPU)")
    r.add_argument("--limit", type=int, default=None, help="evaluate only the first N rows of each test split")
    r.add_argument("--no-codebert", action="store_true",
                   help="skip CodeBERTScore (default: try it; unreachable hub -> 'not computed: hub unreachable')")
    r.add_argument("--save-predictions", action="store_true", help="also write OUT/predictions/*.jsonl")
    o = r.add_argument_group("--scale offline")
    o.add_argument("--runs", nargs="+", default=[], metavar="[LABEL=]PATH",
                   help="run directories or checkpoints to evaluate (label defaults to the directory name)")
    o.add_argument("--xlcost-dir", default=None,
                   help="the local XLCoST release (e.g. ../shared/data/raw/xlcost) for the real 887-program "
                        "test set; unset = that row is skipped")
    o.add_argument("--real-data-dir", default=None,
                   help="the release copies (e.g. ../shared/data/raw): score the real-data suite instead "
                        "(MBPP, HumanEval, CoNaLa, XLCoST, Django, GfG, tasks; pass@10 from --num-samples)")
    o.add_argument("--sets", nargs="+", default=None, metavar="SET",
                   help="with --real-data-dir: only these sets of codegen_lib.suite.SETS (e.g. mbpp_test humaneval)")
    o.add_argument("--num-samples", type=int, default=5, help="samples per task for pass@5 (temperature 0.8)")
    o.add_argument("--humaneval-limit", type=int, default=None, help="only the first N HumanEval problems")
    o.add_argument("--no-humaneval", action="store_true", help="skip HumanEval")
    o.add_argument("--train-machine", default=None,
                   help="where the checkpoints were trained, for the labels (history.json records only the "
                        "device, e.g. 'cpu')")
    o.add_argument("--training-data", default=None,
                   help="describe the training data in the labels (default: from the run's run.json, e.g. "
                        "'tasks (generated, offline)'); for checkpoints copied out of their run directory")
    f = r.add_argument_group("--scale full")
    f.add_argument("--datasets", nargs="+", default=["xlcost", "alpaca", "merged"], help="corpora to train on")
    f.add_argument("--presets", nargs="+", default=["seed", "improved"], choices=MODEL_PRESETS,
                   help="model preset + training recipe of the same name")
    f.add_argument("--data-dir", action="append", default=[], metavar="NAME=PATH",
                   help="local data instead of the hub: xlcost=FOLDER (XLCoST release) or alpaca=FILE (hub "
                        "schema json/jsonl/parquet); repeatable")
    f.add_argument("--max-steps", type=int, default=None, help="override the presets' step limit")
    f.add_argument("--epochs", type=int, default=None, help="override the presets' number of epochs")
    f.add_argument("--max-rows", type=int, default=None, help="train/validate on the first N rows only")
    f.add_argument("--vocab-size", type=int, default=8000, help="BPE vocabulary size")
    f.add_argument("--seed", type=int, default=0, help="seeds the Alpaca split, initialisation and data order")
    f.add_argument("--mixed-precision", choices=("auto", "no", "bf16", "fp16"), default="auto",
                   help="GPU autocast (auto = bf16 if supported, else fp16; always off on CPU)")
    f.add_argument("--dry-run", action="store_true", help="print the planned runs and exit")

    s = sub.add_parser(
        "results", formatter_class=_Formatter, epilog=EPILOG,
        help="merge results.json files into one results table",
        description="Read the rows of one or more results.json files written by `reproduce` (e.g. two "
                    "checkpoints evaluated in parallel) and write OUT/results.json and OUT/results.md.")
    s.add_argument("files", nargs="+", metavar="RESULTS_JSON",
                   help="results.json files (their rows are concatenated; a row with the same label, set and "
                        "decoding as an earlier file's replaces it)")
    s.add_argument("--out", required=True, help="output directory")

    # ---- data fetch (the logic and its options live in codegen_lib.datafetch)
    from codegen_lib import datafetch

    d = sub.add_parser("data", help="download the real corpora into the data cache (codegen data fetch)",
                       description="Data commands. `fetch` downloads the real corpora the book reads.")
    dsub = d.add_subparsers(dest="data_command", metavar="{fetch}")
    dsub.required = True
    datafetch.add_fetch_arguments(dsub.add_parser(
        "fetch", formatter_class=_Formatter, help="download every corpus at a pinned revision, SHA-256 checked",
        description=datafetch.FETCH_DESCRIPTION))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m codegen_lib`` and the ``codegen`` console script; returns the exit code."""
    prog = "codegen" if Path(sys.argv[0]).stem == "codegen" else "python -m codegen_lib"
    args = build_parser(prog).parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)[1:]  # the subcommand's own arguments
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    from codegen_lib.hub import HubError

    try:
        return COMMANDS[args.command](args)
    except HubError as e:
        print(f"error: {hub_error_line(e, args)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, FileNotFoundError) as e:  # CheckpointError is a ValueError
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
