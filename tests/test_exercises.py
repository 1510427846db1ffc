"""Every chapter's exercises have folded solutions, and the solutions run.

A solution is a ```python block inside a ``{admonition} Solution`` dropdown of the chapter's exercises cell
(or a code cell tagged ``solution``). The execution test runs each chapter once, in fast mode, with its
solution blocks appended as cells after the chapter's own cells, so a solution can use what the chapter
built (the state a reader has when they reach the exercises). A block whose first line is
``# needs: hub`` (or ``# needs: <package>``) is skipped where the hub is unreachable or the package missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb"))
CHAPTERS_WITH_EXERCISES = [p for p in NOTEBOOKS if not p.name.startswith("00_")]
SOLUTION = re.compile(r"`{3,}\{admonition\} Solution\n\s*:class: dropdown\n(.*?)\n\s*`{4}", re.S)
PYTHON = re.compile(r"^( *)```python\n(.*?)^\1```", re.S | re.M)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def exercises_text(path: Path) -> str:
    cells = [c for c in _cells(path) if c["cell_type"] == "markdown"
             and "".join(c["source"]).lstrip().startswith("## Exercises")]
    assert len(cells) == 1, f"{path.name}: {len(cells)} exercises cells"
    return "".join(cells[0]["source"])


def split_exercises(text: str) -> list[str]:
    """The exercises' texts, one per numbered item ("1. **...**")."""
    starts = [m.start() for m in re.finditer(r"^\d+\. \*\*", text, flags=re.M)]
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


def solution_blocks(path: Path) -> list[str]:
    """The Python code of every solution: fenced blocks in Solution dropdowns, then solution cells."""
    blocks = []
    for body in SOLUTION.findall(exercises_text(path)):
        for indent, code in PYTHON.findall(body):
            blocks.append("\n".join(line[len(indent):] for line in code.splitlines()))
    blocks += ["".join(c["source"]) for c in _cells(path)
               if c["cell_type"] == "code" and "solution" in c.get("metadata", {}).get("tags", [])]
    return blocks


def _needs_missing(block: str) -> str | None:
    first = block.lstrip().splitlines()[0] if block.strip() else ""
    m = re.match(r"#\s*needs:\s*(\S+)", first)
    if not m:
        return None
    need = m.group(1)
    if need == "hub":
        return "the Hugging Face hub" if os.environ.get("HF_HUB_OFFLINE", "1") != "0" else None
    return need if importlib.util.find_spec(need) is None else None


@pytest.mark.parametrize("path", CHAPTERS_WITH_EXERCISES, ids=lambda p: p.stem)
def test_every_exercise_has_a_folded_solution(path):
    items = split_exercises(exercises_text(path))
    assert 3 <= len(items) <= 7, f"{path.name}: {len(items)} exercises"
    for i, item in enumerate(items, 1):
        assert "*Hint:*" in item, f"{path.name}: exercise {i} has no hint"
        assert SOLUTION.search(item), f"{path.name}: exercise {i} has no solution in a collapsed dropdown"


def test_solution_blocks_are_found():
    """The extraction the execution test relies on: indented fences inside a dropdown, nothing else."""
    text = ("## Exercises\n\n1. **A.** Do it.\n\n   *Hint:* h.\n\n   ````{admonition} Solution\n"
            "   :class: dropdown\n\n   ```python\n   x = 1\n   if x:\n       print(x)\n   ```\n   ````\n\n"
            "2. **B.** No code.\n\n   *Hint:* h.\n\n   ````{admonition} Solution\n   :class: dropdown\n\n"
            "   Just words.\n   ````\n")
    bodies = SOLUTION.findall(text)
    assert len(bodies) == 2
    found = [code for body in bodies for _, code in PYTHON.findall(body)]
    assert len(found) == 1 and "print(x)" in found[0]
    assert len(split_exercises(text)) == 2


@pytest.mark.book
@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS_WITH_EXERCISES, ids=lambda p: p.stem)
def test_solutions_run_after_the_chapter(path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    blocks = solution_blocks(path)
    runnable = [b for b in blocks if _needs_missing(b) is None]
    if not runnable:
        pytest.skip(f"{path.name}: no runnable solution code (all prose, or needs the hub)")
    nb = nbformat.read(path, as_version=4)
    for block in runnable:
        nb.cells.append(nbformat.v4.new_code_cell(block))
    env_before = dict(os.environ)
    os.environ.update(CODEGEN_FAST="1", PYTHONHASHSEED="0", MPLBACKEND="Agg")
    try:
        client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                         resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    for cell in nb.cells[-len(runnable):]:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{path.name}: a solution failed:\n{cell.source}\n{errors}"
