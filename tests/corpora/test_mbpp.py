"""MBPP (codegen_lib.corpora.mbpp): the split rule, prompts, the real copy in ../shared/data."""

import json

import pytest
from conftest import SHARED_DATA, require_shared

from codegen_lib.corpora.mbpp import mbpp_entry_point, mbpp_prompt, mbpp_split
from codegen_lib.data import load_corpus

RAW = SHARED_DATA / "raw"


def _need(sub: str):
    return require_shared(RAW / sub)



# ---------------------------------------------------------------------------------------------------------------
# MBPP
# ---------------------------------------------------------------------------------------------------------------
def test_mbpp_split_rule():
    assert [mbpp_split(i) for i in (1, 10, 11, 510, 511, 600, 601, 974)] == [
        "prompt", "prompt", "test", "test", "validation", "validation", "train", "train"]
    with pytest.raises(ValueError, match="outside"):
        mbpp_split(975)


def test_mbpp_prompt_and_entry_point():
    tests = ["assert min_cost([[1]], 0, 0) == 1", "assert min_cost([[2]], 0, 0) == 2"]
    assert mbpp_prompt("Find the cost.", tests) == "Find the cost.\nassert min_cost([[1]], 0, 0) == 1"
    assert mbpp_entry_point(tests) == "min_cost"
    assert mbpp_entry_point(["assert math.isclose(area(2), 4.0)"]) == "area"


def test_mbpp_real_splits_and_tests_pass():
    dd, report = load_corpus("mbpp", data_dir=_need("mbpp"), return_report=True)
    assert {k: len(v) for k, v in dd.items()} == {"test": 500, "prompt": 10, "validation": 90, "train": 374}
    assert report.dropped == 0 and report.total == 974
    row = dd["test"][0]
    assert row["id"] == "mbpp-11" and row["tests"].count("assert") == 3
    assert row["prompt"].splitlines()[1] == row["tests"].splitlines()[0]  # the first assert is in the prompt
    assert "\t" not in row["code"] and "\r" not in row["code"]
    from codegen_lib.sandbox import run_many

    sample = [dd["test"][i] for i in range(0, 500, 50)]
    results = run_many([(r["code"], r["tests"]) for r in sample])
    assert all(r.status == "pass" for r in results), [r.status for r in results]
    broken = run_many([("def f():\n    return 0\n", sample[0]["tests"])])
    assert broken[0].status != "pass"


def test_mbpp_malformed_rows_are_counted(tmp_path):
    rows = [
        {"task_id": 700, "text": "Add.", "code": "def add(a, b):\n\treturn a + b", "test_list": ["assert add(1, 2) == 3"]},
        {"task_id": 701, "text": "Empty.", "code": "   ", "test_list": ["assert f() == 1"]},
        {"task_id": 702, "text": None, "code": "def g():\n    return 1", "test_list": ["assert g() == 1"]},
        {"task_id": 703, "text": "No tests.", "code": "def h():\n    return 1", "test_list": []},
    ]
    (tmp_path / "mbpp.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(ValueError, match="empty"):  # only train has rows; the other splits are empty
        load_corpus("mbpp", data_dir=tmp_path)
    from codegen_lib.corpora.mbpp import mbpp_rows
    from codegen_lib.corpora.rows import MalformedRowReport

    report = MalformedRowReport("mbpp")
    out = mbpp_rows(rows, report)
    assert [r["id"] for r in out["train"]] == ["mbpp-700"]
    assert out["train"][0]["code"] == "def add(a, b):\n    return a + b\n"
    assert report.reasons == {"empty code": 1, "missing field": 2}
