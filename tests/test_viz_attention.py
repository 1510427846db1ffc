"""codegen_lib.viz.attention: heatmaps hold the weights they were given, labels match tokens (chapters 04, 10)."""


import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from viz_fixtures import png_of, random_attention, ticklabels  # noqa: E402

from codegen_lib import viz  # noqa: E402


def test_plot_attention_holds_the_weights_and_token_labels():
    w = np.random.default_rng(0).random((3, 4))
    q, k = ["def", "add", "("], ["add", "two", "$x$", " numbers"]
    fig = viz.plot_attention(torch.tensor(w), q, k, title="cross")
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # heatmap + colorbar
    np.testing.assert_allclose(ax.images[0].get_array(), w, rtol=1e-6)
    assert ticklabels(ax, "y") == q
    assert ticklabels(ax, "x") == ["add", "two", "$x$", "␣numbers"]  # '$' stays literal, space made visible
    assert ax.get_title() == "cross"
    fig2 = viz.plot_attention(w[None, None], colorbar=False)
    assert len(fig2.axes) == 1 and ticklabels(fig2.axes[0]) == ["0", "1", "2", "3"]


def test_plot_attention_rejects_mismatched_tokens():
    w = np.ones((3, 4)) / 4
    with pytest.raises(ValueError, match="key_tokens has 3 tokens .* 4"):
        viz.plot_attention(w, ["a", "b", "c"], ["a", "b", "c"])
    with pytest.raises(ValueError, match="query_tokens"):
        viz.plot_attention(w, ["a"], ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="2 dimensions"):
        viz.plot_attention(np.ones((2, 3, 4)))


def test_plot_attention_draws_into_a_given_axes():
    fig, axes = viz.new_figure(1, 2)
    out = viz.plot_attention(np.eye(2), ["a", "b"], ["a", "b"], ax=axes[1], colorbar=False)
    assert out is fig and len(axes[1].images) == 1 and len(axes[0].images) == 0


def test_plot_mask_causal_and_padding():
    t = 4
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))[None, None]  # (1, 1, T, T)
    fig = viz.plot_mask(causal, list("abcd"), list("abcd"))
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), np.tril(np.ones((t, t))))
    pad = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)[:, None, None, :]  # (B, 1, 1, S)
    fig = viz.plot_mask(pad, ["q0", "q1"], list("abcde"), example=0)
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), [[1, 1, 1, 0, 0]] * 2)
    fig = viz.plot_mask(pad, example=1)
    assert fig.axes[0].images[0].get_array().shape == (5, 5)
    with pytest.raises(ValueError, match="out of range"):
        viz.plot_mask(pad, example=2)
    with pytest.raises(ValueError, match="key_tokens"):
        viz.plot_mask(pad, ["q"], list("abc"))


def test_plot_heads_one_axes_per_head():
    w = np.random.default_rng(1).random((1, 3, 2, 5))  # (B, H, T_q, T_k)
    fig = viz.plot_heads(w, ["x", "y"], list("abcde"), ncols=2)
    assert len(fig.axes) == 3
    for h, ax in enumerate(fig.axes):
        np.testing.assert_allclose(ax.images[0].get_array(), w[0, h])
        assert ax.get_title() == f"head {h}"
    assert ticklabels(fig.axes[0], "y") == ["x", "y"] and ticklabels(fig.axes[1], "y") == []
    with pytest.raises(ValueError, match="query_tokens"):
        viz.plot_heads(w, ["x"], list("abcde"))


def test_select_attention_kinds_heads_and_padding_crop():
    rng = np.random.default_rng(2)
    att = random_attention(rng, b=2, h=2, s=4, t=5)
    src, tgt = list("abcd"), list("vwxyz")
    w, q, k = viz.select_attention(att, src, tgt, kind="cross", layer=1, head=1, example=1)
    np.testing.assert_allclose(w, att["cross"][1][1, 1])
    assert (q, k) == (tgt, src)
    w, q, k = viz.select_attention(att, src, tgt, kind="encoder", layer=0, head=None)
    np.testing.assert_allclose(w, att["encoder"][0][0].mean(0))
    assert q == k == src
    # per-example token lists (padded batch): weights cropped to the real tokens
    w, q, k = viz.select_attention(att, [list("ab"), src], [list("vwx"), tgt], kind="cross", example=0)
    assert w.shape == (3, 2) and q == list("vwx")
    with pytest.raises(ValueError, match="src_tokens has 3 tokens"):
        viz.select_attention(att, list("abc"), tgt, kind="cross")
    with pytest.raises(ValueError, match="layer 5 out of range"):
        viz.select_attention(att, src, tgt, layer=5)
    with pytest.raises(ValueError, match="head 9 out of range"):
        viz.select_attention(att, src, tgt, head=9)
    with pytest.raises(ValueError, match="unknown attention kinds"):
        viz.select_attention({"cros": att["cross"]}, src, tgt)


def test_attention_grid_layers_by_heads():
    att = random_attention(np.random.default_rng(5), b=1, h=3, layers=2)
    fig = viz.attention_grid(att, list("abcd"), list("vwxyz"), kind="cross", layers=[1], heads=[0, 2])
    assert len(fig.axes) == 2
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), att["cross"][1][0, 2])
    assert ticklabels(fig.axes[0], "x") == list("abcd") and ticklabels(fig.axes[0], "y") == list("vwxyz")
    fig = viz.attention_grid(att, list("abcd"), list("vwxyz"), kind="decoder")
    assert len(fig.axes) == 2 * 3
    with pytest.raises(ValueError, match="not available"):
        viz.attention_grid({"cross": att["cross"]}, list("abcd"), list("vwxyz"), kind="encoder")


def test_top_attended_matches_argmax():
    rng = np.random.default_rng(6)
    w = rng.random((5, 7))
    src, tgt = [f"p{i}" for i in range(7)], [f"c{i}" for i in range(5)]
    table = viz.top_attended(w, src, tgt, k=3)
    for t in range(5):
        order = sorted(range(7), key=lambda j: -w[t, j])
        assert table.loc[t, "prompt_token_1"] == src[int(np.argmax(w[t]))]
        assert [table.loc[t, f"prompt_position_{i}"] for i in (1, 2, 3)] == order[:3]
        assert table.loc[t, "weight_1"] == pytest.approx(w[t].max(), abs=1e-4)
    assert list(table["code_token"]) == tgt
    heads = rng.random((2, 5, 7))
    mean_table = viz.top_attended(heads, src, tgt, k=10)  # k capped at S
    assert "prompt_token_7" in mean_table and "prompt_token_8" not in mean_table
    assert list(mean_table["prompt_position_1"]) == list(heads.mean(0).argmax(1))
    with pytest.raises(ValueError, match="src_tokens has 6 tokens"):
        viz.top_attended(w, src[:6], tgt)
    with pytest.raises(ValueError, match="k must be"):
        viz.top_attended(w, src, tgt, k=0)


def test_figures_are_not_left_open_in_pyplot():
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    for _ in range(3):
        viz.plot_attention(np.eye(3))
        viz.plot_heads(np.ones((2, 3, 3)) / 3)
    assert len(plt.get_fignums()) == before


# ------------------------------------------------------------------------- integration with the library
def test_with_the_real_model_and_tokenizer_when_available():
    from codegen_lib import model as model_mod
    from codegen_lib import tokenizer as tok_mod

    texts = ["def add(a, b):\n    return a + b", "add two numbers", "def sub(a, b):\n    return a - b"] * 5
    tok = tok_mod.train_tokenizer(texts, vocab_size=300, min_frequency=1)
    torch.manual_seed(0)
    model = model_mod.Transformer(tok.vocab_size, tok.vocab_size, d_model=16, num_heads=2, num_layers=2, d_ff=32,
                                  max_seq_length=64, dropout=0.0)
    box = viz.attention_explorer(model, tok, ["add two numbers"], ["def add(a, b):\n    return a + b"])
    png_of(box.view.output)
    pair = viz.explain_pairs(model, tok, ["add two numbers"], ["return a + b"])[0]
    w, q, k = viz.select_attention(pair["attentions"], pair["src_tokens"], pair["tgt_tokens"], kind="cross")
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    table = viz.token_table(tok, "def add(a, b):")
    assert tok.decode(table["id"].tolist()) == "def add(a, b):"
