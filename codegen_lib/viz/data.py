"""Chapter 01 (data): histograms of prompt and code lengths per split or corpus."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from codegen_lib.viz._common import (
    new_figure,
)


def _to_frame(obj: Any) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj
    if hasattr(obj, "to_pandas"):  # datasets.Dataset
        return obj.to_pandas()
    if isinstance(obj, Mapping):
        return pd.DataFrame(dict(obj))
    if isinstance(obj, Sequence) and obj and isinstance(obj[0], Mapping):
        return pd.DataFrame(list(obj))
    raise ValueError(f"cannot read a table from {type(obj).__name__}: pass a DataFrame, a datasets.Dataset, "
                     "a dict of columns or a list of row dicts")


def _is_table_like(obj: Any) -> bool:
    """A mapping of columns (lists) rather than a mapping of splits/corpora."""
    return isinstance(obj, Mapping) and all(isinstance(v, (list, tuple, np.ndarray, pd.Series))
                                            for v in obj.values())


def _collect_groups(data: Any, prefix: str = "") -> list[tuple[str, pd.DataFrame]]:
    if isinstance(data, Mapping) and not _is_table_like(data):
        parts = []
        for name, part in data.items():
            parts += _collect_groups(part, f"{prefix}{name}/")
        return parts
    return [(prefix.rstrip("/") or "all", _to_frame(data))]


def plot_length_distributions(
    data: Any,
    *,
    columns: Sequence[str] = ("prompt", "code"),
    tokenizer: Any = None,
    group: str | None = None,
    max_tokens: int | Mapping[str, int] | None = None,
    max_chars: int | Mapping[str, int] | None = None,
    sample: int | None = 2000,
    seed: int = 0,
    bins: int = 40,
    log_scale: bool = False,
) -> Figure:
    """Histograms of prompt/code lengths per split or corpus (chapter 01).

    Args:
        data: a DataFrame (grouped by the ``group`` column, or ``split``/``corpus`` when present), or a mapping
            ``{name: DataFrame | datasets.Dataset | dict of columns | list of rows}`` such as a ``DatasetDict``;
            mappings may nest one level (``{"xlcost": dsdict, "tasks": dsdict}`` -> groups ``"xlcost/train"``).
        columns: text columns to measure.
        tokenizer: anything with ``encode(text) -> list[int]``; adds a second row of panels in tokens.
        group: the grouping column for a DataFrame input.
        max_tokens / max_chars: a vertical line at this length (an int for every column, or ``{column: int}``),
            annotated with the share of examples that are longer (and would be truncated).
        sample: at most this many rows per group are measured (seeded), to keep tokenizing cheap.
        log_scale: log-scaled x axis (lengths have long tails).

    Returns the Figure: one row of axes for characters (plus one for tokens), one column per text column.
    """
    import seaborn as sns

    if isinstance(data, pd.DataFrame):
        df = data.copy()
        group = group or next((c for c in ("split", "corpus") if c in df.columns), None)
        if group is None:
            group = "group"
            df[group] = "all"
        elif group not in df.columns:
            raise ValueError(f"group column {group!r} not in the table (columns: {list(df.columns)})")
    else:
        group = group or "split"
        frames = []
        for name, frame in _collect_groups(data):
            frame = frame.copy()
            frame[group] = name
            frames.append(frame)
        if not frames:
            raise ValueError("no data to plot")
        df = pd.concat(frames, ignore_index=True)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} not found; available columns: {list(df.columns)}")
    if sample is not None:
        df = pd.concat([g.sample(n=min(len(g), sample), random_state=seed)
                        for _, g in df.groupby(group, sort=False)], ignore_index=True)

    units = ["chars"] + (["tokens"] if tokenizer is not None else [])
    rows = []
    for col in columns:
        texts = df[col].astype(str).tolist()
        rows.append(pd.DataFrame({"column": col, "unit": "chars", group: df[group].values,
                                  "length": [len(t) for t in texts]}))
        if tokenizer is not None:
            rows.append(pd.DataFrame({"column": col, "unit": "tokens", group: df[group].values,
                                      "length": [len(tokenizer.encode(t)) for t in texts]}))
    long = pd.concat(rows, ignore_index=True)
    n_groups = long[group].nunique()

    fig, axes = new_figure(len(units), len(columns), figsize=(4.6 * len(columns), 3.2 * len(units)),
                            squeeze=False, constrained_layout=True)
    for i, unit in enumerate(units):
        limit_spec = max_chars if unit == "chars" else max_tokens
        for j, col in enumerate(columns):
            ax = axes[i][j]
            sub = long[(long["column"] == col) & (long["unit"] == unit)]
            sns.histplot(data=sub, x="length", hue=group if n_groups > 1 else None, bins=bins, ax=ax,
                         stat="percent", common_norm=False, element="step", log_scale=log_scale)
            ax.set_title(f"{col} length ({unit})")
            ax.set_xlabel(f"{unit} per {col}")
            limit = limit_spec.get(col) if isinstance(limit_spec, Mapping) else limit_spec
            if limit is not None:
                longer = float((sub["length"] > limit).mean()) if len(sub) else 0.0
                ax.axvline(limit, color="crimson", linestyle="--", linewidth=1.5)
                ax.text(limit, 0.95, f" max {limit}\n {longer:.1%} longer", color="crimson", fontsize=8,
                        va="top", transform=ax.get_xaxis_transform())
    return fig
