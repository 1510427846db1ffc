"""The everyday-requests suite: every reference passes its own check in the sandbox, wrong answers fail,
the one-liner result rule, and the suite stays out of training."""

import ast

import pytest

from codegen_lib import everyday


@pytest.fixture(scope="module")
def rows():
    return everyday.load_requests()


@pytest.fixture(scope="module")
def by_id(rows):
    return {r["id"]: r for r in rows}


def test_at_least_30_requests_of_both_kinds_with_unique_ids(rows):
    assert len(rows) >= 30
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["prompt"] for r in rows}) == len(rows)
    kinds = {r["kind"] for r in rows}
    assert kinds == {"oneliner", "function"}
    assert sum(r["kind"] == "oneliner" for r in rows) >= 15 and sum(r["kind"] == "function" for r in rows) >= 15
    for r in rows:
        assert r["source"] == "everyday" and set(everyday.COLUMNS) <= set(r)
        ast.parse(r["code"]), ast.parse(r["tests"]), ast.parse(r["setup"])
        if r["kind"] == "function":
            assert f"`{r['entry_point']}(" in r["prompt"]
        else:  # a one-liner names a variable or a file
            assert "`" in r["prompt"] or "'" in r["prompt"]


def test_every_reference_solution_passes_its_own_check(rows):
    statuses = everyday.statuses(rows, [r["code"] for r in rows], workers=2)
    assert [(r["id"], s) for r, s in zip(rows, statuses) if s != "pass"] == []


# The model's failures quoted in issue 17, and other plausible wrong answers.
WRONG = [
    ("everyday-reverse-string", "s = s.reverse()"),
    ("everyday-sort-dicts-by-key", "sorted(key, key=lambda d: d['age'])"),
    ("everyday-dedupe-keep-order", "items = [x for x in items if x != x]"),
    ("everyday-factorial", "def f_gold ( n ) : return n"),
    ("everyday-factorial", "def factorial(n):\n    return n\n"),
    ("everyday-is-prime", "def is_prime(n):\n    return n % 2 == 1\n"),
    ("everyday-read-lines", "lines = open('data.txt').read()"),
    ("everyday-write-file", "print(text)"),
    ("everyday-sort-dicts-by-key", "print(sorted(people, key=lambda d: d['age']))"),
    ("everyday-merge-dicts", "merged = a.update(b)"),
    ("everyday-fibonacci", "def fibonacci(n:\n    return n"),
]


def test_wrong_answers_fail(by_id):
    rows = [by_id[i] for i, _ in WRONG]
    assert everyday.check(rows, [c for _, c in WRONG], workers=2) == [False] * len(WRONG)


@pytest.mark.parametrize("rid,code", [
    ("everyday-sort-dicts-by-key", "people.sort(key=lambda d: d['age'])"),       # in place: the named list
    ("everyday-sort-dicts-by-key", "people = sorted(people, key=lambda p: p['age'])"),
    ("everyday-dedupe-keep-order", "seen = set()\nout = []\nfor x in items:\n    if x not in seen:\n"
                                   "        seen.add(x)\n        out.append(x)"),   # last assignment: out
    ("everyday-read-lines", "lines = open('data.txt').readlines()"),
    ("everyday-count-file-lines", "with open('log.txt') as f:\n    n = len(f.readlines())"),
    ("everyday-count-words", "import collections\ncounts = collections.Counter(text.split())"),
    ("everyday-append-line", "open('log.txt', 'a').write('done\\n')"),
    ("everyday-count-words", "counts = {}\nfor w in text.split():\n    counts[w] = counts.get(w, 0) + 1"),
    ("everyday-group-by-letter", "from collections import defaultdict\ngroups = defaultdict(list)\n"
                                 "for w in words:\n    groups[w[0]].append(w)"),
    ("everyday-merge-dicts", "merged = a.copy()\nmerged.update(b)"),
    ("everyday-sort-dict-by-value", "sorted(scores, key=scores.get, reverse=True)"),
    ("everyday-read-csv", "import csv\nwith open('people.csv') as f:\n    rows = list(csv.DictReader(f))"),
    ("everyday-list-txt-files", "import glob\nglob.glob('*.txt')"),
    ("everyday-most-common", "from collections import Counter\nCounter(votes).most_common(1)[0][0]"),
    ("everyday-three-largest", "import heapq\nheapq.nlargest(3, nums)"),
    ("everyday-average", "import statistics\nstatistics.mean(values)"),
    ("everyday-join-strings", "', '.join(words)"),
])  # fmt: skip
def test_the_result_rule_accepts_other_correct_forms(by_id, rid, code):
    assert everyday.check([by_id[rid]], [code]) == [True]


def test_job_runs_the_setup_before_the_code(by_id):
    program, tests = everyday.job(by_id["everyday-reverse-string"], "s[::-1]")
    assert program.index("s = 'hello world'") < program.index("__everyday_src")
    assert tests == by_id["everyday-reverse-string"]["tests"]
    func = by_id["everyday-factorial"]
    assert everyday.job(func, func["code"]) == (func["code"], func["tests"])


def test_the_suite_is_never_trained_on_and_is_a_decontamination_reference():
    from codegen_lib.corpora.code import default_eval_sets
    from codegen_lib.corpora.mix import DEFAULT_WEIGHTS
    from codegen_lib.data import CORPORA

    assert "everyday" not in CORPORA and "everyday" not in DEFAULT_WEIGHTS
    prompts, codes = default_eval_sets(None)["everyday"]
    assert len(prompts) == len(everyday.load_requests())


def test_check_rejects_mismatched_lengths(rows):
    with pytest.raises(ValueError):
        everyday.check(rows, ["x"])


def test_the_suite_scores_everyday_requests_with_their_checks(monkeypatch, rows):
    from codegen_lib.suite import PROBE, SETS, evaluate_suite

    assert SETS["everyday_val"] == PROBE["everyday_val"]
    right = {r["prompt"]: r["code"] for r in rows[:3]}

    def fake_generate(model, tokenizer, prompts, **kw):
        return [right.get(p, "x = (") for p in prompts]

    class Echo:
        def eval(self):
            return self

    monkeypatch.setattr("codegen_lib.decode.generate", fake_generate)
    res = evaluate_suite(Echo(), None, {}, {"everyday_val": SETS["everyday_val"]}, limit=6, n_samples=1)
    m = res["everyday_val"]["metrics"]
    assert res["everyday_val"]["rows"] == 6 and m["solved"] == 3 and m["pass@1"] == 0.5
    assert res["everyday_val"]["statuses"] == ["pass"] * 3 + ["error"] * 3


def test_overlap_finds_the_nearest_training_request_and_verbatim_references(by_id):
    from codegen_lib.everyday import overlap

    req = [by_id["everyday-reverse-string"], by_id["everyday-sort-dicts-by-key"]]
    train = [{"prompt": "Reverse a string `s`", "code": "s[::-1]", "source": "conala"},
             {"prompt": "open a file", "code": "open(f)", "source": "conala"},
             {"prompt": "sort list `x` by key 'age'", "code": "x.sort()", "source": "tasks"}]
    a, b = overlap(req, train)
    assert a["nearest"] == "Reverse a string `s`" and a["source"] == "conala" and a["reference_in_training"]
    assert a["similarity"] == 0.6  # {reverse, string, s} shared; {reverse, the, a, string, s} in all
    assert b["source"] == "tasks" and not b["reference_in_training"] and 0 < b["similarity"] < 1
