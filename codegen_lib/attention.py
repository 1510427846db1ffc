"""Scaled dot-product and multi-head attention (chapter 04; the report's listing 4.2).

Two paths compute the same numbers:

* the *teaching path* (:func:`attention`) writes the softmax out, so it can return the attention
  weights (B, H, T, S) that the book's heatmaps and bertviz draw;
* the *fast path* (:func:`fast_attention`) calls ``torch.nn.functional.scaled_dot_product_attention``,
  which picks a fused kernel (flash / memory-efficient on GPU, a fused kernel on CPU) and never
  materialises the weights. :class:`MultiHeadAttention` uses it whenever weights are not requested.

Mask convention (as in the report): ``mask == 0`` / ``False`` blocks a key, ``1`` / ``True`` lets a query
see it. Masks broadcast against the scores (B, H, T, S): (B, 1, 1, S) for source padding,
(B, 1, T, T) for causal + target padding. A query whose keys are all blocked gets all-zero weights and a
zero output in both paths (a plain softmax over ``-inf`` would give NaN).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MultiHeadAttention", "attention", "fast_attention"]

# Since torch 2.5, F.scaled_dot_product_attention returns zeros for fully masked rows (forward and
# backward). Older versions return NaN there, so we patch those rows ourselves.
_TORCH_VERSION = tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2])
_SDPA_ZEROES_MASKED_ROWS = _TORCH_VERSION >= (2, 5)


def _as_bool_mask(mask: torch.Tensor | None) -> torch.Tensor | None:
    if mask is None or mask.dtype == torch.bool:
        return mask
    return mask != 0


def attention(
    Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Teaching path: softmax(Q K^T / sqrt(d_k)) V, written out (chapter 04).

    Args:
        Q: (B, H, T, d_k) queries.  K: (B, H, S, d_k) keys.  V: (B, H, S, d_k) values.
        mask: broadcastable to (B, H, T, S); 0/False blocks a key.

    Returns:
        output (B, H, T, d_k) and the attention weights (B, H, T, S); every row of the weights sums to 1,
        except a fully masked row, which is all zeros.
    """
    d_k = Q.size(-1)
    scores = torch.matmul(Q, K.transpose(-2, -1)) / math.sqrt(d_k)  # (B, H, T, d_k) @ (B, H, d_k, S)
    mask = _as_bool_mask(mask)
    if mask is not None:
        # the report fills with -1e9; the dtype's lowest value also works in float16/bfloat16
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)  # (B, H, T, S)
    weights = torch.softmax(scores, dim=-1)  # (B, H, T, S)
    if mask is not None:
        # exact zeros on blocked keys; a row with every key blocked becomes all zeros instead of uniform
        weights = weights.masked_fill(~mask, 0.0)
    output = torch.matmul(weights, V)  # (B, H, T, S) @ (B, H, S, d_k) -> (B, H, T, d_k)
    return output, weights


def fast_attention(
    Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Fast path: the same result as :func:`attention` through PyTorch's fused kernel; no weights.

    Shapes as in :func:`attention`; returns (B, H, T, d_k).
    """
    mask = _as_bool_mask(mask)
    if mask is None or _SDPA_ZEROES_MASKED_ROWS:
        return F.scaled_dot_product_attention(Q, K, V, attn_mask=mask)  # (B, H, T, d_k)
    # older torch: let fully masked rows see everything (no NaN in forward or backward), then zero them
    visible = mask.any(dim=-1, keepdim=True)  # (B, 1|H, T, 1)
    output = F.scaled_dot_product_attention(Q, K, V, attn_mask=mask | ~visible)  # (B, H, T, d_k)
    return output.masked_fill(~visible, 0.0)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with the report's names (chapter 04, listing 4.2).

    Args:
        d_model: model width D; must be divisible by ``num_heads``.
        num_heads: number of heads H; each head has d_k = D // H dimensions.

    Attributes:
        W_q, W_k, W_v, W_o: the query, key, value and output projections, each ``nn.Linear(D, D)``.
        fast_path: when True (default) and weights are not requested, use :func:`fast_attention`;
            set it to False to force the teaching path (the benchmark does).
    """

    def __init__(self, d_model: int, num_heads: int):
        super().__init__()
        if num_heads < 1 or d_model % num_heads != 0:
            raise ValueError(
                f"d_model ({d_model}) must be divisible by num_heads ({num_heads}) "
                "so that every head gets d_k = d_model // num_heads dimensions"
            )
        self.d_model = d_model  # model width
        self.num_heads = num_heads  # number of heads
        self.d_k = d_model // num_heads  # width of each head's query, key and value
        self.W_q = nn.Linear(d_model, d_model)  # query projection
        self.W_k = nn.Linear(d_model, d_model)  # key projection
        self.W_v = nn.Linear(d_model, d_model)  # value projection
        self.W_o = nn.Linear(d_model, d_model)  # output projection
        self.fast_path = True

    def scaled_dot_product_attention(
        self, Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The report's method: per-head attention (B, H, T, d_k) -> (B, H, T, d_k), teaching path."""
        return attention(Q, K, V, mask)[0]

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, H, T, d_k)."""
        batch_size, seq_length, _ = x.size()
        return x.view(batch_size, seq_length, self.num_heads, self.d_k).transpose(1, 2)  # (B, H, T, d_k)

    def combine_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, T, d_k) -> (B, T, D)."""
        batch_size, _, seq_length, _ = x.size()
        return x.transpose(1, 2).contiguous().view(batch_size, seq_length, self.d_model)  # (B, T, D)

    def project_kv(self, K: torch.Tensor, V: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Project and split keys and values: (B, S, D) -> two (B, H, S, d_k). A KV cache stores these."""
        return self.split_heads(self.W_k(K)), self.split_heads(self.W_v(V))

    def attend(
        self,
        Q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Attention of queries Q (B, T, D) over already projected heads k, v (B, H, S, d_k).

        Returns (B, T, D), or ((B, T, D), weights (B, H, T, S)) when ``need_weights``.
        """
        q = self.split_heads(self.W_q(Q))  # (B, H, T, d_k)
        if need_weights or not self.fast_path:
            heads, weights = attention(q, k, v, mask)  # (B, H, T, d_k), (B, H, T, S)
        else:
            heads, weights = fast_attention(q, k, v, mask), None
        output = self.W_o(self.combine_heads(heads))  # (B, T, D)
        return (output, weights) if need_weights else output

    def forward(
        self,
        Q: torch.Tensor,
        K: torch.Tensor,
        V: torch.Tensor,
        mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Q: (B, T, D), K and V: (B, S, D), mask broadcastable to (B, H, T, S) -> (B, T, D).

        With ``need_weights=True`` returns (output, weights (B, H, T, S)) through the teaching path.
        """
        k, v = self.project_kv(K, V)  # (B, H, S, d_k) each
        return self.attend(Q, k, v, mask, need_weights)
