"""trace_attention: the hand computation from its q, k, v and mask gives the model's own weights."""

from __future__ import annotations

import math

import pytest
import torch

from codegen_lib.attention_trace import trace_attention
from codegen_lib.config import ModelConfig
from codegen_lib.model import build_model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = ModelConfig.preset("tiny", src_vocab_size=50, tgt_vocab_size=50, dropout=0.0)
    return build_model(cfg).eval()


def by_hand(t: dict) -> tuple[torch.Tensor, torch.Tensor]:
    scores = t["q"] @ t["k"].T / math.sqrt(t["d_k"])  # (T_q, d_k) @ (d_k, T_k) -> (T_q, T_k)
    weights = scores.masked_fill(~t["mask"], float("-inf")).softmax(dim=-1)  # (T_q, T_k)
    return weights, weights @ t["v"]  # (T_q, T_k) @ (T_k, d_k) -> (T_q, d_k)


@pytest.mark.parametrize("kind", ["encoder", "decoder", "cross"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_hand_computation_equals_the_models_weights(kind, norm_first):
    torch.manual_seed(1)
    cfg = ModelConfig.preset("tiny", src_vocab_size=50, tgt_vocab_size=50, dropout=0.0, norm_first=norm_first)
    m = build_model(cfg).eval()
    src = torch.tensor([[5, 6, 7, 8, 2]])  # (1, S)
    tgt = torch.tensor([[1, 9, 10, 11]])  # (1, T)
    for layer in range(cfg.num_layers):
        for head in range(cfg.num_heads):
            t = trace_attention(m, src, tgt, kind=kind, layer=layer, head=head)
            weights, context = by_hand(t)
            assert torch.allclose(weights, t["weights"], atol=1e-6)
            assert torch.allclose(context, t["context"], atol=1e-5)
            rows = {"encoder": src.size(1), "decoder": tgt.size(1), "cross": tgt.size(1)}[kind]
            assert t["q"].shape == (rows, m.config.d_model // m.config.num_heads)


def test_decoder_mask_is_causal_and_weights_respect_it(model):
    src, tgt = torch.tensor([[5, 6, 2]]), torch.tensor([[1, 9, 10, 11, 12]])
    t = trace_attention(model, src, tgt, kind="decoder", layer=0, head=1)
    assert torch.equal(t["mask"], torch.ones(5, 5, dtype=torch.bool).tril())
    assert t["weights"].triu(diagonal=1).abs().max() == 0


def test_heads_differ_and_hooks_are_removed(model):
    src, tgt = torch.tensor([[5, 6, 2]]), torch.tensor([[1, 9, 10]])
    a = trace_attention(model, src, tgt, kind="cross", head=0)
    b = trace_attention(model, src, tgt, kind="cross", head=1)
    assert not torch.allclose(a["q"], b["q"])
    for mod in model.modules():
        assert not mod._forward_hooks


def test_rejects_bad_arguments(model):
    src, tgt = torch.tensor([[5, 2]]), torch.tensor([[1, 9]])
    with pytest.raises(ValueError, match="kind"):
        trace_attention(model, src, tgt, kind="self")
    with pytest.raises(ValueError, match="head"):
        trace_attention(model, src, tgt, head=model.config.num_heads)
    with pytest.raises(ValueError, match=r"\(1, S\)"):
        trace_attention(model, src.repeat(2, 1), tgt.repeat(2, 1))
