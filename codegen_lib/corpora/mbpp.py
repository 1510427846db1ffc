"""MBPP: 974 crowd-sourced Python problems, each with three asserts (chapter 01).

    load_corpus("mbpp", data_dir="../shared/data/raw/mbpp")      # local copy (mbpp.jsonl)
    load_corpus("mbpp")                                          # the hub (Colab)

Splits (the standard ones, by task id): train 374, validation 90, test 500, prompt 10. The prompt is the
problem text, a newline, then the *first* of its three asserts. The assert is the usual help (Austin et
al. 2021 show all three): it gives the function's name and how it is called. The other two asserts stay
unseen, and all three are in ``tests``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from codegen_lib.corpora.rows import (
    MalformedRowReport,
    check_row,
    count_unparseable,
    local_path,
    records_from_hub,
    row,
    standardize_code,
    to_dataset_dict_with_tests,
)

__all__ = ["NAME", "SPLITS", "OPTIONS", "MBPP_HUB", "mbpp_split", "mbpp_entry_point", "mbpp_prompt",
           "mbpp_rows", "read_mbpp", "load"]

NAME = "mbpp"
SPLITS = ("test", "prompt", "validation", "train")
OPTIONS: tuple[str, ...] = ()
# Hub repository, pinned. Schema checked against the public dataset card
# (huggingface.co/datasets/google-research-datasets/mbpp, config "full"): task_id (int), text, code,
# test_list (3 asserts), test_setup_code, challenge_test_list; parquet files full/{split}-*.parquet since
# the "Convert dataset to Parquet" commit; the pin is the commit after it (7bc94ee, "Delete legacy
# dataset_infos.json").
MBPP_HUB = {
    "repo": "google-research-datasets/mbpp",
    "revision": "7bc94ee8bd8f4b07324968e85b7b54f505cba1e5",
    "files": {s: f"full/{s}-00000-of-00001.parquet" for s in ("train", "validation", "test", "prompt")},
}
MBPP_SPLITS = (("test", 11, 510), ("prompt", 1, 10), ("validation", 511, 600), ("train", 601, 974))


def mbpp_split(task_id: int) -> str:
    """The standard MBPP split of a task id: test 11-510, prompt 1-10, validation 511-600, train 601-974."""
    for name, lo, hi in MBPP_SPLITS:
        if lo <= task_id <= hi:
            return name
    raise ValueError(f"MBPP task_id {task_id} is outside 1-974")


_CALL = re.compile(r"assert\s+(?:not\s+)?\(?\s*(?:math\.isclose\(\s*|set\(\s*)?([A-Za-z_]\w*)\s*\(")


def mbpp_entry_point(tests: list[str]) -> str:
    """The function the asserts call (``assert min_cost(...) == 8`` -> ``"min_cost"``), or ""."""
    for test in tests:
        m = _CALL.search(test)
        if m and m.group(1) not in ("isinstance", "len", "sorted", "set", "abs", "round", "str", "list"):
            return m.group(1)
    return ""


def mbpp_prompt(text: str, tests: list[str]) -> str:
    """The problem text, then its first assert on a new line (see the module docstring)."""
    return text.strip() + ("\n" + tests[0].strip() if tests else "")


def mbpp_rows(records: list[dict], report: MalformedRowReport) -> dict[str, list[dict]]:
    """Rows by split from MBPP records (the jsonl or the hub's columns)."""
    out: dict[str, list[dict]] = {name: [] for name, _, _ in MBPP_SPLITS}
    for rec in records:
        task_id = rec.get("task_id")
        row_id = f"mbpp-{task_id}"
        tests = list(rec.get("test_list") or [])
        code = rec.get("code")
        if isinstance(code, str):
            code = standardize_code(code.replace("\t", "    "))
        if not isinstance(task_id, int) or not tests:
            report.total += 1
            report.add(row_id, "missing field")
            continue
        text = rec.get("text")
        prompt = mbpp_prompt(text, tests) if isinstance(text, str) and text.strip() else None
        if not check_row(report, row_id, prompt, code):
            continue
        setup = (rec.get("test_setup_code") or "").strip()
        test_src = "\n".join(([setup] if setup else []) + tests) + "\n"
        out[mbpp_split(task_id)].append(row(prompt, code, "mbpp", row_id, test_src, mbpp_entry_point(tests)))
    return out


def read_mbpp(data_dir: Path) -> list[dict]:
    """The records of ``mbpp.jsonl`` (``data_dir`` is that file or its folder)."""
    path = data_dir / "mbpp.jsonl" if data_dir.is_dir() else data_dir
    if not path.is_file():
        raise FileNotFoundError(f"MBPP not found: expected {path} (the mbpp.jsonl of the release)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport):
    """MBPP as a DatasetDict (``seed`` is unused: the splits are the standard ones)."""
    if data_dir is None:
        from codegen_lib.hub import load_hub_files

        hub = load_hub_files("the MBPP dataset", 'load_corpus("mbpp", data_dir=<folder with mbpp.jsonl>)',
                             MBPP_HUB["repo"], MBPP_HUB["revision"], "parquet", MBPP_HUB["files"])
        rows = mbpp_rows(records_from_hub(hub), report)
    else:
        rows = mbpp_rows(read_mbpp(local_path(data_dir, NAME)), report)
    count_unparseable(rows, report)
    return to_dataset_dict_with_tests(rows)
