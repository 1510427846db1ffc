"""XLCoST's Python text-to-code data: the release layout, its prompts, and its token format (chapter 01).

XLCoST (Zhu et al., 2022) ships code *tokenized*: tokens are separated by spaces, line structure is written as
``NEW_LINE`` / ``INDENT`` / ``DEDENT`` markers, and inside string literals a real space is written ``▁``
(U+2581) while the spaces between tokens mean nothing::

    def f ( n ) : NEW_LINE INDENT print ( " n ▁ = " , n ) NEW_LINE DEDENT f ( 3 ) NEW_LINE

:func:`~codegen_lib.corpora.xlcost_tokens.detokenize` turns that back into real, indented Python
(:mod:`codegen_lib.corpora.xlcost_tokens`). :func:`read_split` reads the official release layout::

    <root>/pair_data_tok_full_desc/Python-desc/{split}-Python-desc-tok.{txt,py}   titles, code (one per line)
    <root>/pair_data_tok_full_desc/Python-desc/{split}-Python-map.jsonl           program ids, line-aligned
    <root>/pair_data_tok_1_comment/Python-comment/{split}-Python-comment-tok.txt  snippet comments
    <root>/pair_data_tok_1_comment/Python-comment/{split}-Python-map.jsonl        snippet ids ("10005-Python-1")

(``<root>`` may also be the release's parent folder holding ``generation/``.) The program-level prompt, as on
the hub (``codeparrot/xlcost-text-to-code``, config ``Python-program-level``), is the title, ``" | "``, then the
program's snippet comments in snippet order joined by ``" ; "``. A program with no snippet comments gets the
title alone (no ``" | "``): 15 such programs in train, 0 in val, 2 in test of the release.

The measurement of the detokenizer on the real val/test programs (:func:`parse_report`) and the
classification of what still does not parse (:func:`classify_failure`) are what chapter 01 shows.

The corpus (:func:`load`): program-level rows from a release folder or from the hub's data files.
"""

from __future__ import annotations

import ast
import keyword
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codegen_lib.corpora.rows import (
    SPLITS,
    MalformedRowReport,
    check_row,
    count_unparseable,
    standardize_code,
    to_dataset_dict,
)
from codegen_lib.corpora.xlcost_tokens import QUOTES, detokenize, naive_detokenize

__all__ = [
    "NAME",
    "SPLITS",
    "OPTIONS",
    "XLCOST_HUB",
    "XLCOST_FILES",
    "SPLIT_FILES",
    "naive_detokenize",
    "detokenize",
    "XLCoSTRow",
    "find_root",
    "read_split",
    "classify_failure",
    "ParseReport",
    "parse_report",
    "xlcost_rows",
    "load",
]

NAME = "xlcost"
OPTIONS = ("splits", "repair")
XLCOST_HUB = ("codeparrot/xlcost-text-to-code", "Python-program-level")  # (repo, config)
# The hub repository is a script dataset (datasets >= 4 refuses it); its raw files are read instead. Checked
# against the dataset card (huggingface.co/datasets/codeparrot/xlcost-text-to-code): columns text, code;
# Python-program-level train 9,263 / validation 472 / test 887. Pinned to the head of main, 60c5c13
# ("Fix task tags (#2)"), whose data/ folder holds the files.
XLCOST_FILES = {
    "repo": "codeparrot/xlcost-text-to-code",
    "revision": "60c5c133f043a5cffe162f9de1c62b9d88f309cf",
    "files": {s: f"data/Python-program-level/{f}.json" for s, f in
              (("train", "train"), ("validation", "valid"), ("test", "test"))},
}
SPLIT_FILES = {"train": "train", "validation": "val", "test": "test"}  # DatasetDict name -> file prefix
DESC_DIR = Path("pair_data_tok_full_desc") / "Python-desc"
SNIPPET_DIR = Path("pair_data_tok_1_comment") / "Python-comment"
_SNIPPET_ID = re.compile(r"^(?P<program>.+?)-Python-(?P<index>\d+)$")


# ----------------------------------------------------------------------------------------------------------------
# The release layout
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class XLCoSTRow:
    """One program of the release. ``code_tokens`` is None for a split shipped without code."""

    program_id: str
    title: str
    comments: list[str]
    code_tokens: str | None
    problems: list[str] = field(default_factory=list)  # why the row is malformed ([] = fine)

    @property
    def prompt(self) -> str:
        """The hub's ``Python-program-level`` text: ``title | c1 ; c2 ; ...`` (the title alone without comments)."""
        if not self.comments:
            return self.title
        return f"{self.title} | {' ; '.join(self.comments)}"


def find_root(data_dir: str | Path) -> Path:
    """The folder holding ``pair_data_tok_full_desc`` (``data_dir`` itself or its ``generation/`` child)."""
    base = Path(data_dir).expanduser()
    for cand in (base, base / "generation"):
        if (cand / DESC_DIR).is_dir():
            return cand
    raise FileNotFoundError(
        f"{base} is not an XLCoST release folder: expected {base / DESC_DIR} (or under generation/). "
        "Pass the folder that holds pair_data_tok_full_desc/ and pair_data_tok_1_comment/."
    )


def _read_lines(path: Path) -> list[str | None]:
    """Lines of a text file, one entry per line; an undecodable line becomes None (reported, not dropped)."""
    data = path.read_bytes()
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    out: list[str | None] = []
    for line in raw:
        try:
            out.append(line.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError:
            out.append(None)
    return out


def _map_ids(path: Path) -> list[str | None]:
    """Ids from a ``*-map.jsonl`` file (each line is a JSON scalar such as ``10005`` or ``"10005-Python-1"``)."""
    ids = []
    for line in _read_lines(path):
        ids.append(None if line is None else line.strip().strip('"'))
    return ids


def _snippet_comments(root: Path, prefix: str) -> dict[str, list[str]]:
    """program id -> its snippet comments in snippet order, from the snippet-level files (if present)."""
    folder = root / SNIPPET_DIR
    map_path, text_path = folder / f"{prefix}-Python-map.jsonl", folder / f"{prefix}-Python-comment-tok.txt"
    if not (map_path.is_file() and text_path.is_file()):
        return {}
    ids, comments = _map_ids(map_path), _read_lines(text_path)
    if len(ids) != len(comments):
        raise ValueError(
            f"{map_path} has {len(ids)} lines but {text_path} has {len(comments)}: not line-aligned"
        )
    by_program: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for sid, text in zip(ids, comments):
        m = _SNIPPET_ID.match(sid or "")
        if m is None or text is None or not text.strip():
            continue
        by_program[m["program"]].append((int(m["index"]), text.strip()))
    return {pid: [t for _, t in sorted(items)] for pid, items in by_program.items()}


def read_split(data_dir: str | Path, split: str) -> list[XLCoSTRow]:
    """Read one program-level split of the release (``split`` in train / validation / test; ``val`` works too).

    Rows come in file order. ``code_tokens`` is None for every row when the split's ``.py`` file is absent (as
    for train on the book's machine); a row whose title or code line is empty or undecodable lists why in
    ``problems``.
    """
    prefix = SPLIT_FILES.get(split, split)
    if prefix not in SPLIT_FILES.values():
        raise ValueError(f"unknown XLCoST split {split!r}; expected one of {sorted(SPLIT_FILES)}")
    root = find_root(data_dir)
    folder = root / DESC_DIR
    map_path, title_path = folder / f"{prefix}-Python-map.jsonl", folder / f"{prefix}-Python-desc-tok.txt"
    for p in (map_path, title_path):
        if not p.is_file():
            raise FileNotFoundError(f"XLCoST {split} split: {p} is missing")
    ids, titles = _map_ids(map_path), _read_lines(title_path)
    code_path = folder / f"{prefix}-Python-desc-tok.py"
    codes: list[str | None] | None = _read_lines(code_path) if code_path.is_file() else None
    if len(titles) != len(ids) or (codes is not None and len(codes) != len(ids)):
        raise ValueError(
            f"XLCoST {split}: {map_path.name}, {title_path.name} and {code_path.name} are not line-aligned "
            f"({len(ids)}, {len(titles)}, {None if codes is None else len(codes)} lines)"
        )
    comments = _snippet_comments(root, prefix)
    rows = []
    for i, (pid, title) in enumerate(zip(ids, titles)):
        problems = []
        if pid is None or title is None or (codes is not None and codes[i] is None):
            problems.append("undecodable")
        if not pid:
            problems.append("missing id")
        if title is not None and not title.strip():
            problems.append("empty prompt")
        code = None if codes is None else codes[i]
        if codes is not None and code is not None and not code.strip():
            problems.append("empty code")
        rows.append(
            XLCoSTRow(
                program_id=pid or f"line{i + 1}",
                title=(title or "").strip(),
                comments=comments.get(pid or "", []),
                code_tokens=code,
                problems=problems,
            )
        )
    return rows


# ----------------------------------------------------------------------------------------------------------------
# Measuring the detokenizer
# ----------------------------------------------------------------------------------------------------------------
# Causes of programs that still do not parse. All are defects of the source data, not of detokenize().
FAILURE_CAUSES = {
    "python2_print": "Python 2 print statement (print x)",
    "c_style_comment": "C-style /* comment */ left in the code",
    "keyword_typo": "misspelt keyword such as 'sdef'",
    "stray_quote": "a lone quote left where a docstring was removed",
    "missing_indent": "INDENT marker missing after a block opener",
    "unexpected_indent": "indentation broken by a lost line",
    "missing_operator": "an operator or comma lost between two operands",
    "dangling_operator": "a line ends with an operator (lost backslash continuation)",
    "missing_newline": "two statements on one line (NEW_LINE marker missing)",
    "missing_colon": "block opener without its colon",
    "duplicate_line": "a def/if line repeated without a body",
    "other": "anything else",
}


def classify_failure(code: str) -> str | None:
    """Why ``code`` (a detokenized program) does not parse: a key of ``FAILURE_CAUSES``, or None if it parses."""
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" warnings of the naive pass's output
            warnings.simplefilter("ignore")
            ast.parse(code)
        return None
    except SyntaxError as err:
        msg, lineno = err.msg or "", err.lineno or 0
    lines = code.split("\n")
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    stripped = line.strip()
    first = stripped.split(" ", 1)[0].split("(", 1)[0]
    if "Missing parentheses in call to 'print'" in msg or re.match(r"print\s+[^\s(=.,)]", stripped):
        return "python2_print"
    if "/ *" in line or "/*" in line or "* /" in line:
        return "c_style_comment"
    if first and not keyword.iskeyword(first) and keyword.iskeyword(first[1:]) and len(first) > 2:
        return "keyword_typo"
    if stripped in QUOTES or re.fullmatch(r"['\"]{1,3}", stripped):
        return "stray_quote"
    if "expected an indented block" in msg:
        prev = lines[lineno - 2].strip() if lineno >= 2 else ""
        return "duplicate_line" if prev and prev == stripped else "missing_indent"
    if "unexpected indent" in msg or "unindent does not match" in msg or first in ("elif", "else"):
        return "unexpected_indent"
    if "forgot a comma" in msg:
        return "missing_operator"
    if "expected ':'" in msg:
        return "missing_colon"
    if re.search(r"(\+|-|\*|/|%|=|\band|\bor|,)$", stripped):
        return "dangling_operator"
    if re.search(r"[)\]\w\"']\s+(print|return|if|for|while)\b|\)\s+[A-Za-z_]\w*\s*(\(|=[^=])", stripped):
        return "missing_newline"
    return "other"


@dataclass
class ParseReport:
    """How many programs parse with ``ast.parse`` after a detokenizer, and why the others do not."""

    total: int
    parsed: int
    failures: list[tuple[str, str]]  # (program id, cause key)

    @property
    def rate(self) -> float:
        return self.parsed / self.total if self.total else 0.0

    @property
    def causes(self) -> Counter:
        return Counter(cause for _, cause in self.failures)

    def summary(self) -> str:
        lines = [f"{self.parsed}/{self.total} parse ({100 * self.rate:.2f}%)"]
        for cause, n in self.causes.most_common():
            lines.append(f"  {n:4d}  {cause}: {FAILURE_CAUSES.get(cause, cause)}")
        return "\n".join(lines)


def parse_report(data_dir: str | Path, splits=("validation", "test"), detokenizer=detokenize) -> ParseReport:
    """Detokenize every program of ``splits`` and count those that parse; classify the failures.

    Example (chapter 01)::

        print(parse_report(xlcost_dir, detokenizer=naive_detokenize).summary())
        print(parse_report(xlcost_dir).summary())
    """
    total, parsed, failures = 0, 0, []
    for split in splits:
        for row in read_split(data_dir, split):
            if row.code_tokens is None:
                raise ValueError(f"XLCoST {split} has no code files under {data_dir}; cannot measure parsing")
            if row.problems:
                continue
            total += 1
            cause = classify_failure(detokenizer(row.code_tokens))
            if cause is None:
                parsed += 1
            else:
                failures.append(
                    (f"{SPLIT_FILES[split] if split in SPLIT_FILES else split}/{row.program_id}", cause)
                )
    return ParseReport(total=total, parsed=parsed, failures=failures)


# ----------------------------------------------------------------------------------------------------------------
# The corpus
# ----------------------------------------------------------------------------------------------------------------
def _hub_rows(splits: Sequence[str], repair: bool, report: MalformedRowReport) -> dict[str, list]:
    from codegen_lib.hub import load_hub_files

    hub = load_hub_files(
        "the XLCoST dataset",
        'load_corpus("xlcost", data_dir=<folder of the XLCoST release>)',
        XLCOST_FILES["repo"], XLCOST_FILES["revision"], "json",
        {s: XLCOST_FILES["files"][s] for s in splits},
    )
    out: dict[str, list] = {}
    for split in splits:
        if split not in hub:
            raise ValueError(f"the hub's XLCoST has no split {split!r} (it has {sorted(hub)})")
        rows = []
        for i, raw in enumerate(hub[split]):
            row_id = f"xlcost-{split}-{i:05d}"
            text, tokens = raw.get("text"), raw.get("code")
            code = standardize_code(detokenize(tokens, repair=repair)) if isinstance(tokens, str) else None
            if check_row(report, row_id, text.strip() if isinstance(text, str) else None, code):
                rows.append({"prompt": text.strip(), "code": code, "source": "xlcost", "id": row_id})
        out[split] = rows
    return out


def xlcost_rows(data_dir, splits: Sequence[str], repair: bool,
                report: MalformedRowReport) -> dict[str, list]:
    """Rows by split from a release folder (``data_dir``), or from the hub when ``data_dir`` is None."""
    if data_dir is None:
        return _hub_rows(splits, repair, report)
    out: dict[str, list] = {}
    for split in splits:
        records = read_split(data_dir, split)
        if records and records[0].code_tokens is None:
            raise ValueError(
                f"the XLCoST {split} split under {data_dir} has titles but no code "
                f"({split.replace('validation', 'val')}-Python-desc-tok.py is missing; the book's ../shared "
                "copy ships only val/test code). Load the splits that have code with "
                f'load_corpus("xlcost", data_dir=..., splits=("validation", "test")), or use the hub '
                "(data_dir=None) for the full set."
            )
        rows = []
        for rec in records:
            row_id = f"xlcost-{rec.program_id}"
            if rec.problems:
                report.total += 1
                report.add(row_id, rec.problems[0])
                continue
            code = standardize_code(detokenize(rec.code_tokens, repair=repair))
            if check_row(report, row_id, rec.prompt, code):
                rows.append({"prompt": rec.prompt, "code": code, "source": "xlcost", "id": row_id})
        out[split] = rows
    return out


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport,
         splits: Sequence[str] | None = None, repair: bool = True):
    """XLCoST's program-level Python as a DatasetDict (``seed`` is unused: the splits are the release's).

    ``splits``: load just these, e.g. ``("validation", "test")`` for a release copy without training
    code; ``repair``: let :func:`detokenize` also port Python 2 prints and drop docstring-remnant quote
    lines (False keeps the source's defects).
    """
    if isinstance(data_dir, Mapping):
        raise ValueError("for 'xlcost', data_dir is one folder (the XLCoST release), not a mapping")
    wanted = tuple(splits) if splits is not None else SPLITS
    bad = [s for s in wanted if s not in SPLITS]
    if bad or not wanted:
        raise ValueError(f"splits must be a non-empty subset of {SPLITS}, got {splits!r}")
    rows = xlcost_rows(data_dir, wanted, repair, report)
    count_unparseable(rows, report)
    return to_dataset_dict(rows)
