"""The mix corpus: weights, separate held-out splits, the denoising warm-up task."""

import pytest
from conftest import SHARED_DATA, require_shared

from codegen_lib.corpora.mix import DEFAULT_WEIGHTS, denoising_rows, weighted

RAW = SHARED_DATA / "raw"


def test_weighted_repeats_and_subsamples():
    rows = [{"i": i} for i in range(10)]
    assert len(weighted(rows, 2.0, 0)) == 20
    half = weighted(rows, 1.5, 0)
    assert len(half) == 15 and half[:10] == rows
    assert weighted(rows, 0.5, 0) == weighted(rows, 0.5, 0)
    assert weighted(rows, 0.0, 0) == []
    with pytest.raises(ValueError):
        weighted(rows, -1, 0)


def test_denoising_masks_spans_and_keeps_the_target():
    rows = [{"prompt": "doc", "code": "def f(a, b):\n    total = a + b\n    return total * 2\n", "source": "code",
             "id": "p:m:f"}] * 3
    out = denoising_rows(rows, seed=0, mask_rate=0.3)
    assert all(r["code"] == rows[0]["code"] for r in out)
    assert all("<mask>" in r["prompt"] and r["prompt"] != r["code"] for r in out)
    assert out[0]["source"] == "code-denoise"
    assert denoising_rows(rows, seed=0, mask_rate=0.3) == out


@pytest.mark.slow  # ~60 s: the mix of every real source
def test_real_mix(tmp_path, monkeypatch):
    require_shared(RAW / "mbpp")
    from codegen_lib.corpora.mix import build_mix

    # the code corpus and tasks are exercised elsewhere; keep this test to the real release copies
    dd, report = build_mix(data_dir=RAW, sources=("mbpp", "conala", "django", "xlcost", "gfg"))
    by_src = report.notes["train_rows_by_source"]
    assert by_src["mbpp"] == 374 * DEFAULT_WEIGHTS["mbpp"]
    assert by_src["django"] == 16000 * DEFAULT_WEIGHTS["django"]
    assert by_src["xlcost"] == 472 * DEFAULT_WEIGHTS["xlcost"]  # XLCoST validation trains
    for split in ("test_mbpp", "validation_conala", "test_django", "test_xlcost", "test_gfg"):
        assert split in dd
    assert len(dd["test_mbpp"]) == 500 and len(dd["test_xlcost"]) == 887 and len(dd["test_django"]) == 1805
    assert "validation_xlcost" not in dd
    train_ids = set(dd["train"]["id"])
    for split in dd:
        if split != "train":
            assert not train_ids & set(dd[split]["id"]), split
    assert set(dd["validation"]["source"]) == {"mbpp", "conala", "django", "gfg"}
    assert "tests" in dd["train"].column_names
