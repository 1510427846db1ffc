"""evaluate_predictions / evaluate_model with supplied predictions and a fake decoder (chapter 09)."""

import json

import pytest

from codegen_lib import evaluate, metrics
from codegen_lib.evaluate import REPORT_TABLE_5_1, evaluate_model, evaluate_predictions, write_results
from codegen_lib.metrics import NOT_COMPUTED_HUB

ROWS = [
    {"prompt": "Write `double(x)` returning 2 * x.", "code": "def double(x):\n    return 2 * x",
     "entry_point": "double", "tests": "assert double(2) == 4\nassert double(-1) == -2"},
    {"prompt": "Write `inc(x)` returning x + 1.", "code": "def inc(x):\n    return x + 1",
     "entry_point": "inc", "tests": "assert inc(1) == 2"},
    {"prompt": "Write `neg(x)` returning -x.", "code": "def neg(x):\n    return -x",
     "entry_point": "neg", "tests": "assert neg(3) == -3"},
]
RIGHT = [r["code"] for r in ROWS]
WRONG = ["def double(x):\n    return x + x + 1", "def inc(x):\n    return x", "def neg(x):\n    return x"]


def test_evaluate_predictions_all_metrics():
    hyps = [RIGHT[0], WRONG[1], "def neg(x) return -x"]  # right, wrong, syntax error
    refs = RIGHT
    res = evaluate_predictions(hyps, refs, dataset="tasks", split="test", rows=ROWS, workers=2)
    m = res["metrics"]
    assert m["bleu"] == pytest.approx(metrics.bleu(hyps, refs)["score"])
    assert res["sacrebleu_signature"] == metrics.bleu(hyps, refs)["signature"]
    assert m["syntax_validity"] == pytest.approx(2 / 3)
    assert m["exact_match"] == pytest.approx(1 / 3)
    assert m["pass@1"] == pytest.approx(1 / 3)
    assert m["sandbox_statuses"] == {"pass": 1, "fail": 1, "timeout": 0, "error": 1}
    assert "pass@5" not in m  # only k <= n samples
    # the hub is unreachable in tests: marked, never filled with a substitute
    assert m["codebertscore"] == {k: NOT_COMPUTED_HUB for k in ("precision", "recall", "f1", "f3")}
    assert "xlcost_bleu" not in m
    assert res["sizes"] == {"examples": 3, "samples_per_task": 1}


def test_pass_at_k_from_samples():
    samples = [[RIGHT[0], WRONG[0], WRONG[0]], [RIGHT[1]] * 3, [WRONG[2]] * 3]  # c = 1, 3, 0 of n = 3
    res = evaluate_predictions(RIGHT, RIGHT, dataset="tasks", split="test", rows=ROWS, samples=samples,
                               ks=(1, 2, 5), codebert=False, workers=3)
    m = res["metrics"]
    assert m["pass@1"] == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert m["pass@2"] == pytest.approx(((1 - 1 / 3) + 1 + 0) / 3)  # 1 - C(2,2)/C(3,2) = 2/3 for the first
    assert "pass@5" not in m and res["sizes"]["samples_per_task"] == 3


def test_xlcost_dataset_adds_xlcost_bleu_and_no_tests_means_no_pass_at_k():
    rows = [{"prompt": r["prompt"], "code": r["code"]} for r in ROWS]
    res = evaluate_predictions(WRONG, RIGHT, dataset="xlcost", split="test", rows=rows, codebert=False)
    assert res["metrics"]["xlcost_bleu"] == pytest.approx(metrics.xlcost_bleu(WRONG, RIGHT))
    assert "pass@1" not in res["metrics"]


def test_bad_input():
    with pytest.raises(ValueError, match="same length"):
        evaluate_predictions(["x"], ["x", "y"], dataset="tasks", split="test")
    with pytest.raises(ValueError, match="samples"):
        evaluate_predictions(RIGHT, RIGHT, dataset="tasks", split="test", rows=ROWS, samples=[[RIGHT[0]]],
                             codebert=False)


@pytest.fixture
def fake_generate(monkeypatch):
    """decode.generate replaced: greedy returns the reference, sampling alternates right/wrong by seed."""
    from codegen_lib import decode

    by_prompt = {r["prompt"]: (right, wrong) for r, right, wrong in zip(ROWS, RIGHT, WRONG)}
    calls = []

    def generate(model, tokenizer, prompts, *, strategy="greedy", seed=None, **kw):
        calls.append({"strategy": strategy, "seed": seed, "n": len(prompts), **kw})
        out = []
        for p in prompts:
            if p in by_prompt:
                right, wrong = by_prompt[p]
                out.append(right if strategy != "sample" or seed % 2 == 0 else wrong)
            else:  # a HumanEval prompt: answer with the canonical body
                out.append(HUMANEVAL_CANONICAL[p])
        return out

    monkeypatch.setattr(decode, "generate", generate)
    return calls


HUMANEVAL_CANONICAL: dict = {}


def test_evaluate_model_writes_json_and_table(fake_generate, tmp_path):
    res = evaluate_model(
        object(), object(), ROWS, dataset="tasks", split="test", decoding={"max_new_tokens": 64},
        n_samples=4, ks=(1, 2), batch_size=2, checkpoint="runs/seed", out_dir=tmp_path, progress=False, workers=2,
    )
    greedy = [c for c in fake_generate if c["strategy"] == "greedy"]
    assert sum(c["n"] for c in greedy) == 3 and max(c["n"] for c in greedy) == 2  # batches of 2
    assert sorted({c["seed"] for c in fake_generate if c["strategy"] == "sample"}) == [0, 1, 2, 3]
    m = res["metrics"]
    assert m["bleu"] == pytest.approx(100.0) and m["exact_match"] == 1.0
    assert m["pass@1"] == 1.0 and m["solved"] == 3  # pass@1 is the greedy program's (the reference here)
    assert m["sampled_pass@1"] == pytest.approx(0.5) and m["pass@2"] == pytest.approx(1 - 1 / 6)  # c=2 of n=4

    saved = json.loads((tmp_path / "results.json").read_text())
    for key in ("metrics", "sacrebleu_signature", "dataset", "split", "sizes", "decoding", "machine", "time",
                "checkpoint"):
        assert key in saved, key
    assert saved["decoding"]["max_new_tokens"] == 64 and saved["decoding"]["strategy"] == "greedy"
    assert saved["checkpoint"] == "runs/seed" and saved["sizes"]["samples_per_task"] == 4
    assert saved["machine"]["cpu_count"] >= 1 and "platform" in saved["machine"]
    assert saved["metrics"]["codebertscore"]["f1"] == NOT_COMPUTED_HUB
    preds = (tmp_path / "predictions.jsonl").read_text().splitlines()
    assert len(preds) == 3 and json.loads(preds[0])["hypothesis"] == RIGHT[0]

    table = (tmp_path / "results.md").read_text()
    for row in REPORT_TABLE_5_1:
        assert f"| {row['model']} (report) | {row['bleu']:.2f} |" in table
    assert "| ours: tasks/test | 100.00 | not computed: hub unreachable |" in table
    assert "pass@2" in table and "tok:13a" in table


def test_evaluate_model_humaneval_canonical(fake_generate, monkeypatch):
    from codegen_lib.humaneval import load_humaneval

    problems = load_humaneval()
    HUMANEVAL_CANONICAL.update({p["prompt"]: p["canonical_solution"] for p in problems})
    res = evaluate_model(object(), object(), ROWS[:1], dataset="tasks", split="test", humaneval=True,
                         codebert=False, progress=False, workers=4)
    assert res["metrics"]["humaneval_pass@1"] == 1.0 and res["sizes"]["humaneval_problems"] == 164


def test_completion_from_generation_handles_whole_programs():
    from codegen_lib.humaneval import build_program, completion_from_generation, load_humaneval
    from codegen_lib.sandbox import run_program

    problem = load_humaneval()[0]  # has_close_elements(numbers, threshold)
    whole = (
        "def has_close_elements(numbers, threshold):\n"
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
    )
    assert run_program(*build_program(problem, completion_from_generation(problem, whole))).status == "pass"
    wrong = "def has_close_elements(numbers, threshold):\n    return False\n"
    assert run_program(*build_program(problem, completion_from_generation(problem, wrong))).status == "fail"


def test_markdown_marks_missing_metrics(tmp_path):
    res = evaluate_predictions(WRONG, RIGHT, dataset="tasks", split="validation", codebert=False)
    md = evaluate.results_markdown(res)
    assert "ours: tasks/validation" in md and "syntax_validity" in md
    ours = md.splitlines()[5]
    assert ours.startswith("| ours: tasks/validation |") and ours.count("| — ") == 4  # no CodeBERTScore
    paths = write_results(res, tmp_path / "out")
    assert paths["json"].exists() and paths["markdown"].read_text() == md and "predictions" not in paths
