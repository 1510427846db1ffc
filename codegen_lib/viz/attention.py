"""Chapters 04 and 10 (attention): static heatmaps of attention weights, and the weights of a model.

Attention comes in bertviz's format, as returned by ``Transformer.forward(src, tgt, return_attention=True)``:
``{"encoder": [...], "decoder": [...], "cross": [...]}``, one tensor per layer of shape ``(B, H, T_q, T_k)``.
Encoder attention is ``src x src``, decoder self-attention ``tgt x tgt``, cross-attention ``tgt x src``.

    04 attention             plot_attention, plot_mask, plot_heads, select_attention
    10 attention explorer    attention_grid, top_attended, explain_pairs
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from codegen_lib.viz._common import (
    ATTENTION_KINDS,
    SPECIAL_TOKENS,
    new_figure,
    pretty_token,
    squeeze_to,
    tick_fontsize,
    tick_labels,
    to_numpy,
)


def _token_axes(ax, shape, xlabels, ylabels, xname: str, yname: str) -> None:
    """One tick per token on both axes of a (queries, keys) matrix, sized to fit, and the axis names."""
    ax.set_xticks(range(shape[1]))
    ax.set_yticks(range(shape[0]))
    ax.set_xticklabels(xlabels, rotation=90, fontsize=tick_fontsize(shape[1]), parse_math=False)
    ax.set_yticklabels(ylabels, fontsize=tick_fontsize(shape[0]), parse_math=False)
    ax.set_xlabel(xname)
    ax.set_ylabel(yname)


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
    w = squeeze_to(to_numpy(weights, "weights"), 2, "weights")  # (T_q, T_k)
    ylabels = tick_labels(query_tokens, w.shape[0], "query_tokens", w.shape)
    xlabels = tick_labels(key_tokens, w.shape[1], "key_tokens", w.shape)
    if ax is None:
        width = float(np.clip(0.3 * w.shape[1] + 2.5, 4, 14))
        height = float(np.clip(0.3 * w.shape[0] + 1.5, 3, 14))
        fig, ax = new_figure(figsize=(width, height), constrained_layout=True)
    else:
        fig = ax.figure
    im = ax.imshow(w, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    _token_axes(ax, w.shape, xlabels, ylabels, "key (attended to)", "query (attending)")
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
    arr = to_numpy(mask, "mask")
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
    ylabels = tick_labels(query_tokens, arr.shape[0], "query_tokens", arr.shape)
    xlabels = tick_labels(key_tokens, arr.shape[1], "key_tokens", arr.shape)
    if ax is None:
        size = float(np.clip(0.3 * max(arr.shape) + 2, 3.5, 12))
        fig, ax = new_figure(figsize=(size + 1.5, size), constrained_layout=True)
    else:
        fig = ax.figure
    blocked, allowed = "#d9d9d9", "#2b8cbe"
    ax.imshow(arr, cmap=ListedColormap([blocked, allowed]), vmin=0, vmax=1, interpolation="nearest")
    _token_axes(ax, arr.shape, xlabels, ylabels, "key", "query")
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
    w = to_numpy(weights, "weights")
    if w.ndim == 4:
        if not 0 <= example < w.shape[0]:
            raise ValueError(f"example {example} out of range for a batch of {w.shape[0]}")
        w = w[example]  # (H, T_q, T_k)
    if w.ndim != 3:
        raise ValueError(f"weights must be (H, T_q, T_k) or (B, H, T_q, T_k), got shape {w.shape}")
    n_heads = w.shape[0]
    ylabels = tick_labels(query_tokens, w.shape[1], "query_tokens", w.shape)
    xlabels = tick_labels(key_tokens, w.shape[2], "key_tokens", w.shape)
    ncols = max(1, min(ncols, n_heads))
    nrows = math.ceil(n_heads / ncols)
    cell = float(np.clip(0.18 * max(w.shape[1:]) + 1.5, 2.2, 6))
    fig, axes = new_figure(nrows, ncols, figsize=(cell * ncols + 0.5, cell * nrows + 0.5), squeeze=False,
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
    fs = min(tick_fontsize(len(xlabels)), tick_fontsize(len(ylabels)), 8.0)
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
def normalise_attentions(attentions: Any) -> dict[str, list[np.ndarray]]:
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
            a = to_numpy(t, f"attentions[{kind!r}][{i}]")
            if a.ndim == 3:
                a = a[None]  # (H, T_q, T_k) -> (1, H, T_q, T_k)
            if a.ndim != 4:
                raise ValueError(f"attentions[{kind!r}][{i}] must be (B, H, T_q, T_k), got shape {a.shape}")
            arrays.append(a)
        out[kind] = arrays
    if not out:
        raise ValueError("attentions holds no layers")
    return out


def is_nested(tokens: Any) -> bool:
    return tokens is not None and len(tokens) > 0 and not isinstance(tokens[0], str)


def _example_tokens(tokens: Any, example: int, length: int, what: str) -> list[str]:
    """Tokens for one batch row. A flat list must match ``length`` exactly; per-example lists (padded batch)
    may be shorter: the weights are then cropped to the real tokens."""
    if is_nested(tokens):
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
    att = normalise_attentions(attentions)
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


def kind_title(kind: str) -> str:
    return {"encoder": "encoder self-attention (src → src)", "decoder": "decoder self-attention (tgt → tgt)",
            "cross": "cross-attention (code → prompt)"}[kind]


def attention_grid(attentions: Any, src_tokens: Sequence, tgt_tokens: Sequence, kind: str = "cross",
                   layers: Sequence[int] | None = None, heads: Sequence[int] | None = None, *,
                   example: int = 0, title: str | None = None) -> Figure:
    """A static grid, one heatmap per (layer, head) -- rows are layers, columns heads -- for pages built without
    a kernel (chapter 10). ``layers``/``heads`` pick a subset (default: all).

    Returns a Figure with ``len(layers) * len(heads)`` axes.
    """
    att = normalise_attentions(attentions)
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
    fig, axes = new_figure(len(layers), len(heads), figsize=(cell * len(heads) + 0.6, cell * len(layers) + 0.6),
                            squeeze=False, constrained_layout=True)
    vmax = max(float(m[0].max()) for m in mats.values())
    for r, layer in enumerate(layers):
        for c, head in enumerate(heads):
            ax = axes[r][c]
            ax.imshow(mats[layer, head][0], cmap="viridis", vmin=0, vmax=vmax, aspect="auto",
                      interpolation="nearest")
            ax.set_title(f"layer {layer}, head {head}", fontsize=8)
            _grid_ticks(ax, k_labels, q_labels, first_col=c == 0, last_row=r == len(layers) - 1)
    fig.suptitle(title or kind_title(kind))
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
    w = to_numpy(cross_weights, "cross_weights")
    while w.ndim > 3 and w.shape[0] == 1:
        w = w[0]
    if w.ndim == 3:
        w = w.mean(axis=0)  # (H, T, S) -> (T, S)
    if w.ndim != 2:
        raise ValueError(f"cross_weights must be (T, S) or (H, T, S), got shape {w.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    tick_labels(tgt_tokens, w.shape[0], "tgt_tokens", w.shape)  # validates counts
    tick_labels(src_tokens, w.shape[1], "src_tokens", w.shape)
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
            results.append({"prompt": prompt, "code": code, "attentions": normalise_attentions(att),
                            "src_tokens": [src_label(i) for i in src_ids],
                            "tgt_tokens": [tgt_label(i) for i in tgt_ids]})
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    return results
