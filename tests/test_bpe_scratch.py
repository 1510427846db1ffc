"""The from-scratch BPE of chapter 02 learns exactly the merges of ``tokenizers``' BpeTrainer."""

from __future__ import annotations

import json

import pytest

from codegen_lib.bpe_scratch import (
    BYTE_ALPHABET,
    apply_merges,
    count_pairs,
    merge_pair,
    pretokenize,
    readable,
    train_bpe,
)
from codegen_lib.tokenizer import SPECIAL_TOKENS, train_tokenizer

SNIPPETS = [
    "def add(a, b):\n    return a + b\n",
    "for i in range(10):\n\tprint(i)\n",
    "if x is None:\n    return []\nelse:\n    return [x]\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n",
    'name = "café"  # non-ASCII bytes\n',
]


def library_merges(texts: list[str], num_merges: int, min_frequency: int = 2):
    """Merges (in order) and tokenizer of ``train_tokenizer`` with room for ``num_merges`` new tokens."""
    tok = train_tokenizer(texts, vocab_size=len(SPECIAL_TOKENS) + 256 + num_merges, min_frequency=min_frequency)
    raw = json.loads(tok.backend.to_str())["model"]["merges"]
    # older tokenizers store "a b" strings, newer ones [a, b] lists
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in raw], tok


def test_alphabet_is_the_256_bytes_in_id_order():
    assert len(BYTE_ALPHABET) == len(set(BYTE_ALPHABET)) == 256
    assert list(BYTE_ALPHABET) == sorted(BYTE_ALPHABET)
    first = len(SPECIAL_TOKENS)
    tok = train_tokenizer(SNIPPETS, vocab_size=first + 256)  # no merges: specials + bytes
    assert [tok.id_to_token(first + i) for i in range(256)] == list(BYTE_ALPHABET)


def test_pretokenize_keeps_every_byte():
    text = "def f(x):\n\treturn x  # é\n"
    words = pretokenize(text)
    assert "".join(words).count("ĉ") == 1  # the tab survives as its stand-in
    assert sum(len(w) for w in words) == len(text.encode("utf-8"))  # one character per byte


def test_count_and_merge_by_hand():
    words = {("a", "b", "a", "b"): 2, ("b", "a"): 1}
    pairs = count_pairs(words)
    assert pairs == {("a", "b"): 4, ("b", "a"): 3}
    assert merge_pair(("a", "b", "a", "b"), ("a", "b")) == ("ab", "ab")
    assert merge_pair(("a", "a", "a"), ("a", "a")) == ("aa", "a")  # left to right, no overlap


@pytest.mark.parametrize("num_merges", [20, 60])
def test_reproduces_the_library_merges_on_the_snippets(num_merges):
    theirs, _ = library_merges(SNIPPETS, num_merges)
    mine = [pair for pair, _count in train_bpe(SNIPPETS, num_merges)]
    assert len(mine) == len(theirs) > 0
    assert mine == theirs


def test_reproduces_the_library_merges_on_real_code():
    from codegen_lib.data import load_corpus

    code = list(load_corpus("tasks")["train"]["code"][:200])
    theirs, tok = library_merges(code, 250)
    merges = train_bpe(code, 250)
    assert [pair for pair, _ in merges] == theirs
    counts = [count for _, count in merges]
    assert all(c >= 2 for c in counts)
    # and the learned merges cut text exactly like the library's tokenizer
    for text in code[:40] + SNIPPETS:
        assert apply_merges(text, merges) == tok.backend.encode(text, add_special_tokens=False).tokens


def test_ties_go_to_the_smaller_ids():
    # 'ab' and 'cd' occur equally often: 'a' has the smaller id, so (a, b) is merged first, and the same
    # rule in the library gives the same order
    texts = ["ab cd", "cd ab"]
    mine = [pair for pair, _ in train_bpe(texts, 4, min_frequency=1)]
    theirs, _ = library_merges(texts, 4, min_frequency=1)
    assert mine[0] == ("a", "b")
    assert mine == theirs


def test_min_frequency_stops_training():
    merges = train_bpe(["xy xy zq"], 10, min_frequency=2)
    assert [pair for pair, _ in merges] == [("x", "y")]  # every other pair occurs once


def test_readable_shows_whitespace_and_bytes():
    assert readable("ĊĠĠĠĠ") == "↵····"
    assert readable("ĉ") == "→"
    assert readable("Ġreturn") == "·return"
    assert readable("".join(pretokenize("é"))) == "é"  # two bytes, one character
