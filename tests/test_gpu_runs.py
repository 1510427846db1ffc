"""Tests for chapter 07's GPU story (codegen_lib.gpu_runs). The gpu_runs.json files here are fakes, written
to a temporary folder only: the repository's artifacts/ holds a measured file or none."""

from __future__ import annotations

import json

import pytest

from codegen_lib import gpu_runs

FAKE = {"device": "NVIDIA H200", "torch": "2.x",
        "runs": [{"name": "seed-bf16", "preset": "seed", "batch_size": 64, "steps": 500, "target_tokens": 2_000_000,
                  "wall_s": 100.0, "target_tokens_per_s": 20_000.0, "precision": "bf16"}],
        "cpu_baseline": {"machine": "2-core CPU", "preset": "seed", "target_tokens_per_s": 1_000.0}}


def test_no_file_means_no_gpu_figure(tmp_path):
    assert gpu_runs.load_gpu_runs(tmp_path / "gpu_runs.json") is None


def test_a_measured_file_is_read_and_tabled(tmp_path):
    path = tmp_path / "gpu_runs.json"
    path.write_text(json.dumps(FAKE))
    data = gpu_runs.load_gpu_runs(path)
    frame = gpu_runs.gpu_runs_frame(data)
    assert len(frame.columns) <= 8 and len(frame) == 2
    assert frame.iloc[0]["target tokens/s"] == "20,000" and frame.iloc[-1]["run"] == "CPU: 2-core CPU"


def test_a_broken_file_is_refused(tmp_path):
    path = tmp_path / "gpu_runs.json"
    bad = json.loads(json.dumps(FAKE))
    del bad["runs"][0]["wall_s"]
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="wall_s"):
        gpu_runs.load_gpu_runs(path)


def test_t4_estimate_is_a_range_from_the_measured_run():
    n = 10_000_000
    alone = gpu_runs.t4_estimate(n)
    assert alone["low"] is None and alone["ceiling"] == pytest.approx(65e12 / (6 * n))
    run = {"device": "NVIDIA H200", **FAKE["runs"][0]}
    est = gpu_runs.t4_estimate(n, run)
    assert est["low"] == pytest.approx(20_000 * 65 / 989)  # all arithmetic: scaled by the peaks
    assert est["high"] == pytest.approx(20_000)  # all overhead: the measured rate (below the ceiling)
    assert est["step_ms"] == pytest.approx(1e3 * 100.0 / 500)
    tokens_per_step = 2_000_000 / 500
    assert est["arith_ms"] == pytest.approx(1e3 * 6 * n * tokens_per_step / 989e12)
    assert est["t4_arith_ms"] == pytest.approx(est["arith_ms"] * 989 / 65)
    assert gpu_runs.t4_estimate(1e12, run)["high"] == pytest.approx(65e12 / 6e12)  # capped at the ceiling
    assert gpu_runs.t4_estimate(n, {**run, "device": "Some GPU"})["low"] is None


def test_the_shipped_file_if_any_follows_the_schema():
    data = gpu_runs.load_gpu_runs()  # None when the repository records no GPU run
    assert data is None or len(gpu_runs.gpu_runs_frame(data)) >= len(data["runs"])


def _chapter_cell(fragment):
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[1] / "book" / "07_training.ipynb").read_text())
    return next("".join(c["source"]) for c in nb["cells"]
                if c["cell_type"] == "code" and fragment in "".join(c["source"]))


def _run_gpu_cell(monkeypatch, artifacts):
    """Chapter 07's GPU-story cell, run as the page runs it, with artifacts/ pointed at ``artifacts``."""
    from codegen_lib import pretrained
    from codegen_lib.config import ModelConfig
    from codegen_lib.model import build_model

    monkeypatch.setattr(pretrained, "artifacts_dir", lambda: artifacts)
    shown = []
    namespace = {"ModelConfig": ModelConfig, "build_model": build_model,
                 "Markdown": lambda text: ("md", text), "display": shown.append}
    exec(_chapter_cell("load_gpu_runs()"), namespace)
    return shown


def test_chapter_07_says_in_one_line_that_no_gpu_run_is_recorded(tmp_path, monkeypatch):
    shown = _run_gpu_cell(monkeypatch, tmp_path)
    text = "\n".join(s[1] for s in shown if isinstance(s, tuple))
    assert "No GPU run is recorded" in text and "H200" not in text
    assert "ceiling" in text and "datasheet" in text  # the T4 figure says where it comes from
    assert not any(not isinstance(s, tuple) for s in shown)  # no table of measurements


def test_chapter_07_shows_a_measured_run_with_the_cards_name(tmp_path, monkeypatch):
    (tmp_path / "gpu_runs.json").write_text(json.dumps(FAKE))  # a fake, in a temporary folder only
    shown = _run_gpu_cell(monkeypatch, tmp_path)
    text = "\n".join(s[1] for s in shown if isinstance(s, tuple))
    assert "Measured here** on an NVIDIA H200" in text and "No GPU run" not in text
    assert "So a T4 is estimated at" in text and "bound by per-step overhead" in text
    assert "is 20 times the CPU's 1,000 target tokens/s" in text
    tables = [s for s in shown if not isinstance(s, tuple)]
    assert len(tables) == 1 and "seed-bf16" in tables[0].to_html()


def test_chapter_07_compares_the_cpu_only_with_its_own_preset(tmp_path, monkeypatch):
    other = json.loads(json.dumps(FAKE))
    other["cpu_baseline"]["preset"] = "improved"  # no improved run on the GPU: no speed-up claimed
    (tmp_path / "gpu_runs.json").write_text(json.dumps(other))
    text = "\n".join(s[1] for s in _run_gpu_cell(monkeypatch, tmp_path) if isinstance(s, tuple))
    assert "times the CPU" not in text and "Measured here" in text
