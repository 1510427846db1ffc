"""Chapter 07 (training): a live loss curve for notebooks and the saved history as a plot."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from codegen_lib.viz._common import (
    as_float,
    get_value,
    in_notebook,
    new_figure,
)


class LiveLossPlot:
    """A training callback that records loss, learning rate and validation loss and redraws a loss curve in a
    notebook (chapter 07). Outside a notebook it only records (safe in scripts and tests).

    The trainer calls ``on_step_end(state)``, ``on_epoch_end(state)`` and ``on_train_end(state)``; ``state`` is a
    dict or an object with ``step``, ``loss``, ``lr``, ``epoch`` and ``val_loss`` (missing ones are skipped).

    Args:
        every: redraw every ``every`` steps (and at each epoch end and at the end of training).
        min_interval_s: and not more often than this, so drawing never slows training down.
        smooth: exponential moving-average factor for the drawn training curve (0 = raw).
    """

    def __init__(self, every: int = 10, min_interval_s: float = 1.0, smooth: float = 0.0,
                 title: str = "training loss"):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if not 0.0 <= smooth < 1.0:
            raise ValueError(f"smooth must be in [0, 1), got {smooth}")
        self.every, self.min_interval_s, self.smooth, self.title = every, min_interval_s, smooth, title
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.lrs: list[float | None] = []
        self.val_steps: list[int] = []
        self.val_losses: list[float] = []
        self.val_epochs: list[int | None] = []
        self.draws = 0  # how many times the notebook view was (re)drawn
        self._handle = None
        self._last_draw = -math.inf

    # -- callback protocol
    def on_step_end(self, state: Any) -> None:
        loss = as_float(get_value(state, "loss"))
        step = get_value(state, "step")
        if loss is not None:
            self.steps.append(int(step) if step is not None else len(self.steps) + 1)
            self.losses.append(loss)
            self.lrs.append(as_float(get_value(state, "lr")))
        self._record_val(state)
        if self.steps and self.steps[-1] % self.every == 0:
            self._draw()

    def on_epoch_end(self, state: Any) -> None:
        self._record_val(state)
        self._draw(force=True)

    def on_train_end(self, state: Any) -> None:
        self._record_val(state)
        self._draw(force=True)

    def _record_val(self, state: Any) -> None:
        val = as_float(get_value(state, "val_loss"))
        step = get_value(state, "step")
        hist = get_value(state, "history")
        if val is None and isinstance(hist, Mapping) and hist.get("step_val"):
            last = hist["step_val"][-1]  # codegen_lib.train logs mid-epoch evaluations (eval_every) there
            if isinstance(last, Mapping) and last.get("step") == step:
                val = as_float(last.get("val_loss"))
        if val is None or (isinstance(val, float) and math.isnan(val)):
            return
        step = int(step) if step is not None else (self.steps[-1] if self.steps else 0)
        if self.val_steps and self.val_steps[-1] == step and self.val_losses[-1] == val:
            return  # the same evaluation reported again (e.g. step end, then epoch end)
        epoch = get_value(state, "epoch")
        self.val_steps.append(step)
        self.val_losses.append(val)
        self.val_epochs.append(int(epoch) if epoch is not None else None)

    # -- data and drawing
    def history(self) -> dict[str, list]:
        """The recorded points, in the format :func:`plot_history` reads."""
        return {"step": list(self.steps), "loss": list(self.losses), "lr": list(self.lrs),
                "val_step": list(self.val_steps), "val_loss": list(self.val_losses),
                "val_epoch": list(self.val_epochs)}

    def figure(self) -> Figure:
        """A fresh Figure of everything recorded so far."""
        return plot_history(self.history(), labels=(self.title,), smooth=self.smooth)

    def _draw(self, force: bool = False) -> None:
        if not in_notebook() or not self.steps:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < self.min_interval_s:
            return
        from IPython.display import display

        fig = self.figure()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        self._last_draw = now
        self.draws += 1


def _load_history(h: Any) -> Any:
    if isinstance(h, LiveLossPlot):
        return h.history()
    if isinstance(h, (str, Path)):
        path = Path(h)
        if path.is_dir():
            path = path / "history.json"
        if not path.is_file():
            raise ValueError(f"no history file at {path}")
        return json.loads(path.read_text(encoding="utf-8"))
    return h


def _first_key(d: Mapping, names: Sequence[str]) -> Any:
    for n in names:
        if n in d and d[n] is not None:
            return d[n]
    return None


def history_series(history: Any) -> dict[str, np.ndarray]:
    """Normalise a training history to ``{"step", "loss", "val_step", "val_loss"}`` arrays.

    Accepts a path to ``history.json`` (or the checkpoint directory holding it), a :class:`LiveLossPlot`, a dict
    of parallel lists (``step``/``steps``, ``loss``/``train_loss``, ``val_loss``, and ``val_step`` or
    ``val_epoch``/``epoch``), a dict with record lists under ``train``/``steps`` and ``val``/``eval``/``epochs``,
    or a list of records ``{"step", "loss", ["val_loss"], ["epoch"]}``. Validation points known only by epoch are
    placed at the last training step of that epoch (or proportionally when steps carry no epoch).
    """
    h = _load_history(history)
    train_recs: list[Mapping] | None = None
    val_recs: list[Mapping] | None = None
    if isinstance(h, Sequence) and not isinstance(h, str):
        train_recs = [r for r in h if isinstance(r, Mapping)
                      and _first_key(r, ("loss", "train_loss")) is not None]
        val_recs = [r for r in h if isinstance(r, Mapping) and r.get("val_loss") is not None]
    elif isinstance(h, Mapping):
        tr = _first_key(h, ("train", "steps", "train_log", "log"))
        if isinstance(tr, Sequence) and tr and isinstance(tr[0], Mapping):
            train_recs = list(tr)
            val_recs = []
            for key in ("val", "eval", "epochs", "val_log", "step_val"):  # codegen_lib.train: epochs + step_val
                va = h.get(key)
                if isinstance(va, Sequence) and va and isinstance(va[0], Mapping):
                    val_recs += [r for r in va if r.get("val_loss") is not None or r.get("loss") is not None]
    else:
        raise ValueError(f"cannot read a training history from {type(h).__name__}")

    if train_recs is not None:
        steps = [r.get("step", i + 1) for i, r in enumerate(train_recs)]
        losses = [_first_key(r, ("loss", "train_loss")) for r in train_recs]
        epochs = [r.get("epoch") for r in train_recs]
        val_loss = [_first_key(r, ("val_loss", "loss")) for r in val_recs or []]
        val_step = [r.get("step") for r in val_recs or []]
        val_epoch = [r.get("epoch") for r in val_recs or []]
    else:
        steps = _first_key(h, ("step", "steps", "train_step", "train_steps"))
        losses = _first_key(h, ("loss", "train_loss", "losses", "train_losses"))
        if losses is None:
            raise ValueError(f"no training losses in the history (keys: {sorted(h)}); expected 'loss' or "
                             "'train_loss'")
        steps = steps if steps is not None else list(range(1, len(losses) + 1))
        epochs = _first_key(h, ("epoch", "epochs", "train_epoch")) or []
        val_loss = _first_key(h, ("val_loss", "val_losses", "eval_loss")) or []
        val_step = _first_key(h, ("val_step", "val_steps", "eval_step", "eval_steps")) or []
        val_epoch = _first_key(h, ("val_epoch", "val_epochs")) or []
        if not val_step and not val_epoch and len(epochs) == len(val_loss) != len(losses):
            val_epoch = epochs  # "epoch" lists the epochs of the validation losses, not of each step
        if len(epochs) != len(losses):
            epochs = [None] * len(losses)
    if len(steps) != len(losses):
        raise ValueError(f"history has {len(steps)} steps but {len(losses)} losses")
    steps_arr = np.asarray(steps, dtype=float)
    placed = []
    for s, e in zip(list(val_step) + [None] * (len(val_loss) - len(val_step)),
                    list(val_epoch) + [None] * (len(val_loss) - len(val_epoch))):
        if s is not None:
            placed.append(float(s))
        elif e is not None and any(x is not None for x in epochs):
            in_epoch = [st for st, ep in zip(steps, epochs) if ep is not None and ep <= e]
            placed.append(float(max(in_epoch)) if in_epoch else math.nan)
        elif e is not None and len(steps_arr):
            n_epochs = max(x for x in val_epoch if x is not None)
            base = 1 if min(x for x in val_epoch if x is not None) >= 1 else 0
            placed.append(float(steps_arr.max()) * (e + 1 - base) / (n_epochs + 1 - base))
        else:
            placed.append(math.nan)
    val_points = sorted(set(zip(placed, (float(v) for v in val_loss))), key=lambda sv: (math.isnan(sv[0]), sv[0]))
    return {"step": steps_arr, "loss": np.asarray(losses, dtype=float),
            "val_step": np.asarray([sv[0] for sv in val_points], dtype=float),
            "val_loss": np.asarray([sv[1] for sv in val_points], dtype=float)}


def _ema(x: np.ndarray, alpha: float) -> np.ndarray:
    if alpha <= 0 or len(x) == 0:
        return x
    out = np.empty_like(x)
    acc = x[0]
    for i, v in enumerate(x):
        acc = alpha * acc + (1 - alpha) * v
        out[i] = acc
    return out


def plot_history(history: Any, other: Any = None, labels: Sequence[str] = ("this run", "shipped run"), *,
                 smooth: float = 0.0, log_y: bool = False) -> Figure:
    """Training loss by step and validation loss (chapter 07); with ``other``, two histories side by side (a
    short live run next to the shipped one).

    Args:
        history, other: anything :func:`history_series` reads (path to ``history.json``, dict, LiveLossPlot...).
        labels: panel titles.
        smooth: EMA factor for the training curve (the raw curve is drawn faintly behind it).
    Returns a Figure with one axes per history.
    """
    histories = [history] + ([other] if other is not None else [])
    series = [history_series(h) for h in histories]
    fig, axes = new_figure(1, len(series), figsize=(6 * len(series), 3.8), squeeze=False,
                            constrained_layout=True)
    for i, (ax, s) in enumerate(zip(axes[0], series)):
        if smooth > 0:
            ax.plot(s["step"], s["loss"], color="tab:blue", alpha=0.25, linewidth=1)
        ax.plot(s["step"], _ema(s["loss"], smooth), color="tab:blue", label="train loss")
        ok = ~np.isnan(s["val_step"])
        if ok.any():
            ax.plot(s["val_step"][ok], s["val_loss"][ok], "o-", color="tab:orange", label="validation loss")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        if log_y:
            ax.set_yscale("log")
        ax.set_title(labels[i] if i < len(labels) else f"run {i}")
        ax.grid(alpha=0.3)
        ax.legend()
    return fig
