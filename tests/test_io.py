"""codegen_lib.io: atomic writes, the one cache directory, the JSON cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from codegen_lib import io


def test_atomic_write_replaces_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a" / "r.json"
    io.atomic_write_json(path, {"x": 1})
    assert json.loads(path.read_text()) == {"x": 1} and path.read_text().endswith("\n")
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    io.atomic_write_text(path, "new")
    assert path.read_text() == "new" and [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "r.txt"
    path.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        io.atomic_write_text(path, "new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.txt"]


def test_default_cache_dir_expands_the_home(monkeypatch):
    monkeypatch.setenv("CODEGEN_CACHE_DIR", "~/somewhere")
    assert io.default_cache_dir("x") == Path.home() / "somewhere" / "x"
    monkeypatch.delenv("CODEGEN_CACHE_DIR")
    assert io.default_cache_dir() == Path.home() / ".cache" / "codegen_lib"


def test_every_cache_goes_through_the_one_function(monkeypatch, tmp_path):
    """pretrained, the stdlib corpus and the code corpus all read $CODEGEN_CACHE_DIR the same way."""
    from codegen_lib import pretrained

    monkeypatch.setenv("CODEGEN_CACHE_DIR", str(tmp_path))
    assert pretrained.default_cache_dir() == tmp_path
    sources = [p.read_text() for p in (Path(io.__file__).parent).rglob("*.py") if p.name != "io.py"]
    assert not any("CODEGEN_CACHE_DIR\"" in s and "os.environ" in s for s in sources)


def test_cached_json_builds_once_and_survives_a_broken_file(tmp_path, caplog):
    path = tmp_path / "c.json"
    calls = []

    def build():
        calls.append(1)
        return {"rows": [1, 2]}

    assert io.cached_json(path, build, keys=("rows",)) == ({"rows": [1, 2]}, False)
    assert io.cached_json(path, build, keys=("rows",)) == ({"rows": [1, 2]}, True) and len(calls) == 1
    path.write_text("{not json")
    assert io.cached_json(path, build, keys=("rows",), what="test cache") == ({"rows": [1, 2]}, False)
    assert "ignoring unreadable test cache" in caplog.text and len(calls) == 2
    assert io.cached_json(tmp_path / "off.json", build, enabled=False)[1] is False
    assert not (tmp_path / "off.json").exists()
