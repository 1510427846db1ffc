"""What every corpus shares: the row columns, the row check, the malformed-row report (chapter 01).

Every source module of :mod:`codegen_lib.corpora` keeps one contract:

* ``NAME`` (the corpus name), ``SPLITS`` (the splits it returns), ``OPTIONS`` (the keyword options
  its ``load`` takes besides ``data_dir`` and ``seed``);
* ``load(data_dir=None, *, seed=0, report, **options) -> DatasetDict`` whose rows have ``prompt``,
  ``code``, ``source`` and ``id`` (and ``tests`` / ``entry_point`` where the source has tests). Rows
  that cannot be used are dropped and counted in ``report``, a :class:`MalformedRowReport`.

This module holds the pieces they share: :class:`MalformedRowReport`, :func:`check_row`,
:func:`standardize_code`, :func:`count_unparseable` and :func:`to_dataset_dict`.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # datasets is imported lazily: importing a corpus module stays cheap
    from datasets import DatasetDict

__all__ = [
    "COLUMNS",
    "TEST_COLUMNS",
    "SPLITS",
    "MalformedRowReport",
    "check_row",
    "row",
    "standardize_code",
    "report_standardize",
    "count_unparseable",
    "to_dataset_dict",
    "to_dataset_dict_with_tests",
    "local_path",
    "records_from_hub",
    "no_data_dir",
    "check_generated",
    "stable_fraction",
]

COLUMNS = ("prompt", "code", "source", "id")
TEST_COLUMNS = ("tests", "entry_point")  # mbpp, gfg, code, mix (and tasks): "" where a row has no tests
SPLITS = ("train", "validation", "test")


@dataclass
class MalformedRowReport:
    """What was dropped while loading a corpus, and why (chapter 01).

    ``reasons`` counts dropped rows by reason ("empty code", "empty prompt", "missing field",
    "undecodable", "invalid json"); ``examples`` keeps the first few ``(row id, reason)`` pairs;
    ``unparseable`` counts rows that were *kept* although their code does not parse with ``ast``.
    """

    corpus: str
    total: int = 0  # rows read
    reasons: Counter = field(default_factory=Counter)
    examples: list[tuple[str, str]] = field(default_factory=list)
    unparseable: int = 0
    max_examples: int = 10
    notes: dict = field(default_factory=dict)  # loader-specific counts (e.g. gfg's title rule)

    @property
    def dropped(self) -> int:
        return sum(self.reasons.values())

    @property
    def kept(self) -> int:
        return self.total - self.dropped

    def add(self, row_id: str, reason: str) -> None:
        self.reasons[reason] += 1
        if len(self.examples) < self.max_examples:
            self.examples.append((row_id, reason))

    def merge(self, other: MalformedRowReport) -> None:
        self.total += other.total
        self.unparseable += other.unparseable
        for rid, why in other.examples:
            if len(self.examples) < self.max_examples:
                self.examples.append((rid, why))
        self.reasons.update(other.reasons)

    def summary(self) -> str:
        why = ", ".join(f"{n} {r}" for r, n in self.reasons.most_common()) or "none"
        return (
            f"{self.corpus}: {self.total} rows read, {self.kept} kept, {self.dropped} dropped "
            f"({why}); {self.unparseable} kept rows do not parse"
        )


def check_row(report: MalformedRowReport, row_id: str, prompt: Any, code: Any) -> bool:
    """Count one row in ``report``; return True if it is usable (both fields non-empty strings)."""
    report.total += 1
    if not isinstance(prompt, str) or not isinstance(code, str):
        report.add(row_id, "missing field")
        return False
    if not code.strip():
        report.add(row_id, "empty code")
        return False
    if not prompt.strip():
        report.add(row_id, "empty prompt")
        return False
    return True


def row(prompt: str, code: str, source: str, row_id: str, tests: str = "",
        entry_point: str = "") -> dict:
    """One row of a corpus with tests columns (``""`` where the source has none)."""
    return {"prompt": prompt, "code": code, "source": source, "id": row_id, "tests": tests,
            "entry_point": entry_point}


def standardize_code(code: str) -> str:
    """Standardize code without changing what it means (chapter 01).

    Line endings become ``"\\n"``, a leading byte-order mark goes, trailing whitespace is stripped from
    every line, blank lines at the start and end go, and the text ends with exactly one ``"\\n"``.
    Indentation, case, punctuation and tabs are left alone. (The only thing this could alter is trailing
    spaces on a line inside a triple-quoted string.) Idempotent:
    ``standardize_code(standardize_code(c)) == standardize_code(c)``.
    """
    text = code.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")


def report_standardize(text: str) -> str:
    """The report's standardization: lower-case, then strip ASCII punctuation (chapter 02 shows why not).

    ``report_standardize("Create a python function.") == "create a python function"`` as in the report,
    but ``report_standardize("def add(a, b):\\n    return a+b")`` is ``"def addab\\n    return ab"``:
    names lose their case (``MAX`` vs ``max``), ``_``, brackets, colons, operators and string quotes
    vanish. The code cannot be recovered, and a model trained on it cannot write Python. This project
    standardizes with :func:`standardize_code` instead.
    """
    return _PUNCTUATION.sub("", text.lower())


def count_unparseable(split_rows: Mapping[str, list[dict]], report: MalformedRowReport) -> None:
    """Add to ``report.unparseable`` the kept rows whose code ``ast.parse`` refuses."""
    import ast

    for rows in split_rows.values():
        for r in rows:
            try:
                ast.parse(r["code"])
            except (SyntaxError, ValueError):
                report.unparseable += 1


def to_dataset_dict(split_rows: Mapping[str, list[dict]],
                    columns: Sequence[str] = COLUMNS) -> DatasetDict:
    """``{split: rows}`` as a ``DatasetDict`` of string ``columns``; an empty split is an error."""
    from datasets import Dataset, DatasetDict, Features, Value

    features = Features({c: Value("string") for c in columns})
    out = {}
    for name, rows in split_rows.items():
        if not rows:
            raise ValueError(f"split {name!r} is empty after loading; refusing to return an empty set")
        out[name] = Dataset.from_dict({c: [r[c] for r in rows] for c in columns}, features=features)
    return DatasetDict(out)


def to_dataset_dict_with_tests(split_rows: Mapping[str, list[dict]]) -> DatasetDict:
    """Like :func:`to_dataset_dict`, with the ``tests`` / ``entry_point`` columns ("" where none)."""
    return to_dataset_dict({s: [{**dict.fromkeys(TEST_COLUMNS, ""), **r} for r in rows]
                            for s, rows in split_rows.items()}, COLUMNS + TEST_COLUMNS)


def local_path(data_dir: str | Path, name: str) -> Path:
    """``data_dir`` as a Path (``~`` expanded); FileNotFoundError naming the corpus when it is missing."""
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{name}: data_dir {path} does not exist")
    return path


def records_from_hub(ds: Any) -> list[dict]:
    """Rows of every split of a hub ``DatasetDict`` as plain dicts."""
    return [dict(r) for split in ds for r in ds[split]]


def no_data_dir(name: str, data_dir: Any) -> None:
    """A generated corpus takes no ``data_dir``: ValueError when one is given."""
    if data_dir is not None:
        raise ValueError(f"the {name!r} corpus is generated offline; it takes no data_dir")


def check_generated(dd: Any, name: str, report: MalformedRowReport) -> Any:
    """Check a generated ``DatasetDict`` row by row: rows that fail :func:`check_row` are dropped and
    counted, and kept rows whose code does not parse are counted; returns the (filtered) DatasetDict."""
    keep_by_split = {}
    for split, ds in dd.items():
        missing = [c for c in COLUMNS if c not in ds.column_names]
        if missing:
            raise ValueError(f"corpus {name!r} split {split!r} lacks the columns {missing}")
        keep = [
            i for i, (p, c, rid) in enumerate(zip(ds["prompt"], ds["code"], ds["id"]))
            if check_row(report, str(rid), p, c)
        ]
        keep_by_split[split] = keep
        codes = ds["code"]
        count_unparseable({split: [{"code": codes[i]} for i in keep]}, report)
    if report.dropped:
        from datasets import DatasetDict

        dd = DatasetDict({s: ds.select(keep_by_split[s]) for s, ds in dd.items()})
    return dd


def stable_fraction(key: str) -> float:
    """A stable number in [0, 1) for ``key`` (sha256), used for deterministic splits."""
    import hashlib

    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
