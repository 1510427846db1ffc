"""Chapter 06 (encoder and decoder): the encoder-decoder drawn from a ``ModelConfig``.

The report's Figure 5 is a picture of the original Transformer; :func:`plot_architecture` redraws it from a
config, so every number on it (layers, heads, widths, vocabulary, lengths) is the model's own, and the
residual blocks sit where the config puts the layer norm (after the sublayer for post-LN, the report's
choice; before it for pre-LN).
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from codegen_lib.viz._common import new_figure

# block colours, as in the Transformer paper's figure
_COLOURS = {"attn": "#fcdcb4", "ffn": "#c2e5f7", "norm": "#f3f3c7", "embed": "#f8d0d8", "out": "#dcd0f0",
            "stack": "#f2f2f2"}


def _box(ax, x: float, y: float, w: float, h: float, text: str, colour: str, fontsize: float = 8.5) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=colour, edgecolor="#444", linewidth=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, x0: float, y0: float, x1: float, y1: float, **kw) -> None:
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=9, linewidth=1.0,
                                 color=kw.pop("color", "#333"), **kw))


def _sublayers(norm_first: bool, blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each (text, colour) sublayer with its layer norm: 'Add & Norm' after it (post-LN) or 'Norm' before it
    and 'Add' after it (pre-LN)."""
    out: list[tuple[str, str]] = []
    for text, colour in blocks:
        if norm_first:
            out += [("LayerNorm", "norm"), (text, colour), ("Add (residual)", "norm")]
        else:
            out += [(text, colour), ("Add & LayerNorm", "norm")]
    return out


def architecture_labels(cfg: Any) -> dict[str, str]:
    """The texts the figure writes for ``cfg`` (a ``ModelConfig`` or anything with its fields)."""
    d_k = cfg.d_model // cfg.num_heads
    heads = f"{cfg.num_heads} heads, d_k = {d_k}"
    return {
        "enc_attn": f"Multi-head self-attention\n({heads})",
        "dec_self": f"Masked multi-head self-attention\n({heads})",
        "dec_cross": f"Multi-head cross-attention\n(queries: code, keys/values: prompt; {heads})",
        "ffn": f"Feed-forward\n({cfg.d_model} → {cfg.d_ff} → {cfg.d_model}, ReLU)",
        "enc_n": f"× {cfg.num_layers}",
        "dec_n": f"× {cfg.num_layers}",
        "src_embed": f"Prompt embedding ({cfg.src_vocab_size:,} × {cfg.d_model})\n+ positional encoding",
        "tgt_embed": f"Code embedding ({cfg.tgt_vocab_size:,} × {cfg.d_model})\n+ positional encoding",
        "src_in": f"prompt tokens (≤ {cfg.max_src_len})",
        "tgt_in": f"code tokens shifted right: <bos> + code (≤ {cfg.max_tgt_len})",
        "out": f"Linear {cfg.d_model} → {cfg.tgt_vocab_size:,}, softmax",
        "probs": "next-token probabilities",
        "norm": "pre-LN (LayerNorm before each sublayer)" if cfg.norm_first
        else "post-LN (LayerNorm after each residual add), as in the report",
    }


def plot_architecture(cfg: Any, *, title: str | None = None) -> Figure:
    """The encoder-decoder Transformer of ``cfg`` as a block diagram (chapter 06; the report's Figure 5).

    Left the encoder stack, right the decoder stack, each drawn as one layer with its repeat count; the
    encoder's output (the *memory*) feeds every decoder layer's cross-attention. Returns a Figure whose
    texts are :func:`architecture_labels` (``cfg.d_model``, ``cfg.num_heads``, ``cfg.d_ff``, ...).
    """
    labels = architecture_labels(cfg)
    enc = _sublayers(cfg.norm_first, [(labels["enc_attn"], "attn"), (labels["ffn"], "ffn")])
    dec = _sublayers(cfg.norm_first, [(labels["dec_self"], "attn"), (labels["dec_cross"], "attn"),
                                      (labels["ffn"], "ffn")])
    step, h, w = 0.62, 0.46, 3.3
    n_rows = len(dec) + 4 + (1 if cfg.norm_first else 0)
    fig, ax = new_figure(figsize=(9.2, 0.6 * n_rows + 1.2), constrained_layout=True)
    ax.set_xlim(-0.2, 9.2)
    ax.set_ylim(-0.8, n_rows * step + 0.5)
    ax.axis("off")
    xe, xd = 2.2, 6.6
    y_embed = 0.9
    # inputs and embeddings
    for x, key_in, key_emb in ((xe, "src_in", "src_embed"), (xd, "tgt_in", "tgt_embed")):
        ax.text(x, -0.45, labels[key_in], ha="center", va="center", fontsize=8.5, style="italic")
        _arrow(ax, x, -0.3, x, y_embed - h / 2 - 0.03)
        _box(ax, x, y_embed, w, h + 0.12, labels[key_emb], _COLOURS["embed"], fontsize=8)
    # the two stacks
    tops = {}
    for x, blocks, key_n in ((xe, enc, "enc_n"), (xd, dec, "dec_n")):
        y0 = y_embed + 0.75
        y_top = y0 + (len(blocks) - 1) * step
        ax.add_patch(FancyBboxPatch((x - w / 2 - 0.15, y0 - h / 2 - 0.15), w + 0.3, y_top - y0 + h + 0.3,
                                    boxstyle="round,pad=0.02,rounding_size=0.15", facecolor=_COLOURS["stack"],
                                    edgecolor="#888", linewidth=1.0, zorder=0))
        ax.text(x - w / 2 - 0.3 if x == xe else x + w / 2 + 0.3, (y0 + y_top) / 2, labels[key_n],
                ha="right" if x == xe else "left", va="center", fontsize=13, fontweight="bold")
        _arrow(ax, x, y_embed + (h + 0.12) / 2, x, y0 - h / 2)
        for i, (text, colour) in enumerate(blocks):
            y = y0 + i * step
            _box(ax, x, y, w, h if colour != "norm" else h * 0.6, text, _COLOURS[colour],
                 fontsize=7.5 if colour != "norm" else 7.5)
            if i:
                _arrow(ax, x, y - step + h / 2 - (0.09 if blocks[i - 1][1] == "norm" else 0), x,
                       y - (h / 2 if colour != "norm" else h * 0.3))
        tops[x] = y_top
        if cfg.norm_first:  # pre-LN stacks end un-normalised: the model adds one LayerNorm after each stack
            y_final = y_top + step + 0.2
            _arrow(ax, x, y_top + h * 0.3, x, y_final - h * 0.3)
            _box(ax, x, y_final, w, h * 0.6, "final LayerNorm", _COLOURS["norm"], fontsize=7.5)
            tops[x] = y_final
    # memory -> every decoder layer's cross-attention
    i_cross = next(i for i, (t, _) in enumerate(dec) if t == labels["dec_cross"])
    y_cross = y_embed + 0.75 + i_cross * step
    ax.annotate("", xy=(xd - w / 2, y_cross), xytext=(xe + w / 2, tops[xe]),
                arrowprops=dict(arrowstyle="-|>", color="#b5542a", linewidth=1.4,
                                connectionstyle="angle3,angleA=0,angleB=90"))
    ax.text((xe + xd) / 2 - 0.2, tops[xe] + 0.55, "memory (B, S, d_model)\nto every decoder layer", ha="center",
            fontsize=7.5, color="#b5542a")
    # output head
    y_out = tops[xd] + 0.8
    _arrow(ax, xd, tops[xd] + h * 0.3, xd, y_out - h / 2)
    _box(ax, xd, y_out, w, h, labels["out"], _COLOURS["out"])
    ax.text(xd, y_out + 0.45, labels["probs"], ha="center", fontsize=8.5, style="italic")
    ax.text(xe, tops[xe] + 1.25, f"d_model = {cfg.d_model}, dropout = {cfg.dropout}\n{labels['norm']}",
            ha="center", fontsize=8, color="#333")
    ax.set_title(title or "Encoder (left) and decoder (right)", fontsize=11)
    return fig
