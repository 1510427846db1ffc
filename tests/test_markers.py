"""The pytest markers mean something: each declared one is used, and scripts/test.sh --fast leaves out
exactly the tests marked slow, book and browser while the plain command (CI) runs everything."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]


def _declared() -> set[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert "--strict-markers" in config["addopts"]  # a mistyped marker is an error, not a new marker
    return {m.split(":")[0].strip() for m in config["markers"]}


def _used() -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in sorted(REPO.glob("tests/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "mark" and isinstance(node.value.value, ast.Name)
                    and node.value.value.id == "pytest"):
                counts[node.attr] = counts.get(node.attr, 0) + 1
    return counts


def test_every_declared_marker_is_applied():
    used = _used()
    declared = _declared()
    assert {"slow", "book", "browser"} <= declared
    assert all(used.get(m, 0) > 0 for m in declared), {m: used.get(m, 0) for m in declared}


def test_fast_option_leaves_out_slow_book_and_browser():
    script = (REPO / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert re.search(r'FAST=\(-m "not slow and not book and not browser"\)', script)
    done = subprocess.run(["bash", "-n", str(REPO / "scripts" / "test.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # without --fast nothing is filtered: CI's plain `scripts/test.sh` runs every test
    assert 'python -m pytest "${FAST[@]}" "$@"' in script and "FAST=()" in script


def test_the_fast_selection_drops_the_book_build_and_keeps_the_static_checks():
    import sys

    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "-m", "not slow and not book and not browser", "tests/test_book.py",
                           "tests/test_viz_html.py"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_notebook_is_stripped" in done.stdout and "test_view_html_is_self_contained" in done.stdout
    for dropped in ("test_built_book_has_every_page", "test_page_renders_in_chromium",
                    "test_view_redraws_in_headless_chromium"):
        assert dropped not in done.stdout
    assert re.search(r"\d+ deselected", done.stdout), done.stdout[-500:]
