"""Tests for codegen_lib.corpora.tasks: the generated task corpus is learnable, deterministic, split honestly,
and its tests are meaningful (references pass, wrong solutions fail).

The reference solutions are trusted (this module wrote them), but they are still never exec'd in the
test process: one child interpreter runs every (code, tests) job with a per-job timer and reports back.
"""

import ast
import json
import re
import subprocess
import sys
import time
from collections import Counter

import pytest

from codegen_lib.corpora import tasks

CATEGORIES = {
    "arithmetic",
    "strings",
    "lists",
    "dicts",
    "loops",
    "recursion",
    "sorting",
    "searching",
    "classes",
}

# The child: reads [[code, tests], ...] as JSON on stdin, runs each in a fresh namespace with a 0.1 s
# CPU-time timer (CPU time, so a loaded machine does not cause false timeouts),
# prints one JSON list of "pass" / "fail: <exception>".
_RUNNER = r"""
import json, signal, sys
sys.setrecursionlimit(200)
class _Timeout(Exception):
    pass
def _alarm(signum, frame):
    raise _Timeout()
signal.signal(signal.SIGPROF, _alarm)
out = []
for code, tests in json.load(sys.stdin):
    signal.setitimer(signal.ITIMER_PROF, 0.1)
    try:
        exec(compile(code + "\n\n" + tests, "<task>", "exec"), {"__name__": "__task__"})
        out.append("pass")
    except BaseException as e:
        out.append("fail: " + type(e).__name__)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
print(json.dumps(out))
"""


def _run_batch(jobs: list[tuple[str, str]]) -> list[str]:
    """Run (code, tests) jobs in one child interpreter; return "pass" or "fail: ..." per job."""
    proc = subprocess.run(
        [sys.executable, "-I", "-c", _RUNNER],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def corpus():
    return tasks.build_task_corpus(seed=0)


@pytest.fixture(scope="module")
def all_rows(corpus):
    return [row for split in corpus.values() for row in split]


def test_registry_has_40_plus_families_across_categories():
    names = [f.name for f in tasks.FAMILIES]
    assert len(names) >= 40 and len(set(names)) == len(names)
    assert {f.category for f in tasks.FAMILIES} == CATEGORIES
    assert set(tasks.UNSEEN_FAMILIES) <= set(names)
    share = len(tasks.UNSEEN_FAMILIES) / len(names)
    assert 0.15 <= share <= 0.20, share
    # at least one held-out family per category, so test_unseen spans the same kinds of code
    assert {f.category for f in tasks.FAMILIES if f.name in tasks.UNSEEN_FAMILIES} == CATEGORIES
    table = tasks.family_table()
    assert len(table) == len(names) and sum(row["unseen"] for row in table) == len(tasks.UNSEEN_FAMILIES)


def test_splits_sizes_and_columns(corpus):
    assert set(corpus) == {"train", "validation", "test", "test_unseen"}
    for split in corpus.values():
        assert split.column_names == ["prompt", "code", "source", "id", "family", "entry_point", "tests"]
        assert set(split["source"]) == {"tasks"}
    n_seen = len(tasks.FAMILIES) - len(tasks.UNSEEN_FAMILIES)
    assert 3000 <= len(corpus["train"]) <= 6000
    # each seen family contributes ~10% of its instances to validation and to test
    assert len(corpus["validation"]) >= 8 * n_seen and len(corpus["test"]) >= 8 * n_seen
    assert len(corpus["test_unseen"]) >= 80 * len(tasks.UNSEEN_FAMILIES)
    # every seen family appears in train, validation and test (split by instance within each family)
    for split in ("train", "validation", "test"):
        assert len(set(corpus[split]["family"])) == n_seen


def test_build_is_fast():
    t0 = time.perf_counter()
    tasks.build_task_corpus(seed=3)
    assert time.perf_counter() - t0 < 5.0  # ~0.5 s here; generous for a loaded 2-core CI machine


def test_deterministic_given_seed_and_different_across_seeds(corpus):
    again = tasks.build_task_corpus(seed=0)
    for split in corpus:
        assert corpus[split].to_dict() == again[split].to_dict()
    other = tasks.build_task_corpus(seed=1)
    assert corpus["train"]["prompt"] != other["train"]["prompt"]
    overlap = set(corpus["train"]["code"]) & set(other["train"]["code"])
    assert len(overlap) < 0.5 * len(corpus["train"])  # names and constants really are re-drawn


def test_split_disjointness(corpus, all_rows):
    unseen = set(tasks.UNSEEN_FAMILIES)
    for split in ("train", "validation", "test"):
        assert not unseen & set(corpus[split]["family"])
    assert set(corpus["test_unseen"]["family"]) == unseen
    prompts = [row["prompt"] for row in all_rows]
    assert len(prompts) == len(set(prompts)), "a prompt appears twice"
    ids = [row["id"] for row in all_rows]
    assert len(ids) == len(set(ids))
    codes_by_family = Counter((row["family"], row["code"]) for row in all_rows)
    assert max(codes_by_family.values()) == 1, "the same solution appears twice in a family"


def test_code_parses_is_short_and_defines_the_entry_point(all_rows):
    lengths = []
    for row in all_rows:
        tree = ast.parse(row["code"])
        assert len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef | ast.ClassDef), row["id"]
        assert tree.body[0].name == row["entry_point"]
        assert 2 <= row["code"].count("\n") + 1 <= 12, row["code"]
        assert "\t" not in row["code"] and not row["code"].endswith("\n")
        lengths.append(len(row["code"]))
    lengths.sort()
    assert lengths[len(lengths) // 2] <= 120 and lengths[int(0.9 * len(lengths))] <= 200  # median, p90


def test_tests_parse_and_call_the_entry_point(all_rows):
    for row in all_rows:
        tree = ast.parse(row["tests"])
        assert any(isinstance(node, ast.Assert) for node in ast.walk(tree)), row["id"]
        assert re.search(rf"\b{re.escape(row['entry_point'])}\(", row["tests"]), row["id"]


def test_prompts_carry_the_names_the_code_needs(all_rows):
    """Function/class names, parameters and every method name appear in the prompt: learnable in principle."""
    for row in all_rows:
        prompt, tree = row["prompt"], ast.parse(row["code"])
        node = tree.body[0]
        assert node.name in prompt, row["id"]
        if isinstance(node, ast.FunctionDef):
            for arg in node.args.args:
                assert re.search(rf"\b{arg.arg}\b", prompt), (arg.arg, prompt)
        else:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("__"):
                    assert item.name in prompt, (item.name, prompt)


def test_prompts_carry_the_constants(all_rows):
    """Every number or string literal of the solution is in the prompt, except a few universal constants
    (0, 1, 2, 10 for digits, 3n+1 of Collatz, 9/5+32 of Fahrenheit) that the family's wording implies."""
    implied = {0, 1, 2, -1, ""}
    implied_by_family = {
        "count_digits": {10},
        "digit_sum": {10},
        "collatz_steps": {3},
        "temperature_class": {9, 5, 32},
    }
    for row in all_rows:
        allowed = implied | implied_by_family.get(row["family"], set())
        for node in ast.walk(ast.parse(row["code"])):
            if (
                isinstance(node, ast.Constant)
                and not isinstance(node.value, bool)
                and node.value not in allowed
            ):
                if isinstance(node.value, str) and node.value in ("aeiou",):
                    continue  # the vowels are listed one by one in the prompt
                if node.value is None:
                    continue
                assert str(node.value) in row["prompt"], (node.value, row["prompt"], row["code"])


def test_paraphrases_and_random_names():
    fam = next(f for f in tasks.FAMILIES if f.name == "scale_values")
    instances = tasks.generate_family(fam, 60, seed=0)
    openings = {inst.prompt.split()[0] for inst in instances}
    assert len(openings) >= 3  # several templates are used
    assert len({inst.entry_point for inst in instances}) >= 8
    assert len({inst.code.split("(")[1].split(")")[0] for inst in instances}) >= 5  # parameter names vary


def test_every_reference_solution_passes_its_tests(all_rows):
    results = _run_batch([(row["code"], row["tests"]) for row in all_rows])
    failures = [(row["id"], res) for row, res in zip(all_rows, results) if res != "pass"]
    assert not failures, failures[:10]


def _stub(row) -> str:
    """A wrong solution with the right name: returns None / has no methods."""
    if row["code"].startswith("class "):
        return f"class {row['entry_point']}:\n    def __init__(self, *args, **kwargs):\n        pass"
    return f"def {row['entry_point']}(*args, **kwargs):\n    return None"


class _Bump(ast.NodeTransformer):
    """Mutate every literal: ints + 1, strings + '#' (an 'off by one constant' bug)."""

    def visit_Constant(self, node):
        if isinstance(node.value, bool) or node.value is None:
            return node
        if isinstance(node.value, int):
            return ast.copy_location(ast.Constant(node.value + 1), node)
        if isinstance(node.value, str):
            return ast.copy_location(ast.Constant(node.value + "#"), node)
        return node


def test_wrong_solutions_fail_the_tests(corpus):
    rows = [row for split in corpus.values() for row in split.select(range(0, len(split), 5))]
    stub_results = _run_batch([(_stub(row), row["tests"]) for row in rows])
    assert all(res != "pass" for res in stub_results), [
        r["id"] for r, s in zip(rows, stub_results) if s == "pass"
    ]

    mutants = []
    for row in rows:
        mutated = ast.unparse(_Bump().visit(ast.parse(row["code"])))
        if mutated != ast.unparse(ast.parse(row["code"])):
            mutants.append((row, mutated))
    assert len(mutants) > 0.6 * len(rows)
    results = _run_batch([(code, row["tests"]) for row, code in mutants])
    killed = sum(res != "pass" for res in results)
    assert killed / len(mutants) >= 0.97, [
        row["id"] for (row, _), res in zip(mutants, results) if res == "pass"
    ]


def test_sandbox_agrees_when_available(corpus):
    from codegen_lib import sandbox

    rows, seen = [], set()
    for row in corpus["train"]:
        if row["family"] not in seen:
            seen.add(row["family"])
            rows.append(row)
    jobs = [(row["code"], row["tests"]) for row in rows[:12]] + [
        (_stub(row), row["tests"]) for row in rows[:4]
    ]
    results = sandbox.run_many(jobs)
    assert [r.status for r in results[:12]] == ["pass"] * 12
    assert all(r.status != "pass" for r in results[12:])


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown task family"):
        tasks.build_task_corpus(families=["no_such_family"])
    with pytest.raises(ValueError, match="unseen_families"):
        tasks.build_task_corpus(unseen_families=["nope"])
    with pytest.raises(ValueError, match="instances_per_family"):
        tasks.build_task_corpus(instances_per_family=0)
    with pytest.raises(ValueError, match="val_fraction"):
        tasks.build_task_corpus(val_fraction=0.6, test_fraction=0.5)


def test_small_builds_and_family_subsets():
    small = tasks.build_task_corpus(
        seed=0, instances_per_family=10, families=["scale_values", "clamp", "gcd"]
    )
    assert set(small["train"]["family"]) == {"scale_values"}
    assert len(small["train"]) == 8 and len(small["validation"]) == 1 and len(small["test"]) == 1
    assert len(small["test_unseen"]) == 20
