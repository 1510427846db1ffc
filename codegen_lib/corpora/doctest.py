"""The ``doctest`` corpus: the sentence just above a ``>>>`` example in a docstring, paired with that example
(chapter 01).

Docstrings of the installed packages and of the standard library are full of short, runnable usage
examples, each introduced by a line of prose::

    Sort the values in reverse order:

    >>> sorted([3, 1, 2], reverse=True)
    [3, 2, 1]

That line is a natural-language request and the example is its code: short, everyday pairs of the kind that
CoNaLa holds, with no download. About 18,000 such groups (17,700 distinct) exist in the book's environment,
most of them noise (headings such as ``Examples``, parameter lists, fragments, examples that need the lines
before them, outputs elided with ``...``), so they are filtered, every rule counted (``info["counts"]``).

**Extraction.** The same distributions as :mod:`codegen_lib.corpora.code` (its licence filter and file walk:
permissive licences only, tests and vendored code left out, the standard library as ``python-stdlib``).
Every module, class and function docstring is parsed with :class:`doctest.DocTestParser`. A *group* is a run
of examples with no prose between them (a blank line does not end it); its code is the examples' sources
(``>>>`` lines with their ``...`` continuations, prompts stripped), joined by newlines. Its *prose* is the
paragraph just above the group (the non-blank lines after the last blank line of the text before it).

**Filters, in this order** (:func:`filter_pairs`; ``counts`` gives the rows each step removes):

1. ``no_prose``: the group has no paragraph above it (the docstring opens with the example).
2. ``not_a_sentence``. The request is the *last sentence* of that paragraph: code-fence and directive lines
   (```` ```python ````, ``.. code-block:: python``) and a whole ``.. plot::`` paragraph with its
   ``:option:`` lines are skipped; the lines are joined and split after ``. ! ? :`` before a capital; a
   last sentence that is a bare lead-in (``For example:``, ``E.g.:``) gives way to the one before it.
   Sphinx roles and double backticks become single backticks (``:func:`len``` -> ```len```), ``**bold**``
   loses its stars, a leading ``#`` goes, ``::`` -> ``:``. The sentence must: start with a capital letter
   or a backtick; have 3-40 words and at most 300 characters; not be a fragment (ending with ``, ; -``, or
   without final punctuation after a function word such as *of*, *the*, *by*, *as*); not be a heading (the
   paragraph's last two lines hold ``Examples``, ``Usage``, ``Notes``... or an underline of ``-`` / ``=``);
   not be a parameter or field line (``x : int``, ``:param x:``, ``x (int): ...``); not be a generic
   lead-in under 6 words (``For example, ...``, ``Here is an example:``, ``Usage ...``); not hold ``>>>``;
   and not parse as Python on its own.
3. ``directive``: an example carries a doctest directive (``# doctest: +SKIP``, ``+ELLIPSIS``...).
4. ``exception``: an example's expected output is a traceback.
5. ``ellipsis_output``: an expected output contains ``...`` (elided: not a checkable output).
6. ``unparseable``: the joined code does not parse (Python 2 prints, IPython magics...).
7. ``trivial``: the code only imports, shows bare names or literals (``>>> x``), or passes. Otherwise its
   top-level display statements (a bare name or literal: ``>>> d`` after ``>>> d = f()``) are removed from
   the code (a cleaning step, not a filter: ``rows_with_display_lines_removed`` counts the rows changed).
8. ``too_long``: more than ``max_lines`` (12) lines or ``max_code_chars`` (600) characters of code.
9. ``duplicate_pair`` (same request and same code tokens), then ``duplicate_code`` (same code tokens under
   another request): the first in the sorted walk is kept.
10. **Decontamination** with :mod:`codegen_lib.decontaminate` against the same evaluation sets as ``code``
    (:func:`codegen_lib.corpora.code.default_eval_sets`: HumanEval, MBPP test, CoNaLa, XLCoST test, and the
    everyday-requests suite).

**Option** ``heading_summary=True`` (off by default, since it is not the sentence above the example): when a
heading (``Examples``) stands above a docstring's first group, the first sentence of the docstring's summary
becomes its request, under the same sentence rules. In this environment that doubles the corpus (about
8,000 more pairs before the later filters, 12,948 rows in all against 6,381), mostly numpy/pandas/sympy/
networkx functions described by their summary (``Returns True if `G` is a tree`` -> ``nx.is_tree(G)``).

**Rows:** ``prompt`` (the request, its final ``:`` or ``.`` removed), ``code``, ``tests`` (""), ``output``
(the last example's expected output when it is plain: one to three lines, no memory address, else ""),
``source`` ``"doctest"``, ``id`` (``package:module:qualname:n``), ``entry_point`` (""), and ``package``,
``version``, ``license``. **Split by package** with :func:`codegen_lib.corpora.code.package_splits` (whole
distributions held out). The extraction is cached as JSON beside the ``code`` corpus's cache
(``~/.cache/codegen_lib/doctest_corpus/``), keyed by the environment's package list.
"""

from __future__ import annotations

import ast
import doctest
import hashlib
import importlib.util
import logging
import re
import sys
import time
from collections import Counter
from pathlib import Path

from codegen_lib.corpora.code import (
    classify_license,
    default_eval_sets,
    dist_files,
    environment_fingerprint,
    package_splits,
    permissive_distributions,
)
from codegen_lib.corpora.rows import MalformedRowReport, to_dataset_dict_with_tests
from codegen_lib.corpora.stdlib import iter_stdlib_files, stdlib_dir
from codegen_lib.decontaminate import ContaminationIndex, code_tokens
from codegen_lib.io import cached_json, default_cache_dir

log = logging.getLogger(__name__)

__all__ = [
    "NAME",
    "SOURCE",
    "COLUMNS",
    "FILTER_STEPS",
    "docstring_pairs",
    "request_sentence",
    "sentence_problem",
    "extract_doctest_pairs",
    "filter_pairs",
    "build_doctest_corpus",
]

NAME = SOURCE = "doctest"
SPLITS = ("train", "validation", "test")
OPTIONS = ("code_packages", "heading_summary")
CACHE_VERSION = 3  # 2: raw pairs keep the text before the group; 3: and the docstring summary (first group)
COLUMNS = ("prompt", "code", "source", "id", "tests", "entry_point", "output", "package", "version", "license")
FILTER_STEPS = ("no_prose", "not_a_sentence", "directive", "exception", "ellipsis_output", "unparseable",
                "trivial", "too_long", "duplicate_pair", "duplicate_code")  # fmt: skip

_PARSER = doctest.DocTestParser()


# ----------------------------------------------------------------------------------------------------------------
# One docstring -> raw (paragraph, examples) groups
# ----------------------------------------------------------------------------------------------------------------
_MARKUP_LINE = re.compile(r"^(```\w*|\.\. [\w-]+::.*|::)$")  # ```python, .. code-block:: python, .. doctest::
_DIRECTIVE = re.compile(r"^\.\. [\w-]+::")


def _last_paragraph(text: str) -> str:
    """The non-blank lines after the last blank line of ``text``, stripped and joined by newlines; trailing
    code-fence and directive lines (```` ```python ````, ``.. code-block:: python``, ``::``) are skipped first."""
    lines = [line.strip() for line in text.rstrip().split("\n")]
    while True:
        while lines and (not lines[-1] or _MARKUP_LINE.match(lines[-1])):
            lines.pop()
        para: list[str] = []
        while lines and lines[-1]:
            para.append(lines.pop())
        para.reverse()
        if not (para and _DIRECTIVE.match(para[0])):  # a ".. plot::" block with its ":option:" lines: skip it
            return "\n".join(para)


def docstring_pairs(doc: str) -> list[dict]:
    """Raw pairs of one (cleaned) docstring: ``[{"before", "code", "outputs", "directive", "exception",
    "summary"}]``.

    A group is a run of examples with only whitespace between them; ``before`` is the text just above it (its
    last 1,000 characters; "" when none), whose last paragraph the filters read; ``summary`` is the
    docstring's first paragraph for the first group ("" for the others). Raises ValueError when doctest
    cannot parse the docstring (inconsistent indentation).
    """
    parts = _PARSER.parse(doc)
    out: list[dict] = []
    text_before = ""
    group: list[doctest.Example] = []

    def close() -> None:
        if group:
            out.append({
                "before": text_before[-1000:],
                "code": "\n".join(ex.source.rstrip("\n") for ex in group),
                "outputs": [ex.want for ex in group],
                "directive": any(ex.options for ex in group) or any("doctest:" in ex.source for ex in group),
                "exception": any(ex.exc_msg is not None for ex in group),
                "summary": "" if out else doc.strip().split("\n\n")[0][:1000],
            })  # fmt: skip

    for part in parts:
        if isinstance(part, doctest.Example):
            group.append(part)
        elif part.strip():  # prose between examples: the current group ends, this text introduces the next
            close()
            group = []
            text_before = part
    close()
    return out


# ----------------------------------------------------------------------------------------------------------------
# The request sentence and its rules
# ----------------------------------------------------------------------------------------------------------------
_ROLE = re.compile(r":(?:[\w-]+:)*[\w-]+:`~?([^`]+)`")  # :func:`len` / :py:meth:`~a.b` -> `len`
_DOUBLE_TICKS = re.compile(r"``([^`]+)``")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z`])")
_HEADING = re.compile(r"^[-=~^*#+]{3,}$|^(examples?|usage|notes?|returns?|yields?|raises?|parameters|arguments|"
                      r"args|attributes|see also|doctests?|tests?|outputs?|results?|methods)\b", re.I)  # fmt: skip
_FIELD = re.compile(r"^(?:[\w*]+\s*:\s|:\w+|@\w+|[\w*]+ \([^)]*\)\s*:)")  # x : int | :param x: | @param | x (int):
_LEAD_IN = re.compile(r"^(for example|for instance|e\.g\.|example|examples|usage|here is|here are|here's|"
                      r"see|like|such as|as follows|this|that|the following)\b", re.I)  # fmt: skip


_FUNCTION_WORDS = frozenset("a an and are as at be by for from in into is like of on or than that the to using "
                           "via which with".split())  # a sentence ending in one of these is cut off


def request_sentence(paragraph: str) -> str:
    """The paragraph's last sentence, with Sphinx roles and ````x```` as ```x```, ``::`` as ``:``."""
    text = " ".join(paragraph.split())
    text = _DOUBLE_TICKS.sub(r"`\1`", _ROLE.sub(r"`\1`", text))
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text).lstrip("# ")  # **bold**, a "# comment" line
    text = re.sub(r"::$", ":", text)
    pieces = [p.strip() for p in _SENTENCE_END.split(text) if p.strip()]
    if len(pieces) > 1 and _LEAD_IN.match(pieces[-1]) and len(pieces[-1].split()) <= 3:
        pieces.pop()  # "... named special functions. For example:" -> the sentence before the lead-in
    return pieces[-1] if pieces else ""


def sentence_problem(sentence: str, paragraph: str = "") -> str | None:
    """Why ``sentence`` is not a usable request (a short reason), or None when it is one (rules: module doc)."""
    if not sentence:
        return "empty"
    if any(_HEADING.match(line.strip()) and len(line.split()) <= 3 for line in paragraph.split("\n")[-2:]):
        return "heading"
    if ">>>" in sentence:
        return "holds >>>"
    if not (sentence[0].isupper() or sentence[0] == "`"):
        return "no capital start"
    n_words = len(sentence.split())
    if not 3 <= n_words <= 40 or len(sentence) > 300:
        return "length"
    if sentence[-1] in ",;-" or (sentence[-1] not in ".:!?" and sentence.split()[-1].lower() in _FUNCTION_WORDS):
        return "fragment"
    if _FIELD.match(sentence):
        return "field or parameter"
    if _LEAD_IN.match(sentence) and n_words < 6:
        return "generic lead-in"
    try:
        ast.parse(sentence.rstrip(":"))
        return "parses as Python"
    except (SyntaxError, ValueError):
        pass
    return None


def _clean_request(sentence: str) -> str:
    return sentence.rstrip(":.").rstrip()


# ----------------------------------------------------------------------------------------------------------------
# Extraction over the environment (cached)
# ----------------------------------------------------------------------------------------------------------------
def _docstrings(tree: ast.Module):
    """``(qualname, docstring)`` of the module and every class and function, in source order."""
    doc = ast.get_docstring(tree, clean=True)
    if doc:
        yield "<module>", doc

    def walk(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{node.name}"
                d = ast.get_docstring(node, clean=True)
                if d:
                    yield name, d
                yield from walk(node.body, name + ".")

    yield from walk(tree.body, "")


def _file_pairs(path: Path, stats: Counter) -> list[dict]:
    try:
        text = importlib.util.decode_source(path.read_bytes())
        tree = ast.parse(text)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, LookupError, RecursionError):
        stats["files_unparsable"] += 1
        return []
    out = []
    for qualname, doc in _docstrings(tree):
        if ">>>" not in doc:
            continue
        stats["docstrings_with_examples"] += 1
        try:
            pairs = docstring_pairs(doc)
        except ValueError:  # inconsistent indentation inside an example
            stats["docstrings_doctest_rejects"] += 1
            continue
        for i, pair in enumerate(pairs):
            pair["where"] = f"{qualname}:{i}"
            out.append(pair)
    return out


def _sources(packages: tuple[str, ...] | None):
    """``(package, version, licence, [(module, path)])`` of the permissive distributions and the stdlib."""
    dists, _ = permissive_distributions()
    wanted = {p.lower() for p in packages} if packages is not None else None
    if wanted is None or "python-stdlib" in wanted:
        yield "python-stdlib", sys.version.split()[0], "PSF-2.0", iter_stdlib_files(stdlib_dir())
    for dist in dists:
        name = dist.metadata.get("Name") or "?"
        if wanted is not None and name.lower() not in wanted:
            continue
        yield name, dist.version, classify_license(dist.metadata)[0], dist_files(dist)


def extract_doctest_pairs(packages: tuple[str, ...] | None = None,
                          modules: tuple[str, ...] | None = None) -> tuple[list[dict], dict]:
    """Every raw pair (before the filters) and extraction stats.

    Args:
        packages: only these distributions (``"python-stdlib"`` for the standard library); None = all.
        modules: only modules whose dotted name is one of these or starts with one of them plus ``.``
            (e.g. ``("statistics", "fractions")`` for a quick build); None = all.
    """
    t0 = time.perf_counter()
    stats: Counter = Counter()
    rows: list[dict] = []
    for package, version, lic, files in _sources(packages):
        for module, path in files:
            if modules is not None and not any(module == m or module.startswith(m + ".") for m in modules):
                continue
            if path.name == "__main__.py" or path.name.startswith("_sysconfigdata"):
                continue
            stats["files_seen"] += 1
            for pair in _file_pairs(path, stats):
                where = pair.pop("where")
                rows.append({**pair, "id": f"{package}:{module}:{where}", "package": package, "version": version,
                             "license": lic})  # fmt: skip
    return rows, {"extract_seconds": round(time.perf_counter() - t0, 1), "stats": dict(stats)}


def _cached_pairs(packages, modules, cache: bool, cache_dir) -> tuple[list[dict], dict]:
    pkgs, digest = environment_fingerprint()
    key = hashlib.sha256(f"{CACHE_VERSION}:{digest}:{packages}:{modules}".encode()).hexdigest()[:16]
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir("doctest_corpus")
    path = root / f"pairs-{key}.json"

    def build() -> dict:
        rows, info = extract_doctest_pairs(packages, modules)
        info.update(environment_sha256=digest, cached=False)
        return {"rows": rows, "info": info}

    payload, cached = cached_json(path, build, keys=("rows", "info"), enabled=cache, what="doctest corpus cache")
    payload["info"]["cached"] = cached
    return payload["rows"], payload["info"]


# ----------------------------------------------------------------------------------------------------------------
# Filters
# ----------------------------------------------------------------------------------------------------------------
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")


def _display(stmt: ast.stmt) -> bool:
    """A statement that only shows a value: a bare name or literal (``>>> x``)."""
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Name, ast.Constant))


def _trivial(tree: ast.Module) -> bool:
    return all(isinstance(s, (ast.Import, ast.ImportFrom, ast.Pass)) or _display(s) for s in tree.body)


def _drop_display_lines(code: str, tree: ast.Module) -> str:
    """``code`` without its top-level display statements (``>>> d`` after ``>>> d = {...}``)."""
    spans = [(s.lineno, s.end_lineno or s.lineno) for s in tree.body if _display(s)]
    lines = code.split("\n")
    return "\n".join(line for i, line in enumerate(lines, 1) if not any(a <= i <= b for a, b in spans))


def _plain_output(outputs: list[str]) -> str:
    want = outputs[-1].rstrip("\n") if outputs else ""
    if not want or len(want.split("\n")) > 3 or len(want) > 200 or _ADDRESS.search(want) or "<BLANKLINE>" in want:
        return ""
    return want


def filter_pairs(raw: list[dict], max_lines: int = 12, max_code_chars: int = 600,
                 heading_summary: bool = False) -> tuple[list[dict], dict]:
    """Apply rules 1-9 of the module docstring to raw pairs: ``(rows, {step: rows removed})``.

    Rows come back with ``prompt``, ``code``, ``output`` and the raw provenance fields; the counts also split
    ``not_a_sentence`` by :func:`sentence_problem`'s reason, and count the rows whose display lines went.
    ``heading_summary=True`` (off by default: not the sentence above the example) gives the docstring's first
    group, when a heading (``Examples``) stands above it, the first sentence of the docstring's summary as its
    request instead (``heading_summary_used`` counts them), under the same sentence rules.
    """
    counts = dict.fromkeys(FILTER_STEPS, 0)
    display_dropped = summary_used = 0
    reasons: Counter = Counter()
    kept: list[dict] = []
    seen_pairs: set = set()
    seen_code: set = set()
    for row in sorted(raw, key=lambda r: r["id"]):
        paragraph = _last_paragraph(row["before"])
        if not paragraph:
            counts["no_prose"] += 1
            continue
        sentence = request_sentence(paragraph)
        why = sentence_problem(sentence, paragraph)
        if why == "heading" and heading_summary and row.get("summary"):
            first = _SENTENCE_END.split(" ".join(row["summary"].split()))[0]
            first = request_sentence(first)
            if sentence_problem(first) is None:
                sentence, why = first, None
                summary_used += 1
        if why is not None:
            counts["not_a_sentence"] += 1
            reasons[why] += 1
            continue
        if row["directive"]:
            counts["directive"] += 1
            continue
        if row["exception"]:
            counts["exception"] += 1
            continue
        if any("..." in w for w in row["outputs"]):
            counts["ellipsis_output"] += 1
            continue
        try:
            tree = ast.parse(row["code"])
        except (SyntaxError, ValueError):
            counts["unparseable"] += 1
            continue
        if _trivial(tree):
            counts["trivial"] += 1
            continue
        code = _drop_display_lines(row["code"], tree).strip("\n") + "\n"
        display_dropped += code != row["code"].strip("\n") + "\n"
        if code.count("\n") > max_lines or len(code) > max_code_chars:
            counts["too_long"] += 1
            continue
        prompt = _clean_request(sentence)
        key = " ".join(code_tokens(code))
        if (prompt.lower(), key) in seen_pairs:
            counts["duplicate_pair"] += 1
            continue
        seen_pairs.add((prompt.lower(), key))
        if key in seen_code:
            counts["duplicate_code"] += 1
            continue
        seen_code.add(key)
        kept.append({"prompt": prompt, "code": code, "output": _plain_output(row["outputs"]), "id": row["id"],
                     "package": row["package"], "version": row["version"], "license": row["license"]})  # fmt: skip
    return kept, {**counts, "not_a_sentence_reasons": dict(reasons.most_common()),
                  "rows_with_display_lines_removed": display_dropped, "heading_summary_used": summary_used}


# ----------------------------------------------------------------------------------------------------------------
# The corpus
# ----------------------------------------------------------------------------------------------------------------
def build_doctest_corpus(
    seed: int = 0,
    max_lines: int = 12,  # longest example kept (lines of code)
    max_code_chars: int = 600,  # longest example kept (characters)
    val_fraction: float = 0.05,  # share of rows (whole packages) in validation
    test_fraction: float = 0.05,  # share of rows (whole packages) in test
    eval_sets: dict | None = None,  # {name: (prompts, codes)}; None = corpora.code.default_eval_sets(data_dir)
    data_dir: str | Path | None = None,  # where default_eval_sets looks for MBPP / CoNaLa / XLCoST
    cache: bool = True,
    cache_dir: str | Path | None = None,
    packages: tuple[str, ...] | None = None,  # only these distributions ("python-stdlib" too); None = all
    modules: tuple[str, ...] | None = None,  # only these modules (and their submodules); None = all
    heading_summary: bool = False,  # see filter_pairs: the docstring's summary above an "Examples" heading
) -> tuple[dict[str, list[dict]], dict]:
    """Build the corpus: ``({split: rows}, info)``; ``info["counts"]`` gives the rows after extraction and
    removed by every filter step, ``info["contaminated"]`` by evaluation set, and the split sizes."""
    t0 = time.perf_counter()
    raw, info = _cached_pairs(tuple(packages) if packages else None, tuple(modules) if modules else None,
                              cache, cache_dir)  # fmt: skip
    distinct = len({(_last_paragraph(r["before"]), r["code"]) for r in raw})
    rows, counts = filter_pairs(raw, max_lines, max_code_chars, heading_summary)
    index = ContaminationIndex()
    sets = default_eval_sets(data_dir) if eval_sets is None else eval_sets
    for name, (prompts, codes) in sets.items():
        index.add_set(name, prompts, codes)
    clean, dropped = index.filter(rows)
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    assign = package_splits(Counter(r["package"] for r in clean), seed, val_fraction, test_fraction)
    for row in clean:
        full = {**row, "source": SOURCE, "tests": "", "entry_point": ""}
        splits[assign[row["package"]]].append({c: full[c] for c in COLUMNS})
    counts = {"extracted": len(raw), "distinct_extracted": distinct, **counts, "contaminated": dict(dropped),
              "kept": len(clean), **{f"rows_{s}": len(r) for s, r in splits.items()}}  # fmt: skip
    info = {**info, "counts": counts, "eval_sets": {k: len(v[0]) for k, v in sets.items()},
            "rows_per_package": dict(Counter(r["package"] for r in clean).most_common()),
            "held_out_packages": {s: sorted(p for p, v in assign.items() if v == s) for s in ("validation", "test")},
            "build_seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    return splits, info


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport, code_packages=None,
         heading_summary: bool = False):
    """The doctest corpus as a DatasetDict, with ``output`` / ``package`` / ``version`` / ``license`` columns
    per row (``load_corpus("doctest")``).

    ``data_dir``: the folder of the evaluation sets to decontaminate against (``../shared/data/raw``;
    HumanEval and the everyday requests always); ``code_packages``: read just these distributions
    (``"python-stdlib"`` for the standard library), None reads every permissively licensed one;
    ``heading_summary``: see :func:`filter_pairs`. The report counts the rows each filter step removed.
    """
    rows, info = build_doctest_corpus(seed=seed, data_dir=data_dir, packages=code_packages,
                                      heading_summary=heading_summary)
    report.total = info["counts"]["extracted"]
    for step in FILTER_STEPS:
        report.reasons[step.replace("_", " ")] += info["counts"][step]
    for ev, n in info["counts"]["contaminated"].items():
        report.reasons[f"overlaps {ev}"] += n
    report.notes.update(info)
    dd = to_dataset_dict_with_tests(rows)
    for split in dd:
        for c in ("output", "package", "version", "license"):
            dd[split] = dd[split].add_column(c, [r[c] for r in rows[split]])
    return dd
