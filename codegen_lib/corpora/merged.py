"""The report's merged set: all of Alpaca and XLCoST train for training, XLCoST validation / test held
out (chapter 01).

    load_corpus("merged")                                        # both from the hub
    load_corpus("merged", data_dir={"xlcost": "...", "alpaca": "alpaca.parquet"})

``data_dir`` is a mapping ``{"xlcost": folder, "alpaca": file}``; a missing key means the hub for that
part.
"""

from __future__ import annotations

from collections.abc import Mapping

from codegen_lib.corpora.alpaca import AlpacaSelection, alpaca_rows
from codegen_lib.corpora.rows import SPLITS, MalformedRowReport, count_unparseable, to_dataset_dict
from codegen_lib.corpora.xlcost import xlcost_rows

__all__ = ["NAME", "SPLITS", "OPTIONS", "load"]

NAME = "merged"
OPTIONS = ("repair", "alpaca")


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport, repair: bool = True,
         alpaca: AlpacaSelection | None = None):
    """Alpaca (all three splits) + XLCoST train as ``train``; XLCoST validation and test as they are."""
    if data_dir is not None and not isinstance(data_dir, Mapping):
        raise ValueError('for "merged", data_dir is a mapping {"xlcost": folder, "alpaca": file}, or None')
    dirs = dict(data_dir or {})
    unknown = set(dirs) - {"xlcost", "alpaca"}
    if unknown:
        raise ValueError(f"merged data_dir keys must be 'xlcost' and/or 'alpaca', got {sorted(unknown)}")
    al = alpaca_rows(dirs.get("alpaca"), seed, alpaca, report)
    xl = xlcost_rows(dirs.get("xlcost"), SPLITS, repair, report)
    rows = {
        "train": al["train"] + al["validation"] + al["test"] + xl["train"],
        "validation": xl["validation"],
        "test": xl["test"],
    }
    count_unparseable(rows, report)
    return to_dataset_dict(rows)
