"""Alpaca: the report's 18,612 Python instruction -> code pairs, selected and split as the report did
(chapter 01).

    load_corpus("alpaca")                                        # the hub (Colab)
    load_corpus("alpaca", data_dir="alpaca.parquet")             # a file (or folder) in the hub schema

The hub's ``iamtarun/python_code_instructions_18k_alpaca`` has the columns ``instruction``, ``input``,
``output`` and ``prompt`` (the full template). The prompt is the instruction (and the input on a new line
when there is one); the code is the output, without a Markdown fence. Which rows are kept and how they are
split is :class:`AlpacaSelection`.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_lib.corpora.rows import (
    MalformedRowReport,
    check_row,
    count_unparseable,
    standardize_code,
    to_dataset_dict,
)

__all__ = ["NAME", "SPLITS", "OPTIONS", "ALPACA_HUB", "ALPACA_FIELDS", "REPORT_ALPACA", "AlpacaSelection",
           "select_alpaca", "alpaca_row", "read_records", "alpaca_files", "alpaca_rows", "load"]

NAME = "alpaca"
SPLITS = ("train", "validation", "test")
OPTIONS = ("alpaca",)
ALPACA_HUB = "iamtarun/python_code_instructions_18k_alpaca"
ALPACA_FIELDS = ("instruction", "input", "output", "prompt")  # the hub schema; "prompt" is the full template
REPORT_ALPACA = {"rows": 18612, "used": 13747, "train": 10998, "validation": 687, "test": 2062}  # Table 3.1


@dataclass
class AlpacaSelection:
    """Which Alpaca rows are used, and how they are split.

    The report used 13,747 of the 18,612 rows and split them 10,998 / 687 / 2,062 without saying how. That
    split is exactly 80% / 5% / the rest of 13,747 (rounded), so we split the same way. For the selection we
    use a length filter, the most likely rule for a model with a fixed maximum length: keep the shortest
    ``keep_fraction`` of the valid rows by characters of code (ties broken by row order). With the default
    fraction 13747/18612 this keeps exactly 13,747 rows when all 18,612 are valid. Alternatively set
    ``max_code_chars`` for a fixed threshold. Unverified: the real set is not available on the machine this
    was written on, so we cannot say how far our rows are from the report's; only the sizes are reproduced.
    """

    keep_fraction: float = REPORT_ALPACA["used"] / REPORT_ALPACA["rows"]  # ~0.7386; 1.0 keeps every row
    max_code_chars: int | None = None  # if set, keep rows with len(code) <= this instead of the fraction
    train_fraction: float = 0.80  # of the kept rows, rounded
    validation_fraction: float = 0.05  # rounded; the test split gets the rest

    def __post_init__(self) -> None:
        if not 0.0 < self.keep_fraction <= 1.0:
            raise ValueError(f"keep_fraction must be in (0, 1], got {self.keep_fraction}")
        if self.max_code_chars is not None and self.max_code_chars <= 0:
            raise ValueError(f"max_code_chars must be positive, got {self.max_code_chars}")
        if (
            self.train_fraction <= 0
            or self.validation_fraction < 0
            or self.train_fraction + self.validation_fraction >= 1
        ):
            raise ValueError("need train_fraction > 0, validation_fraction >= 0 and their sum < 1")


def select_alpaca(
    rows: Sequence[dict], seed: int = 0, selection: AlpacaSelection | None = None
) -> dict[str, list]:
    """Apply the :class:`AlpacaSelection` rule to valid rows; return ``{"train": [...], "validation": ..., "test": ...}``.

    Deterministic given ``seed``: the kept rows (in their original order) are shuffled with
    ``random.Random(seed)`` and cut into train / validation / test.
    """
    sel = selection or AlpacaSelection()
    order = range(len(rows))
    if sel.max_code_chars is not None:
        keep = [i for i in order if len(rows[i]["code"]) <= sel.max_code_chars]
    else:
        n_keep = round(sel.keep_fraction * len(rows))
        keep = sorted(sorted(order, key=lambda i: (len(rows[i]["code"]), i))[:n_keep])
    random.Random(seed).shuffle(keep)
    n_train = round(sel.train_fraction * len(keep))
    n_val = round(sel.validation_fraction * len(keep))
    return {
        "train": [rows[i] for i in keep[:n_train]],
        "validation": [rows[i] for i in keep[n_train : n_train + n_val]],
        "test": [rows[i] for i in keep[n_train + n_val :]],
    }


_FENCE = re.compile(r"^```[\w+-]*\n(.*?)\n?```\s*$", re.S)


def alpaca_row(raw: Any, index: int, report: MalformedRowReport) -> dict | None:
    row_id = f"alpaca-{index:05d}"
    if not isinstance(raw, Mapping):
        report.total += 1
        report.add(row_id, "missing field")
        return None
    instruction, extra, output = raw.get("instruction"), raw.get("input") or "", raw.get("output")
    if not isinstance(extra, str):
        extra = ""
    prompt = (
        instruction.strip() + ("\n" + extra.strip() if extra.strip() else "")
        if isinstance(instruction, str)
        else None
    )
    code = output
    if isinstance(code, str):
        fenced = _FENCE.match(code.strip())
        code = standardize_code(fenced.group(1) if fenced else code)
    if not check_row(report, row_id, prompt, code):
        return None
    return {"prompt": prompt, "code": code, "source": "alpaca", "id": row_id}


def read_records(path: Path, report: MalformedRowReport) -> list[Any]:
    """Records of one Alpaca file (.json list / .jsonl / .parquet); undecodable or invalid lines are reported."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    data = path.read_bytes()
    if suffix == ".json":
        try:
            obj = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise ValueError(f"{path} is not UTF-8 text: {err}") from err
        except json.JSONDecodeError:
            obj = None  # maybe JSON lines saved as .json
        if obj is not None:
            if isinstance(obj, Mapping):
                for key in ("train", "data", "rows"):
                    if isinstance(obj.get(key), list):
                        return obj[key]
                raise ValueError(f"{path}: a JSON object needs a 'train', 'data' or 'rows' list of rows")
            if not isinstance(obj, list):
                raise ValueError(f"{path}: expected a JSON list of rows, got {type(obj).__name__}")
            return obj
    records: list[Any] = []
    for n, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line.decode("utf-8")))
        except UnicodeDecodeError:
            report.total += 1
            report.add(f"{path.name}:{n}", "undecodable")
        except json.JSONDecodeError:
            report.total += 1
            report.add(f"{path.name}:{n}", "invalid json")
    return records


def alpaca_files(data_dir: Path) -> list[Path]:
    exts = (".json", ".jsonl", ".parquet")
    if data_dir.is_file():
        if data_dir.suffix.lower() not in exts:
            raise ValueError(f"{data_dir}: an Alpaca file must be .json, .jsonl or .parquet")
        return [data_dir]
    if not data_dir.is_dir():
        raise FileNotFoundError(f"Alpaca data not found: {data_dir} is neither a file nor a folder")
    files = sorted(p for p in data_dir.rglob("*") if p.is_file() and p.suffix.lower() in exts)
    if not files:
        raise FileNotFoundError(
            f"no .json, .jsonl or .parquet file under {data_dir} (Alpaca's hub schema expected)"
        )
    return files


def alpaca_rows(data_dir, seed: int, selection: AlpacaSelection | None,
                report: MalformedRowReport) -> dict[str, list]:
    """The selected rows by split, from the hub (``data_dir`` None) or a file / folder."""
    if data_dir is None:
        from codegen_lib.hub import hub_dataset

        hub = hub_dataset(
            "the Alpaca Python 18k dataset",
            'load_corpus("alpaca", data_dir=<a .json/.jsonl/.parquet file in the hub schema>)',
            ALPACA_HUB,
        )
        records: list[Any] = [r for split in sorted(hub) for r in hub[split]]
    else:
        records = []
        for path in alpaca_files(Path(data_dir).expanduser()):
            records.extend(read_records(path, report))
    valid = [r for i, raw in enumerate(records) if (r := alpaca_row(raw, i, report)) is not None]
    return select_alpaca(valid, seed=seed, selection=selection)


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport,
         alpaca: AlpacaSelection | None = None):
    """Alpaca as a DatasetDict: ``alpaca`` is the selection rule (default: the report's 13,747 rows,
    80/5/15 split), ``seed`` the shuffle before the split."""
    if isinstance(data_dir, Mapping):
        raise ValueError("for 'alpaca', data_dir is one file or folder, not a mapping")
    rows = alpaca_rows(data_dir, seed, alpaca, report)
    count_unparseable(rows, report)
    return to_dataset_dict(rows)
