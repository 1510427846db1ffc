"""The real corpora (mbpp, conala, gfg, django) from ../shared/data, and the hub route through data files.

Tests on real data skip with a reason when ../shared/data is absent; in CI it is present.
"""

import json

import pytest
from conftest import SHARED_DATA, require_shared

from codegen_lib.corpora.gfg import gfg_parts, gfg_title, normalize_title
from codegen_lib.corpora.mbpp import mbpp_entry_point, mbpp_prompt, mbpp_split
from codegen_lib.data import CORPORA, load_corpus
from codegen_lib.hub import HUB_URL_ENV, HubError, HubLoadError, HubUnavailableError, hub_data_url

RAW = SHARED_DATA / "raw"


def _need(sub: str):
    return require_shared(RAW / sub)


def test_new_names_are_listed():
    for name in ("mbpp", "conala", "gfg", "django", "code", "mix"):
        assert name in CORPORA


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


# ---------------------------------------------------------------------------------------------------------------
# Django
# ---------------------------------------------------------------------------------------------------------------
def test_django_real_split():
    dd, report = load_corpus("django", data_dir=_need("django"), return_report=True)
    assert {k: len(v) for k, v in dd.items()} == {"train": 16000, "validation": 1000, "test": 1805}
    assert dd["train"][1]["prompt"] == "import module warnings." and dd["train"][1]["code"] == "import warnings\n"
    assert dd["test"][0]["id"] == "django-17000"
    assert report.dropped == 0


def test_django_misaligned_files(tmp_path):
    (tmp_path / "all.anno").write_text("a\nb\n")
    (tmp_path / "all.code").write_text("x = 1\n")
    with pytest.raises(ValueError, match="lines"):
        load_corpus("django", data_dir=tmp_path)


@pytest.mark.parametrize("name", ["gfg", "django"])
def test_no_hub_copy_is_a_clear_error(name):
    with pytest.raises(ValueError, match="no hub copy"):
        load_corpus(name)


# ---------------------------------------------------------------------------------------------------------------
# The hub route: data files only, never a loading script
# ---------------------------------------------------------------------------------------------------------------
SCRIPT = """
import pathlib
pathlib.Path({marker!r}).write_text("the loading script ran")
raise RuntimeError("the loading script ran")
"""


def _fake_repo(root, repo, files, marker):
    base = root / repo
    base.mkdir(parents=True)
    (base / (repo.split("/")[1] + ".py")).write_text(SCRIPT.format(marker=str(marker)))
    for rel, text in files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text)
    return base


def test_hub_data_url_is_pinned():
    assert hub_data_url("a/b", "0123abc", "data/x.json") == "hf://datasets/a/b@0123abc/data/x.json"
    assert hub_data_url("a/b", "refs/convert/parquet", "c/t.parquet") == (
        "hf://datasets/a/b@refs%2Fconvert%2Fparquet/c/t.parquet")


def test_fake_hub_xlcost_reads_files_and_never_the_script(tmp_path, monkeypatch):
    """A fake hub repository holding a loading script *and* the data files, as codeparrot's does."""
    import datasets

    marker = tmp_path / "script-ran"
    rows = {
        "train": [{"text": "Add two numbers | Driver code", "code": "def add ( a , b ) : NEW_LINE INDENT return a + b NEW_LINE DEDENT"}],
        "valid": [{"text": "Square | Driver code", "code": "def sq ( x ) : NEW_LINE INDENT return x * x NEW_LINE DEDENT"}],
        "test": [{"text": "Cube | Driver code", "code": "def cube ( x ) : NEW_LINE INDENT return x ** 3 NEW_LINE DEDENT"},
                 {"text": "Empty", "code": ""}],
    }
    files = {f"data/Python-program-level/{s}.json": "\n".join(json.dumps(r) for r in rs) for s, rs in rows.items()}
    repo_dir = _fake_repo(tmp_path / "hub", "codeparrot/xlcost-text-to-code", files, marker)
    monkeypatch.setenv(HUB_URL_ENV, str(tmp_path / "hub"))
    dd, report = load_corpus("xlcost", return_report=True)
    assert not marker.exists()
    assert {k: len(v) for k, v in dd.items()} == {"train": 1, "validation": 1, "test": 1}
    assert dd["train"][0]["code"] == "def add(a, b):\n    return a + b\n"
    assert dd["validation"][0]["prompt"] == "Square | Driver code"
    assert report.reasons["empty code"] == 1
    # The installed datasets (>= 4) refuses the script itself: the route we avoid really is closed.
    assert int(datasets.__version__.split(".")[0]) >= 4
    with pytest.raises(Exception) as info:
        datasets.load_dataset(str(repo_dir))
    assert not marker.exists()
    assert "script" in str(info.value).lower() or "no (supported) data files" in str(info.value).lower()


def test_fake_hub_mbpp_parquet(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from codegen_lib.corpora.mbpp import MBPP_HUB

    base = tmp_path / "hub" / MBPP_HUB["repo"]
    for split, path in MBPP_HUB["files"].items():
        tid = {"train": 601, "validation": 511, "test": 11, "prompt": 1}[split]
        table = pa.table({"task_id": [tid], "text": ["Add."], "code": ["def add(a, b):\r\n\treturn a + b"],
                          "test_list": [["assert add(1, 2) == 3"]], "test_setup_code": [""],
                          "challenge_test_list": [[]]})
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, base / path)
    monkeypatch.setenv(HUB_URL_ENV, str(tmp_path / "hub"))
    dd = load_corpus("mbpp")
    assert {k: len(v) for k, v in dd.items()} == {"test": 1, "prompt": 1, "validation": 1, "train": 1}
    assert dd["train"][0]["code"] == "def add(a, b):\n    return a + b\n"


def test_missing_hub_file_is_a_load_error_naming_the_repo(tmp_path, monkeypatch):
    (tmp_path / "hub" / "neulab" / "conala").mkdir(parents=True)
    monkeypatch.setenv(HUB_URL_ENV, str(tmp_path / "hub"))
    with pytest.raises(HubLoadError) as info:
        load_corpus("conala")
    msg = str(info.value)
    assert "neulab/conala" in msg and "data_dir" in msg and "What to do" in msg
    assert isinstance(info.value, HubError)


@pytest.mark.parametrize("name", ["mbpp", "conala", "xlcost"])
def test_real_hub_offline_is_fast(name):
    with pytest.raises(HubUnavailableError, match="data_dir"):
        load_corpus(name)
