"""codegen_lib.viz.widgets: ipywidgets render their first view eagerly and redraw on a change."""


import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from viz_fixtures import FakeModel, FakeTokenizer, png_of, random_attention, sinusoid  # noqa: E402

from codegen_lib import viz  # noqa: E402


def test_attention_widget_renders_eagerly_and_redraws():
    rng = np.random.default_rng(3)
    att = random_attention(rng, b=2, h=2, s=4, t=5)
    att = {k: [torch.tensor(a) for a in v] for k, v in att.items()}
    src = [list("ab"), list("abcd")]
    tgt = [list("vwx"), list("vwxyz")]
    box = viz.attention_widget(att, src, tgt)
    view = box.view
    first = png_of(view.output)
    assert view.kind.value == "cross" and view.example.value == 0
    w, q, k = view.current()
    np.testing.assert_allclose(w, att["cross"][0][0, 0, :3, :2].numpy())
    view.example.value = 1
    view.kind.value = "encoder"
    view.layer.value = 1
    view.head.value = -1  # mean over heads
    w, q, k = view.current()
    np.testing.assert_allclose(w, att["encoder"][1][1].numpy().mean(0), rtol=1e-6)
    assert q == k == list("abcd")
    assert png_of(view.output) != first
    assert view.example in box.children[0].children  # the example dropdown is shown for B > 1
    with pytest.raises(ValueError, match="tgt_tokens has 4 tokens"):
        viz.attention_widget(att, list("abcd"), list("vwxy"))


def test_attention_widget_single_example_hides_example_dropdown():
    att = random_attention(np.random.default_rng(4), b=1)
    box = viz.attention_widget(att, list("abcd"), list("vwxyz"))
    assert box.view.example not in box.children[0].children
    png_of(box.view.output)


# -------------------------------------------------------------------------------------- chapter 10


def test_attention_explorer_with_given_codes_and_with_generation():
    tok = FakeTokenizer()
    model = FakeModel()
    model.train()
    prompts = ["add two numbers", "reverse a string s"]
    codes = ["def add(a, b):\n    return a + b", "def rev(s):\n    return s[::-1]"]
    pairs = viz.explain_pairs(model, tok, prompts, codes)
    assert model.training and all(not training for *_, training in model.calls)  # eval during, restored
    for p, (src, tgt, _) in zip(pairs, model.calls):
        assert p["src_tokens"] == [viz.SPECIAL_TOKENS.get(i) or tok.decode([i]) for i in src[0].tolist()]
        assert p["tgt_tokens"][0] == "<bos>" and len(p["tgt_tokens"]) == tgt.shape[1]
        s, t = len(p["src_tokens"]), len(p["tgt_tokens"])
        assert p["attentions"]["cross"][0].shape == (1, 3, t, s)
    box = viz.attention_explorer(model, tok, prompts, codes)
    outputs = box.view.output.outputs
    assert "add two numbers" in outputs[0]["data"]["text/html"]
    png_of(box.view.output)
    box.view.example.value = 1
    assert "reverse a string" in box.view.output.outputs[0]["data"]["text/html"]

    seen = {}

    def fake_generate(m, t, ps, max_new_tokens):
        seen["prompts"] = list(ps)
        return ["return 1" for _ in ps]

    pairs = viz.explain_pairs(model, tok, "one prompt", generate_fn=fake_generate)
    assert seen["prompts"] == ["one prompt"] and pairs[0]["code"] == "return 1"
    with pytest.raises(ValueError, match="2 prompts but 1 codes"):
        viz.explain_pairs(model, tok, prompts, codes[:1])


# -------------------------------------------------------------------------------------- chapter 03


def test_positional_encoding_widget_redraws_with_new_d_model():
    calls = []

    def factory(d_model, length):
        calls.append((d_model, length))
        return torch.tensor(sinusoid(length, d_model))

    box = viz.positional_encoding_widget(d_model=16, positions=(0, 40), pe_factory=factory)
    first = png_of(box.output)
    assert calls == [(16, 40)]
    box.d_model.value = 64
    assert calls[-1] == (64, 40) and png_of(box.output) != first
    box.positions.value = (10, 20)
    assert calls[-1] == (64, 20)


def test_positional_encoding_widget_with_the_library_module():
    from codegen_lib import positional

    box = viz.positional_encoding_widget(d_model=16, positions=(0, 20))
    png_of(box.output)
    fig = viz.plot_positional_encoding(positional.PositionalEncoding(16, 20))
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), sinusoid(20, 16)[0], atol=1e-5)


# -------------------------------------------------------------------------------------- chapter 02
