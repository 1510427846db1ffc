"""The corpora: one module per source behind one :func:`load_corpus` (chapter 01).

    dd = load_corpus("tasks")                                   # generated, offline: the default
    dd = load_corpus("xlcost")                                  # the hub (what Colab readers use)
    dd = load_corpus("xlcost", data_dir="../shared/data/raw/xlcost", splits=("validation", "test"))
    dd, report = load_corpus("alpaca", data_dir="alpaca.parquet", return_report=True)

| name     | module      | source                                                              |
|----------|-------------|---------------------------------------------------------------------|
| tasks    | ``tasks``   | generated function-writing tasks with tests                         |
| stdlib   | ``stdlib``  | docstring -> function pairs of the standard library                 |
| code     | ``code``    | docstring -> function pairs of the installed, permissive packages   |
| doctest  | ``doctest`` | the sentence above a ``>>>`` example -> the example (same packages) |
| xlcost   | ``xlcost``  | ``codeparrot/xlcost-text-to-code`` / the XLCoST release             |
| alpaca   | ``alpaca``  | ``iamtarun/python_code_instructions_18k_alpaca`` / a file           |
| merged   | ``merged``  | Alpaca (all three) + XLCoST train; XLCoST validation / test         |
| mbpp     | ``mbpp``    | ``google-research-datasets/mbpp`` / ``mbpp.jsonl``                  |
| conala   | ``conala``  | ``neulab/conala`` / ``conala-train.json``                           |
| gfg      | ``gfg``     | TransCoder's GeeksforGeeks programs (GitHub only)                   |
| django   | ``django``  | Oda et al. 2015 (GitHub only)                                       |
| mix      | ``mix``     | every source above but Alpaca, weighted, held-out splits kept apart |

Every source module keeps the same contract (``NAME``, ``SPLITS``, ``OPTIONS`` and
``load(data_dir, *, seed, report, **options)``, see :mod:`codegen_lib.corpora.rows`), so this registry
only checks the options and counts what was dropped. The way Hugging Face ``datasets`` keeps one builder
per dataset behind ``load_dataset``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from codegen_lib.corpora.rows import MalformedRowReport

__all__ = ["CORPORA", "load_corpus", "source", "MalformedRowReport"]

log = logging.getLogger(__name__)

# name -> module of codegen_lib.corpora (imported when first loaded: importing the registry is cheap)
REGISTRY = {
    "tasks": "tasks",
    "stdlib": "stdlib",
    "xlcost": "xlcost",
    "alpaca": "alpaca",
    "merged": "merged",
    "mbpp": "mbpp",
    "conala": "conala",
    "gfg": "gfg",
    "django": "django",
    "code": "code",
    "mix": "mix",
    "doctest": "doctest",
}
CORPORA = tuple(REGISTRY)


def source(name: str) -> ModuleType:
    """The module of corpus ``name`` (ValueError listing :data:`CORPORA` for an unknown name)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown corpus {name!r}; valid names are {', '.join(CORPORA)}")
    return importlib.import_module(f"codegen_lib.corpora.{REGISTRY[name]}")


def load_corpus(
    name: str,
    *,
    data_dir: str | Path | Mapping[str, str | Path] | None = None,
    seed: int = 0,
    splits: Sequence[str] | None = None,
    repair: bool = True,
    alpaca: Any = None,
    return_report: bool = False,
    code_packages: Sequence[str] | None = None,
    **options: Any,
):
    """Load one of the corpora in ``CORPORA`` as a ``datasets.DatasetDict`` (chapter 01).

    Args:
        name: a key of :data:`CORPORA` (the table in this module's docstring).
        data_dir: None loads from the Hugging Face hub (or generates, for tasks / stdlib). Otherwise, for
            "xlcost" the folder of the XLCoST release (holding ``pair_data_tok_full_desc/``); for
            "alpaca" a .json/.jsonl/.parquet file (or a folder of them) in the hub schema; for "merged" a
            mapping ``{"xlcost": ..., "alpaca": ...}`` (a missing key means the hub for that part); for
            mbpp / conala / gfg / django their release folder; for "mix" a folder holding them all
            (``../shared/data/raw``); for "code" and "doctest" the folder of the evaluation sets to
            decontaminate against.
        seed: seeds the generated corpora and the splits that are drawn.
        splits: "xlcost" only: load just these splits, e.g. ``("validation", "test")`` for a release
            copy without training code (a split without code raises ValueError naming this option).
        repair: "xlcost" / "merged": let ``detokenize`` also port Python 2 prints and drop
            docstring-remnant quote lines. False keeps the source's defects.
        alpaca: "alpaca" / "merged": the ``AlpacaSelection`` rule (default: the report's 13,747 rows).
        return_report: also return the :class:`MalformedRowReport`.
        code_packages: "code" and "doctest" only: read just these distributions (``"python-stdlib"`` for
            the standard library); None reads every permissively licensed one.
        options: other options of one source (its module's ``OPTIONS``, e.g. gfg's ``check``, doctest's
            ``heading_summary``).

    Returns:
        ``DatasetDict`` (or ``(DatasetDict, MalformedRowReport)``) whose splits have ``prompt``,
        ``code`` (real Python), ``source`` and ``id`` columns.

    Raises:
        ValueError: unknown name (the message lists ``CORPORA``), an option the corpus does not take,
            bad arguments, a split without code.
        HubUnavailableError: ``data_dir=None`` and the hub is unreachable; the message names
            ``data_dir``.
    """
    module = source(name)
    given = {"splits": splits, "alpaca": alpaca, "code_packages": code_packages,
             "repair": None if repair else False, **options}
    given = {k: v for k, v in given.items() if v is not None}
    for option in given:
        if option not in module.OPTIONS:
            takes = ", ".join(f"{o}=" for o in module.OPTIONS) or "no options"
            raise ValueError(f"{option}= is not an option of the {name!r} corpus (it takes {takes})")
    report = MalformedRowReport(corpus=name)
    dd = module.load(data_dir, seed=seed, report=report, **given)
    if report.dropped and name not in ("code", "doctest", "mix"):
        log.warning("load_corpus(%r) dropped malformed rows: %s", name, report.summary())
    return (dd, report) if return_report else dd
