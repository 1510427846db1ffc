"""Slot canonicalization (codegen_lib.slots): each clause of the stated rule, and the round trip."""

import pytest

from codegen_lib.slots import (
    MAX_SLOTS,
    SLOT_TOKENS,
    canonicalize,
    canonicalize_request,
    is_slot_token,
    restore,
)


def test_request_slots_are_typed_by_value_form():
    prompt, slots = canonicalize_request("sort `people` by 'age', skip 'a b' and take 3 items of `os.path`")
    assert prompt == "sort var_0 by var_1, skip str_0 and take num_0 items of var_2"
    assert [(s.name, s.value, s.kind) for s in slots] == [
        ("var_0", "people", "var"), ("var_1", "age", "var"), ("str_0", "a b", "str"),
        ("var_2", "os.path", "var"), ("num_0", "3", "num")]


def test_apostrophes_and_code_like_backticks_are_not_slots():
    # a code-like span loses its backticks (markup, not code), and a number inside it stays
    prompt, slots = canonicalize_request("don't touch `f(x)` or `range(3)` or the user's list")
    assert slots == [] and prompt == "don't touch f(x) or range(3) or the user's list"


def test_a_code_like_span_reads_as_the_same_pieces_as_without_backticks():
    """After ``def`` the model copied the piece that followed a backtick (``reverse``, no leading space) and
    wrote ``defreverse_string(s):``; without the backticks the name is read with its leading space."""
    from codegen_lib.tokenizer import train_tokenizer

    texts = ["Write a function reverse_string(s) that returns s reversed.", "def reverse_string(s):"] * 50
    tok = train_tokenizer(texts, vocab_size=300, min_frequency=2)
    with_ticks, _ = canonicalize_request("Write a function `reverse_string(s)` that returns s reversed.")
    assert tok.encode(with_ticks) == tok.encode(texts[0])


def test_same_value_same_slot_and_limit_per_kind():
    prompt, slots = canonicalize_request("'x' and 'x' " + " ".join(str(10 + i) for i in range(MAX_SLOTS + 2)))
    assert prompt.count("var_0") == 2
    nums = [s for s in slots if s.kind == "num"]
    assert len(nums) == MAX_SLOTS and prompt.endswith(f"{10 + MAX_SLOTS} {10 + MAX_SLOTS + 1}")


@pytest.mark.parametrize("prompt, code, canon", [
    ("sort the list `people` by the key 'age'", "sorted(people, key=lambda d: d['age'])",
     "sorted(var_0, key=lambda d: d['var_1'])"),
    ("replace ':' in `s` with \"Very Good\"", 's.replace(":", "Very Good")', 'var_0.replace("str_0", "str_1")'),
    ("first 3 of `xs`", "xs[:3] + xs.copy()", "var_0[:num_0] + var_0.copy()"),
    ("call `os.path`", "os.path.join(a, 'os.path')", "var_0.join(a, 'var_0')"),
    ("use 'a'", "foo(a,", "foo(var_0,"),  # does not tokenize: the text fallback
    ("attribute `x`", "obj.x + x", "obj.x + var_0"),  # an attribute named like the value is not the value
])
def test_code_side_rule_and_round_trip(prompt, code, canon):
    c = canonicalize(prompt, code)
    assert c.ok and c.code == canon
    assert restore(c.code, c.slots) == code


def test_restore_quotes_bare_string_slots_and_escapes_inside_literals():
    _, slots = canonicalize_request("join `words` with ':' then print \"it's\"")
    assert restore("str_0.join(var_0)", slots) == "':'.join(words)"
    assert restore("print('str_1')", slots) == "print('it\\'s')"
    assert restore("print(str_9)", slots) == "print(str_9)"  # a slot the request never had stays


def test_failed_round_trip_returns_the_row_unchanged():
    c = canonicalize("rename 'a'", "var_0 = 'a'")  # the code already uses a slot name
    assert not c.ok and c.slots == [] and c.prompt == "rename 'a'" and c.code == "var_0 = 'a'"


def test_slot_tokens():
    assert len(SLOT_TOKENS) == 3 * MAX_SLOTS and all(is_slot_token(t) for t in SLOT_TOKENS)
    assert not is_slot_token(f"var_{MAX_SLOTS}") and not is_slot_token("myvar_0")
