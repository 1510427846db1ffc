"""The real-data evaluation suite: one model, every benchmark of the ``mix`` corpus, one decoding per metric
(chapter 09, ``artifacts/results.*``).

| set              | mix split            | metric(s)                                          | decoding            |
|------------------|----------------------|----------------------------------------------------|---------------------|
| mbpp_test        | test_mbpp (500)      | pass@1 (greedy), pass@10 (10 samples, T=0.8)       | greedy / sampling   |
| humaneval        | the wheel's 164      | pass@1 (greedy), pass@10 (10 samples)              | greedy / sampling   |
| conala_val       | validation_conala    | BLEU with CoNaLa's tokenization                    | beam                |
| xlcost_test      | test_xlcost (887)    | sacreBLEU, XLCoST-style BLEU                       | beam                |
| django_test      | test_django (1,805)  | token exact match, sacreBLEU                       | beam                |
| gfg_test         | test_gfg             | harness pass rate                                  | greedy              |
| tasks_test       | test_tasks           | pass@1                                             | greedy              |
| tasks_unseen     | test_unseen_tasks    | pass@1                                             | greedy              |
| everyday_val     | codegen_lib.everyday | pass@1 (each request's own sandboxed check)        | greedy              |

Every set also reports syntax validity (Django: :func:`codegen_lib.metrics.statement_validity`, since its
lines are single statements cut out of their block). Generated code runs only in the sandbox.

    results = evaluate_suite(model, tokenizer, corpus)                   # everything
    results = evaluate_suite(model, tokenizer, corpus, sets=PROBE, limit=200, greedy_only=True)   # a probe

This module is the table of which sets run, and how they are decoded; every set goes through
:func:`codegen_lib.evaluate.evaluate_set`. From the command line: ``codegen reproduce --scale offline
--real-data-dir ../shared/data/raw [--sets ...]``.
"""

from __future__ import annotations

from codegen_lib import metrics

__all__ = ["SETS", "PROBE", "evaluate_suite", "heldout_corpus", "results_rows", "side_by_side",
           "xlcost_codebertscore"]

# set -> (split of the mix corpus, kind, max_new_tokens)
SETS: dict[str, tuple[str, str, int]] = {
    "mbpp_test": ("test_mbpp", "pass", 192),
    "humaneval": ("", "humaneval", 192),
    "conala_val": ("validation_conala", "conala", 96),
    "xlcost_test": ("test_xlcost", "xlcost", 256),
    "django_test": ("test_django", "django", 96),
    "gfg_test": ("test_gfg", "pass", 256),
    "tasks_test": ("test_tasks", "pass", 160),
    "tasks_unseen": ("test_unseen_tasks", "pass", 160),
    "everyday_val": ("", "everyday", 160),  # validation only: never trained on (codegen_lib.everyday)
}
SAMPLED = ("mbpp_test", "humaneval")  # sets that also get pass@10 from samples (sampling is the slow part)
# The ablations' probe: validation splits only, so the recipe is not chosen on the test sets.
PROBE: dict[str, tuple[str, str, int]] = {
    "mbpp_val": ("validation_mbpp", "pass", 256),
    "conala_val": ("validation_conala", "conala", 96),
    "django_val": ("validation_django", "django", 96),
    "gfg_val": ("validation_gfg", "pass", 256),
    "tasks_val": ("validation_tasks", "pass", 160),
    "code_val": ("validation_code", "bleu", 256),
    "everyday_val": ("", "everyday", 160),
}


def evaluate_suite(
    model,
    tokenizer,
    corpus,
    sets: dict[str, tuple[str, str, int]] | None = None,
    *,
    limit: int | None = None,  # first N rows of each set (None = all; the results say how many)
    n_samples: int = 10,  # samples per problem for pass@10 (the sets in SAMPLED)
    greedy_only: bool = False,  # skip sampling and beam search (the ablation probe)
    beam_size: int = 4,
    length_penalty: float = 1.0,
    temperature: float = 0.8,
    timeout: float = 10.0,
    batch_size: int = 32,
) -> dict:
    """Run the suite: every set of ``sets`` (default :data:`SETS`) through
    :func:`codegen_lib.evaluate.evaluate_set` with its decoding (greedy for pass sets, beam otherwise,
    samples for pass@10 on :data:`SAMPLED`). Sets whose split is not in ``corpus`` are left out (HumanEval
    and the everyday requests need no split: they come with the library).

    Returns ``{set: {"split", "rows", "kind", "decoding", "metrics", "predictions", "statuses", "seconds"}}``.
    """
    from codegen_lib.evaluate import evaluate_set

    model.eval()
    results = {}
    for name, (split, kind, max_new) in (sets or SETS).items():
        own_rows = kind in ("humaneval", "everyday")  # the wheel's HumanEval, codegen_lib.everyday's requests
        if not own_rows and split not in corpus:
            continue
        greedy = {"strategy": "greedy", "max_new_tokens": max_new}
        beam = {"strategy": "beam", "beam_size": beam_size, "length_penalty": length_penalty,
                "max_new_tokens": max_new}
        use = greedy if (greedy_only or kind in ("pass", "humaneval", "everyday")) else beam
        sampled = n_samples > 1 and not greedy_only and name in SAMPLED
        r = evaluate_set(model, tokenizer, None if own_rows else corpus[split], kind, decoding=use,
                         n_samples=n_samples if sampled else 1, ks=(1, 10),
                         sample_decoding={"temperature": temperature, "seed": 0}, limit=limit, timeout=timeout,
                         batch_size=batch_size if use is greedy else 8)
        results[name] = {
            "split": split or "HumanEval", "rows": r["rows"], "kind": kind,
            "decoding": {**use, **({"pass@10 sampling": {"n": n_samples, "temperature": temperature}}
                                   if sampled else {})},
            "metrics": r["metrics"], "predictions": r["predictions"], "statuses": r["statuses"],
            "seconds": r["seconds"],
        }
    return results


def heldout_corpus(data_dir, seed: int = 0):
    """Only the held-out splits that :data:`SETS` scores, named as in the ``mix`` corpus, from the release
    copies under ``data_dir`` (``../shared/data/raw``); cheaper than building the whole mix (no code corpus).
    Sources whose folder is missing are left out."""
    from pathlib import Path

    from datasets import DatasetDict

    from codegen_lib.data import load_corpus

    root = Path(data_dir)
    out = {}
    plan = [("mbpp", "mbpp", {"test": "test_mbpp", "validation": "validation_mbpp"}),
            ("conala", "conala", {"validation": "validation_conala"}),
            ("django", "django", {"test": "test_django", "validation": "validation_django"}),
            ("gfg", "transcoder_gfg", {"test": "test_gfg", "validation": "validation_gfg"}),
            ("xlcost", "xlcost", {"test": "test_xlcost"})]
    for name, folder, names in plan:
        if not (root / folder).is_dir():
            continue
        kw = {"splits": ("test",)} if name == "xlcost" else {}
        dd = load_corpus(name, data_dir=root / folder, seed=seed, **kw)
        out.update({new: dd[old] for old, new in names.items()})
    tasks = load_corpus("tasks", seed=seed)
    out.update({"test_tasks": tasks["test"], "test_unseen_tasks": tasks["test_unseen"],
                "validation_tasks": tasks["validation"]})
    return DatasetDict(out)


def xlcost_codebertscore(
    model,
    tokenizer,
    rows,
    *,
    limit: int | None = None,
    codebert_model: str | None = None,
    beam_size: int = 4,
    length_penalty: float = 1.0,
    batch_size: int = 8,
) -> dict:
    """The report's CodeBERTScore for ``model``'s predictions on XLCoST's test programs (chapter 09).

    The predictions are decoded as :func:`evaluate_suite` decodes ``xlcost_test`` (beam search, 256 new
    tokens), so the score belongs beside that row's BLEU in the results table.

    Args:
        rows: a split with ``prompt`` and ``code`` columns (``load_corpus("xlcost", ...)["test"]``, or
            ``heldout_corpus(...)["test_xlcost"]``).
        limit: score only the first ``limit`` rows (None: all of them; the result says how many).
        codebert_model: a local directory holding a saved BERT/RoBERTa model and its tokenizer (the offline
            route; the tests use a tiny random BERT); None: the hub's ``neulab/codebert-python``.

    Returns:
        :func:`codegen_lib.metrics.codebertscore`'s ``{"precision", "recall", "f1", "f3", "model",
        "num_layers"}`` plus ``"programs"`` (rows scored) and ``"decoding"``.

    Raises:
        HubUnavailableError: ``codebert_model`` is None and the model cannot be fetched. The model is loaded
            before anything is decoded, so an offline machine fails within seconds; the message names the
            offline alternative (``codebert_model=<local directory>``).
    """
    from codegen_lib.evaluate import generate_batch
    from codegen_lib.hub import HubUnavailableError

    try:  # load the scoring model first (from the hub, its cache or codebert_model): fail fast offline
        metrics.codebertscore(["x = 1"], ["x = 1"], model_type=codebert_model)
    except HubUnavailableError as err:
        raise HubUnavailableError(
            f"{err} For the XLCoST score offline: xlcost_codebertscore(..., codebert_model=<local directory "
            "with a saved model and tokenizer>)."
        ) from err
    rows = rows.select(range(min(limit, len(rows)))) if limit else rows
    decoding = {"strategy": "beam", "beam_size": beam_size, "length_penalty": length_penalty,
                "max_new_tokens": SETS["xlcost_test"][2]}
    model.eval()
    hyps = generate_batch(model, tokenizer, list(rows["prompt"]), decoding, batch_size=batch_size,
                          desc="xlcost_test", progress=False)
    scores = metrics.codebertscore(hyps, list(rows["code"]), model_type=codebert_model)
    return {**scores, "programs": len(hyps), "decoding": decoding}


def results_rows(results: dict) -> list[dict]:
    """:func:`evaluate_suite` output as rows of ``codegen_lib.experiments``' results table."""
    from codegen_lib.evaluate import machine_info

    rows = []
    machine = machine_info()
    for name, r in results.items():
        dataset, _, split = name.partition("_")
        rows.append({
            "dataset": dataset, "split": {"": "test", "val": "validation", "unseen": "test_unseen"}.get(split, split),
            "sizes": {"examples": r["rows"]}, "metrics": r["metrics"], "decoding": r["decoding"],
            "sacrebleu_signature": metrics.bleu(["a"], ["a"])["signature"], "machine": machine,
            "time": {"seconds": r["seconds"]}, "predictions": r["predictions"], "statuses": r.get("statuses"),
        })
    return rows


def side_by_side(row: dict, n: int = 10, solved_first: int = 5) -> list[dict]:
    """``n`` problems of a pass row (MBPP test) for the results page, chosen by a fixed rule, not by hand:
    the first ``solved_first`` solved problems in the set's order, then failures at evenly spaced positions
    of the set (so typical failures, not the first few), ``n`` in all, back in the set's order."""
    statuses = row.get("statuses") or []
    preds = row.get("predictions") or []
    if not statuses or len(statuses) != len(preds):
        return []
    solved = [i for i, s in enumerate(statuses) if s == "pass"][:solved_first]
    failed = [i for i, s in enumerate(statuses) if s != "pass"]
    k = n - len(solved)
    picks = [failed[round(j * (len(failed) - 1) / max(k - 1, 1))] for j in range(k)] if failed and k > 0 else []
    chosen = sorted(set(solved + picks))
    return [{**preds[i], "index": i, "status": statuses[i],
             "parses": metrics.is_valid_python(preds[i]["hypothesis"])} for i in chosen]
