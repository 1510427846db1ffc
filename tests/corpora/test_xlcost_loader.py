"""load_corpus("xlcost") on the real release copy: val/test, repair, splits."""

import time

import pytest

from codegen_lib.corpora.xlcost_tokens import detokenize
from codegen_lib.data import (
    COLUMNS,
    load_corpus,
    split_sizes,
    standardize_code,
)
from codegen_lib.hub import HubUnavailableError


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
