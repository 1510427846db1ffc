"""Batching: the collate function, teacher-forcing shift, length buckets and padding statistics.

Chapter 02 teaches this module (chapter 01 shows the padding figures). A batch is three LongTensors::

    src     (B, S)  prompt ids + <eos>,         padded with pad_id
    tgt_in  (B, T)  <bos> + code ids            (what the decoder reads)
    tgt_out (B, T)  code ids + <eos>            (what it must predict: tgt_in shifted left by one)

Length rules (``max_*_len`` count the special tokens, like ``ModelConfig.max_src_len``/``max_tgt_len``):

* ``src = prompt_ids[:max_src_len - 1] + [<eos>]``. The source gets an ``<eos>`` so that no row is ever
  empty (an all-pad row would make every attention score -inf and the softmax NaN) and so the encoder
  sees where a truncated prompt was cut. ``encode_source`` applies the same rule at generation time.
* ``tgt_in = [<bos>] + code_ids[:max_tgt_len - 1]`` and ``tgt_out = code_ids[:max_tgt_len - 1] + [<eos>]``:
  same length, at most ``max_tgt_len``, and truncation keeps both ``<bos>`` and ``<eos>``.

A row counts as truncated when its prompt has more than ``max_src_len - 1`` tokens (or its code more
than ``max_tgt_len - 1``); the collator keeps running counts (``truncation_report()``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler


def encode_source(tokenizer, prompt: str, max_src_len: int) -> list[int]:
    """Source ids of one prompt: ``prompt_ids[:max_src_len - 1] + [<eos>]`` (training and generation)."""
    _check_len("max_src_len", max_src_len)
    return tokenizer.encode(prompt)[: max_src_len - 1] + [tokenizer.eos_id]


def encode_rows(rows: Iterable[Mapping], tokenizer) -> list[dict]:
    """Tokenize ``prompt``/``code`` once, so each epoch does not re-encode them.

    Args:
        rows: mappings with ``"prompt"`` and ``"code"`` strings (a list of dicts or a ``datasets.Dataset``).
        tokenizer: a ``CodeTokenizer`` or ``HFTokenizer``.

    Returns:
        one ``{"src_ids": [...], "tgt_ids": [...]}`` per row: plain token ids, no specials, not truncated
        (the collator adds specials and truncates).
    """
    prompts, codes = [], []
    for i, row in enumerate(rows):
        for key in ("prompt", "code"):
            if key not in row:
                raise ValueError(f"row {i} has no {key!r} field (keys: {sorted(row)})")
            if not isinstance(row[key], str):
                raise ValueError(f"row {i}: {key!r} must be a str, got {type(row[key]).__name__}")
        prompts.append(row["prompt"])
        codes.append(row["code"])
    encode_many = getattr(tokenizer, "encode_batch", None) or (lambda ts: [tokenizer.encode(t) for t in ts])
    return [
        {"src_ids": s, "tgt_ids": t} for s, t in zip(encode_many(prompts), encode_many(codes), strict=True)
    ]


def _check_len(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _pad(seqs: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), pad_id, dtype=torch.long)  # (B, L)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


class Seq2SeqCollator:
    """Collate function: rows -> ``{"src", "tgt_in", "tgt_out"}`` padded to the batch maximum (chapter 02).

    Args:
        tokenizer: gives ``pad_id``, ``bos_id``, ``eos_id`` and ``encode``.
        max_src_len: longest source, ``<eos>`` included.
        max_tgt_len: longest ``tgt_in``/``tgt_out``, ``<bos>``/``<eos>`` included.

    Call it on a list of rows holding either ``"prompt"``/``"code"`` strings or pre-tokenized
    ``"src_ids"``/``"tgt_ids"`` (from ``encode_rows``). Returns LongTensors ``src (B, S)``,
    ``tgt_in (B, T)``, ``tgt_out (B, T)`` with ``S <= max_src_len`` and ``T <= max_tgt_len``.

    ``rows_seen``, ``truncated_src`` and ``truncated_tgt`` count every row collated since the last
    ``reset_counts()`` (across epochs too). With ``DataLoader(num_workers > 0)`` each worker process keeps
    its own copy, so count in the main process (``num_workers=0``) when you want the figures.
    """

    def __init__(self, tokenizer, max_src_len: int, max_tgt_len: int):
        _check_len("max_src_len", max_src_len)
        _check_len("max_tgt_len", max_tgt_len)
        self.tokenizer = tokenizer
        self.max_src_len = max_src_len
        self.max_tgt_len = max_tgt_len
        self.pad_id, self.bos_id, self.eos_id = tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id
        self.reset_counts()

    def reset_counts(self) -> None:
        """Zero the truncation counters."""
        self.rows_seen = 0
        self.truncated_src = 0
        self.truncated_tgt = 0

    def _ids(self, row: Mapping, i: int) -> tuple[list[int], list[int]]:
        if "src_ids" in row and "tgt_ids" in row:
            return list(row["src_ids"]), list(row["tgt_ids"])
        if "prompt" in row and "code" in row:
            return self.tokenizer.encode(row["prompt"]), self.tokenizer.encode(row["code"])
        raise ValueError(f"row {i} needs 'prompt' and 'code' (or 'src_ids' and 'tgt_ids'); got {sorted(row)}")

    def __call__(self, rows: Sequence[Mapping]) -> dict[str, torch.Tensor]:
        if len(rows) == 0:
            raise ValueError("Seq2SeqCollator got an empty batch")
        srcs, tgt_ins, tgt_outs = [], [], []
        for i, row in enumerate(rows):
            src_ids, code_ids = self._ids(row, i)
            keep_src, keep_tgt = self.max_src_len - 1, self.max_tgt_len - 1
            self.truncated_src += len(src_ids) > keep_src
            self.truncated_tgt += len(code_ids) > keep_tgt
            srcs.append(src_ids[:keep_src] + [self.eos_id])
            tgt_ins.append([self.bos_id] + code_ids[:keep_tgt])
            tgt_outs.append(code_ids[:keep_tgt] + [self.eos_id])
        self.rows_seen += len(rows)
        return {
            "src": _pad(srcs, self.pad_id),  # (B, S)
            "tgt_in": _pad(tgt_ins, self.pad_id),  # (B, T)
            "tgt_out": _pad(tgt_outs, self.pad_id),  # (B, T)
        }

    def truncation_report(self) -> dict:
        """Counts and fractions of truncated sources and targets since the last ``reset_counts()``."""
        n = self.rows_seen
        return {
            "rows": n,
            "max_src_len": self.max_src_len,
            "max_tgt_len": self.max_tgt_len,
            "truncated_src": self.truncated_src,
            "truncated_tgt": self.truncated_tgt,
            "truncated_src_fraction": self.truncated_src / n if n else 0.0,
            "truncated_tgt_fraction": self.truncated_tgt / n if n else 0.0,
        }


def example_lengths(
    encoded: Sequence[Mapping], max_src_len: int | None = None, max_tgt_len: int | None = None
):
    """Padded cost of each encoded row, ``len(src) + len(tgt_in)`` after truncation: the sampler's key."""
    out = []
    for row in encoded:
        s, t = len(row["src_ids"]) + 1, len(row["tgt_ids"]) + 1  # + <eos> / + <bos>
        if max_src_len is not None:
            s = min(s, max_src_len)
        if max_tgt_len is not None:
            t = min(t, max_tgt_len)
        out.append(s + t)
    return out


class LengthBucketSampler(Sampler[list[int]]):
    """Batch sampler that puts examples of similar length together, so batches carry little padding.

    Args:
        lengths: one sortable length per example (e.g. from ``example_lengths``).
        batch_size: examples per batch.
        shuffle: False -> batches of the globally sorted order, shortest first, same every epoch.
            True -> each epoch: shuffle all indices, cut them into pools of
            ``batch_size * bucket_size_multiplier``, sort each pool by length, cut it into batches, and
            shuffle the order of the batches. Larger pools mean less padding but less randomness.
        seed: with the epoch, fixes the order completely.
        bucket_size_multiplier: pool size in batches.
        drop_last: drop the one incomplete batch.

    Use as ``DataLoader(ds, batch_sampler=sampler, collate_fn=collator)``. Every index appears exactly
    once per epoch. Each iteration uses the current epoch and then advances it; ``set_epoch(e)`` picks
    one explicitly (e.g. when resuming), so the batches depend only on ``(seed, epoch)``.
    """

    def __init__(
        self,
        lengths: Sequence,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        bucket_size_multiplier: int = 50,
        drop_last: bool = False,
    ):
        _check_len("batch_size", batch_size)
        _check_len("bucket_size_multiplier", bucket_size_multiplier)
        if len(lengths) == 0:
            raise ValueError("LengthBucketSampler needs at least one length")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.bucket_size_multiplier = bucket_size_multiplier
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` for the next iteration."""
        self.epoch = int(epoch)

    def _sorted(self, indices: Sequence[int]) -> list[int]:
        return sorted(indices, key=lambda i: (self.lengths[i], i))  # ties by index: deterministic

    def _batches(self, epoch: int) -> list[list[int]]:
        n, bs = len(self.lengths), self.batch_size
        if not self.shuffle:
            order = self._sorted(range(n))
            batches = [order[i : i + bs] for i in range(0, n, bs)]
        else:
            rng = np.random.default_rng([self.seed, epoch])
            perm = rng.permutation(n).tolist()
            pool = bs * self.bucket_size_multiplier
            batches = []
            for start in range(0, n, pool):
                chunk = self._sorted(perm[start : start + pool])
                batches += [chunk[i : i + bs] for i in range(0, len(chunk), bs)]
        if self.drop_last and len(batches[-1]) < bs:
            batches = batches[:-1]  # only the last pool can end with a short batch
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self):
        batches = self._batches(self.epoch)
        self.epoch += 1
        yield from batches

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


def padding_fraction(batches: Iterable[Mapping[str, torch.Tensor]], pad_id: int = 0, keys=("src", "tgt_in")):
    """Fraction of positions in ``batches`` that hold ``pad_id`` (over the given keys together).

    ``tgt_in`` and ``tgt_out`` have the same padding, so count only one of them. Note that with
    ``HFTokenizer`` (CodeLlama: pad == unk == 0) a genuine ``<unk>`` would count as padding.
    """
    pads = total = 0
    for batch in batches:
        for key in keys:
            x = batch[key]
            pads += int((x == pad_id).sum())
            total += x.numel()
    if total == 0:
        raise ValueError("padding_fraction got no batches")
    return pads / total


def padding_report(
    rows: Iterable[Mapping],
    tokenizer,
    batch_size: int = 32,
    max_src_len: int | None = None,
    max_tgt_len: int | None = None,
    seed: int = 0,
    bucket_size_multiplier: int = 50,
) -> dict:
    """Padding with random batches vs ``LengthBucketSampler`` batches, for one pass over ``rows``.

    Args:
        rows: ``prompt``/``code`` mappings (e.g. the XLCoST test split).
        max_src_len, max_tgt_len: truncation limits (None: no truncation).

    Returns:
        ``{"rows", "batch_size", "random": {...}, "bucketed": {...}, "reduction", "truncation"}`` where each
        of random/bucketed has ``src``, ``tgt`` and ``total`` padding fractions and ``batches``, and
        ``reduction`` is ``1 - bucketed_total / random_total``.
    """
    encoded = encode_rows(rows, tokenizer)
    n = len(encoded)
    if n == 0:
        raise ValueError("padding_report got no rows")
    longest_src = max(len(r["src_ids"]) for r in encoded) + 1
    longest_tgt = max(len(r["tgt_ids"]) for r in encoded) + 1
    collate = Seq2SeqCollator(tokenizer, max_src_len or longest_src, max_tgt_len or longest_tgt)

    perm = np.random.default_rng([seed, 0]).permutation(n).tolist()
    random_batches = [perm[i : i + batch_size] for i in range(0, n, batch_size)]
    sampler = LengthBucketSampler(
        example_lengths(encoded, collate.max_src_len, collate.max_tgt_len),
        batch_size,
        shuffle=True,
        seed=seed,
        bucket_size_multiplier=bucket_size_multiplier,
    )
    report: dict = {"rows": n, "batch_size": batch_size}
    for name, index_batches in (("random", random_batches), ("bucketed", list(sampler))):
        collate.reset_counts()
        batches = [collate([encoded[i] for i in b]) for b in index_batches]
        report[name] = {
            "src": padding_fraction(batches, collate.pad_id, keys=("src",)),
            "tgt": padding_fraction(batches, collate.pad_id, keys=("tgt_in",)),
            "total": padding_fraction(batches, collate.pad_id),
            "batches": len(batches),
        }
    report["reduction"] = 1 - report["bucketed"]["total"] / report["random"]["total"]
    report["truncation"] = collate.truncation_report()
    return report


def xlcost_padding_report(
    xlcost_dir,
    batch_size: int = 32,
    vocab_size: int = 8000,
    max_src_len: int | None = None,
    max_tgt_len: int | None = None,
    seed: int = 0,
) -> dict:
    """``padding_report`` on the real XLCoST test set (887 programs), read from the release files.

    The tokenizer is trained on the validation prompts and code (never on test). Prompts are the titles in
    ``test-Python-desc-tok.txt``; code is ``test-Python-desc-tok.py``, turned back into indented Python by
    ``codegen_lib.corpora.xlcost_tokens.detokenize`` when that module is available (else the raw marker text is used; the
    report says which in ``"code_form"``).
    """
    from pathlib import Path

    from codegen_lib.tokenizer import train_tokenizer

    folder = Path(xlcost_dir) / "pair_data_tok_full_desc" / "Python-desc"
    if not folder.is_dir():
        raise ValueError(f"{folder} not found: pass the directory that holds pair_data_tok_full_desc/")
    try:
        from codegen_lib.corpora.xlcost_tokens import detokenize
    except ImportError:
        detokenize, code_form = None, "raw XLCoST tokens (codegen_lib.corpora.xlcost_tokens.detokenize unavailable)"
    else:
        code_form = "detokenized Python"

    def split(name: str) -> list[dict]:
        prompts = (folder / f"{name}-Python-desc-tok.txt").read_text(encoding="utf-8").splitlines()
        codes = (folder / f"{name}-Python-desc-tok.py").read_text(encoding="utf-8").splitlines()
        if len(prompts) != len(codes):
            raise ValueError(f"{folder}: {name} has {len(prompts)} prompts but {len(codes)} programs")
        if detokenize is not None:
            codes = [detokenize(c) for c in codes]
        return [{"prompt": p, "code": c} for p, c in zip(prompts, codes, strict=True)]

    val, test = split("val"), split("test")
    tok = train_tokenizer([r["prompt"] for r in val] + [r["code"] for r in val], vocab_size=vocab_size)
    report = padding_report(test, tok, batch_size, max_src_len, max_tgt_len, seed)
    report.update(code_form=code_form, tokenizer_vocab_size=tok.vocab_size)
    return report


if __name__ == "__main__":  # python -m codegen_lib.batching [xlcost_dir]
    import json
    import sys

    default = "../shared/data/raw/xlcost"
    print(json.dumps(xlcost_padding_report(sys.argv[1] if len(sys.argv) > 1 else default), indent=2))
