"""CoNaLa: Stack Overflow intents and the snippets that answer them (chapter 01).

    load_corpus("conala", data_dir="../shared/data/raw/conala")  # local copy (conala-train.json)
    load_corpus("conala")                                        # the hub (Colab)

Only the curated train set (2,379 rows) is read; it is split into train / validation by a hash of the
question id. The 500-row test split is held out for an independent evaluation. The prompt is
``rewritten_intent`` when present, else ``intent`` (79 rows have no rewrite).
"""

from __future__ import annotations

import json
from pathlib import Path

from codegen_lib.corpora.rows import (
    MalformedRowReport,
    check_row,
    count_unparseable,
    local_path,
    records_from_hub,
    row,
    stable_fraction,
    standardize_code,
    to_dataset_dict_with_tests,
)

__all__ = ["NAME", "SPLITS", "OPTIONS", "CONALA_HUB", "conala_rows", "read_conala", "load"]

NAME = "conala"
SPLITS = ("train", "validation")
OPTIONS: tuple[str, ...] = ()
# CoNaLa (huggingface.co/datasets/neulab/conala, config "curated"): question_id (int), intent,
# rewritten_intent (nullable), snippet. The repository is a script dataset; its data is read from the
# hub's parquet conversion (branch refs/convert/parquet). Only train is read.
CONALA_HUB = {
    "repo": "neulab/conala",
    "revision": "refs/convert/parquet",
    "files": {"train": "curated/train/0000.parquet"},
}


def conala_rows(records: list[dict], report: MalformedRowReport, val_fraction: float = 0.1,
                seed: int = 0) -> dict[str, list[dict]]:
    """CoNaLa curated train, split into train / validation by a hash of ``question_id``.

    Rows of one Stack Overflow question stay in one split (they often share the snippet), so validation
    measures unseen questions. With the default 10% this gives about 2,140 / 240 rows.
    """
    out: dict[str, list[dict]] = {"train": [], "validation": []}
    for i, rec in enumerate(records):
        qid = rec.get("question_id")
        row_id = f"conala-{qid}-{i:04d}"
        rewritten, intent = rec.get("rewritten_intent"), rec.get("intent")
        prompt = rewritten if isinstance(rewritten, str) and rewritten.strip() else intent
        snippet = rec.get("snippet")
        code = standardize_code(snippet) if isinstance(snippet, str) else None
        if not check_row(report, row_id, prompt.strip() if isinstance(prompt, str) else None, code):
            continue
        split = "validation" if stable_fraction(f"conala:{seed}:{qid}") < val_fraction else "train"
        out[split].append(row(prompt.strip(), code, "conala", row_id))
    return out


def read_conala(data_dir: Path) -> list[dict]:
    """The records of ``conala-train.json`` (``data_dir`` is that file or its folder)."""
    path = data_dir / "conala-train.json" if data_dir.is_dir() else data_dir
    if not path.is_file():
        raise FileNotFoundError(f"CoNaLa not found: expected {path} (conala-train.json of CoNaLa v1.1)")
    if "test" in path.name:
        raise ValueError(f"{path}: the CoNaLa test split is held out for an independent evaluation")
    return json.loads(path.read_text(encoding="utf-8"))


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport):
    """CoNaLa as a DatasetDict; ``seed`` picks the validation questions."""
    if data_dir is None:
        from codegen_lib.hub import load_hub_files

        hub = load_hub_files("the CoNaLa dataset",
                             'load_corpus("conala", data_dir=<folder with conala-train.json>)',
                             CONALA_HUB["repo"], CONALA_HUB["revision"], "parquet", CONALA_HUB["files"])
        rows = conala_rows(records_from_hub(hub), report, seed=seed)
    else:
        rows = conala_rows(read_conala(local_path(data_dir, NAME)), report, seed=seed)
    count_unparseable(rows, report)
    return to_dataset_dict_with_tests(rows)
