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


def test_gfg_function_name_rule():
    from codegen_lib.corpora.gfg import gfg_function_name

    assert gfg_function_name("add 1 to a given number") == "add_1_number"
    assert gfg_function_name("program for surface area of octahedron") == "surface_area_octahedron"
    assert gfg_function_name("maximum") == "maximum"
    assert gfg_function_name("max") == "max_fn"  # a builtin
    assert gfg_function_name("count set bits", "def f_gold(n):\n    count_set_bits = 0\n") == "count_set_bits_fn"
    assert gfg_function_name("1 to n sum") == "n1_n_sum"


def test_restyle_gfg_renames_respaces_and_the_harness_takes_either_name():
    import ast

    from codegen_lib.corpora.gfg import restyle_gfg, restyle_rows
    from codegen_lib.sandbox import run_program

    harness = (
        "# licence\nimport math\ndef f_gold ( x ) :\n    y = math.floor ( x ) + 1 ;\n    return y  # next\n\n\n"
        "#TOFILL\n\nif __name__ == '__main__':\n    param = [\n    (1.5,),\n    (2.0,)\n        ]\n"
        "    n_success = 0\n    for i, parameters_set in enumerate(param):\n"
        "        if f_filled(*parameters_set) == f_gold(*parameters_set):\n            n_success+=1\n"
    )
    code, tests = gfg_parts(harness)
    row = {"prompt": "add 1 to a given number", "code": code, "tests": tests, "source": "gfg", "id": "gfg-X",
           "entry_point": "f_gold"}
    new = restyle_gfg(row)
    assert new["code"] == "import math\ndef add_1_number(x):\n    y = math.floor(x) + 1\n    return y  # next\n"
    assert new["entry_point"] == "add_1_number"
    assert ast.dump(ast.parse(new["code"].replace("add_1_number", "f_gold"))) == ast.dump(ast.parse(code))
    assert run_program(new["code"], new["tests"]).status == "pass"
    assert run_program(code, new["tests"]).status == "pass"  # a candidate that still says f_gold
    assert run_program("def add_1_number(x):\n    return 0\n", new["tests"]).status == "fail"
    other = {"prompt": "p", "code": "def f_gold ( x ) :\n    return x\n", "source": "mbpp", "id": "m"}
    rows, counts = restyle_rows([row, other])
    assert rows[1] is other and rows[0] == new
    assert counts == {"gfg_rows": 1, "renamed": 1, "respaced": 1, "parse_before": 1, "parse_after": 1}


def test_restyle_on_every_real_gfg_row():
    import ast
    import re

    from codegen_lib.corpora.gfg import gfg_rows, restyle_rows
    from codegen_lib.corpora.rows import MalformedRowReport

    rows, _ = gfg_rows(_need("transcoder_gfg"), MalformedRowReport(corpus="gfg"), check=False)
    flat = [r for split in rows.values() for r in split]
    new, counts = restyle_rows(flat)
    assert counts["gfg_rows"] == counts["parse_before"] == counts["parse_after"] == counts["renamed"] == len(flat)
    assert counts["respaced"] > 0.9 * len(flat)
    for old, r in zip(flat, new):
        assert "f_gold" not in r["code"] and not re.search(r"\w \( |\s;$", r["code"], re.M), r["id"]
        renamed_back = re.sub(rf"\b{r['entry_point']}\b", "f_gold", r["code"])
        assert ast.dump(ast.parse(renamed_back)) == ast.dump(ast.parse(old["code"])), r["id"]


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
