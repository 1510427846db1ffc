"""load_corpus: XLCoST (real val/test), Alpaca (fixtures in the hub schema), merged, dispatch, stats."""

import ast
import json
import time

import pytest
from datasets import Dataset, DatasetDict

from codegen_lib.corpora import stdlib as stdlib_module
from codegen_lib.corpora import tasks as tasks_module
from codegen_lib.corpora.alpaca import REPORT_ALPACA, AlpacaSelection, select_alpaca
from codegen_lib.corpora.xlcost_tokens import detokenize
from codegen_lib.data import (
    COLUMNS,
    CORPORA,
    examples,
    length_summary,
    lengths,
    load_corpus,
    report_standardize,
    split_sizes,
    standardize_code,
    truncation_counts,
)
from codegen_lib.hub import HubUnavailableError


# ---------------------------------------------------------------------------------------------------------------
# Names, standardization
# ---------------------------------------------------------------------------------------------------------------
def test_unknown_corpus_lists_valid_names():
    with pytest.raises(ValueError) as info:
        load_corpus("codesearchnet")
    assert all(name in str(info.value) for name in CORPORA)


def test_standardize_code_keeps_code_intact():
    raw = "\ufeff\r\n\r\ndef f(x):  \r\n\tif x:\r\n\t\treturn 'A,  b'   \r\n\r\n\r\n"
    out = standardize_code(raw)
    assert out == "def f(x):\n\tif x:\n\t\treturn 'A,  b'\n"
    assert standardize_code(out) == out
    assert ast.dump(ast.parse(out)) == ast.dump(ast.parse(raw.lstrip("\ufeff").replace("\r\n", "\n")))
    assert standardize_code("  \n\n") == ""


def test_report_standardize_reproduces_report_and_breaks_code():
    assert report_standardize("Create a python function.") == "create a python function"
    code = "def add_two(a, b):\n    return a+b\n"
    broken = report_standardize(code)
    assert broken == "def addtwoa b\n    return ab\n"
    with pytest.raises(SyntaxError):
        ast.parse(broken)


# ---------------------------------------------------------------------------------------------------------------
# XLCoST
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def xlcost_local(xlcost_dir):
    return load_corpus("xlcost", data_dir=xlcost_dir, splits=("validation", "test"), return_report=True)


def test_xlcost_local_val_test(xlcost_local):
    dd, report = xlcost_local
    assert split_sizes(dd) == {"validation": 472, "test": 887}
    for ds in dd.values():
        assert tuple(ds.column_names) == COLUMNS
        assert set(ds["source"]) == {"xlcost"}
        assert len(set(ds["id"])) == len(ds)
    assert report.dropped == 0 and report.total == 1359
    parses = 1359 - report.unparseable
    assert parses / 1359 >= 0.96  # repair=True by default
    row = dd["test"][0]
    assert " | " in row["prompt"] and "NEW_LINE" not in row["code"] and row["code"].endswith("\n")
    print(f"\n{report.summary()}")


def test_xlcost_code_is_the_detokenized_release(xlcost_dir, xlcost_local):
    dd, _ = xlcost_local
    first_line = (
        (xlcost_dir / "pair_data_tok_full_desc/Python-desc/val-Python-desc-tok.py").read_text().split("\n")[0]
    )
    assert dd["validation"][0]["code"] == standardize_code(detokenize(first_line, repair=True))


def test_xlcost_repair_false_keeps_source_defects(xlcost_dir, xlcost_local):
    _, repaired = xlcost_local
    _, faithful = load_corpus(
        "xlcost", data_dir=xlcost_dir, splits=("test",), repair=False, return_report=True
    )
    assert faithful.unparseable > 0 and faithful.total == 887


def test_xlcost_train_without_code_is_a_clear_error(xlcost_dir):
    with pytest.raises(ValueError) as info:
        load_corpus("xlcost", data_dir=xlcost_dir)
    msg = str(info.value)
    assert "no code" in msg and 'splits=("validation", "test")' in msg


def test_xlcost_bad_splits(xlcost_dir):
    with pytest.raises(ValueError, match="subset"):
        load_corpus("xlcost", data_dir=xlcost_dir, splits=("dev",))
    with pytest.raises(ValueError, match="splits= is not an option of the 'alpaca' corpus"):
        load_corpus("alpaca", splits=("test",))


@pytest.mark.parametrize("name", ["xlcost", "alpaca", "merged"])
def test_hub_unreachable_is_fast_and_names_local_option(name):
    t0 = time.perf_counter()
    with pytest.raises(HubUnavailableError) as info:
        load_corpus(name)
    assert time.perf_counter() - t0 < 5
    assert "data_dir" in str(info.value)


# ---------------------------------------------------------------------------------------------------------------
# Alpaca, on fixtures in the hub schema
# ---------------------------------------------------------------------------------------------------------------
def _alpaca_rows(n):
    rows = []
    for i in range(n):
        body = "\n".join(f"    x{j} = {i} + {j}" for j in range(i % 7 + 1))
        rows.append(
            {
                "instruction": f"Write function number {i}.",
                "input": "[1, 2]" if i % 3 == 0 else "",
                "output": f"def f{i}(x):\n{body}\n    return x\n",
                "prompt": f"Below is an instruction... {i}",
            }
        )
    return rows


def _write_jsonl(path, rows, extra_lines=()):
    lines = [json.dumps(r).encode() for r in rows] + list(extra_lines)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_alpaca_jsonl_with_malformed_rows(tmp_path):
    good = _alpaca_rows(40)
    bad = [
        {"instruction": "Empty code", "input": "", "output": "   ", "prompt": ""},
        {"input": "", "output": "x = 1", "prompt": ""},  # no instruction
        {"instruction": "No output", "input": ""},
    ]
    path = _write_jsonl(tmp_path / "alpaca.jsonl", good + bad, [b'{"instruction": "\xff\xfe"}', b"{not json"])
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
    path = _write_jsonl(tmp_path / "a.jsonl", _alpaca_rows(60))
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

    rows = _alpaca_rows(40)
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
    rows = _alpaca_rows(40)
    rows[0]["output"] = "```python\ndef g():\n    return 1\n```"
    path = _write_jsonl(tmp_path / "a.jsonl", rows)
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
    path = _write_jsonl(tmp_path / "a.jsonl", _alpaca_rows(6))
    with pytest.raises(ValueError, match="empty"):
        load_corpus("alpaca", data_dir=path)


# ---------------------------------------------------------------------------------------------------------------
# Merged, on a small release layout with training code
# ---------------------------------------------------------------------------------------------------------------
def _write_release(root, split, programs):
    desc = root / "pair_data_tok_full_desc" / "Python-desc"
    snip = root / "pair_data_tok_1_comment" / "Python-comment"
    desc.mkdir(parents=True, exist_ok=True)
    snip.mkdir(parents=True, exist_ok=True)
    (desc / f"{split}-Python-map.jsonl").write_text("".join(f"{pid}\n" for pid, _, _ in programs))
    (desc / f"{split}-Python-desc-tok.txt").write_text("".join(f"Title {pid}\n" for pid, _, _ in programs))
    (desc / f"{split}-Python-desc-tok.py").write_text("".join(f"{code}\n" for _, code, _ in programs))
    ids = [f"{pid}-Python-{k + 1}" for pid, _, comments in programs for k in range(len(comments))]
    texts = [c for _, _, comments in programs for c in comments]
    (snip / f"{split}-Python-map.jsonl").write_text("".join(f"{i}\n" for i in ids))
    (snip / f"{split}-Python-comment-tok.txt").write_text("".join(f"{t}\n" for t in texts))


@pytest.fixture()
def tiny_release(tmp_path):
    root = tmp_path / "xlcost"
    code = "def f ( x ) : NEW_LINE INDENT return x NEW_LINE DEDENT"
    _write_release(root, "train", [(i, code, ["Function", "Driver code"]) for i in range(1, 6)])
    _write_release(root, "val", [(10, code, ["Only"]), (11, code, [])])
    _write_release(root, "test", [(20, code, []), (21, "", ["Empty"]), (22, code, ["A"])])
    return root


def test_xlcost_full_local_layout(tiny_release):
    dd, report = load_corpus("xlcost", data_dir=tiny_release, return_report=True)
    assert split_sizes(dd) == {"train": 5, "validation": 2, "test": 2}
    assert report.reasons == {"empty code": 1} and report.examples == [("xlcost-21", "empty code")]
    assert dd["train"][0]["prompt"] == "Title 1 | Function ; Driver code"
    assert list(dd["validation"]["prompt"]) == ["Title 10 | Only", "Title 11"]
    assert dd["train"][0]["code"] == "def f(x):\n    return x\n"


def test_merged(tiny_release, tmp_path):
    alpaca = _write_jsonl(tmp_path / "a.jsonl", _alpaca_rows(40))
    dd = load_corpus("merged", data_dir={"xlcost": tiny_release, "alpaca": alpaca})
    al = load_corpus("alpaca", data_dir=alpaca)
    xl = load_corpus("xlcost", data_dir=tiny_release)
    assert len(dd["train"]) == sum(len(ds) for ds in al.values()) + len(xl["train"])
    assert set(list(dd["train"]["source"])) == {"alpaca", "xlcost"}
    assert list(dd["validation"]["id"]) == list(xl["validation"]["id"]) and list(dd["test"]["id"]) == list(
        xl["test"]["id"]
    )
    with pytest.raises(ValueError, match="mapping"):
        load_corpus("merged", data_dir=tiny_release)
    with pytest.raises(ValueError, match="keys"):
        load_corpus("merged", data_dir={"codealpaca": alpaca})


def test_merged_needs_xlcost_train_code(xlcost_dir, tmp_path):
    alpaca = _write_jsonl(tmp_path / "a.jsonl", _alpaca_rows(40))
    with pytest.raises(ValueError, match="no code"):
        load_corpus("merged", data_dir={"xlcost": xlcost_dir, "alpaca": alpaca})


# ---------------------------------------------------------------------------------------------------------------
# Offline generated corpora: dispatch
# ---------------------------------------------------------------------------------------------------------------
def _fake_corpus(seed, extra_bad=False):
    rows = {"prompt": ["p1", "p2"], "code": ["x = 1\n", "" if extra_bad else "y = 2\n"], "source": ["t", "t"]}
    rows["id"] = [f"{seed}-a", f"{seed}-b"]
    return DatasetDict({s: Dataset.from_dict(rows) for s in ("train", "validation", "test")})


def test_tasks_and_stdlib_dispatch(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks_module, "build_task_corpus",
                        lambda seed=0: calls.append(("tasks", seed)) or _fake_corpus(seed))
    monkeypatch.setattr(stdlib_module, "build_stdlib_corpus",
                        lambda seed=0: calls.append(("stdlib", seed)) or _fake_corpus(seed, extra_bad=True))
    dd = load_corpus("tasks", seed=3)
    assert calls == [("tasks", 3)] and list(dd["train"]["id"]) == ["3-a", "3-b"]
    dd, report = load_corpus("stdlib", return_report=True)
    assert report.reasons == {"empty code": 3} and split_sizes(dd) == {"train": 1, "validation": 1, "test": 1}
    with pytest.raises(ValueError, match="data_dir"):
        load_corpus("tasks", data_dir="somewhere")


# ---------------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------------
class WordTokenizer:
    def encode(self, text):
        return list(range(len(text.split())))


@pytest.fixture()
def small_dd():
    return DatasetDict(
        {
            "train": Dataset.from_dict(
                {
                    "prompt": ["add two numbers", "a much longer prompt with seven words"],
                    "code": ["def f ( a , b ) :", "x = 1"],
                    "source": ["t", "t"],
                    "id": ["0", "1"],
                }
            ),
            "test": Dataset.from_dict({"prompt": ["p"], "code": ["c"], "source": ["t"], "id": ["2"]}),
        }
    )


def test_lengths_and_summary(small_dd):
    assert lengths(small_dd["train"], "prompt") == [15, 37]
    assert lengths(small_dd["train"], "code", WordTokenizer()) == [8, 3]
    table = length_summary(small_dd, tokenizer=WordTokenizer())
    row = next(r for r in table if (r["split"], r["column"], r["unit"]) == ("train", "prompt", "tokens"))
    assert row["count"] == 2 and row["max"] == 7 and row["mean"] == 5.0
    assert {r["unit"] for r in length_summary(small_dd)} == {"chars"}
    with pytest.raises(ValueError, match="column"):
        lengths(small_dd["train"], "text")


def test_truncation_counts(small_dd):
    counts = truncation_counts(small_dd, WordTokenizer(), max_src_len=4, max_tgt_len=4)
    # row 0: prompt 3 + <eos> = 4 (fits), code 8 + 1 special = 9 > 4 (cut); row 1: prompt 7 + 1 (cut), code 3 + 1 = 4
    assert counts["train"] == {"rows": 2, "src_truncated": 1, "tgt_truncated": 1, "any_truncated": 2}
    # one token less of budget cuts row 0's prompt too, exactly as the collator's prompt_ids[:max_src_len - 1]
    assert truncation_counts(small_dd, WordTokenizer(), max_src_len=3, max_tgt_len=4)["train"]["src_truncated"] == 2
    assert counts["test"]["any_truncated"] == 0
    with pytest.raises(ValueError):
        truncation_counts(small_dd, WordTokenizer(), max_src_len=0, max_tgt_len=4)


def test_examples_are_deterministic(small_dd):
    assert examples(small_dd, "train", n=1, seed=5) == examples(small_dd, "train", n=1, seed=5)
    assert len(examples(small_dd, "train", n=10)) == 2
    with pytest.raises(ValueError, match="split"):
        examples(small_dd, "validation")
