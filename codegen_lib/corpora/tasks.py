"""A generated corpus of small Python programming tasks: the default offline corpus (chapter 01).

Each *task family* (``FAMILIES``) is a template for one kind of function -- "multiply every element
of a list by k", "count the vowels in a string", "a stack class" -- and an *instance* fills it with a
random function name, random argument names and random constants, one of several paraphrased prompts,
the reference solution and assert-style tests::

    prompt      Write a function `scale_values(nums)` that multiplies every element of the list `nums` by 3.
    code        def scale_values(nums):
                    return [x * 3 for x in nums]
    entry_point scale_values
    tests       assert scale_values([1, 5]) == [3, 15]
                ...

Every name and constant the code needs appears in the prompt, so a model can in principle learn the
mapping; solutions are 2-10 lines, short enough for a tiny Transformer to learn on a laptop CPU.

Splits (``build_task_corpus``):
    train / validation / test   instances of the *seen* families, split per family (80/10/10 by default)
    test_unseen                 every instance of the held-out families ``UNSEEN_FAMILIES`` (about 18%
                                of the families, at least one per category): measures generalization to
                                kinds of task never seen in training, not just new names and constants.

The expected values in the tests are computed here by plain Python that mirrors each solution; the
reference solutions themselves are never executed by this module (tests/corpora/test_tasks.py runs them, once,
out of process, to prove that every reference passes its own tests).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import datasets

NAME = SOURCE = "tasks"
OPTIONS: tuple[str, ...] = ()
SPLITS = ("train", "validation", "test", "test_unseen")


@dataclass(frozen=True)
class Instance:
    """One generated task: the four strings that become a row (plus the family and id added later)."""

    prompt: str  # natural-language request, naming the function, its arguments and constants
    code: str  # the reference solution: a complete def/class, 4-space indented, no trailing newline
    entry_point: str  # the function (or class) name the tests call
    tests: str  # assert statements (one per line; class families also build objects first)


@dataclass(frozen=True)
class Family:
    """A task family: ``make(rng)`` draws one random instance of it."""

    name: str  # e.g. "scale_values"
    category: str  # "arithmetic", "strings", "lists", "dicts", "loops", "recursion", "sorting", ...
    description: str  # one line for the book's table of families
    make: Callable[[random.Random], Instance]


# --------------------------------------------------------------------------------------------------
# helpers shared by the families
# --------------------------------------------------------------------------------------------------
LIST_ARGS = ("nums", "values", "items", "numbers", "data", "xs", "arr", "seq", "vals", "lst")
STR_ARGS = ("s", "text", "word", "string", "line", "phrase", "msg", "name")
INT_ARGS = ("n", "x", "num", "value", "number", "m", "a", "k")
DICT_ARGS = ("d", "mapping", "table", "counts", "scores", "data", "lookup", "info")
WORDS = (
    "apple", "banana", "cherry", "level", "python", "kayak", "robot", "noon", "data", "model",
    "token", "radar", "civic", "tree", "queue", "stack", "hello", "world", "code", "refer",
    "alpha", "omega", "sun", "moon", "eye", "madam", "zebra", "quick", "brown", "fox",
)  # fmt: skip
NAME_WORDS = ("ana", "bob", "cleo", "dev", "eli", "fay", "gus", "hal", "ivy", "jon", "kim", "leo")


def _fn(r: random.Random, verbs: Sequence[str], nouns: Sequence[str]) -> str:
    """A random snake_case function name such as ``scale_values`` or ``multiply_items``."""
    return f"{r.choice(verbs)}_{r.choice(nouns)}"


def _cls(r: random.Random, heads: Sequence[str], tails: Sequence[str]) -> str:
    """A random CamelCase class name such as ``ClickCounter``."""
    return r.choice(heads) + r.choice(tails)


def _ints(r: random.Random, n_min: int = 0, n_max: int = 6, lo: int = -9, hi: int = 20) -> list[int]:
    return [r.randint(lo, hi) for _ in range(r.randint(n_min, n_max))]


def _words(r: random.Random, n_min: int = 1, n_max: int = 5) -> list[str]:
    return [r.choice(WORDS) for _ in range(r.randint(n_min, n_max))]


def _asserts(fn: str, cases: Sequence[tuple], expect: Callable) -> str:
    """``assert fn(*args) == expected`` for each argument tuple; duplicates are dropped, order kept."""
    lines: list[str] = []
    for args in cases:
        call = f"{fn}({', '.join(repr(a) for a in args)})"
        expected = expect(*args)
        line = f"assert {call} is None" if expected is None else f"assert {call} == {expected!r}"
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


def _make(r: random.Random, templates: Sequence[str], code: str, fn: str, tests: str, **names) -> Instance:
    """Pick one paraphrase, fill in the names and constants, and wrap everything as an Instance."""
    return Instance(r.choice(templates).format(fn=fn, **names), code, fn, tests)


# --------------------------------------------------------------------------------------------------
# arithmetic
# --------------------------------------------------------------------------------------------------
def _affine(r):
    fn, x = (
        _fn(r, ("compute", "apply", "eval", "calc"), ("line", "affine", "linear", "formula")),
        r.choice(INT_ARGS),
    )
    a, b = r.randint(2, 9), r.randint(1, 20)
    code = f"def {fn}({x}):\n    return {a} * {x} + {b}"
    tpl = (
        "Write a function `{fn}({x})` that returns {a} times {x} plus {b}.",
        "Define {fn}({x}) which computes {a} * {x} + {b}.",
        "Create a Python function `{fn}` that takes a number `{x}` and returns {a}*{x} + {b}.",
    )
    tests = _asserts(fn, [(v,) for v in (0, 1, r.randint(-20, 20), r.randint(21, 99))], lambda v: a * v + b)
    return _make(r, tpl, code, fn, tests, x=x, a=a, b=b)


def _is_divisible(r):
    fn, x = _fn(r, ("is", "check", "test"), ("divisible", "multiple", "div")), r.choice(INT_ARGS)
    k = r.randint(2, 13)
    fn = f"{fn}_by_{k}"
    code = f"def {fn}({x}):\n    return {x} % {k} == 0"
    tpl = (
        "Write a function `{fn}({x})` that returns True if {x} is divisible by {k} and False otherwise.",
        "Define {fn}({x}): return whether the integer {x} is a multiple of {k}.",
        "Implement `{fn}`, which checks if `{x}` can be divided by {k} with no remainder.",
    )
    cases = [(0,), (k,), (k * r.randint(2, 9),), (k * r.randint(2, 9) + 1,), (r.randint(1, 99),)]
    tests = _asserts(fn, cases, lambda v: v % k == 0)
    return _make(r, tpl, code, fn, tests, x=x, k=k)


def _clamp(r):
    fn, x = (
        _fn(r, ("clamp", "clip", "limit", "bound"), ("value", "number", "reading", "level")),
        r.choice(INT_ARGS),
    )
    lo = r.randint(-10, 10)
    hi = lo + r.randint(5, 50)
    code = f"def {fn}({x}):\n    return max({lo}, min({hi}, {x}))"
    tpl = (
        "Write a function `{fn}({x})` that clamps {x} to the range [{lo}, {hi}].",
        "Define {fn}({x}) returning {x} limited to be at least {lo} and at most {hi}.",
        "Create `{fn}` that takes `{x}` and returns {lo} if it is below {lo}, {hi} if it is above {hi}, else {x}.",
    )
    cases = [(lo - 3,), (hi + 7,), (r.randint(lo, hi),), (lo,), (hi,)]
    tests = _asserts(fn, cases, lambda v: max(lo, min(hi, v)))
    return _make(r, tpl, code, fn, tests, x=x, lo=lo, hi=hi)


def _power(r):
    fn, x = _fn(r, ("raise", "power", "pow"), ("to", "value", "number", "num")), r.choice(INT_ARGS)
    k = r.randint(2, 6)
    code = f"def {fn}({x}):\n    return {x} ** {k}"
    tpl = (
        "Write a function `{fn}({x})` that returns {x} raised to the power {k}.",
        "Define {fn}({x}) which computes {x} to the {k}th power.",
        "Implement `{fn}` returning `{x} ** {k}` for a number `{x}`.",
    )
    tests = _asserts(fn, [(v,) for v in (0, 1, 2, r.randint(-5, 9))], lambda v: v**k)
    return _make(r, tpl, code, fn, tests, x=x, k=k)


def _divmod_pair(r):
    fn, x = _fn(r, ("split", "divide", "div"), ("evenly", "pair", "parts", "qr")), r.choice(INT_ARGS)
    k = r.randint(2, 12)
    code = f"def {fn}({x}):\n    return {x} // {k}, {x} % {k}"
    tpl = (
        "Write a function `{fn}({x})` that returns a tuple of the quotient and remainder of {x} divided by {k}.",
        "Define {fn}({x}) returning ({x} // {k}, {x} % {k}).",
        "Create `{fn}` which divides `{x}` by {k} and returns the integer quotient and the remainder as a pair.",
    )
    tests = _asserts(
        fn, [(v,) for v in (0, k, r.randint(1, 99), r.randint(100, 999))], lambda v: divmod(v, k)
    )
    return _make(r, tpl, code, fn, tests, x=x, k=k)


def _sign(r):
    fn, x = (
        _fn(r, ("sign", "signum", "get_sign", "sgn"), ("of", "value", "num", "number")),
        r.choice(INT_ARGS),
    )
    code = (
        f"def {fn}({x}):\n    if {x} > 0:\n        return 1\n    if {x} < 0:\n        return -1\n    return 0"
    )
    tpl = (
        "Write a function `{fn}({x})` that returns 1 if {x} is positive, -1 if it is negative and 0 if it is zero.",
        "Define {fn}({x}) which returns the sign of {x} as 1, -1 or 0.",
        "Implement `{fn}`: given a number `{x}`, return -1, 0 or 1 according to its sign.",
    )
    tests = _asserts(fn, [(r.randint(1, 50),), (-r.randint(1, 50),), (0,)], lambda v: (v > 0) - (v < 0))
    return _make(r, tpl, code, fn, tests, x=x)


def _gcd(r):
    fn = _fn(r, ("gcd", "greatest_divisor", "common_divisor", "hcf"), ("of", "pair", "ints", "nums"))
    a, b = r.sample(("a", "b", "x", "y", "m", "n", "p", "q"), 2)
    code = f"def {fn}({a}, {b}):\n    while {b}:\n        {a}, {b} = {b}, {a} % {b}\n    return {a}"
    tpl = (
        "Write a function `{fn}({a}, {b})` that returns the greatest common divisor of {a} and {b} using Euclid's algorithm.",
        "Define {fn}({a}, {b}) computing the GCD of two non-negative integers with a while loop.",
        "Implement `{fn}`, which finds the largest integer dividing both `{a}` and `{b}` (Euclid's method).",
    )
    cases = [
        (12, 18),
        (r.randint(1, 99), r.randint(1, 99)),
        (7, 0),
        (r.randint(2, 9) * 6, r.randint(2, 9) * 4),
    ]
    tests = _asserts(fn, cases, math.gcd)
    return _make(r, tpl, code, fn, tests, a=a, b=b)


# --------------------------------------------------------------------------------------------------
# strings
# --------------------------------------------------------------------------------------------------
def _reverse_string(r):
    fn, s = (
        _fn(r, ("reverse", "flip", "mirror", "invert", "backwards"), ("string", "text", "word", "str")),
        r.choice(STR_ARGS),
    )
    code = f"def {fn}({s}):\n    return {s}[::-1]"
    tpl = (
        "Write a function `{fn}({s})` that returns the string {s} reversed.",
        "Define {fn}({s}) which returns the characters of {s} in reverse order.",
        "Implement `{fn}` that takes a string `{s}` and gives it back backwards.",
    )
    tests = _asserts(
        fn, [(w,) for w in (r.choice(WORDS), "", "ab", " ".join(_words(r, 2, 3)))], lambda w: w[::-1]
    )
    return _make(r, tpl, code, fn, tests, s=s)


def _count_char(r):
    fn, s = _fn(r, ("count", "tally", "num"), ("char", "letter", "occurrences", "hits")), r.choice(STR_ARGS)
    c = r.choice("aeiorstn")
    code = f"def {fn}({s}):\n    return {s}.count('{c}')"
    tpl = (
        "Write a function `{fn}({s})` that returns how many times the letter '{c}' occurs in {s}.",
        "Define {fn}({s}) which counts the occurrences of '{c}' in the string {s}.",
        "Implement `{fn}`: return the number of '{c}' characters in `{s}`.",
    )
    tests = _asserts(
        fn, [(w,) for w in (" ".join(_words(r, 1, 4)), "", c * 3, r.choice(WORDS))], lambda w: w.count(c)
    )
    return _make(r, tpl, code, fn, tests, s=s, c=c)


def _repeat_join(r):
    fn, s = (
        _fn(r, ("repeat", "echo", "copy", "replicate"), ("text", "string", "word", "times")),
        r.choice(STR_ARGS),
    )
    k, sep = r.randint(2, 5), r.choice(("-", ", ", " ", "|", "+", ""))
    code = f"def {fn}({s}):\n    return {sep!r}.join([{s}] * {k})"
    tpl = (
        "Write a function `{fn}({s})` that returns {k} copies of {s} joined by {sep!r}.",
        "Define {fn}({s}) which repeats the string {s} {k} times, separated by {sep!r}.",
        "Implement `{fn}`: join {k} repetitions of `{s}` with the separator {sep!r}.",
    )
    tests = _asserts(fn, [(w,) for w in (r.choice(WORDS), "", "ab")], lambda w: sep.join([w] * k))
    return _make(r, tpl, code, fn, tests, s=s, k=k, sep=sep)


def _add_prefix(r):
    fn, s = (
        _fn(r, ("add", "prepend", "with", "attach"), ("prefix", "tag", "label", "header")),
        r.choice(STR_ARGS),
    )
    p = r.choice(("pre_", "x-", "Dr. ", ">> ", "item_", "tmp/", "#", "v", "key:", "log: "))
    code = f"def {fn}({s}):\n    return {p!r} + {s}"
    tpl = (
        "Write a function `{fn}({s})` that returns {s} with the prefix {p!r} added in front.",
        "Define {fn}({s}) which prepends the string {p!r} to {s}.",
        "Implement `{fn}` returning {p!r} followed by the string `{s}`.",
    )
    tests = _asserts(fn, [(w,) for w in (r.choice(WORDS), "", r.choice(NAME_WORDS))], lambda w: p + w)
    return _make(r, tpl, code, fn, tests, s=s, p=p)


def _is_palindrome(r):
    fn, s = (
        _fn(r, ("is", "check", "test", "looks"), ("palindrome", "palindromic", "symmetric", "mirrored")),
        r.choice(STR_ARGS),
    )
    code = f"def {fn}({s}):\n    return {s} == {s}[::-1]"
    tpl = (
        "Write a function `{fn}({s})` that returns True if the string {s} reads the same backwards.",
        "Define {fn}({s}) which checks whether {s} is a palindrome.",
        "Implement `{fn}`: return whether `{s}` equals its own reverse.",
    )
    cases = [
        (r.choice(("level", "kayak", "noon", "radar", "civic", "madam", "refer")),),
        (r.choice(("apple", "python", "robot", "tree")),),
        ("",),
    ]
    tests = _asserts(fn, cases, lambda w: w == w[::-1])
    return _make(r, tpl, code, fn, tests, s=s)


def _change_case(r):
    upper = r.random() < 0.5
    how = "upper" if upper else "lower"
    fn, s = _fn(r, ("to", "make", "convert", "as"), (how, f"{how}case", f"all_{how}")), r.choice(STR_ARGS)
    code = f"def {fn}({s}):\n    return {s}.{how}()"
    tpl = (
        "Write a function `{fn}({s})` that returns {s} converted to {how}case.",
        "Define {fn}({s}) which returns the string {s} with every letter in {how} case.",
        "Implement `{fn}` that turns all letters of `{s}` into {how}case.",
    )
    cases = [("Hello World",), (r.choice(WORDS).capitalize(),), ("MiXeD 42",)]
    tests = _asserts(fn, cases, lambda w: w.upper() if upper else w.lower())
    return _make(r, tpl, code, fn, tests, s=s, how=how)


def _count_vowels(r):
    fn, s = (
        _fn(r, ("count", "num", "tally", "how_many"), ("vowels", "vowel_chars", "aeiou")),
        r.choice(STR_ARGS),
    )
    code = f"def {fn}({s}):\n    return sum(1 for ch in {s} if ch in 'aeiou')"
    tpl = (
        "Write a function `{fn}({s})` that returns the number of lowercase vowels (a, e, i, o, u) in {s}.",
        "Define {fn}({s}) which counts how many characters of {s} are one of 'aeiou'.",
        "Implement `{fn}`: count the vowels a, e, i, o and u in the string `{s}`.",
    )
    tests = _asserts(
        fn,
        [(" ".join(_words(r, 1, 3)),), ("",), ("xyz",), (r.choice(WORDS),)],
        lambda w: sum(ch in "aeiou" for ch in w),
    )
    return _make(r, tpl, code, fn, tests, s=s)


def _replace_char(r):
    fn, s = (
        _fn(r, ("replace", "swap", "substitute", "change"), ("chars", "letters", "char", "symbols")),
        r.choice(STR_ARGS),
    )
    a, b = r.sample("aeiost_-*", 2)
    code = f"def {fn}({s}):\n    return {s}.replace({a!r}, {b!r})"
    tpl = (
        "Write a function `{fn}({s})` that replaces every {a!r} in {s} with {b!r}.",
        "Define {fn}({s}) which returns {s} with all occurrences of {a!r} changed to {b!r}.",
        "Implement `{fn}`: substitute {b!r} for each {a!r} in the string `{s}`.",
    )
    tests = _asserts(fn, [(" ".join(_words(r, 1, 3)),), ("",), (a * 2 + "x",)], lambda w: w.replace(a, b))
    return _make(r, tpl, code, fn, tests, s=s, a=a, b=b)


def _ends_with(r):
    fn, s = (
        _fn(r, ("has", "check", "ends_with", "is"), ("suffix", "ending", "extension", "tail")),
        r.choice(STR_ARGS),
    )
    suf = r.choice((".py", ".txt", "ing", "ed", "_test", ".csv", "er", "ly", ".json", "s"))
    code = f"def {fn}({s}):\n    return {s}.endswith({suf!r})"
    tpl = (
        "Write a function `{fn}({s})` that returns True if {s} ends with {suf!r}.",
        "Define {fn}({s}) which checks whether the string {s} has the suffix {suf!r}.",
        "Implement `{fn}`: return whether `{s}` ends in {suf!r}.",
    )
    tests = _asserts(fn, [(r.choice(WORDS) + suf,), (r.choice(WORDS),), ("",)], lambda w: w.endswith(suf))
    return _make(r, tpl, code, fn, tests, s=s, suf=suf)


def _word_count(r):
    fn, s = (
        _fn(r, ("count", "num", "number_of", "how_many"), ("words", "tokens", "terms")),
        r.choice(STR_ARGS),
    )
    code = f"def {fn}({s}):\n    return len({s}.split())"
    tpl = (
        "Write a function `{fn}({s})` that returns the number of whitespace-separated words in {s}.",
        "Define {fn}({s}) which counts the words of the sentence {s}.",
        "Implement `{fn}`: split `{s}` on whitespace and return how many words there are.",
    )
    tests = _asserts(fn, [(" ".join(_words(r, 1, 6)),), ("",), ("  two   words ",)], lambda w: len(w.split()))
    return _make(r, tpl, code, fn, tests, s=s)


def _initials(r):
    fn, s = _fn(r, ("get", "make", "build", "extract"), ("initials", "acronym", "abbrev")), r.choice(STR_ARGS)
    sep = r.choice(("", ".", "-"))
    code = f"def {fn}({s}):\n    return {sep!r}.join(w[0].upper() for w in {s}.split())"
    tpl = (
        "Write a function `{fn}({s})` that returns the uppercase first letters of the words in {s}, joined by {sep!r}.",
        "Define {fn}({s}) which builds an acronym from {s}: the first letter of each word, capitalized, separated by {sep!r}.",
        "Implement `{fn}`: take the initial of every word of `{s}` in upper case and join them with {sep!r}.",
    )
    tests = _asserts(
        fn,
        [(" ".join(_words(r, 1, 4)),), ("",), ("portable network graphics",)],
        lambda w: sep.join(t[0].upper() for t in w.split()),
    )
    return _make(r, tpl, code, fn, tests, s=s, sep=sep)


# --------------------------------------------------------------------------------------------------
# lists
# --------------------------------------------------------------------------------------------------
def _scale_values(r):
    fn, a = (
        _fn(r, ("scale", "multiply", "times", "stretch"), ("values", "list", "items", "all", "nums")),
        r.choice(LIST_ARGS),
    )
    k = r.randint(2, 12)
    code = f"def {fn}({a}):\n    return [x * {k} for x in {a}]"
    tpl = (
        "Write a function `{fn}({a})` that multiplies every element of the list `{a}` by {k}.",
        "Define {fn}({a}) which returns a new list with each number of {a} multiplied by {k}.",
        "Create a Python function named {fn} that returns the elements of {a}, each times {k}.",
    )
    tests = _asserts(fn, [(_ints(r, 1),), ([],), (_ints(r, 2),)], lambda xs: [x * k for x in xs])
    return _make(r, tpl, code, fn, tests, a=a, k=k)


def _filter_greater(r):
    fn, a = (
        _fn(r, ("keep", "filter", "select", "only"), ("large", "above", "greater", "big")),
        r.choice(LIST_ARGS),
    )
    k = r.randint(-5, 15)
    code = f"def {fn}({a}):\n    return [x for x in {a} if x > {k}]"
    tpl = (
        "Write a function `{fn}({a})` that returns the elements of {a} that are greater than {k}.",
        "Define {fn}({a}) which keeps only the numbers in {a} larger than {k}, in order.",
        "Implement `{fn}`: filter the list `{a}` down to the values strictly above {k}.",
    )
    tests = _asserts(fn, [(_ints(r, 2, 7),), ([],), ([k, k + 1],)], lambda xs: [x for x in xs if x > k])
    return _make(r, tpl, code, fn, tests, a=a, k=k)


def _sum_of_squares(r):
    fn, a = (
        _fn(r, ("sum", "total", "add", "accumulate"), ("squares", "of_squares", "squared")),
        r.choice(LIST_ARGS),
    )
    code = f"def {fn}({a}):\n    return sum(x * x for x in {a})"
    tpl = (
        "Write a function `{fn}({a})` that returns the sum of the squares of the numbers in {a}.",
        "Define {fn}({a}) which squares every element of {a} and adds them up.",
        "Implement `{fn}`: return the total of x*x over all x in the list `{a}`.",
    )
    tests = _asserts(fn, [(_ints(r, 1),), ([],), ([3, 4],)], lambda xs: sum(x * x for x in xs))
    return _make(r, tpl, code, fn, tests, a=a)


def _count_equal(r):
    fn, a = (
        _fn(r, ("count", "how_many", "tally"), ("matches", "equal", "hits", "target")),
        r.choice(LIST_ARGS),
    )
    k = r.randint(0, 9)
    code = f"def {fn}({a}):\n    return {a}.count({k})"
    tpl = (
        "Write a function `{fn}({a})` that returns how many times the number {k} appears in {a}.",
        "Define {fn}({a}) which counts the elements of {a} equal to {k}.",
        "Implement `{fn}`: return the number of occurrences of {k} in the list `{a}`.",
    )
    tests = _asserts(fn, [(_ints(r, 2, 8, 0, 9),), ([],), ([k, k, k + 1],)], lambda xs: xs.count(k))
    return _make(r, tpl, code, fn, tests, a=a, k=k)


def _largest_loop(r):
    fn, a = (
        _fn(r, ("find", "get", "largest", "max"), ("max", "largest", "biggest", "value")),
        r.choice(LIST_ARGS),
    )
    code = f"def {fn}({a}):\n    best = {a}[0]\n    for x in {a}:\n        if x > best:\n            best = x\n    return best"
    tpl = (
        "Write a function `{fn}({a})` that returns the largest element of the non-empty list {a} using a loop, not max().",
        "Define {fn}({a}) which scans the non-empty list {a} with a for loop and returns its maximum.",
        "Implement `{fn}`: loop over `{a}` (never empty), keep the biggest value seen so far and return it.",
    )
    tests = _asserts(fn, [(_ints(r, 1),), ([-3, -7],), ([r.randint(0, 9)],)], max)
    return _make(r, tpl, code, fn, tests, a=a)


def _take_first(r):
    fn, a = (
        _fn(r, ("first", "take", "head", "leading"), ("items", "elements", "few", "n")),
        r.choice(LIST_ARGS),
    )
    k = r.randint(1, 5)
    code = f"def {fn}({a}):\n    return {a}[:{k}]"
    tpl = (
        "Write a function `{fn}({a})` that returns the first {k} elements of {a}.",
        "Define {fn}({a}) which returns a list of at most {k} leading items of {a}.",
        "Implement `{fn}`: slice the list `{a}` to keep its first {k} elements.",
    )
    tests = _asserts(fn, [(_ints(r, 6, 8),), ([],), (_ints(r, 1, 2),)], lambda xs: xs[:k])
    return _make(r, tpl, code, fn, tests, a=a, k=k)


def _remove_value(r):
    fn, a = (
        _fn(r, ("remove", "drop", "without", "strip"), ("value", "all", "occurrences", "target")),
        r.choice(LIST_ARGS),
    )
    k = r.randint(0, 9)
    code = f"def {fn}({a}):\n    return [x for x in {a} if x != {k}]"
    tpl = (
        "Write a function `{fn}({a})` that returns {a} with every occurrence of {k} removed.",
        "Define {fn}({a}) which returns a new list containing the elements of {a} that are not equal to {k}.",
        "Implement `{fn}`: drop all the {k}s from the list `{a}`.",
    )
    tests = _asserts(
        fn, [(_ints(r, 2, 8, 0, 9) + [k],), ([],), ([k, k],)], lambda xs: [x for x in xs if x != k]
    )
    return _make(r, tpl, code, fn, tests, a=a, k=k)


def _pairwise_op(r):
    op, word = r.choice((("+", "sums"), ("*", "products"), ("-", "differences")))
    fn = _fn(r, ("pairwise", "elementwise", "zip"), (word, word.rstrip("s"), f"{word}_of"))
    a, b = r.sample(("xs", "ys", "a", "b", "left", "right", "first", "second", "u", "v"), 2)
    code = f"def {fn}({a}, {b}):\n    return [x {op} y for x, y in zip({a}, {b})]"
    tpl = (
        "Write a function `{fn}({a}, {b})` that returns the element-wise {word} x {op} y of the lists {a} and {b}.",
        "Define {fn}({a}, {b}) which pairs up {a} and {b} with zip and returns x {op} y for each pair.",
        "Implement `{fn}`: for each position, combine `{a}` and `{b}` with {op} and return the list of {word}.",
    )
    ops = {"+": lambda x, y: x + y, "*": lambda x, y: x * y, "-": lambda x, y: x - y}[op]
    n = r.randint(1, 5)
    cases = [(_ints(r, n, n), _ints(r, n, n)), ([], []), ([1, 2, 3], [4, 5])]
    tests = _asserts(fn, cases, lambda xs, ys: [ops(x, y) for x, y in zip(xs, ys)])
    return _make(r, tpl, code, fn, tests, a=a, b=b, op=op, word=word)


def _running_total(r):
    fn, a = (
        _fn(r, ("running", "cumulative", "prefix", "partial"), ("total", "sums", "sum", "totals")),
        r.choice(LIST_ARGS),
    )
    t = r.choice(("total", "acc", "running", "s"))
    code = f"def {fn}({a}):\n    out, {t} = [], 0\n    for x in {a}:\n        {t} += x\n        out.append({t})\n    return out"
    tpl = (
        "Write a function `{fn}({a})` that returns the running totals of {a} (the i-th output is the sum of the first i+1 items); call the accumulator `{t}`.",
        "Define {fn}({a}) which returns the cumulative sums of {a}, keeping the sum so far in a variable `{t}`.",
        "Implement `{fn}`: loop over `{a}`, add each element to `{t}` and collect the partial sums in a list.",
    )

    def expect(xs):
        out, s = [], 0
        for x in xs:
            s += x
            out.append(s)
        return out

    tests = _asserts(fn, [(_ints(r, 1),), ([],), ([1, 1, 1],)], expect)
    return _make(r, tpl, code, fn, tests, a=a, t=t)


def _keep_parity(r):
    even = r.random() < 0.5
    word, rem = ("even", 0) if even else ("odd", 1)
    fn, a = (
        _fn(r, ("keep", "get", "only", "filter"), (word, f"{word}s", f"{word}_numbers")),
        r.choice(LIST_ARGS),
    )
    code = f"def {fn}({a}):\n    return [x for x in {a} if x % 2 == {rem}]"
    tpl = (
        "Write a function `{fn}({a})` that returns the {word} numbers of {a} in their original order.",
        "Define {fn}({a}) which keeps the elements x of {a} with x % 2 == {rem}.",
        "Implement `{fn}`: filter the list `{a}` to its {word} values.",
    )
    tests = _asserts(
        fn, [(_ints(r, 2, 8),), ([],), ([1, 2, 3, 4],)], lambda xs: [x for x in xs if x % 2 == rem]
    )
    return _make(r, tpl, code, fn, tests, a=a, word=word, rem=rem)


def _flatten(r):
    fn, a = (
        _fn(r, ("flatten", "concat", "merge", "join"), ("rows", "lists", "nested", "grid", "all")),
        r.choice(("rows", "grid", "lists", "nested", "matrix", "chunks")),
    )
    code = f"def {fn}({a}):\n    return [x for row in {a} for x in row]"
    tpl = (
        "Write a function `{fn}({a})` that flattens the list of lists {a} into a single list.",
        "Define {fn}({a}) which concatenates the inner lists of {a}, in order, into one list.",
        "Implement `{fn}`: given `{a}`, a list of lists, return all their elements in one flat list.",
    )
    tests = _asserts(
        fn,
        [([_ints(r, 0, 3) for _ in range(r.randint(1, 3))],), ([],), ([[1], [], [2, 3]],)],
        lambda rows: [x for row in rows for x in row],
    )
    return _make(r, tpl, code, fn, tests, a=a)


def _unique_ordered(r):
    fn, a = (
        _fn(r, ("unique", "dedupe", "distinct", "remove"), ("items", "values", "elements", "duplicates")),
        r.choice(LIST_ARGS),
    )
    code = f"def {fn}({a}):\n    seen = []\n    for x in {a}:\n        if x not in seen:\n            seen.append(x)\n    return seen"
    tpl = (
        "Write a function `{fn}({a})` that returns the distinct elements of {a}, keeping the order of first appearance.",
        "Define {fn}({a}) which removes duplicates from {a} while preserving order, using a loop and a list `seen`.",
        "Implement `{fn}`: collect each value of `{a}` the first time it appears and return that list.",
    )
    tests = _asserts(
        fn, [(_ints(r, 3, 8, 0, 5),), ([],), ([2, 2, 1, 2],)], lambda xs: list(dict.fromkeys(xs))
    )
    return _make(r, tpl, code, fn, tests, a=a)


def _average(r):
    fn, a = _fn(r, ("average", "mean", "avg"), ("of", "value", "list", "score")), r.choice(LIST_ARGS)
    default = r.choice((0, 0.0, -1, None))
    code = f"def {fn}({a}):\n    if not {a}:\n        return {default!r}\n    return sum({a}) / len({a})"
    tpl = (
        "Write a function `{fn}({a})` that returns the arithmetic mean of {a}, or {default!r} if the list is empty.",
        "Define {fn}({a}) which returns sum({a}) / len({a}), and {default!r} for an empty list.",
        "Implement `{fn}`: the average of the numbers in `{a}`; return {default!r} when `{a}` is empty.",
    )
    tests = _asserts(
        fn,
        [([2, 4, 6],), ([],), ([r.randint(0, 9) * 2, r.randint(0, 9) * 2],)],
        lambda xs: sum(xs) / len(xs) if xs else default,
    )
    return _make(r, tpl, code, fn, tests, a=a, default=default)


# --------------------------------------------------------------------------------------------------
# dicts
# --------------------------------------------------------------------------------------------------
def _word_frequencies(r):
    fn, s = (
        _fn(r, ("word", "count", "tally"), ("frequencies", "counts", "histogram", "freq")),
        r.choice(STR_ARGS),
    )
    c = r.choice(("counts", "freq", "table", "result", "tally"))
    code = f"def {fn}({s}):\n    {c} = {{}}\n    for w in {s}.split():\n        {c}[w] = {c}.get(w, 0) + 1\n    return {c}"
    tpl = (
        "Write a function `{fn}({s})` that returns a dict `{c}` mapping each word of {s} to the number of times it occurs.",
        "Define {fn}({s}) which splits {s} on whitespace and counts each word in a dictionary named {c}.",
        "Implement `{fn}`: build and return a dict `{c}` of word -> count for the sentence `{s}`.",
    )

    def expect(t):
        out: dict = {}
        for w in t.split():
            out[w] = out.get(w, 0) + 1
        return out

    tests = _asserts(fn, [(" ".join(_words(r, 2, 6)),), ("",), ("a b a",)], expect)
    return _make(r, tpl, code, fn, tests, s=s, c=c)


def _invert_dict(r):
    fn, d = (
        _fn(r, ("invert", "reverse", "flip", "swap"), ("dict", "mapping", "table", "keys")),
        r.choice(DICT_ARGS),
    )
    code = f"def {fn}({d}):\n    return {{v: k for k, v in {d}.items()}}"
    tpl = (
        "Write a function `{fn}({d})` that returns a new dict with the keys and values of {d} swapped.",
        "Define {fn}({d}) which inverts the dictionary {d}, mapping each value to its key.",
        "Implement `{fn}`: given `{d}`, return a dict from values to keys.",
    )
    keys = r.sample(NAME_WORDS, r.randint(1, 4))
    cases = [({k: i + 1 for i, k in enumerate(keys)},), ({},), ({"x": "y"},)]
    tests = _asserts(fn, cases, lambda m: {v: k for k, v in m.items()})
    return _make(r, tpl, code, fn, tests, d=d)


def _get_default(r):
    fn, d = (
        _fn(r, ("lookup", "get", "fetch", "read"), ("or_default", "value", "safe", "entry")),
        r.choice(DICT_ARGS),
    )
    key = r.choice(("key", "name", "k", "field"))
    default = r.choice((0, -1, None, "missing", "", 100, "?"))
    code = f"def {fn}({d}, {key}):\n    return {d}.get({key}, {default!r})"
    tpl = (
        "Write a function `{fn}({d}, {key})` that returns {d}[{key}] if the key exists and {default!r} otherwise.",
        "Define {fn}({d}, {key}) which looks up {key} in the dict {d}, falling back to {default!r}.",
        "Implement `{fn}`: return the value stored under `{key}` in `{d}`, or {default!r} when it is absent.",
    )
    m = {k: r.randint(1, 50) for k in r.sample(NAME_WORDS, 3)}
    present = r.choice(list(m))
    tests = _asserts(fn, [(m, present), (m, "zzz"), ({}, "a")], lambda mm, k: mm.get(k, default))
    return _make(r, tpl, code, fn, tests, d=d, key=key, default=default)


def _argmax_key(r):
    fn, d = _fn(r, ("best", "top", "max", "highest"), ("key", "scorer", "entry", "name")), r.choice(DICT_ARGS)
    code = f"def {fn}({d}):\n    return max({d}, key={d}.get)"
    tpl = (
        "Write a function `{fn}({d})` that returns the key of the non-empty dict {d} with the largest value.",
        "Define {fn}({d}) which finds the key whose value in {d} is the maximum.",
        "Implement `{fn}`: return the key of `{d}` (never empty) that maps to the biggest value.",
    )
    keys = r.sample(NAME_WORDS, r.randint(2, 5))
    vals = r.sample(range(100), len(keys))
    tests = _asserts(fn, [(dict(zip(keys, vals)),), ({"only": 1},)], lambda m: max(m, key=m.get))
    return _make(r, tpl, code, fn, tests, d=d)


def _merge_dicts(r):
    fn = _fn(r, ("merge", "combine", "join", "update"), ("dicts", "configs", "mappings", "tables"))
    a, b = r.sample(("a", "b", "base", "extra", "left", "right", "defaults", "overrides"), 2)
    code = f"def {fn}({a}, {b}):\n    out = dict({a})\n    out.update({b})\n    return out"
    tpl = (
        "Write a function `{fn}({a}, {b})` that returns a new dict with the items of {a} and {b}; values from {b} win on conflicts.",
        "Define {fn}({a}, {b}) which copies {a}, updates the copy with {b} and returns it without changing the inputs.",
        "Implement `{fn}`: merge `{b}` into a copy of `{a}` (keys of `{b}` take precedence).",
    )
    k = r.sample(NAME_WORDS, 3)
    cases = [({k[0]: 1, k[1]: 2}, {k[1]: 20, k[2]: 30}), ({}, {}), ({"x": 1}, {})]
    tests = _asserts(fn, cases, lambda x, y: {**x, **y})
    return _make(r, tpl, code, fn, tests, a=a, b=b)


def _filter_dict(r):
    fn, d = (
        _fn(r, ("filter", "keep", "select", "pick"), ("high", "passing", "above", "large")),
        r.choice(DICT_ARGS),
    )
    k = r.randint(1, 60)
    code = f"def {fn}({d}):\n    return {{k: v for k, v in {d}.items() if v >= {k}}}"
    tpl = (
        "Write a function `{fn}({d})` that returns the items of the dict {d} whose value is at least {k}.",
        "Define {fn}({d}) which keeps only the entries of {d} with a value >= {k}.",
        "Implement `{fn}`: a dict comprehension over `{d}` that keeps values greater than or equal to {k}.",
    )
    names = r.sample(NAME_WORDS, 4)
    m = {n: r.randint(0, 80) for n in names}
    tests = _asserts(
        fn, [(m,), ({},), ({"a": k, "b": k - 1},)], lambda mm: {a: v for a, v in mm.items() if v >= k}
    )
    return _make(r, tpl, code, fn, tests, d=d, k=k)


def _group_by_length(r):
    fn, a = (
        _fn(
            r, ("group", "bucket", "index", "cluster", "split"), ("by_length", "by_len", "lengths", "by_size")
        ),
        r.choice(("words", "names", "items", "tokens", "strings")),
    )
    code = f"def {fn}({a}):\n    groups = {{}}\n    for w in {a}:\n        groups.setdefault(len(w), []).append(w)\n    return groups"
    tpl = (
        "Write a function `{fn}({a})` that returns a dict mapping each word length to the list of words in {a} with that length.",
        "Define {fn}({a}) which groups the strings of {a} by their length into a dict of lists, keeping order.",
        "Implement `{fn}`: build a dict from length to the words of `{a}` having that length.",
    )

    def expect(ws):
        out: dict = {}
        for w in ws:
            out.setdefault(len(w), []).append(w)
        return out

    tests = _asserts(fn, [(_words(r, 2, 6),), ([],), (["a", "bb", "c"],)], expect)
    return _make(r, tpl, code, fn, tests, a=a)


# --------------------------------------------------------------------------------------------------
# loops
# --------------------------------------------------------------------------------------------------
def _factorial_loop(r):
    fn, n = _fn(r, ("factorial", "fact", "product_upto"), ("iter", "loop", "of", "n")), r.choice(INT_ARGS)
    acc = r.choice(("result", "prod", "acc", "total"))
    code = f"def {fn}({n}):\n    {acc} = 1\n    for i in range(2, {n} + 1):\n        {acc} *= i\n    return {acc}"
    tpl = (
        "Write a function `{fn}({n})` that returns {n}! using a for loop and an accumulator `{acc}`.",
        "Define {fn}({n}) which computes the factorial of {n} iteratively, multiplying into `{acc}`.",
        "Implement `{fn}`: multiply the integers 2..{n} together in a loop (store the product in `{acc}`).",
    )
    tests = _asserts(fn, [(0,), (1,), (r.randint(3, 10),)], math.factorial)
    return _make(r, tpl, code, fn, tests, n=n, acc=acc)


def _fizz_label(r):
    fn, n = (
        _fn(r, ("label", "classify", "fizz", "tag"), ("number", "num", "value", "buzz")),
        r.choice(INT_ARGS),
    )
    a, b = r.sample((2, 3, 4, 5, 6, 7, 11), 2)
    w1, w2 = r.sample(("Fizz", "Buzz", "Foo", "Bar", "Ping", "Pong", "Hi", "Yo"), 2)
    code = f"def {fn}({n}):\n    if {n} % {a} == 0:\n        return {w1!r}\n    if {n} % {b} == 0:\n        return {w2!r}\n    return str({n})"
    tpl = (
        "Write a function `{fn}({n})` that returns {w1!r} if {n} is divisible by {a}, otherwise {w2!r} if it is divisible by {b}, otherwise {n} as a string.",
        "Define {fn}({n}): return {w1!r} for multiples of {a}, else {w2!r} for multiples of {b}, else str({n}).",
        "Implement `{fn}` which labels `{n}`: {w1!r} when {a} divides it, then {w2!r} when {b} divides it, else its decimal string.",
    )
    cases = [(a * b,), (b * (a + 1) if (b * (a + 1)) % a else b,), (r.randint(1, 99),), (1,)]
    tests = _asserts(fn, cases, lambda v: w1 if v % a == 0 else (w2 if v % b == 0 else str(v)))
    return _make(r, tpl, code, fn, tests, n=n, a=a, b=b, w1=w1, w2=w2)


def _sum_multiples(r):
    fn, n = _fn(r, ("sum", "total", "add"), ("multiples", "of_multiples", "steps")), r.choice(INT_ARGS)
    k = r.randint(2, 9)
    code = f"def {fn}({n}):\n    total = 0\n    for i in range(0, {n}, {k}):\n        total += i\n    return total"
    tpl = (
        "Write a function `{fn}({n})` that returns the sum of all multiples of {k} that are smaller than {n}, using a loop.",
        "Define {fn}({n}) which adds up 0, {k}, 2*{k}, ... for every multiple of {k} below {n}.",
        "Implement `{fn}`: loop over range(0, {n}, {k}) and return the total.",
    )
    tests = _asserts(fn, [(0,), (k + 1,), (r.randint(10, 100),)], lambda v: sum(range(0, v, k)))
    return _make(r, tpl, code, fn, tests, n=n, k=k)


def _count_digits(r):
    fn, n = (
        _fn(r, ("count", "num", "number_of", "how_many"), ("digits", "places", "figures")),
        r.choice(INT_ARGS),
    )
    code = f"def {fn}({n}):\n    count = 1\n    while {n} >= 10:\n        {n} //= 10\n        count += 1\n    return count"
    tpl = (
        "Write a function `{fn}({n})` that returns how many decimal digits the non-negative integer {n} has, using a while loop.",
        "Define {fn}({n}) which counts the digits of {n} (>= 0) by repeatedly dividing it by 10.",
        "Implement `{fn}`: the number of digits of `{n}`; 0 has one digit.",
    )
    tests = _asserts(fn, [(0,), (9,), (10,), (r.randint(100, 99999),)], lambda v: len(str(v)))
    return _make(r, tpl, code, fn, tests, n=n)


def _collatz_steps(r):
    fn, n = (
        _fn(r, ("collatz", "hailstone", "count", "orbit"), ("steps", "length", "moves")),
        r.choice(INT_ARGS),
    )
    code = f"def {fn}({n}):\n    steps = 0\n    while {n} != 1:\n        {n} = {n} // 2 if {n} % 2 == 0 else 3 * {n} + 1\n        steps += 1\n    return steps"
    tpl = (
        "Write a function `{fn}({n})` that returns how many Collatz steps it takes for {n} to reach 1 (halve if even, else 3n+1).",
        "Define {fn}({n}) which counts the steps of the hailstone sequence starting at {n} until it hits 1.",
        "Implement `{fn}`: while `{n}` is not 1, replace it by {n}//2 when even or 3*{n}+1 when odd; return the number of steps.",
    )

    def expect(v):
        s = 0
        while v != 1:
            v = v // 2 if v % 2 == 0 else 3 * v + 1
            s += 1
        return s

    tests = _asserts(fn, [(1,), (6,), (r.randint(2, 60),)], expect)
    return _make(r, tpl, code, fn, tests, n=n)


def _digit_sum(r):
    fn, n = _fn(r, ("digit", "sum", "add", "total"), ("sum", "digits", "of_digits")), r.choice(INT_ARGS)
    code = f"def {fn}({n}):\n    total = 0\n    while {n} > 0:\n        total += {n} % 10\n        {n} //= 10\n    return total"
    tpl = (
        "Write a function `{fn}({n})` that returns the sum of the decimal digits of the non-negative integer {n}.",
        "Define {fn}({n}) which adds up the digits of {n} using % 10 and // 10 in a while loop.",
        "Implement `{fn}`: digit sum of `{n}`, e.g. 123 gives 6.",
    )
    tests = _asserts(fn, [(0,), (123,), (r.randint(1000, 999999),)], lambda v: sum(int(c) for c in str(v)))
    return _make(r, tpl, code, fn, tests, n=n)


def _countdown_list(r):
    fn, n = (
        _fn(r, ("countdown", "count_down", "descending"), ("list", "from", "range", "steps")),
        r.choice(INT_ARGS),
    )
    step = r.randint(1, 4)
    code = f"def {fn}({n}):\n    return list(range({n}, 0, -{step}))"
    tpl = (
        "Write a function `{fn}({n})` that returns the list {n}, {n}-{step}, {n}-2*{step}, ... of the positive numbers counting down by {step}.",
        "Define {fn}({n}) which counts down from {n} in steps of {step}, stopping before reaching 0 or below, and returns the list.",
        "Implement `{fn}`: return list(range({n}, 0, -{step})).",
    )
    tests = _asserts(fn, [(0,), (10,), (r.randint(1, 20),), (step,)], lambda v: list(range(v, 0, -step)))
    return _make(r, tpl, code, fn, tests, n=n, step=step)


# --------------------------------------------------------------------------------------------------
# recursion
# --------------------------------------------------------------------------------------------------
def _fib_recursive(r):
    fn, n = _fn(r, ("fib", "fibonacci", "fibo"), ("rec", "recursive", "num", "term")), r.choice(INT_ARGS)
    a, b = r.choice(((0, 1), (1, 1), (2, 1), (1, 2), (0, 2), (3, 4)))
    code = f"def {fn}({n}):\n    if {n} == 0:\n        return {a}\n    if {n} == 1:\n        return {b}\n    return {fn}({n} - 1) + {fn}({n} - 2)"
    tpl = (
        "Write a recursive function `{fn}({n})` returning the {n}-th term of the sequence with term 0 = {a}, term 1 = {b} and each later term the sum of the previous two.",
        "Define {fn}({n}) recursively: {fn}(0) is {a}, {fn}(1) is {b}, otherwise {fn}({n}-1) + {fn}({n}-2).",
        "Implement the Fibonacci-like `{fn}({n})` recursively, with starting values {a} and {b}.",
    )

    def expect(v):
        x, y = a, b
        for _ in range(v):
            x, y = y, x + y
        return x

    tests = _asserts(fn, [(0,), (1,), (r.randint(2, 12),)], expect)
    return _make(r, tpl, code, fn, tests, n=n, a=a, b=b)


def _power_recursive(r):
    fn = _fn(r, ("power", "pow", "exp"), ("rec", "recursive", "of"))
    b, e = r.sample(("base", "b", "x", "exp", "e", "n", "k", "p"), 2)
    code = f"def {fn}({b}, {e}):\n    if {e} == 0:\n        return 1\n    return {b} * {fn}({b}, {e} - 1)"
    tpl = (
        "Write a recursive function `{fn}({b}, {e})` that returns {b} to the power {e} (a non-negative integer) without using **.",
        "Define {fn}({b}, {e}) recursively: 1 when {e} is 0, else {b} times {fn}({b}, {e} - 1).",
        "Implement `{fn}`: raise `{b}` to the non-negative integer power `{e}` by recursion.",
    )
    tests = _asserts(
        fn, [(2, 10), (r.randint(-5, 9), 0), (r.randint(-5, 9), r.randint(1, 5))], lambda x, y: x**y
    )
    return _make(r, tpl, code, fn, tests, b=b, e=e)


def _sum_recursive(r):
    fn, a = (
        _fn(r, ("sum", "total", "add", "accumulate"), ("rec", "recursive", "list_rec")),
        r.choice(LIST_ARGS),
    )
    code = f"def {fn}({a}):\n    if not {a}:\n        return 0\n    return {a}[0] + {fn}({a}[1:])"
    tpl = (
        "Write a recursive function `{fn}({a})` that returns the sum of the list {a} without using sum() or a loop.",
        "Define {fn}({a}) recursively: 0 for an empty list, else the first element plus {fn} of the rest.",
        "Implement `{fn}`: add up `{a}` by recursion on its head and tail.",
    )
    tests = _asserts(fn, [([],), (_ints(r, 1),), ([5],)], sum)
    return _make(r, tpl, code, fn, tests, a=a)


def _nested_depth(r):
    fn, a = (
        _fn(r, ("depth", "nesting", "max_depth", "deepest"), ("of", "level", "list", "nested")),
        r.choice(("xs", "nested", "tree", "items", "lst")),
    )
    code = f"def {fn}({a}):\n    if not isinstance({a}, list):\n        return 0\n    return 1 + max(({fn}(x) for x in {a}), default=0)"
    tpl = (
        "Write a recursive function `{fn}({a})` returning the nesting depth of {a}: 0 for a non-list, 1 + the deepest element for a list.",
        "Define {fn}({a}) which returns how deeply lists are nested in {a}, recursively (an empty list has depth 1, a number 0).",
        "Implement `{fn}`: recursive depth of the nested list `{a}`; non-lists count as 0.",
    )

    def expect(v):
        return 1 + max((expect(x) for x in v), default=0) if isinstance(v, list) else 0

    cases = [([],), (5,), ([1, [2, [3]]],), ([r.randint(0, 9), [r.randint(0, 9)]],)]
    tests = _asserts(fn, cases, expect)
    return _make(r, tpl, code, fn, tests, a=a)


def _count_down_string(r):
    fn, s = (
        _fn(r, ("reverse", "flip", "backwards", "mirror"), ("rec", "recursive", "recursively")),
        r.choice(STR_ARGS),
    )
    code = f"def {fn}({s}):\n    if {s} == '':\n        return ''\n    return {fn}({s}[1:]) + {s}[0]"
    tpl = (
        "Write a recursive function `{fn}({s})` that reverses the string {s} without slicing with [::-1].",
        "Define {fn}({s}) recursively: the empty string stays empty, otherwise reverse the rest and append the first character.",
        "Implement `{fn}`: reverse `{s}` by recursion.",
    )
    tests = _asserts(fn, [("",), (r.choice(WORDS),), ("ab",)], lambda w: w[::-1])
    return _make(r, tpl, code, fn, tests, s=s)


def _binomial(r):
    fn = _fn(r, ("choose", "binom", "combinations"), ("rec", "count", "nk"))
    n, k = r.sample(("n", "k", "m", "r", "total", "pick"), 2)
    code = f"def {fn}({n}, {k}):\n    if {k} == 0 or {k} == {n}:\n        return 1\n    return {fn}({n} - 1, {k} - 1) + {fn}({n} - 1, {k})"
    tpl = (
        "Write a recursive function `{fn}({n}, {k})` that returns the binomial coefficient C({n}, {k}) using Pascal's rule, for 0 <= {k} <= {n}.",
        "Define {fn}({n}, {k}) recursively: 1 if {k} is 0 or equals {n}, else {fn}({n}-1, {k}-1) + {fn}({n}-1, {k}).",
        "Implement `{fn}`: the number of ways to choose `{k}` items from `{n}`, by Pascal's triangle recursion.",
    )
    tests = _asserts(fn, [(5, 2), (4, 0), (r.randint(3, 10), 3)], math.comb)
    return _make(r, tpl, code, fn, tests, n=n, k=k)


# --------------------------------------------------------------------------------------------------
# sorting
# --------------------------------------------------------------------------------------------------
def _sort_direction(r):
    desc = r.random() < 0.5
    word = "descending" if desc else "ascending"
    fn, a = (
        _fn(r, ("sort", "order", "sorted"), (word, "desc" if desc else "asc", "values")),
        r.choice(LIST_ARGS),
    )
    code = (
        f"def {fn}({a}):\n    return sorted({a}, reverse=True)"
        if desc
        else f"def {fn}({a}):\n    return sorted({a})"
    )
    tpl = (
        "Write a function `{fn}({a})` that returns a new list with the elements of {a} in {word} order.",
        "Define {fn}({a}) which sorts {a} in {word} order without modifying it.",
        "Implement `{fn}`: return `{a}` sorted, {word}.",
    )
    tests = _asserts(fn, [(_ints(r, 2, 7),), ([],)], lambda xs: sorted(xs, reverse=desc))
    return _make(r, tpl, code, fn, tests, a=a, word=word)


def _sort_by_length(r):
    fn, a = (
        _fn(
            r,
            ("sort", "order", "arrange", "rank", "sorted"),
            ("by_length", "by_len", "shortest_first", "by_size"),
        ),
        r.choice(("words", "names", "strings", "tokens", "items")),
    )
    code = f"def {fn}({a}):\n    return sorted({a}, key=len)"
    tpl = (
        "Write a function `{fn}({a})` that returns the strings of {a} sorted from shortest to longest (stable for ties).",
        "Define {fn}({a}) which sorts the list of words {a} by length.",
        "Implement `{fn}`: order `{a}` by len, shortest first.",
    )
    tests = _asserts(fn, [(_words(r, 2, 6),), ([],), (["ccc", "a", "bb"],)], lambda ws: sorted(ws, key=len))
    return _make(r, tpl, code, fn, tests, a=a)


def _sort_records(r):
    fn, a = (
        _fn(r, ("sort", "order", "rank"), ("records", "people", "rows", "entries")),
        r.choice(("records", "people", "rows", "entries", "items")),
    )
    key = r.choice(("age", "score", "price", "size", "rank", "year"))
    code = f"def {fn}({a}):\n    return sorted({a}, key=lambda d: d[{key!r}])"
    tpl = (
        "Write a function `{fn}({a})` that sorts the list of dicts {a} by their {key!r} value, ascending.",
        "Define {fn}({a}) which returns the dictionaries in {a} ordered by the key {key!r}.",
        "Implement `{fn}`: sort `{a}` (a list of dicts) on d[{key!r}] with a lambda key.",
    )
    names = r.sample(NAME_WORDS, 3)
    recs = [{"name": n, key: r.randint(1, 90)} for n in names]
    tests = _asserts(fn, [(recs,), ([],)], lambda rs: sorted(rs, key=lambda d: d[key]))
    return _make(r, tpl, code, fn, tests, a=a, key=key)


def _k_smallest(r):
    fn, a = _fn(r, ("smallest", "lowest", "bottom", "min"), ("k", "few", "values", "n")), r.choice(LIST_ARGS)
    k = r.randint(1, 4)
    code = f"def {fn}({a}):\n    return sorted({a})[:{k}]"
    tpl = (
        "Write a function `{fn}({a})` that returns the {k} smallest elements of {a} in ascending order.",
        "Define {fn}({a}) which sorts {a} and returns its first {k} values.",
        "Implement `{fn}`: the {k} lowest numbers of `{a}`, smallest first.",
    )
    tests = _asserts(fn, [(_ints(r, 5, 8),), ([],), ([3, 1],)], lambda xs: sorted(xs)[:k])
    return _make(r, tpl, code, fn, tests, a=a, k=k)


def _bubble_sort(r):
    fn, a = _fn(r, ("bubble", "swap", "simple", "naive"), ("sort", "sorted", "order")), r.choice(LIST_ARGS)
    code = (
        f"def {fn}({a}):\n    {a} = list({a})\n    for i in range(len({a})):\n        for j in range(len({a}) - 1 - i):\n"
        f"            if {a}[j] > {a}[j + 1]:\n                {a}[j], {a}[j + 1] = {a}[j + 1], {a}[j]\n    return {a}"
    )
    tpl = (
        "Write a function `{fn}({a})` that returns a sorted copy of {a} using bubble sort.",
        "Define {fn}({a}) which copies {a} and sorts it ascending by repeatedly swapping adjacent out-of-order items.",
        "Implement bubble sort as `{fn}`: sort a copy of `{a}` with two nested loops and return it.",
    )
    tests = _asserts(fn, [(_ints(r, 3, 8),), ([],), ([2, 1],)], sorted)
    return _make(r, tpl, code, fn, tests, a=a)


# --------------------------------------------------------------------------------------------------
# searching
# --------------------------------------------------------------------------------------------------
def _linear_search(r):
    fn, a = (
        _fn(r, ("find", "index", "search", "locate"), ("index", "of", "item", "position")),
        r.choice(LIST_ARGS),
    )
    t = r.choice(("target", "key", "needle", "item", "value"))
    miss = r.choice((-1, None))
    code = f"def {fn}({a}, {t}):\n    for i, x in enumerate({a}):\n        if x == {t}:\n            return i\n    return {miss!r}"
    tpl = (
        "Write a function `{fn}({a}, {t})` that returns the index of the first occurrence of {t} in {a}, or {miss!r} if it is absent, using a loop.",
        "Define {fn}({a}, {t}) which scans {a} with enumerate and returns the position of {t}, else {miss!r}.",
        "Implement a linear search `{fn}`: the first index where `{a}` equals `{t}`; {miss!r} when not found.",
    )
    xs = _ints(r, 3, 8, 0, 9)
    tests = _asserts(
        fn, [(xs, r.choice(xs)), (xs, 42), ([], 1)], lambda ys, v: ys.index(v) if v in ys else miss
    )
    return _make(r, tpl, code, fn, tests, a=a, t=t, miss=miss)


def _binary_search(r):
    fn, a = _fn(r, ("binary", "bisect", "bin"), ("search", "find", "lookup")), r.choice(LIST_ARGS)
    t = r.choice(("target", "key", "x", "value"))
    code = (
        f"def {fn}({a}, {t}):\n    lo, hi = 0, len({a}) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n"
        f"        if {a}[mid] == {t}:\n            return mid\n        if {a}[mid] < {t}:\n            lo = mid + 1\n"
        f"        else:\n            hi = mid - 1\n    return -1"
    )
    tpl = (
        "Write a function `{fn}({a}, {t})` that performs binary search for {t} in the sorted list {a} and returns its index or -1.",
        "Define {fn}({a}, {t}) which finds {t} in the ascending list {a} by halving the range lo..hi; return -1 if missing.",
        "Implement binary search as `{fn}`: index of `{t}` in sorted `{a}`, -1 when absent.",
    )
    xs = sorted(r.sample(range(0, 60), r.randint(3, 9)))
    tests = _asserts(
        fn, [(xs, r.choice(xs)), (xs, 61), ([], 3), (xs, xs[0])], lambda ys, v: ys.index(v) if v in ys else -1
    )
    return _make(r, tpl, code, fn, tests, a=a, t=t)


def _first_above(r):
    fn, a = (
        _fn(r, ("first", "find", "earliest"), ("above", "over", "greater", "exceeding")),
        r.choice(LIST_ARGS),
    )
    k = r.randint(0, 20)
    code = f"def {fn}({a}):\n    for x in {a}:\n        if x > {k}:\n            return x\n    return None"
    tpl = (
        "Write a function `{fn}({a})` that returns the first element of {a} greater than {k}, or None if there is none.",
        "Define {fn}({a}) which loops over {a} and returns the first value exceeding {k} (None otherwise).",
        "Implement `{fn}`: search `{a}` for the earliest number above {k}; return None when no such number exists.",
    )
    tests = _asserts(
        fn,
        [(_ints(r, 2, 8, 0, 30),), ([],), ([k, k + 1, k + 2],)],
        lambda xs: next((x for x in xs if x > k), None),
    )
    return _make(r, tpl, code, fn, tests, a=a, k=k)


def _index_of_min(r):
    fn, a = (
        _fn(r, ("argmin", "index_of", "position_of", "where"), ("min", "smallest", "lowest")),
        r.choice(LIST_ARGS),
    )
    code = f"def {fn}({a}):\n    best = 0\n    for i in range(1, len({a})):\n        if {a}[i] < {a}[best]:\n            best = i\n    return best"
    tpl = (
        "Write a function `{fn}({a})` that returns the index of the smallest element of the non-empty list {a} (the first one on ties).",
        "Define {fn}({a}) which loops over the indices of {a} and returns where its minimum is (earliest index if repeated).",
        "Implement `{fn}`: position of the minimum of `{a}`, which is never empty.",
    )
    tests = _asserts(fn, [(_ints(r, 1, 8),), ([4, 1, 1],), ([7],)], lambda xs: xs.index(min(xs)))
    return _make(r, tpl, code, fn, tests, a=a)


def _words_starting(r):
    fn, a = (
        _fn(r, ("words", "select", "find"), ("starting", "with_prefix", "beginning")),
        r.choice(("words", "names", "items", "tokens")),
    )
    c = r.choice("abcdfhkmqrstz")
    code = f"def {fn}({a}):\n    return [w for w in {a} if w.startswith({c!r})]"
    tpl = (
        "Write a function `{fn}({a})` that returns the words of {a} that start with the letter {c!r}.",
        "Define {fn}({a}) which keeps the strings in {a} beginning with {c!r}.",
        "Implement `{fn}`: filter `{a}` to the words whose first letter is {c!r}.",
    )
    tests = _asserts(
        fn, [(_words(r, 3, 7) + [c + "x"],), ([],)], lambda ws: [w for w in ws if w.startswith(c)]
    )
    return _make(r, tpl, code, fn, tests, a=a, c=c)


def _contains_pair_sum(r):
    fn, a = _fn(r, ("has", "exists", "find"), ("pair_sum", "two_sum", "pair")), r.choice(LIST_ARGS)
    k = r.randint(5, 20)
    code = f"def {fn}({a}):\n    seen = set()\n    for x in {a}:\n        if {k} - x in seen:\n            return True\n        seen.add(x)\n    return False"
    tpl = (
        "Write a function `{fn}({a})` that returns True if two different elements of {a} add up to {k}.",
        "Define {fn}({a}) which uses a set of seen numbers to decide whether some pair in {a} sums to {k}.",
        "Implement `{fn}`: is there a pair of positions in `{a}` whose values sum to {k}?",
    )

    def expect(xs):
        return any(xs[i] + xs[j] == k for i in range(len(xs)) for j in range(i + 1, len(xs)))

    tests = _asserts(fn, [([1, k - 1, 50],), ([k],), (_ints(r, 2, 6, 0, 30),), ([],)], expect)
    return _make(r, tpl, code, fn, tests, a=a, k=k)


# --------------------------------------------------------------------------------------------------
# classes
# --------------------------------------------------------------------------------------------------
def _counter_class(r):
    cls = _cls(r, ("Click", "Step", "Tick", "Visit", "Page"), ("Counter", "Tally", "Meter"))
    meth = r.choice(("increment", "bump", "tick", "step", "add"))
    k = r.randint(1, 9)
    code = f"class {cls}:\n    def __init__(self):\n        self.count = 0\n\n    def {meth}(self):\n        self.count += {k}"
    tpl = (
        "Write a class `{cls}` whose `count` attribute starts at 0 and whose method `{meth}()` adds {k} to it.",
        "Define a class {cls} with an attribute count (initially 0) and a method {meth} that increases count by {k}.",
        "Implement `{cls}`: a counter with `count = 0` at creation; each call to `{meth}` adds {k}.",
    )
    n = r.randint(1, 5)
    tests = f"c = {cls}()\nassert c.count == 0\n" + f"c.{meth}()\n" * n + f"assert c.count == {n * k}"
    return _make(r, tpl, code, cls, tests, cls=cls, meth=meth, k=k)


def _rectangle_class(r):
    cls = r.choice(
        (
            "Rectangle",
            "Rect",
            "Box",
            "Panel",
            "Tile",
            "Frame",
            "Plot",
            "Room",
            "Card",
            "Window",
            "Field",
            "Sheet",
        )
    )
    a, b = r.choice((("width", "height"), ("w", "h"), ("length", "breadth"), ("cols", "rows")))
    meth = r.choice(("area", "perimeter"))
    formula = f"self.{a} * self.{b}" if meth == "area" else f"2 * (self.{a} + self.{b})"
    code = f"class {cls}:\n    def __init__(self, {a}, {b}):\n        self.{a} = {a}\n        self.{b} = {b}\n\n    def {meth}(self):\n        return {formula}"
    tpl = (
        "Write a class `{cls}` constructed with `{a}` and `{b}`, stored as attributes, with a method `{meth}()` returning its {meth}.",
        "Define class {cls}({a}, {b}) that keeps both values on self and has {meth}() computing the rectangle's {meth}.",
        "Implement `{cls}`: __init__ takes {a} and {b}; the method {meth} returns {formula_text}.",
    )
    x, y = r.randint(1, 20), r.randint(1, 20)
    exp = x * y if meth == "area" else 2 * (x + y)
    tests = f"shape = {cls}({x}, {y})\nassert shape.{a} == {x} and shape.{b} == {y}\nassert shape.{meth}() == {exp}"
    return _make(
        r, tpl, code, cls, tests, cls=cls, a=a, b=b, meth=meth, formula_text=formula.replace("self.", "")
    )


def _stack_class(r):
    cls = r.choice(("Stack", "Pile", "LifoStack", "PlateStack", "CallStack", "Heap", "Tower", "Deck"))
    push, pop = r.choice((("push", "pop"), ("put", "take"), ("add", "remove"), ("insert", "extract")))
    attr = r.choice(("items", "data", "elems", "stack"))
    code = (
        f"class {cls}:\n    def __init__(self):\n        self.{attr} = []\n\n    def {push}(self, x):\n"
        f"        self.{attr}.append(x)\n\n    def {pop}(self):\n        return self.{attr}.pop()"
    )
    tpl = (
        "Write a class `{cls}` (last in, first out) backed by a list `{attr}`, with methods `{push}(x)` and `{pop}()`.",
        "Define a stack class {cls}: {push} appends to self.{attr}, {pop} removes and returns the last item.",
        "Implement `{cls}` with a list attribute `{attr}`; `{push}(x)` adds x on top and `{pop}()` returns the top.",
    )
    a, b = r.randint(0, 50), r.randint(51, 99)
    tests = (
        f"st = {cls}()\nst.{push}({a})\nst.{push}({b})\nassert st.{attr} == [{a}, {b}]\n"
        f"assert st.{pop}() == {b}\nassert st.{pop}() == {a}\nassert st.{attr} == []"
    )
    return _make(r, tpl, code, cls, tests, cls=cls, push=push, pop=pop, attr=attr)


def _account_class(r):
    cls = _cls(r, ("Bank", "Savings", "Wallet", "Cash", "Simple"), ("Account", "Balance", "Purse"))
    fee = r.randint(0, 9)
    code = (
        f"class {cls}:\n    def __init__(self, balance):\n        self.balance = balance\n\n"
        f"    def withdraw(self, amount):\n        if amount + {fee} > self.balance:\n"
        f"            return False\n        self.balance -= amount + {fee}\n        return True"
    )
    tpl = (
        "Write a class `{cls}` holding a `balance` with a method `withdraw(amount)` that charges a fee of {fee}; refuse (return False) if amount plus fee exceeds the balance, else deduct both and return True.",
        "Define {cls}(balance) with withdraw(amount): a withdrawal costs amount + {fee}; return False without changing anything when funds are insufficient, True otherwise.",
        "Implement `{cls}`: a bank account whose withdraw takes an extra fee of {fee} from `balance` and returns whether it succeeded.",
    )
    start, wd = r.randint(0, 80), r.randint(1, 30)
    ok = wd + fee <= start
    after = start - (wd + fee) if ok else start
    tests = (
        f"acct = {cls}({start})\nassert acct.balance == {start}\nassert acct.withdraw({wd}) is {ok}\n"
        f"assert acct.balance == {after}\nassert acct.withdraw({after + 1}) is False\nassert acct.balance == {after}\n"
        f"assert {cls}({fee + 5}).withdraw(5) is True"
    )
    return _make(r, tpl, code, cls, tests, cls=cls, fee=fee)


def _point_class(r):
    cls = r.choice(("Point", "Vec", "Vector2", "Pos", "Coord", "Cell", "Spot", "Location"))
    meth = r.choice(("manhattan", "norm1", "taxicab", "dist", "distance", "l1"))
    x, y = r.choice((("x", "y"), ("row", "col"), ("a", "b"), ("px", "py")))
    code = (
        f"class {cls}:\n    def __init__(self, {x}, {y}):\n        self.{x} = {x}\n        self.{y} = {y}\n\n"
        f"    def {meth}(self, other):\n        return abs(self.{x} - other.{x}) + abs(self.{y} - other.{y})"
    )
    tpl = (
        "Write a class `{cls}` with attributes {x} and {y} and a method `{meth}(other)` returning the Manhattan distance to another {cls}.",
        "Define {cls}({x}, {y}) storing both coordinates; {meth}(other) returns |d{x}| + |d{y}|.",
        "Implement `{cls}`: a 2-D point with fields `{x}`, `{y}` whose `{meth}` method gives the taxicab distance to `other`.",
    )
    p, q = [r.randint(-9, 9) for _ in range(2)], [r.randint(-9, 9) for _ in range(2)]
    d = abs(p[0] - q[0]) + abs(p[1] - q[1])
    tests = (
        f"p = {cls}({p[0]}, {p[1]})\nq = {cls}({q[0]}, {q[1]})\nassert (p.{x}, p.{y}) == ({p[0]}, {p[1]})\n"
        f"assert p.{meth}(q) == {d}\nassert q.{meth}(p) == {d}\nassert p.{meth}(p) == 0"
    )
    return _make(r, tpl, code, cls, tests, cls=cls, meth=meth, x=x, y=y)


def _temperature_class(r):
    cls = r.choice(
        ("Thermometer", "Temperature", "Sensor", "Reading", "Probe", "Weather", "Gauge", "Climate")
    )
    prop = r.choice(("fahrenheit", "to_f", "in_f", "as_fahrenheit", "to_fahrenheit"))
    attr = r.choice(("celsius", "c", "degrees", "temp"))
    code = f"class {cls}:\n    def __init__(self, {attr}):\n        self.{attr} = {attr}\n\n    def {prop}(self):\n        return self.{attr} * 9 / 5 + 32"
    tpl = (
        "Write a class `{cls}` storing a Celsius value as `{attr}` with a method `{prop}()` that converts it to Fahrenheit ({attr} * 9 / 5 + 32).",
        "Define {cls}({attr}) keeping the Celsius temperature in self.{attr}, with a method {prop} returning it in degrees Fahrenheit.",
        "Implement `{cls}`: keep the Celsius value in `{attr}` and offer `{prop}()` giving {attr} * 9 / 5 + 32.",
    )
    c = r.choice((0, 100, -40, r.randint(-30, 45)))
    tests = f"t = {cls}({c})\nassert t.{attr} == {c}\nassert t.{prop}() == {c * 9 / 5 + 32!r}\nassert {cls}(100).{prop}() == 212.0"
    return _make(r, tpl, code, cls, tests, cls=cls, prop=prop, attr=attr)


# --------------------------------------------------------------------------------------------------
# the registry and the builder
# --------------------------------------------------------------------------------------------------
FAMILIES: tuple[Family, ...] = (
    Family("affine", "arithmetic", "a * x + b with random a, b", _affine),
    Family("is_divisible", "arithmetic", "is x a multiple of k", _is_divisible),
    Family("clamp", "arithmetic", "clamp x to [lo, hi]", _clamp),
    Family("power", "arithmetic", "x ** k", _power),
    Family("divmod_pair", "arithmetic", "(x // k, x % k)", _divmod_pair),
    Family("sign", "arithmetic", "-1, 0 or 1", _sign),
    Family("gcd", "arithmetic", "Euclid's algorithm", _gcd),
    Family("reverse_string", "strings", "s[::-1]", _reverse_string),
    Family("count_char", "strings", "occurrences of a letter", _count_char),
    Family("repeat_join", "strings", "k copies of s joined by a separator", _repeat_join),
    Family("add_prefix", "strings", "prepend a constant prefix", _add_prefix),
    Family("is_palindrome", "strings", "does s read the same backwards", _is_palindrome),
    Family("change_case", "strings", "upper- or lower-case a string", _change_case),
    Family("count_vowels", "strings", "number of vowels", _count_vowels),
    Family("replace_char", "strings", "replace one character by another", _replace_char),
    Family("ends_with", "strings", "has a given suffix", _ends_with),
    Family("word_count", "strings", "number of words", _word_count),
    Family("initials", "strings", "acronym of the words", _initials),
    Family("scale_values", "lists", "multiply every element by k", _scale_values),
    Family("filter_greater", "lists", "keep elements > k", _filter_greater),
    Family("sum_of_squares", "lists", "sum of x*x", _sum_of_squares),
    Family("count_equal", "lists", "occurrences of k", _count_equal),
    Family("largest_loop", "lists", "maximum with a loop", _largest_loop),
    Family("take_first", "lists", "first k elements", _take_first),
    Family("remove_value", "lists", "drop every k", _remove_value),
    Family("pairwise_op", "lists", "element-wise +, * or - of two lists", _pairwise_op),
    Family("running_total", "lists", "cumulative sums", _running_total),
    Family("keep_parity", "lists", "even or odd elements", _keep_parity),
    Family("flatten", "lists", "list of lists to one list", _flatten),
    Family("unique_ordered", "lists", "drop duplicates, keep order", _unique_ordered),
    Family("average", "lists", "mean with a default for empty lists", _average),
    Family("word_frequencies", "dicts", "word -> count", _word_frequencies),
    Family("invert_dict", "dicts", "swap keys and values", _invert_dict),
    Family("get_default", "dicts", "lookup with a default", _get_default),
    Family("argmax_key", "dicts", "key with the largest value", _argmax_key),
    Family("merge_dicts", "dicts", "merge two dicts, second wins", _merge_dicts),
    Family("filter_dict", "dicts", "keep entries with value >= k", _filter_dict),
    Family("group_by_length", "dicts", "length -> words", _group_by_length),
    Family("factorial_loop", "loops", "n! with a for loop", _factorial_loop),
    Family("fizz_label", "loops", "FizzBuzz-style labels with random words", _fizz_label),
    Family("sum_multiples", "loops", "sum of multiples of k below n", _sum_multiples),
    Family("count_digits", "loops", "number of digits with a while loop", _count_digits),
    Family("collatz_steps", "loops", "steps of the Collatz sequence", _collatz_steps),
    Family("digit_sum", "loops", "sum of digits with a while loop", _digit_sum),
    Family("countdown_list", "loops", "n, n-k, ... > 0", _countdown_list),
    Family("fib_recursive", "recursion", "Fibonacci-like sequence with random start", _fib_recursive),
    Family("power_recursive", "recursion", "b ** e by recursion", _power_recursive),
    Family("sum_recursive", "recursion", "sum of a list by recursion", _sum_recursive),
    Family("nested_depth", "recursion", "depth of nested lists", _nested_depth),
    Family("reverse_recursive", "recursion", "reverse a string by recursion", _count_down_string),
    Family("binomial", "recursion", "C(n, k) by Pascal's rule", _binomial),
    Family("sort_direction", "sorting", "sorted ascending or descending", _sort_direction),
    Family("sort_by_length", "sorting", "sort words by length", _sort_by_length),
    Family("sort_records", "sorting", "sort dicts by a key", _sort_records),
    Family("k_smallest", "sorting", "the k smallest elements", _k_smallest),
    Family("bubble_sort", "sorting", "bubble sort a copy", _bubble_sort),
    Family("linear_search", "searching", "index of the first match", _linear_search),
    Family("binary_search", "searching", "binary search in a sorted list", _binary_search),
    Family("first_above", "searching", "first element > k", _first_above),
    Family("index_of_min", "searching", "argmin with a loop", _index_of_min),
    Family("words_starting", "searching", "words starting with a letter", _words_starting),
    Family("pair_sum", "searching", "does a pair sum to k (set of seen values)", _contains_pair_sum),
    Family("counter_class", "classes", "a counter with a step", _counter_class),
    Family("rectangle_class", "classes", "a rectangle with area or perimeter", _rectangle_class),
    Family("stack_class", "classes", "a LIFO stack", _stack_class),
    Family("account_class", "classes", "a bank account whose withdrawals cost a fee", _account_class),
    Family("point_class", "classes", "a 2-D point with Manhattan distance", _point_class),
    Family("temperature_class", "classes", "Celsius to Fahrenheit", _temperature_class),
)

# Whole families held out for the ``test_unseen`` split: one or two per category (12 of 68, ~18%).
UNSEEN_FAMILIES: tuple[str, ...] = (
    "clamp", "gcd", "count_vowels", "initials", "running_total", "invert_dict",
    "collatz_steps", "binomial", "sort_by_length", "index_of_min", "pair_sum", "point_class",
)  # fmt: skip


def family_table() -> list[dict]:
    """The registry as rows (name, category, description, unseen) for the book's table of families."""
    return [
        {
            "name": f.name,
            "category": f.category,
            "description": f.description,
            "unseen": f.name in UNSEEN_FAMILIES,
        }
        for f in FAMILIES
    ]


def generate_family(family: Family | str, n: int, seed: int = 0) -> list[Instance]:
    """Draw ``n`` distinct instances of one family (fewer if the family runs out of distinct codes).

    The random stream is seeded by ``(seed, family name)``, so adding a family never changes another
    family's instances. Instances are distinct by code: two prompts for the same code would put one
    solution in two splits.
    """
    fam = _family(family) if isinstance(family, str) else family
    r = random.Random(f"codegen-tasks:{seed}:{fam.name}")
    out: list[Instance] = []
    seen: set[str] = set()
    for _ in range(n * 40):
        inst = fam.make(r)
        if inst.code not in seen:
            seen.add(inst.code)
            out.append(inst)
            if len(out) == n:
                break
    return out


def build_task_corpus(
    seed: int = 0,
    instances_per_family: int = 100,  # distinct instances drawn per family (4-5k rows in all)
    val_fraction: float = 0.1,  # per seen family, share of instances for "validation"
    test_fraction: float = 0.1,  # per seen family, share of instances for "test"
    unseen_families: Sequence[str] = UNSEEN_FAMILIES,  # families held out whole for "test_unseen"
    families: Sequence[str] | None = None,  # restrict to these family names (default: all)
) -> datasets.DatasetDict:
    """Build the generated task corpus (chapter 01): train / validation / test / test_unseen.

    Columns: prompt, code, source ("tasks"), id ("tasks-s{seed}-{family}-{k:03d}"), family,
    entry_point, tests. Deterministic given the arguments; a different seed gives different names,
    constants, paraphrases and splits. No prompt appears twice in the whole corpus.
    """
    if instances_per_family < 1:
        raise ValueError(f"instances_per_family must be >= 1, got {instances_per_family}")
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"need 0 <= val_fraction, test_fraction and their sum < 1; got {val_fraction}, {test_fraction}"
        )
    chosen = FAMILIES if families is None else tuple(_family(name) for name in families)
    unknown = set(unseen_families) - {f.name for f in FAMILIES}
    if unknown:
        raise ValueError(
            f"unknown unseen_families {sorted(unknown)}; valid names: {[f.name for f in FAMILIES]}"
        )

    rows: dict[str, list[dict]] = {split: [] for split in SPLITS}
    seen_prompts: set[str] = set()
    for fam in chosen:
        instances = generate_family(fam, instances_per_family, seed)
        fam_rows = []
        for k, inst in enumerate(instances):
            if inst.prompt in seen_prompts:  # a cross-family clash; never observed, but keep the promise
                continue
            seen_prompts.add(inst.prompt)
            fam_rows.append(
                {"prompt": inst.prompt, "code": inst.code, "source": SOURCE, "id": f"tasks-s{seed}-{fam.name}-{k:03d}",
                 "family": fam.name, "entry_point": inst.entry_point, "tests": inst.tests}
            )  # fmt: skip
        if fam.name in unseen_families:
            rows["test_unseen"].extend(fam_rows)
            continue
        random.Random(f"codegen-split:{seed}:{fam.name}").shuffle(fam_rows)
        n_val, n_test = round(len(fam_rows) * val_fraction), round(len(fam_rows) * test_fraction)
        rows["validation"].extend(fam_rows[:n_val])
        rows["test"].extend(fam_rows[n_val : n_val + n_test])
        rows["train"].extend(fam_rows[n_val + n_test :])
    random.Random(f"codegen-train-order:{seed}").shuffle(rows["train"])  # mix families for training
    columns = ("prompt", "code", "source", "id", "family", "entry_point", "tests")
    features = datasets.Features({c: datasets.Value("string") for c in columns})
    return datasets.DatasetDict(
        {
            split: datasets.Dataset.from_dict({c: [row[c] for row in rs] for c in columns}, features=features)
            for split, rs in rows.items()
        }
    )


def _family(name: str) -> Family:
    for fam in FAMILIES:
        if fam.name == name:
            return fam
    raise ValueError(f"unknown task family {name!r}; valid names: {[f.name for f in FAMILIES]}")


def load(data_dir=None, *, seed: int = 0, report):
    """The task corpus as a DatasetDict, checked row by row (it is generated: no ``data_dir``)."""
    from codegen_lib.corpora.rows import check_generated, no_data_dir

    no_data_dir(NAME, data_dir)
    return check_generated(build_task_corpus(seed=seed), NAME, report)
