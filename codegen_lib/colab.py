"""The Colab set-up cell that opens every chapter, generated from ``repository`` in ``_config.yml``.

On Google Colab a chapter starts in an empty machine: the cell clones the book's repository (so chapters
08-10 load the same shipped model from its ``artifacts/`` as the web pages show) and installs ``codegen_lib``
from the clone with the book's extras, keeping Colab's own torch. Anywhere else it does nothing.

The repository's address is written once, as ``repository.url`` (and ``repository.branch``) in
``_config.yml``, which also drives the book's Colab and repository buttons. The cell cannot read that file on
Colab (it is in the repository it is about to clone), so the cells are *generated* from it::

    python -m codegen_lib.colab            # rewrite the set-up cell of every chapter from _config.yml
    python -m codegen_lib.colab --check    # exit 1 if a chapter's cell differs (tests/test_colab.py does this)

A fork changes ``repository.url`` in ``_config.yml`` and runs the first command. Only the first code cell of
each notebook is touched; the file is loaded and written back in one step. The cell carries the ``hide-input``
tag (as dmol-book's set-up cells do), so the built pages show it collapsed behind a "Show code" toggle.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["repository", "setup_cell_source", "sync_notebooks", "ROOT", "EXTRAS", "TAGS"]

ROOT = Path(__file__).resolve().parent.parent  # the repository (where _config.yml and book/ live)
EXTRAS = "eval,book"  # what Colab installs: the book's and the evaluation's dependencies, not dev tools
MARKER = "# Colab set-up"  # the first line of the cell; how it is recognised
TAGS = ("hide-input",)  # the cell's tags: collapsed on the built pages

_TEMPLATE = '''\
# Colab set-up: on Google Colab this clones the book's repository (its artifacts/
# hold the shipped model that chapters 08-10 load) and installs codegen_lib from
# the clone, keeping Colab's torch. Anywhere else it does nothing: run
# `bash scripts/setup.sh` once instead. Generated from repository.url in
# _config.yml by `python -m codegen_lib.colab`; a fork edits the URL there.
import sys

if "google.colab" in sys.modules:
    import importlib
    import pathlib
    import subprocess

    REPO = {url}
    BRANCH = {branch}
    CLONE = pathlib.Path({parent}) / {name}
    if not (CLONE / "pyproject.toml").is_file():
        clone = ["git", "clone", "--depth", "1", "--branch", BRANCH, REPO, str(CLONE)]
        subprocess.run(clone, check=True)
    pip = [sys.executable, "-m", "pip", "install", "-q", "-e", f"{{CLONE}}[{extras}]"]
    subprocess.run(pip, check=True)
    # this kernel started before the install: import codegen_lib from the clone
    sys.path.insert(0, str(CLONE))
    importlib.invalidate_caches()'''


def repository(config: str | Path | None = None) -> dict[str, str]:
    """``{"url", "branch"}`` from the ``repository`` section of ``_config.yml`` (default: this checkout's)."""
    import yaml

    path = Path(config) if config is not None else ROOT / "_config.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    repo = data.get("repository") or {}
    url = str(repo.get("url") or "").strip()
    if not url:
        raise ValueError(f"{path} has no repository.url: the Colab set-up cell needs the repository to clone")
    return {"url": url.rstrip("/"), "branch": str(repo.get("branch") or "main")}


def setup_cell_source(url: str | None = None, branch: str | None = None, *, parent: str = "/content") -> str:
    """The set-up cell's code for ``url``/``branch`` (default: ``repository()``); ``parent`` is where the
    clone goes (Colab's working directory)."""
    if url is None or branch is None:
        repo = repository()
        url, branch = url or repo["url"], branch or repo["branch"]
    name = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "repository"
    quote = json.dumps  # a double-quoted Python string literal (for these plain ASCII values)
    return _TEMPLATE.format(url=quote(url), branch=quote(branch), parent=quote(parent), name=quote(name),
                            extras=EXTRAS)


def _first_code_cell(nb: dict) -> dict | None:
    return next((cell for cell in nb.get("cells", []) if cell.get("cell_type") == "code"), None)


def sync_notebooks(book_dir: str | Path | None = None, *, config: str | Path | None = None,
                   check: bool = False) -> list[Path]:
    """Make the first code cell of every ``book/*.ipynb`` the set-up cell for ``_config.yml``'s repository.

    Returns the notebooks whose cell was (``check=False``) or would be (``check=True``) changed. A notebook
    whose first code cell is not a set-up cell (does not start with ``# Colab set-up``) raises ValueError.
    """
    repo = repository(config)
    source = setup_cell_source(repo["url"], repo["branch"])
    changed = []
    for path in sorted(Path(book_dir if book_dir is not None else ROOT / "book").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        cell = _first_code_cell(nb)
        if cell is None or not "".join(cell.get("source", [])).startswith(MARKER):
            raise ValueError(f"{path}: the first code cell is not the Colab set-up cell ({MARKER!r} ...)")
        tags = cell.get("metadata", {}).get("tags", [])
        if "".join(cell["source"]) == source and all(t in tags for t in TAGS):
            continue
        changed.append(path)
        if not check:
            cell["source"] = source.splitlines(keepends=True)
            cell["outputs"], cell["execution_count"] = [], None
            cell.setdefault("metadata", {})["tags"] = [*tags, *(t for t in TAGS if t not in tags)]
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen_lib.colab",
                                     description="Write the Colab set-up cell of every chapter from _config.yml.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a cell is out of date")
    parser.add_argument("--book", default=None, help="folder of the notebooks (default: book/)")
    parser.add_argument("--config", default=None, help="the Jupyter Book config (default: _config.yml)")
    args = parser.parse_args(argv)
    changed = sync_notebooks(args.book, config=args.config, check=args.check)
    for path in changed:
        print(f"{'out of date' if args.check else 'updated'}: {path}")
    if args.check and changed:
        print("run `python -m codegen_lib.colab` to regenerate them from _config.yml", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
