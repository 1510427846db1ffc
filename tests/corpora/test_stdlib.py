"""Tests for codegen_lib.corpora.stdlib: the docstring -> function corpus from the standard library."""

import ast
import json
import logging
import time
from collections import Counter

import pytest

from codegen_lib.corpora import stdlib as sc


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("stdlib_cache")


@pytest.fixture(scope="module")
def built(cache_dir):
    t0 = time.perf_counter()
    corpus, stats = sc.build_stdlib_corpus(seed=0, cache_dir=cache_dir, return_stats=True)
    return corpus, stats, time.perf_counter() - t0


@pytest.fixture(scope="module")
def rows(built):
    corpus = built[0]
    return [(split, row) for split in corpus for row in corpus[split]]


def test_sizes_and_columns(built):
    corpus, stats, _ = built
    assert set(corpus) == {"train", "validation", "test"}
    sizes = {split: len(ds) for split, ds in corpus.items()}
    total = sum(sizes.values())
    assert 3000 <= total <= 5000, sizes  # ~3.9k on CPython 3.11 with the default filters
    assert sizes["train"] >= 0.7 * total and sizes["validation"] >= 100 and sizes["test"] >= 100, sizes
    for ds in corpus.values():
        assert ds.column_names == ["prompt", "code", "source", "id", "module"]
        assert set(ds["source"]) == {"stdlib"}
    assert stats["extracted"] >= total and stats["functions_seen"] > stats["extracted"]
    # every drop is accounted for by a named filter
    dropped = sum(stats[k] for k in ("no_docstring", "bad_prompt", "docstring_inline", "docstring_only",
                                     "too_short", "too_long", "unparsable_after_cut", "duplicate_code",
                                     "duplicate_id"))  # fmt: skip
    assert stats["functions_seen"] == stats["extracted"] + dropped
    assert stats["extracted"] - stats["over_module_cap"] - stats["over_max_pairs"] == total


def test_no_module_in_two_splits(built):
    corpus = built[0]
    modules = {split: set(ds["module"]) for split, ds in corpus.items()}
    assert not modules["train"] & modules["validation"]
    assert not modules["train"] & modules["test"]
    assert not modules["validation"] & modules["test"]
    for split, mods in modules.items():
        assert all(sc.module_split(m, seed=0) == split for m in mods)


def test_skipped_directories_are_absent(rows):
    for _, row in rows:
        parts = row["module"].split(".")
        assert not set(parts) & sc.SKIP_DIRS, row["module"]
        assert parts[0] not in ("idlelib", "test", "turtledemo", "encodings")


def test_rows_are_real_code_without_docstrings(rows):
    ids = [row["id"] for _, row in rows]
    assert len(ids) == len(set(ids))
    assert len({row["code"] for _, row in rows}) == len(rows)
    for _, row in rows:
        assert row["prompt"].strip() and "\n" not in row["prompt"], row["id"]
        assert 3 <= row["code"].count("\n") + 1 <= 30, row["id"]
        assert row["code"] == row["code"].rstrip() and not row["code"][0].isspace(), row["id"]
        tree = ast.parse(row["code"])  # dedented: parses on its own
        node = tree.body[0]
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef), row["id"]
        assert ast.get_docstring(node) is None, row["id"]
        module, qualname = row["id"].split(":")
        assert module == row["module"] and qualname.split(".")[-1] == node.name


@pytest.mark.slow  # ~3 s: one uncached extraction
def test_deterministic_and_cached(built, cache_dir):
    corpus, _, _ = built
    fresh = sc.build_stdlib_corpus(seed=0, cache=False)
    for split in corpus:
        assert fresh[split].to_dict() == corpus[split].to_dict()
    t0 = time.perf_counter()
    cached = sc.build_stdlib_corpus(seed=0, cache_dir=cache_dir)
    assert time.perf_counter() - t0 < 1.0  # read back from JSON, not rebuilt
    assert cached["test"].to_dict() == corpus["test"].to_dict()
    assert len(list(cache_dir.glob("*.json"))) == 1
    other = sc.build_stdlib_corpus(seed=1, cache_dir=cache_dir)  # same extraction, new split
    assert set(other["test"]["module"]) != set(corpus["test"]["module"])  # the seed re-draws the split
    assert sum(map(len, other.values())) == sum(map(len, corpus.values()))
    assert len(list(cache_dir.glob("*.json"))) == 1  # the cache holds the seed-independent extraction


def test_corrupt_cache_is_rebuilt(tmp_path, caplog):
    root = _fake_stdlib(tmp_path / "lib")
    first = sc.build_stdlib_corpus(root=root, cache_dir=tmp_path / "cache", val_fraction=0, test_fraction=0)
    (cache_file,) = (tmp_path / "cache").glob("*.json")
    cache_file.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="codegen_lib.corpora.stdlib"):
        again = sc.build_stdlib_corpus(
            root=root, cache_dir=tmp_path / "cache", val_fraction=0, test_fraction=0
        )
    assert "unreadable stdlib corpus cache" in caplog.text
    assert again["train"].to_dict() == first["train"].to_dict()
    assert json.loads(cache_file.read_text())["rows"]  # rewritten


def _fake_stdlib(root):
    """A tiny library tree with one of each case the extractor must handle."""
    (root / "pkg").mkdir(parents=True)
    (root / "test").mkdir()
    (root / "good.py").write_text(
        'import functools\n\n\ndef add(a, b):\n    """Add two numbers.\n\n    More detail here.\n    """\n\n'
        "    total = a + b\n    return total\n\n\n"
        'def inline(x): "Docstring on the def line."; return x\n\n\n'
        'def only_doc():\n    """Nothing but a docstring here."""\n\n\n'
        "def undocumented(x):\n    y = x\n    return y\n\n\n"
        "class Box:\n"
        '    @functools.cache\n    def text(self):\n        """Return the text block of the box."""\n'
        "        s = '''\nflush left\n'''\n        return s\n"
    )
    (root / "pkg" / "__init__.py").write_text(
        'def hello(n):\n    """Say hello n times."""\n    x = n\n    return x * "hi"\n'
    )
    (root / "broken.py").write_text("def f(:\n    pass\n")
    (root / "latin.py").write_bytes(b"# -*- coding: utf-8 -*-\nx = '\xff\xfe'\n")
    (root / "badcookie.py").write_bytes(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    (root / "test" / "test_x.py").write_text('def t():\n    """A test."""\n    a = 1\n    return a\n')
    return root


def test_cache_is_keyed_by_the_line_limits(tmp_path):
    root = _fake_stdlib(tmp_path / "lib")
    wide = sc.build_stdlib_corpus(root=root, cache_dir=tmp_path / "cache", val_fraction=0, test_fraction=0)
    narrow = sc.build_stdlib_corpus(
        root=root, cache_dir=tmp_path / "cache", val_fraction=0, test_fraction=0, max_lines=3
    )
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2
    assert set(narrow["train"]["id"]) == {"good:add", "pkg:hello"} < set(wide["train"]["id"])


def test_extractor_on_a_fake_tree(tmp_path):
    rows, stats = sc.extract_functions(_fake_stdlib(tmp_path))
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {"good:add", "good:Box.text", "pkg:hello"}
    assert by_id["good:add"]["prompt"] == "Add two numbers."
    assert by_id["good:add"]["code"] == "def add(a, b):\n    total = a + b\n    return total"
    # a method: decorator kept, dedented by its own indentation, the flush-left string left intact
    assert (
        by_id["good:Box.text"]["code"]
        == "@functools.cache\ndef text(self):\n    s = '''\nflush left\n'''\n    return s"
    )
    assert stats.files_seen == 5  # test/ is never entered
    assert stats.files_unparsable == 1 and stats.files_undecodable == 2
    assert len(stats.failed_files) == 3 and any("broken.py" in f for f in stats.failed_files)
    assert stats.docstring_inline == 1 and stats.docstring_only == 1 and stats.no_docstring == 1


def test_split_by_module_hash_is_stable():
    assert sc.module_split("json.decoder") == sc.module_split("json.decoder")
    counts = Counter(sc.module_split(f"mod{i}") for i in range(2000))
    assert 0.75 < counts["train"] / 2000 < 0.85 and counts["validation"] > 150 and counts["test"] > 150


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="max_pairs"):
        sc.build_stdlib_corpus(max_pairs=0, cache=False)
    with pytest.raises(ValueError, match="min_lines"):
        sc.build_stdlib_corpus(min_lines=5, max_lines=4, cache=False)
    with pytest.raises(ValueError, match="val_fraction"):
        sc.build_stdlib_corpus(val_fraction=0.5, test_fraction=0.5, cache=False)
    with pytest.raises(ValueError, match="not found"):
        sc.build_stdlib_corpus(root=tmp_path / "missing", cache=False)
