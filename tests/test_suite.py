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
