"""A docstring -> function corpus extracted with ``ast`` from the running interpreter's standard library
(chapter 01): real code written by others, available offline wherever Python is.

Each row pairs a function's docstring (the prompt) with the function's source (the code)::

    prompt  Return the number of items in the queue (not reliable!).
    code    def qsize(self):
                with self.mutex:
                    return self._qsize()
    id      queue:Queue.qsize

What is extracted, and why (every filter is counted in ``ExtractionStats``):

* **Files:** every ``*.py`` under ``sysconfig.get_paths()["stdlib"]``, walked in sorted order, except
  the directories in ``SKIP_DIRS`` -- tests (``test``, ``tests``, ``idle_test``), bundled or generated code
  (``site-packages``, ``ensurepip``, ``pydoc_data``, ``encodings`` codec tables, ``lib-dynload``,
  ``config-*``, ``_sysconfigdata*``) and the IDLE and turtle demo applications -- and ``__main__.py``.
  A file that cannot be decoded (PEP 263 encoding) or parsed is counted and skipped, never fatal.
* **Functions:** module-level ``def`` / ``async def`` and methods of classes (``qualname``
  ``Class.method``, ``Outer.Inner.method``), including those defined under ``if`` / ``try`` / ``with``
  (platform-specific variants: the first definition of a qualname wins). Functions nested inside other
  functions are left out: they depend on their enclosing scope.
* **Methods are kept** (with ``self``): most of the library's code lives in classes, and the prompt often
  describes behaviour in terms of the object ("Return the number of items in the queue").
* **Decorators are kept** (``@property``, ``@classmethod``...): they are part of the definition.
* **Prompt:** the first paragraph of the cleaned docstring (``ast.get_docstring``), lines joined with one
  space; rejected when shorter than ``min_prompt_chars``, longer than ``max_prompt_chars`` or when it
  starts with a doctest prompt ``>>>``.
* **Code:** the definition with the docstring statement (and a blank line right after it) removed, then
  dedented by the definition's own indentation (lines inside multi-line strings that sit further left
  are left untouched). Kept when it has ``min_lines``-``max_lines`` lines (3-30), still parses, has
  a body besides the docstring, and is not an exact duplicate of an earlier function.
* **Sampling:** at most ``max_per_module`` functions per module (so ``tkinter`` does not dominate), then
  ``max_pairs`` in all, both drawn with ``random.Random(seed)``. Python 3.11's library yields about
  4,000 pairs after the filters (~3,900 after the cap), so the default ``max_pairs=5000`` rarely binds.
* **Split by module:** a module goes entirely to train, validation or test, chosen by a hash of
  ``(seed, module name)`` (80/10/10 of modules by default), so no module is in two splits and the test
  set measures code from modules never seen in training.

Extraction parses ~500 files (2-3 seconds), so its result -- every pair that passes the filters, and
the counts -- is cached as JSON under ``~/.cache/codegen_lib/stdlib_corpus/`` (or
``$CODEGEN_CACHE_DIR/stdlib_corpus/``, see :func:`codegen_lib.io.default_cache_dir`), keyed by the Python version, the library's path and the line
limits. Sampling and splitting (milliseconds) are redone on every call, so any seed is fast.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import logging
import os
import random
import sys
import sysconfig
import tokenize
from dataclasses import asdict, dataclass, field
from pathlib import Path

import datasets

from codegen_lib.corpora.rows import MalformedRowReport, check_generated, no_data_dir
from codegen_lib.io import cached_json, default_cache_dir

logger = logging.getLogger(__name__)

NAME = SOURCE = "stdlib"
OPTIONS: tuple[str, ...] = ()
SPLITS = ("train", "validation", "test")
COLUMNS = ("prompt", "code", "source", "id", "module")
CACHE_VERSION = 1  # bump when the extraction rules change, so old caches are not reused

# Directory (or package) names never descended into; see the module docstring for the reasons.
SKIP_DIRS = frozenset(
    {"test", "tests", "idle_test", "idlelib", "turtledemo", "site-packages", "dist-packages", "ensurepip",
     "pydoc_data", "encodings", "lib-dynload", "__pycache__", "__phello__"}
)  # fmt: skip


@dataclass
class ExtractionStats:
    """What the extractor saw and why it dropped things (the data chapter prints this)."""

    files_seen: int = 0  # *.py files considered (after SKIP_DIRS)
    files_skipped: int = 0  # _sysconfigdata*, __main__.py
    files_undecodable: int = 0  # bad or unknown source encoding
    files_unparsable: int = 0  # SyntaxError / ValueError from ast.parse
    functions_seen: int = 0  # module-level functions and methods of module-level classes
    no_docstring: int = 0
    bad_prompt: int = 0  # too short / too long / a doctest
    docstring_inline: int = 0  # docstring on the def line: cannot be cut out cleanly
    docstring_only: int = 0  # nothing but the docstring (or a second string) in the body
    too_short: int = 0  # fewer than min_lines lines once the docstring is removed
    too_long: int = 0  # more than max_lines lines
    unparsable_after_cut: int = 0  # defensive: dedent/cut produced invalid code
    duplicate_code: int = 0  # identical code already extracted from an earlier module
    duplicate_id: int = 0  # same module:qualname twice (e.g. a property setter)
    extracted: int = 0  # candidate pairs after all filters
    over_module_cap: int = 0  # dropped by max_per_module
    over_max_pairs: int = 0  # dropped by max_pairs
    failed_files: list[str] = field(default_factory=list)  # "path: reason" for undecodable/unparsable files


def stdlib_dir() -> Path:
    """The running interpreter's standard library directory."""
    return Path(sysconfig.get_paths()["stdlib"])


def iter_stdlib_files(root: str | Path) -> list[tuple[str, Path]]:
    """``(module name, path)`` for every ``*.py`` under ``root`` outside ``SKIP_DIRS``, in sorted order."""
    root = Path(root)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("config-"))
        rel = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            if name.endswith(".py"):
                parts = [*rel.parts, name[:-3]]
                if parts[-1] == "__init__":
                    parts = parts[:-1] or ["__init__"]
                out.append((".".join(parts), Path(dirpath) / name))
    return out


def _first_paragraph(doc: str) -> str:
    return " ".join(doc.strip().split("\n\n")[0].split())


def _cut_docstring(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The definition's source without its docstring, dedented; None if the docstring shares a line with code."""
    start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
    doc = node.body[0]
    if doc.lineno <= _header_end(node) or node.body[1].lineno <= doc.end_lineno:
        return None
    body = lines[start : doc.lineno - 1] + lines[doc.end_lineno : node.end_lineno]
    cut = doc.lineno - 1 - start  # index of the first line after the removed docstring
    if cut < len(body) and not body[cut].strip():
        del body[cut]
    indent = node.col_offset
    dedented = [ln[indent:] if ln[:indent].strip() == "" else ln for ln in body]
    return "".join(dedented).rstrip() if dedented else None


def _header_end(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Last line of the ``def ...:`` header (arguments and annotations may span lines)."""
    ends = [node.lineno]
    for sub in ast.walk(node.args):
        if hasattr(sub, "end_lineno") and sub.end_lineno:
            ends.append(sub.end_lineno)
    if node.returns is not None:
        ends.append(node.returns.end_lineno)
    return max(ends)


def decode_source(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def extract_functions(
    root: str | Path | None = None,
    *,
    min_lines: int = 3,
    max_lines: int = 30,
    min_prompt_chars: int = 12,
    max_prompt_chars: int = 400,
) -> tuple[list[dict], ExtractionStats]:
    """Every docstring/function pair under ``root`` (default: this interpreter's stdlib) that passes the
    filters, as rows ``{prompt, code, source, id, module}`` in file order, plus the counts of what was dropped.
    """
    root = stdlib_dir() if root is None else Path(root)
    if not root.is_dir():
        raise ValueError(f"standard library directory not found: {root}")
    stats = ExtractionStats()
    rows: list[dict] = []
    seen_code: set[str] = set()
    seen_ids: set[str] = set()
    for module, path in iter_stdlib_files(root):
        if path.name == "__main__.py" or path.name.startswith("_sysconfigdata"):
            stats.files_skipped += 1
            continue
        stats.files_seen += 1
        try:
            text = decode_source(path.read_bytes())
        except (UnicodeDecodeError, SyntaxError, LookupError) as exc:  # detect_encoding raises SyntaxError
            stats.files_undecodable += 1
            stats.failed_files.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError) as exc:
            stats.files_unparsable += 1
            stats.failed_files.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        lines = text.splitlines(keepends=True)
        for qualname, node in iter_functions(tree.body):
            stats.functions_seen += 1
            row = function_pair(
                module, qualname, node, lines, stats, min_lines, max_lines, min_prompt_chars, max_prompt_chars
            )
            if row is None:
                continue
            if row["id"] in seen_ids:
                stats.duplicate_id += 1
                continue
            if row["code"] in seen_code:
                stats.duplicate_code += 1
                continue
            seen_ids.add(row["id"])
            seen_code.add(row["code"])
            rows.append(row)
    stats.extracted = len(rows)
    return rows, stats


def iter_functions(body: list[ast.stmt], prefix: str = ""):
    """``(qualname, node)`` for the functions of a module or class body, looking inside classes (at any
    depth) and inside ``if`` / ``try`` / ``with`` blocks, but never inside another function."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
        elif isinstance(node, ast.ClassDef):
            yield from iter_functions(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, ast.If | ast.Try | ast.With):
            blocks = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
            blocks += [handler.body for handler in getattr(node, "handlers", [])]
            for block in blocks:
                yield from iter_functions(block, prefix)


def function_pair(module, qualname, node, lines, stats, min_lines, max_lines, min_prompt_chars, max_prompt_chars):
    doc = ast.get_docstring(node, clean=True)
    if not doc or not doc.strip():
        stats.no_docstring += 1
        return None
    prompt = _first_paragraph(doc)
    if not (min_prompt_chars <= len(prompt) <= max_prompt_chars) or prompt.startswith(">>>"):
        stats.bad_prompt += 1
        return None
    if len(node.body) == 1:
        stats.docstring_only += 1
        return None
    code = _cut_docstring(lines, node)
    if code is None:
        stats.docstring_inline += 1
        return None
    n_lines = code.count("\n") + 1
    if n_lines < min_lines:
        stats.too_short += 1
        return None
    if n_lines > max_lines:
        stats.too_long += 1
        return None
    try:
        parsed = ast.parse(code).body[0]
    except (SyntaxError, IndexError):
        stats.unparsable_after_cut += 1
        return None
    if ast.get_docstring(parsed) is not None:  # a second string statement became the docstring
        stats.docstring_only += 1
        return None
    return {"prompt": prompt, "code": code, "source": SOURCE, "id": f"{module}:{qualname}", "module": module}


def module_split(module: str, seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.1) -> str:
    """The split ("train" / "validation" / "test") a module belongs to: a stable hash of (seed, name)."""
    digest = hashlib.sha256(f"{seed}:{module}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    if u < val_fraction:
        return "validation"
    if u < val_fraction + test_fraction:
        return "test"
    return "train"


def _cache_path(cache_dir: Path, root: Path, params: dict) -> Path:
    key = json.dumps({"v": CACHE_VERSION, "python": sys.version, "root": str(root), **params}, sort_keys=True)
    name = f"py{sys.version_info.major}{sys.version_info.minor}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    return cache_dir / name


def build_stdlib_corpus(
    seed: int = 0,
    max_pairs: int = 5000,  # pairs kept in all (sampled with the seed); None = every pair that passes
    max_per_module: int = 100,  # per-module cap so that a few huge modules do not dominate
    min_lines: int = 3,  # shortest function kept, in lines, without its docstring
    max_lines: int = 30,  # longest function kept
    val_fraction: float = 0.1,  # share of *modules* (not rows) that go to validation
    test_fraction: float = 0.1,  # share of modules that go to test
    root: str | Path | None = None,  # a standard-library-like tree; None = this interpreter's
    cache: bool = True,  # read/write the JSON cache of the extraction
    cache_dir: str | Path | None = None,  # None = $CODEGEN_CACHE_DIR or ~/.cache/codegen_lib
    return_stats: bool = False,  # also return the ExtractionStats (as a dict)
) -> datasets.DatasetDict | tuple[datasets.DatasetDict, dict]:
    """Build the stdlib docstring -> function corpus (chapter 01): train / validation / test, split by module.

    Columns: prompt, code, source ("stdlib"), id ("module:qualname"), module. Deterministic given the
    arguments and the Python installation. With ``return_stats=True`` returns ``(corpus, stats)``.
    """
    if max_pairs is not None and max_pairs < 1:
        raise ValueError(f"max_pairs must be >= 1 or None, got {max_pairs}")
    if max_per_module < 1:
        raise ValueError(f"max_per_module must be >= 1, got {max_per_module}")
    if not 1 <= min_lines <= max_lines:
        raise ValueError(f"need 1 <= min_lines <= max_lines, got {min_lines}, {max_lines}")
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"need 0 <= val_fraction, test_fraction and their sum < 1; got {val_fraction}, {test_fraction}"
        )
    root = stdlib_dir() if root is None else Path(root)
    rows, stats = _cached_extraction(root, min_lines, max_lines, cache, cache_dir)
    if stats["files_undecodable"] or stats["files_unparsable"]:
        logger.warning(
            "stdlib corpus: %d undecodable and %d unparsable files skipped (first: %s)",
            stats["files_undecodable"], stats["files_unparsable"], stats["failed_files"][:3],
        )  # fmt: skip
    rng = random.Random(f"codegen-stdlib:{seed}")
    by_module: dict[str, list[dict]] = {}
    for row in rows:
        by_module.setdefault(row["module"], []).append(row)
    kept: list[dict] = []
    for module_rows in by_module.values():
        if len(module_rows) > max_per_module:
            stats["over_module_cap"] += len(module_rows) - max_per_module
            module_rows = rng.sample(module_rows, max_per_module)
        kept.extend(module_rows)
    if max_pairs is not None and len(kept) > max_pairs:
        stats["over_max_pairs"] = len(kept) - max_pairs
        kept = rng.sample(kept, max_pairs)
    kept.sort(key=lambda r: r["id"])  # a stable, readable order (modules stay together)
    splits: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for row in kept:
        splits[module_split(row["module"], seed, val_fraction, test_fraction)].append(row)
    features = datasets.Features({c: datasets.Value("string") for c in COLUMNS})
    corpus = datasets.DatasetDict(
        {
            split: datasets.Dataset.from_dict({c: [r[c] for r in rs] for c in COLUMNS}, features=features)
            for split, rs in splits.items()
        }
    )
    return (corpus, stats) if return_stats else corpus


def _cached_extraction(
    root: Path, min_lines: int, max_lines: int, cache: bool, cache_dir
) -> tuple[list, dict]:
    """``extract_functions`` through the JSON cache (the slow part: parsing ~500 files)."""
    path = _cache_path(
        Path(cache_dir).expanduser() if cache_dir else default_cache_dir("stdlib_corpus"),
        root,
        dict(min_lines=min_lines, max_lines=max_lines),
    )

    def build() -> dict:
        rows, stats = extract_functions(root, min_lines=min_lines, max_lines=max_lines)
        return {"rows": rows, "stats": asdict(stats)}

    payload, _ = cached_json(path, build, keys=("rows", "stats"), enabled=cache, what="stdlib corpus cache")
    return payload["rows"], payload["stats"]


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport):
    """The stdlib corpus as a DatasetDict, checked row by row (it is generated: no ``data_dir``)."""
    no_data_dir(NAME, data_dir)
    return check_generated(build_stdlib_corpus(seed=seed), NAME, report)
