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


def test_t4_estimate_scales_the_measured_share_of_peak():
    n = 10_000_000
    alone = gpu_runs.t4_estimate(n)
    assert alone["estimate"] is None and alone["ceiling"] == pytest.approx(65e12 / (6 * n))
    est = gpu_runs.t4_estimate(n, {"device": "NVIDIA H200", "target_tokens_per_s": 20_000.0})
    assert est["share"] == pytest.approx(20_000 * 6 * n / 989e12)
    assert est["estimate"] == pytest.approx(20_000 * 65 / 989)  # the same share of the T4's peak
    assert est["estimate"] < est["ceiling"]
    assert gpu_runs.t4_estimate(n, {"device": "Some GPU", "target_tokens_per_s": 1.0})["estimate"] is None


def test_the_shipped_file_if_any_follows_the_schema():
    data = gpu_runs.load_gpu_runs()  # None when the repository records no GPU run
    assert data is None or len(gpu_runs.gpu_runs_frame(data)) >= len(data["runs"])
