"""Tests for codegen_lib.experiments and the `reproduce` / `results` commands (tiny models, CPU, seconds)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from codegen_lib import experiments, reproduce
from codegen_lib.cli import main
from codegen_lib.config import ModelConfig
from codegen_lib.evaluate import results_markdown
from codegen_lib.hub import HubUnavailableError
from codegen_lib.metrics import NOT_COMPUTED_HUB
from codegen_lib.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CODEGEN_SHARED_DATA", REPO.parent / "shared" / "data")) / "raw" / "xlcost"
HAVE_XLCOST = (SHARED / "pair_data_tok_full_desc" / "Python-desc").is_dir()
TRAIN_ARGS = ["--preset", "tiny", "--vocab-size", "300", "--max-rows", "48", "--max-steps", "8",
              "--epochs", "2", "--no-progress", "--device", "cpu", "--threads", "1"]
LIMIT = 3  # rows per split in the suite
HE_LIMIT = 3  # HumanEval problems


@pytest.fixture(autouse=True)
def _restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exp") / "tiny"
    assert main(["train", *TRAIN_ARGS, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def suite_rows(tiny_run) -> list[dict]:
    return reproduce.evaluate_offline_suite(
        tiny_run, label="tiny", xlcost_dir=SHARED if HAVE_XLCOST else None, n_samples=5, limit=LIMIT,
        humaneval_limit=HE_LIMIT, threads=1, progress=False)


def _alpaca_file(path: Path, n: int = 40) -> Path:
    """A tiny Alpaca file in the hub schema (instruction, input, output, prompt)."""
    records = []
    for i in range(n):
        code = f"def add_{i}(x):\n    return x + {i}"
        records.append({"instruction": f"Write a function add_{i}(x) that adds {i} to x.", "input": "",
                        "output": code, "prompt": f"Below is an instruction ... add_{i}"})
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------------
# the offline suite
# ---------------------------------------------------------------------------------------------------------------
def test_offline_suite_has_every_row_and_metric(suite_rows):
    sets = [r["eval_set"] for r in suite_rows]
    expected = ["tasks/test", "tasks/test_unseen", "stdlib/test"] + (["xlcost/test"] if HAVE_XLCOST else [])
    assert sets == expected + ["humaneval/test"]
    for r in suite_rows:
        assert r["label"] == "tiny" and r["model_preset"] == "tiny" and r["train_preset"] == "tiny"
        t = r["training"]
        assert t["data"] == "tasks (generated, offline)" and t["dataset"] == "tasks"
        assert t["steps"] == 8 and t["device"] == "cpu" and t["train_time_s"] is not None
        assert r["eval_machine"].startswith(("CPU", "GPU")) and len(r["date"]) == 10
        assert r["sacrebleu_signature"].startswith("nrefs:1|") and "tok:13a" in r["sacrebleu_signature"]
        m = r["metrics"]
        assert 0.0 <= m["bleu"] <= 100.0 and 0.0 <= m["syntax_validity"] <= 1.0
        assert m["codebertscore"]["f1"] == NOT_COMPUTED_HUB  # never a substitute number
        # the budget is capped at the tiny model's target limit (96), not left at 256
        assert r["decoding"]["strategy"] == "greedy" and r["decoding"]["max_new_tokens"] <= 96
        assert r["sizes"]["examples"] == (HE_LIMIT if r["dataset"] == "humaneval" else LIMIT)
    for r in suite_rows[:2]:  # the task splits: greedy pass@1, sampled pass@5
        m = r["metrics"]
        for key in ("pass@1", "pass@5", "sampled_pass@1"):
            assert 0.0 <= m[key] <= 1.0, key
        assert sum(m["sandbox_statuses"].values()) == LIMIT  # one greedy program per task
        assert sum(m["sampled_sandbox_statuses"].values()) == 5 * LIMIT
        assert r["sizes"]["samples_per_task"] == 5 and r["sample_decoding"]["temperature"] == 0.8
    he = suite_rows[-1]["metrics"]
    assert 0.0 <= he["pass@1"] <= 1.0 and he["solved"] == round(he["pass@1"] * HE_LIMIT)  # evaluate_set's names
    assert sum(he["sandbox_statuses"].values()) == HE_LIMIT


def test_suite_xlcost_row(xlcost_dir, suite_rows):
    row = next(r for r in suite_rows if r["dataset"] == "xlcost")
    assert row["split"] == "test" and 0.0 <= row["metrics"]["xlcost_bleu"] <= 100.0
    assert row["sizes"]["prompts_truncated"] >= 0


def test_suite_pass_at_1_is_the_greedy_program(tiny_run, monkeypatch):
    """Greedy returns the reference and samples are wrong: pass@1 = 1 (greedy), pass@5 = 0 (samples)."""
    from codegen_lib import decode
    from codegen_lib.data import load_corpus

    tasks = load_corpus("tasks", seed=0)
    ref = dict(zip(tasks["test"]["prompt"], tasks["test"]["code"]))

    def fake_generate(model, tokenizer, prompts, *, strategy="greedy", **kw):
        return [ref.get(p, "pass") if strategy == "greedy" else "x = 1" for p in prompts]

    monkeypatch.setattr(decode, "generate", fake_generate)
    rows = reproduce.evaluate_offline_suite(tiny_run, label="fake", n_samples=5, limit=4, humaneval=False,
                                              codebert=False, progress=False)
    m = rows[0]["metrics"]
    assert rows[0]["eval_set"] == "tasks/test"
    assert m["pass@1"] == 1.0 and m["pass@5"] == 0.0 and m["sampled_pass@1"] == 0.0
    assert m["bleu"] == pytest.approx(100.0)


def test_suite_bad_arguments(tiny_run, tmp_path):
    with pytest.raises(ValueError, match="n_samples"):
        reproduce.evaluate_offline_suite(tiny_run, label="x", n_samples=0)
    with pytest.raises(FileNotFoundError, match="xlcost_dir"):
        reproduce.evaluate_offline_suite(tiny_run, label="x", xlcost_dir=tmp_path / "nope")


def test_presets_are_inferred_with_overrides():
    improved = ModelConfig.preset("improved", src_vocab_size=1000, tgt_vocab_size=1000).to_dict()
    train = TrainConfig.preset("improved", lr=1e-3, batch_size=32, max_steps=2400, device="cpu").to_dict()
    assert reproduce._infer_presets(improved, train) == (
        "improved", "improved", {"lr": 1e-3, "batch_size": 32, "max_steps": 2400})
    seed = ModelConfig.preset("seed").to_dict()
    assert reproduce._infer_presets(seed, TrainConfig.preset("seed").to_dict()) == ("seed", "seed", {})
    odd = {**seed, "d_model": 64}
    assert reproduce._infer_presets(odd, None) == ("custom", "unknown", {})
    # the copy preset is improved + copy head + slots: the most specific match names it, and its training
    # (improved's recipe, warm-up 300, batch 32) is the improved train preset, not small, which also matches
    copy = ModelConfig.preset("copy", src_vocab_size=1000, tgt_vocab_size=1000).to_dict()
    long = TrainConfig.preset("improved", warmup_steps=300, batch_size=32, max_steps=11200).to_dict()
    assert reproduce._infer_presets(copy, long) == (
        "copy", "improved", {"warmup_steps": 300, "batch_size": 32, "max_steps": 11200})


# ---------------------------------------------------------------------------------------------------------------
# the results table
# ---------------------------------------------------------------------------------------------------------------
def test_results_table_json_and_markdown(suite_rows, tmp_path):
    paths = experiments.write_results_table(suite_rows, tmp_path)
    body = json.loads(paths["json"].read_text())
    assert len(body["results"]) == len(suite_rows) and "generated_at" in body
    assert [r["bleu"] for r in body["report_table_5_1"]] == [15.09, 3.54, 10.87]
    assert all("predictions" not in r for r in body["results"])
    md = paths["markdown"].read_text()
    for needle in ("| XLCoST (report) |", "15.09 | 0.76 | 0.74 | 0.78 | 0.75", "3.54 | 0.72 | 0.72 | 0.72 | 0.72",
                   "10.87 | 0.70 | 0.69 | 0.72 | 0.68", "| ours: trained on XLCoST |", "| ours: trained on Alpaca |",
                   "| ours: trained on Merged |", "ours: tiny (tiny model / tiny recipe)", "tasks/test_unseen",
                   "humaneval/test", "nrefs:1|", "pass@5 = 5 samples per task"):
        assert needle in md, needle
    assert md.count(experiments.NEEDS_HUB) >= 15 + 4 * len(suite_rows)  # 3 placeholder rows + CBS cells
    assert ("Why the XLCoST numbers are low" in md) == HAVE_XLCOST
    # chapter 09 renders results.json rows with evaluate.results_markdown when results.md is absent
    for r in body["results"]:
        assert "| ours: " in results_markdown(r)


def test_results_table_rejects_bad_rows(tmp_path):
    with pytest.raises(ValueError, match="no results rows"):
        experiments.write_results_table([], tmp_path)
    with pytest.raises(ValueError, match="lacks"):
        experiments.write_results_table([{"dataset": "tasks"}], tmp_path)


def test_results_command_merges_files(suite_rows, tmp_path, capsys):
    a = experiments.write_results_table(suite_rows[:2], tmp_path / "a")["json"]
    b = experiments.write_results_table(suite_rows[2:], tmp_path / "b")["json"]
    assert main(["results", str(a), str(b), "--out", str(tmp_path / "all")]) == 0
    merged = json.loads((tmp_path / "all" / "results.json").read_text())["results"]
    assert [r["eval_set"] for r in merged] == [r["eval_set"] for r in suite_rows]
    # a re-run of one row (same label, set and decoding) in a later file replaces it, in its place
    rerun = json.loads(json.dumps(suite_rows[0]))
    rerun["metrics"] = {**rerun["metrics"], "bleu": 99.0}
    c = experiments.write_results_table([rerun], tmp_path / "c")["json"]
    assert main(["results", str(tmp_path / "all" / "results.json"), str(c), "--out", str(tmp_path / "re")]) == 0
    assert "1 replaced" in capsys.readouterr().out
    again = json.loads((tmp_path / "re" / "results.json").read_text())["results"]
    assert len(again) == len(merged) and again[0]["metrics"]["bleu"] == 99.0 and again[1:] == merged[1:]
    (tmp_path / "bad.json").write_text("{}")
    assert main(["results", str(tmp_path / "bad.json"), "--out", str(tmp_path / "x")]) == 2
    assert "no 'results' list" in capsys.readouterr().err


def test_reproduce_offline_cli(tiny_run, tmp_path, capsys):
    out = tmp_path / "art"
    code = main(["reproduce", "--runs", f"mine={tiny_run}", "--limit", "2", "--num-samples", "1", "--no-humaneval",
                 "--no-codebert", "--no-progress", "--threads", "1", "--device", "cpu", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    rows = json.loads((out / "results.json").read_text())["results"]
    assert {r["label"] for r in rows} == {"mine"} and rows[0]["eval_set"] == "tasks/test"
    assert "pass@5" not in rows[0]["metrics"] and 0.0 <= rows[0]["metrics"]["pass@1"] <= 1.0
    assert "ours: mine" in (out / "results.md").read_text()
    assert main(["reproduce", "--scale", "offline"]) == 2
    assert "needs --runs" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# full scale
# ---------------------------------------------------------------------------------------------------------------
def test_full_dry_run_prints_the_six_runs(tmp_path, capsys):
    assert main(["reproduce", "--scale", "full", "--dry-run", "--out", str(tmp_path / "full")]) == 0
    out = capsys.readouterr().out
    assert "plan: 6 run(s)" in out and "unmeasured" in out
    for i, (d, p) in enumerate([(d, p) for d in ("xlcost", "alpaca", "merged") for p in ("seed", "improved")], 1):
        assert f"  {i}. train {p} model + {p} recipe on {d} (hub)" in out
    assert not (tmp_path / "full").exists()  # a dry run writes nothing


def test_full_needs_the_hub(tmp_path, capsys):
    alpaca = _alpaca_file(tmp_path / "alpaca.json")
    with pytest.raises(HubUnavailableError, match="data_dirs"):
        reproduce.reproduce_full(tmp_path / "a", datasets=("xlcost",), presets=("tiny",), print_fn=lambda s: None)
    # merged's XLCoST part needs the hub: it fails before the alpaca row trains
    code = main(["reproduce", "--scale", "full", "--datasets", "alpaca", "merged", "--presets", "tiny",
                 "--data-dir", f"alpaca={alpaca}", "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 2 and "Cannot load the xlcost dataset" in err and "offline mode is set" in err
    assert not (tmp_path / "b" / "alpaca-tiny").exists()
    assert main(["reproduce", "--scale", "full", "--data-dir", "alpaca", "--dry-run"]) == 2
    assert "NAME=PATH" in capsys.readouterr().err
    with pytest.raises(ValueError, match="datasets"):
        reproduce.plan_full(tmp_path, datasets=("nope",))


def test_full_pipeline_on_local_alpaca(tmp_path, capsys):
    alpaca = _alpaca_file(tmp_path / "alpaca.json")
    out = tmp_path / "full"
    argv = ["reproduce", "--scale", "full", "--datasets", "alpaca", "--presets", "tiny", "--data-dir",
            f"alpaca={alpaca}", "--max-steps", "5", "--limit", "3", "--vocab-size", "300", "--no-progress",
            "--device", "cpu", "--threads", "1", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    body = json.loads((out / "results.json").read_text())
    (row,) = body["results"]
    assert row["label"] == "alpaca-tiny" and row["eval_set"] == "alpaca/test" and row["sizes"]["examples"] == 3
    assert row["model_preset"] == "tiny" and row["train_preset"] == "tiny"
    assert row["training"]["dataset"] == "alpaca" and "Alpaca" in row["training"]["data"]
    assert row["training"]["steps"] == 5 and row["training"]["device"] == "cpu"
    m = row["metrics"]
    assert 0.0 <= m["bleu"] <= 100.0 and 0.0 <= m["syntax_validity"] <= 1.0 and "xlcost_bleu" not in m
    assert m["codebertscore"]["precision"] == NOT_COMPUTED_HUB
    assert row["sacrebleu_signature"].startswith("nrefs:1|")
    md = (out / "results.md").read_text()
    assert "ours: alpaca-tiny" in md and "| ours: trained on Alpaca |" not in md  # our row replaces it
    assert "| ours: trained on XLCoST |" in md and "| Alpaca (report) |" in md
    assert (out / "alpaca-tiny" / "best" / "model.safetensors").is_file()
    # a second call resumes the finished run (no more steps) and re-evaluates
    assert main(argv) == 0
    history = json.loads((out / "alpaca-tiny" / "history.json").read_text())
    assert history["steps"][-1]["step"] == 5


def test_reproduce_full_script_dry_run(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "SKIP_SETUP": "1", "OUT": str(tmp_path / "full"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(REPO)}
    done = subprocess.run(["bash", str(REPO / "scripts" / "reproduce_full.sh"), "--dry-run", "--presets", "seed"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "plan: 3 run(s)" in done.stdout and str(tmp_path / "full" / "merged-seed") in done.stdout
