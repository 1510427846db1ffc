"""The corpora as chapter 01 uses them: :func:`load_corpus`, and the statistics of what it loads.

    dd = load_corpus("tasks")                                   # generated, offline: the default
    dd = load_corpus("xlcost", data_dir="../shared/data/raw/xlcost", splits=("validation", "test"))
    split_sizes(dd), length_summary(dd, tokenizer), truncation_counts(dd, tokenizer, 128, 256)

``load_corpus`` is :func:`codegen_lib.corpora.load_corpus`, the registry over one module per source
(``codegen_lib/corpora/``: xlcost, alpaca, merged, mbpp, conala, gfg, django, code, doctest, tasks,
stdlib, mix).
Every split has the columns ``prompt``, ``code`` (real, indented Python), ``source`` and ``id``; sources
with tests add ``tests`` and ``entry_point``. Rows that cannot be used are dropped *and counted*: pass
``return_report=True`` to get the :class:`MalformedRowReport`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codegen_lib.corpora import CORPORA, load_corpus
from codegen_lib.corpora.rows import COLUMNS, MalformedRowReport, report_standardize, standardize_code

if TYPE_CHECKING:  # datasets is imported lazily: importing codegen_lib.data stays cheap
    from datasets import Dataset

__all__ = [
    "CORPORA",
    "COLUMNS",
    "MalformedRowReport",
    "standardize_code",
    "report_standardize",
    "load_corpus",
    "split_sizes",
    "lengths",
    "length_summary",
    "truncation_counts",
    "examples",
    "shared_data_dir",
    "real_prompts",
]

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------------------------
# Statistics for chapter 01
# ----------------------------------------------------------------------------------------------------------------
def split_sizes(dd: Mapping[str, Dataset]) -> dict[str, int]:
    """``{"train": 9263, ...}``: rows per split."""
    return {split: len(ds) for split, ds in dd.items()}


def lengths(ds: Dataset, column: str, tokenizer=None) -> list[int]:
    """Length of ``column`` in each row: characters, or tokens when ``tokenizer`` (anything with
    ``encode(text) -> list[int]``, no specials added) is given."""
    if column not in ds.column_names:
        raise ValueError(f"no column {column!r}; the dataset has {ds.column_names}")
    texts = ds[column]
    if tokenizer is None:
        return [len(t) for t in texts]
    return [len(tokenizer.encode(t)) for t in texts]


def length_summary(dd: Mapping[str, Dataset], tokenizer=None, columns=("prompt", "code")) -> list[dict]:
    """One row per (split, column, unit): count, mean, median, p90, p99 and max length.

    Units are "chars", plus "tokens" when a tokenizer is given. ``pandas.DataFrame(length_summary(dd))``
    gives the table of chapter 01.
    """
    import numpy as np

    table = []
    for split, ds in dd.items():
        for column in columns:
            for unit, tok in (("chars", None), ("tokens", tokenizer)):
                if unit == "tokens" and tokenizer is None:
                    continue
                values = np.asarray(lengths(ds, column, tok), dtype=float)
                if values.size == 0:
                    continue
                table.append(
                    {
                        "split": split,
                        "column": column,
                        "unit": unit,
                        "count": int(values.size),
                        "mean": float(values.mean()),
                        "median": float(np.percentile(values, 50)),
                        "p90": float(np.percentile(values, 90)),
                        "p99": float(np.percentile(values, 99)),
                        "max": int(values.max()),
                    }
                )
    return table


def truncation_counts(
    dd: Mapping[str, Dataset], tokenizer, max_src_len: int, max_tgt_len: int
) -> dict[str, dict]:
    """How many rows of each split would be cut at the model's maximum lengths.

    Counted exactly as ``batching.Seq2SeqCollator`` cuts: the source is ``prompt + [<eos>]`` and the target
    ``[<bos>] + code`` / ``code + [<eos>]``, so one special token shares each budget and a row is cut when
    ``len(prompt_ids) + 1 > max_src_len`` or ``len(code_ids) + 1 > max_tgt_len``.

    Returns:
        ``{split: {"rows", "src_truncated", "tgt_truncated", "any_truncated"}}``.
    """
    if max_src_len < 2 or max_tgt_len < 2:
        raise ValueError(f"need max_src_len >= 2 and max_tgt_len >= 2, got {max_src_len}, {max_tgt_len}")
    out = {}
    for split, ds in dd.items():
        src = [n + 1 > max_src_len for n in lengths(ds, "prompt", tokenizer)]
        tgt = [n + 1 > max_tgt_len for n in lengths(ds, "code", tokenizer)]
        out[split] = {
            "rows": len(ds),
            "src_truncated": sum(src),
            "tgt_truncated": sum(tgt),
            "any_truncated": sum(a or b for a, b in zip(src, tgt)),
        }
    return out


def examples(dd: Mapping[str, Dataset], split: str = "train", n: int = 3, seed: int = 0) -> list[dict]:
    """``n`` rows of ``split`` picked with ``random.Random(seed)`` (the same rows every run)."""
    if split not in dd:
        raise ValueError(f"no split {split!r}; the corpus has {list(dd)}")
    ds = dd[split]
    idx = sorted(random.Random(seed).sample(range(len(ds)), min(n, len(ds))))
    return [ds[i] for i in idx]


def shared_data_dir() -> Path | None:
    """The folder of the release copies (``raw/`` of ``../shared/data``, or ``$CODEGEN_SHARED_DATA/raw``),
    or None when it is not there (on Colab, say). Chapters use it to prefer local copies over the hub."""
    import os

    base = os.environ.get("CODEGEN_SHARED_DATA")
    root = Path(base) if base else Path(__file__).resolve().parents[2] / "shared" / "data"
    raw = root / "raw"
    return raw if raw.is_dir() else None


def real_prompts(names: Sequence[str] = ("mbpp", "conala"), split: str = "validation", n: int = 8) -> list[dict]:
    """The first ``n`` rows of ``split`` of each real corpus in ``names`` (local copies, else the hub), for
    chapters that show the model on real requests; corpora that cannot be loaded are skipped."""
    from codegen_lib.hub import HubError

    raw = shared_data_dir()
    folders = {"mbpp": "mbpp", "conala": "conala", "gfg": "transcoder_gfg", "django": "django"}
    rows: list[dict] = []
    for name in names:
        path = raw / folders[name] if raw is not None else None
        try:
            dd = load_corpus(name, data_dir=path if path is not None and path.is_dir() else None)
        except (HubError, ValueError, FileNotFoundError) as err:
            log.info("real_prompts: %s not available (%s)", name, err)
            continue
        if split in dd:
            rows += [dict(r) for r in dd[split].select(range(min(n, len(dd[split]))))]
    return rows
