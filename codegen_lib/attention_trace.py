"""One attention head of a real model, caught in the act: its queries, keys, values and mask (chapters 04, 10).

Chapter 04 follows one token through attention by hand -- ``q . k`` for every key, divided by ``sqrt(d_k)``,
the mask, the softmax, the weighted sum of the values -- on the trained model, and checks the result against
the weights the model itself returns. :func:`trace_attention` supplies the inputs of that hand computation:
it runs one ordinary forward pass with ``return_attention=True`` and, through forward hooks on the head's
projections ``W_q``, ``W_k``, ``W_v`` and ``W_o`` (attributes of :class:`~codegen_lib.attention.MultiHeadAttention`),
records what went in and out of them. Nothing in the model changes; the hooks are removed afterwards.
"""

from __future__ import annotations

import torch

__all__ = ["KINDS", "trace_attention"]

KINDS = ("encoder", "decoder", "cross")  # the keys of model(..., return_attention=True)'s dict


def trace_attention(model, src: torch.Tensor, tgt: torch.Tensor, *, kind: str = "decoder", layer: int = -1,
                    head: int = 0) -> dict:
    """The inputs and outputs of one attention head for one (prompt, code) pair (chapters 04 and 10).

    Args:
        model: a :class:`~codegen_lib.model.Transformer` (its ``encoder_layers`` / ``decoder_layers`` hold
            ``self_attn`` and, in the decoder, ``cross_attn`` modules).
        src: (1, S) prompt ids, ending with ``<eos>``.  tgt: (1, T) decoder input ids, ``<bos>`` first.
        kind: ``"encoder"`` (prompt over prompt), ``"decoder"`` (code over earlier code) or ``"cross"``
            (code over prompt).
        layer: index into the encoder or decoder layers (negative counts from the end).
        head: which head, ``0 <= head < num_heads``.

    Returns:
        dict with ``q`` (T_q, d_k) the head's queries, ``k`` and ``v`` (T_k, d_k) its keys and values,
        ``mask`` (T_q, T_k) bool (True = may attend), ``weights`` (T_q, T_k) the attention weights the model
        returned, ``context`` (T_q, d_k) the head's output (its slice of what ``W_o`` received), and
        ``d_k``, ``kind``, ``layer`` (non-negative), ``head``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if src.dim() != 2 or tgt.dim() != 2 or src.size(0) != 1 or tgt.size(0) != 1:
        raise ValueError(f"src and tgt must be (1, S) and (1, T) id tensors, got {tuple(src.shape)}, "
                         f"{tuple(tgt.shape)}")
    layers = model.encoder_layers if kind == "encoder" else model.decoder_layers
    layer = layer % len(layers)
    mha = layers[layer].cross_attn if kind == "cross" else layers[layer].self_attn
    if not 0 <= head < mha.num_heads:
        raise ValueError(f"head must be in [0, {mha.num_heads}), got {head}")
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def keep(name):
        def hook(_module, inputs, output):
            seen[name] = (inputs[0].detach(), output.detach())  # (1, L, D) each

        return hook

    handles = [getattr(mha, n).register_forward_hook(keep(n)) for n in ("W_q", "W_k", "W_v", "W_o")]
    try:
        with torch.no_grad():
            _, att = model(src, tgt, return_attention=True)
    finally:
        for h in handles:
            h.remove()

    def one_head(x: torch.Tensor) -> torch.Tensor:
        """(1, L, D) -> (L, d_k): the columns of ``head`` (split_heads' layout)."""
        return x[0].view(x.size(1), mha.num_heads, mha.d_k)[:, head]  # (L, H, d_k) -> (L, d_k)

    q = one_head(seen["W_q"][1])  # (T_q, d_k)
    k = one_head(seen["W_k"][1])  # (T_k, d_k)
    v = one_head(seen["W_v"][1])  # (T_k, d_k)
    src_mask, tgt_mask = model.generate_mask(src, tgt)  # (1, 1, 1, S), (1, 1, T, T)
    if kind == "decoder":
        mask = tgt_mask[0, 0]  # (T, T)
    else:
        mask = src_mask[0, 0].expand(q.size(0), k.size(0))  # (1, S) -> (T_q, S)
    return {
        "q": q, "k": k, "v": v, "mask": mask,
        "weights": att[kind][layer][0, head],  # (T_q, T_k)
        "context": one_head(seen["W_o"][0]),  # (T_q, d_k)
        "d_k": mha.d_k, "kind": kind, "layer": layer, "head": head,
    }
