"""Feed-forward network, encoder and decoder layers (chapter 05, listings 4.3-4.5)."""

import pytest
import torch

from codegen_lib.layers import DecoderLayer, EncoderLayer, LayerCache, PositionWiseFeedForward

B, S, T, D, H, F = 2, 6, 5, 16, 4, 32


def src_mask():
    return torch.tensor([[1] * 6, [1] * 4 + [0] * 2], dtype=torch.bool)[:, None, None, :]  # (B, 1, 1, S)


def tgt_mask():
    return torch.ones(T, T, dtype=torch.bool).tril().expand(B, 1, T, T)  # (B, 1, T, T)


def test_feed_forward_is_fc2_relu_fc1():
    torch.manual_seed(0)
    ff = PositionWiseFeedForward(D, F)
    x = torch.randn(B, T, D)
    assert ff.fc1.out_features == F and ff.fc2.out_features == D
    expected = x @ ff.fc1.weight.T + ff.fc1.bias
    expected = expected.clamp(min=0) @ ff.fc2.weight.T + ff.fc2.bias
    assert torch.allclose(ff(x), expected, atol=1e-6)
    # position-wise: each position is transformed independently
    assert torch.allclose(ff(x[:, 2:3]), ff(x)[:, 2:3], atol=1e-6)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_follows_the_flow(norm_first):
    torch.manual_seed(0)
    layer = EncoderLayer(D, H, F, dropout=0.1, norm_first=norm_first).eval()
    x, m = torch.randn(B, S, D), src_mask()
    sa, ff = layer.self_attn, layer.feed_forward
    if norm_first:
        h = layer.norm1(x)
        y = x + sa(h, h, h, m)
        expected = y + ff(layer.norm2(y))
    else:  # the report: x = norm1(x + attn(x)); x = norm2(x + ff(x))
        y = layer.norm1(x + sa(x, x, x, m))
        expected = layer.norm2(y + ff(y))
    assert torch.allclose(layer(x, m), expected, atol=1e-5)
    out, w = layer(x, m, need_weights=True)
    assert torch.allclose(out, expected, atol=1e-5) and w.shape == (B, H, S, S)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_follows_the_flow(norm_first):
    torch.manual_seed(0)
    layer = DecoderLayer(D, H, F, dropout=0.1, norm_first=norm_first).eval()
    x, mem = torch.randn(B, T, D), torch.randn(B, S, D)
    sm, tm = src_mask(), tgt_mask()
    sa, ca, ff = layer.self_attn, layer.cross_attn, layer.feed_forward
    if norm_first:
        h = layer.norm1(x)
        y = x + sa(h, h, h, tm)
        y = y + ca(layer.norm2(y), mem, mem, sm)
        expected = y + ff(layer.norm3(y))
    else:  # the report's listing 4.5
        y = layer.norm1(x + sa(x, x, x, tm))
        y = layer.norm2(y + ca(y, mem, mem, sm))
        expected = layer.norm3(y + ff(y))
    assert torch.allclose(layer(x, mem, sm, tm), expected, atol=1e-5)
    out, self_w, cross_w = layer(x, mem, sm, tm, need_weights=True)
    assert torch.allclose(out, expected, atol=1e-5)
    assert self_w.shape == (B, H, T, T) and cross_w.shape == (B, H, T, S)
    assert torch.all(self_w.triu(1) == 0)  # no weight on the future
    assert torch.all(cross_w[1, ..., 4:] == 0)  # no weight on source padding


def test_dropout_is_active_in_training_only():
    torch.manual_seed(0)
    layer = EncoderLayer(D, H, F, dropout=0.5)
    x = torch.randn(B, S, D)
    assert not torch.allclose(layer(x, None), layer(x, None))
    layer.eval()
    assert torch.equal(layer(x, None), layer(x, None))


def test_decoder_layer_with_cache_matches_full_pass():
    torch.manual_seed(0)
    layer = DecoderLayer(D, H, F, dropout=0.1).eval()
    x, mem, sm = torch.randn(B, T, D), torch.randn(B, S, D), src_mask()
    full = layer(x, mem, sm, tgt_mask())
    cache = LayerCache()
    steps = [layer(x[:, t : t + 1], mem, sm, None, cache) for t in range(T)]
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5)
    assert cache.self_k.shape == (B, H, T, D // H) and cache.cross_k.shape == (B, H, S, D // H)
    # cross-attention keys were computed once: the cached tensor is reused, not recomputed
    cross_k = cache.cross_k
    layer(x[:, :1], mem * 0, sm, None, cache)  # a different memory is ignored once the cache holds one
    assert cache.cross_k is cross_k
