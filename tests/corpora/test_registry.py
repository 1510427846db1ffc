"""The registry (codegen_lib.corpora.load_corpus): names, options, dispatch to the generated corpora."""


import pytest
from datasets import Dataset, DatasetDict

from codegen_lib.corpora import stdlib as stdlib_module
from codegen_lib.corpora import tasks as tasks_module
from codegen_lib.data import (
    CORPORA,
    load_corpus,
    split_sizes,
)


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


def test_every_source_is_registered():
    for name in ("tasks", "stdlib", "xlcost", "alpaca", "merged", "mbpp", "conala", "gfg", "django", "code", "mix"):
        assert name in CORPORA
