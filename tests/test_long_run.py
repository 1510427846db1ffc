"""scripts/long_run.py (issue 17's CPU long run): sittings that stop at a checkpoint and resume exactly, the
warm start into a copy-head model, and the one-line errors."""

import json

import torch
from test_gpu_run import _script, bundle  # noqa: F401  (the script loader and the tiny bundle fixture)


def _args(bundle_dir, out, *more):
    return ["--bundle", str(bundle_dir), "--recipe", "C-copy", "--out", str(out), "--max-steps", "6",
            "--size-preset", "tiny", "--batch-size", "4", "--warmup", "2", "--save-every", "2", "--eval-every", "3",
            "--threads", "1", "--probe-rows", "0", *more]


def _weights(run):
    from codegen_lib.checkpoint import load_checkpoint

    model, _, _ = load_checkpoint(run / "last")
    return model.state_dict()


def test_sittings_stop_at_a_checkpoint_and_resume_exactly(bundle, tmp_path):  # noqa: F811
    lr = _script("long_run")
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert lr.main(_args(bundle, whole)) == 0
    assert (whole / "final" / "config.json").is_file()
    parts.mkdir()
    (parts / "STOP").touch()  # the first sitting ends at its first checkpoint (step 2)
    assert lr.main(_args(bundle, parts)) == 0
    assert not (parts / "STOP").exists() and not (parts / "final").exists()
    assert lr.main(_args(bundle, parts, "--stop-after-hours", "0")) == 0  # the second ends at step 4
    assert lr.main(_args(bundle, parts)) == 0  # the third finishes
    record = json.loads((parts / "long_run.json").read_text())
    assert [(s["from_step"], s["to_step"]) for s in record["sittings"]] == [(0, 2), (2, 4), (4, 6)]
    assert record["total"]["steps"] == 6 and "probe" not in record
    assert record["sittings"][1]["argv"][-2:] == ["--stop-after-hours", "0"]
    assert lr.main(_args(bundle, whole, "--probe-rows", "2")) == 0  # a finished run: re-export and probe
    again = json.loads((whole / "long_run.json").read_text())
    probe = again["probe"]
    assert len(again["sittings"]) == 1
    assert 0 <= probe["conala_bleu"] <= 100 and probe["everyday_n"] >= 1 and 0 <= probe["mbpp_syntax"] <= 1
    assert sum(s["target_tokens"] for s in record["sittings"]) == record["total"]["target_tokens"]
    a, b = _weights(whole), _weights(parts)
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=0, rtol=0)


def test_a_finished_run_writes_the_records_a_shipped_model_needs(bundle, tmp_path):  # noqa: F811
    """OUT/final holds recipe.json (load_recipe rebuilds the exact configs), run.json and long_run.json, with no
    path of this machine's run directory or bundle in them; a re-export with --probe-rows 0 keeps the probe."""
    from codegen_lib.checkpoint import load_checkpoint
    from codegen_lib.recipe import load_recipe, recipe_configs

    lr = _script("long_run")
    run = tmp_path / "run"
    assert lr.main(_args(bundle, run, "--probe-rows", "2")) == 0
    final = run / "final"
    assert lr.main(_args(bundle, run)) == 0  # --probe-rows 0: re-export only
    record = json.loads((final / "recipe.json").read_text())
    model_cfg, train_cfg = recipe_configs(load_recipe(final / "recipe.json"), record["model"]["src_vocab_size"])
    assert model_cfg.to_dict() == record["model"] and train_cfg.to_dict() == record["train"]
    model, _, _ = load_checkpoint(final)
    assert model.config.to_dict() == record["model"] and record["recipe_name"] == "C-copy"
    assert json.loads((final / "run.json").read_text())["dataset"] == "mix"
    shipped = json.loads((final / "long_run.json").read_text())
    assert "probe" in shipped and shipped["sittings"][0]["argv"][:5] == [
        "scripts/long_run.py", "--bundle", "BUNDLE", "--recipe", "C-copy"]
    for name in ("recipe.json", "run.json", "long_run.json", "config.json"):
        text = (final / name).read_text()
        assert str(tmp_path) not in text, name


def test_init_from_a_plain_model_gives_a_copy_head_that_starts_near_it(bundle, tmp_path):  # noqa: F811
    lr, gr = _script("long_run"), _script("gpu_run")
    plain = tmp_path / "plain"
    args = _args(bundle, plain, "--max-steps", "2")
    args[args.index("C-copy")] = "B-canon"
    assert lr.main(args) == 0
    rows, tok, _ = gr.load_bundle(bundle)
    cfg = gr.model_cfg_for(gr.RECIPES["C-copy"], tok, "tiny")
    model = lr.warm_model(cfg, plain / "last", tok)
    assert torch.sigmoid(model.copy_gate.bias).item() > 0.95 - 1e-3
    source = _weights(plain)
    for k, v in model.state_dict().items():
        if not k.startswith("copy_gate"):
            torch.testing.assert_close(v, source[k])


def test_bad_input_is_one_line_and_exit_2(bundle, tmp_path, capsys):  # noqa: F811
    lr = _script("long_run")
    assert lr.main(_args(tmp_path / "nowhere", tmp_path / "r")) == 2
    assert lr.main(_args(bundle, tmp_path / "r", "--recipe", "Z-none")) == 2
    assert lr.main(_args(bundle, tmp_path / "r", "--init-from", str(tmp_path / "missing"))) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)


def test_everyday_overlap_writes_ids_not_training_text(bundle, tmp_path):  # noqa: F811
    out = tmp_path / "overlap.json"
    assert _script("everyday_overlap").main(["--bundle", str(bundle), "--out", str(out)]) == 0
    body = json.loads(out.read_text())
    assert body["sources"] == ["code", "conala", "django"] and len(body["requests"]) >= 30
    assert all(set(r) == {"id", "nearest_id", "source", "similarity", "reference_in_training"}
               for r in body["requests"])
    assert _script("everyday_overlap").main(["--bundle", str(tmp_path), "--out", str(out)]) == 2


def test_a_longer_schedule_on_resume_is_recorded(bundle, tmp_path):  # noqa: F811
    lr = _script("long_run")
    run = tmp_path / "run"
    run.mkdir()
    (run / "STOP").touch()
    assert lr.main(_args(bundle, run)) == 0  # stops at step 2 of 6
    args = _args(bundle, run)
    args[args.index("--max-steps") + 1] = "8"
    assert lr.main(args) == 0
    record = json.loads((run / "long_run.json").read_text())
    assert record["max_steps_changes"] == [{"at_step": 2, "from": 6, "to": 8}] and record["max_steps"] == 8
    assert record["total"]["steps"] == 8


def test_a_sitting_killed_before_its_entry_is_rebuilt_from_the_history(bundle, tmp_path):  # noqa: F811
    lr = _script("long_run")
    run = tmp_path / "run"
    run.mkdir()
    (run / "STOP").touch()
    assert lr.main(_args(bundle, run)) == 0  # stops at step 2
    record = json.loads((run / "long_run.json").read_text())
    first = record["sittings"].pop()  # as if the sitting had been killed after its checkpoint
    (run / "long_run.json").write_text(json.dumps(record))
    assert lr.main(_args(bundle, run)) == 0
    rebuilt, second = json.loads((run / "long_run.json").read_text())["sittings"]
    assert (rebuilt["from_step"], rebuilt["to_step"], second["from_step"]) == (0, 2, 2)
    assert rebuilt["target_tokens"] == first["target_tokens"] and "note" in rebuilt
