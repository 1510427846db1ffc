"""The real-data evaluation suite and its metrics (CoNaLa BLEU, Django token exact match)."""

import pytest
from datasets import Dataset, DatasetDict

from codegen_lib import metrics
from codegen_lib.suite import evaluate_suite


def test_conala_tokenization_matches_the_official_rule():
    assert metrics.conala_tokenize("df.groupBy('a')") == ["df", ".", "group", "By", "(", "`", "a", "`", ")"]
    assert metrics.conala_bleu(["x.sort(reverse=True)"], ["x.sort(reverse=True)"]) == pytest.approx(100.0)
    assert metrics.conala_bleu(["y = 1"], ["x.sort(reverse=True)"]) == 0.0  # no smoothing


def test_token_exact_match_and_statement_validity():
    assert metrics.token_exact_match(["self . x = 1", "y=2"], ["self.x = 1", "y = 3"]) == 0.5
    assert metrics.statement_validity(["try :", "else :", "x = ("]) == pytest.approx(2 / 3)


class _Echo:
    """A stand-in model: the suite only needs .eval(); generation is patched."""

    def eval(self):
        return self


def test_suite_scores_what_generate_returns(monkeypatch):
    answers = {"add": "def add(a, b):\n    return a + b\n", "sort x": "x.sort()", "import os .": "import os"}

    def fake_generate(model, tokenizer, prompts, **kw):
        return [answers.get(p, "pass") for p in prompts]

    monkeypatch.setattr("codegen_lib.decode.generate", fake_generate)
    corpus = DatasetDict({
        "test_mbpp": Dataset.from_dict({"prompt": ["add", "other"], "code": ["def add(a, b):\n    return a+b\n"] * 2,
                                        "tests": ["assert add(1, 2) == 3"] * 2}),
        "validation_conala": Dataset.from_dict({"prompt": ["sort x"], "code": ["x.sort()"]}),
        "test_django": Dataset.from_dict({"prompt": ["import os .", "other"], "code": ["import os", "y = 1"]}),
    })
    res = evaluate_suite(_Echo(), None, corpus, {"mbpp_test": ("test_mbpp", "pass", 32),
                                                 "conala_val": ("validation_conala", "conala", 32),
                                                 "django_test": ("test_django", "django", 32)}, n_samples=1)
    assert res["mbpp_test"]["metrics"]["pass@1"] == 0.5 and res["mbpp_test"]["metrics"]["solved"] == 1
    assert res["conala_val"]["metrics"]["conala_bleu"] == pytest.approx(100.0)
    assert res["django_test"]["metrics"]["exact_match"] == 0.5
    assert res["conala_val"]["decoding"]["strategy"] == "beam"
    assert res["mbpp_test"]["decoding"]["strategy"] == "greedy"


def test_side_by_side_rule():
    from codegen_lib.suite import side_by_side

    statuses = ["fail"] * 20
    for i in (3, 7, 8, 15, 16, 19):
        statuses[i] = "pass"
    preds = [{"prompt": f"p{i}", "reference": "x = 1\n", "hypothesis": "x = (" if i % 2 else "x = 2\n"}
             for i in range(20)]
    picks = side_by_side({"statuses": statuses, "predictions": preds})
    idx = [p["index"] for p in picks]
    assert idx == sorted(idx) and len(idx) == 10
    assert [i for i in idx if statuses[i] == "pass"] == [3, 7, 8, 15, 16]  # the first five solved
    assert idx[0] == 0 and 18 in idx  # failures spread from the first to the last
    assert all(p["parses"] is (p["index"] % 2 == 0) for p in picks)
    assert side_by_side({"statuses": None, "predictions": preds}) == []


def test_results_rows_goals_and_files(tmp_path, monkeypatch):
    from codegen_lib import experiments
    from codegen_lib.suite import results_rows

    res = {
        "mbpp_test": {"rows": 2, "metrics": {"pass@1": 0.5, "solved": 1, "syntax_validity": 1.0}, "decoding": {},
                      "predictions": [{"prompt": "a", "reference": "r", "hypothesis": "h"}] * 2,
                      "statuses": ["pass", "fail"], "seconds": 1.0},
        "humaneval": {"rows": 1, "metrics": {"pass@1": 0.0, "solved": 0, "syntax_validity": 0.5}, "decoding": {},
                      "predictions": [], "statuses": ["fail"], "seconds": 1.0},
        "conala_val": {"rows": 1, "metrics": {"conala_bleu": 31.0, "syntax_validity": 0.8}, "decoding": {},
                       "predictions": [], "seconds": 1.0},
    }
    rows = results_rows(res)
    for r in rows:
        r["label"] = "m"
        r["eval_set"] = f"{r['dataset']}/{r['split']}"
    assert [r["eval_set"] for r in rows] == ["mbpp/test", "humaneval/test", "conala/validation"]
    g = {(x["eval_set"], x["metric"]): x["met"] for x in experiments.goals(rows)}
    # issue 17's goals (experiments.GOALS)
    assert g[("mbpp/test", "solved")] is True and g[("humaneval/test", "solved")] is False
    assert g[("mbpp/test", "syntax_validity")] is True and g[("humaneval/test", "syntax_validity")] is False
    assert g[("conala/validation", "conala_bleu")] is True and ("conala/validation", "syntax_validity") not in g
    paths = experiments.write_results_table(rows, tmp_path)
    import json

    body = json.loads(paths["json"].read_text())
    assert "predictions" not in body["results"][0] and body["mbpp_side_by_side"]["m"][0]["status"] == "pass"
    md = paths["markdown"].read_text()
    assert "## Goals" in md and "side by side" in md and "| m | CoNaLa validation BLEU" in md
