"""The ``code`` corpus: licences, dedup, package split, decontamination, and a real build."""

from email.message import Message

import pytest

from codegen_lib.corpora import code as cc


def _meta(**fields):
    m = Message()
    for key, value in fields.items():
        if isinstance(value, list):
            for v in value:
                m[key.replace("_", "-")] = v
        else:
            m[key.replace("_", "-")] = value
    return m


@pytest.mark.parametrize(
    "fields,ok",
    [
        ({"License_Expression": "MIT"}, True),
        ({"License_Expression": "Apache-2.0 WITH LLVM-exception AND BSD-3-Clause"}, True),
        ({"License_Expression": "MPL-2.0 AND MIT"}, False),
        ({"License_Expression": "GPL-3.0-only OR MIT"}, True),
        ({"License": "BSD 3-Clause License"}, True),
        ({"License": "GPLv3"}, False),
        ({"Classifier": ["License :: OSI Approved :: MIT License"]}, True),
        ({"Classifier": ["License :: OSI Approved :: GNU General Public License (GPL)"]}, False),
        ({"License": "Permission is hereby granted, free of charge, to any person " + "x" * 200}, True),
        ({}, False),
        ({"License": "UNKNOWN"}, False),
    ],
)
def test_classify_license(fields, ok):
    assert cc.classify_license(_meta(**fields))[1] is ok


def test_normalized_body_ignores_name_comments_and_spacing():
    a = "def add(a, b):\n    # sum\n    return a + b\n"
    b = "def plus(a,b):\n    return a+b  # same\n"
    assert cc.normalized_body(a) == cc.normalized_body(b)
    assert cc.normalized_body(a) != cc.normalized_body("def add(a, b):\n    return a - b\n")


def test_package_splits_hold_whole_packages_out():
    sizes = {f"pkg{i}": 10 for i in range(100)} | {"huge": 5000}
    split = cc.package_splits(sizes, seed=0, val_fraction=0.05, test_fraction=0.05)
    assert split["huge"] == "train"
    held = {s: sum(sizes[p] for p, v in split.items() if v == s) for s in ("validation", "test")}
    total = sum(sizes.values())
    assert 0.04 * total <= held["test"] <= 0.06 * total and 0.04 * total <= held["validation"] <= 0.06 * total
    assert split == cc.package_splits(sizes, seed=0, val_fraction=0.05, test_fraction=0.05)
    assert split != cc.package_splits(sizes, seed=1, val_fraction=0.05, test_fraction=0.05)


def test_planted_humaneval_solution_is_removed_by_the_build(monkeypatch, tmp_path):
    """The whole build pipeline after extraction, with a HumanEval solution planted among real-looking rows."""
    from codegen_lib.humaneval import load_humaneval

    p = load_humaneval()[0]
    planted = "def solve(self, number):\n" + p["canonical_solution"].replace("    ", "        ")
    rows = [
        {"prompt": f"Return item {i} of the table.", "code": f"def get_{i}(self):\n    x = self.t[{i}]\n    return x * {i}\n",
         "source": "code", "id": f"pkg{i % 7}:mod{i}:get", "module": f"mod{i}", "package": f"pkg{i % 7}",
         "version": "1.0", "license": "MIT"}
        for i in range(60)
    ]
    rows.append({**rows[0], "code": planted, "id": "pkg0:evil:solve", "module": "evil"})
    rows.append({**rows[1], "id": "pkg1:dup:get"})  # an exact duplicate body
    monkeypatch.setattr(cc, "_cached_pairs", lambda *a, **k: (rows, {"extract_seconds": 0.0}))
    splits, info = cc.build_code_corpus(eval_sets={"humaneval": ([q["prompt"] for q in load_humaneval()],
                                                                [q["prompt"] + q["canonical_solution"] for q in load_humaneval()])})
    ids = [r["id"] for s in splits.values() for r in s]
    assert "pkg0:evil:solve" not in ids
    assert info["counts"]["contaminated"] == {"humaneval": 1}
    assert info["counts"]["duplicate_body"] == 1
    assert len(ids) == 60
    for s in splits.values():
        for r in s:
            assert set(r) == set(cc.COLUMNS) and r["license"] == "MIT"
    by_pkg = {}
    for name, rs in splits.items():
        for r in rs:
            by_pkg.setdefault(r["package"], set()).add(name)
    assert all(len(v) == 1 for v in by_pkg.values())  # a package is in one split only


@pytest.mark.slow  # ~40 s: extracts every installed package
def test_real_build_in_this_environment(tmp_path):
    """The corpus builds from the installed packages (cached under CODEGEN_CACHE_DIR or ~/.cache)."""
    splits, info = cc.build_code_corpus()
    n = sum(len(v) for v in splits.values())
    assert n > 10_000, info["counts"]
    assert info["environment_sha256"] and info["environment"]
    assert any(d["package"] == "numpy" and d["permissive"] for d in info["distributions"])
    kept_pkgs = {r["package"] for s in splits.values() for r in s}
    refused = {d["package"] for d in info["distributions"] if not d["permissive"]}
    assert not kept_pkgs & refused
    assert "python-stdlib" in kept_pkgs
    test_pkgs = {r["package"] for r in splits["test"]}
    assert test_pkgs and not test_pkgs & {r["package"] for r in splits["train"]}
    assert "humaneval" in info["eval_sets"]
