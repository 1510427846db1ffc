"""ipywidgets views for readers with a running kernel (chapters 02, 03, 04 and 10).

Each widget computes its first output eagerly and stores it in the widget state (as a PNG inside an
``Output`` widget, or as an ``HTML`` value), so a book built without a live kernel still shows that first view.
Changing a control redraws only when a kernel is running; :mod:`codegen_lib.viz.html` has the attention view
that responds in the browser with no kernel.

    02 tokenization          tokenizer_widget
    03 positional encoding   positional_encoding_widget
    04 attention             attention_widget
    10 attention explorer    attention_explorer
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from codegen_lib.viz._common import (
    ATTENTION_KINDS,
    _set_output_figure,
)
from codegen_lib.viz.attention import (
    _is_nested,
    _kind_title,
    _normalise_attentions,
    explain_pairs,
    plot_attention,
    select_attention,
)
from codegen_lib.viz.positional import plot_positional_encoding
from codegen_lib.viz.tokens import token_html


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
        # the controls wrap onto a second line on a narrow page instead of running off it
        row = widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([row, self.output])
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
