"""The encoder-decoder Transformer (chapter 06; the report's listing 4.6), its KV cache and factory.

Differences from the report's listing, each deliberate and small:

* the pad id is configurable (the report hard-codes 0);
* the target mask blocks pad *keys* (plus the future), (B, 1, T, T); the report blocks pad *queries*,
  which leaves whole rows masked. Both give identical logits at non-pad positions, the only ones the
  loss reads;
* ``encode`` / ``decode`` are separate methods, and ``decode`` takes an optional :class:`KVCache`;
* ``return_attention=True`` collects every layer's attention weights in bertviz's format;
* ``norm_first=True`` gives pre-LN layers plus a final LayerNorm after each stack;
* ``tie_embeddings=True`` shares one matrix between the encoder embedding, decoder embedding and
  output projection;
* ``copy_head=True`` adds a pointer-generator (:meth:`Transformer.project`): the output mixes the
  vocabulary softmax with a copy of the source tokens, weighted by the last layer's cross-attention.

Embedding scale: the report adds the positional encoding to the raw embedding (no sqrt(d_model)
factor), and we keep that for untied embeddings: ``nn.Embedding`` starts at N(0, 1), the same scale as
the sinusoids. Tied embeddings double as the output projection, so they start at N(0, 1/d_model)
(well-scaled logits) and are multiplied by sqrt(d_model) on the way in (unit-scale inputs again), as in
Vaswani et al. (2017).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .layers import DecoderLayer, EncoderLayer, LayerCache
from .positional import PositionalEncoding

__all__ = ["Transformer", "KVCache", "build_model", "causal_mask"]


def causal_mask(size: int, offset: int = 0, device: torch.device | str | None = None) -> torch.Tensor:
    """(size, offset + size) bool mask: query i (at position offset + i) may see keys 0 .. offset + i."""
    return torch.ones(size, offset + size, dtype=torch.bool, device=device).tril(diagonal=offset)


class KVCache:
    """Keys and values of every decoder layer, for incremental decoding (chapter 08).

    Self-attention keys/values grow by the new tokens at each ``decode`` call; cross-attention
    keys/values are computed from the encoder output on the first call and reused afterwards.
    """

    def __init__(self, num_layers: int):
        self.layers = [LayerCache() for _ in range(num_layers)]

    @property
    def length(self) -> int:
        """Number of target tokens already decoded (the position of the next token)."""
        k = self.layers[0].self_k if self.layers else None
        return 0 if k is None else k.size(2)

    def reorder(self, beam_indices: torch.Tensor) -> None:
        """Keep rows ``beam_indices`` (a (B',) long tensor) of every cached tensor; beam search calls
        this after choosing which hypotheses survive (rows may repeat)."""
        for layer in self.layers:
            for name in ("self_k", "self_v", "cross_k", "cross_v"):
                t = getattr(layer, name)
                if t is not None:
                    setattr(layer, name, t.index_select(0, beam_indices.to(t.device)))  # (B', H, L, d_k)


class Transformer(nn.Module):
    """The report's encoder-decoder Transformer (chapter 06, listing 4.6).

    Args (the report's, in its order):
        src_vocab_size, tgt_vocab_size: vocabulary sizes V.
        d_model: width D.  num_heads: heads H.  num_layers: encoder layers (= decoder layers).
        d_ff: feed-forward hidden width.  max_seq_length: longest source or target sequence.
        dropout: dropout probability.
    Keyword-only extensions:
        pad_id: padding token id (0 in the report).
        norm_first: pre-LN layers (False = the report's post-LN).
        tie_embeddings: share encoder/decoder embeddings and the output projection.
        copy_head: a pointer-generator head (see :meth:`project`).
        slots: the model reads slot-canonicalized requests (``codegen_lib.slots``); only recorded here.

    ``build_model(cfg)`` is the usual way to build one; it sets :attr:`config` with separate source and
    target limits. A plain constructor sets both limits to ``max_seq_length``.
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        d_model: int,
        num_heads: int,
        num_layers: int,
        d_ff: int,
        max_seq_length: int,
        dropout: float,
        *,
        pad_id: int = 0,
        norm_first: bool = False,
        tie_embeddings: bool = False,
        copy_head: bool = False,
        slots: bool = False,
    ):
        super().__init__()
        self.config = ModelConfig(
            src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, d_model=d_model,
            num_heads=num_heads, num_layers=num_layers, d_ff=d_ff, max_src_len=max_seq_length,
            max_tgt_len=max_seq_length, dropout=dropout, pad_id=pad_id, norm_first=norm_first,
            tie_embeddings=tie_embeddings, copy_head=copy_head, slots=slots,
        )  # validates every argument with a clear message
        self.pad_id = pad_id
        self.encoder_embedding = nn.Embedding(src_vocab_size, d_model)
        self.decoder_embedding = nn.Embedding(tgt_vocab_size, d_model)
        self.positional_encoding = PositionalEncoding(d_model, max_seq_length)
        self.encoder_layers = nn.ModuleList(
            [EncoderLayer(d_model, num_heads, d_ff, dropout, norm_first) for _ in range(num_layers)]
        )
        self.decoder_layers = nn.ModuleList(
            [DecoderLayer(d_model, num_heads, d_ff, dropout, norm_first) for _ in range(num_layers)]
        )
        # pre-LN stacks end un-normalised, so they get a final LayerNorm; post-LN ones already end in one
        self.encoder_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.decoder_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.fc = nn.Linear(d_model, tgt_vocab_size)  # D -> V logits
        # the copy head's gate: p_gen = sigmoid(copy_gate(h)), the share of the vocabulary distribution
        self.copy_gate = nn.Linear(d_model, 1) if copy_head else None
        self.dropout = nn.Dropout(dropout)
        self.embed_scale = 1.0
        if tie_embeddings:
            nn.init.normal_(self.decoder_embedding.weight, std=d_model**-0.5)
            self.encoder_embedding.weight = self.decoder_embedding.weight
            self.fc.weight = self.decoder_embedding.weight
            self.embed_scale = math.sqrt(d_model)

    @property
    def generator(self) -> nn.Linear:
        """The output projection D -> V (an alias of ``fc``, the report's name)."""
        return self.fc

    def set_fast_attention(self, enabled: bool = True) -> None:
        """Use the fused attention kernel (True) or force the teaching path everywhere (False)."""
        for module in self.modules():
            if hasattr(module, "fast_path"):
                module.fast_path = enabled

    def new_cache(self) -> KVCache:
        """An empty :class:`KVCache` for incremental decoding."""
        return KVCache(len(self.decoder_layers))

    def generate_mask(self, src: torch.Tensor, tgt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """src (B, S), tgt (B, T) -> src_mask (B, 1, 1, S), tgt_mask (B, 1, T, T); True = may attend."""
        src_mask = (src != self.pad_id).unsqueeze(1).unsqueeze(2)  # (B, 1, 1, S)
        tgt_keys = (tgt != self.pad_id).unsqueeze(1).unsqueeze(2)  # (B, 1, 1, T)
        nopeak = causal_mask(tgt.size(1), device=tgt.device)  # (T, T)
        return src_mask, tgt_keys & nopeak  # (B, 1, T, T)

    def _embed(self, embedding: nn.Embedding, ids: torch.Tensor, offset: int = 0) -> torch.Tensor:
        x = embedding(ids) * self.embed_scale if self.embed_scale != 1.0 else embedding(ids)  # (B, T, D)
        return self.dropout(self.positional_encoding(x, offset))  # (B, T, D)

    def encode(
        self, src: torch.Tensor, src_mask: torch.Tensor | None = None, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """src (B, S) ids -> memory (B, S, D). ``src_mask`` defaults to the padding mask (B, 1, 1, S).

        With ``return_attention`` also returns the encoder self-attention weights, one (B, H, S, S) per layer.
        """
        if src.size(1) > self.config.max_src_len:
            raise ValueError(
                f"source length {src.size(1)} exceeds max_src_len {self.config.max_src_len}; truncate the prompt"
            )
        if src_mask is None:
            src_mask = (src != self.pad_id).unsqueeze(1).unsqueeze(2)  # (B, 1, 1, S)
        x = self._embed(self.encoder_embedding, src)  # (B, S, D)
        weights = []
        for layer in self.encoder_layers:
            if return_attention:
                x, w = layer(x, src_mask, need_weights=True)  # (B, S, D), (B, H, S, S)
                weights.append(w)
            else:
                x = layer(x, src_mask)  # (B, S, D)
        x = self.encoder_norm(x)
        return (x, weights) if return_attention else x

    def _decoder_stack(self, tgt, memory, src_mask, tgt_mask, cache, weights: str):
        """The decoder layers; ``weights`` is "none", "last" (the last layer's, for the copy head) or "all"."""
        offset = cache.length if cache is not None else 0
        if offset + tgt.size(1) > self.config.max_tgt_len:
            raise ValueError(
                f"target length {offset + tgt.size(1)} exceeds max_tgt_len {self.config.max_tgt_len}"
            )
        if tgt_mask is None:
            if cache is None:
                tgt_keys = (tgt != self.pad_id).unsqueeze(1).unsqueeze(2)  # (B, 1, 1, T)
                tgt_mask = tgt_keys & causal_mask(tgt.size(1), device=tgt.device)  # (B, 1, T, T)
            elif tgt.size(1) > 1:
                tgt_mask = causal_mask(tgt.size(1), offset, device=tgt.device)  # (T, offset + T)
            # else: one new token may see every cached token, no mask needed
        x = self._embed(self.decoder_embedding, tgt, offset)  # (B, T, D)
        self_weights, cross_weights = [], []
        last = len(self.decoder_layers) - 1
        for i, layer in enumerate(self.decoder_layers):
            layer_cache = cache.layers[i] if cache is not None else None
            if weights == "all" or (weights == "last" and i == last):
                x, sw, cw = layer(x, memory, src_mask, tgt_mask, layer_cache, need_weights=True)
                self_weights.append(sw)  # (B, H, T, T)
                cross_weights.append(cw)  # (B, H, T, S)
            else:
                x = layer(x, memory, src_mask, tgt_mask, layer_cache)  # (B, T, D)
        return self.decoder_norm(x), self_weights, cross_weights

    def decode(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        src_mask: torch.Tensor | None,
        tgt_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """tgt (B, T) ids, memory (B, S, D) -> hidden states (B, T, D); :meth:`project` gives the scores.

        ``tgt_mask`` defaults to causal + target padding. With a ``cache``, ``tgt`` holds only the new
        tokens; their positions continue from ``cache.length`` and the cache is updated in place.
        With ``return_attention`` also returns per-layer self- (B, H, T, T) and cross- (B, H, T, S) weights.
        """
        x, self_w, cross_w = self._decoder_stack(tgt, memory, src_mask, tgt_mask, cache,
                                                 "all" if return_attention else "none")
        return (x, self_w, cross_w) if return_attention else x

    def project(
        self, hidden: torch.Tensor, src: torch.Tensor | None = None, cross: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Decoder states (B, T, D) -> next-token scores (B, T, V) (chapter 06).

        Without the copy head these are the logits ``fc(hidden)``. With it (a pointer-generator, See et
        al. 2017) they are the log-probabilities of the mixture

            p(w) = p_gen * softmax(fc(h))[w] + (1 - p_gen) * sum of cross[s] over source positions s with src[s] == w

        where ``p_gen = sigmoid(copy_gate(h))`` (B, T, 1) and ``cross`` (B, T, S) is the last decoder
        layer's cross-attention averaged over heads. ``softmax`` and ``log_softmax`` of either kind of score
        give the same distribution, so the loss and every decoder treat both alike.
        """
        logits = self.fc(hidden)  # (B, T, D) @ (D, V) -> (B, T, V)
        if self.copy_gate is None:
            return logits
        if src is None or cross is None:
            raise ValueError("a copy-head model needs the source ids and the cross-attention to score tokens")
        # Only the columns of tokens that occur in the source differ from p_gen * p_vocab, so the mixture is
        # computed there, on (B, T, S), and written into log(p_gen * p_vocab): two passes over (B, T, V)
        # instead of eight, which on a CPU is most of the copy head's cost.
        log_p_vocab = torch.log_softmax(logits.float(), dim=-1)  # (B, T, V)
        log_p_gen = F.logsigmoid(self.copy_gate(hidden).float())  # (B, T, 1)
        index = src.unsqueeze(1).expand(-1, cross.size(1), -1)  # (B, S) -> (B, T, S)
        same = (src.unsqueeze(2) == src.unsqueeze(1)).float()  # (B, S, S): positions holding the same id
        p_copy = cross.float() @ same  # (B, T, S) @ (B, S, S) -> (B, T, S): copy mass of each position's token
        base = log_p_vocab + log_p_gen  # (B, T, V): log(p_gen * p_vocab), right for tokens not in the source
        log_vocab_at = log_p_vocab.gather(-1, index)  # (B, T, S): log p_vocab of each source position's token
        p_gen = log_p_gen.exp()  # (B, T, 1)
        mixed_at = p_gen * log_vocab_at.exp() + (1.0 - p_gen) * p_copy  # (B, T, S): the mixture there
        first = (same.tril(-1).sum(-1) == 0).unsqueeze(1)  # (B, 1, S): a token's first source position
        delta = (mixed_at.clamp_min(1e-12).log() - log_vocab_at - log_p_gen) * first  # (B, T, S); 0 at repeats
        return base.scatter_add(-1, index, delta)  # (B, T, V) log-probabilities; the clamp keeps -inf out

    def decode_scores(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        src: torch.Tensor,
        src_mask: torch.Tensor | None,
        tgt_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """:meth:`decode` then :meth:`project`: tgt (B, T), memory (B, S, D), src (B, S) -> scores (B, T, V).

        The decoders of chapter 08 call this at every step; with the copy head it also asks the last
        decoder layer for its cross-attention weights.
        """
        if self.copy_gate is None:
            return self.project(self.decode(tgt, memory, src_mask, tgt_mask, cache))  # (B, T, V) logits
        hidden, _, cross_w = self._decoder_stack(tgt, memory, src_mask, tgt_mask, cache, "last")
        return self.project(hidden, src, cross_w[-1].mean(dim=1))  # (B, H, T, S) -> (B, T, S)

    def forward(
        self, src: torch.Tensor, tgt: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, list[torch.Tensor]]]:
        """src (B, S), tgt (B, T) -> scores (B, T, V): logits, or log-probabilities with the copy head.

        With ``return_attention=True`` returns ``(scores, {"encoder": [...], "decoder": [...], "cross": [...]})``,
        one tensor per layer of shape (B, H, T_q, T_k) -- the format bertviz's ``model_view`` takes.
        """
        src_mask, tgt_mask = self.generate_mask(src, tgt)
        if not return_attention:
            memory = self.encode(src, src_mask)  # (B, S, D)
            return self.decode_scores(tgt, memory, src, src_mask, tgt_mask)  # (B, T, V)
        memory, enc_w = self.encode(src, src_mask, return_attention=True)
        hidden, dec_w, cross_w = self.decode(tgt, memory, src_mask, tgt_mask, return_attention=True)
        scores = self.project(hidden, src, cross_w[-1].mean(dim=1))  # (B, T, V)
        return scores, {"encoder": enc_w, "decoder": dec_w, "cross": cross_w}


def build_model(cfg: ModelConfig) -> Transformer:
    """The :class:`Transformer` described by ``cfg`` (chapter 06).

    The positional table covers ``max(cfg.max_src_len, cfg.max_tgt_len)`` positions; ``encode`` and
    ``decode`` check each side's own limit.
    """
    model = Transformer(
        cfg.src_vocab_size, cfg.tgt_vocab_size, cfg.d_model, cfg.num_heads, cfg.num_layers, cfg.d_ff,
        cfg.max_seq_length, cfg.dropout, pad_id=cfg.pad_id, norm_first=cfg.norm_first,
        tie_embeddings=cfg.tie_embeddings, copy_head=cfg.copy_head, slots=cfg.slots,
    )
    model.config = ModelConfig.from_dict(cfg.to_dict())  # a copy: later edits to cfg don't leak in
    return model
