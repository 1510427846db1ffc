"""Alpaca (codegen_lib.corpora.alpaca), on fixtures in the hub schema; the report's selection."""

import json

import pytest
from corpus_fixtures import alpaca_rows, write_jsonl

from codegen_lib.corpora.alpaca import REPORT_ALPACA, AlpacaSelection, select_alpaca
from codegen_lib.data import (
    load_corpus,
    split_sizes,
    standardize_code,
)


# ---------------------------------------------------------------------------------------------------------------
# Alpaca, on fixtures in the hub schema
# ---------------------------------------------------------------------------------------------------------------
def test_alpaca_jsonl_with_malformed_rows(tmp_path):
    good = alpaca_rows(40)
    bad = [
        {"instruction": "Empty code", "input": "", "output": "   ", "prompt": ""},
        {"input": "", "output": "x = 1", "prompt": ""},  # no instruction
        {"instruction": "No output", "input": ""},
    ]
    path = write_jsonl(tmp_path / "alpaca.jsonl", good + bad, [b'{"instruction": "\xff\xfe"}', b"{not json"])
    dd, report = load_corpus("alpaca", data_dir=path, return_report=True)
    assert report.total == 45 and report.dropped == 5
    assert report.reasons == {"empty code": 1, "missing field": 2, "undecodable": 1, "invalid json": 1}
    n_keep = round(AlpacaSelection().keep_fraction * 40)
    n_train, n_val = round(0.8 * n_keep), round(0.05 * n_keep)
    assert split_sizes(dd) == {"train": n_train, "validation": n_val, "test": n_keep - n_train - n_val}
    # the kept rows are the shortest by code length
    kept = sorted(i for ds in dd.values() for i in list(ds["id"]))
    by_len = sorted(range(40), key=lambda i: (len(standardize_code(good[i]["output"])), i))[:n_keep]
    assert kept == sorted(f"alpaca-{i:05d}" for i in by_len)
    assert "alpaca-00000" in kept  # one of the shortest programs
    row = next(r for ds in dd.values() for r in ds if r["id"] == "alpaca-00000")
    assert row["prompt"] == "Write function number 0.\n[1, 2]" and row["code"] == standardize_code(
        good[0]["output"]
    )
    assert set(list(dd["train"]["source"])) == {"alpaca"}


def test_alpaca_split_is_seeded(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", alpaca_rows(60))
    a = load_corpus("alpaca", data_dir=path, seed=1)
    b = load_corpus("alpaca", data_dir=path, seed=1)
    c = load_corpus("alpaca", data_dir=path, seed=2)
    assert list(a["train"]["id"]) == list(b["train"]["id"])
    assert list(a["train"]["id"]) != list(c["train"]["id"])
    assert sorted(list(a["train"]["id"]) + list(a["validation"]["id"]) + list(a["test"]["id"])) == sorted(
        list(c["train"]["id"]) + list(c["validation"]["id"]) + list(c["test"]["id"])
    )


def test_alpaca_json_parquet_and_folder(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = alpaca_rows(40)
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "rows.json").write_text(json.dumps(rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "rows.parquet")
    nested = tmp_path / "hub" / "data"
    nested.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), nested / "train-00000-of-00001.parquet")
    sizes = {
        split_sizes(load_corpus("alpaca", data_dir=p)).__repr__()
        for p in (tmp_path / "j", tmp_path / "rows.parquet", tmp_path / "hub")
    }
    assert len(sizes) == 1


def test_alpaca_fenced_output_and_bad_paths(tmp_path):
    rows = alpaca_rows(40)
    rows[0]["output"] = "```python\ndef g():\n    return 1\n```"
    path = write_jsonl(tmp_path / "a.jsonl", rows)
    sel = AlpacaSelection(keep_fraction=1.0)
    dd = load_corpus("alpaca", data_dir=path, alpaca=sel)
    codes = {r["id"]: r["code"] for ds in dd.values() for r in ds}
    assert codes["alpaca-00000"] == "def g():\n    return 1\n"
    with pytest.raises(FileNotFoundError):
        load_corpus("alpaca", data_dir=tmp_path / "missing")
    (tmp_path / "a.csv").write_text("x")
    with pytest.raises(ValueError, match="json"):
        load_corpus("alpaca", data_dir=tmp_path / "a.csv")


def test_selection_reproduces_report_sizes():
    rows = [{"code": "x" * (i % 997 + 1)} for i in range(REPORT_ALPACA["rows"])]
    out = select_alpaca(rows, seed=0)
    sizes = {k: len(v) for k, v in out.items()}
    assert sizes == {k: REPORT_ALPACA[k] for k in ("train", "validation", "test")}
    assert max(len(r["code"]) for v in out.values() for r in v) <= 997


def test_selection_fixed_threshold_and_validation():
    rows = [{"code": "x" * n} for n in range(1, 101)]
    out = select_alpaca(rows, selection=AlpacaSelection(max_code_chars=40))
    assert sum(len(v) for v in out.values()) == 40
    with pytest.raises(ValueError):
        AlpacaSelection(keep_fraction=0.0)
    with pytest.raises(ValueError):
        AlpacaSelection(train_fraction=0.9, validation_fraction=0.2)


def test_too_few_rows_refuses_an_empty_split(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", alpaca_rows(6))
    with pytest.raises(ValueError, match="empty"):
        load_corpus("alpaca", data_dir=path)
