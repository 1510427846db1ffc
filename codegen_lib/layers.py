"""Feed-forward network, encoder layer and decoder layer (chapter 05; the report's listings 4.3-4.5).

Both layers follow the report's post-LN flow by default, ``x = norm(x + dropout(sublayer(x)))``.
``norm_first=True`` switches to pre-LN, ``x = x + dropout(sublayer(norm(x)))``, which trains more
stably in deep stacks (the model then adds a final LayerNorm after each stack).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .attention import MultiHeadAttention

__all__ = ["PositionWiseFeedForward", "EncoderLayer", "DecoderLayer", "LayerCache"]


class PositionWiseFeedForward(nn.Module):
    """fc2(relu(fc1(x))), applied to every position independently (chapter 05, listing 4.3).

    Args:
        d_model: input and output width D.  d_ff: hidden width.
    Shapes: (B, T, D) -> (B, T, D).
    """

    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)  # D -> d_ff
        self.fc2 = nn.Linear(d_ff, d_model)  # d_ff -> D
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu(self.fc1(x)))  # (B, T, D) -> (B, T, d_ff) -> (B, T, D)


class EncoderLayer(nn.Module):
    """Self-attention then feed-forward, each with residual + LayerNorm (chapter 05, listing 4.4).

    Args:
        d_model, num_heads, d_ff, dropout: as in the report.
        norm_first: False (default) = post-LN as in the report; True = pre-LN.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float, norm_first: bool = False):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.feed_forward = PositionWiseFeedForward(d_model, d_ff)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, need_weights: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x: (B, S, D), mask: (B, 1, 1, S) -> (B, S, D); with ``need_weights`` also (B, H, S, S)."""
        if self.norm_first:
            h = self.norm1(x)
            attn_output, weights = self._attn(h, mask, need_weights)
            x = x + self.dropout(attn_output)
            x = x + self.dropout(self.feed_forward(self.norm2(x)))
        else:  # the report's flow
            attn_output, weights = self._attn(x, mask, need_weights)
            x = self.norm1(x + self.dropout(attn_output))
            ff_output = self.feed_forward(x)
            x = self.norm2(x + self.dropout(ff_output))
        return (x, weights) if need_weights else x

    def _attn(self, h, mask, need_weights):
        if need_weights:
            return self.self_attn(h, h, h, mask, need_weights=True)
        return self.self_attn(h, h, h, mask), None


@dataclass
class LayerCache:
    """One decoder layer's key/value cache (chapter 08). Heads are (B, H, L, d_k)."""

    self_k: torch.Tensor | None = None  # keys of every target token decoded so far
    self_v: torch.Tensor | None = None
    cross_k: torch.Tensor | None = None  # keys of the encoder output, computed once per source
    cross_v: torch.Tensor | None = None


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention, feed-forward; residual + LayerNorm (chapter 05, listing 4.5).

    Args:
        d_model, num_heads, d_ff, dropout: as in the report.
        norm_first: False (default) = post-LN as in the report; True = pre-LN.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float, norm_first: bool = False):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.cross_attn = MultiHeadAttention(d_model, num_heads)
        self.feed_forward = PositionWiseFeedForward(d_model, d_ff)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(
        self,
        x: torch.Tensor,
        enc_output: torch.Tensor,
        src_mask: torch.Tensor | None,
        tgt_mask: torch.Tensor | None,
        cache: LayerCache | None = None,
        need_weights: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (B, T, D), enc_output: (B, S, D), src_mask (B, 1, 1, S), tgt_mask (B, 1, T, T) -> (B, T, D).

        With a ``cache``, x holds only the new tokens; their keys/values are appended to the cache and
        ``tgt_mask`` must cover (T, cached + T) or be None (a single new token sees everything cached).
        With ``need_weights`` also returns self-attention (B, H, T, T) and cross-attention (B, H, T, S) weights.
        """
        if self.norm_first:
            h = self.norm1(x)
            attn_output, self_w = self._self_attention(h, tgt_mask, cache, need_weights)
            x = x + self.dropout(attn_output)
            h = self.norm2(x)
            attn_output, cross_w = self._cross_attention(h, enc_output, src_mask, cache, need_weights)
            x = x + self.dropout(attn_output)
            x = x + self.dropout(self.feed_forward(self.norm3(x)))
        else:  # the report's flow
            attn_output, self_w = self._self_attention(x, tgt_mask, cache, need_weights)
            x = self.norm1(x + self.dropout(attn_output))
            attn_output, cross_w = self._cross_attention(x, enc_output, src_mask, cache, need_weights)
            x = self.norm2(x + self.dropout(attn_output))
            ff_output = self.feed_forward(x)
            x = self.norm3(x + self.dropout(ff_output))
        return (x, self_w, cross_w) if need_weights else x

    def _self_attention(self, h, tgt_mask, cache, need_weights):
        k, v = self.self_attn.project_kv(h, h)  # (B, H, T, d_k) each
        if cache is not None:
            if cache.self_k is not None:  # append the new tokens' keys/values to the cached ones
                k = torch.cat([cache.self_k, k], dim=2)  # (B, H, L + T, d_k)
                v = torch.cat([cache.self_v, v], dim=2)
            cache.self_k, cache.self_v = k, v
        out = self.self_attn.attend(h, k, v, tgt_mask, need_weights)
        return out if need_weights else (out, None)

    def _cross_attention(self, h, enc_output, src_mask, cache, need_weights):
        if cache is not None and cache.cross_k is not None:
            k, v = cache.cross_k, cache.cross_v  # the source's keys/values, projected once
        else:
            k, v = self.cross_attn.project_kv(enc_output, enc_output)  # (B, H, S, d_k) each
            if cache is not None:
                cache.cross_k, cache.cross_v = k, v
        out = self.cross_attn.attend(h, k, v, src_mask, need_weights)
        return out if need_weights else (out, None)
