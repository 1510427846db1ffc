"""Django: 18,805 pseudo-code lines aligned with the Django statements they describe (chapter 01).

    load_corpus("django", data_dir="../shared/data/raw/django")  # all.anno / all.code (Oda et al. 2015)

There is no hub copy: clone github.com/odashi/ase15-django-dataset and pass its folder. The prompt is
the pseudo-code line as written.
"""

from __future__ import annotations

from pathlib import Path

from codegen_lib.corpora.rows import (
    MalformedRowReport,
    check_row,
    count_unparseable,
    local_path,
    row,
    to_dataset_dict_with_tests,
)

__all__ = ["NAME", "SPLITS", "OPTIONS", "DJANGO_SPLIT", "django_rows", "load"]

NAME = "django"
SPLITS = ("train", "validation", "test")
OPTIONS: tuple[str, ...] = ()
DJANGO_SPLIT = (16000, 1000, 1805)  # train / validation / test by line order (Ling et al. 2016)


def django_rows(data_dir: Path, report: MalformedRowReport) -> dict[str, list[dict]]:
    """The 18,805 line-aligned pseudo-code -> statement pairs, split 16,000 / 1,000 / 1,805 by line order.

    The code lines are space-tokenized as released (``self . x = 1``, still valid Python) and are kept
    so, since exact-match accuracy on Django is measured on these tokens; leading whitespace goes (each
    line is one statement out of its block).
    """
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
        if check_row(report, row_id, a.strip(), c.strip() + "\n" if c.strip() else ""):
            out[split].append(row(a.strip(), c.strip() + "\n", "django", row_id))
    return out


def load(data_dir=None, *, seed: int = 0, report: MalformedRowReport):
    """Django as a DatasetDict (``seed`` is unused: the split is by line order)."""
    if data_dir is None:
        raise ValueError("the 'django' corpus has no hub copy: clone "
                         "github.com/odashi/ase15-django-dataset and pass data_dir=<that folder>")
    rows = django_rows(local_path(data_dir, NAME), report)
    count_unparseable(rows, report)
    return to_dataset_dict_with_tests(rows)
