"""codegen_lib.viz: figures hold the data they were given, labels match tokens, widgets render eagerly."""

import json
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from codegen_lib import viz  # noqa: E402


# ----------------------------------------------------------------------------------------------- fakes
class FakeTokenizer:
    """Words, punctuation and whitespace runs as tokens; ids assigned on first sight (specials 0..3)."""

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self):
        self.vocab = {"<pad>": 0, "<bos>": 1, "<eos>": 2, "<unk>": 3}

    @property
    def vocab_size(self):
        return len(self.vocab)

    def tokens(self, text):
        return re.findall(r"\s+|\w+|[^\w\s]", text)

    def encode(self, text):
        return [self.vocab.setdefault(t, len(self.vocab)) for t in self.tokens(text)]

    def decode(self, ids, skip_special_tokens=True):
        inv = {i: t for t, i in self.vocab.items()}
        return "".join(inv[i] for i in ids if not (skip_special_tokens and i < 4))


class FakeModel(torch.nn.Module):
    """Returns random row-stochastic attention in bertviz's format: 2 layers, 3 heads."""

    def __init__(self, layers=2, heads=3):
        super().__init__()
        self.proj = torch.nn.Linear(2, 2)
        self.layers, self.heads = layers, heads
        self.calls = []

    def _att(self, b, q, k, gen):
        return torch.softmax(torch.randn(b, self.heads, q, k, generator=gen), dim=-1)

    def forward(self, src, tgt, return_attention=False):
        self.calls.append((src.clone(), tgt.clone(), self.training))
        gen = torch.Generator().manual_seed(0)
        b, s = src.shape
        t = tgt.shape[1]
        logits = torch.zeros(b, t, 10)
        att = {"encoder": [self._att(b, s, s, gen) for _ in range(self.layers)],
               "decoder": [self._att(b, t, t, gen) for _ in range(self.layers)],
               "cross": [self._att(b, t, s, gen) for _ in range(self.layers)]}
        return (logits, att) if return_attention else logits


def sinusoid(length, d_model):
    pos = np.arange(length)[:, None]
    div = np.exp(np.arange(0, d_model, 2) * (-np.log(10000.0) / d_model))
    pe = np.zeros((length, d_model))
    pe[:, 0::2] = np.sin(pos * div)
    pe[:, 1::2] = np.cos(pos * div)
    return pe[None]  # (1, L, D)


def random_attention(rng, b=1, h=2, s=4, t=5, layers=2):
    def att(q, k):
        w = rng.random((b, h, q, k))
        return w / w.sum(-1, keepdims=True)

    return {"encoder": [att(s, s) for _ in range(layers)], "decoder": [att(t, t) for _ in range(layers)],
            "cross": [att(t, s) for _ in range(layers)]}


def ticklabels(ax, axis="x"):
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [lab.get_text() for lab in labels]


def png_of(output_widget):
    assert len(output_widget.outputs) >= 1
    data = output_widget.outputs[-1]["data"]
    assert "image/png" in data and len(data["image/png"]) > 1000
    return data["image/png"]


# -------------------------------------------------------------------------------------- chapter 04
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
    fig, axes = viz._new_figure(1, 2)
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
def test_plot_positional_encoding_heatmap_equals_table():
    pe = sinusoid(50, 16)
    fig = viz.plot_positional_encoding(torch.tensor(pe), max_pos=30, min_pos=10)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), pe[0, 10:30], rtol=1e-6)
    assert len(fig.axes) == 2

    class Module:  # anything with a `pe` buffer, like PositionalEncoding
        def __init__(self):
            self.pe = torch.tensor(pe)

    assert viz.plot_positional_encoding(Module()).axes[0].images[0].get_array().shape == (50, 16)
    with pytest.raises(ValueError, match="max_pos"):
        viz.plot_positional_encoding(pe, max_pos=60)


def test_pe_dot_product_depends_only_on_distance():
    pe = sinusoid(80, 32)
    curves = viz.pe_dot_by_distance(pe, ref_positions=(0, 10, 30), max_offset=40)
    np.testing.assert_allclose(curves[0], curves[10], atol=1e-9)
    np.testing.assert_allclose(curves[0], curves[30], atol=1e-9)
    assert curves[0][0] == pytest.approx(16.0)  # sin^2 + cos^2 summed over D/2 frequencies
    fig = viz.plot_pe_similarity(pe, ref_positions=(0, 10), max_offset=40)
    assert len(fig.axes) == 3  # matrix, its colorbar, curves
    line = fig.axes[1].lines[1] if len(fig.axes[1].lines) > 1 else fig.axes[2].lines[1]
    np.testing.assert_allclose(line.get_ydata(), [pe[0, 10] @ pe[0, 10 + k] for k in range(41)])
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), pe[0] @ pe[0].T)
    with pytest.raises(ValueError, match="outside the table"):
        viz.pe_dot_by_distance(pe, ref_positions=(100,))


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
    positional = pytest.importorskip("codegen_lib.positional")
    box = viz.positional_encoding_widget(d_model=16, positions=(0, 20))
    png_of(box.output)
    fig = viz.plot_positional_encoding(positional.PositionalEncoding(16, 20))
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), sinusoid(20, 16)[0], atol=1e-5)


# -------------------------------------------------------------------------------------- chapter 02
def test_token_table_and_widget():
    tok = FakeTokenizer()
    text = "def f(x):\n    return x"
    table = viz.token_table(tok, text)
    assert list(table.columns) == ["position", "token", "shown", "id", "text"]
    assert table["id"].tolist() == tok.encode(text)
    assert "".join(table["token"]) == text and "".join(table["text"]) == text
    assert "↵␣␣␣␣" in table["shown"].tolist()
    box = viz.tokenizer_widget(tok, text)
    first = box.view.value
    assert f"<b>{len(table)}</b> tokens" in first
    assert all(f">{i}</span>" in first for i in table["id"])
    box.textarea.value = "print('<hi>')"
    new = box.view.value
    assert new != first and ">&lt;</span>" in new and "<hi" not in new  # HTML-escaped

    class Broken(FakeTokenizer):
        def encode(self, text):
            return super().encode(text) + [self.unk_id]

    with pytest.raises(ValueError, match="align"):
        viz.token_table(Broken(), text)


# -------------------------------------------------------------------------------------- chapter 01
def test_plot_length_distributions_dataframe_with_tokens():
    df = pd.DataFrame({"prompt": ["a b c", "a", "a b c d e f", "x y"],
                       "code": ["x = 1", "y = 2\nz = 3", "pass", "return 1"],
                       "split": ["train", "train", "test", "test"]})
    tok = FakeTokenizer()
    fig = viz.plot_length_distributions(df, tokenizer=tok, max_tokens={"prompt": 4}, max_chars=5)
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["prompt length (chars)", "code length (chars)", "prompt length (tokens)",
                      "code length (tokens)"]
    token_prompt_ax = fig.axes[2]
    assert [ln.get_xdata()[0] for ln in token_prompt_ax.lines] == [4]
    longer = np.mean([len(tok.encode(p)) > 4 for p in df["prompt"]])  # "a b c" (5), "a b c d e f" (11)
    assert f"{longer:.1%} longer" in token_prompt_ax.texts[0].get_text()
    assert not fig.axes[3].lines  # no token limit given for code
    assert fig.axes[0].get_legend() is not None  # one hue per split


def test_plot_length_distributions_nested_mapping_and_errors():
    data = {"tasks": {"train": {"prompt": ["a", "bb"], "code": ["c", "dd"]},
                      "test": [{"prompt": "eee", "code": "f"}]},
            "xlcost": pd.DataFrame({"prompt": ["g"], "code": ["hhhh"]})}
    fig = viz.plot_length_distributions(data, columns=("code",))
    assert len(fig.axes) == 1
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["tasks/train", "tasks/test", "xlcost"]
    with pytest.raises(ValueError, match="columns \\['missing'\\] not found"):
        viz.plot_length_distributions(data, columns=("missing",))


# -------------------------------------------------------------------------------------- chapter 07
class ObjState:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_live_loss_plot_records_and_is_silent_outside_notebooks():
    cb = viz.LiveLossPlot(every=1, min_interval_s=0)
    for step in range(1, 5):
        cb.on_step_end({"step": step, "loss": torch.tensor(5.0 - step), "lr": 1e-3 * step, "epoch": 0})
    cb.on_epoch_end(ObjState(step=4, loss=1.0, lr=4e-3, epoch=0, val_loss=2.5))
    cb.on_train_end({"step": 4, "epoch": 0, "val_loss": 2.5})  # the same evaluation again: not duplicated
    cb.on_step_end(ObjState(step=5, loss=0.5, lr=None, epoch=1, val_loss=None))
    h = cb.history()
    assert h["step"] == [1, 2, 3, 4, 5] and h["loss"] == [4.0, 3.0, 2.0, 1.0, 0.5]
    assert h["lr"][:2] == [1e-3, 2e-3] and h["lr"][-1] is None
    assert h["val_step"] == [4] and h["val_loss"] == [2.5] and h["val_epoch"] == [0]
    assert cb.draws == 0  # no kernel: nothing displayed
    fig = cb.figure()
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), h["loss"])
    with pytest.raises(ValueError, match="every"):
        viz.LiveLossPlot(every=0)


def test_live_loss_plot_updates_one_display_in_a_notebook(monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj))

    monkeypatch.setattr(viz, "_in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display",
                        lambda obj, display_id=False: shown.append(("display", obj)) or Handle())
    cb = viz.LiveLossPlot(every=2, min_interval_s=0)
    for step in range(1, 6):
        cb.on_step_end({"step": step, "loss": 1.0 / step})
    cb.on_train_end({"step": 5})
    assert [kind for kind, _ in shown] == ["display", "update", "update"]  # steps 2, 4, end
    assert cb.draws == 3 and isinstance(shown[-1][1], matplotlib.figure.Figure)


def test_plot_history_formats_and_side_by_side(tmp_path):
    shipped = {"step": [1, 2, 3, 4], "loss": [4.0, 3.0, 2.5, 2.0], "epoch": [1, 2], "val_loss": [3.2, 2.8]}
    (tmp_path / "history.json").write_text(json.dumps(shipped))
    s = viz.history_series(tmp_path)  # a checkpoint directory
    np.testing.assert_allclose(s["val_step"], [2, 4])  # epochs placed proportionally along the steps
    records = {"train": [{"step": i, "loss": 3.0 - i / 10, "epoch": i // 3} for i in range(1, 7)],
               "val": [{"epoch": 0, "val_loss": 2.9}, {"epoch": 1, "val_loss": 2.7}]}
    s = viz.history_series(records)
    np.testing.assert_allclose(s["val_step"], [2, 5])  # last step of each epoch
    live = viz.LiveLossPlot()
    live.on_step_end({"step": 1, "loss": 3.0, "val_loss": 3.5})
    fig = viz.plot_history(live, other=tmp_path / "history.json", labels=("live", "shipped"))
    assert len(fig.axes) == 2 and [ax.get_title() for ax in fig.axes] == ["live", "shipped"]
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), shipped["loss"])
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), shipped["val_loss"])
    smoothed = viz.plot_history(shipped, smooth=0.5)
    assert len(smoothed.axes[0].lines) == 3  # raw, smoothed, validation
    with pytest.raises(ValueError, match="no training losses"):
        viz.history_series({"val_loss": [1.0]})
    with pytest.raises(ValueError, match="no history file"):
        viz.history_series(tmp_path / "nope")


def test_figures_are_not_left_open_in_pyplot():
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    for _ in range(3):
        viz.plot_attention(np.eye(3))
        viz.plot_heads(np.ones((2, 3, 3)) / 3)
    assert len(plt.get_fignums()) == before


# ------------------------------------------------------------------------- integration with the library
def test_with_the_real_model_and_tokenizer_when_available():
    model_mod = pytest.importorskip("codegen_lib.model")
    tok_mod = pytest.importorskip("codegen_lib.tokenizer")
    if not hasattr(tok_mod, "train_tokenizer") or not hasattr(model_mod, "Transformer"):
        pytest.skip("model or tokenizer not implemented yet")
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


def test_plot_history_reads_the_trainer_format():
    """codegen_lib.train's history.json: step records, epoch records and mid-epoch evaluations (step_val)."""
    history = {"format_version": 1,
               "steps": [{"step": i, "epoch": (i - 1) // 3, "loss": 4.0 - i / 3, "lr": 1e-3} for i in range(1, 7)],
               "epochs": [{"epoch": 0, "step": 3, "train_loss": 3.5, "val_loss": 3.6},
                          {"epoch": 1, "step": 6, "train_loss": 2.5, "val_loss": 2.7}],
               "step_val": [{"step": 2, "val_loss": 3.9}, {"step": 4, "val_loss": 3.1}]}
    s = viz.history_series(history)
    np.testing.assert_allclose(s["loss"], [4.0 - i / 3 for i in range(1, 7)])
    np.testing.assert_allclose(s["val_step"], [2, 3, 4, 6])
    np.testing.assert_allclose(s["val_loss"], [3.9, 3.6, 3.1, 2.7])
    cb = viz.LiveLossPlot()
    cb.on_step_end({"step": 2, "epoch": 0, "loss": 3.3, "lr": 1e-3, "history": {"step_val": history["step_val"][:1]}})
    assert cb.history()["val_loss"] == [3.9]


def test_live_loss_plot_as_a_trainer_callback(tmp_path):
    train_mod = pytest.importorskip("codegen_lib.train")
    config_mod = pytest.importorskip("codegen_lib.config")
    tok_mod = pytest.importorskip("codegen_lib.tokenizer")
    rows = [{"prompt": f"add {i} to x", "code": f"def f(x):\n    return x + {i}\n"} for i in range(16)]
    tok = tok_mod.train_tokenizer([r[k] for r in rows for k in ("prompt", "code")], vocab_size=300)
    mcfg = config_mod.ModelConfig.preset("tiny", src_vocab_size=tok.vocab_size, tgt_vocab_size=tok.vocab_size,
                                         max_src_len=16, max_tgt_len=24)
    tcfg = train_mod.TrainConfig.preset("tiny", max_steps=4, epochs=2, eval_every=3, progress=False)
    cb = viz.LiveLossPlot()
    history = train_mod.train(mcfg, tcfg, tok, rows[:12], rows[12:], tmp_path / "run", callbacks=[cb])
    rec = cb.history()
    assert rec["step"] == [s["step"] for s in history["steps"]]
    np.testing.assert_allclose(rec["loss"], [s["loss"] for s in history["steps"]])
    expected_val = sorted({(v["step"], v["val_loss"]) for v in history["step_val"] + history["epochs"]
                           if v["val_loss"] is not None})
    assert list(zip(rec["val_step"], rec["val_loss"])) == expected_val
    s = viz.history_series(tmp_path / "run")
    np.testing.assert_allclose(s["loss"], rec["loss"])
    assert list(zip(s["val_step"], s["val_loss"])) == expected_val
