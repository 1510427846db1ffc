"""Reproduction: checkpoints -> evaluated results rows, and the report's Table 5.1 at full scale (chapter 09).

``python -m codegen_lib reproduce`` calls it; :mod:`codegen_lib.experiments` renders what it returns.

* :func:`evaluate_offline_suite` -- every evaluation this machine can run for one checkpoint: the generated
  tasks' held-out splits (seen and unseen families; pass@1 greedy, pass@5 sampled, BLEU), the stdlib corpus
  (BLEU, syntax validity), the real XLCoST test set (887 programs; BLEU, XLCoST-style BLEU, syntax validity)
  and HumanEval (pass@1); or, with ``real_data_dir``, the real-data suite of :mod:`codegen_lib.suite`. Each
  row is a :func:`codegen_lib.evaluate.evaluate_model` result (so one :func:`~codegen_lib.evaluate.evaluate_set`)
  labelled with the checkpoint's presets, training data, steps, time and machine.
* :func:`reproduce_full` -- the report's three rows at full scale: for each dataset in (xlcost, alpaca,
  merged) from the hub and each preset in (seed, improved), train, then evaluate on that dataset's test split
  (BLEU with signature, XLCoST-style BLEU for xlcost/merged, syntax validity, CodeBERTScore) and write the same
  results files. Meant for a GPU machine with internet (``bash scripts/reproduce_full.sh``). The time per row
  on a GPU is unmeasured: no GPU with hub access was available where this was written.

Metrics are never reimplemented here: everything goes through :mod:`codegen_lib.evaluate` and
:mod:`codegen_lib.metrics`. A metric that cannot run is recorded as a string saying why
(``"not computed: hub unreachable"``), never as a substitute number.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from codegen_lib.evaluate import evaluate_model, machine_info
from codegen_lib.experiments import TRAINING_DATA, write_results_table
from codegen_lib.io import atomic_write_json

__all__ = [
    "FULL_DATASETS",
    "FULL_PRESETS",
    "DECODING",
    "checkpoint_labels",
    "evaluate_offline_suite",
    "FullRun",
    "plan_full",
    "reproduce_full",
    "reproduce_offline",
]

FULL_DATASETS = ("xlcost", "alpaca", "merged")  # the report's three rows, in Table 5.1's order
FULL_PRESETS = ("seed", "improved")  # the report's recipe and the book's improved one
DECODING = {  # greedy decoding budget per evaluation set (new tokens, capped at the model's max_tgt_len)
    "tasks": {"strategy": "greedy", "max_new_tokens": 96},  # one short function each
    "stdlib": {"strategy": "greedy", "max_new_tokens": 256},
    "xlcost": {"strategy": "greedy", "max_new_tokens": 256},
    "alpaca": {"strategy": "greedy", "max_new_tokens": 256},
    "merged": {"strategy": "greedy", "max_new_tokens": 256},
    "humaneval": {"strategy": "greedy", "max_new_tokens": 256},
}
SAMPLE_TEMPERATURE = 0.8  # pass@k samples (the Codex paper's pass@k temperatures are 0.2-0.8)
SAMPLE_SEED = 0  # sample j of every task uses seed SAMPLE_SEED + j
# the four train-config fields that name a recipe; the rest (lr, steps, batch) are budget and get overridden
RECIPE_KEYS = ("optimizer", "schedule", "label_smoothing", "weight_decay")
# train-config fields that say nothing about the recipe (where and how verbosely it ran)
NOT_RECIPE = {"device", "progress", "log_every", "eval_every", "save_every", "num_workers", "mixed_precision"}



# ----------------------------------------------------------------------------------------------------------------
# labels
# ----------------------------------------------------------------------------------------------------------------
def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _infer_presets(model_config: Mapping, train_config: Mapping | None) -> tuple[str, str, dict]:
    """``(model preset, train preset, train overrides)`` of a saved checkpoint's configs.

    The model preset is the most specific one whose fields all match (vocabulary sizes aside): ``copy`` is
    ``improved`` plus ``copy_head`` and ``slots``, so a copy-head model is ``copy``. Train presets share
    recipes (``small`` and ``improved`` are both AdamW + cosine + smoothing 0.1), so the train preset is one
    whose :data:`RECIPE_KEYS` match: the model preset's name (the ``train`` command's default) if it is one,
    else the name of a preset it extends (``copy`` -> ``improved``), else the one with the fewest differences;
    those differences (lr, batch size, steps...) are returned as overrides.
    """
    from codegen_lib.config import PRESETS
    from codegen_lib.train import TRAIN_PRESETS, TrainConfig

    arch = {k: v for k, v in model_config.items() if k not in ("src_vocab_size", "tgt_vocab_size", "pad_id")}
    matching = [name for name, fields in PRESETS.items() if all(arch.get(k) == v for k, v in fields.items())]
    model_preset = max(matching, key=lambda name: len(PRESETS[name]), default="custom")
    if not train_config:
        return model_preset, "unknown", {}

    presets = {name: TrainConfig.preset(name).to_dict() for name in TRAIN_PRESETS}

    def overrides_from(name: str) -> dict:
        preset = presets[name]
        return {k: v for k, v in train_config.items() if k not in NOT_RECIPE and k in preset and v != preset[k]}

    candidates = [name for name, preset in presets.items()
                  if all(train_config.get(k) == preset[k] for k in RECIPE_KEYS)]
    if not candidates:
        return model_preset, "custom", {}
    # the model preset's own name first, then one named by a less specific preset it extends (copy -> improved)
    train_preset = min(candidates, key=lambda name: (name != model_preset, name not in matching,
                                                     len(overrides_from(name))))
    return model_preset, train_preset, overrides_from(train_preset)


def checkpoint_labels(checkpoint: str | os.PathLike, *, label: str, training_data: str | None = None,
                      train_machine: str | None = None) -> dict:
    """What a results row says about the checkpoint that produced it.

    Args:
        checkpoint: a run directory (``best/``, ``last/``, ``history.json``, ``run.json``) or a checkpoint.
        label: the name of the row (e.g. ``"seed"``).
        training_data: overrides the description derived from ``run.json``'s dataset (see :data:`TRAINING_DATA`).
        train_machine: where it was trained, if known beyond ``history.json``'s device (which records
            ``"cpu"`` or ``"cuda:0 (<GPU name>)"`` but not a CPU model).

    Returns:
        ``{"label", "model_preset", "train_preset", "train_overrides", "training": {...}}``.
    """
    from codegen_lib.checkpoint import resolve_checkpoint

    ckpt = resolve_checkpoint(checkpoint)
    run_dir = ckpt.parent if ckpt.name in ("best", "last") else ckpt
    config = _read_json(ckpt / "config.json") or {}
    history = _read_json(run_dir / "history.json") or _read_json(ckpt / "history.json") or {}
    run = _read_json(run_dir / "run.json") or {}
    model_preset, train_preset, overrides = _infer_presets(config.get("model_config") or {},
                                                           config.get("train_config"))
    dataset = run.get("dataset")
    steps = history.get("steps") or []
    device = history.get("device")
    return {
        "label": label,
        "model_preset": model_preset,
        "train_preset": train_preset,
        "train_overrides": overrides,
        "training": {
            "data": training_data or TRAINING_DATA.get(dataset, dataset or "unknown (no run.json)"),
            "dataset": dataset,
            "max_rows": run.get("max_rows"),
            "steps": steps[-1]["step"] if steps else None,
            "epochs": len(history.get("epochs") or []),
            "checkpoint_step": config.get("step"),
            "checkpoint_val_loss": config.get("val_loss"),
            "best_val_loss": history.get("best_val_loss"),
            "train_time_s": None if history.get("train_time_s") is None else round(history["train_time_s"], 1),
            "device": device,
            "mixed_precision": history.get("mixed_precision"),
            "machine": train_machine or device,
            "seed": (config.get("train_config") or {}).get("seed"),
        },
        "checkpoint": str(ckpt),
    }


def _eval_machine(info: dict) -> str:
    if info.get("gpu"):
        return f"GPU {info['gpu']}"
    return f"CPU {info.get('cpu') or 'unknown'} ({info.get('cpu_count')} cores visible)"


# ----------------------------------------------------------------------------------------------------------------
# the offline suite
# ----------------------------------------------------------------------------------------------------------------
@contextmanager
def _torch_threads(threads: int | None):
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def _quiet_truncation():
    """decode.generate warns once per over-long prompt; the rows count truncated prompts instead."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"prompt \d+ has \d+ tokens but the source limit")
        yield


def _decoding_for(name: str, model) -> dict:
    """:data:`DECODING` for an evaluation set, capped at the model's target limit (decode's own cap)."""
    decoding = dict(DECODING.get(name, DECODING["xlcost"]))
    decoding["max_new_tokens"] = min(decoding["max_new_tokens"], model.config.max_tgt_len)
    return decoding


def _take(rows, limit: int | None):
    if limit is None:
        return rows
    if limit < 1:
        raise ValueError(f"limit must be >= 1 or None, got {limit}")
    return rows.select(range(min(limit, len(rows))))


def _label_row(row: dict, labels: dict, *, date: str) -> dict:
    row.update({k: v for k, v in labels.items() if k != "checkpoint"})
    row["checkpoint"] = labels["checkpoint"]
    row["eval_set"] = f"{row['dataset']}/{row['split']}"
    row["eval_machine"] = _eval_machine(row.get("machine") or machine_info())
    row["date"] = date
    return row


def _evaluate_split(model, tokenizer, rows, *, dataset: str, split: str, decoding: dict, n_samples: int,
                    codebert: bool, batch_size: int, workers: int | None, checkpoint: str,
                    progress: bool, limit: int | None = None) -> dict:
    """One row: :func:`evaluate_model` (so :func:`codegen_lib.evaluate.evaluate_set`); with tests, pass@1 is
    the greedy program's and pass@5 comes from ``n_samples`` samples at temperature 0.8."""
    has_tests = rows is not None and "tests" in rows.column_names
    with _quiet_truncation():
        return evaluate_model(
            model, tokenizer, rows, dataset=dataset, split=split, decoding=decoding,
            n_samples=n_samples if has_tests else 1,
            sample_decoding={"temperature": SAMPLE_TEMPERATURE, "seed": SAMPLE_SEED}, ks=(1, 5),
            codebert=codebert, batch_size=batch_size, workers=workers, checkpoint=checkpoint, progress=progress,
            limit=limit)


def evaluate_offline_suite(
    checkpoint: str | os.PathLike,
    *,
    label: str,
    xlcost_dir: str | os.PathLike | None = None,
    n_samples: int = 5,
    limit: int | None = None,
    humaneval: bool = True,
    humaneval_limit: int | None = None,
    threads: int | None = None,
    progress: bool = True,
    codebert: bool = True,
    batch_size: int = 32,
    workers: int | None = None,
    training_data: str | None = None,
    train_machine: str | None = None,
    device: str = "cpu",
    real_data_dir: str | os.PathLike | None = None,
    suite_sets: Sequence[str] | None = None,
) -> list[dict]:
    """Every evaluation this machine can run for one checkpoint (chapter 09's table); one row per set.

    Rows, each an :func:`codegen_lib.evaluate.evaluate_model`-style result (``dataset``, ``split``, ``sizes``,
    ``metrics``, ``sacrebleu_signature``, ``decoding``, ``machine``, ``time``) plus the labels of
    :func:`checkpoint_labels` and ``eval_set``, ``eval_machine``, ``date``:

    1. ``tasks/test`` and ``tasks/test_unseen`` (held-out families): ``pass@1`` of the greedy program,
       ``pass@5`` (and ``sampled_pass@1``) from ``n_samples`` samples at temperature 0.8 (sample j seeded
       ``j``) with the unbiased estimator, BLEU. The corpus is rebuilt with the checkpoint's training seed, so
       these are the very splits it never saw.
    2. ``stdlib/test``: BLEU, syntax validity.
    3. ``xlcost/test`` (the real 887 programs; only when ``xlcost_dir`` holds the XLCoST release): BLEU with
       its signature, XLCoST-style BLEU, syntax validity.
    4. ``humaneval/test`` (when ``humaneval``): pass@1 of greedy programs in the sandbox; BLEU against the
       canonical solutions.

    CodeBERTScore is attempted in every row (``codebert``) and recorded as ``"not computed: hub unreachable"``
    when the hub model cannot be fetched -- never a substitute.

    With ``real_data_dir`` (the release copies, ``../shared/data/raw``) the rows are instead those of the
    real-data suite, :func:`codegen_lib.suite.evaluate_suite`: MBPP test, HumanEval, CoNaLa validation,
    XLCoST test, Django test, GfG test and the tasks' test / test_unseen, one decoding per metric.

    Args:
        checkpoint: run directory (its ``best/`` is evaluated) or checkpoint directory.
        label: the row label (e.g. ``"seed"``, ``"improved"``).
        n_samples: samples per task for pass@5 (>= 5 to report pass@5; 1 = greedy pass@1 only).
        limit: evaluate only the first ``limit`` rows of each split (None = all).
        humaneval_limit: only the first problems of HumanEval (None = all 164).
        threads: torch CPU threads during the suite (restored after); 1 is fastest on a busy 2-core CPU.
        batch_size: prompts decoded together; workers: parallel sandboxes (default: CPU count).
        training_data, train_machine: see :func:`checkpoint_labels`.
        device: where to decode.

    Returns:
        the rows (also what :func:`write_results_table` takes).
    """
    from codegen_lib.checkpoint import load_checkpoint
    from codegen_lib.data import load_corpus

    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    labels = checkpoint_labels(checkpoint, label=label, training_data=training_data, train_machine=train_machine)
    date = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    seed = labels["training"]["seed"] or 0
    xl_path = None
    if xlcost_dir is not None:
        xl_path = Path(xlcost_dir).expanduser()
        if not xl_path.is_dir():
            raise FileNotFoundError(f"xlcost_dir {xl_path} does not exist (the XLCoST release folder)")
    common = dict(codebert=codebert, batch_size=batch_size, workers=workers, checkpoint=labels["checkpoint"],
                  progress=progress)
    rows: list[dict] = []
    if real_data_dir is not None:
        from codegen_lib.suite import SETS, evaluate_suite, heldout_corpus, results_rows

        with _torch_threads(threads), _quiet_truncation():
            model, tokenizer, _ = load_checkpoint(labels["checkpoint"], map_location=device)
            corpus = heldout_corpus(real_data_dir, seed=seed)
            wanted = list(suite_sets) if suite_sets else list(SETS)
            unknown = sorted(set(wanted) - set(SETS))
            if unknown:
                raise ValueError(f"unknown suite sets {unknown}; valid: {sorted(SETS)}")
            sets = {k: SETS[k] for k in wanted if humaneval or k != "humaneval"}
            res = evaluate_suite(model, tokenizer, corpus, sets, limit=limit, n_samples=max(n_samples, 1),
                                 batch_size=batch_size)
        for row in results_rows(res):
            row["checkpoint"] = labels["checkpoint"]
            rows.append(_label_row(row, labels, date=date))
        return rows
    with _torch_threads(threads):
        model, tokenizer, _ = load_checkpoint(labels["checkpoint"], map_location=device)
        tasks = load_corpus("tasks", seed=seed)
        for split in ("test", "test_unseen"):
            result = _evaluate_split(model, tokenizer, _take(tasks[split], limit), dataset="tasks", split=split,
                                     decoding=_decoding_for("tasks", model), n_samples=n_samples, **common)
            rows.append(_label_row(result, labels, date=date))
        stdlib = load_corpus("stdlib", seed=seed)
        result = _evaluate_split(model, tokenizer, _take(stdlib["test"], limit), dataset="stdlib", split="test",
                                 decoding=_decoding_for("stdlib", model), n_samples=1, **common)
        rows.append(_label_row(result, labels, date=date))
        if xl_path is not None:
            xl = load_corpus("xlcost", data_dir=xl_path, splits=("test",))
            result = _evaluate_split(model, tokenizer, _take(xl["test"], limit), dataset="xlcost", split="test",
                                     decoding=_decoding_for("xlcost", model), n_samples=1, **common)
            rows.append(_label_row(result, labels, date=date))
        if humaneval:
            if humaneval_limit is not None and humaneval_limit < 1:
                raise ValueError(f"humaneval_limit must be >= 1 or None, got {humaneval_limit}")
            result = _evaluate_split(model, tokenizer, None, dataset="humaneval", split="test",
                                     decoding=_decoding_for("humaneval", model), n_samples=1,
                                     limit=humaneval_limit, **common)
            rows.append(_label_row(result, labels, date=date))
    return rows


def reproduce_offline(runs: Mapping[str, str | os.PathLike], out_dir: str | os.PathLike, **suite_kw) -> list[dict]:
    """:func:`evaluate_offline_suite` for each ``{label: run directory}``, then :func:`write_results_table`.

    The table is rewritten after each checkpoint, so a long evaluation leaves partial results behind.
    """
    if not runs:
        raise ValueError("no runs given: pass {label: run directory or checkpoint}")
    rows: list[dict] = []
    for label, path in runs.items():
        rows.extend(evaluate_offline_suite(path, label=label, **suite_kw))
        write_results_table(rows, out_dir)
    return rows


# ----------------------------------------------------------------------------------------------------------------
# full scale
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class FullRun:
    """One planned full-scale run: train ``preset`` on ``dataset``, evaluate on its test split."""

    dataset: str  # "xlcost" | "alpaca" | "merged" (or any corpus name)
    preset: str  # model preset and training recipe (ModelConfig.preset / TrainConfig.preset)
    out_dir: Path  # the run directory

    def describe(self, data_dirs: Mapping[str, str] | None = None, limit: int | None = None) -> str:
        src = _data_dir_for(self.dataset, data_dirs or {})
        where = "hub" if src is None else f"local {src}"
        n = "all" if limit is None else f"first {limit}"
        return (f"train {self.preset} model + {self.preset} recipe on {self.dataset} ({where}) -> {self.out_dir}; "
                f"evaluate {n} {self.dataset}/test rows")


def _data_dir_for(dataset: str, data_dirs: Mapping[str, str | os.PathLike]):
    if dataset == "merged":
        parts = {k: data_dirs[k] for k in ("xlcost", "alpaca") if k in data_dirs}
        return parts or None
    return data_dirs.get(dataset)


def plan_full(out_dir: str | os.PathLike, *, datasets: Sequence[str] = FULL_DATASETS,
              presets: Sequence[str] = FULL_PRESETS) -> list[FullRun]:
    """The runs of :func:`reproduce_full`, dataset-major (Table 5.1's order), ``OUT/<dataset>-<preset>``."""
    from codegen_lib.config import PRESETS
    from codegen_lib.data import CORPORA

    bad = [d for d in datasets if d not in CORPORA]
    if bad or not datasets:
        raise ValueError(f"datasets must be a non-empty subset of {CORPORA}, got {list(datasets)}")
    bad = [p for p in presets if p not in PRESETS]
    if bad or not presets:
        raise ValueError(f"presets must be a non-empty subset of {sorted(PRESETS)}, got {list(presets)}")
    return [FullRun(d, p, Path(out_dir) / f"{d}-{p}") for d in datasets for p in presets]


def _eval_device(device: str) -> str:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but no CUDA GPU is available")
    return "cuda" if device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"


def _train_run(run: FullRun, corpus, *, data_dir, seed: int, max_steps, epochs, max_rows, vocab_size, device,
               mixed_precision, progress) -> None:
    """Train (or resume / skip if finished) one run with the ``train`` command's recipe."""
    from codegen_lib.config import ModelConfig
    from codegen_lib.tokenizer import load_tokenizer, train_tokenizer
    from codegen_lib.train import TrainConfig, train

    overrides = {k: v for k, v in {"max_steps": max_steps, "epochs": epochs}.items() if v is not None}
    overrides.update(device=device, mixed_precision=mixed_precision, progress=progress)
    train_ds, val_ds = corpus["train"], corpus["validation"]
    if max_rows is not None:
        train_ds = train_ds.select(range(min(max_rows, len(train_ds))))
        val_ds = val_ds.select(range(min(max_rows, len(val_ds))))
    last = run.out_dir / "last"
    if (last / "config.json").is_file():  # an interrupted (or finished) run continues where it stopped
        saved = json.loads((last / "config.json").read_text(encoding="utf-8"))
        model_cfg = ModelConfig.from_dict(saved["model_config"])
        train_cfg = TrainConfig.from_dict({**saved["train_config"], **overrides})
        tokenizer = load_tokenizer(last / "tokenizer")
        train(model_cfg, train_cfg, tokenizer, train_ds, val_ds, run.out_dir, resume=True)
        return
    texts = [t for column in ("prompt", "code") for t in train_ds[column]]
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    model_cfg = ModelConfig.preset(run.preset, src_vocab_size=tokenizer.vocab_size,
                                   tgt_vocab_size=tokenizer.vocab_size)
    train_cfg = TrainConfig.preset(run.preset, seed=seed, **overrides)
    run.out_dir.mkdir(parents=True, exist_ok=True)
    run_info = {"dataset": run.dataset, "data_dir": data_dir, "max_rows": max_rows}
    atomic_write_json(run.out_dir / "run.json", run_info, default=str)
    train(model_cfg, train_cfg, tokenizer, train_ds, val_ds, run.out_dir)


def reproduce_full(
    out_dir: str | os.PathLike,
    *,
    datasets: Sequence[str] = FULL_DATASETS,
    presets: Sequence[str] = FULL_PRESETS,
    data_dirs: Mapping[str, str | os.PathLike] | None = None,
    max_steps: int | None = None,
    epochs: int | None = None,
    limit: int | None = None,
    max_rows: int | None = None,
    vocab_size: int = 8000,
    seed: int = 0,
    device: str = "auto",
    mixed_precision: str = "auto",
    codebert: bool = True,
    batch_size: int = 32,
    progress: bool = True,
    dry_run: bool = False,
    print_fn=print,
) -> list[dict]:
    """The report's Table 5.1 at full scale: train and evaluate each (dataset, preset); write the results.

    For each dataset (default xlcost, alpaca, merged, from the hub) and preset (default seed, improved):
    train the model preset with the training recipe of the same name (GPU autocast ``mixed_precision``,
    early stopping as in the preset), then decode the dataset's ``test`` split greedily (256 new tokens) with
    the best checkpoint and score it: BLEU with its sacrebleu signature, XLCoST-style BLEU (xlcost and
    merged, whose test split is XLCoST's), syntax validity, exact match and CodeBERTScore with the hub's
    ``neulab/codebert-python``. ``OUT/results.json`` and ``OUT/results.md`` are rewritten after every run;
    a run directory that already holds ``last/`` is resumed (a finished one only re-evaluated).

    Expected time per row on a GPU: unmeasured (no GPU with internet was available to measure it).

    Args:
        out_dir: where run directories ``<dataset>-<preset>/`` and the results files go.
        data_dirs: local data instead of the hub, ``{"xlcost": folder, "alpaca": file}`` (tests, mirrors).
        max_steps, epochs: override the presets' training length; max_rows: train/validate on the first rows.
        limit: evaluate only the first ``limit`` test rows.
        vocab_size: BPE vocabulary (the ``train`` command's default, 8000).
        dry_run: only print the plan (and return no rows).

    Raises:
        HubUnavailableError: a dataset needs the hub and it is unreachable (checked before any training).
    """
    from codegen_lib import metrics
    from codegen_lib.checkpoint import load_checkpoint
    from codegen_lib.data import load_corpus
    from codegen_lib.hub import ensure_hub_reachable

    data_dirs = dict(data_dirs or {})
    unknown = set(data_dirs) - {"xlcost", "alpaca"}
    if unknown:
        raise ValueError(f"data_dirs keys must be 'xlcost' and/or 'alpaca', got {sorted(unknown)}")
    plan = plan_full(out_dir, datasets=datasets, presets=presets)
    print_fn(f"plan: {len(plan)} run(s) into {out_dir} (expected time per row on a GPU: unmeasured)")
    for i, run in enumerate(plan, 1):
        print_fn(f"  {i}. {run.describe(data_dirs, limit)}")
    if dry_run:
        return []
    for name in dict.fromkeys(run.dataset for run in plan):  # fail before hours of training, not after
        need = [part for part in (("xlcost", "alpaca") if name == "merged" else (name,))
                if part in ("xlcost", "alpaca") and part not in data_dirs]
        for part in need:
            ensure_hub_reachable(f"the {part} dataset (for the full-scale {name} row)",
                                 f'reproduce_full(data_dirs={{"{part}": <local copy>}})')

    rows: list[dict] = []
    date = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    corpora: dict[str, object] = {}
    for run in plan:
        if run.dataset not in corpora:
            corpora[run.dataset] = load_corpus(run.dataset, data_dir=_data_dir_for(run.dataset, data_dirs),
                                               seed=seed)
        corpus = corpora[run.dataset]
        print_fn(f"training {run.preset} on {run.dataset} -> {run.out_dir}")
        _train_run(run, corpus, data_dir=_data_dir_for(run.dataset, data_dirs), seed=seed, max_steps=max_steps,
                   epochs=epochs, max_rows=max_rows, vocab_size=vocab_size, device=device, mixed_precision=mixed_precision, progress=progress)
        labels = checkpoint_labels(run.out_dir, label=f"{run.dataset}-{run.preset}")
        model, tokenizer, _ = load_checkpoint(labels["checkpoint"], map_location=_eval_device(device))
        with _quiet_truncation():
            result = evaluate_model(model, tokenizer, _take(corpus["test"], limit), dataset=run.dataset,
                                    split="test", decoding=_decoding_for(run.dataset, model),
                                    codebert=codebert, batch_size=batch_size, checkpoint=labels["checkpoint"],
                                    progress=progress)
        preds = result["predictions"]
        if run.dataset == "merged":  # merged's test split is XLCoST's: report the comparable BLEU too
            result["metrics"]["xlcost_bleu"] = metrics.xlcost_bleu([p["hypothesis"] for p in preds],
                                                                   [p["reference"] for p in preds])
        rows.append(_label_row(result, labels, date=date))
        write_results_table(rows, out_dir)
    return rows
