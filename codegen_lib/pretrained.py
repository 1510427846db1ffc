"""The book's trained model: one fixed recipe, trained once, cached, and later shipped (chapters 07-10).

Chapters 08 (decoding), 09 (evaluation) and 10 (attention explorer) need a *trained* model, also in fast mode
on a 2-core CPU, without each notebook training its own. :func:`load_book_model` finds one in this order:

1. a shipped checkpoint in ``<repo>/artifacts/<name>/`` (a checkpoint or run directory written by
   :func:`codegen_lib.train.train`);
2. a cached one in ``<cache_dir>/<name>-<key>/``, where ``key`` is a short hash of the recipe and of
   ``codegen_lib.__version__`` (so a changed recipe or library never loads a stale model). ``cache_dir``
   defaults to ``$CODEGEN_CACHE_DIR`` or ``~/.cache/codegen_lib``;
3. otherwise it trains the recipe once (under a minute on a 2-core CPU: a fixed number of optimizer steps,
   so the result does not depend on the machine's speed), stores it in the cache and returns it.

The ``book-tiny`` recipe (800 steps of batch 32, about 5.8 epochs of the task corpus, ~45 s of training on
one CPU thread) reaches a validation loss of about 0.07; its greedy programs pass the tests of ~85% of
validation prompts (seen task families) and of almost none of the ``test_unseen`` families.

A cache entry is a run directory of :func:`~codegen_lib.train.train` (``best/``, ``last/``,
``history.json``) plus ``manifest.json`` (recipe, key, library version, SHA-256 of the weights). It is
trained in a temporary directory and renamed into place, so a killed run never leaves a half-written entry.

Corrupt cache entries: an entry whose manifest is missing or does not match, whose weights fail their
checksum, or which :func:`~codegen_lib.train.load_checkpoint` rejects is *retrained* (with a warning naming
the problem) when ``train_if_missing=True``; with ``train_if_missing=False`` it raises
:class:`~codegen_lib.train.CheckpointError` saying what is wrong and how to fix it. A shipped checkpoint in
``artifacts/`` is never replaced: if it is broken, loading raises, because that is a bug in the repository.

Chapter 07 trains the same recipe live (``load_book_model(retrain=True, callbacks=[LiveLossPlot()])``),
which also fills the cache, so the later chapters load it in a second.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codegen_lib.io import default_cache_dir

__all__ = [
    "BOOK_RECIPES",
    "book_recipe",
    "recipe_key",
    "artifacts_dir",
    "display_path",
    "default_cache_dir",
    "cache_entry",
    "train_book_model",
    "load_book_model",
]

# The recipes. Every field is part of the cache key. "model"/"train" override the named presets.
BOOK_RECIPES: dict[str, dict[str, Any]] = {
    "book-tiny": {
        "corpus": "tasks",  # codegen_lib.data.load_corpus name: the generated task corpus (offline)
        "corpus_seed": 0,  # seed of the generated corpus (its splits are what chapters 08-10 evaluate on)
        "train_rows": None,  # None = the whole train split; an int = its first N rows (tests)
        "val_rows": 128,  # validation rows for the per-epoch validation loss (a subset: it is cheap)
        # CPU threads while training (None = torch's default). A model this small trains several times
        # faster on one thread than on two: the threads spend more time synchronising than computing.
        "num_threads": 1,
        "tokenizer": {"vocab_size": 1000, "min_frequency": 2},  # byte-level BPE on train prompts + code
        "model_preset": "tiny",
        # a little wider than the tiny preset, pre-LN and tied embeddings: learns fastest per CPU second
        "model": {"d_model": 64, "num_heads": 4, "num_layers": 2, "d_ff": 256, "max_src_len": 64,
                  "max_tgt_len": 128, "dropout": 0.0, "norm_first": True, "tie_embeddings": True},
        "train_preset": "tiny",
        # a fixed number of steps (not a time budget), so the same weights come out on every machine speed
        "train": {"lr": 3e-3, "optimizer": "adamw", "weight_decay": 0.01, "schedule": "cosine",
                  "warmup_steps": 30, "label_smoothing": 0.0, "batch_size": 32, "epochs": 6, "max_steps": 800,
                  "patience": None, "seed": 0, "mixed_precision": "no", "log_every": 10, "eval_every": 0,
                  "save_every": 0},
    },
}
_RECIPE_KEYS = frozenset(BOOK_RECIPES["book-tiny"])
_NESTED = ("tokenizer", "model", "train")  # overrides of these are merged key by key


def book_recipe(name: str = "book-tiny", overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The recipe ``name`` (a deep copy), with ``overrides`` merged in (``"model"``, ``"train"`` and
    ``"tokenizer"`` are merged key by key; other keys replace). Unknown names or keys raise ``ValueError``."""
    if name not in BOOK_RECIPES:
        raise ValueError(f"unknown book model {name!r}: no recipe to train it; known recipes: {sorted(BOOK_RECIPES)}")
    recipe = copy.deepcopy(BOOK_RECIPES[name])
    for key, value in (overrides or {}).items():
        if key not in _RECIPE_KEYS:
            raise ValueError(f"unknown recipe key {key!r}; valid keys are {sorted(_RECIPE_KEYS)}")
        if key in _NESTED:
            if not isinstance(value, Mapping):
                raise ValueError(f"recipe override {key!r} must be a dict of fields, got {type(value).__name__}")
            recipe[key] = {**recipe[key], **copy.deepcopy(dict(value))}
        else:
            recipe[key] = copy.deepcopy(value)
    return recipe


def recipe_key(recipe: Mapping[str, Any]) -> str:
    """A short hash of the recipe and the library version: the cache entry's name suffix."""
    from codegen_lib import __version__

    blob = json.dumps({"recipe": recipe, "codegen_lib": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def artifacts_dir() -> Path:
    """``<repo>/artifacts``: where the repository ships trained checkpoints (absent in a plain pip install)."""
    return Path(__file__).resolve().parent.parent / "artifacts"


def display_path(path: str | os.PathLike) -> str:
    """``path`` as a page may show it: relative to the repository (``artifacts/mix-improved``), under the
    model cache as ``<cache>/...``, under the home directory as ``~/...``; otherwise ``.../`` and its last two
    parts. The chapters print paths through it, so a built page never shows the build machine's layout."""
    p = Path(path).expanduser().resolve()
    roots = [(artifacts_dir().parent.resolve(), ""), (default_cache_dir().resolve(), "<cache>/"),
             (Path.home().resolve(), "~/")]
    for root, prefix in roots:
        try:
            rel = p.relative_to(root)
        except ValueError:
            continue
        return prefix + (rel.as_posix() if str(rel) != "." else "")
    return ".../" + "/".join(p.parts[-2:])


def cache_entry(name: str = "book-tiny", *, cache_dir: str | os.PathLike | None = None,
                recipe: Mapping[str, Any] | None = None) -> Path:
    """The cache directory of book model ``name`` trained with ``recipe`` overrides (it may not exist yet)."""
    full = book_recipe(name, recipe)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return root / f"{name}-{recipe_key(full)}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def train_book_model(out_dir: str | os.PathLike, name: str = "book-tiny", *,
                     recipe: Mapping[str, Any] | None = None, callbacks: Sequence = (),
                     progress: bool = False) -> dict[str, Any]:
    """Train the recipe into the run directory ``out_dir`` (chapter 07 shows it live); return its history.

    Steps: load the corpus, train a byte-level BPE tokenizer on the train split's prompts and code, build
    ``ModelConfig.preset(model_preset, **model)`` and run :func:`codegen_lib.train.train` with
    ``TrainConfig.preset(train_preset, **train)``. ``callbacks`` go to ``train`` (e.g. a ``LiveLossPlot``).
    """
    import torch

    from codegen_lib.config import ModelConfig
    from codegen_lib.data import load_corpus
    from codegen_lib.tokenizer import train_tokenizer
    from codegen_lib.train import TrainConfig, train

    full = book_recipe(name, recipe)
    dd = load_corpus(full["corpus"], seed=full["corpus_seed"])
    train_ds, val_ds = dd["train"], dd["validation"]
    if full["train_rows"] is not None:
        train_ds = train_ds.select(range(min(int(full["train_rows"]), len(train_ds))))
    if full["val_rows"] is not None:
        val_ds = val_ds.select(range(min(int(full["val_rows"]), len(val_ds))))
    tokenizer = train_tokenizer(list(train_ds["prompt"]) + list(train_ds["code"]), **full["tokenizer"])
    model_cfg = ModelConfig.preset(full["model_preset"], src_vocab_size=tokenizer.vocab_size,
                                   tgt_vocab_size=tokenizer.vocab_size, **full["model"])
    train_cfg = TrainConfig.preset(full["train_preset"], progress=progress, **full["train"])
    threads = torch.get_num_threads()
    if full["num_threads"] is not None:
        torch.set_num_threads(int(full["num_threads"]))
    try:
        history = train(model_cfg, train_cfg, tokenizer, train_ds, val_ds, out_dir, callbacks=callbacks)
    finally:
        torch.set_num_threads(threads)
    return history


def _check_entry(entry: Path, name: str, key: str, full: Mapping[str, Any]) -> None:
    """Raise CheckpointError if the cache entry's manifest or weights checksum are wrong."""
    from codegen_lib.checkpoint import CheckpointError

    try:
        manifest = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"corrupt book model cache entry {entry}: manifest.json unreadable ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("key") != key or manifest.get("recipe") != full \
            or manifest.get("name") != name:
        raise CheckpointError(f"corrupt book model cache entry {entry}: manifest.json does not describe "
                              f"recipe {name!r} with key {key}")
    for rel, digest in (manifest.get("sha256") or {}).items():
        path = entry / rel
        if not path.is_file() or _sha256(path) != digest:
            raise CheckpointError(f"corrupt book model cache entry {entry}: {rel} is missing or fails its "
                                  "SHA-256 checksum (truncated or modified)")
    if not manifest.get("sha256"):
        raise CheckpointError(f"corrupt book model cache entry {entry}: manifest.json lists no weights checksum")


def _load_entry(entry: Path, name: str, key: str, full: Mapping[str, Any], map_location):
    from codegen_lib.checkpoint import load_checkpoint

    _check_entry(entry, name, key, full)
    return load_checkpoint(entry, map_location=map_location)


def _train_into_cache(entry: Path, name: str, full: Mapping[str, Any], key: str, callbacks: Sequence,
                      progress: bool) -> None:
    """Train in a temporary sibling directory, write the manifest, then rename it to ``entry``."""
    from codegen_lib import __version__

    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.tmp-", dir=entry.parent))
    try:
        start = time.perf_counter()
        overrides = {k: v for k, v in full.items()}  # the full recipe as overrides of its own name
        train_book_model(tmp, name, recipe=overrides, callbacks=callbacks, progress=progress)
        best = "best/model.safetensors" if (tmp / "best" / "model.safetensors").is_file() else "last/model.safetensors"
        manifest = {"name": name, "key": key, "recipe": full, "codegen_lib": __version__,
                    "sha256": {best: _sha256(tmp / best)}, "train_wall_s": round(time.perf_counter() - start, 2),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if entry.exists():  # a corrupt entry being replaced, or a retrain
            shutil.rmtree(entry)
        os.replace(tmp, entry)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


SHIPPED_MODEL = "mix-copy"  # artifacts/<SHIPPED_MODEL>/: the checkpoint the repository ships (issue 17)


def load_book_model(name: str | None = None, *, train_if_missing: bool = True,
                    cache_dir: str | os.PathLike | None = None, progress: bool = False, retrain: bool = False,
                    recipe: Mapping[str, Any] | None = None, callbacks: Sequence = (),
                    artifacts: str | os.PathLike | None = None, map_location: str = "cpu"):
    """The book's trained model: shipped checkpoint, else cached, else trained once (chapters 07-10).

    Args:
        name: the book model; ``artifacts/<name>/`` may hold a shipped checkpoint. None (the default) means
            the shipped :data:`SHIPPED_MODEL` when the repository has it, else the ``"book-tiny"`` recipe
            (a retrain or a ``recipe`` override always means ``"book-tiny"``).
        train_if_missing: train the recipe when nothing is shipped or cached (and replace a corrupt cache
            entry); False raises :class:`~codegen_lib.train.CheckpointError` instead.
        cache_dir: the cache root (default :func:`default_cache_dir`).
        progress: show training's progress bar.
        retrain: skip the shipped and cached models, train the recipe now and store it in the cache
            (chapter 07's live run).
        recipe: overrides of the recipe (tests use tiny budgets); they change the cache key.
        callbacks: passed to the training loop when it runs (e.g. ``viz.LiveLossPlot``).
        artifacts: the folder of shipped checkpoints (default :func:`artifacts_dir`).
        map_location: device for the weights.
    Returns:
        ``(model, tokenizer, info)``: the model in eval mode, its tokenizer, and ``info`` -- the checkpoint's
        config.json plus ``source`` (``"artifacts"``, ``"cache"`` or ``"trained"``), ``name``, ``path``
        (the checkpoint directory), ``run_dir`` and ``history_path`` (None when not available).
    """
    from codegen_lib.checkpoint import CheckpointError, load_checkpoint

    root_artifacts = Path(artifacts) if artifacts is not None else artifacts_dir()
    if name is None:
        use_shipped = not retrain and recipe is None and (root_artifacts / SHIPPED_MODEL / "config.json").is_file()
        name = SHIPPED_MODEL if use_shipped else "book-tiny"
    shipped = root_artifacts / name
    if not retrain and shipped.exists():
        model, tokenizer, info = load_checkpoint(shipped, map_location=map_location)  # broken: raises
        history = next((p for p in (shipped / "history.json", Path(info["path"]) / "history.json") if p.is_file()),
                       None)
        info.update(source="artifacts", name=name, run_dir=str(shipped),
                    history_path=str(history) if history else None)
        return model, tokenizer, info

    full = book_recipe(name, recipe)
    key = recipe_key(full)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    entry = root / f"{name}-{key}"
    source = "cache"
    loaded = None
    if not retrain and entry.exists():
        try:
            loaded = _load_entry(entry, name, key, full, map_location)
        except CheckpointError as e:
            if not train_if_missing:
                raise CheckpointError(f"{e}. Delete {entry} and call load_book_model(train_if_missing=True) "
                                      "to retrain it (about a minute on a CPU)") from e
            warnings.warn(f"{e}; retraining it", stacklevel=2)
    if loaded is None:
        if not train_if_missing and not retrain:
            raise CheckpointError(f"no book model {name!r}: nothing shipped in {shipped} and nothing cached in "
                                  f"{entry}; call load_book_model(train_if_missing=True) to train it "
                                  "(about a minute on a CPU)")
        _train_into_cache(entry, name, full, key, callbacks, progress)
        loaded = _load_entry(entry, name, key, full, map_location)
        source = "trained"
    model, tokenizer, info = loaded
    info.update(source=source, name=name, run_dir=str(entry), recipe=full, recipe_key=key,
                history_path=str(entry / "history.json") if (entry / "history.json").is_file() else None)
    return model, tokenizer, info


def export_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, *, dtype: str = "float16",
                      history: str | os.PathLike | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write a compact copy of a checkpoint for shipping in ``artifacts/`` (issue 7; chapters 07-10 load it).

    The weights are stored in ``dtype`` (half the size of float32); :func:`codegen_lib.train.load_checkpoint`
    reads them back into a float32 model. The optimizer state is left out (a shipped model is for inference;
    resume from the original run directory). The copy is written atomically like any checkpoint.

    Args:
        src: a checkpoint directory or a run directory (its ``best/`` is used).
        dst: the new checkpoint directory, e.g. ``artifacts/tasks-improved``.
        dtype: ``"float16"`` or ``"bfloat16"``.
        history: a ``history.json`` to ship beside the weights (default: the run's, when there is one).
        extra: more JSON-safe fields for ``config.json`` (e.g. the training machine).
    Returns the path of the exported checkpoint.
    """

    import torch

    from codegen_lib.checkpoint import load_checkpoint

    if dtype not in ("float16", "bfloat16"):
        raise ValueError(f"dtype must be 'float16' or 'bfloat16', got {dtype!r}")
    model, tokenizer, info = load_checkpoint(src)
    model.to(getattr(torch, dtype))
    return _save_derived(dst, model, tokenizer, info, history,
                         {"weights_dtype": dtype, "exported_from": str(info["path"]), **(extra or {})})


def _save_derived(dst, model, tokenizer, info: Mapping[str, Any], history, extra: Mapping[str, Any]) -> Path:
    """Save ``model`` as a new checkpoint made from the checkpoint ``info`` describes: its train config, its
    labels, and its history (``history``, else the one beside it)."""
    from codegen_lib.checkpoint import save_checkpoint
    from codegen_lib.train import TrainConfig

    ckpt = Path(info["path"])
    if history is None:
        history = next((p for p in (ckpt / "history.json", ckpt.parent / "history.json") if p.is_file()), None)
    hist = json.loads(Path(history).read_text(encoding="utf-8")) if history else None
    train_cfg = TrainConfig.from_dict(info["train_config"]) if info.get("train_config") else None
    keep = {k: v for k, v in info.items() if k not in ("model_config", "train_config", "tokenizer", "path",
                                                         "format_version")}
    return save_checkpoint(dst, model, tokenizer, train_config=train_cfg, history=hist, extra={**keep, **extra})


def average_checkpoints(src: str | os.PathLike, snapshots: Sequence[str | os.PathLike],
                        dst: str | os.PathLike) -> Path:
    """Average the weights of several snapshots of one run into a new checkpoint (chapter 07).

    Averaging the last few checkpoints (Vaswani et al. 2017 average the last 5) smooths the noise of the
    final steps and often scores a little better than any single one. ``src`` gives the config, tokenizer and
    history; ``snapshots`` are ``model.safetensors`` files of the same architecture (``scripts/train_mix.py
    --snapshot-every``). Written atomically like any checkpoint.
    """
    import torch
    from safetensors.torch import load_model

    from codegen_lib.checkpoint import load_checkpoint

    if not snapshots:
        raise ValueError("average_checkpoints needs at least one snapshot")
    model, tokenizer, info = load_checkpoint(src)
    total = {k: torch.zeros_like(v, dtype=torch.float32) for k, v in model.state_dict().items()}
    for snap in snapshots:
        load_model(model, str(snap))  # handles tied (shared) weights as save_checkpoint wrote them
        for k, v in model.state_dict().items():
            total[k] += v.float()
    model.load_state_dict({k: v / len(snapshots) for k, v in total.items()})
    return _save_derived(dst, model, tokenizer, info, None, {"averaged_from": [str(s) for s in snapshots]})


def model_card(model, info: Mapping[str, Any] | None = None):
    """A one-column table that introduces a model where a chapter first uses it (chapters 07-10).

    Every entry is computed: the architecture from ``model.config``, the parameter count from the weights,
    and -- when ``info`` (from :func:`load_book_model` or ``load_checkpoint``) points at a training history
    -- the data, steps, target tokens seen, wall time and throughput of the run that made it.
    """
    import pandas as pd

    info = dict(info or {})
    cfg = model.config
    rows: dict[str, Any] = {
        "checkpoint": info.get("name") or Path(str(info.get("path", "?"))).name,
        "parameters": f"{sum(p.numel() for p in model.parameters()):,}",
        "encoder / decoder layers": f"{cfg.num_layers} + {cfg.num_layers}",
        "d_model / heads / d_ff": f"{cfg.d_model} / {cfg.num_heads} / {cfg.d_ff}",
        "layer norm": "pre-LN" if cfg.norm_first else "post-LN (as the report)",
        "tied embeddings": "yes" if cfg.tie_embeddings else "no",
        "vocabulary (byte-level BPE)": f"{cfg.tgt_vocab_size:,}",
        "max prompt / code tokens": f"{cfg.max_src_len} / {cfg.max_tgt_len}",
    }
    if info.get("training_data"):
        rows["trained on"] = info["training_data"]
    hist_path = info.get("history_path")
    if hist_path and Path(hist_path).is_file():
        hist = json.loads(Path(hist_path).read_text(encoding="utf-8"))
        steps = hist.get("steps") or []
        tokens = sum(s.get("tokens", 0) for s in steps)
        seconds = hist.get("train_time_s") or 0.0
        if steps:
            rows["optimizer steps"] = f"{steps[-1]['step']:,}"
            rows["target tokens seen"] = f"{tokens:,}"
        if seconds:
            rows["training wall time"] = f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"
            rows["throughput"] = f"{tokens / seconds:,.0f} target tokens/s"
        rows["trained on device"] = info.get("train_machine") or hist.get("device", "?")
        vals = [e.get("val_loss") for e in hist.get("epochs", []) + hist.get("step_val", []) if e.get("val_loss")]
        if vals:
            rows["best validation loss"] = f"{min(vals):.3f}"
    return _untruncated(pd.DataFrame({"value": rows}))


def _untruncated(frame):
    """``frame`` as a DataFrame whose HTML and text show every value whole: pandas cuts cells longer than
    ``display.max_colwidth`` (50 characters) to "...", which would cut the card's "trained on" line."""
    import pandas as pd

    class FullCells(pd.DataFrame):
        @property
        def _constructor(self):
            return FullCells

        def _repr_html_(self):
            with pd.option_context("display.max_colwidth", None):
                return super()._repr_html_()

        def __repr__(self):
            with pd.option_context("display.max_colwidth", None):
                return super().__repr__()

    return FullCells(frame)
