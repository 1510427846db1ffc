"""Evaluate a model or a file of predictions with every available metric; write results JSON and a table.

Chapter 09 and ``python -m codegen_lib evaluate`` call these functions:

* :func:`evaluate_predictions` -- metrics for given hypotheses (no model needed);
* :func:`evaluate_model` -- decodes a split with :func:`codegen_lib.decode.generate` (progress bar), samples
  ``n_samples`` programs per task for pass@k, optionally runs HumanEval, then calls the former;
* :func:`write_results` -- ``results.json`` (values, sacrebleu signature, dataset, split, sizes, decoding
  settings, machine, time, checkpoint) and ``results.md`` (our row beside the report's Table 5.1).

A metric that cannot run here is recorded as a string saying why (e.g. ``"not computed: hub unreachable"``),
never as a substitute number.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

from codegen_lib import metrics
from codegen_lib.io import atomic_write_json, atomic_write_text
from codegen_lib.metrics import NOT_COMPUTED_HUB

__all__ = [
    "REPORT_TABLE_5_1",
    "evaluate_predictions",
    "evaluate_model",
    "write_results",
    "results_markdown",
    "machine_info",
    "generate_batch",
    "evaluate_set",
    "sandbox_pass_at_k",
    "KINDS",
]

# The report's Table 5.1 (BLEU and CodeBERTScore of its three models).
REPORT_TABLE_5_1 = (
    {"model": "XLCoST", "bleu": 15.09, "f1": 0.76, "f3": 0.74, "precision": 0.78, "recall": 0.75},
    {"model": "Alpaca", "bleu": 3.54, "f1": 0.72, "f3": 0.72, "precision": 0.72, "recall": 0.72},
    {"model": "Merged", "bleu": 10.87, "f1": 0.70, "f3": 0.69, "precision": 0.72, "recall": 0.68},
)
NOT_COMPUTED_CODEBLEU = "not computed: codebleu not installed"
DEFAULT_DECODING = {"strategy": "greedy", "max_new_tokens": 256}


def _column(rows, name: str) -> list | None:
    if rows is None:
        return None
    if hasattr(rows, "column_names"):  # datasets.Dataset
        return list(rows[name]) if name in rows.column_names else None
    values = [r.get(name) for r in rows]
    return values if all(v is not None for v in values) else None


def sandbox_pass_at_k(samples: Sequence[Sequence[str]], tests: Sequence[str], ks: Sequence[int], *,
                      workers: int | None = None, timeout: float = 10.0, progress: bool = False) -> dict:
    """Run ``samples[i][j]`` (program j of task i) against ``tests[i]`` in the sandbox; the unbiased pass@k.

    Returns ``{"pass@k" for k in ks if k <= n, "solved" (tasks with at least one passing program),
    "sandbox_statuses" (counts by status), "statuses" (every program's status, task by task)}``.
    """
    from codegen_lib.sandbox import SandboxConfig, run_many

    n = len(samples[0])
    if any(len(s) != n for s in samples):
        raise ValueError("every task needs the same number of samples for pass@k")
    if len(samples) != len(tests):
        raise ValueError(f"got samples for {len(samples)} tasks and tests for {len(tests)}")
    jobs = [(code, t) for per_task, t in zip(samples, tests) for code in per_task]
    results = run_many(jobs, workers=workers, config=SandboxConfig(timeout=timeout), progress=progress)
    statuses = [r.status for r in results]
    correct = [sum(s == "pass" for s in statuses[i * n : (i + 1) * n]) for i in range(len(samples))]
    out = {f"pass@{k}": sum(metrics.pass_at_k(n, c, k) for c in correct) / len(correct) for k in ks if k <= n}
    out["solved"] = sum(c > 0 for c in correct)
    out["sandbox_statuses"] = {s: statuses.count(s) for s in ("pass", "fail", "timeout", "error")}
    out["statuses"] = statuses
    return out


def _report_metrics(hyps: Sequence[str], refs: Sequence[str], *, codebert: bool,
                    codebert_model: str | None) -> dict:
    """The report's Table 5.1 columns besides BLEU: exact match, CodeBERTScore (an unreachable hub is
    recorded as ``"not computed: hub unreachable"``, never a substitute), CodeBLEU (or why not)."""
    out: dict = {"exact_match": metrics.exact_match(hyps, refs)}
    if codebert:
        from codegen_lib.hub import HubUnavailableError

        try:
            out["codebertscore"] = metrics.codebertscore(hyps, refs, model_type=codebert_model)
        except HubUnavailableError:
            out["codebertscore"] = {k: NOT_COMPUTED_HUB for k in ("precision", "recall", "f1", "f3")}
    try:
        out["codebleu"] = metrics.codebleu(hyps, refs)["codebleu"]
    except ImportError:
        out["codebleu"] = NOT_COMPUTED_CODEBLEU
    return out


def evaluate_predictions(
    hyps: Sequence[str],
    refs: Sequence[str],
    *,
    dataset: str,
    split: str,
    rows=None,
    samples: Sequence[Sequence[str]] | None = None,
    ks: Sequence[int] = (1, 5, 10),
    codebert: bool = True,
    codebert_model: str | None = None,
    humaneval: dict | None = None,
    sandbox_timeout: float = 10.0,
    workers: int | None = None,
    progress: bool = False,
) -> dict:
    """All metrics for predictions ``hyps`` against references ``refs`` (real Python source).

    Args:
        dataset, split: recorded in the results; ``dataset="xlcost"`` adds the XLCoST-style BLEU.
        rows: the evaluated rows (``datasets.Dataset`` or list of dicts); when they have a ``tests`` column
            (the task corpus), functional correctness is measured in the sandbox.
        samples: ``samples[i]`` = the n sampled programs for row i, for pass@k; default ``[[h] for h in hyps]``
            (pass@1 of the hypotheses).
        ks: the k of pass@k (those ``<= n`` are reported).
        codebert: compute CodeBERTScore; unreachable hub -> the marker ``"not computed: hub unreachable"``.
        codebert_model: a local model directory for CodeBERTScore (default: the hub's neulab/codebert-python).
        humaneval: a HumanEval result from :func:`codegen_lib.humaneval.humaneval_pass_at_1`, recorded as is.

    Returns:
        ``{"dataset", "split", "sizes", "metrics", "sacrebleu_signature"}``; :func:`evaluate_model` and
        :func:`write_results` add the rest.
    """
    metrics._check_pairs(hyps, refs)
    out_metrics: dict = {}
    b = metrics.bleu(hyps, refs)
    out_metrics["bleu"] = b["score"]
    if dataset == "xlcost":
        out_metrics["xlcost_bleu"] = metrics.xlcost_bleu(hyps, refs)
    out_metrics["syntax_validity"] = metrics.syntax_validity(hyps)
    out_metrics.update(_report_metrics(hyps, refs, codebert=codebert, codebert_model=codebert_model))

    tests = _column(rows, "tests")
    sizes = {"examples": len(hyps)}
    if tests is not None:
        if len(tests) != len(hyps):
            raise ValueError(f"rows have {len(tests)} tests for {len(hyps)} hypotheses")
        samples = [[h] for h in hyps] if samples is None else samples
        if len(samples) != len(hyps):
            raise ValueError(f"got samples for {len(samples)} tasks, expected {len(hyps)}")
        passed = sandbox_pass_at_k(samples, tests, ks, workers=workers, timeout=sandbox_timeout, progress=progress)
        out_metrics.update({k: v for k, v in passed.items() if k.startswith("pass@") or k == "sandbox_statuses"})
        sizes["samples_per_task"] = len(samples[0])
    if humaneval is not None:
        out_metrics["humaneval_pass@1"] = humaneval["pass@1"]
        sizes["humaneval_problems"] = humaneval["total"]
    return {
        "dataset": dataset,
        "split": split,
        "sizes": sizes,
        "metrics": out_metrics,
        "sacrebleu_signature": b["signature"],
    }


def generate_batch(model, tokenizer, prompts: list[str], decoding: dict, *, batch_size: int, desc: str,
                   progress: bool) -> list[str]:
    """``decode.generate`` over ``prompts`` in batches of ``batch_size`` (a progress bar named ``desc``)."""
    from tqdm.auto import tqdm

    from codegen_lib import decode  # looked up at call time (tests replace decode.generate)

    outputs: list[str] = []
    bar = tqdm(total=len(prompts), desc=desc, disable=not progress)
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        outputs.extend(decode.generate(model, tokenizer, chunk, **decoding))
        bar.update(len(chunk))
    bar.close()
    if len(outputs) != len(prompts):
        raise RuntimeError(f"generate returned {len(outputs)} outputs for {len(prompts)} prompts")
    return outputs


KINDS = {  # kind of an evaluation set -> what evaluate_set measures on it (besides syntax validity)
    "pass": "pass@1 of the greedy program in the sandbox, pass@k from samples; BLEU",
    "humaneval": "HumanEval's harness: pass@1 greedy, pass@k from samples (BLEU with report_metrics)",
    "bleu": "sacreBLEU",
    "xlcost": "sacreBLEU and XLCoST-style BLEU",
    "conala": "sacreBLEU and BLEU with CoNaLa's tokenization",
    "django": "token exact match, sacreBLEU; statement validity (one line of a block)",
    "everyday": "the everyday requests (codegen_lib.everyday): pass@1 of the greedy program through each "
                "request's own sandboxed check; BLEU",
}
SAMPLE_DECODING = {"strategy": "sample", "temperature": 0.8, "seed": 0}  # pass@k samples; sample j: seed + j


def _take(rows, limit: int | None):
    if limit is None:
        return rows
    if limit < 1:
        raise ValueError(f"limit must be >= 1 or None, got {limit}")
    return rows.select(range(min(limit, len(rows)))) if hasattr(rows, "select") else list(rows)[:limit]


def evaluate_set(
    model,
    tokenizer,
    rows,
    kind: str = "bleu",
    *,
    decoding: dict | None = None,
    n_samples: int = 1,
    ks: Sequence[int] = (1, 5, 10),
    sample_decoding: dict | None = None,
    limit: int | None = None,
    report_metrics: bool = False,
    codebert: bool = True,
    codebert_model: str | None = None,
    batch_size: int = 32,
    timeout: float = 10.0,
    workers: int | None = None,
    progress: bool = False,
    desc: str = "",
) -> dict:
    """The one evaluation pipeline: decode one set with one decoding and score it by its ``kind`` (chapter 09).

    The CLI's ``evaluate``, the real-data suite (:mod:`codegen_lib.suite`), the results tables, the
    ablations and chapter 09 all come here.

    Args:
        rows: the set: a ``datasets.Dataset`` or list of dicts with ``prompt`` and ``code`` (and ``tests``
            for kind ``"pass"``); for ``"humaneval"``, HumanEval problems (None = all 164 of the wheel); for
            ``"everyday"``, rows of :func:`codegen_lib.everyday.load_requests` (None = all of them).
        kind: a key of :data:`KINDS` (what is measured).
        decoding: keyword arguments of ``decode.generate`` (default greedy, 256 new tokens).
        n_samples: programs sampled per task for pass@k (kinds pass / humaneval / everyday; 1 = none).
        ks: the k of pass@k from the samples (those ``<= n_samples``; pass@1 of the samples is
            ``sampled_pass@1``, pass@1 itself is always the greedy program's).
        sample_decoding: overrides of :data:`SAMPLE_DECODING` for the samples (sample j is seeded seed + j).
        limit: the first ``limit`` rows only.
        report_metrics: add the report's Table 5.1 columns: exact match, CodeBERTScore (``codebert``; an
            unreachable hub is recorded as ``"not computed: hub unreachable"``), CodeBLEU, and BLEU on
            HumanEval (against prompt + canonical solution).
        batch_size: prompts decoded together; timeout, workers: the sandbox's.

    Returns:
        ``{"kind", "rows", "decoding", "sample_decoding", "metrics", "sizes", "sacrebleu_signature",
        "predictions" [{"prompt", "reference", "hypothesis"}], "statuses" (greedy programs' sandbox
        statuses, kinds pass / humaneval / everyday), "seconds"}``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid kinds: {sorted(KINDS)}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    t0 = time.perf_counter()
    decoding = {**DEFAULT_DECODING, **(decoding or {})}
    tests = None
    if kind == "humaneval":
        from codegen_lib.humaneval import build_program, completion_from_generation, load_humaneval

        problems = list(_take(load_humaneval() if rows is None else list(rows), limit))
        prompts = [p["prompt"] for p in problems]
        refs = [p["prompt"] + p["canonical_solution"] for p in problems]
        tests = [build_program(p, "")[1] for p in problems]
    elif kind == "everyday":  # each request's setup (and the one-liner driver) wraps the generated code
        from codegen_lib import everyday

        requests = list(_take(everyday.load_requests() if rows is None else list(rows), limit))
        prompts, refs = [r["prompt"] for r in requests], [r["code"] for r in requests]
        tests = [everyday.job(r, "")[1] for r in requests]
    else:
        rows = _take(rows, limit)
        prompts, refs = _column(rows, "prompt"), _column(rows, "code")
        if prompts is None or refs is None:
            raise ValueError("rows need 'prompt' and 'code' columns")
        if kind == "pass":
            tests = _column(rows, "tests")
            if tests is None:
                raise ValueError("kind 'pass' needs rows with a 'tests' column")
    if not prompts:
        raise ValueError("no rows to evaluate")

    def programs(per_task: list[list[str]]) -> list[list[str]]:
        if kind == "humaneval":
            return [[build_program(p, completion_from_generation(p, g))[0] for g in gens]
                    for p, gens in zip(problems, per_task)]
        if kind == "everyday":
            return [[everyday.job(r, g)[0] for g in gens] for r, gens in zip(requests, per_task)]
        return per_task

    hyps = generate_batch(model, tokenizer, prompts, decoding, batch_size=batch_size, desc=desc or "decode",
                          progress=progress)
    m: dict = {}
    statuses = sample_settings = None
    sizes = {"examples": len(prompts)}
    if tests is not None:
        greedy = sandbox_pass_at_k(programs([[h] for h in hyps]), tests, (1,), workers=workers, timeout=timeout,
                                   progress=progress)
        statuses = greedy.pop("statuses")
        m.update(greedy)
        if n_samples > 1:
            sample_settings = {**decoding, **SAMPLE_DECODING, **(sample_decoding or {})}
            base = sample_settings.get("seed") or 0
            per_seed = [generate_batch(model, tokenizer, prompts, {**sample_settings, "seed": base + j},
                                       batch_size=batch_size, desc=f"sample {j + 1}/{n_samples}", progress=progress)
                        for j in range(n_samples)]
            sampled = sandbox_pass_at_k(programs([list(col) for col in zip(*per_seed)]), tests, ks,
                                        workers=workers, timeout=timeout, progress=progress)
            m.update({k: v for k, v in sampled.items() if k.startswith("pass@") and k != "pass@1"})
            m["sampled_pass@1"] = sampled["pass@1"]
            m["sampled_solved"] = sampled["solved"]
            m["sampled_sandbox_statuses"] = sampled["sandbox_statuses"]
            sizes["samples_per_task"] = n_samples
    b = metrics.bleu(hyps, refs)
    if kind != "humaneval" or report_metrics:
        m["bleu"] = b["score"]
    if kind == "xlcost":
        m["xlcost_bleu"] = metrics.xlcost_bleu(hyps, refs)
    if kind == "conala":
        m["conala_bleu"] = metrics.conala_bleu(hyps, refs)
    if kind == "django":
        m["exact_match"] = metrics.token_exact_match(hyps, refs)
    m["syntax_validity"] = metrics.statement_validity(hyps) if kind == "django" else metrics.syntax_validity(hyps)
    if report_metrics:
        m = {**_report_metrics(hyps, refs, codebert=codebert, codebert_model=codebert_model), **m}
    limit_src = getattr(getattr(model, "config", None), "max_src_len", None)
    if limit_src:
        sizes["prompts_truncated"] = sum(len(tokenizer.encode(p)) > limit_src - 1 for p in prompts)
    return {
        "kind": kind,
        "rows": len(prompts),
        "decoding": decoding,
        "sample_decoding": sample_settings,
        "metrics": m,
        "sizes": sizes,
        "sacrebleu_signature": b["signature"],
        "predictions": [{"prompt": p, "reference": r, "hypothesis": h} for p, r, h in zip(prompts, refs, hyps)],
        "statuses": statuses,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def evaluate_model(
    model,
    tokenizer,
    rows,
    *,
    dataset: str,
    split: str,
    kind: str | None = None,
    decoding: dict | None = None,
    n_samples: int = 1,
    sample_decoding: dict | None = None,
    ks: Sequence[int] = (1, 5, 10),
    humaneval: bool = False,
    codebert: bool = True,
    codebert_model: str | None = None,
    limit: int | None = None,
    batch_size: int = 32,
    sandbox_timeout: float = 10.0,
    workers: int | None = None,
    checkpoint: str | None = None,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict:
    """:func:`evaluate_set` with the report's metrics, as one results row (chapter 09, ``evaluate`` command).

    Args:
        rows: a split with ``prompt`` and ``code`` columns (``datasets.Dataset`` or list of dicts); with
            ``tests`` pass@k is measured too. For ``dataset="humaneval"``: HumanEval problems (None = all).
        dataset, split: names recorded in the results; ``kind`` defaults to ``"pass"`` when the rows have
            tests, ``"humaneval"`` for HumanEval, ``"xlcost"`` for XLCoST, else ``"bleu"``.
        decoding, n_samples, sample_decoding, ks, limit, batch_size: as in :func:`evaluate_set`.
        humaneval: also decode the 164 HumanEval prompts and add their pass@1 as ``humaneval_pass@1``.
        checkpoint: recorded in the results; out_dir: where :func:`write_results` writes, if given.

    Returns:
        ``{"dataset", "split", "sizes", "metrics", "sacrebleu_signature", "decoding", "checkpoint",
        "machine", "time", "predictions", "statuses"}`` (also written to ``out_dir`` when given).
    """
    started = time.time()
    if kind is None:
        kind = ("humaneval" if dataset == "humaneval" else "pass" if _column(rows, "tests") is not None
                else "xlcost" if dataset == "xlcost" else "bleu")
    common = dict(codebert=codebert, codebert_model=codebert_model, batch_size=batch_size,
                  timeout=sandbox_timeout, workers=workers, progress=progress)
    res = evaluate_set(model, tokenizer, rows, kind, decoding=decoding, n_samples=n_samples, ks=ks,
                       sample_decoding=sample_decoding, limit=limit, report_metrics=True,
                       desc=f"decode {dataset}/{split}", **common)
    if humaneval:
        he = evaluate_set(model, tokenizer, None, "humaneval", decoding=decoding, desc="decode HumanEval",
                          **{**common, "codebert": False})
        res["metrics"]["humaneval_pass@1"] = he["metrics"]["pass@1"]
        res["sizes"]["humaneval_problems"] = he["rows"]
    results = {"dataset": dataset, "split": split, "sizes": res["sizes"], "metrics": res["metrics"],
               "sacrebleu_signature": res["sacrebleu_signature"], "decoding": res["decoding"]}
    if res["sample_decoding"] is not None:
        results["sample_decoding"] = res["sample_decoding"]
    results["checkpoint"] = None if checkpoint is None else str(checkpoint)
    results["machine"] = machine_info()
    results["time"] = {
        "started": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started, 3),
    }
    results["predictions"] = res["predictions"]
    results["statuses"] = res["statuses"]
    if out_dir is not None:
        write_results(results, out_dir)
    return results


def machine_info() -> dict:
    """Platform, Python/torch versions, CPU model and GPU name (or None) -- recorded with every result."""
    cpu = platform.processor() or None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "gpu": None}
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def _fmt(value, digits: int) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}"


def results_markdown(results: dict) -> str:
    """A markdown table: the report's Table 5.1 rows, then ours, plus the metrics the report did not have."""
    m = results["metrics"]
    cbs = m.get("codebertscore", {})
    pass_keys = sorted((k for k in m if k.startswith("pass@")), key=lambda k: int(k[5:]))
    extra_keys = [k for k in ("xlcost_bleu", "syntax_validity", "exact_match", "codebleu") if k in m]
    extra_keys += pass_keys + [k for k in ("humaneval_pass@1",) if k in m]
    head = ["Model", "BLEU", "F1", "F3", "Precision", "Recall", *extra_keys]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in REPORT_TABLE_5_1:
        cells = [f"{row['model']} (report)", _fmt(row["bleu"], 2), *(_fmt(row[k], 2) for k in
                 ("f1", "f3", "precision", "recall")), *("—" for _ in extra_keys)]
        lines.append("| " + " | ".join(cells) + " |")
    ours = [f"ours: {results['dataset']}/{results['split']}", _fmt(m["bleu"], 2),
            *(_fmt(cbs.get(k), 2) for k in ("f1", "f3", "precision", "recall")),
            *(_fmt(m[k], 2 if k.endswith("bleu") else 3) for k in extra_keys)]
    lines.append("| " + " | ".join(ours) + " |")
    notes = [
        "",
        f"BLEU: sacrebleu `{results['sacrebleu_signature']}` on {results['sizes']['examples']} examples "
        "(the report does not give its BLEU tokenization, so compare with care).",
    ]
    if "xlcost_bleu" in m:
        notes.append("xlcost_bleu: CodeXGLUE/XLCoST smoothed BLEU-4 on XLCoST-tokenized code (0-100).")
    if "codebertscore" in m and isinstance(cbs.get("f1"), float):
        notes.append(f"CodeBERTScore model: `{cbs.get('model')}`, layer {cbs.get('num_layers')}.")
    if "pass@1" in m:
        notes.append(f"pass@k: {results['sizes'].get('samples_per_task', 1)} sample(s) per task, run in the sandbox.")
    if "decoding" in results:
        notes.append(f"Decoding: `{json.dumps(results['decoding'], sort_keys=True)}`.")
    return "\n".join(lines + notes) + "\n"


def write_results(results: dict, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``results.json``, ``results.md`` and (when present) ``predictions.jsonl`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    body = {k: v for k, v in results.items() if k not in ("predictions", "statuses")}
    paths = {"json": out / "results.json", "markdown": out / "results.md"}
    atomic_write_json(paths["json"], body)
    atomic_write_text(paths["markdown"], results_markdown(results))
    if results.get("predictions"):
        paths["predictions"] = out / "predictions.jsonl"
        atomic_write_text(paths["predictions"], "".join(json.dumps(r) + "\n" for r in results["predictions"]))
    return paths
