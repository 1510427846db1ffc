"""The everyday-requests suite: what a new user asks first, each with an executable check (chapter 09).

Two kinds of request, written for this book (validation only: never trained on, and added to the
decontamination references of the ``code`` and ``doctest`` corpora by
:func:`codegen_lib.corpora.code.default_eval_sets`):

* ``"oneliner"``: a task on a list, a string, a dict or a file that *names* its variables, CoNaLa style
  (``sort the list of dicts `people` by the key 'age'``). The row's ``setup`` defines those variables (and
  writes the files it reads, in the sandbox's private working directory).
* ``"function"``: a classic "Write a function `factorial(n)` that ..."; the check calls the function.

**How a one-liner is checked** (:func:`job` builds the sandboxed program). The setup runs, then the
generated code runs in the same namespace, and the check's asserts read ``result``, decided by this rule:

1. if the code's last top-level statement is an expression whose value is not None, ``result`` is that value
   (``sorted(people, key=...)``);
2. otherwise ``result`` is the variable that the code's last assignment statement binds or changes (``=``,
   ``+=``, annotated; in source order, inside ``with`` / ``for`` / ``if`` blocks too, not inside functions
   or classes; ``counts[w] = ...`` and ``obj.x = ...`` change ``counts`` and ``obj``; for-loop and
   ``with ... as`` targets do not count): ``lines = f.read().splitlines()``;
3. otherwise (the code assigns nothing, e.g. ``people.sort(key=...)``) ``result`` is the row's ``target``,
   the variable that the request names, changed in place (None where it is not defined: the checks of
   requests that write files read the files instead).

Checks on files read the file itself (``write the string `text` to the file 'out.txt'``). A program that
raises, does not parse, or fails an assert does not pass. A function request's program is the generated code
as is, followed by asserts that call it.

    rows = load_requests()                      # [{"prompt", "code", "tests", "source", "id", ...}]
    passed = check(rows, generated_codes)        # [True, False, ...], run in codegen_lib.sandbox
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["SOURCE", "COLUMNS", "load_requests", "job", "check", "statuses", "overlap"]

SOURCE = "everyday"
COLUMNS = ("prompt", "code", "tests", "source", "id", "entry_point", "kind", "setup", "target")

# (id, prompt, setup, target, reference, check on `result`)
_ONELINERS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("sort-dicts-by-key", "sort the list of dicts `people` by the key 'age'",
     "people = [{'name': 'Ann', 'age': 31}, {'name': 'Bob', 'age': 25}, {'name': 'Cy', 'age': 40}]",
     "people", "sorted(people, key=lambda d: d['age'])",
     "assert [d['name'] for d in result] == ['Bob', 'Ann', 'Cy']"),
    ("dedupe-keep-order", "remove duplicates from list `items` keeping order",
     "items = [3, 1, 3, 2, 1, 5]", "items", "list(dict.fromkeys(items))",
     "assert list(result) == [3, 1, 2, 5]"),
    ("read-lines", "read the lines of file 'data.txt' into a list `lines`",
     "open('data.txt', 'w').write('alpha\\nbeta\\ngamma\\n')", "lines",
     "with open('data.txt') as f:\n    lines = f.read().splitlines()",
     "assert [line.rstrip('\\n') for line in result] == ['alpha', 'beta', 'gamma']"),
    ("reverse-string", "reverse the string `s`", "s = 'hello world'", "s", "s[::-1]",
     "assert result == 'dlrow olleh'"),
    ("count-words", "count how many times each word occurs in the string `text`",
     "text = 'the cat and the hat and the bat'", "text",
     "from collections import Counter\nCounter(text.split())",
     "assert dict(result) == {'the': 3, 'cat': 1, 'and': 2, 'hat': 1, 'bat': 1}"),
    ("sort-dict-by-value", "sort the dictionary `scores` by value in descending order",
     "scores = {'a': 3, 'b': 7, 'c': 5}", "scores",
     "sorted(scores.items(), key=lambda kv: kv[1], reverse=True)",
     "r = list(result.items()) if isinstance(result, dict) else list(result)\n"
     "assert r in ([('b', 7), ('c', 5), ('a', 3)], ['b', 'c', 'a'])"),
    ("flatten-list", "flatten the list of lists `nested` into one list",
     "nested = [[1, 2], [3], [4, 5, 6]]", "nested", "[x for sub in nested for x in sub]",
     "assert list(result) == [1, 2, 3, 4, 5, 6]"),
    ("merge-dicts", "merge the dictionaries `a` and `b` into a new dict `merged`",
     "a = {'x': 1, 'y': 2}\nb = {'y': 3, 'z': 4}", "merged", "merged = {**a, **b}",
     "assert result == {'x': 1, 'y': 3, 'z': 4}"),
    ("max-value-key", "get the key with the largest value in dict `counts`",
     "counts = {'apples': 3, 'pears': 9, 'plums': 4}", "counts", "max(counts, key=counts.get)",
     "assert result == 'pears'"),
    ("join-strings", "join the list of strings `words` with commas",
     "words = ['red', 'green', 'blue']", "words", "','.join(words)",
     "assert result in ('red,green,blue', 'red, green, blue')"),
    ("split-string", "split the string `line` on commas into a list `fields`",
     "line = 'a,b,,c'", "fields", "fields = line.split(',')",
     "assert result == ['a', 'b', '', 'c']"),
    ("uppercase-list", "convert every string in the list `names` to upper case",
     "names = ['ann', 'bob', 'cy']", "names", "[n.upper() for n in names]",
     "assert list(result) == ['ANN', 'BOB', 'CY']"),
    ("filter-even", "keep only the even numbers of the list `nums`",
     "nums = [1, 2, 3, 4, 5, 6, 7]", "nums", "[n for n in nums if n % 2 == 0]",
     "assert list(result) == [2, 4, 6]"),
    ("sum-dict-values", "sum the values of the dictionary `prices`",
     "prices = {'tea': 2.5, 'cake': 4.0, 'jam': 3.5}", "prices", "sum(prices.values())",
     "assert result == 10.0"),
    ("invert-dict", "swap the keys and values of the dictionary `d`",
     "d = {'a': 1, 'b': 2, 'c': 3}", "d", "{v: k for k, v in d.items()}",
     "assert result == {1: 'a', 2: 'b', 3: 'c'}"),
    ("write-file", "write the string `text` to the file 'out.txt'",
     "text = 'first line\\nsecond line\\n'", "text",
     "with open('out.txt', 'w') as f:\n    f.write(text)",
     "assert open('out.txt').read() == 'first line\\nsecond line\\n'"),
    ("count-file-lines", "count the number of lines in the file 'log.txt'",
     "open('log.txt', 'w').write('one\\ntwo\\nthree\\nfour\\nfive\\n')", "",
     "sum(1 for _ in open('log.txt'))", "assert result == 5"),
    ("zip-to-dict", "make a dictionary from the lists `keys` and `values`",
     "keys = ['a', 'b', 'c']\nvalues = [1, 2, 3]", "keys", "dict(zip(keys, values))",
     "assert result == {'a': 1, 'b': 2, 'c': 3}"),
    ("three-largest", "get the 3 largest numbers from the list `nums`",
     "nums = [5, 1, 9, 3, 7, 2]", "nums", "sorted(nums, reverse=True)[:3]",
     "assert sorted(result, reverse=True) == [9, 7, 5]"),
    ("remove-whitespace", "remove all whitespace from the string `s`",
     "s = ' a b\\tc \\n d '", "s", "''.join(s.split())", "assert result == 'abcd'"),
    ("index-of", "find the index of the first occurrence of 'b' in the list `letters`",
     "letters = ['a', 'c', 'b', 'd', 'b']", "letters", "letters.index('b')", "assert result == 2"),
    ("read-json", "load the JSON file 'config.json' into a dict `config`",
     "open('config.json', 'w').write('{\"debug\": true, \"level\": 3}')", "config",
     "import json\nwith open('config.json') as f:\n    config = json.load(f)",
     "assert result == {'debug': True, 'level': 3}"),
    ("read-csv", "read the CSV file 'people.csv' into a list of rows `rows`",
     "open('people.csv', 'w').write('name,age\\nann,31\\nbob,25\\n')", "rows",
     "import csv\nwith open('people.csv', newline='') as f:\n    rows = list(csv.reader(f))",
     "r = [dict(x) if isinstance(x, dict) else list(x) for x in result]\n"
     "assert r in ([['name', 'age'], ['ann', '31'], ['bob', '25']], [['ann', '31'], ['bob', '25']],\n"
     "             [{'name': 'ann', 'age': '31'}, {'name': 'bob', 'age': '25'}])"),
    ("count-char", "count the occurrences of the character 'a' in the string `s`",
     "s = 'banana bandana'", "s", "s.count('a')", "assert result == 6"),
    ("title-case", "capitalize the first letter of every word in the string `title`",
     "title = 'the old man and the sea'", "title", "title.title()",
     "assert result == 'The Old Man And The Sea'"),
    ("list-difference", "get the elements of the list `a` that are not in the list `b`",
     "a = [1, 2, 3, 4, 5]\nb = [2, 4]", "a", "[x for x in a if x not in b]",
     "assert sorted(result) == [1, 3, 5]"),
    ("group-by-letter", "group the words in the list `words` by their first letter into a dict `groups`",
     "words = ['apple', 'avocado', 'banana', 'blueberry', 'cherry']", "groups",
     "groups = {}\nfor w in words:\n    groups.setdefault(w[0], []).append(w)",
     "assert {k: sorted(v) for k, v in dict(result).items()} == "
     "{'a': ['apple', 'avocado'], 'b': ['banana', 'blueberry'], 'c': ['cherry']}"),
    ("strip-newlines", "remove the trailing newline from each string in the list `lines`",
     "lines = ['a\\n', 'b\\n', 'c']", "lines", "[line.rstrip('\\n') for line in lines]",
     "assert list(result) == ['a', 'b', 'c']"),
    ("average", "compute the average of the list of numbers `values`",
     "values = [2, 4, 9]", "values", "sum(values) / len(values)", "assert result == 5"),
    ("replace-substring", "replace every 'cat' with 'dog' in the string `sentence`",
     "sentence = 'the cat saw a cat'", "sentence", "sentence.replace('cat', 'dog')",
     "assert result == 'the dog saw a dog'"),
    ("chunk-list", "split the list `data` into chunks of 3 elements",
     "data = [0, 1, 2, 3, 4, 5, 6, 7]", "data", "[data[i:i + 3] for i in range(0, len(data), 3)]",
     "assert [list(c) for c in result] == [[0, 1, 2], [3, 4, 5], [6, 7]]"),
    ("append-line", "append the line 'done' to the file 'log.txt'",
     "open('log.txt', 'w').write('start\\n')", "",
     "with open('log.txt', 'a') as f:\n    f.write('done\\n')",
     "assert open('log.txt').read().splitlines() == ['start', 'done']"),
    ("list-txt-files", "list the names of the files in the current directory that end with '.txt'",
     "for name in ('a.txt', 'b.txt', 'c.csv'):\n    open(name, 'w').write('x')", "",
     "import os\n[f for f in os.listdir('.') if f.endswith('.txt')]",
     "assert sorted(str(p).rsplit('/', 1)[-1] for p in result) == ['a.txt', 'b.txt']"),
    ("most-common", "find the most common element in the list `votes`",
     "votes = ['b', 'a', 'b', 'c', 'b', 'a']", "votes", "max(set(votes), key=votes.count)",
     "assert result in ('b', ('b', 3), [('b', 3)])"),
)  # fmt: skip

# (id, prompt, entry point, reference, asserts)
_FUNCTIONS: tuple[tuple[str, str, str, str, str], ...] = (
    ("factorial", "Write a function `factorial(n)` that returns the factorial of `n`.", "factorial",
     "def factorial(n):\n    result = 1\n    for i in range(2, n + 1):\n        result *= i\n    return result\n",
     "assert factorial(0) == 1\nassert factorial(1) == 1\nassert factorial(5) == 120\n"
     "assert factorial(10) == 3628800"),
    ("is-prime", "Write a function `is_prime(n)` that returns True if `n` is a prime number.", "is_prime",
     "def is_prime(n):\n    if n < 2:\n        return False\n    for i in range(2, int(n ** 0.5) + 1):\n"
     "        if n % i == 0:\n            return False\n    return True\n",
     "assert is_prime(2) and is_prime(13) and is_prime(97)\n"
     "assert not is_prime(0) and not is_prime(1) and not is_prime(15) and not is_prime(91)"),
    ("reverse-string-fn", "Write a function `reverse_string(s)` that returns the string `s` reversed.",
     "reverse_string", "def reverse_string(s):\n    return s[::-1]\n",
     "assert reverse_string('abc') == 'cba'\nassert reverse_string('') == ''\n"
     "assert reverse_string('hello world') == 'dlrow olleh'"),
    ("fibonacci", "Write a function `fibonacci(n)` that returns the n-th Fibonacci number, with "
     "`fibonacci(0) == 0` and `fibonacci(1) == 1`.", "fibonacci",
     "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
     "assert [fibonacci(i) for i in range(8)] == [0, 1, 1, 2, 3, 5, 8, 13]\nassert fibonacci(30) == 832040"),
    ("count-vowels", "Write a function `count_vowels(s)` that counts the vowels in the string `s`.",
     "count_vowels", "def count_vowels(s):\n    return sum(1 for c in s.lower() if c in 'aeiou')\n",
     "assert count_vowels('Hello World') == 3\nassert count_vowels('AEIOU xyz') == 5\n"
     "assert count_vowels('') == 0"),
    ("flatten", "Write a function `flatten(lists)` that flattens a list of lists into a single list.",
     "flatten", "def flatten(lists):\n    return [x for sub in lists for x in sub]\n",
     "assert flatten([[1, 2], [3], []]) == [1, 2, 3]\nassert flatten([]) == []\n"
     "assert flatten([['a'], ['b', 'c']]) == ['a', 'b', 'c']"),
    ("is-palindrome", "Write a function `is_palindrome(s)` that checks whether the string `s` reads the same "
     "backwards, ignoring case.", "is_palindrome",
     "def is_palindrome(s):\n    s = s.lower()\n    return s == s[::-1]\n",
     "assert is_palindrome('racecar') and is_palindrome('Level')\n"
     "assert not is_palindrome('python') and not is_palindrome('ab')"),
    ("gcd", "Write a function `gcd(a, b)` that returns the greatest common divisor of `a` and `b`.", "gcd",
     "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n",
     "assert gcd(12, 18) == 6\nassert gcd(7, 5) == 1\nassert gcd(100, 75) == 25"),
    ("find-max", "Write a function `find_max(nums)` that returns the largest number in the list `nums`.",
     "find_max", "def find_max(nums):\n    best = nums[0]\n    for n in nums[1:]:\n        if n > best:\n"
     "            best = n\n    return best\n",
     "assert find_max([3, 9, 2]) == 9\nassert find_max([-5, -2, -7]) == -2\nassert find_max([4]) == 4"),
    ("word-count", "Write a function `word_count(text)` that returns the number of words in the string `text`.",
     "word_count", "def word_count(text):\n    return len(text.split())\n",
     "assert word_count('the quick  brown fox') == 4\nassert word_count('') == 0\nassert word_count('one') == 1"),
    ("celsius-to-fahrenheit", "Write a function `celsius_to_fahrenheit(c)` that converts a temperature from "
     "Celsius to Fahrenheit.", "celsius_to_fahrenheit",
     "def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n",
     "assert celsius_to_fahrenheit(0) == 32\nassert celsius_to_fahrenheit(100) == 212\n"
     "assert celsius_to_fahrenheit(-40) == -40"),
    ("sum-digits", "Write a function `sum_digits(n)` that returns the sum of the digits of the integer `n`.",
     "sum_digits", "def sum_digits(n):\n    return sum(int(d) for d in str(abs(n)))\n",
     "assert sum_digits(1234) == 10\nassert sum_digits(0) == 0\nassert sum_digits(909) == 18"),
    ("is-anagram", "Write a function `is_anagram(a, b)` that checks whether the strings `a` and `b` are "
     "anagrams of each other.", "is_anagram", "def is_anagram(a, b):\n    return sorted(a) == sorted(b)\n",
     "assert is_anagram('listen', 'silent')\nassert not is_anagram('abc', 'abd')\n"
     "assert not is_anagram('aab', 'ab')"),
    ("fizzbuzz", "Write a function `fizzbuzz(n)` that returns a list of the strings for 1 to `n`: 'Fizz' for "
     "multiples of 3, 'Buzz' for multiples of 5, 'FizzBuzz' for both, else the number.", "fizzbuzz",
     "def fizzbuzz(n):\n    out = []\n    for i in range(1, n + 1):\n        if i % 15 == 0:\n"
     "            out.append('FizzBuzz')\n        elif i % 3 == 0:\n            out.append('Fizz')\n"
     "        elif i % 5 == 0:\n            out.append('Buzz')\n        else:\n            out.append(str(i))\n"
     "    return out\n",
     "r = fizzbuzz(15)\nassert len(r) == 15\n"
     "assert [str(x) for x in r[:5]] == ['1', '2', 'Fizz', '4', 'Buzz']\nassert r[14] == 'FizzBuzz'"),
    ("remove-duplicates-fn", "Write a function `remove_duplicates(items)` that removes the duplicates from "
     "the list `items`, keeping the first occurrence of each in order.", "remove_duplicates",
     "def remove_duplicates(items):\n    seen = set()\n    out = []\n    for x in items:\n"
     "        if x not in seen:\n            seen.add(x)\n            out.append(x)\n    return out\n",
     "assert remove_duplicates([1, 2, 1, 3, 2]) == [1, 2, 3]\nassert remove_duplicates([]) == []\n"
     "assert remove_duplicates(['b', 'a', 'b']) == ['b', 'a']"),
    ("char-frequency", "Write a function `char_frequency(s)` that returns a dict mapping each character of "
     "the string `s` to the number of times it occurs.", "char_frequency",
     "def char_frequency(s):\n    counts = {}\n    for c in s:\n        counts[c] = counts.get(c, 0) + 1\n"
     "    return counts\n",
     "assert dict(char_frequency('aab')) == {'a': 2, 'b': 1}\nassert dict(char_frequency('')) == {}"),
    ("second-largest", "Write a function `second_largest(nums)` that returns the second largest distinct "
     "value in the list `nums`.", "second_largest",
     "def second_largest(nums):\n    return sorted(set(nums))[-2]\n",
     "assert second_largest([4, 1, 4, 3]) == 3\nassert second_largest([10, 20]) == 10\n"
     "assert second_largest([-1, -3, -2]) == -2"),
    ("is-leap-year", "Write a function `is_leap_year(year)` that returns True if `year` is a leap year.",
     "is_leap_year",
     "def is_leap_year(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n",
     "assert is_leap_year(2000) and is_leap_year(2024)\nassert not is_leap_year(1900) and not is_leap_year(2023)"),
    ("binary-search", "Write a function `binary_search(items, target)` that returns the index of `target` in "
     "the sorted list `items`, or -1 if it is not there.", "binary_search",
     "def binary_search(items, target):\n    lo, hi = 0, len(items) - 1\n    while lo <= hi:\n"
     "        mid = (lo + hi) // 2\n        if items[mid] == target:\n            return mid\n"
     "        if items[mid] < target:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n"
     "    return -1\n",
     "xs = [1, 3, 5, 7, 9, 11]\nassert [binary_search(xs, x) for x in xs] == [0, 1, 2, 3, 4, 5]\n"
     "assert binary_search(xs, 4) == -1 and binary_search([], 1) == -1"),
)  # fmt: skip


def load_requests() -> list[dict]:
    """Every request as a row: ``prompt``, ``code`` (the reference solution), ``tests`` (the asserts; for a
    one-liner they read ``result``, see the module rule), ``source`` (``"everyday"``), ``id``
    (``everyday-<slug>``), ``entry_point`` (the function's name; "" for a one-liner), ``kind``
    (``"oneliner"`` | ``"function"``), ``setup`` and ``target`` (one-liners; "" for functions)."""
    rows = [
        {"prompt": p, "code": ref if ref.endswith("\n") else ref + "\n", "tests": t, "source": SOURCE,
         "id": f"everyday-{slug}", "entry_point": "", "kind": "oneliner", "setup": setup, "target": target}
        for slug, p, setup, target, ref, t in _ONELINERS
    ]  # fmt: skip
    rows += [
        {"prompt": p, "code": ref, "tests": t, "source": SOURCE, "id": f"everyday-{slug}", "entry_point": ep,
         "kind": "function", "setup": "", "target": ""}
        for slug, p, ep, ref, t in _FUNCTIONS
    ]  # fmt: skip
    return rows


# The driver that runs a one-liner (rule of the module docstring); ``__everyday_*`` names keep clear of the
# candidate's own.
_DRIVER = '''
import ast as __everyday_ast
__everyday_tree = __everyday_ast.parse(__everyday_src)
__everyday_value = None
if __everyday_tree.body and isinstance(__everyday_tree.body[-1], __everyday_ast.Expr):
    exec(compile(__everyday_ast.Module(body=__everyday_tree.body[:-1], type_ignores=[]), "<generated>", "exec"))
    __everyday_value = eval(compile(__everyday_ast.Expression(body=__everyday_tree.body[-1].value), "<generated>",
                                    "eval"))
else:
    exec(compile(__everyday_tree, "<generated>", "exec"))


def __everyday_bound(target):
    """The variable an assignment target binds or changes: ``x``, ``x[k]`` and ``x.a`` -> x; tuples -> the last."""
    while isinstance(target, (__everyday_ast.Subscript, __everyday_ast.Attribute, __everyday_ast.Starred)):
        target = target.value
    if isinstance(target, (__everyday_ast.Tuple, __everyday_ast.List)):
        names = [__everyday_bound(t) for t in target.elts]
        names = [n for n in names if n]
        return names[-1] if names else None
    return target.id if isinstance(target, __everyday_ast.Name) else None


def __everyday_last_assigned(body):
    found = None
    for stmt in body:
        if isinstance(stmt, (__everyday_ast.FunctionDef, __everyday_ast.AsyncFunctionDef, __everyday_ast.ClassDef)):
            continue
        if isinstance(stmt, (__everyday_ast.Assign, __everyday_ast.AugAssign, __everyday_ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, __everyday_ast.Assign) else [stmt.target]
            found = __everyday_bound(targets[-1]) or found
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = __everyday_last_assigned(getattr(stmt, field, []) or [])
            found = inner if inner is not None else found
    return found


if __everyday_value is not None:
    result = __everyday_value
else:
    __everyday_name = __everyday_last_assigned(__everyday_tree.body) or __everyday_target
    result = globals().get(__everyday_name)
'''


def job(row: dict, code: str) -> tuple[str, str]:
    """``(program, tests)`` for :func:`codegen_lib.sandbox.run_program`: a function request runs ``code``
    then its asserts; a one-liner runs its setup, then ``code`` through the driver that sets ``result``
    (module rule), then its asserts."""
    if row["kind"] == "function":
        return code, row["tests"]
    program = f"{row['setup']}\n__everyday_src = {code!r}\n__everyday_target = {row['target']!r}\n{_DRIVER}"
    return program, row["tests"]


def statuses(rows: Sequence[dict], codes: Sequence[str], *, timeout: float = 10.0,
             workers: int | None = None) -> list[str]:
    """The sandbox status (``pass`` / ``fail`` / ``error`` / ``timeout``) of each generated code."""
    from codegen_lib.sandbox import SandboxConfig, run_many

    if len(rows) != len(codes):
        raise ValueError(f"{len(codes)} codes for {len(rows)} requests")
    jobs = [job(r, c) for r, c in zip(rows, codes)]
    return [r.status for r in run_many(jobs, workers=workers, config=SandboxConfig(timeout=timeout))]


def check(rows: Sequence[dict], codes: Sequence[str], *, timeout: float = 10.0,
          workers: int | None = None) -> list[bool]:
    """Whether each generated code solves its request, run in the sandbox (``codes[i]`` for ``rows[i]``)."""
    return [s == "pass" for s in statuses(rows, codes, timeout=timeout, workers=workers)]


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9_]+", text.lower()))


def overlap(requests: Sequence[dict], train_rows: Sequence[dict]) -> list[dict]:
    """How close each request comes to the training data (chapter 09): the suite is never trained on, but
    CoNaLa-style requests have paraphrases in CoNaLa and ``tasks``.

    Args:
        requests: rows of :func:`load_requests` (``id``, ``prompt``, ``code``).
        train_rows: the training pairs (``prompt``, ``code``, ``source``), e.g. a model's training mixture.
    Returns one dict per request: ``id``, ``nearest`` (the training prompt sharing the largest share of words:
    Jaccard similarity of the lower-cased word sets), its ``nearest_id``, ``source`` and ``similarity`` (0-1), and
    ``reference_in_training``: whether the request's reference code, whitespace aside, is a training target.
    """
    index = [(_words(r["prompt"]), r) for r in train_rows]
    targets = {re.sub(r"\s+", "", r["code"]) for r in train_rows}
    out = []
    for q in requests:
        words = _words(q["prompt"])
        best, near = -1.0, None
        for w, r in index:
            sim = len(words & w) / max(len(words | w), 1)
            if sim > best:
                best, near = sim, r
        near = near or {}
        out.append({"id": q["id"], "nearest": near.get("prompt", ""), "nearest_id": near.get("id", ""),
                    "source": near.get("source", ""),
                    "similarity": round(max(best, 0.0), 3),
                    "reference_in_training": re.sub(r"\s+", "", q["code"]) in targets})
    return out
