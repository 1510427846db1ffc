"""Plots and widgets for the book's chapters, so that notebooks stay short and no component lives only in one.

Every plotting function returns a matplotlib ``Figure`` and never calls ``plt.show()``. Figures are created
with pyplot (so the notebook's inline backend knows how to draw them) and immediately detached from pyplot's
figure manager: nothing accumulates (no "more than 20 figures" warning), nothing is shown twice, and a figure
appears in a notebook exactly when a cell returns it or passes it to :func:`show`.

Widgets (ipywidgets 8) compute their first output eagerly and store it in the widget state (as a PNG inside an
``Output`` widget, or as an ``HTML`` value), so a book built without a live kernel still shows that first view.
Changing a control redraws only when a kernel is running.

Chapter map:

    01 data                  plot_length_distributions
    02 tokenization          token_table, tokenizer_widget, token_html
    03 positional encoding   plot_positional_encoding, plot_pe_similarity, positional_encoding_widget
    04 attention             plot_attention, plot_mask, plot_heads, attention_widget
    07 training              LiveLossPlot, plot_history
    10 attention explorer    attention_grid, attention_explorer, top_attended

Attention comes in bertviz's format, as returned by ``Transformer.forward(src, tgt, return_attention=True)``:
``{"encoder": [...], "decoder": [...], "cross": [...]}``, one tensor per layer of shape ``(B, H, T_q, T_k)``.
Encoder attention is ``src x src``, decoder self-attention ``tgt x tgt``, cross-attention ``tgt x src``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

ATTENTION_KINDS = ("encoder", "decoder", "cross")
SPECIAL_TOKENS = {0: "<pad>", 1: "<bos>", 2: "<eos>", 3: "<unk>"}  # fixed ids, see DESIGN.md

# Pastel colours for token chips (tokenizer widget); cycled by token position.
_TOKEN_COLOURS = ("#fde2e4", "#e2ece9", "#dfe7fd", "#fff1c1", "#e8dff5", "#d7f2e3", "#fbe0c3", "#dbeefc")
_WHITESPACE_MARKS = {"Ġ": "␣", "▁": "␣", " ": "␣", "Ċ": "↵", "\n": "↵", "ĉ": "⇥", "\t": "⇥", "č": "⏎", "\r": "⏎"}


# ----------------------------------------------------------------------------------------------- helpers
def _new_figure(nrows: int = 1, ncols: int = 1, **kw) -> tuple[Figure, Any]:
    """``plt.subplots`` detached from pyplot: drawable and displayable, but never auto-shown or leaked."""
    fig, axes = plt.subplots(nrows, ncols, **kw)
    plt.close(fig)
    return fig, axes


def _to_numpy(x: Any, name: str = "array") -> np.ndarray:
    """A tensor (any device, with or without grad), array or nested list -> float numpy array."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().float().cpu().numpy()
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a tensor or array of numbers, got {type(x).__name__}") from err


def _squeeze_to(arr: np.ndarray, ndim: int, name: str) -> np.ndarray:
    """Drop leading size-1 axes (e.g. batch and head of a single example) until ``arr`` has ``ndim`` axes."""
    while arr.ndim > ndim and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions (after dropping leading size-1 axes), "
                         f"got shape {tuple(arr.shape)}")
    return arr


def _get(state: Any, name: str, default: Any = None) -> Any:
    """Read ``name`` from a dict-like or an object (trainer states come in both forms)."""
    if isinstance(state, Mapping):
        return state.get(name, default)
    return getattr(state, name, default)


def _as_float(x: Any) -> float | None:
    if x is None:
        return None
    if hasattr(x, "item"):
        x = x.item()
    return float(x)


def pretty_token(token: str) -> str:
    """Show a token's whitespace: byte-level BPE's ``Ġ``/``Ċ``/``ĉ`` (and real spaces/newlines/tabs) become
    ``␣``/``↵``/``⇥``. Used for every token label in this module (chapters 02, 04, 10)."""
    return "".join(_WHITESPACE_MARKS.get(ch, ch) for ch in str(token))


def _labels(tokens: Sequence[str] | None, n: int, what: str, shape: tuple) -> list[str]:
    if tokens is None:
        return [str(i) for i in range(n)]
    tokens = list(tokens)
    if len(tokens) != n:
        raise ValueError(f"{what} has {len(tokens)} tokens but the weights have {n} along that axis "
                         f"(weights shape {shape}); pass one token per row/column")
    return [pretty_token(t) for t in tokens]


def _tick_fontsize(n: int) -> float:
    return float(max(4.0, min(10.0, 320.0 / max(n, 1))))


def figure_to_png(fig: Figure, dpi: int = 90) -> bytes:
    """Render a figure to PNG bytes (used to store figures inside widget state)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _png_output(fig: Figure) -> dict:
    """A Jupyter ``display_data`` output holding ``fig`` as a PNG (for ``ipywidgets.Output.outputs``)."""
    b64 = base64.b64encode(figure_to_png(fig)).decode("ascii")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": b64, "text/plain": "<Figure>"}}


def _set_output_figure(out, fig: Figure, extra_html: str | None = None) -> None:
    """Replace the contents of an ``ipywidgets.Output`` with ``fig`` (and optional HTML above it).

    Setting ``outputs`` directly (instead of ``with out: display(fig)``) works with and without a kernel and
    is saved with the widget state, so the built HTML shows the figure.
    """
    outputs = []
    if extra_html:
        outputs.append({"output_type": "display_data", "metadata": {},
                        "data": {"text/html": extra_html, "text/plain": html.unescape(extra_html)}})
    outputs.append(_png_output(fig))
    out.outputs = tuple(outputs)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where ``IPython.display`` reaches a frontend)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the book extras
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def show(fig: Figure) -> None:
    """Display ``fig`` in a notebook (a no-op outside one). For cells that draw several figures."""
    if _in_notebook():
        from IPython.display import display

        display(fig)


# ------------------------------------------------------------------------------------ chapter 01: data
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

    fig, axes = _new_figure(len(units), len(columns), figsize=(4.6 * len(columns), 3.2 * len(units)),
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


# ---------------------------------------------------------------------------- chapter 02: tokenization
def token_table(tokenizer: Any, text: str) -> pd.DataFrame:
    """One row per token of ``text``: ``position``, ``token`` (the vocabulary piece), ``shown`` (with visible
    whitespace), ``id`` and ``text`` (what that id decodes to on its own). Chapter 02.

    ``tokenizer`` needs ``tokens(text)``, ``encode(text)`` and ``decode(ids, skip_special_tokens=...)``.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    pieces = list(tokenizer.tokens(text))
    ids = [int(i) for i in tokenizer.encode(text)]
    if len(pieces) != len(ids):
        raise ValueError(f"tokenizer.tokens() gave {len(pieces)} pieces but encode() gave {len(ids)} ids for "
                         "the same text; they must align one to one")
    decoded = [tokenizer.decode([i], skip_special_tokens=False) for i in ids]
    return pd.DataFrame({"position": range(len(ids)), "token": pieces,
                         "shown": [pretty_token(p) for p in pieces], "id": ids, "text": decoded})


def token_html(tokenizer: Any, text: str) -> str:
    """HTML for ``text`` as coloured token chips, each with its id underneath (chapter 02's widget)."""
    table = token_table(tokenizer, text)
    chips = []
    for pos, shown, tok_id in zip(table["position"], table["shown"], table["id"]):
        colour = _TOKEN_COLOURS[pos % len(_TOKEN_COLOURS)]
        chips.append(
            f'<span title="position {pos}, id {tok_id}" style="display:inline-block;background:{colour};'
            'border-radius:4px;margin:2px;padding:1px 4px;text-align:center;font-family:monospace">'
            f'<span style="white-space:pre">{html.escape(shown)}</span><br>'
            f'<span style="font-size:70%;color:#555">{tok_id}</span></span>'
        )
        if "↵" in shown:
            chips.append("<br>")
    summary = (f"<p style='margin:4px 0'><b>{len(text)}</b> characters &rarr; <b>{len(table)}</b> tokens"
               f" &nbsp; ids: <code>{html.escape(str(table['id'].tolist()))}</code></p>")
    return summary + "<div style='line-height:1.2'>" + "".join(chips) + "</div>"


def tokenizer_widget(tokenizer: Any, text: str = "Create a python function.\ndef add(a, b):\n    return a + b"):
    """Type a prompt or code, see its tokens and ids (chapter 02). Returns an ``ipywidgets.VBox``.

    The first text is tokenized eagerly, so the saved page shows it; retyping needs a running kernel.
    """
    import ipywidgets as widgets

    area = widgets.Textarea(value=text, description="text", placeholder="Type a prompt or some code",
                            layout=widgets.Layout(width="95%", height="90px"))
    view = widgets.HTML(value=token_html(tokenizer, text))

    def _update(change):
        try:
            view.value = token_html(tokenizer, change["new"])
        except Exception as err:  # shown in the widget rather than lost in a callback
            view.value = f"<pre style='color:crimson'>{html.escape(repr(err))}</pre>"

    area.observe(_update, names="value")
    box = widgets.VBox([area, view])
    box.textarea, box.view = area, view  # handles for tests and notebooks
    return box


# ---------------------------------------------------------------------- chapter 03: positional encoding
def _pe_matrix(pe: Any) -> np.ndarray:
    """A PositionalEncoding module (buffer ``pe`` (1, L, D)), a tensor (1, L, D) or (L, D) -> (L, D)."""
    if hasattr(pe, "pe") and not isinstance(pe, np.ndarray):
        pe = pe.pe
    return _squeeze_to(_to_numpy(pe, "pe"), 2, "pe")


def plot_positional_encoding(pe: Any, max_pos: int | None = None, *, min_pos: int = 0, ax=None,
                             cmap: str = "RdBu_r") -> Figure:
    """The sinusoidal table as a heatmap: positions (rows) x embedding dimensions (columns). Chapter 03.

    Args:
        pe: ``PositionalEncoding`` module, its buffer ``pe`` of shape (1, L, D), or an (L, D) array.
        max_pos: show positions ``min_pos .. max_pos - 1`` (default: all L).
    """
    mat = _pe_matrix(pe)  # (L, D)
    max_pos = mat.shape[0] if max_pos is None else max_pos
    if not 0 <= min_pos < max_pos <= mat.shape[0]:
        raise ValueError(f"need 0 <= min_pos < max_pos <= {mat.shape[0]} (the table's length), "
                         f"got min_pos={min_pos}, max_pos={max_pos}")
    mat = mat[min_pos:max_pos]  # (P, D)
    if ax is None:
        fig, ax = _new_figure(figsize=(7, 4.2), constrained_layout=True)
    else:
        fig = ax.figure
    im = ax.imshow(mat, aspect="auto", cmap=cmap, vmin=-1, vmax=1, interpolation="nearest",
                   extent=(-0.5, mat.shape[1] - 0.5, max_pos - 0.5, min_pos - 0.5))
    ax.set_xlabel("embedding dimension i (even: sin, odd: cos)")
    ax.set_ylabel("position")
    ax.set_title(f"Sinusoidal positional encoding (d_model={mat.shape[1]})")
    fig.colorbar(im, ax=ax, fraction=0.04)
    return fig


def pe_dot_by_distance(pe: Any, ref_positions: Iterable[int] = (0, 16, 32), max_offset: int | None = None
                       ) -> dict[int, np.ndarray]:
    """``{p: [pe[p] . pe[p + k] for k in 0..max_offset]}``: the dot product of two position codes depends on
    their distance k only, not on p (chapter 03). Offsets running past the table are dropped."""
    mat = _pe_matrix(pe)  # (L, D)
    length = mat.shape[0]
    out = {}
    for p in ref_positions:
        if not 0 <= p < length:
            raise ValueError(f"reference position {p} is outside the table (length {length})")
        stop = length if max_offset is None else min(length, p + max_offset + 1)
        out[int(p)] = mat[p:stop] @ mat[p]  # (K, D) @ (D,) -> (K,)
    return out


def plot_pe_similarity(pe: Any, ref_positions: Iterable[int] = (0, 16, 32), max_offset: int | None = None
                       ) -> Figure:
    """Relative positions (chapter 03): left, the matrix ``PE @ PE.T`` of all dot products; right, the dot
    product ``pe[p] . pe[p + k]`` against the distance k for a few reference positions p (the curves coincide).
    """
    mat = _pe_matrix(pe)  # (L, D)
    ref_positions = [p for p in ref_positions if p < mat.shape[0]] or [0]
    if max_offset is None:
        max_offset = mat.shape[0] - 1 - max(ref_positions)
    curves = pe_dot_by_distance(mat, ref_positions, max_offset)
    fig, (ax_m, ax_c) = _new_figure(1, 2, figsize=(11, 4.2), constrained_layout=True)
    sim = mat @ mat.T  # (L, D) @ (D, L) -> (L, L)
    im = ax_m.imshow(sim, cmap="viridis", interpolation="nearest")
    ax_m.set_title("PE · PEᵀ (dot products of all position pairs)")
    ax_m.set_xlabel("position")
    ax_m.set_ylabel("position")
    fig.colorbar(im, ax=ax_m, fraction=0.04)
    for p, curve in curves.items():
        ax_c.plot(np.arange(len(curve)), curve, label=f"p = {p}", alpha=0.8)
    ax_c.set_xlabel("distance k")
    ax_c.set_ylabel("pe[p] · pe[p + k]")
    ax_c.set_title("Dot product depends only on the distance")
    ax_c.legend()
    return fig


def _default_pe_factory(d_model: int, length: int) -> Any:
    from codegen_lib.positional import PositionalEncoding  # lazy: chapter 03's module

    return PositionalEncoding(d_model, length).pe


def positional_encoding_widget(d_model: int = 64, positions: tuple[int, int] = (0, 100), max_len: int = 512,
                               pe_factory: Callable[[int, int], Any] | None = None):
    """Sliders for ``d_model`` and the position range that redraw the heatmap (chapter 03).

    ``pe_factory(d_model, length) -> (1, length, d_model)`` defaults to ``codegen_lib.positional``'s
    ``PositionalEncoding(d_model, length).pe``. Returns an ``ipywidgets.VBox``; the first view is drawn eagerly.
    """
    import ipywidgets as widgets

    factory = pe_factory or _default_pe_factory
    d_slider = widgets.IntSlider(value=d_model, min=8, max=512, step=8, description="d_model",
                                 continuous_update=False)
    pos_slider = widgets.IntRangeSlider(value=positions, min=0, max=max_len, step=1, description="positions",
                                        continuous_update=False, layout=widgets.Layout(width="60%"))
    out = widgets.Output()

    def _redraw(*_):
        lo, hi = pos_slider.value
        hi = max(hi, lo + 1)
        fig = plot_positional_encoding(factory(d_slider.value, hi), max_pos=hi, min_pos=lo)
        _set_output_figure(out, fig)

    d_slider.observe(_redraw, names="value")
    pos_slider.observe(_redraw, names="value")
    _redraw()
    box = widgets.VBox([widgets.HBox([d_slider, pos_slider]), out])
    box.d_model, box.positions, box.output = d_slider, pos_slider, out
    return box


# -------------------------------------------------------------------------------- chapter 04: attention
def plot_attention(weights: Any, query_tokens: Sequence[str] | None = None,
                   key_tokens: Sequence[str] | None = None, *, title: str | None = None, ax=None,
                   cmap: str = "viridis", annotate: bool | None = None, colorbar: bool = True,
                   vmin: float | None = 0.0, vmax: float | None = None) -> Figure:
    """Heatmap of one attention matrix with token labels (chapters 04 and 10).

    Args:
        weights: (T_q, T_k) attention weights (leading size-1 axes such as (1, 1, T_q, T_k) are dropped).
            Row i holds how much query token i attends to each key token.
        query_tokens: T_q labels for the rows; key_tokens: T_k labels for the columns (default: indices).
        annotate: write each weight in its cell (default: when both sides have at most 10 tokens).
    Raises ValueError when the token counts do not match the weights' shape.
    """
    w = _squeeze_to(_to_numpy(weights, "weights"), 2, "weights")  # (T_q, T_k)
    ylabels = _labels(query_tokens, w.shape[0], "query_tokens", w.shape)
    xlabels = _labels(key_tokens, w.shape[1], "key_tokens", w.shape)
    if ax is None:
        width = float(np.clip(0.3 * w.shape[1] + 2.5, 4, 14))
        height = float(np.clip(0.3 * w.shape[0] + 1.5, 3, 14))
        fig, ax = _new_figure(figsize=(width, height), constrained_layout=True)
    else:
        fig = ax.figure
    im = ax.imshow(w, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(w.shape[1]))
    ax.set_yticks(range(w.shape[0]))
    ax.set_xticklabels(xlabels, rotation=90, fontsize=_tick_fontsize(w.shape[1]), parse_math=False)
    ax.set_yticklabels(ylabels, fontsize=_tick_fontsize(w.shape[0]), parse_math=False)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    if title:
        ax.set_title(title)
    if annotate is None:
        annotate = max(w.shape) <= 10
    if annotate:
        top = float(w.max()) if w.size else 1.0
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                ax.text(j, i, f"{w[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if w[i, j] > 0.6 * top else "white")
    if colorbar:
        fig.colorbar(im, ax=ax, fraction=0.04)
    return fig


def plot_mask(mask: Any, query_tokens: Sequence[str] | None = None, key_tokens: Sequence[str] | None = None,
              *, title: str | None = None, example: int = 0, ax=None) -> Figure:
    """Draw a padding or causal mask as a matrix: 1/True (may attend) vs 0/False (blocked). Chapter 04.

    Args:
        mask: (T_q, T_k), or the model's (B, 1, T, T) target mask / (B, 1, 1, S) padding mask (``example``
            picks the batch row). A single row (padding mask) is repeated for every query: ``len(query_tokens)``
            rows, or S rows when no query tokens are given.
    """
    arr = _to_numpy(mask, "mask")
    if arr.ndim == 4:
        if not 0 <= example < arr.shape[0]:
            raise ValueError(f"example {example} out of range for a batch of {arr.shape[0]}")
        arr = arr[example]
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 1:  # padding mask: the same keys are visible from every query
        n_q = len(query_tokens) if query_tokens is not None else arr.shape[0]
        arr = np.broadcast_to(arr, (n_q, arr.shape[0]))
    if arr.ndim != 2:
        raise ValueError(f"mask must be (T_q, T_k), (B, 1, T, T) or (B, 1, 1, S); got shape {np.shape(mask)}")
    arr = (arr != 0).astype(int)  # (T_q, T_k) 1 = may attend
    ylabels = _labels(query_tokens, arr.shape[0], "query_tokens", arr.shape)
    xlabels = _labels(key_tokens, arr.shape[1], "key_tokens", arr.shape)
    if ax is None:
        size = float(np.clip(0.3 * max(arr.shape) + 2, 3.5, 12))
        fig, ax = _new_figure(figsize=(size + 1.5, size), constrained_layout=True)
    else:
        fig = ax.figure
    blocked, allowed = "#d9d9d9", "#2b8cbe"
    ax.imshow(arr, cmap=ListedColormap([blocked, allowed]), vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(range(arr.shape[1]))
    ax.set_yticks(range(arr.shape[0]))
    ax.set_xticklabels(xlabels, rotation=90, fontsize=_tick_fontsize(arr.shape[1]), parse_math=False)
    ax.set_yticklabels(ylabels, fontsize=_tick_fontsize(arr.shape[0]), parse_math=False)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    if max(arr.shape) <= 16:
        for i in range(arr.shape[0]):
            for j in range(arr.shape[1]):
                ax.text(j, i, str(arr[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if arr[i, j] else "#555")
    ax.legend(handles=[Patch(color=allowed, label="1: may attend"), Patch(color=blocked, label="0: blocked")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def plot_heads(weights: Any, query_tokens: Sequence[str] | None = None, key_tokens: Sequence[str] | None = None,
               *, ncols: int = 4, title: str | None = None, example: int = 0) -> Figure:
    """A grid with one attention heatmap per head (chapter 04).

    Args:
        weights: (H, T_q, T_k), or one layer's (B, H, T_q, T_k) (``example`` picks the batch row).
    Returns a Figure with exactly H axes (shared colour scale 0..max).
    """
    w = _to_numpy(weights, "weights")
    if w.ndim == 4:
        if not 0 <= example < w.shape[0]:
            raise ValueError(f"example {example} out of range for a batch of {w.shape[0]}")
        w = w[example]  # (H, T_q, T_k)
    if w.ndim != 3:
        raise ValueError(f"weights must be (H, T_q, T_k) or (B, H, T_q, T_k), got shape {w.shape}")
    n_heads = w.shape[0]
    ylabels = _labels(query_tokens, w.shape[1], "query_tokens", w.shape)
    xlabels = _labels(key_tokens, w.shape[2], "key_tokens", w.shape)
    ncols = max(1, min(ncols, n_heads))
    nrows = math.ceil(n_heads / ncols)
    cell = float(np.clip(0.18 * max(w.shape[1:]) + 1.5, 2.2, 6))
    fig, axes = _new_figure(nrows, ncols, figsize=(cell * ncols + 0.5, cell * nrows + 0.5), squeeze=False,
                            constrained_layout=True)
    vmax = float(w.max()) if w.size else 1.0
    flat = axes.ravel()
    for h in range(n_heads):
        ax = flat[h]
        ax.imshow(w[h], cmap="viridis", vmin=0, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.set_title(f"head {h}", fontsize=9)
        _grid_ticks(ax, xlabels, ylabels, first_col=h % ncols == 0, last_row=h + ncols >= n_heads)
    for ax in flat[n_heads:]:
        fig.delaxes(ax)
    if title:
        fig.suptitle(title)
    return fig


def _grid_ticks(ax, xlabels: list[str], ylabels: list[str], *, first_col: bool, last_row: bool) -> None:
    """Token labels only on the outer panels of a grid (rows: first column, columns: last row)."""
    fs = min(_tick_fontsize(len(xlabels)), _tick_fontsize(len(ylabels)), 8.0)
    if last_row:
        ax.set_xticks(range(len(xlabels)))
        ax.set_xticklabels(xlabels, rotation=90, fontsize=fs, parse_math=False)
    else:
        ax.set_xticks([])
    if first_col:
        ax.set_yticks(range(len(ylabels)))
        ax.set_yticklabels(ylabels, fontsize=fs, parse_math=False)
    else:
        ax.set_yticks([])


# Attention sets: {"encoder": [L x (B, H, T_q, T_k)], ...} -> numpy, with per-kind token pairs.
def _normalise_attentions(attentions: Any) -> dict[str, list[np.ndarray]]:
    if not isinstance(attentions, Mapping):
        raise ValueError("attentions must be a dict {'encoder': [...], 'decoder': [...], 'cross': [...]} "
                         f"(as returned by forward(..., return_attention=True)), got {type(attentions).__name__}")
    unknown = set(attentions) - set(ATTENTION_KINDS)
    if unknown:
        raise ValueError(f"unknown attention kinds {sorted(unknown)}; expected some of {ATTENTION_KINDS}")
    out = {}
    for kind in ATTENTION_KINDS:
        layers = attentions.get(kind)
        if layers is None or len(layers) == 0:
            continue
        arrays = []
        for i, t in enumerate(layers):
            a = _to_numpy(t, f"attentions[{kind!r}][{i}]")
            if a.ndim == 3:
                a = a[None]  # (H, T_q, T_k) -> (1, H, T_q, T_k)
            if a.ndim != 4:
                raise ValueError(f"attentions[{kind!r}][{i}] must be (B, H, T_q, T_k), got shape {a.shape}")
            arrays.append(a)
        out[kind] = arrays
    if not out:
        raise ValueError("attentions holds no layers")
    return out


def _is_nested(tokens: Any) -> bool:
    return tokens is not None and len(tokens) > 0 and not isinstance(tokens[0], str)


def _example_tokens(tokens: Any, example: int, length: int, what: str) -> list[str]:
    """Tokens for one batch row. A flat list must match ``length`` exactly; per-example lists (padded batch)
    may be shorter: the weights are then cropped to the real tokens."""
    if _is_nested(tokens):
        if example >= len(tokens):
            raise ValueError(f"{what} has {len(tokens)} examples but example {example} was requested")
        toks = list(tokens[example])
        if len(toks) > length:
            raise ValueError(f"{what}[{example}] has {len(toks)} tokens but the attention has only {length} "
                             "positions on that axis")
        return toks
    toks = list(tokens)
    if len(toks) != length:
        raise ValueError(f"{what} has {len(toks)} tokens but the attention has {length} positions on that axis; "
                         "pass one token per position (or one list per example for a padded batch)")
    return toks


def _kind_axes(kind: str, src_tokens, tgt_tokens) -> tuple[Any, Any, str, str]:
    if kind == "encoder":
        return src_tokens, src_tokens, "src_tokens", "src_tokens"
    if kind == "decoder":
        return tgt_tokens, tgt_tokens, "tgt_tokens", "tgt_tokens"
    return tgt_tokens, src_tokens, "tgt_tokens", "src_tokens"


def select_attention(attentions: Any, src_tokens: Sequence, tgt_tokens: Sequence, *, kind: str = "cross",
                     layer: int = 0, head: int | None = 0, example: int = 0
                     ) -> tuple[np.ndarray, list[str], list[str]]:
    """One (T_q, T_k) matrix with its query and key tokens from a bertviz-style attention dict.

    ``head=None`` averages over heads. Tokens are ``src_tokens`` / ``tgt_tokens`` for one example (flat lists),
    or one list per example for a padded batch. Raises ValueError on a bad kind/layer/head/example or a token
    count that does not fit the weights.
    """
    att = _normalise_attentions(attentions)
    if kind not in att:
        raise ValueError(f"kind {kind!r} not available; choose from {list(att)}")
    layers = att[kind]
    if not 0 <= layer < len(layers):
        raise ValueError(f"layer {layer} out of range: {kind} attention has {len(layers)} layers")
    a = layers[layer]  # (B, H, T_q, T_k)
    if not 0 <= example < a.shape[0]:
        raise ValueError(f"example {example} out of range for a batch of {a.shape[0]}")
    if head is None:
        w = a[example].mean(axis=0)  # (T_q, T_k)
    elif 0 <= head < a.shape[1]:
        w = a[example, head]  # (T_q, T_k)
    else:
        raise ValueError(f"head {head} out of range: {kind} attention has {a.shape[1]} heads")
    q_src, k_src, q_name, k_name = _kind_axes(kind, src_tokens, tgt_tokens)
    q_toks = _example_tokens(q_src, example, w.shape[0], q_name)
    k_toks = _example_tokens(k_src, example, w.shape[1], k_name)
    return w[: len(q_toks), : len(k_toks)], q_toks, k_toks


def _kind_title(kind: str) -> str:
    return {"encoder": "encoder self-attention (src → src)", "decoder": "decoder self-attention (tgt → tgt)",
            "cross": "cross-attention (code → prompt)"}[kind]


class _AttentionView:
    """Dropdowns (example, kind, layer, head) + an Output that holds the current heatmap as a PNG."""

    def __init__(self, examples: list[tuple[dict, Any, Any]], example_labels: list[str],
                 header: Callable[[int], str] | None = None):
        import ipywidgets as widgets

        self.examples = examples
        self.header = header
        att0 = examples[0][0]
        kinds = [k for k in ATTENTION_KINDS if k in att0]
        self.example = widgets.Dropdown(options=[(lab, i) for i, lab in enumerate(example_labels)], value=0,
                                        description="example")
        self.kind = widgets.Dropdown(options=kinds, value="cross" if "cross" in kinds else kinds[0],
                                     description="kind")
        self.layer = widgets.Dropdown(description="layer")
        self.head = widgets.Dropdown(description="head")
        self.output = widgets.Output()
        self._updating = False
        self._set_options()
        self.kind.observe(self._on_kind, names="value")
        for w in (self.example, self.layer, self.head):
            w.observe(self._redraw, names="value")
        controls = [self.kind, self.layer, self.head]
        if len(examples) > 1:
            controls.insert(0, self.example)
        self.widget = widgets.VBox([widgets.HBox(controls), self.output])
        self.widget.view = self
        self._redraw()

    def _set_options(self) -> None:
        layers = self.examples[0][0][self.kind.value]
        n_heads = layers[0].shape[1]
        old_layer, old_head = self.layer.value, self.head.value
        self._updating = True  # no redraws while the options are swapped
        try:
            self.layer.options = [(str(i), i) for i in range(len(layers))]
            self.head.options = [(str(h), h) for h in range(n_heads)] + [("mean", -1)]
            self.layer.value = old_layer if old_layer is not None and old_layer < len(layers) else 0
            self.head.value = old_head if old_head is not None and old_head < n_heads else 0
        finally:
            self._updating = False

    def _on_kind(self, _change) -> None:
        self._set_options()
        self._redraw()

    def current(self) -> tuple[np.ndarray, list[str], list[str]]:
        att, src, tgt = self.examples[self.example.value]
        head = None if self.head.value == -1 else self.head.value
        return select_attention(att, src, tgt, kind=self.kind.value, layer=self.layer.value, head=head)

    def _redraw(self, *_):
        if self._updating:
            return
        w, q, k = self.current()
        head = "mean of heads" if self.head.value == -1 else f"head {self.head.value}"
        fig = plot_attention(w, q, k, title=f"{_kind_title(self.kind.value)}, layer {self.layer.value}, {head}")
        _set_output_figure(self.output, fig, self.header(self.example.value) if self.header else None)


def _split_examples(att: dict[str, list[np.ndarray]], src_tokens: Sequence, tgt_tokens: Sequence
                    ) -> list[tuple[dict, list[str], list[str]]]:
    """One ``(attentions with B = 1, src tokens, tgt tokens)`` per batch row; with per-example token lists the
    padded positions are cropped off. Validates every token count up front."""
    batch = next(iter(att.values()))[0].shape[0]
    examples = []
    for b in range(batch):
        one = {}
        for kind, layers in att.items():
            w, q, k = select_attention(att, src_tokens, tgt_tokens, kind=kind, layer=0, head=0, example=b)
            n_q, n_k = len(q), len(k)
            one[kind] = [a[b : b + 1, :, :n_q, :n_k] for a in layers]  # (1, H, T_q, T_k) without padding
        src = list(src_tokens[b]) if _is_nested(src_tokens) else list(src_tokens)
        tgt = list(tgt_tokens[b]) if _is_nested(tgt_tokens) else list(tgt_tokens)
        examples.append((one, src, tgt))
    return examples


def attention_widget(attentions: Any, src_tokens: Sequence, tgt_tokens: Sequence, *,
                     example_labels: Sequence[str] | None = None):
    """Pick kind (encoder/decoder/cross), layer, head (or their mean) and, for B > 1, the example; the heatmap
    redraws below (chapter 04; chapter 10 via :func:`attention_explorer`).

    Args:
        attentions: ``{"encoder": [...], "decoder": [...], "cross": [...]}``, one (B, H, T_q, T_k) per layer.
        src_tokens / tgt_tokens: the tokens of one example, or one list per example for a padded batch.
    Returns an ``ipywidgets.VBox`` (``.view`` has the dropdowns and ``.output``); the first heatmap is drawn
    eagerly, so the saved page shows it.
    """
    examples = _split_examples(_normalise_attentions(attentions), src_tokens, tgt_tokens)
    batch = len(examples)
    labels = list(example_labels) if example_labels is not None else [f"example {b}" for b in range(batch)]
    if len(labels) != batch:
        raise ValueError(f"{len(labels)} example_labels for a batch of {batch}")
    return _AttentionView(examples, labels).widget


# ----------------------------------------------------------------------------------- chapter 07: training
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
        loss = _as_float(_get(state, "loss"))
        step = _get(state, "step")
        if loss is not None:
            self.steps.append(int(step) if step is not None else len(self.steps) + 1)
            self.losses.append(loss)
            self.lrs.append(_as_float(_get(state, "lr")))
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
        val = _as_float(_get(state, "val_loss"))
        step = _get(state, "step")
        hist = _get(state, "history")
        if val is None and isinstance(hist, Mapping) and hist.get("step_val"):
            last = hist["step_val"][-1]  # codegen_lib.train logs mid-epoch evaluations (eval_every) there
            if isinstance(last, Mapping) and last.get("step") == step:
                val = _as_float(last.get("val_loss"))
        if val is None or (isinstance(val, float) and math.isnan(val)):
            return
        step = int(step) if step is not None else (self.steps[-1] if self.steps else 0)
        if self.val_steps and self.val_steps[-1] == step and self.val_losses[-1] == val:
            return  # the same evaluation reported again (e.g. step end, then epoch end)
        epoch = _get(state, "epoch")
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
        if not _in_notebook() or not self.steps:
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
    fig, axes = _new_figure(1, len(series), figsize=(6 * len(series), 3.8), squeeze=False,
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


# ------------------------------------------------------------------------- chapter 10: attention explorer
def attention_grid(attentions: Any, src_tokens: Sequence, tgt_tokens: Sequence, kind: str = "cross",
                   layers: Sequence[int] | None = None, heads: Sequence[int] | None = None, *,
                   example: int = 0, title: str | None = None) -> Figure:
    """A static grid, one heatmap per (layer, head) -- rows are layers, columns heads -- for pages built without
    a kernel (chapter 10). ``layers``/``heads`` pick a subset (default: all).

    Returns a Figure with ``len(layers) * len(heads)`` axes.
    """
    att = _normalise_attentions(attentions)
    if kind not in att:
        raise ValueError(f"kind {kind!r} not available; choose from {list(att)}")
    n_layers, n_heads = len(att[kind]), att[kind][0].shape[1]
    layers = list(range(n_layers)) if layers is None else list(layers)
    heads = list(range(n_heads)) if heads is None else list(heads)
    if not layers or not heads:
        raise ValueError("layers and heads must not be empty")
    mats = {}
    for layer in layers:
        for head in heads:
            mats[layer, head] = select_attention(att, src_tokens, tgt_tokens, kind=kind, layer=layer,
                                                 head=head, example=example)
    _, q_toks, k_toks = mats[layers[0], heads[0]]
    q_labels, k_labels = [pretty_token(t) for t in q_toks], [pretty_token(t) for t in k_toks]
    cell = float(np.clip(0.16 * max(len(q_toks), len(k_toks)) + 1.4, 2.0, 5))
    fig, axes = _new_figure(len(layers), len(heads), figsize=(cell * len(heads) + 0.6, cell * len(layers) + 0.6),
                            squeeze=False, constrained_layout=True)
    vmax = max(float(m[0].max()) for m in mats.values())
    for r, layer in enumerate(layers):
        for c, head in enumerate(heads):
            ax = axes[r][c]
            ax.imshow(mats[layer, head][0], cmap="viridis", vmin=0, vmax=vmax, aspect="auto",
                      interpolation="nearest")
            ax.set_title(f"layer {layer}, head {head}", fontsize=8)
            _grid_ticks(ax, k_labels, q_labels, first_col=c == 0, last_row=r == len(layers) - 1)
    fig.suptitle(title or _kind_title(kind))
    return fig


def top_attended(cross_weights: Any, src_tokens: Sequence[str], tgt_tokens: Sequence[str], k: int = 3
                 ) -> pd.DataFrame:
    """For each code (target) token, the ``k`` prompt (source) tokens it attends to most (chapter 10).

    Args:
        cross_weights: (T, S) cross-attention of one example and head, or (H, T, S) (averaged over heads).
        k: how many prompt tokens per code token (capped at S). Ties go to the earlier prompt position.
    Tokens in the table show their whitespace (:func:`pretty_token`). Returns a DataFrame with columns ``position``, ``code_token`` and, for i = 1..k, ``prompt_token_i``,
    ``prompt_position_i``, ``weight_i``.
    """
    w = _to_numpy(cross_weights, "cross_weights")
    while w.ndim > 3 and w.shape[0] == 1:
        w = w[0]
    if w.ndim == 3:
        w = w.mean(axis=0)  # (H, T, S) -> (T, S)
    if w.ndim != 2:
        raise ValueError(f"cross_weights must be (T, S) or (H, T, S), got shape {w.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    _labels(tgt_tokens, w.shape[0], "tgt_tokens", w.shape)  # validates counts
    _labels(src_tokens, w.shape[1], "src_tokens", w.shape)
    k = min(k, w.shape[1])
    order = np.argsort(-w, axis=1, kind="stable")[:, :k]  # (T, k) indices of the largest weights
    data: dict[str, list] = {"position": list(range(w.shape[0])), "code_token": [pretty_token(t) for t in tgt_tokens]}
    for i in range(k):
        idx = order[:, i]
        data[f"prompt_token_{i + 1}"] = [pretty_token(src_tokens[j]) for j in idx]
        data[f"prompt_position_{i + 1}"] = idx.tolist()
        data[f"weight_{i + 1}"] = w[np.arange(w.shape[0]), idx].round(4).tolist()
    return pd.DataFrame(data)


def _token_labeller(tokenizer: Any, text: str) -> Callable[[int], str]:
    """id -> token piece, using the pieces of ``text`` (which ``tokens`` and ``encode`` align) and the fixed
    special tokens, falling back to decoding the id on its own."""
    known = dict(SPECIAL_TOKENS)
    try:
        known.update(zip((int(i) for i in tokenizer.encode(text)), tokenizer.tokens(text)))
    except Exception:  # a tokenizer without tokens(): decoding each id still works
        pass

    def label(i: int) -> str:
        return known[i] if i in known else tokenizer.decode([i], skip_special_tokens=False)

    return label


def _model_inputs(tokenizer: Any, prompt: str, code: str, max_src_len: int, max_tgt_len: int):
    """(src ids, tgt_in ids) for one pair, as the training collator builds them when it is available."""
    try:
        from codegen_lib.batching import Seq2SeqCollator
    except ImportError:
        Seq2SeqCollator = None
    if Seq2SeqCollator is not None:
        batch = Seq2SeqCollator(tokenizer, max_src_len, max_tgt_len)([{"prompt": prompt, "code": code}])
        return [int(i) for i in batch["src"][0]], [int(i) for i in batch["tgt_in"][0]]
    src = [int(i) for i in tokenizer.encode(prompt)][:max_src_len]
    tgt_in = ([getattr(tokenizer, "bos_id", 1)] + [int(i) for i in tokenizer.encode(code)])[: max_tgt_len - 1]
    return src, tgt_in


def explain_pairs(model: Any, tokenizer: Any, prompts: Sequence[str], codes: Sequence[str] | None = None, *,
                  max_new_tokens: int = 64, generate_fn: Callable | None = None) -> list[dict]:
    """Attention of ``model`` on (prompt, code) pairs, one dict per pair: ``prompt``, ``code``, ``attentions``
    (bertviz format, B = 1, numpy), ``src_tokens``, ``tgt_tokens``. Chapter 10.

    Without ``codes`` the model writes them first (``codegen_lib.decode.generate``, greedy, or ``generate_fn``);
    then one teacher-forced ``forward(src, tgt_in, return_attention=True)`` gives the weights.
    """
    import torch

    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    if not prompts:
        raise ValueError("give at least one prompt")
    if codes is None:
        if generate_fn is None:
            from codegen_lib.decode import generate as generate_fn
        codes = list(generate_fn(model, tokenizer, prompts, max_new_tokens=max_new_tokens))
    codes = [codes] if isinstance(codes, str) else list(codes)
    if len(codes) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(codes)} codes")
    cfg = getattr(model, "config", None)
    max_src = int(getattr(cfg, "max_src_len", 128))
    max_tgt = int(getattr(cfg, "max_tgt_len", 256))
    params = list(model.parameters()) if hasattr(model, "parameters") else []
    device = params[0].device if params else torch.device("cpu")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    results = []
    try:
        for prompt, code in zip(prompts, codes):
            src_ids, tgt_ids = _model_inputs(tokenizer, prompt, code, max_src, max_tgt)
            src = torch.tensor([src_ids], dtype=torch.long, device=device)  # (1, S)
            tgt = torch.tensor([tgt_ids], dtype=torch.long, device=device)  # (1, T)
            with torch.no_grad():
                _, att = model(src, tgt, return_attention=True)
            src_label, tgt_label = _token_labeller(tokenizer, prompt), _token_labeller(tokenizer, code)
            results.append({"prompt": prompt, "code": code, "attentions": _normalise_attentions(att),
                            "src_tokens": [src_label(i) for i in src_ids],
                            "tgt_tokens": [tgt_label(i) for i in tgt_ids]})
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    return results


def attention_explorer(model: Any, tokenizer: Any, prompts: Sequence[str] | str,
                       codes: Sequence[str] | None = None, *, max_new_tokens: int = 64,
                       generate_fn: Callable | None = None):
    """The chapter 10 explorer: pick a prompt, see the (generated) code and the encoder, decoder or
    cross-attention heatmap for any layer and head. See :func:`explain_pairs` for how the weights are obtained.

    Returns an ``ipywidgets.VBox``; the first view is drawn eagerly so the saved page shows it.
    """
    pairs = explain_pairs(model, tokenizer, prompts, codes, max_new_tokens=max_new_tokens,
                          generate_fn=generate_fn)
    examples = [(p["attentions"], p["src_tokens"], p["tgt_tokens"]) for p in pairs]
    labels = [p["prompt"][:60] + ("…" if len(p["prompt"]) > 60 else "") for p in pairs]

    def header(i: int) -> str:
        p = pairs[i]
        return (f"<p><b>prompt:</b> {html.escape(p['prompt'])}</p>"
                f"<pre style='background:#f6f8fa;padding:6px'>{html.escape(p['code'])}</pre>")

    return _AttentionView(examples, labels, header=header).widget
