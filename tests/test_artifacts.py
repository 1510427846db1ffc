"""What the repository ships in artifacts/: the book's model (fp16, loads, within the size budget) and the
results table computed from it."""

import json

import pytest

from codegen_lib.pretrained import SHIPPED_MODEL, artifacts_dir

BUDGET_MB = 25  # all of artifacts/


def test_artifacts_fit_the_budget():
    total = sum(p.stat().st_size for p in artifacts_dir().rglob("*") if p.is_file())
    assert total <= BUDGET_MB * 2**20, f"artifacts/ holds {total / 2**20:.1f} MB > {BUDGET_MB} MB"


def test_shipped_model_loads_in_fp16_form():
    from codegen_lib.checkpoint import load_checkpoint
    from codegen_lib.decode import generate

    path = artifacts_dir() / SHIPPED_MODEL
    if not (path / "config.json").is_file():
        pytest.skip(f"no shipped model at {path}")
    config = json.loads((path / "config.json").read_text())
    assert config.get("weights_dtype") == "float16"
    model, tokenizer, info = load_checkpoint(path)
    assert tokenizer.vocab_size == model.config.tgt_vocab_size
    out = generate(model, tokenizer, ["Write a function to add two numbers."], max_new_tokens=32)
    assert isinstance(out[0], str)
    run = json.loads((path / "run.json").read_text())
    assert run["dataset"] == "mix"


def test_results_cover_every_goal_for_the_shipped_model():
    body = json.loads((artifacts_dir() / "results.json").read_text())
    labels = {r["label"] for r in body["results"]}
    assert SHIPPED_MODEL in labels
    sets = {r["eval_set"] for r in body["results"] if r["label"] == SHIPPED_MODEL}
    for s in ("mbpp/test", "humaneval/test", "conala/validation", "xlcost/test", "django/test", "gfg/test",
              "tasks/test", "tasks/test_unseen"):
        assert s in sets, s
    goals = [g for g in body["goals"] if g["label"] == SHIPPED_MODEL]
    assert {g["metric"] for g in goals} >= {"pass@1", "conala_bleu", "xlcost_bleu", "exact_match", "syntax_validity"}
    assert all(isinstance(g["met"], bool) for g in goals)
    assert len(body["mbpp_side_by_side"][SHIPPED_MODEL]) == 10
