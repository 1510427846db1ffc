"""What each ``codegen`` subcommand does (the parser and ``main`` are :mod:`codegen_lib.cli`).

Every command takes the parsed ``argparse.Namespace`` and returns the exit status; bad input raises
ValueError / FileNotFoundError (and hub failures :class:`codegen_lib.hub.HubError`), which ``main`` turns
into one ``error:`` line (see :func:`hub_error_line`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

__all__ = ["COMMANDS", "ReplaceOldRun", "hub_error_line", "shipped_checkpoint"]

DEFAULT_VOCAB = {"tiny": 1000}  # other presets: 8000 (ModelConfig's placeholder size)
RUN_FILE = "run.json"  # the train command's data options, for --resume
DATA_ARGS = ("dataset", "data_dir", "max_rows")
SHIPPED = "shipped"  # --checkpoint value: the model the repository ships (codegen_lib.pretrained.SHIPPED_MODEL)
EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130
SAMPLING_DEFAULTS = {"temperature": 1.0, "top_k": 0, "top_p": 1.0}  # generate's sampling-only options
BEAM_DEFAULTS = {"beam_size": 4, "length_penalty": 1.0}  # generate's beam-only options


def _device(name: str) -> str:
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was requested but no CUDA GPU is available")
    return "cuda" if name == "auto" and torch.cuda.is_available() else ("cpu" if name == "auto" else name)


def _use_saved_data_args(args: argparse.Namespace, out: Path) -> None:
    """On --resume, the data options come from OUT/run.json, so the resumed run sees the same rows."""
    path = out / RUN_FILE
    if not path.is_file():
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    for key in DATA_ARGS:
        if key in saved and getattr(args, key) != saved[key]:
            if _is_main_process():
                print(f"note: --resume uses the run's {key}={saved[key]!r}", file=sys.stderr)
            setattr(args, key, saved[key])


def _is_main_process() -> bool:
    """True unless this is a non-zero rank under ``accelerate launch``/``torchrun`` (print once, not N times)."""
    return int(os.environ.get("RANK", "0")) == 0


def _split(corpus, names: tuple[str, ...], what: str):
    for name in names:
        if name in corpus:
            return corpus[name]
    raise ValueError(f"the corpus has no {what} split (looked for {names}; it has {sorted(corpus)})")


def _check_train_args(args: argparse.Namespace) -> None:
    """Cheap checks of ``train``'s options, before anything is loaded or written (ValueError says what)."""
    from codegen_lib.data import CORPORA

    if args.dataset not in CORPORA:
        raise ValueError(f"unknown --dataset {args.dataset!r}; valid names are {', '.join(CORPORA)}")
    if args.data_dir is not None and not Path(args.data_dir).exists():
        raise FileNotFoundError(f"--data-dir {args.data_dir} does not exist")
    for name in ("epochs", "max_steps", "batch_size", "save_every", "vocab_size", "max_rows", "patience"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.warmup_steps is not None and args.warmup_steps < 0:
        raise ValueError(f"--warmup-steps must be >= 0, got {args.warmup_steps}")
    if args.lr is not None and not args.lr > 0:
        raise ValueError(f"--lr must be > 0, got {args.lr}")


def shipped_checkpoint() -> Path:
    """The model the repository ships: ``artifacts/<codegen_lib.pretrained.SHIPPED_MODEL>``."""
    from codegen_lib.pretrained import SHIPPED_MODEL, artifacts_dir

    path = artifacts_dir() / SHIPPED_MODEL
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"--checkpoint {SHIPPED}: the shipped model is not at {path} (a pip install without the "
            "repository has no artifacts/); clone the repository, or pass --checkpoint RUN_DIR after "
            "`codegen train --out RUN_DIR`")
    return path


def _checkpoint(value: str) -> str:
    """``--checkpoint``: a path, or ``shipped`` for the shipped model (unless a folder of that name exists)."""
    if value == SHIPPED and not Path(value).exists():
        return str(shipped_checkpoint())
    return value


class ReplaceOldRun:
    """``train --overwrite``: the previous run stays in OUT until the new run's first checkpoint is written.

    The new run's checkpoints replace ``best/`` and ``last/`` one atomic swap at a time
    (:func:`codegen_lib.checkpoint.swap_in`). After the first one, whatever is left of the old run (its
    ``best/`` or ``last/`` not yet replaced) is deleted and the new ``run.json`` is written, so a crash
    or Ctrl-C before that point leaves the old run as it was, and one after it leaves the new run.
    """

    def __init__(self, out: Path, run_args: dict):
        self.out, self.run_args = out, run_args
        self.old = {name: (out / name).stat().st_ino for name in ("best", "last") if (out / name).is_dir()}

    def on_checkpoint(self, state: dict) -> None:
        if not self.old:
            return
        from codegen_lib.io import atomic_write_json

        for name, inode in self.old.items():
            path = self.out / name
            if path.is_dir() and path.stat().st_ino == inode:
                shutil.rmtree(path)
        self.old = {}
        atomic_write_json(self.out / RUN_FILE, self.run_args)


RECIPE_TRAIN_ARGS = ("epochs", "batch_size", "lr", "warmup_steps", "patience", "save_every", "mixed_precision")


def cmd_train_recipe(args: argparse.Namespace) -> int:
    """``train --recipe``: :func:`codegen_lib.recipe.train_recipe` with the command line's overrides."""
    from codegen_lib.recipe import load_recipe, parse_sets, train_recipe

    wrong = [f"--{name.replace('_', '-')}" for name in ("dataset", "max_rows") if name in getattr(args, "given", ())
             or (name == "max_rows" and args.max_rows is not None)]
    wrong += [flag for flag, on in (("--resume", args.resume), ("--overwrite", args.overwrite)) if on]
    if wrong:
        raise ValueError(f"{' and '.join(wrong)} do not apply to --recipe (the recipe names its corpus, and a run "
                         "whose OUT/last exists is resumed)")
    recipe = load_recipe(args.recipe)
    model_over, train_over = parse_sets(args.set)
    recipe["model"] = {**recipe["model"], **model_over}
    recipe["train"] = {**recipe["train"], **train_over,
                       **{k: getattr(args, k) for k in RECIPE_TRAIN_ARGS if getattr(args, k) is not None}}
    if args.device != "auto":
        recipe["train"]["device"] = args.device
    if args.no_progress:
        recipe["train"]["progress"] = False
    for key in ("train_preset", "vocab_size", "max_steps", "task", "init_from", "snapshot_every"):
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    if "preset" in getattr(args, "given", ()):
        recipe["preset"] = args.preset
    recipe["seed"] = args.seed
    if args.data_dir is not None and not Path(args.data_dir).exists():
        raise FileNotFoundError(f"--data-dir {args.data_dir} does not exist")
    history = train_recipe(recipe, args.out, data_dir=args.data_dir, cache_dir=args.cache,
                           argv=["codegen", "train", *getattr(args, "argv", [])])
    steps = history["steps"]
    tokens = sum(s["tokens"] for s in steps)
    print(json.dumps({"out": str(args.out), "steps": steps[-1]["step"] if steps else 0, "tokens": tokens,
                      "train_time_s": round(history["train_time_s"], 1),
                      "tokens_per_s": round(tokens / max(history["train_time_s"], 1e-9)),
                      "best_val_loss": history.get("best_val_loss")}))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    if args.recipe is not None:
        return cmd_train_recipe(args)
    recipe_only = [f"--{k.replace('_', '-')}" for k in ("task", "init_from", "snapshot_every") if getattr(args, k)]
    recipe_only += ["--set"] if args.set else []
    if recipe_only:
        raise ValueError(f"{' and '.join(recipe_only)} only apply with --recipe")
    from codegen_lib.checkpoint import CheckpointError, recover_checkpoint_dir
    from codegen_lib.config import ModelConfig
    from codegen_lib.data import load_corpus
    from codegen_lib.io import atomic_write_json
    from codegen_lib.tokenizer import load_tokenizer, train_tokenizer
    from codegen_lib.train import TrainConfig, train

    out = Path(args.out)
    last = out / "last"
    recover_checkpoint_dir(last)  # a kill between the two renames of a checkpoint swap leaves .last.old
    overrides = {k: v for k, v in {"epochs": args.epochs, "max_steps": args.max_steps, "batch_size": args.batch_size,
                                   "lr": args.lr, "save_every": args.save_every,
                                   "warmup_steps": args.warmup_steps, "patience": args.patience,
                                   "mixed_precision": args.mixed_precision}.items() if v is not None}
    overrides["device"] = args.device
    if args.no_progress:
        overrides["progress"] = False
    if args.resume:
        if not (last / "config.json").is_file():
            raise CheckpointError(f"--resume: there is no checkpoint at {last}")
        saved = json.loads((last / "config.json").read_text(encoding="utf-8"))
        model_cfg = ModelConfig.from_dict(saved["model_config"])
        train_cfg = TrainConfig.from_dict({**saved["train_config"], **overrides})
        tokenizer = load_tokenizer(last / "tokenizer")
        _use_saved_data_args(args, out)
        if {k for k in overrides if k in ("epochs", "max_steps", "batch_size", "lr", "warmup_steps")}:
            print("note: changing epochs/max-steps/batch-size/lr on --resume changes the schedule; "
                  "the continuation is then not identical to an uninterrupted run", file=sys.stderr)
    else:
        if ((out / "last").exists() or (out / "best").exists()) and not args.overwrite:
            raise ValueError(f"{out} already holds a run: pass --resume to continue it or --overwrite "
                             "to start afresh")
        train_cfg = TrainConfig.preset(args.train_preset or args.preset, seed=args.seed, **overrides)
        model_cfg = None  # built once the tokenizer knows its vocabulary size
    # Nothing is written to OUT before the corpus, the configs and the tokenizer are known to be good: a
    # mistyped --dataset or a bad size fails with a message and leaves OUT as it was.
    _check_train_args(args)
    corpus = load_corpus(args.dataset, data_dir=args.data_dir, seed=train_cfg.seed)
    train_ds = _split(corpus, ("train",), "training")
    val_ds = _split(corpus, ("validation", "valid", "dev"), "validation")
    if args.max_rows is not None:
        train_ds = train_ds.select(range(min(args.max_rows, len(train_ds))))
        val_ds = val_ds.select(range(min(args.max_rows, len(val_ds))))
    if not args.resume:
        vocab_size = args.vocab_size or DEFAULT_VOCAB.get(args.preset, 8000)
        texts = [text for column in ("prompt", "code") for text in train_ds[column]]
        tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
        model_cfg = ModelConfig.preset(args.preset, src_vocab_size=tokenizer.vocab_size,
                                       tgt_vocab_size=tokenizer.vocab_size)
        replace = ReplaceOldRun(out, {k: getattr(args, k) for k in DATA_ARGS})
        if _is_main_process() and not replace.old:
            atomic_write_json(out / RUN_FILE, replace.run_args)  # what --resume needs to rebuild the data
    if _is_main_process():
        print(f"training {args.preset if not args.resume else 'resumed'} model on {args.dataset}: {len(train_ds)} train / "
              f"{len(val_ds)} validation rows, vocab {tokenizer.vocab_size}, out {out}", file=sys.stderr)
    callbacks = [replace] if not args.resume and replace.old else []
    history = train(model_cfg, train_cfg, tokenizer, train_ds, val_ds, out, callbacks=callbacks, resume=args.resume)
    best = history.get("best_val_loss")
    if _is_main_process():
        print(json.dumps({"out": str(out), "steps": history["steps"][-1]["step"] if history["steps"] else 0,
                          "epochs": len(history["epochs"]), "best_val_loss": best,
                          "stopped_early": history.get("stopped_early", False),
                          "train_time_s": round(history["train_time_s"], 1), "device": history.get("device")}))
    return 0


def _check_decoding_options(args: argparse.Namespace) -> None:
    """Sampling options need ``--strategy sample`` and beam options ``--strategy beam``: an option the chosen
    strategy would silently ignore is an error that says which strategy it belongs to."""
    for strategy, defaults in (("sample", SAMPLING_DEFAULTS), ("beam", BEAM_DEFAULTS)):
        given = [f"--{k.replace('_', '-')}" for k, v in defaults.items() if getattr(args, k) != v]
        if given and args.strategy != strategy:
            extra = (" (greedy is already the deterministic limit of temperature 0)"
                     if "--temperature" in given and args.strategy == "greedy" else "")
            verb = "applies" if len(given) == 1 else "apply"
            raise ValueError(f"{' and '.join(given)} only {verb} to --strategy {strategy}, but the strategy is "
                             f"{args.strategy}: add --strategy {strategy}, or drop {' and '.join(given)}{extra}")
    if args.strategy == "sample" and not args.temperature > 0:
        raise ValueError(f"--temperature must be > 0 for --strategy sample, got {args.temperature}; for "
                         "deterministic output (the limit of temperature 0) use --strategy greedy")


def _check_prompts(prompts: list[str], tokenizer, max_src_len: int) -> None:
    """Empty prompts are an error; a prompt longer than the model reads gets a one-line note on stderr.
    Prompts are counted from 1, as a reader counts the command's arguments."""
    for i, prompt in enumerate(prompts, start=1):
        if not prompt.strip():
            raise ValueError(f"prompt {i} is empty; describe the code you want, e.g. 'Write a function ...'")
        n = len(tokenizer.encode(prompt))
        if n > max_src_len - 1:
            print(f"note: prompt {i} has {n:,} tokens; the model reads the first {max_src_len - 1} "
                  f"(its source limit {max_src_len} includes <eos>), so the last {n - max_src_len + 1:,} "
                  "are cut", file=sys.stderr)


def cmd_generate(args: argparse.Namespace) -> int:
    import warnings

    from codegen_lib.checkpoint import load_checkpoint
    from codegen_lib.decode import generate

    _check_decoding_options(args)
    prompts = [sys.stdin.read() if p == "-" else p for p in args.prompts]
    model, tokenizer, _ = load_checkpoint(_checkpoint(args.checkpoint), map_location=_device(args.device))
    limit = model.config.max_tgt_len
    max_new_tokens = limit if args.max_new_tokens is None else args.max_new_tokens
    if max_new_tokens > limit:
        print(f"note: --max-new-tokens {max_new_tokens} exceeds the model's target limit {limit}; "
              f"generating at most {limit} tokens", file=sys.stderr)
        max_new_tokens = limit
    _check_prompts(prompts, tokenizer, model.config.max_src_len)
    with warnings.catch_warnings():  # the notes above already said it, once, in the command's words
        warnings.filterwarnings("ignore", message=r"prompt \d+ has \d+ tokens")
        codes = generate(model, tokenizer, prompts, strategy=args.strategy, max_new_tokens=max_new_tokens,
                         beam_size=args.beam_size, length_penalty=args.length_penalty,
                         temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                         no_repeat_ngram_size=args.no_repeat_ngram, seed=args.seed)
    for i, code in enumerate(codes):
        if len(codes) > 1:
            print(f"# --- prompt {i + 1}: {prompts[i][:70]}")
        print(code)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from codegen_lib.checkpoint import load_checkpoint
    from codegen_lib.data import load_corpus
    from codegen_lib.evaluate import evaluate_model

    model, tokenizer, info = load_checkpoint(_checkpoint(args.checkpoint), map_location=_device(args.device))
    corpus = load_corpus(args.dataset, data_dir=args.data_dir, seed=args.seed)
    if args.split not in corpus:
        raise ValueError(f"corpus {args.dataset!r} has no split {args.split!r}; it has {sorted(corpus)}")
    out = Path(args.out) if args.out else None
    results = evaluate_model(
        model, tokenizer, corpus[args.split], dataset=args.dataset, split=args.split,
        decoding={"strategy": args.strategy, "seed": args.seed,
                  "max_new_tokens": model.config.max_tgt_len if args.max_new_tokens is None else args.max_new_tokens},
        n_samples=args.num_samples, limit=args.limit, humaneval=args.humaneval, codebert=not args.no_codebert,
        checkpoint=info["path"], out_dir=out if out is not None and out.suffix != ".json" else None,
        progress=not args.no_progress)
    body = {k: v for k, v in results.items() if k not in ("predictions", "statuses")}
    if out is not None and out.suffix == ".json":  # --out results.json: just the JSON, at that path
        from codegen_lib.io import atomic_write_json

        atomic_write_json(out, body, default=str)
    print(json.dumps(body["metrics"], indent=2, default=str))
    return 0


def _pairs(items: list[str], what: str, *, default_key=None) -> dict[str, str]:
    """``["a=x", "y"]`` -> ``{"a": "x", default_key("y"): "y"}``; a bad item raises ValueError."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            if default_key is None:
                raise ValueError(f"{what} expects NAME=PATH, got {item!r}")
            key, value = default_key(item), item
        if not key or not value:
            raise ValueError(f"{what} expects NAME=PATH, got {item!r}")
        if key in out:
            raise ValueError(f"{what}: {key!r} is given twice")
        out[key] = value
    return out


def cmd_reproduce(args: argparse.Namespace) -> int:
    from codegen_lib import experiments, reproduce

    progress = not args.no_progress
    if args.scale == "offline":
        if not args.runs:
            raise ValueError("--scale offline needs --runs [LABEL=]PATH ... (run directories or checkpoints)")
        runs = _pairs(args.runs, "--runs", default_key=lambda p: Path(p).resolve().name)
        out = Path(args.out or "artifacts")
        rows = reproduce.reproduce_offline(
            runs, out, xlcost_dir=args.xlcost_dir, n_samples=args.num_samples, limit=args.limit,
            humaneval=not args.no_humaneval, humaneval_limit=args.humaneval_limit, threads=args.threads,
            progress=progress, codebert=not args.no_codebert, train_machine=args.train_machine,
            training_data=args.training_data, real_data_dir=args.real_data_dir, suite_sets=args.sets,
            device=_device(args.device))
    else:
        out = Path(args.out or "runs/full")
        data_dirs = _pairs(args.data_dir, "--data-dir")
        rows = reproduce.reproduce_full(
            out, datasets=args.datasets, presets=args.presets, data_dirs=data_dirs, max_steps=args.max_steps,
            epochs=args.epochs, limit=args.limit, max_rows=args.max_rows, vocab_size=args.vocab_size,
            seed=args.seed, device=args.device, mixed_precision=args.mixed_precision,
            codebert=not args.no_codebert, progress=progress, dry_run=args.dry_run)
        if args.dry_run:
            return 0
    if args.save_predictions:
        experiments.write_results_table(rows, out, save_predictions=True)
    print(f"wrote {out / 'results.json'} and {out / 'results.md'} ({len(rows)} rows)")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from codegen_lib.experiments import write_results_table

    rows: list[dict] = []
    examples: dict = {}
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"no results file at {path}")
        body = json.loads(path.read_text(encoding="utf-8"))
        found = body.get("results") if isinstance(body, dict) else None
        if not isinstance(found, list):
            raise ValueError(f"{path} is not a results.json written by `reproduce` (no 'results' list)")
        rows.extend(found)
        examples.update(body.get("mbpp_side_by_side") or {})
    # a re-run replaces its row: the same label, set and decoding in a later file wins, in the earlier place
    merged: dict[str, dict] = {}
    for row in rows:
        merged[_row_key(row)] = row
    replaced = len(rows) - len(merged)
    paths = write_results_table(list(merged.values()), args.out, side_by_side_examples=examples)
    print(f"wrote {paths['json']} and {paths['markdown']} ({len(merged)} rows"
          + (f"; {replaced} replaced by a later file's re-run" if replaced else "") + ")")
    return 0


def _row_key(row: dict) -> str:
    """What makes two results rows the same measurement: the model's label, the set and the decoding."""
    return json.dumps([row.get("label"), row.get("eval_set"), row.get("decoding")], sort_keys=True)


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from codegen_lib.onnx_export import export_onnx, quantize_int8

    if not Path(_checkpoint(args.checkpoint)).exists():
        raise FileNotFoundError(f"no checkpoint at {args.checkpoint}")
    manifest = export_onnx(_checkpoint(args.checkpoint), args.out)
    sizes = dict(manifest["files_bytes"])
    if args.int8:
        sizes.update(quantize_int8(args.out))
    for name, size in sizes.items():
        print(f"{Path(args.out) / name}  {size / 1e6:.2f} MB")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """``codegen data fetch``: see codegen_lib.datafetch (exit codes 0 / 1 checksum / 2 usage / 3 network)."""
    from codegen_lib.datafetch import run_fetch

    return run_fetch(args)


COMMANDS = {"train": cmd_train, "generate": cmd_generate, "evaluate": cmd_evaluate, "reproduce": cmd_reproduce,
            "results": cmd_results, "data": cmd_data, "export-onnx": cmd_export_onnx}


def hub_error_line(error: Exception, args: argparse.Namespace) -> str:
    """A hub failure as one line in the command's own words: what could not be loaded, why, and the
    command-line way around it (``--data-dir``, which ``codegen data fetch`` fills; the offline corpora),
    not the Python one."""
    text = " ".join(str(error).split())
    cause = text.split(" Offline, use ")[0].rstrip(".")
    if not hasattr(args, "data_dir"):
        return f"{cause}; this command needs the hub, or a local copy of what it loads"
    if args.command == "reproduce":
        way = "--data-dir NAME=PATH (e.g. xlcost=../shared/data/raw/xlcost)"
    else:
        dataset = getattr(args, "dataset", None) or "mbpp"
        folder = {"gfg": "transcoder_gfg"}.get(dataset, dataset)
        way = f"--data-dir PATH (a local copy of {dataset}, e.g. ../shared/data/raw/{folder})"
        if dataset in ("mbpp", "conala", "xlcost", "gfg", "django"):  # codegen_lib.datafetch.CORPUS_NAMES
            way += " (`codegen data fetch` downloads it there once the network is back)"
    return f"{cause}. Offline, pass {way}, or use --dataset tasks or stdlib, which need no network"
