"""Scaled dot-product and multi-head attention (chapter 04, listing 4.2)."""

import pytest
import torch
from torch import nn

from codegen_lib.attention import MultiHeadAttention, attention, fast_attention

B, T, S, D, H = 2, 5, 7, 16, 4


@pytest.fixture
def mha():
    torch.manual_seed(0)
    return MultiHeadAttention(D, H)


def padding_mask():
    lengths = torch.tensor([7, 4])
    return (torch.arange(S)[None] < lengths[:, None]).unsqueeze(1).unsqueeze(2)  # (B, 1, 1, S)


def causal_padding_mask():
    keys = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)[:, None, None, :]
    return keys & torch.ones(T, T, dtype=torch.bool).tril()  # (B, 1, T, T)


def test_bad_head_count_raises():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        MultiHeadAttention(10, 4)


def test_split_and_combine_heads_are_inverse(mha):
    x = torch.randn(B, T, D)
    heads = mha.split_heads(x)
    assert heads.shape == (B, H, T, D // H)
    assert torch.equal(heads[:, 1], x[..., 4:8])  # head 1 holds features 4..7
    assert torch.equal(mha.combine_heads(heads), x)


def test_rows_sum_to_one_and_masked_keys_get_zero_weight(mha):
    q, kv = torch.randn(B, T, D), torch.randn(B, S, D)
    mask = padding_mask()
    out, w = mha(q, kv, kv, mask, need_weights=True)
    assert out.shape == (B, T, D) and w.shape == (B, H, T, S)
    assert torch.allclose(w.sum(-1), torch.ones(B, H, T), atol=1e-6)
    assert torch.all(w[1, :, :, 4:] == 0)
    assert torch.all(w[1, :, :, :4] > 0)
    # and the values at masked keys really do not matter
    kv2 = kv.clone()
    kv2[1, 4:] = 100.0
    assert torch.allclose(mha(q, kv2, kv2, mask), out, atol=1e-6)


@pytest.mark.parametrize("mask_kind", ["none", "padding", "causal"])
def test_teaching_path_equals_fast_path(mha, mask_kind):
    q = torch.randn(B, T, D)
    kv = q if mask_kind == "causal" else torch.randn(B, S, D)
    mask = {"none": None, "padding": padding_mask(), "causal": causal_padding_mask()}[mask_kind]
    fast = mha(q, kv, kv, mask)
    mha.fast_path = False
    teaching = mha(q, kv, kv, mask)
    with_weights, _ = mha(q, kv, kv, mask, need_weights=True)
    assert torch.allclose(fast, teaching, atol=1e-5)
    assert torch.allclose(teaching, with_weights, atol=1e-6)
    # the functions themselves, per head
    qh, kh, vh = torch.randn(B, H, T, 4), torch.randn(B, H, S, 4), torch.randn(B, H, S, 4)
    m = None if mask_kind == "none" else padding_mask()
    assert torch.allclose(attention(qh, kh, vh, m)[0], fast_attention(qh, kh, vh, m), atol=1e-5)
    assert torch.equal(mha.scaled_dot_product_attention(qh, kh, vh, m), attention(qh, kh, vh, m)[0])


@pytest.mark.parametrize("masked", [False, True])
def test_matches_torch_multihead_attention_with_copied_weights(mha, masked):
    ref = nn.MultiheadAttention(D, H, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([mha.W_q.weight, mha.W_k.weight, mha.W_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([mha.W_q.bias, mha.W_k.bias, mha.W_v.bias]))
        ref.out_proj.weight.copy_(mha.W_o.weight)
        ref.out_proj.bias.copy_(mha.W_o.bias)
    q, kv = torch.randn(B, T, D), torch.randn(B, S, D)
    mask = padding_mask() if masked else None
    # torch's attn_mask uses the opposite convention (True = blocked) and wants (B * H, T, S)
    torch_mask = None if mask is None else (~mask).expand(B, H, T, S).reshape(B * H, T, S)
    ref_out, ref_w = ref(q, kv, kv, attn_mask=torch_mask, need_weights=True, average_attn_weights=False)
    out, w = mha(q, kv, kv, mask, need_weights=True)
    assert torch.allclose(out, ref_out, atol=1e-5)
    assert torch.allclose(w, ref_w, atol=1e-6)
    assert torch.allclose(mha(q, kv, kv, mask), ref_out, atol=1e-5)  # fast path too


@pytest.mark.parametrize("sdpa_zeroes_rows", [True, False])  # False exercises the path for torch < 2.5
def test_fully_masked_row_gives_zeros_not_nan(mha, monkeypatch, sdpa_zeroes_rows):
    import codegen_lib.attention as attention_module

    monkeypatch.setattr(attention_module, "_SDPA_ZEROES_MASKED_ROWS", sdpa_zeroes_rows)
    qh, kh, vh = (torch.randn(1, H, 3, 4, requires_grad=True) for _ in range(3))
    mask = torch.ones(1, 1, 3, 3, dtype=torch.bool)
    mask[..., 1, :] = False  # query 1 may see nothing
    out_t, w = attention(qh, kh, vh, mask)
    out_f = fast_attention(qh, kh, vh, mask)
    for out in (out_t, out_f):
        assert not torch.isnan(out).any()
        assert torch.all(out[:, :, 1] == 0)
    assert torch.all(w[:, :, 1] == 0)
    assert torch.allclose(w[:, :, [0, 2]].sum(-1), torch.ones(1, H, 2))
    assert torch.allclose(out_t, out_f, atol=1e-5)
    (out_t.sum() + out_f.sum()).backward()
    assert all(not torch.isnan(t.grad).any() for t in (qh, kh, vh))
    # and through the module, both paths
    x = torch.randn(1, 3, D)
    fast = mha(x, x, x, mask)
    mha.fast_path = False
    assert not torch.isnan(fast).any() and torch.allclose(fast, mha(x, x, x, mask), atol=1e-5)


def test_integer_masks_work_like_bool_masks(mha):
    q, kv = torch.randn(B, T, D), torch.randn(B, S, D)
    mask = padding_mask()
    assert torch.allclose(mha(q, kv, kv, mask.long()), mha(q, kv, kv, mask), atol=1e-6)
    mha.fast_path = False
    assert torch.allclose(mha(q, kv, kv, mask.float()), mha(q, kv, kv, mask), atol=1e-6)
