"""Chapter 07's GPU story: measured GPU runs (``artifacts/gpu_runs.json``) and what a Colab T4 would give.

A GPU figure appears on a page only if it was measured: :func:`load_gpu_runs` reads the file the repository
ships after a real run (schema below) and returns None when there is none, so the chapter can say so in one
line. The T4 figure is an *estimate*, and says from which published number it comes:

* the ceiling: NVIDIA's T4 datasheet gives 65 TFLOPS of FP16 tensor-core peak (8.1 TFLOPS FP32), and a
  training step costs about 6 FLOPs per parameter per target token (forward 2, backward 4: Kaplan et al.,
  2020), so no run on a T4 exceeds ``65e12 / (6 N)`` target tokens per second;
* the estimate, from a run measured on another GPU: its time per step is the arithmetic (which scales with
  the card's peak) plus per-step overhead (Python, data, kernel launches, which a T4 shares). If it were
  all arithmetic, a T4 would reach the measured rate times the ratio of the peaks (the low end); if it
  were all overhead, about the measured rate itself, capped at the ceiling (the high end). The arithmetic's
  own time at the measured card's peak says which end is nearer.

Schema of ``gpu_runs.json``::

    {"device": "NVIDIA H200", "torch": "2.x",
     "runs": [{"name", "preset", "batch_size", "steps", "target_tokens", "wall_s", "target_tokens_per_s",
               "precision"}, ...],
     "cpu_baseline": {"machine", "preset", "target_tokens_per_s"}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["T4", "PEAK_TFLOPS", "FLOPS_PER_PARAM_TOKEN", "load_gpu_runs", "gpu_runs_frame", "t4_estimate"]

FLOPS_PER_PARAM_TOKEN = 6  # forward + backward, per parameter and target token (Kaplan et al., 2020)
T4 = {"name": "NVIDIA T4 (Colab's free GPU)", "peak_tflops": 65.0, "precision": "float16",
      "source": "NVIDIA T4 Tensor Core GPU datasheet: 65 TFLOPS mixed-precision FP16/FP32 peak"}
# published dense 16-bit tensor-core peaks (TFLOPS), for the share of peak a measured run used
PEAK_TFLOPS = {
    "NVIDIA H200": (989.0, "NVIDIA H200 datasheet: 1,979 TFLOPS BF16 with sparsity, 989 dense"),
    "NVIDIA H100": (989.0, "NVIDIA H100 SXM datasheet: 1,979 TFLOPS BF16 with sparsity, 989 dense"),
    "NVIDIA A100": (312.0, "NVIDIA A100 datasheet: 312 TFLOPS BF16 dense"),
    "NVIDIA T4": (65.0, T4["source"]),
}
_RUN_KEYS = ("name", "preset", "batch_size", "steps", "target_tokens", "wall_s", "target_tokens_per_s",
             "precision")


def load_gpu_runs(path: str | Path | None = None) -> dict[str, Any] | None:
    """The measured GPU runs (default ``artifacts/gpu_runs.json``), or None when no run is recorded.

    A file that is present but does not follow the schema raises ValueError (a page must not show a
    half-read measurement).
    """
    if path is None:
        from codegen_lib.pretrained import artifacts_dir

        path = artifacts_dir() / "gpu_runs.json"
    path = Path(path)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    runs = data.get("runs")
    if not isinstance(data.get("device"), str) or not isinstance(runs, list) or not runs:
        raise ValueError(f"{path.name}: needs a 'device' and a non-empty list of 'runs'")
    for run in runs:
        missing = [k for k in _RUN_KEYS if k not in run]
        if missing:
            raise ValueError(f"{path.name}: run {run.get('name', '?')!r} lacks {missing}")
    return data


def gpu_runs_frame(data: Mapping[str, Any]):
    """The measured runs as a table (one row per run, at most 8 columns), the CPU baseline last."""
    import pandas as pd

    rows = [{"run": r["name"], "preset": r["preset"], "batch": r["batch_size"], "steps": f"{r['steps']:,}",
             "target tokens": f"{r['target_tokens']:,}", "wall time": f"{r['wall_s']:.0f} s",
             "target tokens/s": f"{r['target_tokens_per_s']:,.0f}", "precision": r["precision"]}
            for r in data["runs"]]
    cpu = data.get("cpu_baseline")
    if cpu:
        rows.append({"run": f"CPU: {cpu.get('machine', '?')}", "preset": cpu.get("preset", "?"), "batch": "",
                     "steps": "", "target tokens": "", "wall time": "",
                     "target tokens/s": f"{cpu['target_tokens_per_s']:,.0f}", "precision": "float32"})
    return pd.DataFrame(rows)


def t4_estimate(n_params: int, measured: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a T4 gives for a model of ``n_params`` parameters, in target tokens per second.

    ``ceiling``: the T4's published peak over ``6 * n_params`` FLOPs per target token. With ``measured``
    (a run of ``gpu_runs.json`` plus its ``device``, on a card whose peak :data:`PEAK_TFLOPS` knows):
    ``low`` (all of the run's time was arithmetic: the rate times the ratio of the peaks), ``high`` (all was
    overhead a T4 shares: the rate, at most the ceiling), ``step_ms`` (the run's time per step),
    ``arith_ms`` (its arithmetic per step at its card's peak) and ``t4_arith_ms`` (the same on a T4).
    Without a usable measurement those are None.
    """
    per_token = FLOPS_PER_PARAM_TOKEN * n_params
    t4_peak = T4["peak_tflops"] * 1e12
    out: dict[str, Any] = {"ceiling": t4_peak / per_token, "low": None, "high": None, "step_ms": None,
                           "arith_ms": None, "t4_arith_ms": None, "source": T4["source"], "from_device": None}
    if not measured:
        return out
    device = next((k for k in PEAK_TFLOPS if k.lower() in str(measured.get("device", "")).lower()), None)
    if device is None or not measured.get("steps"):
        return out
    peak = PEAK_TFLOPS[device][0] * 1e12
    rate = float(measured["target_tokens_per_s"])
    tokens_per_step = measured["target_tokens"] / measured["steps"]
    out.update(low=rate * t4_peak / peak, high=min(rate, out["ceiling"]),
               step_ms=1e3 * measured["wall_s"] / measured["steps"],
               arith_ms=1e3 * per_token * tokens_per_step / peak,
               t4_arith_ms=1e3 * per_token * tokens_per_step / t4_peak,
               from_device=device, from_source=PEAK_TFLOPS[device][1])
    return out
