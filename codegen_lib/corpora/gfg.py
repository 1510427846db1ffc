"""GeeksforGeeks: TransCoder's 702 evaluated Python programs, each with a 10-case harness (chapter 01).

    load_corpus("gfg", data_dir="../shared/data/raw/transcoder_gfg")

There is no hub copy: the programs come from github.com/facebookresearch/CodeGen
(data/transcoder_evaluation_gfg). The prompt is the title, from the file name in words
(``BINARY_SEARCH_1.py`` -> ``binary search``); the code is the reference ``f_gold``. Titles that XLCoST
also has are decontaminated against it (see :func:`gfg_rows`); the XLCoST titles are read from an
``xlcost/`` folder beside ``data_dir`` (or the ``xlcost_dir`` option).

:func:`restyle_rows` (for the rows a model trains on, not applied by ``load``) renames ``f_gold`` after the
title (:func:`gfg_function_name`) and gives TransCoder's token-spaced code normal spacing; the harness then
aliases ``f_gold`` so either name passes.
"""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

from codegen_lib.corpora.rows import (
    SPLITS,
    MalformedRowReport,
    check_row,
    count_unparseable,
    local_path,
    row,
    stable_fraction,
    to_dataset_dict_with_tests,
)

__all__ = ["NAME", "SPLITS", "OPTIONS", "normalize_title", "gfg_title", "gfg_parts", "gfg_rows",
           "gfg_function_name", "restyle_gfg", "restyle_rows", "xlcost_titles", "load"]

log = logging.getLogger(__name__)

NAME = "gfg"
OPTIONS = ("xlcost_dir", "check")


def normalize_title(title: str) -> str:
    """Lower-case, then drop everything but letters and digits (spaces, punctuation, underscores): the
    rule used to match GfG titles with XLCoST titles (``"K-th Smallest"`` and ``K_TH_SMALLEST`` both give
    ``"kthsmallest"``)."""
    return re.sub(r"[^0-9a-z]+", "", title.lower())


def gfg_title(file_name: str) -> str:
    """``BINARY_SEARCH_1.py`` -> ``"binary search"`` (the numeric suffix only tells variants apart)."""
    stem = Path(file_name).stem
    stem = re.sub(r"_\d+$", "", stem)
    return " ".join(stem.lower().split("_"))


_HEADER = re.compile(r"\A(?:#[^\n]*\n|\s*\n)*")
_MAIN = re.compile(r"^if __name__ == .__main__.:", re.M)


def gfg_parts(harness: str) -> tuple[str, str]:
    """``(reference code, tests)`` of one TransCoder harness.

    The reference is everything above ``#TOFILL`` without the licence comment: imports, helpers and
    ``f_gold``. The tests are the harness itself, run after a candidate that defines ``f_gold``: they
    first keep the candidate as ``f_filled``, then define the reference ``f_gold`` and run the 10 cases,
    and end with ``assert n_success == len(param)``. (A candidate that calls ``f_gold`` recursively then
    calls the reference for its inner calls: a known, small leniency of this harness.)
    """
    if "#TOFILL" not in harness or not _MAIN.search(harness):
        raise ValueError("not a TransCoder harness: no #TOFILL marker or no __main__ block")
    above, below = harness.split("#TOFILL", 1)
    code = _HEADER.sub("", above).strip() + "\n"
    if not re.search(r"^def f_gold\b", code, re.M):
        raise ValueError("not a TransCoder harness: no f_gold above #TOFILL")
    tests = (
        "f_filled = f_gold\n" + above.rstrip() + "\n\n" + below.strip("\n").rstrip()
        + "\n    assert n_success == len(param), f'{n_success} of {len(param)} cases pass'\n"
    )
    return code, tests


def gfg_rows(
    data_dir: Path,
    report: MalformedRowReport,
    xlcost_titles: dict[str, set[str]] | None = None,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
    check: bool = True,
) -> tuple[dict[str, list[dict]], dict]:
    """Rows from the 702 TransCoder GfG programs, split by a hash of the title; ``(rows, dedup counts)``.

    * The prompt is the title; the code is the reference (see :func:`gfg_parts`), ``entry_point``
      ``f_gold``.
    * ``tests`` asserts that the candidate agrees with the reference on the harness's 10 inputs. A
      harness that fails on its own reference (3 upstream) is malformed: counted and dropped.
      ``check=False`` skips running them (no sandbox needed).
    * **Decontamination:** titles equal to an XLCoST *test* title (after :func:`normalize_title`) are
      dropped; titles equal to an XLCoST train or validation title go to ``train`` only, never to a
      held-out split. ``xlcost_titles`` is ``{"train": {...}, "validation": {...}, "test": {...}}``.
    """
    folder = data_dir / "python" if (data_dir / "python").is_dir() else data_dir
    files = sorted(folder.glob("*.py"))
    if not files:
        raise FileNotFoundError(f"no GfG programs (*.py) under {folder}")
    xl = {k: set(v) for k, v in (xlcost_titles or {}).items()}
    dedup = {"programs": len(files), "dropped_xlcost_test_title": 0, "forced_train_xlcost_title": 0}
    candidates = []
    for path in files:
        harness = path.read_text(encoding="utf-8")
        row_id = f"gfg-{path.stem}"
        title = gfg_title(path.name)
        try:
            code, tests = gfg_parts(harness)
        except ValueError:
            report.total += 1
            report.add(row_id, "broken harness")
            continue
        if not check_row(report, row_id, title, code):
            continue
        candidates.append((row_id, title, code, tests))
    if check:
        from codegen_lib.sandbox import run_many

        results = run_many([(c[2], c[3]) for c in candidates])
        kept = []
        for cand, res in zip(candidates, results):
            if res.status == "pass":
                kept.append(cand)
            else:
                report.add(cand[0], "harness fails on its own reference")
        candidates = kept
    out: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for row_id, title, code, tests in candidates:
        key = normalize_title(title)
        if key in xl.get("test", set()):
            dedup["dropped_xlcost_test_title"] += 1
            report.add(row_id, "title equals an XLCoST test title")
            continue
        u = stable_fraction(f"gfg:{seed}:{key}")
        split = "validation" if u < val_fraction else "test" if u < val_fraction + test_fraction else "train"
        if split != "train" and (key in xl.get("train", set()) or key in xl.get("validation", set())):
            dedup["forced_train_xlcost_title"] += 1
            split = "train"
        out[split].append(row(title, code, "gfg", row_id, tests, "f_gold"))
    return out, dedup


_NAME_STOPWORDS = frozenset("a an the given of in to for and with that is are by from on its it program such".split())


def gfg_function_name(title: str, code: str = "", max_words: int = 5) -> str:
    """A snake_case function name for a GfG program, from its title: the title's words (letters and digits,
    lower-cased) without the stopwords *a, an, the, given, of, in, to, for, and, with, that, is, are, by,
    from, on, its, it, program, such*, at most ``max_words`` of them (``"add 1 to a given number"`` -> ``add_1_number``).
    A name that would start with a digit gets an ``n`` in front; one that is a keyword or a builtin, or a name
    already used in ``code``, gets ``_fn`` after it."""
    import builtins
    import keyword

    words = [w for w in re.findall(r"[a-z0-9]+", title.lower()) if w not in _NAME_STOPWORDS][:max_words]
    name = "_".join(words) or "solve"
    if name[0].isdigit():
        name = "n" + name
    if keyword.iskeyword(name) or hasattr(builtins, name) or re.search(rf"\b{name}\b", code):
        name += "_fn"
    return name


def _rename(code: str, old: str, new: str) -> str:
    """``code`` with every NAME token ``old`` replaced by ``new`` (strings and comments untouched)."""
    import io
    import tokenize

    lines = code.splitlines(keepends=True)
    spots = [t.start for t in tokenize.generate_tokens(io.StringIO(code).readline)
             if t.type == tokenize.NAME and t.string == old]
    for line_no, col in reversed(spots):
        line = lines[line_no - 1]
        lines[line_no - 1] = line[:col] + new + line[col + len(old):]
    return "".join(lines)


def restyle_gfg(row: dict) -> dict:
    """One GfG row without TransCoder's style: ``f_gold`` renamed (:func:`gfg_function_name` of the title),
    then the token spacing removed (:func:`codegen_lib.corpora.xlcost_tokens.respace`: normal spacing, no statement-ending
    ``;``, same AST). ``entry_point`` becomes the new name, and ``tests`` starts with
    ``f_gold = <new name>`` when the candidate defines no ``f_gold``, so the harness scores either name.
    A row whose code does not parse comes back unchanged."""
    from codegen_lib.corpora.xlcost_tokens import respace

    code = row["code"]
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return dict(row)
    name = gfg_function_name(row["prompt"], code)
    new = respace(_rename(code, "f_gold", name))
    tests = row.get("tests") or ""
    if tests:
        tests = f"try:\n    f_gold\nexcept NameError:\n    f_gold = {name}\n" + tests
    return {**row, "code": new, "tests": tests, "entry_point": name}


def restyle_rows(rows: list[dict]) -> tuple[list[dict], dict]:
    """Apply :func:`restyle_gfg` to the rows whose ``source`` is ``"gfg"`` (others pass through unchanged);
    ``(rows, counts)`` with the GfG rows seen, renamed, respaced, and parseable before / after.

    For the rows a model trains on (the ``mix``'s GfG training rows), so that ``def f_gold ( n ) :`` is not
    learnt as Python's style. XLCoST rows need nothing here: ``load_corpus("xlcost")`` already rebuilds
    normal Python from XLCoST's tokens (:func:`codegen_lib.corpora.xlcost_tokens.detokenize`)."""

    def parses(code: str) -> bool:
        try:
            ast.parse(code)
            return True
        except (SyntaxError, ValueError):
            return False

    counts = dict.fromkeys(("gfg_rows", "renamed", "respaced", "parse_before", "parse_after"), 0)
    out = []
    for r in rows:
        if r.get("source") != "gfg":
            out.append(r)
            continue
        new = restyle_gfg(r)
        counts["gfg_rows"] += 1
        counts["parse_before"] += parses(r["code"])
        counts["parse_after"] += parses(new["code"])
        counts["renamed"] += "f_gold" in r["code"] and "f_gold" not in new["code"]
        counts["respaced"] += _rename(r["code"], "f_gold", new["entry_point"]) != new["code"]
        out.append(new)
    return out, counts


def xlcost_titles(xlcost_dir) -> dict[str, set[str]]:
    """Normalized XLCoST program titles per split (for the GfG title rule), from a local release copy."""
    from codegen_lib.corpora.xlcost import read_split

    out = {}
    for split in SPLITS:
        try:
            out[split] = {normalize_title(r.prompt.split(" | ")[0]) for r in read_split(xlcost_dir, split)}
        except (FileNotFoundError, ValueError):
            continue
    return out


def _sibling(path: Path, *names: str) -> Path | None:
    """A data folder beside ``path`` (``../shared/data/raw/<name>``), or None."""
    for base in (path, path.parent):
        for n in names:
            if (base / n).is_dir():
                return base / n
    return None


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport, xlcost_dir=None,
         check: bool = True):
    """GfG as a DatasetDict. ``xlcost_dir``: the XLCoST release for the title rule (default: an
    ``xlcost/`` folder beside ``data_dir``); ``check=False`` does not run the harnesses."""
    if data_dir is None:
        raise ValueError("the 'gfg' corpus has no hub copy: clone github.com/facebookresearch/CodeGen, "
                         "data/transcoder_evaluation_gfg and pass data_dir=<that folder>")
    path = local_path(data_dir, NAME)
    xl = xlcost_dir or _sibling(path, "xlcost")
    titles = xlcost_titles(xl) if xl is not None else {}
    if not titles.get("test"):
        log.warning("gfg: no XLCoST titles found beside %s; the XLCoST-test title rule is not applied", path)
    rows, dedup = gfg_rows(path, report, xlcost_titles=titles, seed=seed, check=check)
    report.notes.update(dedup)
    count_unparseable(rows, report)
    return to_dataset_dict_with_tests(rows)
