"""The book: notebooks are clean sources, every chapter executes in fast mode, and the built HTML works in a
real browser (headless Chromium)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
NOTEBOOKS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_chapter_exists_and_is_in_the_toc():
    numbers = [p.name[:2] for p in NOTEBOOKS]
    assert numbers == [f"{i:02d}" for i in range(11)], numbers
    toc = (REPO / "_toc.yml").read_text()
    for nb in NOTEBOOKS:
        assert f"book/{nb.stem}" in toc, f"{nb.name} missing from _toc.yml"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped(nb):
    """Committed notebooks carry no outputs (results come from code, or from artifacts/results.json)."""
    for cell in _load(nb)["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{nb.name}: a code cell has stored outputs"
            assert cell.get("execution_count") is None, f"{nb.name}: a code cell has an execution count"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_colab_setup(nb):
    cells = _load(nb)["cells"]
    first_code = next(c for c in cells if c["cell_type"] == "code")
    src = "".join(first_code["source"])
    assert "google.colab" in src and "pip" in src, f"{nb.name}: the first code cell must be the Colab set-up"
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).lstrip().startswith("# ")


# ----------------------------------------------------------------------------- the executed, built book
@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the book once, exactly as the README's book command does (fast mode), into a temp folder."""
    if not NOTEBOOKS:
        pytest.skip("no chapters yet")
    out = tmp_path_factory.mktemp("book")
    env = dict(os.environ, CODEGEN_FAST="1", PYTHONHASHSEED="0", JUPYTER_PREFER_ENV_PATH="1")
    jb = shutil.which("jupyter-book") or str(Path(sys.executable).parent / "jupyter-book")
    proc = subprocess.run(
        [jb, "build", str(REPO), "--path-output", str(out), "--all"],
        env=env, capture_output=True, text=True, timeout=1800,
    )
    log = proc.stdout + proc.stderr
    (out / "build.log").write_text(log)
    assert proc.returncode == 0, log[-6000:]
    assert "Executing notebook failed" not in log and "CellExecutionError" not in log, log[-6000:]
    return out / "_build"


def test_built_book_has_every_page(built_book):
    html = built_book / "html"
    assert (html / "index.html").is_file()
    for nb in NOTEBOOKS:
        assert (html / "book" / f"{nb.stem}.html").is_file(), nb.stem


def test_executed_notebooks_have_no_errors(built_book):
    executed = sorted((built_book / "jupyter_execute" / "book").glob("*.ipynb"))
    assert [p.stem for p in executed] == [p.stem for p in NOTEBOOKS]
    for path in executed:
        nb = _load(path)
        n_outputs = 0
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                n_outputs += 1
                assert out["output_type"] != "error", f"{path.name}: {out.get('ename')}: {out.get('evalue')}"
                text = "".join(out.get("text", "")) if isinstance(out.get("text"), (list, str)) else ""
                assert "Traceback (most recent call last)" not in text, f"{path.name} printed a traceback"
        assert n_outputs > 0, f"{path.name} produced no output at all"


# ----------------------------------------------------------------------------- headless Chromium
def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("headless Chromium is not installed (.ci/run installs Debian's chromium)")


def _run_chromium(args, tmp_path):
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    cmd = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_page_renders_in_chromium(built_book, nb, tmp_path):
    """The DOM after JavaScript ran: the chapter loaded, holds its figures as images, and no traceback."""
    page = built_book / "html" / "book" / f"{nb.stem}.html"
    proc = _run_chromium(["--virtual-time-budget=5000", "--dump-dom", page.as_uri()], tmp_path)
    dom = proc.stdout
    assert proc.returncode == 0 and "<article" in dom, proc.stderr[-2000:]
    assert "Traceback (most recent call last)" not in dom
    assert "output traceback" not in dom and "output error" not in dom
    title = _load(nb)["cells"][0]["source"][0].lstrip("# ").strip()
    assert title.split()[0] in dom, f"{nb.stem}: title {title!r} not in the rendered page"
    # Figures (matplotlib/seaborn) are embedded as images in every chapter that draws one.
    if _draws_figures(nb):
        assert "<img" in dom and ("data:image/png" in dom or ".png" in dom), f"{nb.stem}: no figure image"


def _draws_figures(nb):
    src = "".join("".join(c["source"]) for c in _load(nb)["cells"] if c["cell_type"] == "code")
    return any(k in src for k in ("plt.", "sns.", "heatmap", "plot_"))


def _distinct_colours(png_path):
    """How many distinct RGB colours a screenshot holds (a blank page has one or two)."""
    import matplotlib.image as mpimg
    import numpy as np

    pixels = (mpimg.imread(png_path)[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    return len(np.unique(pixels, axis=0))


def test_attention_chapter_screenshot_is_not_blank(built_book, tmp_path):
    page = built_book / "html" / "book" / "04_attention.html"
    if not page.exists():
        pytest.skip("attention chapter not built")
    shot = tmp_path / "attention.png"
    proc = _run_chromium(
        ["--virtual-time-budget=5000", "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri()], tmp_path
    )
    assert shot.is_file(), proc.stderr[-2000:]
    assert _distinct_colours(shot) > 50, "the attention chapter screenshot is blank"
