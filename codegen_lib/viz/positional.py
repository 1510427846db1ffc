"""Chapter 03 (positional encoding): the sinusoid table as a heatmap, and dot products by distance."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from codegen_lib.viz._common import (
    new_figure,
    squeeze_to,
    to_numpy,
)


def _pe_matrix(pe: Any) -> np.ndarray:
    """A PositionalEncoding module (buffer ``pe`` (1, L, D)), a tensor (1, L, D) or (L, D) -> (L, D)."""
    if hasattr(pe, "pe") and not isinstance(pe, np.ndarray):
        pe = pe.pe
    return squeeze_to(to_numpy(pe, "pe"), 2, "pe")


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
        fig, ax = new_figure(figsize=(7, 4.2), constrained_layout=True)
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
    fig, (ax_m, ax_c) = new_figure(1, 2, figsize=(11, 4.2), constrained_layout=True)
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


