"""CoNaLa (codegen_lib.corpora.conala): the split by question, the held-out test file."""

import json

import pytest
from conftest import SHARED_DATA, require_shared

from codegen_lib.data import load_corpus

RAW = SHARED_DATA / "raw"


def _need(sub: str):
    return require_shared(RAW / sub)



# ---------------------------------------------------------------------------------------------------------------
# CoNaLa
# ---------------------------------------------------------------------------------------------------------------
def test_conala_real_split_is_deterministic_and_by_question():
    dd, report = load_corpus("conala", data_dir=_need("conala"), return_report=True)
    sizes = {k: len(v) for k, v in dd.items()}
    assert set(sizes) == {"train", "validation"} and sum(sizes.values()) == 2379
    assert 180 <= sizes["validation"] <= 300
    assert report.dropped == 0
    again = load_corpus("conala", data_dir=_need("conala"))
    assert again["validation"]["id"] == dd["validation"]["id"]
    qid = lambda rid: rid.split("-")[1]  # noqa: E731
    assert not {qid(r) for r in dd["train"]["id"]} & {qid(r) for r in dd["validation"]["id"]}
    raw = json.loads((RAW / "conala" / "conala-train.json").read_text())
    no_rewrite = [r for r in raw if not r["rewritten_intent"]]
    assert len(no_rewrite) == 79
    prompts = set(dd["train"]["prompt"]) | set(dd["validation"]["prompt"])
    assert no_rewrite[0]["intent"].strip() in prompts  # falls back to the intent


def test_conala_refuses_the_test_file(tmp_path):
    (tmp_path / "conala-test.json").write_text("[]")
    with pytest.raises(ValueError, match="held out"):
        load_corpus("conala", data_dir=tmp_path / "conala-test.json")
