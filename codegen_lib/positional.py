"""Sinusoidal positional encoding (chapter 03; the report's listing 4.1).

    PE(pos, 2i)     = sin(pos / 10000^(2i / d_model))
    PE(pos, 2i + 1) = cos(pos / 10000^(2i / d_model))
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["PositionalEncoding", "sinusoidal_table"]


def sinusoidal_table(max_seq_length: int, d_model: int) -> torch.Tensor:
    """The (max_seq_length, d_model) table: sin on even feature indices, cos on odd ones."""
    pe = torch.zeros(max_seq_length, d_model)  # (L, D)
    position = torch.arange(0, max_seq_length, dtype=torch.float).unsqueeze(1)  # (L, 1)
    div_term = torch.exp(torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model))  # (ceil(D/2),)
    pe[:, 0::2] = torch.sin(position * div_term)  # (L, ceil(D/2))
    pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])  # (L, floor(D/2)); odd d_model safe
    return pe


class PositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal encoding of each position to token vectors (chapter 03, listing 4.1).

    Args:
        d_model: width of the token vectors.
        max_seq_length: longest sequence the table covers.

    The table is a buffer ``pe`` of shape (1, max_seq_length, d_model): it moves with ``.to(device)`` and
    is saved in the state dict, but it is not a parameter and is never trained.
    """

    def __init__(self, d_model: int, max_seq_length: int):
        super().__init__()
        if d_model < 1 or max_seq_length < 1:
            raise ValueError(f"d_model and max_seq_length must be positive, got {d_model}, {max_seq_length}")
        self.d_model = d_model
        self.max_seq_length = max_seq_length
        self.register_buffer("pe", sinusoidal_table(max_seq_length, d_model).unsqueeze(0))  # (1, L, D)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """x: (B, T, D) -> x + PE[offset : offset + T]  (B, T, D).

        ``offset`` is the position of x's first token; incremental decoding with a KV cache passes the
        number of tokens already decoded.
        """
        seq_len = x.size(1)
        if offset + seq_len > self.max_seq_length:
            raise ValueError(
                f"sequence length {offset + seq_len} exceeds the positional encoding's "
                f"max_seq_length {self.max_seq_length}; truncate the input or build a longer table"
            )
        return x + self.pe[:, offset : offset + seq_len]  # (B, T, D) + (1, T, D)
