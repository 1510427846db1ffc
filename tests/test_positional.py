"""Sinusoidal positional encoding (chapter 03, listing 4.1)."""

import math

import pytest
import torch

from codegen_lib.positional import PositionalEncoding


@pytest.mark.parametrize("d_model", [16, 7])
def test_values_equal_the_formula(d_model):
    pe = PositionalEncoding(d_model, 50).pe[0]  # (L, D)
    for pos in (0, 1, 13, 49):
        for j in range(d_model):
            i = j // 2
            angle = pos / 10000 ** (2 * i / d_model)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert pe[pos, j].item() == pytest.approx(expected, abs=1e-5), (pos, j)


def test_entries_are_unit_scale():
    pe = PositionalEncoding(64, 300).pe[0]
    assert pe.abs().max() <= 1.0 + 1e-6
    # each (sin, cos) pair lies on the unit circle, so every position has norm sqrt(D / 2)
    norms = pe.norm(dim=-1)
    assert torch.allclose(norms, torch.full_like(norms, math.sqrt(32)), atol=1e-4)
    # and positions differ
    assert not torch.allclose(pe[3], pe[4])


def test_buffer_not_parameter():
    module = PositionalEncoding(8, 20)
    assert module.pe.shape == (1, 20, 8)
    assert list(module.parameters()) == []
    assert "pe" in dict(module.named_buffers()) and "pe" in module.state_dict()
    assert not module.pe.requires_grad


def test_forward_adds_the_table_with_offset():
    module = PositionalEncoding(8, 20)
    x = torch.randn(2, 5, 8)
    assert torch.equal(module(x), x + module.pe[:, :5])
    assert torch.equal(module(x, offset=3), x + module.pe[:, 3:8])


def test_too_long_raises_naming_both_lengths():
    module = PositionalEncoding(8, 20)
    with pytest.raises(ValueError, match=r"sequence length 21 .*max_seq_length 20"):
        module(torch.zeros(1, 21, 8))
    with pytest.raises(ValueError, match=r"sequence length 22 .*max_seq_length 20"):
        module(torch.zeros(1, 2, 8), offset=20)
