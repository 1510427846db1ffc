"""Tests for the Colab set-up cell (codegen_lib.colab): one repository URL, generated cells, no-op off Colab."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from codegen_lib import colab
from codegen_lib.pretrained import SHIPPED_MODEL

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "book").glob("*.ipynb"))


def first_code_cell(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])


def test_repository_comes_from_config_yml():
    repo = colab.repository()
    assert repo["url"].startswith("https://") and repo["branch"]
    source = colab.setup_cell_source()
    assert f'REPO = "{repo["url"]}"' in source and f'BRANCH = "{repo["branch"]}"' in source
    assert max(map(len, source.splitlines())) <= 88  # the book's code cells keep to 88 columns


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_chapter_opens_with_the_generated_cell(path):
    assert first_code_cell(path) == colab.setup_cell_source(), (
        f"{path.name}: the Colab set-up cell differs from _config.yml's repository; run `python -m codegen_lib.colab`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_setup_cell_is_collapsed_on_the_page(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "hide-input" in cell.get("metadata", {}).get("tags", []), (
        f"{path.name}: the Colab set-up cell is not tagged hide-input; run `python -m codegen_lib.colab`")


def test_check_notices_a_missing_tag(tmp_path):
    shutil.copy(NOTEBOOKS[0], tmp_path / NOTEBOOKS[0].name)
    nb_path = tmp_path / NOTEBOOKS[0].name
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    next(c for c in nb["cells"] if c["cell_type"] == "code")["metadata"]["tags"] = []
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert colab.sync_notebooks(tmp_path, check=True) == [nb_path]
    assert colab.sync_notebooks(tmp_path) == [nb_path]
    assert colab.sync_notebooks(tmp_path, check=True) == []
    tags = next(c for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code")
    assert tags["metadata"]["tags"] == ["hide-input"]


def test_the_check_command_agrees():
    done = subprocess.run([sys.executable, "-m", "codegen_lib.colab", "--check"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_fork_changes_the_url_once(tmp_path):
    """Edit repository.url in a copy of _config.yml, sync a copy of the book: every cell follows it."""
    config = tmp_path / "_config.yml"
    text = (REPO / "_config.yml").read_text(encoding="utf-8")
    url = colab.repository()["url"]
    config.write_text(text.replace(url, "https://github.com/someone/my-fork"), encoding="utf-8")
    book = tmp_path / "book"
    book.mkdir()
    for path in NOTEBOOKS[:3]:
        shutil.copy(path, book / path.name)
    assert colab.main(["--check", "--book", str(book), "--config", str(config)]) == 1
    assert len(colab.sync_notebooks(book, config=config)) == 3
    assert colab.sync_notebooks(book, config=config, check=True) == []
    for path in sorted(book.glob("*.ipynb")):
        cell = first_code_cell(path)
        assert '"https://github.com/someone/my-fork"' in cell and '/ "my-fork"' in cell and url not in cell
        # only that cell changed: every other cell is byte-for-byte the original's
        new, old = (json.loads(p.read_text(encoding="utf-8"))["cells"] for p in (path, REPO / "book" / path.name))
        assert len(new) == len(old) and sum(a != b for a, b in zip(new, old)) == 1


def test_a_notebook_without_a_setup_cell_is_refused(tmp_path):
    (tmp_path / "x.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["print(1)"]}]}))
    with pytest.raises(ValueError, match="Colab set-up"):
        colab.sync_notebooks(tmp_path, check=True)


def test_outside_colab_the_cell_does_nothing(monkeypatch):
    assert "google.colab" not in sys.modules

    def no_process(*args, **kwargs):
        raise AssertionError(f"the set-up cell started a process outside Colab: {args}")

    monkeypatch.setattr(subprocess, "run", no_process)
    path_before = list(sys.path)
    namespace: dict = {}
    exec(first_code_cell(NOTEBOOKS[0]), namespace)
    assert "REPO" not in namespace and sys.path == path_before


def test_on_colab_the_cell_clones_the_repository_with_its_shipped_model(tmp_path, monkeypatch):
    """Simulated Colab: a fake google.colab module, a local repository standing in for GitHub. The clone is
    real (git, offline); pip is recorded, not run (it would change this environment)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    origin = tmp_path / "origin" / "codegen-book"
    (origin / "artifacts" / SHIPPED_MODEL).mkdir(parents=True)
    (origin / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (origin / "artifacts" / SHIPPED_MODEL / "config.json").write_text("{}")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run([*git, *cmd], cwd=origin, check=True, capture_output=True)
    subprocess.run(["git", "branch", "-M", "main"], cwd=origin, check=True)

    real_run, pip_calls = subprocess.run, []

    def run(cmd, *args, **kwargs):
        if cmd[:3] == [sys.executable, "-m", "pip"]:
            pip_calls.append(cmd)
            return subprocess.CompletedProcess(cmd, 0)
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    source = colab.setup_cell_source(origin.as_uri(), "main", parent=str(tmp_path / "content"))
    clone = tmp_path / "content" / "codegen-book"
    for _ in range(2):  # a second run (a re-run cell, the next chapter) reuses the clone
        exec(source, {})
        assert (clone / "artifacts" / SHIPPED_MODEL / "config.json").is_file()
        assert sys.path[0] == str(clone)
    assert pip_calls == [[sys.executable, "-m", "pip", "install", "-q", "-e", f"{clone}[eval,book]"]] * 2
    assert (REPO / "artifacts" / SHIPPED_MODEL / "config.json").is_file()  # what the real clone brings along
