"""The decontamination rule: 13-gram code-token or 10-gram prompt-word overlap with an evaluation set."""

import pytest

from codegen_lib.decontaminate import CODE_N, WORD_N, ContaminationIndex, code_tokens, ngrams, words


def test_tokens_ignore_comments_and_whitespace():
    assert code_tokens("def f(x):  # add one\n    return x+1.5") == [
        "def", "f", "(", "x", ")", ":", "return", "x", "+", "1.5"]
    assert words("Return the SUM, of a list!") == ["return", "the", "sum", "of", "a", "list"]
    assert ngrams(["a", "b", "c"], 2) == {("a", "b"), ("b", "c")}
    assert ngrams(["a"], 2) == set()


def test_the_rule_sizes():
    assert (CODE_N, WORD_N) == (13, 10)
    with pytest.raises(ValueError):
        ContaminationIndex(code_n=0)


def test_planted_humaneval_solution_is_caught():
    from codegen_lib.humaneval import load_humaneval

    problems = load_humaneval()
    index = ContaminationIndex()
    index.add_set("humaneval", [p["prompt"] for p in problems],
                  [p["prompt"] + p["canonical_solution"] for p in problems])
    p = problems[0]
    # The canonical solution, renamed and reformatted, inside a library-like method: still caught.
    planted = "def _helper(self, numbers, threshold):\n" + p["canonical_solution"].replace("    ", "        ")
    assert index.match("Check the elements of a list.", planted) == "humaneval"
    # Its problem statement copied into a docstring, with new code: caught by the prompt rule.
    doc = p["prompt"].split('"""')[1]
    assert index.match(doc, "def g():\n    return 1\n") == "humaneval"
    # Unrelated code and prompt: clean.
    assert index.match("Open a file and read it.", "def read(p):\n    with open(p) as f:\n        return f.read()\n") is None
    kept, dropped = index.filter([{"prompt": "x", "code": planted}, {"prompt": "Open a file.", "code": "x = 1"}])
    assert len(kept) == 1 and dropped == {"humaneval": 1}


def test_short_eval_texts_cannot_contaminate():
    index = ContaminationIndex()
    index.add_set("conala", ["sort a list"], ["sorted(x)"])
    assert index.match("sort a list", "y = sorted(x)") is None
