"""``load_corpus(name)`` returns the same rows as before the move into ``codegen_lib/corpora/``.

The hashes below were computed on the flat layout (commit da6e607, ``python tests/corpora/test_row_hashes.py``)
and must not change unless a corpus changes on purpose; such a commit updates the hash here with a reason.
A hash covers every split's name, its columns and every row's values, in order.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import require_shared

REPO = Path(__file__).resolve().parents[2]
RAW = Path(os.environ.get("CODEGEN_SHARED_DATA", REPO.parent / "shared" / "data")) / "raw"

# name -> hash of the rows; filled in by running this file as a script on the code before the move.
HASHES: dict[str, str] = {
    "tasks": "7e3b3a3ad2816c74d6c5f05d878e97433dd973ed8dc28fc267ad993127b3957a",
    "tasks_seed3": "a32f3174301f700ee908448027e02afcdf07ee4726e0862fb356d5bc1996b978",
    "stdlib": "95c1b1544e5b0f8cdb79505f2d381d0e4d6a9ee4edb0b39cf6c0ebf9fc3ea784",
    "alpaca": "bbd588dca5c4e12863c7c3cd0db894a28d66be015652ae6d5a1801ead9ab870b",
    "xlcost_tiny": "3836c201575b4b383c0cbf881a2b7ede8694dc973b234e5f7ae0f5947ae290b2",
    "xlcost_tiny_raw": "8c14ee200c5aeba2ea410cb3fed63736e05fe586d8ea0d6d0ee596dc896ec30a",
    "merged": "70dfab1f2b6e5180aadd1a0ca20d2ecae25f47ea8387cf5f8d66dfc57ff8c112",
    # changed on purpose in d88cb68 (main): detokenize's joiner writes @decorator, *args / **kw, kw=value and
    # a[i:j] without spaces (the same hash from main's flat layout and from codegen_lib/corpora/)
    "xlcost": "2a529095806a26a0dee0360c66131aa018ab329a43af1450710afe7a522ccac5",
    "mbpp": "f8a2563512ee2a5a2f6003e24568752177b1cc18e51fcb1d4e7a05adc5712a40",
    "conala": "ccb5e473b00b831332764f2c03034d2fed48406dc783696c77263705b8eb4b97",
    "gfg": "4ba21d0ac042e554afebf336a0daddc071a48bedfa5bde4339d4c5af4b9a8693",
    "django": "07c23b792279e48d93b43db46c94ca65010d30808866a30b9aefeea63bea3923",
    # changed on purpose in e40a89e (main): the everyday requests joined code's decontamination references;
    # mix follows code and xlcost (the same hashes from main's flat layout and from codegen_lib/corpora/)
    "code": "ec8138d8aa6b8555e2ca8cfbea5a9acbb2edb6fd698b23c70f01a9ba45033ddf",
    "mix": "c1d68a8b070810052aa522910d0fc44120468fb8988265d0ee9b5eac99e07b87",
    # main's doctest_corpus.py moved to codegen_lib/corpora/doctest.py in the h20 merge (hash from main's
    # flat layout at 612d698, equal after the move)
    "doctest": "c4503f4b2490aa0e375ee92ffb6d84606349dc3c8c5404036d458cf536ec8d60",
}
# The "code" and "doctest" corpora (and so "mix") are built from the installed distributions: its hashes hold for this
# environment only; "stdlib" depends on the Python version.
PYTHON = "3.11"
ENVIRONMENT_SHA256 = "4399eff702dffe104257232fc349e78fd22881643bbc25c9a755d2e653d0c83c"


def row_hash(dd) -> str:
    """sha256 over every split (name, columns, rows in order) of a DatasetDict."""
    h = hashlib.sha256()
    for split in dd:
        ds = dd[split]
        h.update(json.dumps([split, ds.column_names]).encode())
        for row in ds:
            h.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()


def _alpaca_file(root: Path) -> Path:
    rows = []
    for i in range(60):
        body = "\n".join(f"    x{j} = {i} + {j}" for j in range(i % 7 + 1))
        out = f"def f{i}(x):\n{body}\n    return x\n"
        rows.append({"instruction": f"Write function number {i}.", "input": "[1, 2]" if i % 3 == 0 else "",
                     "output": f"```python\n{out}```" if i % 5 == 0 else out, "prompt": f"... {i}"})
    rows.append({"instruction": "", "input": "", "output": "x = 1"})  # dropped: empty prompt
    path = root / "alpaca.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _xlcost_release(root: Path) -> Path:
    def write(split, programs):
        desc = root / "pair_data_tok_full_desc" / "Python-desc"
        snip = root / "pair_data_tok_1_comment" / "Python-comment"
        desc.mkdir(parents=True, exist_ok=True)
        snip.mkdir(parents=True, exist_ok=True)
        (desc / f"{split}-Python-map.jsonl").write_text("".join(f"{p}\n" for p, _, _ in programs))
        (desc / f"{split}-Python-desc-tok.txt").write_text("".join(f"Title {p}\n" for p, _, _ in programs))
        (desc / f"{split}-Python-desc-tok.py").write_text("".join(f"{c}\n" for _, c, _ in programs))
        ids = [f"{p}-Python-{k + 1}" for p, _, cs in programs for k in range(len(cs))]
        (snip / f"{split}-Python-map.jsonl").write_text("".join(f"{i}\n" for i in ids))
        texts = [c for _, _, cs in programs for c in cs]
        (snip / f"{split}-Python-comment-tok.txt").write_text("".join(f"{t}\n" for t in texts))

    code = "def f ( x ) : NEW_LINE INDENT print x NEW_LINE return x NEW_LINE DEDENT"
    write("train", [(i, code, ["Function", "Driver code"]) for i in range(1, 6)])
    write("val", [(10, code, ["Only"]), (11, code, [])])
    write("test", [(20, code, []), (21, "", ["Empty"]), (22, code, ["A"])])
    return root


def cases(tmp: Path) -> dict[str, tuple[dict, str]]:
    """``{case: (load_corpus kwargs, what it needs)}``; needs: "" | "shared" | "python" | "environment"."""
    tmp.mkdir(parents=True, exist_ok=True)
    alpaca, release = _alpaca_file(tmp), _xlcost_release(tmp / "xlcost")
    return {
        "tasks": ({"name": "tasks"}, ""),
        "tasks_seed3": ({"name": "tasks", "seed": 3}, ""),
        "stdlib": ({"name": "stdlib"}, "python"),
        "alpaca": ({"name": "alpaca", "data_dir": alpaca}, ""),
        "xlcost_tiny": ({"name": "xlcost", "data_dir": release}, ""),
        "xlcost_tiny_raw": ({"name": "xlcost", "data_dir": release, "repair": False}, ""),
        "merged": ({"name": "merged", "data_dir": {"xlcost": release, "alpaca": alpaca}}, ""),
        "xlcost": ({"name": "xlcost", "data_dir": RAW / "xlcost", "splits": ("validation", "test")}, "shared"),
        "mbpp": ({"name": "mbpp", "data_dir": RAW / "mbpp"}, "shared"),
        "conala": ({"name": "conala", "data_dir": RAW / "conala"}, "shared"),
        "gfg": ({"name": "gfg", "data_dir": RAW / "transcoder_gfg"}, "shared"),
        "django": ({"name": "django", "data_dir": RAW / "django"}, "shared"),
        "code": ({"name": "code", "data_dir": RAW}, "environment"),
        "mix": ({"name": "mix", "data_dir": RAW}, "environment"),
        "doctest": ({"name": "doctest", "data_dir": RAW}, "environment"),
    }


def _python() -> str:
    return "{}.{}".format(*sys.version_info[:2])


def _environment() -> str:
    from codegen_lib.corpora.code import environment_fingerprint

    return environment_fingerprint()[1]


CASE_NAMES = ["tasks", "tasks_seed3", "stdlib", "alpaca", "xlcost_tiny", "xlcost_tiny_raw", "merged", "xlcost",
              "mbpp", "conala", "gfg", "django", "code", "mix", "doctest"]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASE_NAMES)
def test_rows_unchanged_by_the_move(case, tmp_path):
    from codegen_lib.data import load_corpus

    kwargs, needs = cases(tmp_path)[case]
    if needs in ("shared", "environment"):
        require_shared(RAW)
    if needs == "python" and _python() != PYTHON:
        pytest.skip(f"hashes recorded on Python {PYTHON}; this is {_python()}")
    if needs == "environment" and _environment() != ENVIRONMENT_SHA256:
        pytest.skip("the installed distributions differ from those the hash was recorded with")
    assert row_hash(load_corpus(**kwargs)) == HASHES[case]


if __name__ == "__main__":  # print the hashes of the code checked out now
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        out = {}
        for case, (kwargs, _) in cases(Path(d)).items():
            from codegen_lib.data import load_corpus

            out[case] = row_hash(load_corpus(**kwargs))
            print(case, out[case], flush=True)
    try:
        from codegen_lib.corpora.code import environment_fingerprint
    except ImportError:
        from codegen_lib.code_corpus import environment_fingerprint
    print(json.dumps({"HASHES": out, "PYTHON": _python(), "ENVIRONMENT_SHA256": environment_fingerprint()[1]},
                     indent=1))
