"""Training recipes on the ``mix`` corpus: the shipped model's run and the ablations (chapter 07).

    codegen train --recipe mix-improved --out runs/mix-improved          # the previous shipped model's run
    codegen train --recipe mix --preset seed --max-steps 400 --out runs/abl-seed --set train.label_smoothing=0
    codegen train --recipe runs/mix-improved/recipe.json --out runs/again        # a run's own record

The model shipped now (``artifacts/mix-copy``) was trained on the CPU by ``scripts/long_run.py`` (recipe
``D-rebalanced`` of ``scripts/gpu_run.py``), on slot-canonicalized mix data (its bundle,
``scripts/make_bundle.py``), starting from the weights of the model shipped before it (``mix-slots``, trained
by ``scripts/gpu_run.py`` on an H200); its ``recipe.json`` loads here as a recipe of the same model and
training configs, but not of that data or that start.

A recipe names the corpus, the model and training presets, the overrides of their fields, the vocabulary
size, the step budget and the task (``"mix"``, or ``"denoise"``: span denoising of the code corpus's rows,
a warm-up). :func:`train_recipe` builds the corpus once (kept under ``cache_dir/mix``), trains the
byte-level BPE tokenizer once on its training split (``cache_dir/tok-<V>``), writes ``OUT/run.json`` and
``OUT/recipe.json``, and trains; a run whose ``OUT/last`` exists is resumed exactly. ``scripts/train_mix.py``
is a wrapper around ``codegen train --recipe mix``.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codegen_lib.io import atomic_write_json

__all__ = ["RECIPES", "load_recipe", "parse_sets", "recipe_configs", "train_recipe"]

RECIPE_FIELDS = ("corpus", "preset", "train_preset", "vocab_size", "max_steps", "seed", "task", "model", "train",
                 "snapshot_every", "init_from")
RECIPES: dict[str, dict[str, Any]] = {
    # the ablations' starting point: every field can be overridden on the command line
    "mix": {"corpus": "mix", "preset": "improved", "train_preset": None, "vocab_size": 8000, "max_steps": None,
            "seed": 0, "task": "mix", "model": {}, "train": {}, "snapshot_every": 0, "init_from": None},
    # the model shipped before mix-slots (artifacts/mix-improved until addba14): 4,000 steps of batch 32,
    # snapshots for averaging
    "mix-improved": {"corpus": "mix", "preset": "improved", "train_preset": None, "vocab_size": 8000,
                     "max_steps": 4000, "seed": 0, "task": "mix", "model": {},
                     "train": {"batch_size": 32, "warmup_steps": 300, "save_every": 200, "eval_every": 200,
                               "progress": False},
                     "snapshot_every": 200, "init_from": None},
}


def parse_sets(items: Sequence[str]) -> tuple[dict, dict]:
    """``["train.lr=0.001", "model.dropout=0"]`` -> ``({"dropout": 0}, {"lr": 0.001})`` (values as JSON,
    else as strings); a malformed item raises ValueError."""
    model: dict = {}
    train: dict = {}
    for item in items:
        key, eq, value = item.partition("=")
        scope, _, name = key.partition(".")
        if scope not in ("model", "train") or not name or not eq:
            raise ValueError(f"--set wants model.<field>=<value> or train.<field>=<value>, got {item!r}")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        (model if scope == "model" else train)[name] = parsed
    return model, train


def load_recipe(name_or_path: str | Path) -> dict[str, Any]:
    """A recipe of :data:`RECIPES` by name, or a JSON file: a recipe (its fields) or the ``recipe.json``
    that :func:`train_recipe` writes into a run (its ``recipe`` entry)."""
    if str(name_or_path) in RECIPES:
        return copy.deepcopy(RECIPES[str(name_or_path)])
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise ValueError(f"unknown recipe {str(name_or_path)!r}: neither one of {sorted(RECIPES)} nor a JSON file")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if isinstance(body, dict) and "recipe" not in body and {"model", "train"} <= set(body):
        return _from_configs(body)  # a recipe.json written before recipes were named: its full configs
    recipe = body.get("recipe", body) if isinstance(body, dict) else None
    if not isinstance(recipe, dict) or "corpus" not in recipe:
        raise ValueError(f"{path} holds no recipe (a JSON object with at least 'corpus')")
    unknown = set(recipe) - set(RECIPE_FIELDS)
    if unknown:
        raise ValueError(f"{path}: unknown recipe fields {sorted(unknown)}; valid: {list(RECIPE_FIELDS)}")
    return {**copy.deepcopy(RECIPES["mix"]), **recipe}


def _from_configs(record: Mapping[str, Any]) -> dict[str, Any]:
    """A recipe that rebuilds exactly the ``model`` and ``train`` configs a run recorded."""
    argv = list(record.get("argv") or [])
    model = {k: v for k, v in record["model"].items() if k not in ("src_vocab_size", "tgt_vocab_size")}
    train = {k: v for k, v in record["train"].items() if k not in ("seed", "max_steps")}
    snapshot = int(argv[argv.index("--snapshot-every") + 1]) if "--snapshot-every" in argv else 0
    task = argv[argv.index("--task") + 1] if "--task" in argv else "mix"
    return {**copy.deepcopy(RECIPES["mix"]), "model": model, "train": train, "seed": record["train"]["seed"],
            "max_steps": record["train"]["max_steps"], "vocab_size": record["model"]["src_vocab_size"],
            "snapshot_every": snapshot, "task": task}


def recipe_configs(recipe: Mapping[str, Any], vocab_size: int):
    """``(ModelConfig, TrainConfig)`` of a recipe for a tokenizer of ``vocab_size`` tokens."""
    from codegen_lib.config import ModelConfig
    from codegen_lib.train import TrainConfig

    if not recipe.get("max_steps"):
        raise ValueError("the recipe has no step budget: pass --max-steps N")
    model_cfg = ModelConfig.preset(recipe["preset"], src_vocab_size=vocab_size, tgt_vocab_size=vocab_size,
                                   **recipe["model"])
    train_cfg = TrainConfig.preset(recipe["train_preset"] or recipe["preset"],
                                   **{"seed": recipe["seed"], "max_steps": recipe["max_steps"], "epochs": 1000,
                                      "patience": None, **recipe["train"]})
    return model_cfg, train_cfg


class _Snapshots:
    """Copy ``OUT/last/model.safetensors`` to ``OUT/snapshots/step-N.safetensors`` whenever it changes."""

    def __init__(self, out: Path, every: int):
        self.last = out / "last" / "model.safetensors"
        self.dir = out / "snapshots"
        self.every = every
        self.seen = self.last.stat().st_mtime if self.last.is_file() else None

    def on_step_end(self, state: dict) -> None:
        import shutil

        if not self.last.is_file() or self.last.stat().st_mtime == self.seen:
            return
        self.seen = self.last.stat().st_mtime
        step = (state["step"] - 1) // self.every * self.every  # the checkpoint was written at that step
        self.dir.mkdir(exist_ok=True)
        tmp = self.dir / f".step-{step:06d}.tmp"
        shutil.copyfile(self.last, tmp)
        tmp.replace(self.dir / f"step-{step:06d}.safetensors")


def _corpus(recipe: Mapping[str, Any], data_dir, cache: Path):
    from datasets import load_from_disk

    from codegen_lib.data import load_corpus

    corpus_dir = cache / recipe["corpus"]
    if (corpus_dir / "dataset_dict.json").is_file():
        return load_from_disk(str(corpus_dir))
    corpus = load_corpus(recipe["corpus"], data_dir=data_dir, seed=recipe["seed"])
    corpus.save_to_disk(str(corpus_dir))
    return corpus


def _reads_slots(recipe: Mapping[str, Any]) -> bool:
    """Whether the recipe's model reads slot-canonicalized requests (``ModelConfig.slots``)."""
    from codegen_lib.config import ModelConfig

    return ModelConfig.preset(recipe["preset"], **recipe["model"]).slots


def _tokenizer(corpus, vocab_size: int, cache: Path, *, slots: bool = False):
    """The recipe's BPE, trained once on the corpus's training split; a slots model's also holds the slot
    tokens and learns from the canonicalized texts (cached apart, as ``tok-<V>-slots``)."""
    from codegen_lib.slots import SLOT_TOKENS, canonicalize_rows
    from codegen_lib.tokenizer import load_tokenizer, train_tokenizer

    tok_dir = cache / (f"tok-{vocab_size}-slots" if slots else f"tok-{vocab_size}")
    if (tok_dir / "tokenizer.json").is_file() or (tok_dir / "config.json").is_file():
        return load_tokenizer(tok_dir)
    t0 = time.perf_counter()
    prompts, codes = corpus["train"]["prompt"], corpus["train"]["code"]
    if slots:  # the texts the model will read: train() canonicalizes a slots model's rows the same way
        rows = canonicalize_rows({"prompt": p, "code": c} for p, c in zip(prompts, codes))
        prompts, codes = [r["prompt"] for r in rows], [r["code"] for r in rows]
    texts = [*prompts, *codes]
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size, added_tokens=SLOT_TOKENS if slots else ())
    tokenizer.save(tok_dir)
    print(f"tokenizer {vocab_size}: trained in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return tokenizer


def _denoising_rows(train_rows, seed: int):
    from datasets import Dataset

    from codegen_lib.corpora.mix import denoising_rows

    seen, unique = set(), []
    for r in train_rows:
        if r["source"] == "code" and r["id"] not in seen:
            seen.add(r["id"])
            unique.append(r)
    return Dataset.from_list(denoising_rows(unique, seed=seed))


def train_recipe(recipe: Mapping[str, Any], out: str | Path, *, data_dir: str | Path | None = None,
                 cache_dir: str | Path = "runs/data", argv: Sequence[str] | None = None) -> dict:
    """Train ``recipe`` into the run directory ``out`` (resumed when ``out/last`` exists); the history.

    Args:
        recipe: from :func:`load_recipe`, with any overrides applied.
        data_dir: the release copies for the corpus (default: ``data.shared_data_dir()``).
        cache_dir: where the corpus and tokenizer are kept between runs.
        argv: the command line, recorded in ``out/recipe.json``.
    """
    from codegen_lib.data import shared_data_dir
    from codegen_lib.train import train

    if recipe["task"] not in ("mix", "denoise"):
        raise ValueError(f"task must be 'mix' or 'denoise', got {recipe['task']!r}")
    data_dir = data_dir if data_dir is not None else shared_data_dir()
    cache = Path(cache_dir)
    corpus = _corpus(recipe, data_dir, cache)
    tokenizer = _tokenizer(corpus, recipe["vocab_size"], cache, slots=_reads_slots(recipe))
    model_cfg, train_cfg = recipe_configs(recipe, tokenizer.vocab_size)
    out = Path(out)
    resume = (out / "last" / "config.json").is_file()
    out.mkdir(parents=True, exist_ok=True)
    dataset = recipe["corpus"] if recipe["task"] == "mix" else f"{recipe['corpus']}-denoise"
    atomic_write_json(out / "run.json", {"dataset": dataset, "data_dir": None if data_dir is None else str(data_dir),
                                         "max_rows": None})
    atomic_write_json(out / "recipe.json", {"argv": list(argv or sys.argv), "recipe": dict(recipe),
                                            "model": model_cfg.to_dict(), "train": train_cfg.to_dict()},
                      indent=1, default=str)
    print(f"{'resuming' if resume else 'training'} {recipe['preset']} on {recipe['corpus']}: "
          f"{len(corpus['train'])} rows, vocab {tokenizer.vocab_size}, {recipe['max_steps']} steps -> {out}",
          file=sys.stderr)
    train_rows = corpus["train"] if recipe["task"] == "mix" else _denoising_rows(corpus["train"], recipe["seed"])
    model = None
    if recipe.get("init_from") and not resume:
        from codegen_lib.checkpoint import load_checkpoint

        model, init_tok, _ = load_checkpoint(recipe["init_from"])
        if init_tok.vocab_size != tokenizer.vocab_size or model.config.to_dict() != model_cfg.to_dict():
            raise ValueError(f"init_from {recipe['init_from']}: its config or tokenizer differs from this run's")
    callbacks = [_Snapshots(out, recipe["snapshot_every"])] if recipe.get("snapshot_every") else []
    return train(model_cfg, train_cfg, tokenizer, train_rows, corpus["validation"], out, resume=resume,
                 model=model, callbacks=callbacks)
