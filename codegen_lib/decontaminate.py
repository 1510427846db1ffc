"""Decontamination: drop training rows that overlap an evaluation set (chapter 01).

A model scored on HumanEval must not have trained on HumanEval's solutions. Training data scraped from
installed packages or the web can hold copies of benchmark problems, so every large training corpus is
checked against the evaluation sets before it is used.

**The rule** (stated here, tested in ``tests/test_decontaminate.py``): a training row is contaminated by an
evaluation set when

* its **code** shares any run of ``code_n`` = 13 consecutive code tokens with the code of one of the set's
  problems (tokens: identifiers, numbers, and single punctuation characters, so ``f(x)`` is 4 tokens;
  comments and whitespace are ignored), or
* its **prompt** shares any run of ``word_n`` = 10 consecutive words (lower-cased) with one of the set's
  prompts.

13-gram overlap is the rule GPT-3 used for its benchmark contamination study (Brown et al. 2020, appendix
C); we apply it to code tokens, and the 10-word rule catches a copied problem statement whose code was
rewritten. Evaluation texts shorter than ``n`` tokens give no n-gram and cannot contaminate anything (a
one-line CoNaLa snippet such as ``sorted(x)`` is too common to count as a copy).

    index = ContaminationIndex()
    index.add_set("humaneval", prompts, codes)
    index.match(prompt, code)          # -> "humaneval" or None
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

__all__ = ["CODE_N", "WORD_N", "code_tokens", "words", "ngrams", "ContaminationIndex"]

CODE_N = 13  # code tokens in a shared run that marks a copy
WORD_N = 10  # words in a shared run of prompt text that marks a copy

_CODE_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d+)?|[^\w\s]")
_COMMENT = re.compile(r"#[^\n]*")
_WORD = re.compile(r"[a-z0-9]+")


def code_tokens(code: str) -> list[str]:
    """``"def f(x):  # add\\n    return x+1"`` -> ``['def', 'f', '(', 'x', ')', ':', 'return', 'x', '+', '1']``."""
    return _CODE_TOKEN.findall(_COMMENT.sub("", code))


def words(text: str) -> list[str]:
    """Lower-cased words of a prompt."""
    return _WORD.findall(text.lower())


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    """Every run of ``n`` consecutive tokens (empty when there are fewer than ``n``)."""
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


class ContaminationIndex:
    """N-grams of the evaluation sets, and a check of training rows against them (see the module rule)."""

    def __init__(self, code_n: int = CODE_N, word_n: int = WORD_N):
        if code_n < 1 or word_n < 1:
            raise ValueError(f"n-gram sizes must be positive, got code_n={code_n}, word_n={word_n}")
        self.code_n, self.word_n = code_n, word_n
        self._code: dict[tuple[str, ...], str] = {}
        self._words: dict[tuple[str, ...], str] = {}
        self.sets: Counter = Counter()  # evaluation set -> problems indexed

    def add_set(self, name: str, prompts: Iterable[str], codes: Iterable[str]) -> None:
        """Index one evaluation set (its problems' prompts and reference code)."""
        for prompt, code in zip(prompts, codes, strict=True):
            self.sets[name] += 1
            for g in ngrams(code_tokens(code or ""), self.code_n):
                self._code.setdefault(g, name)
            for g in ngrams(words(prompt or ""), self.word_n):
                self._words.setdefault(g, name)

    def match(self, prompt: str, code: str) -> str | None:
        """The evaluation set a row overlaps (code first), or None when it is clean."""
        for g in ngrams(code_tokens(code), self.code_n):
            if g in self._code:
                return self._code[g]
        for g in ngrams(words(prompt), self.word_n):
            if g in self._words:
                return self._words[g]
        return None

    def filter(self, rows: Iterable[dict]) -> tuple[list[dict], Counter]:
        """``(clean rows, {evaluation set: rows dropped})`` for rows with ``prompt`` and ``code``."""
        kept, dropped = [], Counter()
        for row in rows:
            hit = self.match(row["prompt"], row["code"])
            if hit is None:
                kept.append(row)
            else:
                dropped[hit] += 1
        return kept, dropped
