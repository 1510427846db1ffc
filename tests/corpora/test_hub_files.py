"""The hub route of the corpora: data files at pinned revisions, never a loading script."""

import json

import pytest
from conftest import SHARED_DATA, require_shared

from codegen_lib.data import load_corpus
from codegen_lib.hub import HUB_URL_ENV, HubError, HubLoadError, HubUnavailableError, hub_data_url

RAW = SHARED_DATA / "raw"


def _need(sub: str):
    return require_shared(RAW / sub)



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
