"""Chapter 01 built from what `codegen data fetch` downloads (issue 18): the fetch command runs against the
local fake hub and GitHub (tests/fake_sources.py, copies of ../shared made at test time), then chapter 01
executes with `CODEGEN_SHARED_DATA` pointing at the fetched folder, as the Pages runner does. Each real
corpus's row count must be on the page, and no real corpus may be skipped."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED_DATA, require_shared

REPO = Path(__file__).resolve().parents[1]
REAL = ("xlcost", "mbpp", "conala", "gfg", "django")


@pytest.mark.book
@pytest.mark.slow
def test_chapter_01_runs_on_the_fetched_corpora(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    raw = require_shared(SHARED_DATA / "raw", "../shared/data/raw (the fake sources serve copies of it)")
    from fake_sources import FakeServer, serve_shared

    served = tmp_path / "served"
    served.mkdir()
    serve_shared(served, raw)
    server = FakeServer(served)
    fetched = tmp_path / "shared" / "data" / "raw"
    env = {**os.environ, "CODEGEN_HUB_URL": server.hub, "CODEGEN_GITHUB_RAW_URL": server.github}
    try:
        proc = subprocess.run([sys.executable, "-m", "codegen_lib", "data", "fetch", "--data-dir", str(fetched)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not any("conala-test" in r or "/test" in r and "conala" in r for r in server.requests)

    out = tmp_path / "01_data.ipynb"
    env = {**os.environ, "CODEGEN_FAST": "1", "CODEGEN_SHARED_DATA": str(fetched.parent),
           "JUPYTER_PREFER_ENV_PATH": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                           str(REPO / "book" / "01_data.ipynb"), "--output", str(out)],
                          cwd=REPO / "book", env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    text = "\n".join(
        o.get("text", "") or "\n".join(str(v) for v in o.get("data", {}).values())
        for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "release files are not at" not in text
    for name in REAL:
        assert not re.search(rf"{name}[^\n]*(no local copy|skipped)", text), f"{name} was skipped"
    # each real corpus's row count, as load_corpus gives it from the fetched copy
    from codegen_lib.data import load_corpus

    folders = {"xlcost": "xlcost", "mbpp": "mbpp", "conala": "conala", "gfg": "transcoder_gfg", "django": "django"}
    for name, folder in folders.items():
        kw = {"splits": ("validation", "test")} if name == "xlcost" else {}
        dd = load_corpus(name, data_dir=fetched / folder, **kw)
        total = sum(len(ds) for ds in dd.values())
        counts = {f"{len(ds):,}" for ds in dd.values()} | {f"{total:,}", str(total)}
        assert any(c in text for c in counts), f"no row count of {name} ({counts}) on the page"
