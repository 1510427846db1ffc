"""Helpers shared by every view: detached figures, array and token checks, PNG output for widgets.

Every plotting function of :mod:`codegen_lib.viz` returns a matplotlib ``Figure`` and never calls
``plt.show()``. Figures are created with pyplot (so the notebook's inline backend knows how to draw them) and
immediately detached from pyplot's figure manager: nothing accumulates, nothing is shown twice, and a figure
appears in a notebook exactly when a cell returns it or passes it to :func:`show`.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

ATTENTION_KINDS = ("encoder", "decoder", "cross")
SPECIAL_TOKENS = {0: "<pad>", 1: "<bos>", 2: "<eos>", 3: "<unk>"}  # fixed ids, see DESIGN.md

# Pastel colours for token chips (tokenizer widget); cycled by token position.
TOKEN_COLOURS = ("#fde2e4", "#e2ece9", "#dfe7fd", "#fff1c1", "#e8dff5", "#d7f2e3", "#fbe0c3", "#dbeefc")
_WHITESPACE_MARKS = {"Ġ": "␣", "▁": "␣", " ": "␣", "Ċ": "↵", "\n": "↵", "ĉ": "⇥", "\t": "⇥", "č": "⏎", "\r": "⏎"}


# ----------------------------------------------------------------------------------------------- helpers
def new_figure(nrows: int = 1, ncols: int = 1, **kw) -> tuple[Figure, Any]:
    """``plt.subplots`` detached from pyplot: drawable and displayable, but never auto-shown or leaked."""
    fig, axes = plt.subplots(nrows, ncols, **kw)
    plt.close(fig)
    return fig, axes


def to_numpy(x: Any, name: str = "array") -> np.ndarray:
    """A tensor (any device, with or without grad), array or nested list -> float numpy array."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().float().cpu().numpy()
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a tensor or array of numbers, got {type(x).__name__}") from err


def squeeze_to(arr: np.ndarray, ndim: int, name: str) -> np.ndarray:
    """Drop leading size-1 axes (e.g. batch and head of a single example) until ``arr`` has ``ndim`` axes."""
    while arr.ndim > ndim and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions (after dropping leading size-1 axes), "
                         f"got shape {tuple(arr.shape)}")
    return arr


def get_value(state: Any, name: str, default: Any = None) -> Any:
    """Read ``name`` from a dict-like or an object (trainer states come in both forms)."""
    if isinstance(state, Mapping):
        return state.get(name, default)
    return getattr(state, name, default)


def as_float(x: Any) -> float | None:
    if x is None:
        return None
    if hasattr(x, "item"):
        x = x.item()
    return float(x)


def pretty_token(token: str) -> str:
    """Show a token's whitespace: byte-level BPE's ``Ġ``/``Ċ``/``ĉ`` (and real spaces/newlines/tabs) become
    ``␣``/``↵``/``⇥``. Used for every token label in this module (chapters 02, 04, 10)."""
    return "".join(_WHITESPACE_MARKS.get(ch, ch) for ch in str(token))


def tick_labels(tokens: Sequence[str] | None, n: int, what: str, shape: tuple) -> list[str]:
    if tokens is None:
        return [str(i) for i in range(n)]
    tokens = list(tokens)
    if len(tokens) != n:
        raise ValueError(f"{what} has {len(tokens)} tokens but the weights have {n} along that axis "
                         f"(weights shape {shape}); pass one token per row/column")
    return [pretty_token(t) for t in tokens]


def tick_fontsize(n: int) -> float:
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


def set_output_figure(out, fig: Figure, extra_html: str | None = None) -> None:
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


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where ``IPython.display`` reaches a frontend)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the book extras
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def show(fig: Figure) -> None:
    """Display ``fig`` in a notebook (a no-op outside one). For cells that draw several figures."""
    if in_notebook():
        from IPython.display import display

        display(fig)
