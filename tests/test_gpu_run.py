"""scripts/make_bundle.py and scripts/gpu_run.py (issue 17's training session), end to end on a tiny bundle
on the CPU: ablations, the choice rule, the long run, the probe and the float16 export."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_detok_renames_f_gold_after_the_title():
    mb = _script("make_bundle")
    row = {"source": "gfg", "prompt": "COUNT SET BITS", "code": "def f_gold ( n ) : NEW_LINE INDENT return n DEDENT"}
    assert mb.detok(row).startswith("def count_set_bits(n):\n    return n")
    row = {"source": "gfg", "prompt": "count set bits", "code": "def f_gold ( n ) :\n    return - n\n"}
    assert mb.detok(row) == "def count_set_bits(n):\n    return -n\n"
    assert mb.detok({"source": "conala", "prompt": "x", "code": "x = 1"}) is None


# no value to slot, but a code span whose backticks canonicalization drops: the bundle keeps that form too
CODE_SPAN_ROW = {"prompt": "call `setup(app)` first", "code": "setup(app)", "source": "django", "id": "django-span",
                 "tests": "", "entry_point": ""}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from datasets import Dataset, DatasetDict

    tmp = tmp_path_factory.mktemp("bundle")

    def rows(src, n, tests=""):
        return [{"prompt": f"sort the list `xs{i}` by key 'k{i}'", "code": f"sorted(xs{i}, key=lambda d: d['k{i}'])",
                 "source": src, "id": f"{src}-{i}", "tests": tests, "entry_point": ""} for i in range(n)]

    dd = DatasetDict({
        "train": Dataset.from_list(rows("conala", 24) + rows("django", 8) + rows("code", 8) + [CODE_SPAN_ROW]),
        "validation_conala": Dataset.from_list(rows("conala", 4)),
        "validation_django": Dataset.from_list(rows("django", 4)),
        "validation_mbpp": Dataset.from_list(rows("mbpp", 2, tests="assert True")),
    })
    dd.save_to_disk(str(tmp / "mix"))
    assert _script("make_bundle").main(["--mix", str(tmp / "mix"), "--out", str(tmp / "b"), "--vocab-size", "300"]) == 0
    return tmp / "b"


def test_bundle_holds_canonical_forms_and_counts(bundle):
    meta = json.loads((bundle / "meta.json").read_text())
    assert meta["counts"]["conala/train"] == 24 and meta["counts"]["conala/slotted"] == 24 + 4
    import gzip

    rows = [json.loads(line) for line in gzip.open(bundle / "rows.jsonl.gz", "rt")]
    assert rows[0]["canon"] == ["sort the list var_0 by key var_1", "sorted(var_0, key=lambda d: d['var_1'])"]
    span = next(r for r in rows if r["id"] == "django-span")
    assert span["canon"] == ["call setup(app) first", "setup(app)"] and meta["counts"]["django/unbackticked"] == 1


def test_gpu_run_on_cpu_tiny(bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("GPU_RUN_WORK", str(tmp_path / "work"))
    out = tmp_path / "out"
    rc = _script("gpu_run").main(["--bundle", str(bundle), "--out", str(out), "--size-preset", "tiny",
                                  "--ablations", "A-mix,C-copy,F-conala,S-seed", "--ablation-steps", "3",
                                  "--conala-steps", "2", "--long-seconds", "3", "--batch-size", "4",
                                  "--probe-rows", "4", "--deadline", "600"])
    assert rc == 0
    res = json.loads((out / "ablations.json").read_text())
    assert set(res["runs"]) == {"A-mix", "C-copy", "F-conala", "S-seed"}
    assert res["chosen"] in ("A-mix", "C-copy")  # F is never a candidate
    for run in res["runs"].values():
        assert run["steps"] >= 2 and run["target_tokens"] > 0
        assert ("conala_bleu" in run["probe"]) == (run is not res["runs"]["S-seed"])
    assert res["long"]["recipe"] == res["chosen"] and res["long"]["steps"] >= 100
    cfg = json.loads((out / "final" / "config.json").read_text())
    assert cfg["weights_dtype"] == "float16"
    runs = json.loads((out / "gpu_runs.json").read_text())["runs"]
    assert {r["name"] for r in runs} >= {"A-mix", "long:" + res["chosen"]}
