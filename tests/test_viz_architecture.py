"""codegen_lib.viz.architecture: the encoder-decoder figure is drawn from, and stays true to, the config."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from codegen_lib.config import ModelConfig  # noqa: E402
from codegen_lib.viz import architecture_labels, plot_architecture  # noqa: E402


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


@pytest.mark.parametrize("preset", ["seed", "tiny", "small"])
def test_every_number_on_the_figure_comes_from_the_config(preset):
    cfg = ModelConfig.preset(preset)
    text = "\n".join(_texts(plot_architecture(cfg)))
    assert text.count(f"× {cfg.num_layers}") == 2  # one repeat count per stack
    assert f"{cfg.num_heads} heads, d_k = {cfg.d_model // cfg.num_heads}" in text
    assert f"{cfg.d_model} → {cfg.d_ff} → {cfg.d_model}" in text
    assert f"{cfg.tgt_vocab_size:,}" in text and f"≤ {cfg.max_src_len}" in text and f"≤ {cfg.max_tgt_len}" in text
    assert f"d_model = {cfg.d_model}" in text


def test_norm_placement_follows_the_config():
    post = _texts(plot_architecture(ModelConfig.preset("seed", norm_first=False)))
    pre = _texts(plot_architecture(ModelConfig.preset("seed", norm_first=True)))
    # post-LN: one "Add & LayerNorm" per sublayer (2 in the encoder, 3 in the decoder), no final norm
    assert post.count("Add & LayerNorm") == 5 and "final LayerNorm" not in post
    # pre-LN: a LayerNorm before each sublayer, a plain residual add after it, and a final norm per stack
    assert pre.count("LayerNorm") == 5 and pre.count("Add (residual)") == 5 and pre.count("final LayerNorm") == 2


def test_a_changed_config_changes_the_figure():
    a = architecture_labels(ModelConfig.preset("seed"))
    b = architecture_labels(ModelConfig.preset("seed", num_layers=3, num_heads=4))
    assert a["enc_n"] == "× 6" and b["enc_n"] == "× 3"
    assert "d_k = 16" in a["enc_attn"] and "d_k = 32" in b["enc_attn"]
