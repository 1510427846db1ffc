"""The ``mix`` corpus: every real source plus ``tasks``, weighted, with each source's held-out splits kept
apart (chapters 01 and 07).

    dd, report = load_corpus("mix", data_dir="../shared/data/raw", return_report=True)
    dd["train"]                 # the weighted training mixture
    dd["validation"]            # a small mixed validation set (for the validation loss during training)
    dd["test_mbpp"], dd["validation_conala"], dd["test_django"], ...   # each source on its own

**Train** = the training splits of ``code``, ``mbpp``, ``conala``, ``gfg``, ``django`` and ``tasks``, plus
XLCoST *validation* (the report used it only for validation; here it trains, and XLCoST is evaluated on its
test split only). Each source is repeated by its weight in :data:`DEFAULT_WEIGHTS` (a fraction keeps a
seeded subset), so that the small human-written sets are not drowned by the large ``code`` corpus.

**Held out**: ``validation_<source>`` and ``test_<source>`` for every source that has them (``tasks`` also
has ``test_unseen_tasks``); ``validation`` is the union of the per-source validation splits, at most
``val_per_source`` rows each.

``data_dir`` is a folder holding the release copies (``xlcost/``, ``mbpp/``, ``conala/``,
``transcoder_gfg/``, ``django/``, as ``../shared/data/raw``); None reads XLCoST, MBPP and CoNaLa from the hub
and leaves out GfG and Django, which have no hub copy (the report's notes say so).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

from codegen_lib.corpora import code, conala, django, gfg, mbpp, tasks, xlcost
from codegen_lib.corpora.rows import MalformedRowReport

log = logging.getLogger(__name__)

__all__ = ["NAME", "SPLITS", "OPTIONS", "DEFAULT_WEIGHTS", "SOURCE_DIRS", "weighted", "build_mix",
           "denoising_rows", "load"]

NAME = "mix"
SPLITS = ("train", "validation")  # plus validation_<source> / test_<source> for every held-out split
OPTIONS: tuple[str, ...] = ()
SOURCES = {"code": code, "conala": conala, "django": django, "gfg": gfg, "mbpp": mbpp, "tasks": tasks,
           "xlcost": xlcost}

# Repetitions of each source's training split in the mixture (chosen by the ablations in
# artifacts/ablations.md; short-target sources are cheap to repeat).
DEFAULT_WEIGHTS = {"code": 1.0, "django": 3.0, "conala": 8.0, "mbpp": 6.0, "gfg": 3.0, "xlcost": 4.0, "tasks": 0.5}
SOURCE_DIRS = {"xlcost": "xlcost", "mbpp": "mbpp", "conala": "conala", "gfg": "transcoder_gfg", "django": "django"}
COLUMNS = ("prompt", "code", "source", "id", "tests", "entry_point")


def weighted(rows: list[dict], weight: float, seed: int) -> list[dict]:
    """``rows`` repeated ``int(weight)`` times plus a seeded ``weight % 1`` share of them."""
    if weight < 0:
        raise ValueError(f"weights must be >= 0, got {weight}")
    whole, frac = int(weight), weight - int(weight)
    extra = random.Random(seed).sample(rows, round(frac * len(rows))) if frac else []
    return rows * whole + extra


def _rows(ds) -> list[dict]:
    cols = ds.column_names
    return [{c: (r[c] if c in cols else "") for c in COLUMNS} for r in ds]


def build_mix(
    data_dir: str | Path | None = None,
    seed: int = 0,
    weights: dict[str, float] | None = None,
    val_per_source: int = 200,
    sources: tuple[str, ...] | None = None,
):
    """Build the mixture: ``(DatasetDict, MalformedRowReport)``; see the module docstring."""
    from datasets import Dataset, DatasetDict, Features, Value

    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    unknown = set(w) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown mix sources {sorted(unknown)}; valid: {sorted(DEFAULT_WEIGHTS)}")
    wanted = tuple(sources) if sources is not None else tuple(DEFAULT_WEIGHTS)
    root = Path(data_dir).expanduser() if data_dir is not None else None
    if root is not None and not root.is_dir():
        raise FileNotFoundError(f"mix: data_dir {root} is not a folder")
    report = MalformedRowReport(corpus="mix")
    parts: dict[str, dict[str, list[dict]]] = {}
    for src in wanted:
        sub = None if root is None or src in ("tasks", "code") else root / SOURCE_DIRS[src]
        if src in ("gfg", "django") and (sub is None or not sub.is_dir()):
            report.notes[f"{src}_left_out"] = "no local copy (and no hub copy)"
            log.warning("mix: %s left out: no local copy under %s", src, root)
            continue
        kw = {"data_dir": root if src == "code" else sub} if src != "tasks" else {}
        if src == "xlcost":
            kw["splits"] = ("validation", "test")
        rep = MalformedRowReport(corpus=src)
        dd = SOURCES[src].load(seed=seed, report=rep, **kw)
        if rep.dropped:
            log.warning("load_corpus(%r) dropped malformed rows: %s", src, rep.summary())
        report.merge(rep)
        report.notes.update({f"{src}:{k}": v for k, v in rep.notes.items() if not isinstance(v, (list, dict))})
        if src == "code":
            report.notes["code_contaminated"] = rep.notes["counts"]["contaminated"]
        parts[src] = {split: _rows(ds) for split, ds in dd.items()}
    out: dict[str, list[dict]] = {"train": [], "validation": []}
    for i, (src, splits) in enumerate(parts.items()):
        train_rows = splits.get("validation" if src == "xlcost" else "train", [])
        out["train"] += weighted(train_rows, w[src], seed + i)
        held = {k: v for k, v in splits.items() if k not in ("train", "prompt") and not (src == "xlcost" and k == "validation")}
        for split, rows in held.items():
            out[f"{split}_{src}"] = rows
        if src != "xlcost" and splits.get("validation"):
            val = splits["validation"]
            out["validation"] += random.Random(seed).sample(val, min(val_per_source, len(val)))
    random.Random(seed).shuffle(out["train"])
    report.notes["weights"] = {s: w[s] for s in parts}
    report.notes["train_rows_by_source"] = {s: sum(1 for r in out["train"] if r["source"] == s) for s in parts}
    features = Features({c: Value("string") for c in COLUMNS})
    dd = DatasetDict({
        split: Dataset.from_dict({c: [r[c] for r in rows] for c in COLUMNS}, features=features)
        for split, rows in out.items() if rows
    })  # fmt: skip
    return dd, report


def denoising_rows(rows: list[dict], seed: int = 0, mask_rate: float = 0.15, mean_span: int = 3) -> list[dict]:
    """A span-denoising task on code (BART/T5-style, for a warm-up before the supervised pairs).

    The prompt is the code with random spans of whitespace-separated tokens replaced by ``<mask>`` (about
    ``mask_rate`` of the tokens, spans of ``mean_span`` on average); the target is the original code. The
    model learns Python's syntax and common idioms from code alone before it learns to follow a prompt.
    """
    import re

    rng = random.Random(seed)
    out = []
    for row in rows:
        parts = re.split(r"(\s+)", row["code"])  # tokens at even indices, whitespace at odd ones
        idx = [i for i in range(0, len(parts), 2) if parts[i]]
        budget = max(1, round(mask_rate * len(idx)))
        masked: set[int] = set()
        while len(masked) < budget and idx:
            start = rng.randrange(len(idx))
            for j in idx[start : start + max(1, round(rng.expovariate(1 / mean_span)))]:
                masked.add(j)
        noisy, prev = [], False
        for i, part in enumerate(parts):
            if i in masked:
                if not prev:
                    noisy.append("<mask>")
                prev = True
            elif i % 2 == 1 and prev and (i + 1) in masked:
                continue  # whitespace inside a masked span
            else:
                noisy.append(part)
                prev = False
        out.append({**row, "prompt": "".join(noisy), "source": row["source"] + "-denoise",
                    "id": row["id"] + ":denoise"})
    return out


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport):
    """The mixture as a DatasetDict (see the module docstring); the sources' reports merge into ``report``."""
    dd, rep = build_mix(data_dir=data_dir, seed=seed)
    report.merge(rep)
    report.notes.update(rep.notes)
    return dd
