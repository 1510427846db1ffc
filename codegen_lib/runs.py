"""What compute buys: every training run the book has, as validation loss against target tokens (chapter 07).

A run's ``history.json`` (written by :func:`codegen_lib.train.train`) logs the target tokens of every optimizer
step and the validation loss at some steps; :func:`history_curve` turns that into (tokens seen, loss) points.
:func:`collect_runs` finds every run under ``artifacts/`` by globbing, so a newly shipped model or a new
ablation file appears without naming it:

* ``artifacts/<name>/history.json`` -- a shipped checkpoint's full history (a curve), with the training machine
  from the ``config.json`` beside it when that says (``train_machine``);
* ``artifacts/ablations/*.json`` -- short comparison runs: a curve when the file holds a ``history``, else the
  final point (``tokens``, ``val_loss``); files without both (e.g. a checkpoint-averaging note) are skipped.

Fields that a file lacks stay ``None`` (wall time) or become ``"machine not recorded"``.

:func:`gpu_hour` reads ``artifacts/gpu_runs.json`` (measured GPU throughput) and says how many target tokens an
hour of that GPU gives a recipe.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["NOT_RECORDED", "history_curve", "run_from_history", "collect_runs", "gpu_hour", "sittings_frame"]

NOT_RECORDED = "machine not recorded"
_MACHINE_KEYS = ("train_machine", "machine", "device")  # the first one a file has names the machine


def history_curve(history: Mapping[str, Any]) -> tuple[list[int], list[float]]:
    """(target tokens seen, validation loss) at every step where a history measured the validation loss.

    Tokens are the running sum of ``steps[i]["tokens"]`` up to that step; validation losses come from
    ``step_val`` and ``epochs`` entries that carry both ``step`` and ``val_loss``.
    """
    seen: dict[int, int] = {}
    total = 0
    for s in history.get("steps") or []:
        total += int(s.get("tokens") or 0)
        seen[int(s["step"])] = total
    losses: dict[int, float] = {}
    for e in list(history.get("step_val") or []) + list(history.get("epochs") or []):
        step, loss = e.get("step"), e.get("val_loss")
        if step is not None and loss is not None and int(step) in seen:
            losses[int(step)] = float(loss)
    order = sorted(losses)
    return [seen[s] for s in order], [losses[s] for s in order]


def _machine(*sources: Mapping[str, Any] | None) -> str:
    for src in sources:
        for key in _MACHINE_KEYS:
            if src and src.get(key):
                return str(src[key])
    return NOT_RECORDED


def run_from_history(name: str, history: Mapping[str, Any], *, kind: str = "run",
                     meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One run record from a training history (``meta``: e.g. the checkpoint's config.json, for the machine).

    Returns a dict with ``name``, ``kind``, ``tokens`` and ``val_loss`` (lists, see :func:`history_curve`),
    ``wall_s`` (``train_time_s``, or None), ``machine`` and ``steps`` (the last step, or None).
    """
    tokens, losses = history_curve(history)
    steps = history.get("steps") or []
    return {
        "name": name, "kind": kind, "tokens": tokens, "val_loss": losses,
        "wall_s": history.get("train_time_s") or None,
        "machine": _machine(meta, history),
        "steps": int(steps[-1]["step"]) if steps else None,
    }


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def collect_runs(artifacts: str | os.PathLike) -> list[dict[str, Any]]:
    """Every run under ``artifacts`` with at least one (tokens, validation loss) point, shipped runs first.

    See the module docstring for what is read; each record is as :func:`run_from_history` returns, with
    ``kind`` ``"shipped"`` or ``"ablation"``.
    """
    root = Path(artifacts)
    runs: list[dict[str, Any]] = []
    for hist_path in sorted(root.glob("*/history.json")):
        history = _read_json(hist_path)
        if not isinstance(history, dict):
            continue
        meta = _read_json(hist_path.parent / "config.json")
        run = run_from_history(hist_path.parent.name, history, kind="shipped",
                               meta=meta if isinstance(meta, dict) else None)
        if run["tokens"]:
            runs.append(run)
    for path in sorted((root / "ablations").glob("*.json")):
        data = _read_json(path)
        if not isinstance(data, dict):
            continue
        name = str(data.get("name") or path.stem)
        if isinstance(data.get("history"), dict):
            run = run_from_history(name, data["history"], kind="ablation", meta=data)
            run["wall_s"] = run["wall_s"] or data.get("train_time_s")
        elif data.get("tokens") and data.get("val_loss") is not None:
            run = {"name": name, "kind": "ablation", "tokens": [int(data["tokens"])],
                   "val_loss": [float(data["val_loss"])], "wall_s": data.get("train_time_s"),
                   "machine": _machine(data), "steps": data.get("steps")}
        else:
            continue
        if run["tokens"]:
            runs.append(run)
    return runs


def gpu_hour(path: str | os.PathLike, *, preset: str | None = None, batch_size: int | None = None
             ) -> dict[str, Any] | None:
    """Target tokens an hour of the measured GPU gives, from ``gpu_runs.json``; None when it is absent or empty.

    The file: ``{"device", "torch", "runs": [{"name", "preset", "batch_size", "steps", "target_tokens",
    "wall_s", "target_tokens_per_s", "precision"}], "cpu_baseline": {"machine", "preset",
    "target_tokens_per_s"}}``. Runs of ``preset`` with ``batch_size`` are preferred, then runs of ``preset``,
    then any run; among those the fastest is taken (throughput is ``target_tokens_per_s``, else
    ``target_tokens / wall_s``).

    Returns ``device``, ``run`` (the chosen run's dict), ``same_recipe`` (preset and batch size match),
    ``tokens_per_s``, ``tokens_per_hour`` and ``cpu_baseline`` (the file's, or None).
    """
    data = _read_json(Path(path))
    if not isinstance(data, dict) or not data.get("runs"):
        return None

    def speed(run: Mapping[str, Any]) -> float:
        if run.get("target_tokens_per_s"):
            return float(run["target_tokens_per_s"])
        if run.get("target_tokens") and run.get("wall_s"):
            return float(run["target_tokens"]) / float(run["wall_s"])
        return 0.0

    runs = [r for r in data["runs"] if isinstance(r, dict) and speed(r) > 0]
    if not runs:
        return None
    same = [r for r in runs if r.get("preset") == preset and r.get("batch_size") == batch_size]
    pool = same or [r for r in runs if r.get("preset") == preset] or runs
    best = max(pool, key=speed)
    return {
        "device": data.get("device") or "GPU (not named)",
        "run": best, "same_recipe": bool(same),
        "tokens_per_s": speed(best), "tokens_per_hour": speed(best) * 3600,
        "cpu_baseline": data.get("cpu_baseline") if isinstance(data.get("cpu_baseline"), dict) else None,
    }


def sittings_frame(record: Mapping[str, Any]):
    """The sittings of a long run (``long_run.json``, written by ``scripts/long_run.py``) as a table, one row
    each, plus a ``total`` row (chapter 07).

    Columns: the steps trained, target tokens, training hours, target tokens per second, the median load
    average while it ran (the run's own threads count: ``threads`` alone means nothing else ran) and the
    machine. ``record``: ``{"sittings": [{"from_step", "to_step", "target_tokens", "train_s",
    "target_tokens_per_s", "load_average": [...], "cpus", "threads", ...}], "total": {...}}``.
    """
    import statistics

    import pandas as pd

    rows = []
    for i, s in enumerate(record.get("sittings", []), 1):
        load = s.get("load_average") or []
        rows.append({"sitting": str(i), "steps": f"{s['from_step']:,}-{s['to_step']:,}",
                     "target tokens": f"{s['target_tokens']:,}", "hours": f"{s['train_s'] / 3600:.2f}",
                     "target tokens / s": f"{s['target_tokens_per_s']:,}",
                     "load (median)": f"{statistics.median(load):.1f}" if load else "not recorded",
                     "machine": f"{s.get('cpus', '?')}-core CPU, {s.get('threads', '?')} threads"})
    total = record.get("total")
    if rows and total:
        rows.append({"sitting": "total", "steps": f"0-{total['steps']:,}",
                     "target tokens": f"{total['target_tokens']:,}", "hours": f"{total['train_s'] / 3600:.2f}",
                     "target tokens / s": f"{total['target_tokens'] / max(total['train_s'], 1e-9):,.0f}",
                     "load (median)": "", "machine": ""})
    return pd.DataFrame(rows).set_index("sitting") if rows else pd.DataFrame()
