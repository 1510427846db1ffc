"""Byte-pair encoding from scratch: count pairs, merge the most frequent, repeat (chapter 02).

``codegen_lib.tokenizer`` trains the book's byte-level BPE with Hugging Face ``tokenizers``, in Rust. This
module writes the same training loop out in a few dozen lines of Python, so that chapter 02 can show how
each merge is chosen. ``tests/test_bpe_scratch.py`` checks that :func:`train_bpe` learns exactly the merges
that ``tokenizer.train_tokenizer`` learns from the same texts, in the same order.

The settings it shares with ``train_tokenizer``:

* **Pre-tokenization** is ``tokenizers``' own ``ByteLevel`` step (GPT-2's regular expression): a text is cut
  into words, a word keeps the space before it, and each byte of a word is written as one of 256 printable
  stand-in characters (``'Ġ'`` for a space, ``'Ċ'`` for a newline, ``'ĉ'`` for a tab). Merges never cross a
  word boundary. Only the merge loop is written here.
* **Counting**: every adjacent pair inside a word counts once per occurrence of the word.
* **Ties**: among equally frequent pairs, the pair whose tokens have the smaller ids wins (first token's id,
  then second's). Ids are given in order of birth: the 256 bytes first, ordered by their stand-in
  character, then every new token in the order it is merged. This is the rule of ``tokenizers``'
  ``BpeTrainer``, whose priority queue pops the most frequent pair and, on a tie, the smallest pair of ids.
* **Stopping**: after ``num_merges`` merges, or when the best pair occurs fewer than ``min_frequency`` times.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tokenizers import decoders, pre_tokenizers

__all__ = [
    "BYTE_ALPHABET", "pretokenize", "count_pairs", "merge_pair", "train_bpe", "apply_merges", "readable",
]

# The 256 stand-in characters of the bytes, in the order in which they receive ids.
BYTE_ALPHABET: tuple[str, ...] = tuple(sorted(pre_tokenizers.ByteLevel.alphabet()))
# The pre-tokenizer of codegen_lib.tokenizer's byte-level BPE (same arguments).
_PRE_TOKENIZER = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=True)
_DECODER = decoders.ByteLevel()  # stand-in characters -> the bytes they stand for -> text
_VISIBLE = {" ": "·", "\n": "↵", "\t": "→"}

Word = tuple[str, ...]  # one pre-tokenized word as a sequence of tokens, e.g. ('Ġ', 'r', 'e', 't', ...)
Pair = tuple[str, str]


def pretokenize(text: str) -> list[str]:
    """The words of ``text``, written in byte stand-ins: ``'def add'`` -> ``['def', 'Ġadd']``."""
    return [word for word, _offsets in _PRE_TOKENIZER.pre_tokenize_str(text)]


def count_pairs(words: dict[Word, int]) -> Counter[Pair]:
    """How often each adjacent pair of tokens occurs, over ``words`` (word -> its count)."""
    pairs: Counter[Pair] = Counter()
    for word, count in words.items():
        for pair in zip(word, word[1:]):
            pairs[pair] += count
    return pairs


def merge_pair(word: Word, pair: Pair) -> Word:
    """``word`` with every occurrence of ``pair`` replaced by one token, scanning left to right."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train_bpe(texts: Iterable[str], num_merges: int, min_frequency: int = 2) -> list[tuple[Pair, int]]:
    """Learn up to ``num_merges`` merges from ``texts``; return ``[(pair, count when merged), ...]``.

    Args:
        texts: training strings (prompts and code).
        num_merges: how many merges to learn (the vocabulary grows by at most this many tokens).
        min_frequency: stop when the most frequent pair occurs fewer times than this.
    """
    words: Counter[Word] = Counter(tuple(w) for text in texts for w in pretokenize(text))
    ids = {byte: i for i, byte in enumerate(BYTE_ALPHABET)}  # token -> id, in order of birth
    merges: list[tuple[Pair, int]] = []
    while len(merges) < num_merges:
        pairs = count_pairs(words)
        if not pairs:
            break
        # the most frequent pair; on a tie, the one with the smaller ids
        best = max(pairs, key=lambda p: (pairs[p], -ids[p[0]], -ids[p[1]]))
        if pairs[best] < min_frequency:
            break
        merges.append((best, pairs[best]))
        ids.setdefault(best[0] + best[1], len(ids))
        merged: Counter[Word] = Counter()
        for word, count in words.items():
            merged[merge_pair(word, best)] += count
        words = merged
    return merges


def apply_merges(text: str, merges: Iterable[tuple[Pair, int] | Pair]) -> list[str]:
    """Tokens of ``text`` after applying ``merges`` in the order they were learned (stand-in characters)."""
    pairs = [m[0] if isinstance(m[0], tuple) else m for m in merges]
    tokens: list[str] = []
    for w in pretokenize(text):
        word: Word = tuple(w)
        for pair in pairs:
            word = merge_pair(word, pair)
        tokens += word
    return tokens


def readable(token: str) -> str:
    """The text a token stands for, whitespace drawn visibly: ``'ĊĠĠĠĠ'`` -> ``'↵····'``, ``'ĉ'`` -> ``'→'``."""
    return "".join(_VISIBLE.get(c, c) for c in _DECODER.decode([token]))
