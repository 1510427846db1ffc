"""GeeksforGeeks (codegen_lib.corpora.gfg): titles, harnesses, the XLCoST title rule."""


import pytest
from conftest import SHARED_DATA, require_shared

from codegen_lib.corpora.gfg import gfg_parts, gfg_title, normalize_title
from codegen_lib.data import load_corpus

RAW = SHARED_DATA / "raw"


def _need(sub: str):
    return require_shared(RAW / sub)



# ---------------------------------------------------------------------------------------------------------------
# GfG
# ---------------------------------------------------------------------------------------------------------------
def test_gfg_title_rules():
    assert gfg_title("BINARY_SEARCH_1.py") == "binary search"
    assert gfg_title("ADD_1_TO_A_GIVEN_NUMBER.py") == "add 1 to a given number"
    assert normalize_title("K-th Smallest") == normalize_title("K_TH_SMALLEST") == "kthsmallest"


def test_gfg_parts_on_a_harness():
    harness = (
        "# licence\n#\nimport math\ndef f_gold ( x ) :\n    return math.floor(x) + 1\n\n\n#TOFILL\n\n"
        "if __name__ == '__main__':\n    param = [\n    (1.5,),\n    (2.0,)\n        ]\n    n_success = 0\n"
        "    for i, parameters_set in enumerate(param):\n"
        "        if f_filled(*parameters_set) == f_gold(*parameters_set):\n            n_success+=1\n"
        '    print("#Results: %i, %i" % (n_success, len(param)))\n'
    )
    code, tests = gfg_parts(harness)
    assert code.startswith("import math\ndef f_gold") and "#TOFILL" not in code and "licence" not in code
    from codegen_lib.sandbox import run_program

    assert run_program(code, tests).status == "pass"
    wrong = "def f_gold(x):\n    return 0\n"
    assert run_program(wrong, tests).status == "fail"
    with pytest.raises(ValueError):
        gfg_parts("def f_gold(x):\n    return x\n")


@pytest.mark.slow  # ~50 s: runs 702 harnesses in the sandbox
def test_gfg_real_rows_dedup_and_broken_harnesses():
    dd, report = load_corpus("gfg", data_dir=_need("transcoder_gfg"), return_report=True)
    assert report.total == 702
    assert report.reasons["harness fails on its own reference"] == 3  # broken upstream (PROVENANCE.txt)
    dropped_titles = report.notes["dropped_xlcost_test_title"]
    assert report.reasons["title equals an XLCoST test title"] == dropped_titles > 0
    assert sum(len(v) for v in dd.values()) == 702 - 3 - dropped_titles
    from codegen_lib.corpora.gfg import xlcost_titles

    titles = xlcost_titles(_need("xlcost"))
    held = [normalize_title(t) for s in ("validation", "test") for t in dd[s]["prompt"]]
    assert not set(held) & (titles["test"] | titles["train"] | titles["validation"])
    assert "SEARCH_ALMOST_SORTED_ARRAY" not in " ".join(dd["train"]["id"])
