"""Tests for chapter 09's results view (codegen_lib.viz.results): small tables from any results rows."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from codegen_lib.evaluate import REPORT_TABLE_5_1  # noqa: E402
from codegen_lib.viz import plot_results_vs_report, results_tables  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def row(label, eval_set, n, **metrics):
    dataset, split = eval_set.split("/")
    return {"label": label, "eval_set": eval_set, "dataset": dataset, "split": split,
            "sizes": {"examples": n}, "metrics": metrics, "training": {"dataset": "mix"}}


ROWS = [
    row("m1", "xlcost/test", 887, bleu=10.96, xlcost_bleu=14.37, syntax_validity=0.315,
        codebertscore={"f1": 0.71, "f3": 0.7, "precision": 0.7, "recall": 0.7}),
    row("m1", "mbpp/test", 500, bleu=7.3, syntax_validity=0.556, **{"pass@1": 0.0, "pass@10": 0.02}, solved=0),
    row("m1", "conala/validation", 236, bleu=14.15, conala_bleu=15.31, syntax_validity=0.737),
    row("m1", "django/test", 1805, bleu=38.3, exact_match=0.391),
    # a suite and a model the view has never heard of, with a metric it does not know
    row("brand-new", "everyday/test", 40, **{"pass@1": 0.25}, syntax_validity=0.9, requests_ok=0.5),
]


def test_each_question_gets_a_small_table():
    tables = results_tables(ROWS)
    assert set(tables) == {"report", "works", "benchmarks", "other"}
    for frame in tables.values():
        assert len(frame.columns) <= 8
    report = tables["report"]
    assert list(report["model"][:3]) == [f"{r['model']} (report)" for r in REPORT_TABLE_5_1]
    ours = report[report["model"] == "m1"]
    assert list(ours["evaluated on"]) == ["xlcost/test"]  # only the report's test sets
    assert ours.iloc[0]["BLEU"] == "10.96" and ours.iloc[0]["CodeBERTScore F1"] == "0.71"
    works = tables["works"].set_index("evaluated on")
    assert works.loc["mbpp/test", "pass@10"] == "0.020" and works.loc["mbpp/test", "solved (greedy)"] == "0"
    assert works.loc["everyday/test", "model"] == "brand-new"  # a new suite appears unchanged
    assert "django/test" not in works.index  # no syntax or pass@k measured there
    assert works.loc["conala/validation", "pass@1"] == "—"
    bench = tables["benchmarks"].set_index(["evaluated on", "score"])
    assert bench.loc[("conala/validation", "CoNaLa BLEU"), "m1"] == "15.31"
    assert bench.loc[("django/test", "exact match"), "m1"] == "0.391"
    other = tables["other"]
    assert list(other["metric"]) == ["requests_ok"] and other.iloc[0]["model"] == "brand-new"


def test_no_rows_gives_empty_tables_but_the_report():
    tables = results_tables([])
    assert len(tables["report"]) == len(REPORT_TABLE_5_1)
    assert all(len(tables[k]) == 0 for k in ("works", "benchmarks", "other"))


def test_the_shipped_results_fit_the_tables():
    shipped = json.loads((REPO / "artifacts" / "results.json").read_text(encoding="utf-8"))["results"]
    tables = results_tables(shipped)
    assert all(len(f.columns) <= 8 for f in tables.values())
    assert len(tables["works"]) == sum(
        any(k in r["metrics"] for k in ("pass@1", "pass@10", "syntax_validity")) for r in shipped)


def test_bar_chart_has_one_bar_per_score():
    fig = plot_results_vs_report(ROWS)
    ax = fig.axes[0]
    # 3 report BLEUs; m1: 4 BLEU + XLCoST-style + CoNaLa; brand-new has none
    assert len(ax.patches) == 3 + 4 + 2
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "XLCoST test (report): BLEU" in labels and "xlcost/test: BLEU" in labels
    assert "conala/validation: CoNaLa BLEU" in labels
    assert fig.get_size_inches()[0] <= 7.0


def test_results_style_hides_the_index_and_spaces_the_columns():
    from codegen_lib.viz import results_style

    html = results_style(results_tables(ROWS)["works"]).to_html()
    assert "padding: 2px 6px" in html and "everyday/test" in html
    assert "row_heading" not in html  # no index column
