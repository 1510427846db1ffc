"""The ``doctest`` corpus: pairing, every filter on planted docstrings, decontamination, package split."""

import ast

import pytest

from codegen_lib.corpora import doctest as dc

GOOD = '''Sort numbers.

Sort the values in reverse order:

>>> sorted([3, 1, 2], reverse=True)
[3, 2, 1]
'''


def _raw(doc: str, package: str = "pkg", name: str = "f") -> list[dict]:
    rows = dc.docstring_pairs(doc)
    for i, r in enumerate(rows):
        r.update(id=f"{package}:mod:{name}:{i}", package=package, version="1.0", license="MIT")
    return rows


def test_a_sentence_above_an_example_becomes_a_row_with_its_output():
    rows, counts = dc.filter_pairs(_raw(GOOD))
    assert [(r["prompt"], r["code"], r["output"]) for r in rows] == [
        ("Sort the values in reverse order", "sorted([3, 1, 2], reverse=True)\n", "[3, 2, 1]")]
    assert sum(v for k, v in counts.items() if k in dc.FILTER_STEPS) == 0


def test_consecutive_examples_form_one_group_with_continuation_lines():
    doc = ("Build a dict and read it back:\n\n>>> d = {'a': 1,\n...      'b': 2}\n>>> d['b']\n2\n\n"
           "Now delete a key:\n\n>>> del d['a']\n")
    raw = dc.docstring_pairs(doc)
    assert [r["code"] for r in raw] == ["d = {'a': 1,\n     'b': 2}\nd['b']", "del d['a']"]
    assert raw[0]["outputs"][-1] == "2\n"
    assert [dc.request_sentence(dc._last_paragraph(r["before"])) for r in raw] == [
        "Build a dict and read it back:", "Now delete a key:"]


@pytest.mark.parametrize("doc,step", [
    (">>> sorted([3, 1, 2])\n[1, 2, 3]\n", "no_prose"),
    ("Examples\n--------\n>>> sorted([3, 1, 2])\n[1, 2, 3]\n", "not_a_sentence"),
    ("x : list of int\n    The values.\n\n>>> sorted(x)\n", "not_a_sentence"),
    (":param x: the values to sort\n\n>>> sorted(x)\n", "not_a_sentence"),
    ("For example:\n\n>>> sorted(x)\n", "not_a_sentence"),
    ("The result is then multiplied by\n\n>>> sorted(x)\n", "not_a_sentence"),
    ("Sort some random numbers:\n\n>>> sorted(rand(3))  # doctest: +SKIP\n[0.1, 0.5, 0.7]\n", "directive"),
    ("Sorting a number fails:\n\n>>> sorted(3)\nTraceback (most recent call last):\n...\nTypeError: no\n",
     "exception"),
    ("Sort a long range of numbers:\n\n>>> sorted(range(100))\n[0, 1, ..., 99]\n", "ellipsis_output"),
    ("Print in the old style:\n\n>>> print 'hello'\nhello\n", "unparseable"),
    ("Import the sorting helpers first:\n\n>>> import bisect\n", "trivial"),
    ("Show the sorted values now:\n\n>>> values\n[1, 2]\n", "trivial"),
    ("Build a large table of values:\n\n" + "".join(f">>> x{i} = {i}\n" for i in range(13)), "too_long"),
])  # fmt: skip
def test_each_filter_removes_its_planted_example(doc, step):
    rows, counts = dc.filter_pairs(_raw(doc))
    assert rows == []
    assert counts[step] == 1
    assert sum(counts[s] for s in dc.FILTER_STEPS) == 1


def test_duplicates_are_counted_and_the_first_is_kept():
    raw = _raw(GOOD, "a") + _raw(GOOD, "b") + _raw(GOOD.replace("Sort the values", "Order the numbers"), "c")
    rows, counts = dc.filter_pairs(raw)
    assert [r["package"] for r in rows] == ["a"]
    assert counts["duplicate_pair"] == 1 and counts["duplicate_code"] == 1


def test_display_statements_leave_the_code():
    doc = "Build a mapping of squares:\n\n>>> d = {i: i * i for i in range(3)}\n>>> d\n{0: 0, 1: 1, 2: 4}\n>>> d[2]\n4\n"
    rows, counts = dc.filter_pairs(_raw(doc))
    assert [r["code"] for r in rows] == ["d = {i: i * i for i in range(3)}\nd[2]\n"]
    assert rows[0]["output"] == "4" and counts["rows_with_display_lines_removed"] == 1


def test_heading_summary_option_uses_the_docstring_summary_for_the_first_group():
    doc = ("Return the sorted values of a list. More text.\n\nExamples\n--------\n>>> sorted([2, 1])\n[1, 2]\n\n"
           "Examples\n--------\n>>> sorted([3, 1])\n[1, 3]\n")
    assert dc.filter_pairs(_raw(doc))[0] == []
    rows, counts = dc.filter_pairs(_raw(doc), heading_summary=True)
    assert [(r["prompt"], r["code"]) for r in rows] == [("Return the sorted values of a list", "sorted([2, 1])\n")]
    assert counts["heading_summary_used"] == 1 and counts["not_a_sentence"] == 1  # the second group: no summary


def test_request_sentence_cleans_markup_and_skips_lead_ins():
    assert dc.request_sentence("Use :func:`len` on ``items``::") == "Use `len` on `items`:"
    assert dc.request_sentence("It uses named special functions. For example:") == "It uses named special functions."
    assert dc._last_paragraph("Compute the mean:\n\n.. plot::\n   :context: close-figs\n\n```python\n") == (
        "Compute the mean:")
    assert dc.sentence_problem("Compute the mean of `data`:") is None
    assert dc.sentence_problem("compute the mean:") == "no capital start"


def test_a_planted_benchmark_solution_is_removed(monkeypatch, tmp_path):
    solution = "def add_all(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total"
    planted = "Add up a list of numbers with a loop:\n\n" + "".join(
        (">>> " if i == 0 else "... ") + line + "\n" for i, line in enumerate(solution.split("\n")))
    raw = _raw(planted, "evil") + _raw(GOOD, "good") + _raw(GOOD.replace("[3, 1, 2]", "[5, 4]"), "other")
    assert len(raw) == 3
    monkeypatch.setattr(dc, "extract_doctest_pairs", lambda packages, modules: (raw, {"stats": {}}))
    bench = {"benchmark": (["Add up numbers"], [solution])}
    splits, info = dc.build_doctest_corpus(eval_sets=bench, cache=False)
    kept = [r for rows in splits.values() for r in rows]
    assert info["counts"]["contaminated"] == {"benchmark": 1}
    assert {r["package"] for r in kept} == {"good", "other"}
    splits, info = dc.build_doctest_corpus(eval_sets={}, cache=False)
    assert "evil" in {r["package"] for rows in splits.values() for r in rows}


@pytest.fixture(scope="module")
def small_build(tmp_path_factory):
    """Two standard-library modules and three small packages (fast; cached in a temporary folder)."""
    return dc.build_doctest_corpus(
        packages=("python-stdlib", "MarkupSafe", "tabulate", "jsonpointer"),
        modules=("statistics", "fractions", "markupsafe", "tabulate", "jsonpointer"),
        cache_dir=tmp_path_factory.mktemp("doctest-cache"), eval_sets={})


def test_small_real_build_rows_parse_and_splits_hold_whole_packages_out(small_build):
    splits, info = small_build
    rows = [r for s in splits.values() for r in s]
    assert len(rows) >= 20
    assert all(tuple(r) == dc.COLUMNS and r["source"] == "doctest" for r in rows)
    for r in rows:
        ast.parse(r["code"])
        assert r["prompt"][0].isupper() or r["prompt"][0] == "`"
    by_split = {s: {r["package"] for r in rs} for s, rs in splits.items()}
    assert all(by_split[s] for s in ("train", "validation", "test"))
    assert not (by_split["train"] & by_split["validation"] or by_split["train"] & by_split["test"]
                or by_split["validation"] & by_split["test"])
    assert len({r["id"] for r in rows}) == len(rows)
    c = info["counts"]
    assert c["extracted"] - sum(c[s] for s in dc.FILTER_STEPS) == c["kept"] == len(rows)


def test_load_corpus_doctest_has_the_row_contract(tmp_path, monkeypatch):
    from codegen_lib.data import load_corpus

    monkeypatch.setenv("CODEGEN_CACHE_DIR", str(tmp_path))
    dd, report = load_corpus("doctest", code_packages=("MarkupSafe", "tabulate", "jsonpointer"),
                             return_report=True)
    assert set(dd) == {"train", "validation", "test"}
    for ds in dd.values():
        assert {"prompt", "code", "tests", "source", "id", "entry_point", "output", "package"} <= set(ds.column_names)
    assert report.kept == sum(len(ds) for ds in dd.values())
