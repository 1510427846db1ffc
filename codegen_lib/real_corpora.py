"""Real NL -> Python corpora beside the report's: MBPP, CoNaLa, GeeksforGeeks (TransCoder) and Django
(chapter 01).

Each loader returns ``{split: [row, ...]}`` with the columns of every corpus (``prompt``, ``code``,
``source``, ``id``) plus ``tests`` and ``entry_point`` ("" where a source has no tests), and counts what it
could not use in a :class:`codegen_lib.data.MalformedRowReport`. ``codegen_lib.data.load_corpus`` turns
them into a ``DatasetDict``; read them through it::

    load_corpus("mbpp", data_dir="../shared/data/raw/mbpp")      # local copy
    load_corpus("mbpp")                                          # the hub (Colab)

| name   | splits (rows)                                        | hub / source                                  |
|--------|------------------------------------------------------|-----------------------------------------------|
| mbpp   | train 374, validation 90, test 500, prompt 10        | ``google-research-datasets/mbpp`` (``full``)  |
| conala | train / validation carved from curated train (2,379) | ``neulab/conala`` (``curated``), train only   |
| gfg    | train / validation / test of 702 - 31 programs        | TransCoder's GfG evaluation set (GitHub only) |
| django | train 16,000, validation 1,000, test 1,805           | Oda et al. 2015 (GitHub only)                 |

Prompt formats (documented here because a model learns them):

* **mbpp**: the problem text, a newline, then the *first* of its three asserts. The assert is the usual
  help (Austin et al. 2021 show all three): it gives the function's name and how it is called. The other two
  asserts stay unseen, and all three are in ``tests``.
* **conala**: ``rewritten_intent`` when present, else ``intent`` (79 rows have no rewrite).
* **gfg**: the title, from the file name in words (``BINARY_SEARCH_1.py`` -> ``binary search``).
* **django**: the pseudo-code line as written.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path
from typing import Any

__all__ = [
    "MBPP_HUB",
    "CONALA_HUB",
    "mbpp_split",
    "mbpp_prompt",
    "mbpp_rows",
    "conala_rows",
    "gfg_title",
    "gfg_rows",
    "gfg_parts",
    "gfg_function_name",
    "restyle_gfg",
    "restyle_rows",
    "django_rows",
    "normalize_title",
]

# Hub repositories, pinned. Schemas checked against the public dataset cards:
# MBPP (huggingface.co/datasets/google-research-datasets/mbpp, config "full"): task_id (int), text, code,
#   test_list (3 asserts), test_setup_code, challenge_test_list; parquet files full/{split}-*.parquet since the
#   "Convert dataset to Parquet" commit; the pin is the commit after it (7bc94ee, "Delete legacy
#   dataset_infos.json").
MBPP_HUB = {
    "repo": "google-research-datasets/mbpp",
    "revision": "7bc94ee8bd8f4b07324968e85b7b54f505cba1e5",
    "files": {s: f"full/{s}-00000-of-00001.parquet" for s in ("train", "validation", "test", "prompt")},
}
# CoNaLa (huggingface.co/datasets/neulab/conala, config "curated"): question_id (int), intent,
#   rewritten_intent (nullable), snippet. The repository is a script dataset; its data is read from the
#   hub's parquet conversion (branch refs/convert/parquet). Only train is read: the 500-row test split is
#   held out for an independent evaluation.
CONALA_HUB = {
    "repo": "neulab/conala",
    "revision": "refs/convert/parquet",
    "files": {"train": "curated/train/0000.parquet"},
}
MBPP_SPLITS = (("test", 11, 510), ("prompt", 1, 10), ("validation", 511, 600), ("train", 601, 974))
DJANGO_SPLIT = (16000, 1000, 1805)  # train / validation / test by line order (Ling et al. 2016)


def _row(prompt: str, code: str, source: str, row_id: str, tests: str = "", entry_point: str = "") -> dict:
    return {"prompt": prompt, "code": code, "source": source, "id": row_id, "tests": tests,
            "entry_point": entry_point}  # fmt: skip


def _fraction(key: str) -> float:
    """A stable number in [0, 1) for ``key`` (sha256), used for deterministic splits."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


# ----------------------------------------------------------------------------------------------------------------
# MBPP
# ----------------------------------------------------------------------------------------------------------------
def mbpp_split(task_id: int) -> str:
    """The standard MBPP split of a task id: test 11-510, prompt 1-10, validation 511-600, train 601-974."""
    for name, lo, hi in MBPP_SPLITS:
        if lo <= task_id <= hi:
            return name
    raise ValueError(f"MBPP task_id {task_id} is outside 1-974")


_CALL = re.compile(r"assert\s+(?:not\s+)?\(?\s*(?:math\.isclose\(\s*|set\(\s*)?([A-Za-z_]\w*)\s*\(")


def mbpp_entry_point(tests: list[str]) -> str:
    """The function the asserts call (``assert min_cost(...) == 8`` -> ``"min_cost"``), or ""."""
    for test in tests:
        m = _CALL.search(test)
        if m and m.group(1) not in ("isinstance", "len", "sorted", "set", "abs", "round", "str", "list"):
            return m.group(1)
    return ""


def mbpp_prompt(text: str, tests: list[str]) -> str:
    """The problem text, then its first assert on a new line (see the module docstring)."""
    return text.strip() + ("\n" + tests[0].strip() if tests else "")


def mbpp_rows(records: list[dict], report) -> dict[str, list[dict]]:
    """Rows by split from MBPP records (the jsonl or the hub's columns)."""
    from codegen_lib.data import _check_row, standardize_code

    out: dict[str, list[dict]] = {name: [] for name, _, _ in MBPP_SPLITS}
    for rec in records:
        task_id = rec.get("task_id")
        row_id = f"mbpp-{task_id}"
        tests = list(rec.get("test_list") or [])
        code = rec.get("code")
        if isinstance(code, str):
            code = standardize_code(code.replace("\t", "    "))
        if not isinstance(task_id, int) or not tests:
            report.total += 1
            report.add(row_id, "missing field")
            continue
        text = rec.get("text")
        prompt = mbpp_prompt(text, tests) if isinstance(text, str) and text.strip() else None
        if not _check_row(report, row_id, prompt, code):
            continue
        setup = (rec.get("test_setup_code") or "").strip()
        test_src = "\n".join(([setup] if setup else []) + tests) + "\n"
        out[mbpp_split(task_id)].append(_row(prompt, code, "mbpp", row_id, test_src, mbpp_entry_point(tests)))
    return out


def read_mbpp(data_dir: Path) -> list[dict]:
    path = data_dir / "mbpp.jsonl" if data_dir.is_dir() else data_dir
    if not path.is_file():
        raise FileNotFoundError(f"MBPP not found: expected {path} (the mbpp.jsonl of the release)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ----------------------------------------------------------------------------------------------------------------
# CoNaLa
# ----------------------------------------------------------------------------------------------------------------
def conala_rows(records: list[dict], report, val_fraction: float = 0.1, seed: int = 0) -> dict[str, list[dict]]:
    """CoNaLa curated train, split into train / validation by a hash of ``question_id``.

    Rows of one Stack Overflow question stay in one split (they often share the snippet), so validation
    measures unseen questions. With the default 10% this gives about 2,140 / 240 rows.
    """
    from codegen_lib.data import _check_row, standardize_code

    out: dict[str, list[dict]] = {"train": [], "validation": []}
    for i, rec in enumerate(records):
        qid = rec.get("question_id")
        row_id = f"conala-{qid}-{i:04d}"
        rewritten, intent = rec.get("rewritten_intent"), rec.get("intent")
        prompt = rewritten if isinstance(rewritten, str) and rewritten.strip() else intent
        snippet = rec.get("snippet")
        code = standardize_code(snippet) if isinstance(snippet, str) else None
        if not _check_row(report, row_id, prompt.strip() if isinstance(prompt, str) else None, code):
            continue
        split = "validation" if _fraction(f"conala:{seed}:{qid}") < val_fraction else "train"
        out[split].append(_row(prompt.strip(), code, "conala", row_id))
    return out


def read_conala(data_dir: Path) -> list[dict]:
    path = data_dir / "conala-train.json" if data_dir.is_dir() else data_dir
    if not path.is_file():
        raise FileNotFoundError(f"CoNaLa not found: expected {path} (conala-train.json of CoNaLa v1.1)")
    if "test" in path.name:
        raise ValueError(f"{path}: the CoNaLa test split is held out for an independent evaluation")
    return json.loads(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------------------------
# GeeksforGeeks (TransCoder's evaluation set)
# ----------------------------------------------------------------------------------------------------------------
def normalize_title(title: str) -> str:
    """Lower-case, then drop everything but letters and digits (spaces, punctuation, underscores): the rule
    used to match GfG titles with XLCoST titles (``"K-th Smallest"`` and ``K_TH_SMALLEST`` both give
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
    ``f_gold``. The tests are the harness itself, run after a candidate that defines ``f_gold``: they first
    keep the candidate as ``f_filled``, then define the reference ``f_gold`` and run the 10 cases, and end
    with ``assert n_success == len(param)``. (A candidate that calls ``f_gold`` recursively then calls the
    reference for its inner calls: a known, small leniency of this harness.)
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
    report,
    xlcost_titles: dict[str, set[str]] | None = None,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
    check: bool = True,
) -> tuple[dict[str, list[dict]], dict]:
    """Rows from the 702 TransCoder GfG programs, split by a hash of the title; ``(rows, dedup counts)``.

    * The prompt is the title; the code is the reference (see :func:`gfg_parts`), ``entry_point`` ``f_gold``.
    * ``tests`` asserts that the candidate agrees with the reference on the harness's 10 inputs. A harness that fails on its own reference (3 upstream) is malformed: counted and
      dropped. ``check=False`` skips running them (no sandbox needed).
    * **Decontamination:** titles equal to an XLCoST *test* title (after :func:`normalize_title`) are
      dropped; titles equal to an XLCoST train or validation title go to ``train`` only, never to a held-out
      split. ``xlcost_titles`` is ``{"train": {...}, "validation": {...}, "test": {...}}``.
    """
    from codegen_lib.data import _check_row

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
        if not _check_row(report, row_id, title, code):
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
        u = _fraction(f"gfg:{seed}:{key}")
        split = "validation" if u < val_fraction else "test" if u < val_fraction + test_fraction else "train"
        if split != "train" and (key in xl.get("train", set()) or key in xl.get("validation", set())):
            dedup["forced_train_xlcost_title"] += 1
            split = "train"
        out[split].append(_row(title, code, "gfg", row_id, tests, "f_gold"))
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
    for row, col in reversed(spots):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + len(old):]
    return "".join(lines)


def restyle_gfg(row: dict) -> dict:
    """One GfG row without TransCoder's style: ``f_gold`` renamed (:func:`gfg_function_name` of the title),
    then the token spacing removed (:func:`codegen_lib.xlcost.respace`: normal spacing, no statement-ending
    ``;``, same AST). ``entry_point`` becomes the new name, and ``tests`` starts with
    ``f_gold = <new name>`` when the candidate defines no ``f_gold``, so the harness scores either name.
    A row whose code does not parse comes back unchanged."""
    from codegen_lib.xlcost import respace

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
    normal Python from XLCoST's tokens (:func:`codegen_lib.xlcost.detokenize`)."""

    def parses(code: str) -> bool:
        try:
            ast.parse(code)
            return True
        except (SyntaxError, ValueError):
            return False

    counts = dict.fromkeys(("gfg_rows", "renamed", "respaced", "parse_before", "parse_after"), 0)
    out = []
    for row in rows:
        if row.get("source") != "gfg":
            out.append(row)
            continue
        new = restyle_gfg(row)
        counts["gfg_rows"] += 1
        counts["parse_before"] += parses(row["code"])
        counts["parse_after"] += parses(new["code"])
        counts["renamed"] += "f_gold" in row["code"] and "f_gold" not in new["code"]
        counts["respaced"] += _rename(row["code"], "f_gold", new["entry_point"]) != new["code"]
        out.append(new)
    return out, counts


# ----------------------------------------------------------------------------------------------------------------
# Django
# ----------------------------------------------------------------------------------------------------------------
def django_rows(data_dir: Path, report) -> dict[str, list[dict]]:
    """The 18,805 line-aligned pseudo-code -> statement pairs, split 16,000 / 1,000 / 1,805 by line order.

    The code lines are space-tokenized as released (``self . x = 1``, still valid Python) and are kept so,
    since exact-match accuracy on Django is measured on these tokens; leading whitespace goes (each line is
    one statement out of its block).
    """
    from codegen_lib.data import _check_row

    anno_path, code_path = data_dir / "all.anno", data_dir / "all.code"
    for p in (anno_path, code_path):
        if not p.is_file():
            raise FileNotFoundError(f"Django not found: expected {p} (all.anno / all.code of the release)")
    anno = anno_path.read_text(encoding="utf-8", errors="replace").split("\n")
    code = code_path.read_text(encoding="utf-8", errors="replace").split("\n")
    if anno and anno[-1] == "" and code and code[-1] == "":
        anno, code = anno[:-1], code[:-1]
    if len(anno) != len(code):
        raise ValueError(f"{anno_path} has {len(anno)} lines but {code_path} has {len(code)}")
    n_train, n_val, _ = DJANGO_SPLIT
    out: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for i, (a, c) in enumerate(zip(anno, code)):
        row_id = f"django-{i:05d}"
        split = "train" if i < n_train else "validation" if i < n_train + n_val else "test"
        if _check_row(report, row_id, a.strip(), c.strip() + "\n" if c.strip() else ""):
            out[split].append(_row(a.strip(), c.strip() + "\n", "django", row_id))
    return out


def records_from_hub(ds: Any) -> list[dict]:
    """Rows of every split of a hub ``DatasetDict`` as plain dicts."""
    return [dict(r) for split in ds for r in ds[split]]
