"""Chapter 09's results, one small table per question and a bar chart beside the report's Table 5.1.

``artifacts/results.json`` holds one row per (checkpoint, evaluation set), each with a ``metrics`` dict. The
full table (every metric of every row, 17 columns) stays in ``artifacts/results.md``; on a page that table is
mostly empty cells and runs off the screen. So the chapter asks three questions, each answered by a table of
at most 8 columns built from whatever rows and metrics the file holds (a new evaluation set, a new model or a
metric this module does not know appear without a code change: unknown metrics go to a fourth table):

* ``report``: the report's Table 5.1 beside our rows on the same test sets and metrics (BLEU, CodeBERTScore);
* ``works``: does the code parse and pass its tests (syntax validity, pass@1, pass@10)?
* ``benchmarks``: each benchmark's own score (CoNaLa BLEU, Django exact match, XLCoST-style BLEU, ...);
* ``other``: any metric none of the three shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["results_tables", "results_style", "plot_results_vs_report", "REPORT_SETS", "BENCHMARK_SCORES"]

MISSING = "—"
# the report's three models and the test set each was scored on (Table 5.1)
REPORT_SETS = {"XLCoST": "xlcost/test", "Alpaca": "alpaca/test", "Merged": "merged/test"}
# each benchmark's own headline score: metric key -> the label the benchmark's papers use
BENCHMARK_SCORES = {
    "conala_bleu": "CoNaLa BLEU",
    "exact_match": "exact match",
    "xlcost_bleu": "XLCoST-style BLEU",
    "codebleu": "CodeBLEU",
}
WORKS = (("syntax_validity", "syntax valid", 3), ("pass@1", "pass@1", 3), ("pass@10", "pass@10", 3))
# metrics shown by the tables above, or bookkeeping that repeats them in another form
_SHOWN = {"bleu", "codebertscore", "solved", "pass@1_sampled", "solved_by_any_sample",
          *BENCHMARK_SCORES, *(k for k, _, _ in WORKS)}


def _label(row: Mapping[str, Any]) -> str:
    return str(row.get("label") or row.get("checkpoint") or "this page")


def _eval_set(row: Mapping[str, Any]) -> str:
    return str(row.get("eval_set") or f"{row.get('dataset', '?')}/{row.get('split', '?')}")


def _trained_on(row: Mapping[str, Any]) -> str:
    return str((row.get("training") or {}).get("dataset") or MISSING)


def _n(row: Mapping[str, Any]) -> str:
    n = (row.get("sizes") or {}).get("examples")
    return f"{n:,}" if isinstance(n, int) else MISSING


def _fmt(value: Any, digits: int) -> str:
    if isinstance(value, bool) or value is None:
        return MISSING
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return MISSING  # "not computed: ..." strings: the notes below the table say why


def _cbs_f1(row: Mapping[str, Any]) -> Any:
    cbs = (row.get("metrics") or {}).get("codebertscore")
    return cbs.get("f1") if isinstance(cbs, Mapping) else None


def results_tables(rows: Sequence[Mapping[str, Any]], report: Sequence[Mapping[str, Any]] | None = None
                   ) -> dict[str, Any]:
    """The chapter's tables as ``{"report", "works", "benchmarks", "other"}`` -> DataFrame (index hidden).

    ``rows``: the ``results`` of ``artifacts/results.json`` (or rows of ``evaluate_predictions``).
    ``report``: the report's Table 5.1 rows (default: ``codegen_lib.evaluate.REPORT_TABLE_5_1``). A table
    with no row is an empty DataFrame with its columns, so a chapter can say in one line that it is empty.
    """
    import pandas as pd

    if report is None:
        from codegen_lib.evaluate import REPORT_TABLE_5_1 as report
    report_sets = set(REPORT_SETS.values())

    table1 = [{"model": f"{r['model']} (report)", "trained on": r["model"], "evaluated on":
               f"{REPORT_SETS.get(r['model'], r['model'])} (report's split)", "n": MISSING,
               "BLEU": _fmt(r.get("bleu"), 2), "XLCoST-style BLEU": MISSING,
               "CodeBERTScore F1": _fmt(r.get("f1"), 2)} for r in report]
    for r in rows:
        if _eval_set(r) in report_sets:
            m = r.get("metrics") or {}
            table1.append({"model": _label(r), "trained on": _trained_on(r), "evaluated on": _eval_set(r),
                           "n": _n(r), "BLEU": _fmt(m.get("bleu"), 2),
                           "XLCoST-style BLEU": _fmt(m.get("xlcost_bleu"), 2),
                           "CodeBERTScore F1": _fmt(_cbs_f1(r), 2)})

    table2 = []
    for r in rows:
        m = r.get("metrics") or {}
        if not any(isinstance(m.get(k), (int, float)) for k, _, _ in WORKS):
            continue
        solved = m.get("solved")
        table2.append({"model": _label(r), "evaluated on": _eval_set(r), "n": _n(r),
                       **{label: _fmt(m.get(k), d) for k, label, d in WORKS},
                       "solved (greedy)": f"{solved:,}" if isinstance(solved, int) else MISSING})

    table3 = []
    for r in rows:
        m = r.get("metrics") or {}
        for key, name in BENCHMARK_SCORES.items():
            if isinstance(m.get(key), (int, float)):
                digits = 3 if key == "exact_match" else 2
                table3.append({"evaluated on": _eval_set(r), "score": name, "model": _label(r),
                               "value": _fmt(m[key], digits), "n": _n(r)})
    bench = pd.DataFrame(table3, columns=["evaluated on", "score", "model", "value", "n"])
    if len(bench):  # one row per (set, score), one column per model: at most 6 models side by side
        models = list(dict.fromkeys(bench["model"]))[:6]
        bench = bench[bench["model"].isin(models)]
        bench = (bench.pivot_table(index=["evaluated on", "score"], columns="model", values="value",
                                   aggfunc="first").reindex(columns=models).fillna(MISSING).reset_index())
        bench.columns.name = None
    else:
        bench = pd.DataFrame(columns=["evaluated on", "score"])

    table4 = []
    for r in rows:
        for key, value in (r.get("metrics") or {}).items():
            if key in _SHOWN or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            table4.append({"model": _label(r), "evaluated on": _eval_set(r), "metric": key,
                           "value": _fmt(value, 3), "n": _n(r)})

    columns1 = ["model", "trained on", "evaluated on", "n", "BLEU", "XLCoST-style BLEU", "CodeBERTScore F1"]
    columns2 = ["model", "evaluated on", "n", *(label for _, label, _ in WORKS), "solved (greedy)"]
    return {
        "report": pd.DataFrame(table1, columns=columns1),
        "works": pd.DataFrame(table2, columns=columns2),
        "benchmarks": bench,
        "other": pd.DataFrame(table4, columns=["model", "evaluated on", "metric", "value", "n"]),
    }


def results_style(frame):
    """``frame`` as the page shows it: no index column, a little space between columns, names kept on one
    line (a Styler, which never cuts a value short)."""
    return frame.style.hide(axis="index").set_table_styles([
        {"selector": "td, th", "props": "padding: 2px 6px; text-align: left;"},
        {"selector": "td:first-child", "props": "white-space: nowrap;"},
    ])


def plot_results_vs_report(rows: Sequence[Mapping[str, Any]], report: Sequence[Mapping[str, Any]] | None = None,
                           *, width: float = 7.0):
    """A horizontal bar chart of BLEU-type scores (0-100): the report's three BLEUs, then each of our rows'
    BLEU (sacrebleu) and, where its set has one, the set's own BLEU (XLCoST-style, CoNaLa). One colour per
    model; the bars are labelled with their value. Returns the matplotlib Figure (closed, so it is drawn
    once, where the cell displays it)."""
    import matplotlib.pyplot as plt

    if report is None:
        from codegen_lib.evaluate import REPORT_TABLE_5_1 as report
    bars: list[tuple[str, str, float]] = []  # (who, label, value)
    for r in report:
        if isinstance(r.get("bleu"), (int, float)):
            bars.append(("report", f"{r['model']} test (report): BLEU", float(r["bleu"])))
    for r in rows:
        m = r.get("metrics") or {}
        for key, name in (("bleu", "BLEU"), ("xlcost_bleu", "XLCoST-style BLEU"), ("conala_bleu", "CoNaLa BLEU")):
            if isinstance(m.get(key), (int, float)):
                bars.append((_label(r), f"{_eval_set(r)}: {name}", float(m[key])))
    who = list(dict.fromkeys(b[0] for b in bars))
    colours = {w: plt.cm.tab10(i % 10) for i, w in enumerate(who)}
    fig, ax = plt.subplots(figsize=(width, 0.28 * len(bars) + 1.2), constrained_layout=True)
    y = list(range(len(bars)))[::-1]
    ax.barh(y, [b[2] for b in bars], color=[colours[b[0]] for b in bars])
    ax.set_yticks(y, [b[1] for b in bars], fontsize=8)
    for yi, (_, _, value) in zip(y, bars):
        ax.text(value, yi, f" {value:.1f}", va="center", fontsize=7)
    ax.set_xlabel("score (0-100)")
    ax.set_xlim(0, max([b[2] for b in bars] + [1.0]) * 1.15)
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colours[w]) for w in who],
              labels=[w if w == "report" else f"ours: {w}" for w in who], fontsize=8, loc="lower right")
    ax.set_title("BLEU-type scores: the report's Table 5.1 and ours", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    plt.close(fig)
    return fig
