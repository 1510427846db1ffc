"""Fakes and helpers shared by the tests of codegen_lib.viz (tests/test_viz_*.py)."""

import re

import numpy as np
import torch


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
