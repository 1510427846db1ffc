"""Datasets: the report's XLCoST, Alpaca and merged sets, the offline corpora, and statistics (chapter 01).

    dd = load_corpus("tasks")                                   # generated, offline: the default
    dd = load_corpus("xlcost")                                  # the hub (what Colab readers use)
    dd = load_corpus("xlcost", data_dir="../shared/data/raw/xlcost", splits=("validation", "test"))
    dd, report = load_corpus("alpaca", data_dir="alpaca.parquet", return_report=True)

Every split has the columns ``prompt``, ``code`` (real, indented Python), ``source`` and ``id``; the generated
``"tasks"`` corpus adds ``family``, ``entry_point`` and ``tests``.

| name     | splits                              | source                                                       |
|----------|-------------------------------------|--------------------------------------------------------------|
| tasks    | train, validation, test, test_unseen| generated (``codegen_lib.tasks``)                            |
| stdlib   | train, validation, test             | docstring -> function pairs of the standard library          |
| xlcost   | train, validation, test             | ``codeparrot/xlcost-text-to-code`` / the XLCoST release      |
| alpaca   | train, validation, test             | ``iamtarun/python_code_instructions_18k_alpaca`` / a file     |
| merged   | train, validation, test             | Alpaca (all three) + XLCoST train; XLCoST validation/test    |

Rows that cannot be used (empty code, a missing field, undecodable bytes) are dropped *and counted*: pass
``return_report=True`` to get the :class:`MalformedRowReport`; a warning is logged whenever rows were dropped.
"""

from __future__ import annotations

import json
import logging
import random
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codegen_lib.hub import ensure_hub_reachable, hub_errors, hub_offline
from codegen_lib.xlcost import detokenize, read_split

if TYPE_CHECKING:  # datasets is imported lazily: importing codegen_lib.data stays cheap
    from datasets import Dataset, DatasetDict

__all__ = [
    "CORPORA",
    "COLUMNS",
    "XLCOST_HUB",
    "ALPACA_HUB",
    "MalformedRowReport",
    "AlpacaSelection",
    "standardize_code",
    "report_standardize",
    "select_alpaca",
    "load_corpus",
    "split_sizes",
    "lengths",
    "length_summary",
    "truncation_counts",
    "examples",
    "shared_data_dir",
    "real_prompts",
]

log = logging.getLogger(__name__)

CORPORA = ("tasks", "stdlib", "xlcost", "alpaca", "merged", "mbpp", "conala", "gfg", "django", "code", "mix",
           "doctest")
TEST_COLUMNS = ("tests", "entry_point")  # mbpp, gfg, code, mix (and tasks): "" where a row has no tests
COLUMNS = ("prompt", "code", "source", "id")
SPLITS = ("train", "validation", "test")
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
ALPACA_HUB = "iamtarun/python_code_instructions_18k_alpaca"
ALPACA_FIELDS = ("instruction", "input", "output", "prompt")  # the hub schema; "prompt" is the full template
REPORT_ALPACA = {"rows": 18612, "used": 13747, "train": 10998, "validation": 687, "test": 2062}  # Table 3.1


# ----------------------------------------------------------------------------------------------------------------
# Malformed rows
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class MalformedRowReport:
    """What was dropped while loading a corpus, and why (chapter 01).

    ``reasons`` counts dropped rows by reason ("empty code", "empty prompt", "missing field",
    "undecodable", "invalid json"); ``examples`` keeps the first few ``(row id, reason)`` pairs;
    ``unparseable`` counts rows that were *kept* although their code does not parse with ``ast``.
    """

    corpus: str
    total: int = 0  # rows read
    reasons: Counter = field(default_factory=Counter)
    examples: list[tuple[str, str]] = field(default_factory=list)
    unparseable: int = 0
    max_examples: int = 10
    notes: dict = field(default_factory=dict)  # loader-specific counts (e.g. gfg's XLCoST title rule)

    @property
    def dropped(self) -> int:
        return sum(self.reasons.values())

    @property
    def kept(self) -> int:
        return self.total - self.dropped

    def add(self, row_id: str, reason: str) -> None:
        self.reasons[reason] += 1
        if len(self.examples) < self.max_examples:
            self.examples.append((row_id, reason))

    def merge(self, other: MalformedRowReport) -> None:
        self.total += other.total
        self.unparseable += other.unparseable
        for rid, why in other.examples:
            if len(self.examples) < self.max_examples:
                self.examples.append((rid, why))
        self.reasons.update(other.reasons)

    def summary(self) -> str:
        why = ", ".join(f"{n} {r}" for r, n in self.reasons.most_common()) or "none"
        return (
            f"{self.corpus}: {self.total} rows read, {self.kept} kept, {self.dropped} dropped ({why}); "
            f"{self.unparseable} kept rows do not parse"
        )


def _check_row(report: MalformedRowReport, row_id: str, prompt: Any, code: Any) -> bool:
    """Count one row; return True if it is usable (both fields non-empty strings)."""
    report.total += 1
    if prompt is None or code is None or not isinstance(prompt, str) or not isinstance(code, str):
        report.add(row_id, "missing field")
        return False
    if not code.strip():
        report.add(row_id, "empty code")
        return False
    if not prompt.strip():
        report.add(row_id, "empty prompt")
        return False
    return True


# ----------------------------------------------------------------------------------------------------------------
# Standardization
# ----------------------------------------------------------------------------------------------------------------
def standardize_code(code: str) -> str:
    """Standardize code without changing what it means (chapter 01).

    Line endings become ``"\\n"``, a leading byte-order mark goes, trailing whitespace is stripped from every
    line, blank lines at the start and end go, and the text ends with exactly one ``"\\n"``. Indentation, case,
    punctuation and tabs are left alone. (The only thing this could alter is trailing spaces on a line inside a
    triple-quoted string.) Idempotent: ``standardize_code(standardize_code(c)) == standardize_code(c)``.
    """
    text = code.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")


def report_standardize(text: str) -> str:
    """The report's standardization: lower-case, then strip ASCII punctuation (chapter 02 shows why not).

    ``report_standardize("Create a python function.") == "create a python function"`` as in the report, but
    ``report_standardize("def add(a, b):\\n    return a+b")`` is ``"def addab\\n    return ab"``: names lose
    their case (``MAX`` vs ``max``), ``_``, brackets, colons, operators and string quotes vanish. The code
    cannot be recovered, and a model trained on it cannot write Python. This project standardizes with
    :func:`standardize_code` instead.
    """
    return _PUNCTUATION.sub("", text.lower())


# ----------------------------------------------------------------------------------------------------------------
# Alpaca selection
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class AlpacaSelection:
    """Which Alpaca rows are used, and how they are split.

    The report used 13,747 of the 18,612 rows and split them 10,998 / 687 / 2,062 without saying how. That
    split is exactly 80% / 5% / the rest of 13,747 (rounded), so we split the same way. For the selection we
    use a length filter, the most likely rule for a model with a fixed maximum length: keep the shortest
    ``keep_fraction`` of the valid rows by characters of code (ties broken by row order). With the default
    fraction 13747/18612 this keeps exactly 13,747 rows when all 18,612 are valid. Alternatively set
    ``max_code_chars`` for a fixed threshold. Unverified: the real set is not available on the machine this
    was written on, so we cannot say how far our rows are from the report's; only the sizes are reproduced.
    """

    keep_fraction: float = REPORT_ALPACA["used"] / REPORT_ALPACA["rows"]  # ~0.7386; 1.0 keeps every row
    max_code_chars: int | None = None  # if set, keep rows with len(code) <= this instead of the fraction
    train_fraction: float = 0.80  # of the kept rows, rounded
    validation_fraction: float = 0.05  # rounded; the test split gets the rest

    def __post_init__(self) -> None:
        if not 0.0 < self.keep_fraction <= 1.0:
            raise ValueError(f"keep_fraction must be in (0, 1], got {self.keep_fraction}")
        if self.max_code_chars is not None and self.max_code_chars <= 0:
            raise ValueError(f"max_code_chars must be positive, got {self.max_code_chars}")
        if (
            self.train_fraction <= 0
            or self.validation_fraction < 0
            or self.train_fraction + self.validation_fraction >= 1
        ):
            raise ValueError("need train_fraction > 0, validation_fraction >= 0 and their sum < 1")


def select_alpaca(
    rows: Sequence[dict], seed: int = 0, selection: AlpacaSelection | None = None
) -> dict[str, list]:
    """Apply the :class:`AlpacaSelection` rule to valid rows; return ``{"train": [...], "validation": ..., "test": ...}``.

    Deterministic given ``seed``: the kept rows (in their original order) are shuffled with
    ``random.Random(seed)`` and cut into train / validation / test.
    """
    sel = selection or AlpacaSelection()
    order = range(len(rows))
    if sel.max_code_chars is not None:
        keep = [i for i in order if len(rows[i]["code"]) <= sel.max_code_chars]
    else:
        n_keep = round(sel.keep_fraction * len(rows))
        keep = sorted(sorted(order, key=lambda i: (len(rows[i]["code"]), i))[:n_keep])
    random.Random(seed).shuffle(keep)
    n_train = round(sel.train_fraction * len(keep))
    n_val = round(sel.validation_fraction * len(keep))
    return {
        "train": [rows[i] for i in keep[:n_train]],
        "validation": [rows[i] for i in keep[n_train : n_train + n_val]],
        "test": [rows[i] for i in keep[n_train + n_val :]],
    }


_FENCE = re.compile(r"^```[\w+-]*\n(.*?)\n?```\s*$", re.S)


def _alpaca_row(raw: Any, index: int, report: MalformedRowReport) -> dict | None:
    row_id = f"alpaca-{index:05d}"
    if not isinstance(raw, Mapping):
        report.total += 1
        report.add(row_id, "missing field")
        return None
    instruction, extra, output = raw.get("instruction"), raw.get("input") or "", raw.get("output")
    if not isinstance(extra, str):
        extra = ""
    prompt = (
        instruction.strip() + ("\n" + extra.strip() if extra.strip() else "")
        if isinstance(instruction, str)
        else None
    )
    code = output
    if isinstance(code, str):
        fenced = _FENCE.match(code.strip())
        code = standardize_code(fenced.group(1) if fenced else code)
    if not _check_row(report, row_id, prompt, code):
        return None
    return {"prompt": prompt, "code": code, "source": "alpaca", "id": row_id}


def _read_records(path: Path, report: MalformedRowReport) -> list[Any]:
    """Records of one Alpaca file (.json list / .jsonl / .parquet); undecodable or invalid lines are reported."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    data = path.read_bytes()
    if suffix == ".json":
        try:
            obj = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise ValueError(f"{path} is not UTF-8 text: {err}") from err
        except json.JSONDecodeError:
            obj = None  # maybe JSON lines saved as .json
        if obj is not None:
            if isinstance(obj, Mapping):
                for key in ("train", "data", "rows"):
                    if isinstance(obj.get(key), list):
                        return obj[key]
                raise ValueError(f"{path}: a JSON object needs a 'train', 'data' or 'rows' list of rows")
            if not isinstance(obj, list):
                raise ValueError(f"{path}: expected a JSON list of rows, got {type(obj).__name__}")
            return obj
    records: list[Any] = []
    for n, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line.decode("utf-8")))
        except UnicodeDecodeError:
            report.total += 1
            report.add(f"{path.name}:{n}", "undecodable")
        except json.JSONDecodeError:
            report.total += 1
            report.add(f"{path.name}:{n}", "invalid json")
    return records


def _alpaca_files(data_dir: Path) -> list[Path]:
    exts = (".json", ".jsonl", ".parquet")
    if data_dir.is_file():
        if data_dir.suffix.lower() not in exts:
            raise ValueError(f"{data_dir}: an Alpaca file must be .json, .jsonl or .parquet")
        return [data_dir]
    if not data_dir.is_dir():
        raise FileNotFoundError(f"Alpaca data not found: {data_dir} is neither a file nor a folder")
    files = sorted(p for p in data_dir.rglob("*") if p.is_file() and p.suffix.lower() in exts)
    if not files:
        raise FileNotFoundError(
            f"no .json, .jsonl or .parquet file under {data_dir} (Alpaca's hub schema expected)"
        )
    return files


# ----------------------------------------------------------------------------------------------------------------
# Loaders
# ----------------------------------------------------------------------------------------------------------------
def _to_dataset_dict(split_rows: Mapping[str, list[dict]], columns: Sequence[str] = COLUMNS) -> DatasetDict:
    from datasets import Dataset, DatasetDict, Features, Value

    features = Features({c: Value("string") for c in columns})
    out = {}
    for name, rows in split_rows.items():
        if not rows:
            raise ValueError(f"split {name!r} is empty after loading; refusing to return an empty set")
        out[name] = Dataset.from_dict({c: [r[c] for r in rows] for c in columns}, features=features)
    return DatasetDict(out)


def _hub_dataset(what: str, alternative: str, *args: Any, **kwargs: Any):
    """``datasets.load_dataset(*args, **kwargs)``, failing fast with :class:`HubUnavailableError`."""
    import datasets

    with hub_errors(what, alternative, repo=str(args[0]) if args else None):
        cache_only = hub_offline() and bool(getattr(datasets.config, "HF_HUB_OFFLINE", False))
        if not cache_only:  # offline datasets only reads its cache, which is fast; otherwise probe first
            ensure_hub_reachable(what, alternative)
        return datasets.load_dataset(*args, **kwargs)


def _count_unparseable(rows: Iterable[dict], report: MalformedRowReport) -> None:
    import ast

    for row in rows:
        try:
            ast.parse(row["code"])
        except (SyntaxError, ValueError):
            report.unparseable += 1


def _xlcost_rows(
    data_dir, splits: Sequence[str], repair: bool, report: MalformedRowReport
) -> dict[str, list]:
    out: dict[str, list] = {}
    if data_dir is None:
        from codegen_lib.hub import load_hub_files

        hub = load_hub_files(
            "the XLCoST dataset",
            'load_corpus("xlcost", data_dir=<folder of the XLCoST release>)',
            XLCOST_FILES["repo"], XLCOST_FILES["revision"], "json",
            {s: XLCOST_FILES["files"][s] for s in splits},
        )
        for split in splits:
            if split not in hub:
                raise ValueError(f"the hub's XLCoST has no split {split!r} (it has {sorted(hub)})")
            rows = []
            for i, raw in enumerate(hub[split]):
                row_id = f"xlcost-{split}-{i:05d}"
                text, tokens = raw.get("text"), raw.get("code")
                code = (
                    standardize_code(detokenize(tokens, repair=repair)) if isinstance(tokens, str) else None
                )
                if _check_row(report, row_id, text.strip() if isinstance(text, str) else None, code):
                    rows.append({"prompt": text.strip(), "code": code, "source": "xlcost", "id": row_id})
            out[split] = rows
        return out
    for split in splits:
        records = read_split(data_dir, split)
        if records and records[0].code_tokens is None:
            raise ValueError(
                f"the XLCoST {split} split under {data_dir} has titles but no code "
                f"({split.replace('validation', 'val')}-Python-desc-tok.py is missing; the book's ../shared copy "
                "ships only val/test code). Load the splits that have code with "
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
            if _check_row(report, row_id, rec.prompt, code):
                rows.append({"prompt": rec.prompt, "code": code, "source": "xlcost", "id": row_id})
        out[split] = rows
    return out


def _alpaca_rows(data_dir, seed: int, selection: AlpacaSelection | None, report: MalformedRowReport) -> dict:
    if data_dir is None:
        hub = _hub_dataset(
            "the Alpaca Python 18k dataset",
            'load_corpus("alpaca", data_dir=<a .json/.jsonl/.parquet file in the hub schema>)',
            ALPACA_HUB,
        )
        records: list[Any] = [r for split in sorted(hub) for r in hub[split]]
    else:
        records = []
        for path in _alpaca_files(Path(data_dir).expanduser()):
            records.extend(_read_records(path, report))
    valid = [r for i, raw in enumerate(records) if (r := _alpaca_row(raw, i, report)) is not None]
    return select_alpaca(valid, seed=seed, selection=selection)


def _generated(name: str, seed: int, data_dir) -> DatasetDict:
    if data_dir is not None:
        raise ValueError(f"the {name!r} corpus is generated offline; it takes no data_dir")
    if name == "tasks":
        from codegen_lib.tasks import build_task_corpus

        return build_task_corpus(seed=seed)
    from codegen_lib.stdlib_corpus import build_stdlib_corpus

    return build_stdlib_corpus(seed=seed)


def _check_generated(dd: DatasetDict, name: str, report: MalformedRowReport) -> DatasetDict:
    keep_by_split = {}
    for split, ds in dd.items():
        missing = [c for c in COLUMNS if c not in ds.column_names]
        if missing:
            raise ValueError(f"corpus {name!r} split {split!r} lacks the columns {missing}")
        keep = [
            i
            for i, (p, c, rid) in enumerate(zip(ds["prompt"], ds["code"], ds["id"]))
            if _check_row(report, str(rid), p, c)
        ]
        keep_by_split[split] = keep
        codes = ds["code"]
        _count_unparseable(({"code": codes[i]} for i in keep), report)
    if report.dropped:
        from datasets import DatasetDict

        dd = DatasetDict({s: ds.select(keep_by_split[s]) for s, ds in dd.items()})
    return dd


def _to_dataset_dict_with_tests(split_rows: Mapping[str, list[dict]]) -> DatasetDict:
    """Like :func:`_to_dataset_dict`, with the ``tests`` / ``entry_point`` columns ("" where a row has none)."""
    return _to_dataset_dict({s: [{**dict.fromkeys(TEST_COLUMNS, ""), **r} for r in rows]
                             for s, rows in split_rows.items()}, COLUMNS + TEST_COLUMNS)


def _local(data_dir, name: str) -> Path:
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{name}: data_dir {path} does not exist")
    return path


def _sibling(path: Path, *names: str) -> Path | None:
    """A data folder beside ``path`` (``../shared/data/raw/<name>``), or None."""
    for base in (path, path.parent):
        for n in names:
            if (base / n).is_dir():
                return base / n
    return None


def xlcost_titles(xlcost_dir) -> dict[str, set[str]]:
    """Normalized XLCoST program titles per split (for the GfG title rule), from a local release copy."""
    from codegen_lib.real_corpora import normalize_title

    out = {}
    for split in SPLITS:
        try:
            out[split] = {normalize_title(r.prompt.split(" | ")[0]) for r in read_split(xlcost_dir, split)}
        except (FileNotFoundError, ValueError):
            continue
    return out


def _real_rows(name: str, data_dir, seed: int, report: MalformedRowReport, **kw) -> dict[str, list[dict]]:
    """Rows by split for mbpp / conala / gfg / django (local folder, or the hub where there is one)."""
    from codegen_lib import real_corpora as rc

    if name == "mbpp":
        if data_dir is None:
            from codegen_lib.hub import load_hub_files

            hub = load_hub_files("the MBPP dataset", 'load_corpus("mbpp", data_dir=<folder with mbpp.jsonl>)',
                                 rc.MBPP_HUB["repo"], rc.MBPP_HUB["revision"], "parquet", rc.MBPP_HUB["files"])
            return rc.mbpp_rows(rc.records_from_hub(hub), report)
        return rc.mbpp_rows(rc.read_mbpp(_local(data_dir, name)), report)
    if name == "conala":
        if data_dir is None:
            from codegen_lib.hub import load_hub_files

            hub = load_hub_files("the CoNaLa dataset", 'load_corpus("conala", data_dir=<folder with conala-train.json>)',
                                 rc.CONALA_HUB["repo"], rc.CONALA_HUB["revision"], "parquet", rc.CONALA_HUB["files"])
            return rc.conala_rows(rc.records_from_hub(hub), report, seed=seed)
        return rc.conala_rows(rc.read_conala(_local(data_dir, name)), report, seed=seed)
    if data_dir is None:
        where = {"gfg": "github.com/facebookresearch/CodeGen, data/transcoder_evaluation_gfg",
                 "django": "github.com/odashi/ase15-django-dataset"}[name]
        raise ValueError(f"the {name!r} corpus has no hub copy: clone {where} and pass data_dir=<that folder>")
    path = _local(data_dir, name)
    if name == "django":
        return rc.django_rows(path, report)
    xl = kw.get("xlcost_dir") or _sibling(path, "xlcost")
    titles = xlcost_titles(xl) if xl is not None else {}
    if not titles.get("test"):
        log.warning("gfg: no XLCoST titles found beside %s; the XLCoST-test title rule is not applied", path)
    rows, dedup = rc.gfg_rows(path, report, xlcost_titles=titles, seed=seed, check=kw.get("check", True))
    report.notes.update(dedup)
    return rows


def load_corpus(
    name: str,
    *,
    data_dir: str | Path | Mapping[str, str | Path] | None = None,
    seed: int = 0,
    splits: Sequence[str] | None = None,
    repair: bool = True,
    alpaca: AlpacaSelection | None = None,
    return_report: bool = False,
    code_packages: Sequence[str] | None = None,
):
    """Load one of the corpora in ``CORPORA`` as a ``datasets.DatasetDict`` (chapter 01).

    Args:
        name: "tasks" | "stdlib" (generated offline) | "xlcost" | "alpaca" | "merged" (the report's three).
        data_dir: None loads from the Hugging Face hub. Otherwise, for "xlcost" the folder of the XLCoST
            release (holding ``pair_data_tok_full_desc/``); for "alpaca" a .json/.jsonl/.parquet file (or a
            folder of them) in the hub schema (instruction, input, output, prompt); for "merged" a mapping
            ``{"xlcost": ..., "alpaca": ...}`` (a missing key means the hub for that part).
        seed: seeds the generated corpora and the Alpaca split.
        splits: "xlcost" only: load just these splits, e.g. ``("validation", "test")`` for a release copy
            without training code (a split without code raises ValueError naming this option).
        repair: "xlcost"/"merged": let :func:`codegen_lib.xlcost.detokenize` also port Python 2 prints and
            drop docstring-remnant quote lines (documented there). False keeps the source's defects.
        alpaca: the :class:`AlpacaSelection` rule (default: the report's 13,747 rows, 80/5/15 split).
        return_report: also return the :class:`MalformedRowReport`.
        code_packages: "code" and "doctest" only: read just these distributions (``"python-stdlib"`` for the standard
            library); None reads every permissively licensed one. For "code", ``data_dir`` is the folder of
            the evaluation sets to decontaminate against (``../shared/data/raw``; HumanEval always).

    Returns:
        ``DatasetDict`` (or ``(DatasetDict, MalformedRowReport)``) whose splits have ``prompt``, ``code``
        (real Python), ``source`` and ``id`` columns.

    Raises:
        ValueError: unknown name (the message lists ``CORPORA``), bad arguments, a split without code.
        HubUnavailableError: ``data_dir=None`` and the hub is unreachable; the message names ``data_dir``.
    """
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; valid names are {', '.join(CORPORA)}")
    if name in ("mbpp", "conala", "gfg", "django"):
        report = MalformedRowReport(corpus=name)
        rows = _real_rows(name, data_dir, seed, report)
        _count_unparseable((r for split in rows.values() for r in split), report)
        dd = _to_dataset_dict_with_tests(rows)
        if report.dropped:
            log.warning("load_corpus(%r) dropped malformed rows: %s", name, report.summary())
        return (dd, report) if return_report else dd
    if name == "code":
        from codegen_lib.code_corpus import build_code_corpus

        report = MalformedRowReport(corpus=name)
        rows, info = build_code_corpus(seed=seed, data_dir=data_dir, packages=code_packages)
        report.total = info["counts"]["extracted"]
        for reason in ("duplicate_body", "over_module_cap"):
            if info["counts"].get(reason):
                report.reasons[reason.replace("_", " ")] += info["counts"][reason]
        for ev, n in info["counts"]["contaminated"].items():
            report.reasons[f"overlaps {ev}"] += n
        report.notes.update(info)
        dd = _to_dataset_dict_with_tests(rows)
        for split in dd:  # licence and provenance columns, per row
            extra = {c: [r[c] for r in rows[split]] for c in ("package", "version", "license")}
            for c, values in extra.items():
                dd[split] = dd[split].add_column(c, values)
        return (dd, report) if return_report else dd
    if name == "doctest":  # the sentence above a >>> example -> the example (codegen_lib.doctest_corpus)
        from codegen_lib.doctest_corpus import FILTER_STEPS, build_doctest_corpus

        report = MalformedRowReport(corpus=name)
        rows, info = build_doctest_corpus(seed=seed, data_dir=data_dir, packages=code_packages)
        report.total = info["counts"]["extracted"]
        for step in FILTER_STEPS:
            report.reasons[step.replace("_", " ")] += info["counts"][step]
        for ev, n in info["counts"]["contaminated"].items():
            report.reasons[f"overlaps {ev}"] += n
        report.notes.update(info)
        dd = _to_dataset_dict_with_tests(rows)
        for split in dd:
            for c in ("output", "package", "version", "license"):
                dd[split] = dd[split].add_column(c, [r[c] for r in rows[split]])
        return (dd, report) if return_report else dd
    if name == "mix":
        from codegen_lib.mix import build_mix

        dd, report = build_mix(data_dir=data_dir, seed=seed)
        return (dd, report) if return_report else dd
    if splits is not None and name != "xlcost":
        raise ValueError("splits= is only for 'xlcost' (e.g. a release copy without training code)")
    report = MalformedRowReport(corpus=name)
    if name in ("tasks", "stdlib"):
        dd = _check_generated(_generated(name, seed, data_dir), name, report)
    elif name == "xlcost":
        if isinstance(data_dir, Mapping):
            raise ValueError("for 'xlcost', data_dir is one folder (the XLCoST release), not a mapping")
        wanted = tuple(splits) if splits is not None else SPLITS
        bad = [s for s in wanted if s not in SPLITS]
        if bad or not wanted:
            raise ValueError(f"splits must be a non-empty subset of {SPLITS}, got {splits!r}")
        rows = _xlcost_rows(data_dir, wanted, repair, report)
        _count_unparseable((r for split in rows.values() for r in split), report)
        dd = _to_dataset_dict(rows)
    elif name == "alpaca":
        if isinstance(data_dir, Mapping):
            raise ValueError("for 'alpaca', data_dir is one file or folder, not a mapping")
        rows = _alpaca_rows(data_dir, seed, alpaca, report)
        _count_unparseable((r for split in rows.values() for r in split), report)
        dd = _to_dataset_dict(rows)
    else:  # merged
        if data_dir is not None and not isinstance(data_dir, Mapping):
            raise ValueError(
                'for "merged", data_dir is a mapping {"xlcost": folder, "alpaca": file}, or None'
            )
        dirs = dict(data_dir or {})
        unknown = set(dirs) - {"xlcost", "alpaca"}
        if unknown:
            raise ValueError(f"merged data_dir keys must be 'xlcost' and/or 'alpaca', got {sorted(unknown)}")
        al = _alpaca_rows(dirs.get("alpaca"), seed, alpaca, report)
        xl = _xlcost_rows(dirs.get("xlcost"), SPLITS, repair, report)
        rows = {
            "train": al["train"] + al["validation"] + al["test"] + xl["train"],
            "validation": xl["validation"],
            "test": xl["test"],
        }
        _count_unparseable((r for split in rows.values() for r in split), report)
        dd = _to_dataset_dict(rows)
    if report.dropped:
        log.warning("load_corpus(%r) dropped malformed rows: %s", name, report.summary())
    return (dd, report) if return_report else dd


# ----------------------------------------------------------------------------------------------------------------
# Statistics for chapter 01
# ----------------------------------------------------------------------------------------------------------------
def split_sizes(dd: Mapping[str, Dataset]) -> dict[str, int]:
    """``{"train": 9263, ...}``: rows per split."""
    return {split: len(ds) for split, ds in dd.items()}


def lengths(ds: Dataset, column: str, tokenizer=None) -> list[int]:
    """Length of ``column`` in each row: characters, or tokens when ``tokenizer`` (anything with
    ``encode(text) -> list[int]``, no specials added) is given."""
    if column not in ds.column_names:
        raise ValueError(f"no column {column!r}; the dataset has {ds.column_names}")
    texts = ds[column]
    if tokenizer is None:
        return [len(t) for t in texts]
    return [len(tokenizer.encode(t)) for t in texts]


def length_summary(dd: Mapping[str, Dataset], tokenizer=None, columns=("prompt", "code")) -> list[dict]:
    """One row per (split, column, unit): count, mean, median, p90, p99 and max length.

    Units are "chars", plus "tokens" when a tokenizer is given. ``pandas.DataFrame(length_summary(dd))``
    gives the table of chapter 01.
    """
    import numpy as np

    table = []
    for split, ds in dd.items():
        for column in columns:
            for unit, tok in (("chars", None), ("tokens", tokenizer)):
                if unit == "tokens" and tokenizer is None:
                    continue
                values = np.asarray(lengths(ds, column, tok), dtype=float)
                if values.size == 0:
                    continue
                table.append(
                    {
                        "split": split,
                        "column": column,
                        "unit": unit,
                        "count": int(values.size),
                        "mean": float(values.mean()),
                        "median": float(np.percentile(values, 50)),
                        "p90": float(np.percentile(values, 90)),
                        "p99": float(np.percentile(values, 99)),
                        "max": int(values.max()),
                    }
                )
    return table


def truncation_counts(
    dd: Mapping[str, Dataset], tokenizer, max_src_len: int, max_tgt_len: int
) -> dict[str, dict]:
    """How many rows of each split would be cut at the model's maximum lengths.

    Counted exactly as ``batching.Seq2SeqCollator`` cuts: the source is ``prompt + [<eos>]`` and the target
    ``[<bos>] + code`` / ``code + [<eos>]``, so one special token shares each budget and a row is cut when
    ``len(prompt_ids) + 1 > max_src_len`` or ``len(code_ids) + 1 > max_tgt_len``.

    Returns:
        ``{split: {"rows", "src_truncated", "tgt_truncated", "any_truncated"}}``.
    """
    if max_src_len < 2 or max_tgt_len < 2:
        raise ValueError(f"need max_src_len >= 2 and max_tgt_len >= 2, got {max_src_len}, {max_tgt_len}")
    out = {}
    for split, ds in dd.items():
        src = [n + 1 > max_src_len for n in lengths(ds, "prompt", tokenizer)]
        tgt = [n + 1 > max_tgt_len for n in lengths(ds, "code", tokenizer)]
        out[split] = {
            "rows": len(ds),
            "src_truncated": sum(src),
            "tgt_truncated": sum(tgt),
            "any_truncated": sum(a or b for a, b in zip(src, tgt)),
        }
    return out


def examples(dd: Mapping[str, Dataset], split: str = "train", n: int = 3, seed: int = 0) -> list[dict]:
    """``n`` rows of ``split`` picked with ``random.Random(seed)`` (the same rows every run)."""
    if split not in dd:
        raise ValueError(f"no split {split!r}; the corpus has {list(dd)}")
    ds = dd[split]
    idx = sorted(random.Random(seed).sample(range(len(ds)), min(n, len(ds))))
    return [ds[i] for i in idx]


def shared_data_dir() -> Path | None:
    """The folder of the release copies (``raw/`` of ``../shared/data``, or ``$CODEGEN_SHARED_DATA/raw``),
    or None when it is not there (on Colab, say). Chapters use it to prefer local copies over the hub."""
    import os

    base = os.environ.get("CODEGEN_SHARED_DATA")
    root = Path(base) if base else Path(__file__).resolve().parents[2] / "shared" / "data"
    raw = root / "raw"
    return raw if raw.is_dir() else None


def real_prompts(names: Sequence[str] = ("mbpp", "conala"), split: str = "validation", n: int = 8) -> list[dict]:
    """The first ``n`` rows of ``split`` of each real corpus in ``names`` (local copies, else the hub), for
    chapters that show the model on real requests; corpora that cannot be loaded are skipped."""
    from codegen_lib.hub import HubError

    raw = shared_data_dir()
    folders = {"mbpp": "mbpp", "conala": "conala", "gfg": "transcoder_gfg", "django": "django"}
    rows: list[dict] = []
    for name in names:
        path = raw / folders[name] if raw is not None else None
        try:
            dd = load_corpus(name, data_dir=path if path is not None and path.is_dir() else None)
        except (HubError, ValueError, FileNotFoundError) as err:
            log.info("real_prompts: %s not available (%s)", name, err)
            continue
        if split in dd:
            rows += [dict(r) for r in dd[split].select(range(min(n, len(dd[split]))))]
    return rows
