"""codegen_lib.runs: loss against tokens from histories, run discovery by globbing, the GPU hour (chapter 07)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegen_lib.runs import NOT_RECORDED, collect_runs, gpu_hour, history_curve, run_from_history

REPO = Path(__file__).resolve().parents[1]


def fake_history(steps=4, tokens=100, val_every=2, machine=None):
    h = {
        "steps": [{"step": i, "tokens": tokens} for i in range(1, steps + 1)],
        "step_val": [{"step": s, "val_loss": 10.0 / s} for s in range(val_every, steps + 1, val_every)],
        "epochs": [{"epoch": 0, "step": steps, "val_loss": 1.0}],
        "train_time_s": 12.5,
        "device": "cpu",
    }
    if machine:
        h["machine"] = machine
    return h


def test_history_curve_accumulates_tokens():
    tokens, losses = history_curve(fake_history())
    assert tokens == [200, 400]  # steps 2 and 4 after 100 tokens each
    assert losses == [5.0, 1.0]  # the epoch entry at step 4 wins over step_val's 2.5


def test_history_curve_skips_entries_without_step_or_loss():
    h = {"steps": [{"step": 1, "tokens": 7}], "epochs": [{"epoch": 0, "val_loss": 2.0}, {"step": 1}]}
    assert history_curve(h) == ([], [])


def test_run_from_history_prefers_the_checkpoints_machine():
    run = run_from_history("x", fake_history(machine="laptop"), meta={"train_machine": "2-core CPU"})
    assert run["machine"] == "2-core CPU" and run["wall_s"] == 12.5 and run["steps"] == 4
    assert run_from_history("y", {"steps": []})["machine"] == NOT_RECORDED


def write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_collect_runs_globs_shipped_runs_and_ablations(tmp_path):
    write(tmp_path / "model-a" / "history.json", fake_history())
    write(tmp_path / "model-a" / "config.json", {"train_machine": "2-core CPU"})
    write(tmp_path / "model-b" / "history.json", fake_history(steps=8, machine="NVIDIA H200"))
    write(tmp_path / "ablations" / "point.json", {"name": "seed", "tokens": 500, "val_loss": 4.0,
                                                   "train_time_s": 30.0})
    write(tmp_path / "ablations" / "curve.json", {"name": "wide", "history": fake_history(steps=6)})
    write(tmp_path / "ablations" / "averaging.json", {"val_loss_last": 3.0})  # no tokens: skipped
    (tmp_path / "ablations" / "broken.json").write_text("{not json")
    runs = collect_runs(tmp_path)
    by_name = {r["name"]: r for r in runs}
    assert set(by_name) == {"model-a", "model-b", "seed", "wide"}
    assert by_name["model-a"]["machine"] == "2-core CPU" and by_name["model-a"]["kind"] == "shipped"
    assert by_name["model-b"]["machine"] == "NVIDIA H200"
    assert by_name["seed"] == {"name": "seed", "kind": "ablation", "tokens": [500], "val_loss": [4.0],
                               "wall_s": 30.0, "machine": NOT_RECORDED, "steps": None}
    assert by_name["wide"]["tokens"] == [200, 400, 600]
    assert [r["kind"] for r in runs] == ["shipped", "shipped", "ablation", "ablation"]


def test_collect_runs_reads_the_repositorys_artifacts():
    runs = collect_runs(REPO / "artifacts")
    shipped = [r for r in runs if r["kind"] == "shipped"]
    assert shipped, "the repository ships at least one model with a history"
    for r in runs:
        assert len(r["tokens"]) == len(r["val_loss"]) > 0
        assert r["tokens"] == sorted(r["tokens"]) and r["tokens"][0] > 0


GPU = {
    "device": "NVIDIA H200", "torch": "2.5",
    "runs": [
        {"name": "a", "preset": "improved", "batch_size": 32, "steps": 100, "target_tokens": 360_000,
         "wall_s": 10.0, "target_tokens_per_s": 36_000.0, "precision": "bf16"},
        {"name": "b", "preset": "improved", "batch_size": 128, "steps": 100, "target_tokens": 1_440_000,
         "wall_s": 12.0, "target_tokens_per_s": None, "precision": "bf16"},
        {"name": "c", "preset": "seed", "batch_size": 32, "steps": 100, "target_tokens": 1, "wall_s": 1e-6,
         "precision": "bf16"},
    ],
    "cpu_baseline": {"machine": "2-core CPU", "preset": "improved", "target_tokens_per_s": 1300.0},
}


def test_gpu_hour_prefers_the_same_recipe(tmp_path):
    write(tmp_path / "gpu_runs.json", GPU)
    same = gpu_hour(tmp_path / "gpu_runs.json", preset="improved", batch_size=32)
    assert same["run"]["name"] == "a" and same["same_recipe"]
    assert same["tokens_per_hour"] == pytest.approx(36_000 * 3600)
    assert same["cpu_baseline"]["target_tokens_per_s"] == 1300.0
    # another batch size: the fastest run of the preset, throughput from tokens / wall time
    other = gpu_hour(tmp_path / "gpu_runs.json", preset="improved", batch_size=64)
    assert other["run"]["name"] == "b" and not other["same_recipe"]
    assert other["tokens_per_s"] == pytest.approx(120_000)


def test_gpu_hour_without_a_file_or_runs(tmp_path):
    assert gpu_hour(tmp_path / "missing.json") is None
    write(tmp_path / "empty.json", {"device": "x", "runs": []})
    assert gpu_hour(tmp_path / "empty.json") is None


def test_sittings_frame_lists_each_sitting_and_the_total():
    from codegen_lib.runs import sittings_frame

    record = {"sittings": [
        {"from_step": 0, "to_step": 500, "target_tokens": 1_000_000, "train_s": 1800.0, "target_tokens_per_s": 556,
         "load_average": [2.0, 2.1, 3.5], "cpus": 2, "threads": 2},
        {"from_step": 500, "to_step": 800, "target_tokens": 600_000, "train_s": 1800.0, "target_tokens_per_s": 333,
         "load_average": [], "cpus": 2, "threads": 2}],
        "total": {"steps": 800, "target_tokens": 1_600_000, "train_s": 3600.0}}
    frame = sittings_frame(record)
    assert list(frame.index) == ["1", "2", "total"]
    assert frame.loc["1", "load (median)"] == "2.1" and frame.loc["2", "load (median)"] == "not recorded"
    assert frame.loc["total", "hours"] == "1.00" and frame.loc["total", "target tokens / s"] == "444"
    assert frame.loc["2", "steps"] == "500-800"
    assert sittings_frame({"sittings": []}).empty
