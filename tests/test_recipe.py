"""codegen train --recipe (codegen_lib.recipe), and the two scripts built on it: train_mix.py and ablate.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from codegen_lib.recipe import RECIPES, load_recipe, parse_sets, recipe_configs

REPO = Path(__file__).resolve().parents[1]
TINY = ["--preset", "tiny", "--vocab-size", "300", "--threads", "1", "--set", "train.batch_size=8",
        "--set", "train.progress=false"]


# The configs recorded in artifacts/mix-improved/recipe.json, the model shipped before mix-slots (removed from
# artifacts/ in addba14; ``git show addba14~1:artifacts/mix-improved/recipe.json``).
MIX_IMPROVED_RECORD = {
    "argv": ["scripts/train_mix.py", "--out", "runs/mix-improved", "--preset", "improved", "--max-steps", "4000",
             "--threads", "2", "--snapshot-every", "200", "--set", "train.batch_size=32", "--set",
             "train.warmup_steps=300", "--set", "train.save_every=200", "--set", "train.eval_every=200", "--set",
             "train.progress=false"],
    "model": {"src_vocab_size": 8000, "tgt_vocab_size": 8000, "d_model": 256, "num_heads": 8, "num_layers": 3,
              "d_ff": 1024, "max_src_len": 128, "max_tgt_len": 256, "dropout": 0.1, "pad_id": 0,
              "norm_first": True, "tie_embeddings": True},
    "train": {"lr": 0.0005, "optimizer": "adamw", "betas": [0.9, 0.98], "eps": 1e-09, "weight_decay": 0.01,
              "schedule": "cosine", "warmup_steps": 300, "label_smoothing": 0.1, "grad_clip": 1.0,
              "batch_size": 32, "epochs": 1000, "max_steps": 4000, "patience": None, "seed": 0,
              "mixed_precision": "auto", "device": "auto", "bucket": True, "num_workers": 0, "log_every": 10,
              "eval_every": 200, "save_every": 200, "progress": False},
}
NEW_MODEL_FIELDS = {"copy_head": False, "slots": False}  # ModelConfig fields added after that run (defaults)


def test_the_mix_improved_recipe_is_the_previous_shipped_models_run(tmp_path):
    """mix-improved builds exactly the model and training configs that the previous shipped model recorded."""
    record = MIX_IMPROVED_RECORD
    model_cfg, train_cfg = recipe_configs(load_recipe("mix-improved"), record["model"]["src_vocab_size"])
    assert model_cfg.to_dict() == {**record["model"], **NEW_MODEL_FIELDS}
    assert train_cfg.to_dict() == record["train"]
    # the run's own record is a recipe too, and it rebuilds the same configs
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(record))
    again = load_recipe(path)
    assert again["snapshot_every"] == 200 and again["max_steps"] == 4000
    model_again, train_again = recipe_configs(again, again["vocab_size"])
    assert model_again.to_dict() == model_cfg.to_dict() and train_again.to_dict() == record["train"]


def test_the_shipped_models_record_rebuilds_its_configs():
    """artifacts/<SHIPPED_MODEL>/recipe.json (written by scripts/gpu_run.py) loads as a recipe whose configs are
    the recorded ones (the model and training configs only: its slot-canonicalized data is gpu_run's bundle)."""
    from codegen_lib.pretrained import SHIPPED_MODEL

    path = REPO / "artifacts" / SHIPPED_MODEL / "recipe.json"
    record = json.loads(path.read_text())
    recipe = load_recipe(path)
    model_cfg, train_cfg = recipe_configs(recipe, recipe["vocab_size"])
    assert model_cfg.to_dict() == record["model"]
    assert train_cfg.to_dict() == record["train"]


def test_parse_sets_and_bad_recipes(tmp_path):
    assert parse_sets(["train.lr=0.001", "model.dropout=0", "train.schedule=cosine"]) == (
        {"dropout": 0}, {"lr": 0.001, "schedule": "cosine"})
    with pytest.raises(ValueError, match="model.<field>"):
        parse_sets(["lr=1"])
    with pytest.raises(ValueError, match="unknown recipe"):
        load_recipe("nope")
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps({"corpus": "mix", "colour": "blue"}))
    with pytest.raises(ValueError, match="colour"):
        load_recipe(bad)
    assert load_recipe("mix") == RECIPES["mix"] and load_recipe("mix") is not RECIPES["mix"]


@pytest.fixture()
def mix_cache(tmp_path):
    """A small stand-in for runs/data/mix (built from the task corpus), so that no test builds the mix."""
    from datasets import DatasetDict

    from codegen_lib.data import load_corpus

    tasks = load_corpus("tasks")
    cols = ["prompt", "code", "source", "id", "tests", "entry_point"]
    dd = DatasetDict({"train": tasks["train"].select(range(48)).select_columns(cols),
                      "validation": tasks["validation"].select(range(16)).select_columns(cols),
                      "validation_tasks": tasks["validation"].select(range(4)).select_columns(cols)})
    cache = tmp_path / "runs" / "data"
    dd.save_to_disk(str(cache / "mix"))
    return cache


def test_train_mix_script_is_codegen_train_recipe(mix_cache, tmp_path, capsys):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import train_mix
    finally:
        sys.path.pop(0)
    out = tmp_path / "run"
    assert train_mix.main(["--out", str(out), "--cache", str(mix_cache), "--max-steps", "2", *TINY]) == 0
    record = json.loads((out / "recipe.json").read_text())
    assert record["recipe"]["preset"] == "tiny" and record["train"]["max_steps"] == 2
    assert record["argv"][:4] == ["codegen", "train", "--recipe", "mix"]
    assert json.loads((out / "run.json").read_text())["dataset"] == "mix"
    assert json.loads((out / "last" / "config.json").read_text())["step"] == 2
    assert (mix_cache / "tok-300").is_dir()  # the tokenizer is kept for the next run
    # a second call resumes the run (a finished run stays finished: nothing is trained again)
    before = (out / "last" / "model.safetensors").read_bytes()
    assert train_mix.main(["--out", str(out), "--cache", str(mix_cache), "--max-steps", "2", *TINY]) == 0
    assert "resuming tiny on mix" in capsys.readouterr().err
    assert (out / "last" / "model.safetensors").read_bytes() == before


def test_a_slots_recipe_gets_a_slot_tokenizer_and_canonical_rows(mix_cache, tmp_path):
    """``--set model.slots=true`` (or the copy preset): the tokenizer holds the slot tokens (cached apart
    from the plain one) and the run trains on canonicalized rows, so generate() reads what it learned."""
    from codegen_lib.checkpoint import load_checkpoint
    from codegen_lib.cli import main

    out = tmp_path / "run"
    assert main(["train", "--recipe", "mix", "--cache", str(mix_cache), "--out", str(out), "--max-steps", "1",
                 *TINY, "--set", "model.slots=true"]) == 0
    model, tok, _ = load_checkpoint(out / "last")
    assert model.config.slots and len(tok.slot_ids) == 24 and len(tok.encode("var_0")) == 1
    assert (mix_cache / "tok-300-slots").is_dir() and not (mix_cache / "tok-300").exists()


def test_recipe_refuses_options_it_would_ignore(tmp_path, capsys):
    from codegen_lib.cli import main

    assert main(["train", "--recipe", "mix", "--dataset", "xlcost", "--out", str(tmp_path / "r")]) == 2
    assert "--dataset" in capsys.readouterr().err
    assert main(["train", "--task", "denoise", "--out", str(tmp_path / "r")]) == 2
    assert "only apply with --recipe" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_ablate_trains_probes_and_writes_its_row(mix_cache, tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import ablate
    finally:
        sys.path.pop(0)
    root = mix_cache.parent.parent  # <tmp>/runs/data -> <tmp>
    monkeypatch.setattr(ablate, "ROOT", root)
    monkeypatch.setattr(ablate, "OUT", root / "artifacts" / "ablations")
    assert ablate.main(["t1", "--preset", "tiny", "--max-steps", "2", "--vocab-size", "300",
                        "--probe-rows", "2"]) == 0
    row = json.loads((root / "artifacts" / "ablations" / "t1.json").read_text())
    assert row["steps"] == 2 and row["probe_rows"] == 2
    # the cached corpus holds tasks only; the everyday requests come with the library (suite.PROBE)
    assert set(row["probe"]) == {"tasks_val", "everyday_val"}
    assert all(0.0 <= row["probe"][s]["pass@1"] <= 1.0 for s in row["probe"])
