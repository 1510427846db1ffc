"""codegen_lib.corpora.rows: standardization (ours and the report's)."""

import ast

import pytest

from codegen_lib.data import (
    CORPORA,
    load_corpus,
    report_standardize,
    standardize_code,
)


# ---------------------------------------------------------------------------------------------------------------
# Names, standardization
# ---------------------------------------------------------------------------------------------------------------
def test_unknown_corpus_lists_valid_names():
    with pytest.raises(ValueError) as info:
        load_corpus("codesearchnet")
    assert all(name in str(info.value) for name in CORPORA)


def test_standardize_code_keeps_code_intact():
    raw = "\ufeff\r\n\r\ndef f(x):  \r\n\tif x:\r\n\t\treturn 'A,  b'   \r\n\r\n\r\n"
    out = standardize_code(raw)
    assert out == "def f(x):\n\tif x:\n\t\treturn 'A,  b'\n"
    assert standardize_code(out) == out
    assert ast.dump(ast.parse(out)) == ast.dump(ast.parse(raw.lstrip("\ufeff").replace("\r\n", "\n")))
    assert standardize_code("  \n\n") == ""


def test_report_standardize_reproduces_report_and_breaks_code():
    assert report_standardize("Create a python function.") == "create a python function"
    code = "def add_two(a, b):\n    return a+b\n"
    broken = report_standardize(code)
    assert broken == "def addtwoa b\n    return ab\n"
    with pytest.raises(SyntaxError):
        ast.parse(broken)
