"""The merged set (codegen_lib.corpora.merged) and XLCoST's full local layout, on a small release."""


import pytest
from corpus_fixtures import alpaca_rows, write_jsonl

from codegen_lib.data import (
    load_corpus,
    split_sizes,
)


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
    alpaca = write_jsonl(tmp_path / "a.jsonl", alpaca_rows(40))
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
    alpaca = write_jsonl(tmp_path / "a.jsonl", alpaca_rows(40))
    with pytest.raises(ValueError, match="no code"):
        load_corpus("merged", data_dir={"xlcost": xlcost_dir, "alpaca": alpaca})
