"""Decoding: greedy, beam search, sampling, a no-repeat-n-gram guard and the KV cache (chapter 08).

Tensor-level functions take source ids (B, S) and return generated ids (B, L): ``<bos>`` stripped,
``<eos>`` kept where the model produced it, ``pad_id`` after it. :func:`generate` wraps them for text.

Every strategy runs on a :class:`Stepper`, which hides one choice only: with ``use_cache=True`` each step
feeds the decoder just the newest token and reuses the cached keys/values; with ``use_cache=False`` it
recomputes the whole prefix (the way the report's inference loop works). Both give the same tokens.

The model never emits ``<pad>`` or ``<bos>`` (their logits are set to -inf): a generated pad would be
indistinguishable from padding.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .model import Transformer, causal_mask
from .slots import canonicalize_request, restore

__all__ = ["generate", "greedy_decode", "beam_search", "sample", "Stepper", "STRATEGIES", "banned_ngram_tokens"]

STRATEGIES = ("greedy", "beam", "sample")


class Stepper:
    """Next-token logits for a batch of growing prefixes, with or without a KV cache (chapter 08).

    Args:
        model: a :class:`~codegen_lib.model.Transformer` (put it in ``eval()`` mode first).
        src: (B, S) source ids, padded with the model's pad id.
        use_cache: reuse keys/values of earlier steps (True) or recompute the full prefix (False).
        slot_ids: the tokenizer's slot-token ids (``tokenizer.slot_ids``); each row may only emit the slot
            tokens that occur in its own source, so no slot the request never had can appear.
    """

    def __init__(self, model: Transformer, src: torch.Tensor, use_cache: bool = True,
                 slot_ids: Sequence[int] = ()):
        self.model = model
        self.src = src  # (B, S), read by the copy head
        self.slot_ids = torch.tensor(list(slot_ids), dtype=torch.long, device=src.device)  # (n,)
        # (B, n) True where slot token j is absent from row b's source: banned there
        self.slot_ban = (src.unsqueeze(-1) != self.slot_ids.view(1, 1, -1)).all(dim=1)
        self.src_mask = (src != model.pad_id).unsqueeze(1).unsqueeze(2)  # (B, 1, 1, S)
        self.memory = model.encode(src, self.src_mask)  # (B, S, D), computed once
        self.cache = model.new_cache() if use_cache else None

    def next_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: (N, t) every prefix so far, <bos> first -> scores (N, V) for position t.

        The scores are logits, or log-probabilities for a copy-head model (``Transformer.project``).
        """
        if self.cache is not None:
            new = tokens[:, self.cache.length :]  # (N, 1): only what the cache has not seen
            scores = self.model.decode_scores(new, self.memory, self.src, self.src_mask,
                                              cache=self.cache)  # (N, 1, V)
        else:
            mask = causal_mask(tokens.size(1), device=tokens.device)  # (t, t)
            scores = self.model.decode_scores(tokens, self.memory, self.src, self.src_mask, mask)  # (N, t, V)
        scores = scores[:, -1]  # (N, V)
        if self.slot_ids.numel():
            banned = torch.zeros_like(scores, dtype=torch.bool)  # (N, V)
            banned[:, self.slot_ids] = self.slot_ban  # (N, n) scattered onto their ids
            scores = scores.masked_fill(banned, float("-inf"))
        return scores

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep rows ``rows`` (N',) of the batch: expand a source into beams, or follow beam choices."""
        self.memory = self.memory.index_select(0, rows)  # (N', S, D)
        self.src = self.src.index_select(0, rows)  # (N', S)
        self.slot_ban = self.slot_ban.index_select(0, rows)  # (N', n)
        self.src_mask = self.src_mask.index_select(0, rows)  # (N', 1, 1, S)
        if self.cache is not None:
            self.cache.reorder(rows)


def banned_ngram_tokens(seq: list[int], n: int) -> list[int]:
    """Tokens that would repeat an n-gram already in ``seq`` if appended to it."""
    if n <= 0 or len(seq) < n - 1:
        return []
    prefix = tuple(seq[len(seq) - (n - 1) :]) if n > 1 else ()
    return [seq[i + n - 1] for i in range(len(seq) - n + 1) if tuple(seq[i : i + n - 1]) == prefix]


def _process_logits(
    logits: torch.Tensor,
    tokens: torch.Tensor,
    step: int,
    *,
    bos_id: int,
    eos_id: int,
    pad_id: int,
    min_new_tokens: int,
    no_repeat_ngram_size: int,
) -> torch.Tensor:
    """Apply the bans shared by every strategy to logits (N, V); tokens (N, t) are the prefixes."""
    logits = logits.float().clone()  # (N, V)
    banned_specials = {pad_id, bos_id} - {eos_id}
    logits[:, list(banned_specials)] = float("-inf")
    if step < min_new_tokens:
        logits[:, eos_id] = float("-inf")
    if no_repeat_ngram_size > 0:
        for row, seq in enumerate(tokens[:, 1:].tolist()):  # the generated part, <bos> excluded
            banned = banned_ngram_tokens(seq, no_repeat_ngram_size)
            if banned:
                logits[row, banned] = float("-inf")
    dead = torch.isinf(logits).all(dim=-1)  # every token banned: end the sequence instead of NaN
    logits[dead, eos_id] = 0.0
    return logits


def _check_decode_args(model: Transformer, src: torch.Tensor, max_new_tokens: int, min_new_tokens: int) -> int:
    if src.dim() != 2 or src.size(0) == 0 or src.size(1) == 0:
        raise ValueError(f"src must be a non-empty (B, S) tensor of token ids, got shape {tuple(src.shape)}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if min_new_tokens < 0:
        raise ValueError(f"min_new_tokens must be >= 0, got {min_new_tokens}")
    limit = model.config.max_tgt_len  # the decoder reads <bos> + (n - 1) generated tokens
    if max_new_tokens > limit:
        warnings.warn(
            f"max_new_tokens={max_new_tokens} exceeds the model's target limit {limit}; "
            f"generating at most {limit} tokens",
            stacklevel=_caller_stacklevel(),  # the user's call, not a frame inside this module or torch
        )
        max_new_tokens = limit
    return max_new_tokens


def _finish(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Strip <bos> and any all-pad columns at the end: (N, 1 + t) -> (N, L)."""
    out = tokens[:, 1:]
    keep = (out != pad_id).any(dim=0).nonzero()
    return out[:, : int(keep.max()) + 1] if keep.numel() else out[:, :0]


def _sampling_or_greedy(
    model, src, *, max_new_tokens, bos_id, eos_id, use_cache, min_new_tokens, no_repeat_ngram_size, choose,
    slot_ids=(),
) -> torch.Tensor:
    max_new_tokens = _check_decode_args(model, src, max_new_tokens, min_new_tokens)
    pad_id = model.pad_id
    stepper = Stepper(model, src, use_cache, slot_ids)
    tokens = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)  # (B, 1)
    finished = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)  # (B,)
    for step in range(max_new_tokens):
        logits = stepper.next_logits(tokens)  # (B, V)
        logits = _process_logits(logits, tokens, step, bos_id=bos_id, eos_id=eos_id, pad_id=pad_id,
                                 min_new_tokens=min_new_tokens, no_repeat_ngram_size=no_repeat_ngram_size)
        next_token = choose(logits)  # (B,)
        next_token = next_token.masked_fill(finished, pad_id)  # finished rows only grow padding
        tokens = torch.cat([tokens, next_token.unsqueeze(1)], dim=1)  # (B, t + 1)
        finished |= next_token == eos_id
        if finished.all():
            break
    return _finish(tokens, pad_id)


@torch.no_grad()
def greedy_decode(
    model: Transformer,
    src: torch.Tensor,
    *,
    max_new_tokens: int = 256,
    bos_id: int = 1,
    eos_id: int = 2,
    use_cache: bool = True,
    min_new_tokens: int = 0,
    no_repeat_ngram_size: int = 0,
    slot_ids: Sequence[int] = (),
) -> torch.Tensor:
    """Pick the most likely token at every step (chapter 08).

    Args:
        model: the Transformer, in eval mode.  src: (B, S) source ids padded with ``model.pad_id``.
        max_new_tokens: stop after this many tokens (``<eos>`` included) if no ``<eos>`` came before.
        min_new_tokens: forbid ``<eos>`` before this many tokens (benchmarks force a length with it).
        no_repeat_ngram_size: if > 0, never produce an n-gram of this size twice.
        slot_ids: slot-token ids that a row may emit only if its source holds them (see :class:`Stepper`).
    Returns:
        (B, L) generated ids, ``<bos>`` stripped, padded with ``model.pad_id`` after ``<eos>``.
    """
    return _sampling_or_greedy(
        model, src, max_new_tokens=max_new_tokens, bos_id=bos_id, eos_id=eos_id, use_cache=use_cache,
        min_new_tokens=min_new_tokens, no_repeat_ngram_size=no_repeat_ngram_size,
        choose=lambda logits: logits.argmax(dim=-1), slot_ids=slot_ids,
    )


def _filter_top_k_top_p(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Set logits (N, V) outside the top-k / the top-p nucleus to -inf (the best token always stays)."""
    if top_k > 0 and top_k < logits.size(-1):
        kth = logits.topk(top_k, dim=-1).values[:, -1:]  # (N, 1) the k-th largest logit
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)  # (N, V)
        probs = sorted_logits.softmax(dim=-1)
        mass_before = probs.cumsum(dim=-1) - probs  # (N, V) probability of the better tokens
        drop_sorted = mass_before >= top_p  # keep the smallest prefix whose mass reaches top_p
        drop = torch.zeros_like(drop_sorted).scatter(1, order, drop_sorted)  # back to vocabulary order
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


@torch.no_grad()
def sample(
    model: Transformer,
    src: torch.Tensor,
    *,
    max_new_tokens: int = 256,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    bos_id: int = 1,
    eos_id: int = 2,
    use_cache: bool = True,
    min_new_tokens: int = 0,
    no_repeat_ngram_size: int = 0,
    slot_ids: Sequence[int] = (),
) -> torch.Tensor:
    """Draw each token from softmax(logits / temperature), optionally within top-k / top-p (chapter 08).

    Args as in :func:`greedy_decode`, plus:
        temperature: > 0; below 1 sharpens, above 1 flattens the distribution.
        top_k: keep only the k most likely tokens (0 = all).
        top_p: keep the smallest set of tokens whose probability reaches top_p (1.0 = all).
        generator: a seeded ``torch.Generator`` on src's device, for reproducible draws.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature} (use greedy_decode for temperature 0)")
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0 (0 disables it), got {top_k}")
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")

    def choose(logits: torch.Tensor) -> torch.Tensor:
        logits = _filter_top_k_top_p(logits / temperature, top_k, top_p)  # (B, V)
        return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(1)  # (B,)

    return _sampling_or_greedy(
        model, src, max_new_tokens=max_new_tokens, bos_id=bos_id, eos_id=eos_id, use_cache=use_cache,
        min_new_tokens=min_new_tokens, no_repeat_ngram_size=no_repeat_ngram_size, choose=choose,
        slot_ids=slot_ids,
    )


@torch.no_grad()
def beam_search(
    model: Transformer,
    src: torch.Tensor,
    *,
    beam_size: int = 4,
    length_penalty: float = 1.0,
    max_new_tokens: int = 256,
    bos_id: int = 1,
    eos_id: int = 2,
    use_cache: bool = True,
    min_new_tokens: int = 0,
    no_repeat_ngram_size: int = 0,
    slot_ids: Sequence[int] = (),
) -> torch.Tensor:
    """Keep the ``beam_size`` best prefixes per source; return the best finished one (chapter 08).

    Hypotheses are ranked by ``sum of log-probs / length ** length_penalty`` (length counts generated
    tokens, ``<eos>`` included): 0 ranks by total log-probability (favours short outputs), 1 by the
    mean per token. A hypothesis that emitted ``<eos>`` stays in its beam with a frozen score; the
    search stops when every beam has finished or after ``max_new_tokens``.

    Args as in :func:`greedy_decode`, plus ``beam_size`` (>= 1) and ``length_penalty``.
    Returns (B, L), the best hypothesis of each source.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    max_new_tokens = _check_decode_args(model, src, max_new_tokens, min_new_tokens)
    pad_id, device = model.pad_id, src.device
    B, K = src.size(0), beam_size
    stepper = Stepper(model, src, use_cache, slot_ids)
    stepper.reorder(torch.arange(B, device=device).repeat_interleave(K))  # (B*K) rows, K per source
    tokens = torch.full((B * K, 1), bos_id, dtype=torch.long, device=device)  # (B*K, 1)
    scores = torch.full((B, K), float("-inf"), device=device)  # (B, K) summed log-probs
    scores[:, 0] = 0.0  # all beams start identical: let only the first one expand at step 0
    lengths = torch.zeros(B * K, device=device)  # (B*K,) generated tokens, <eos> included
    finished = torch.zeros(B * K, dtype=torch.bool, device=device)  # (B*K,)
    for step in range(max_new_tokens):
        logits = stepper.next_logits(tokens)  # (B*K, V)
        logits = _process_logits(logits, tokens, step, bos_id=bos_id, eos_id=eos_id, pad_id=pad_id,
                                 min_new_tokens=min_new_tokens, no_repeat_ngram_size=no_repeat_ngram_size)
        logp = F.log_softmax(logits, dim=-1)  # (B*K, V)
        logp[finished] = float("-inf")  # a finished hypothesis can only be continued by padding,
        logp[finished, pad_id] = 0.0  # which keeps its score
        V = logp.size(-1)
        cand = scores.view(-1, 1) + logp  # (B*K, V) summed log-probs of every continuation
        cand_len = torch.where(finished, lengths, torch.full_like(lengths, step + 1))  # (B*K,)
        ranked = cand / cand_len.unsqueeze(1).pow(length_penalty)  # (B*K, V)
        best = ranked.view(B, K * V).topk(K, dim=-1).indices  # (B, K) indices into K*V
        rows = (torch.arange(B, device=device).unsqueeze(1) * K + best // V).view(-1)  # (B*K,) parents
        next_token = (best % V).view(-1)  # (B*K,)
        scores = cand.view(B, K * V).gather(1, best)  # (B, K)
        tokens = torch.cat([tokens.index_select(0, rows), next_token.unsqueeze(1)], dim=1)  # (B*K, t + 1)
        lengths = cand_len.index_select(0, rows)
        finished = finished.index_select(0, rows) | (next_token == eos_id)
        stepper.reorder(rows)
        if finished.all():
            break
    final = scores.view(-1) / lengths.clamp(min=1).pow(length_penalty)  # (B*K,)
    winner = final.view(B, K).argmax(dim=-1) + torch.arange(B, device=device) * K  # (B,)
    return _finish(tokens.index_select(0, winner), pad_id)


def _caller_stacklevel() -> int:
    """``warnings.warn``'s stacklevel, for a warning raised by this function's caller, that names the first
    frame outside this module and outside torch (whose ``no_grad`` decorator adds a frame of its own), so the
    warning points at the user's line instead of ``torch/utils/_contextlib.py``."""
    import os
    import sys

    torch_dir = os.path.dirname(torch.__file__) + os.sep
    frame, level = sys._getframe(1), 1  # level 1 = the function that calls warnings.warn
    while frame.f_back is not None and (frame.f_code.co_filename == __file__
                                        or frame.f_code.co_filename.startswith(torch_dir)):
        frame, level = frame.f_back, level + 1
    return level


def _encode_prompts(tokenizer, prompts: Sequence[str], max_src_len: int) -> list[list[int]]:
    """``prompt_ids[:max_src_len - 1] + [<eos>]``, the rule ``batching.encode_source`` uses in training."""
    encoded = []
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            raise TypeError(f"prompt {i} must be a str, got {type(prompt).__name__}")
        if not prompt.strip():
            raise ValueError(f"prompt {i} is empty; describe the code you want, e.g. 'Write a function ...'")
        ids = tokenizer.encode(prompt)
        if not ids:
            raise ValueError(f"prompt {i} ({prompt!r}) encodes to no tokens")
        limit = max_src_len - 1  # room for <eos>
        if len(ids) > limit:
            warnings.warn(
                f"prompt {i} has {len(ids)} tokens but the source limit is {max_src_len} "
                f"({limit} + <eos>); truncated by {len(ids) - limit} tokens",
                stacklevel=_caller_stacklevel(),  # the caller of generate(), not torch's no_grad wrapper
            )
            ids = ids[:limit]
        encoded.append(ids + [tokenizer.eos_id])
    return encoded


@torch.no_grad()
def generate(
    model: Transformer,
    tokenizer,
    prompts: list[str] | str,
    *,
    strategy: str = "greedy",
    max_new_tokens: int = 256,
    beam_size: int = 4,
    length_penalty: float = 1.0,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    no_repeat_ngram_size: int = 0,
    use_cache: bool = True,
    seed: int | None = None,
    min_new_tokens: int = 0,
    batch_size: int = 32,
) -> list[str]:
    """Generate code for each prompt (chapter 08).

    Args:
        model: a trained Transformer (switched to eval mode for the call, then restored).
        tokenizer: with ``encode``/``decode`` and ``pad_id``/``bos_id``/``eos_id`` (``CodeTokenizer``).
        prompts: one prompt or a list of them; empty prompts raise ``ValueError``; prompts longer than
            ``model.config.max_src_len`` are truncated with a warning saying by how many tokens. When
            ``model.config.slots`` is set, each prompt is slot-canonicalized first (``codegen_lib.slots``)
            and the values are restored into the generated code.
        strategy: ``"greedy"``, ``"beam"`` or ``"sample"``; the other arguments are as in
            :func:`greedy_decode`, :func:`beam_search` and :func:`sample`.
        seed: seeds the sampler, so ``strategy="sample"`` is reproducible.
        batch_size: prompts decoded together.
    Returns:
        one decoded string per prompt (special tokens removed, cut at ``<eos>``).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if model.pad_id != tokenizer.pad_id:
        raise ValueError(f"model pad_id {model.pad_id} != tokenizer pad_id {tokenizer.pad_id}")
    single = isinstance(prompts, str)
    prompt_list = [prompts] if single else list(prompts)
    if not prompt_list:
        raise ValueError("prompts is empty; pass a string or a non-empty list of strings")
    slot_lists: list[list] = [[] for _ in prompt_list]
    if getattr(model.config, "slots", False):  # the model reads canonicalized requests (chapter 02)
        canonical = [canonicalize_request(p) for p in prompt_list]
        prompt_list = [c[0] for c in canonical]
        slot_lists = [c[1] for c in canonical]
    sources = _encode_prompts(tokenizer, prompt_list, model.config.max_src_len)
    device = next(model.parameters()).device
    generator = None
    if strategy == "sample" and seed is not None:
        generator = torch.Generator(device=device).manual_seed(seed)
    common = dict(max_new_tokens=max_new_tokens, bos_id=tokenizer.bos_id, eos_id=tokenizer.eos_id,
                  use_cache=use_cache, min_new_tokens=min_new_tokens, no_repeat_ngram_size=no_repeat_ngram_size,
                  slot_ids=getattr(tokenizer, "slot_ids", []) if getattr(model.config, "slots", False) else [])

    was_training = model.training
    model.eval()
    outputs: list[str] = []
    try:
        for start in range(0, len(sources), batch_size):
            chunk = sources[start : start + batch_size]
            src = torch.full((len(chunk), max(map(len, chunk))), tokenizer.pad_id, dtype=torch.long)
            for row, ids in enumerate(chunk):
                src[row, : len(ids)] = torch.tensor(ids)
            src = src.to(device)  # (B, S)
            if strategy == "greedy":
                ids = greedy_decode(model, src, **common)
            elif strategy == "beam":
                ids = beam_search(model, src, beam_size=beam_size, length_penalty=length_penalty, **common)
            else:
                ids = sample(model, src, temperature=temperature, top_k=top_k, top_p=top_p,
                             generator=generator, **common)
            for seq in ids.tolist():
                if tokenizer.eos_id in seq:
                    seq = seq[: seq.index(tokenizer.eos_id)]
                text = tokenizer.decode([t for t in seq if t != tokenizer.pad_id], skip_special_tokens=True)
                outputs.append(restore(text, slot_lists[len(outputs)]))  # values back into their slots
    finally:
        model.train(was_training)
    return outputs
