"""XLCoST: detokenizer (unit cases and the measurement on the real val/test files), prompts, release layout."""

import ast
import re
from collections import defaultdict

import pytest

from codegen_lib.corpora.xlcost import FAILURE_CAUSES, classify_failure, find_root, parse_report, read_split
from codegen_lib.corpora.xlcost_tokens import SPACE, detokenize, naive_detokenize, xlcost_tokenize


# ---------------------------------------------------------------------------------------------------------------
# Unit cases
# ---------------------------------------------------------------------------------------------------------------
def test_markers_become_indentation():
    toks = "def f ( n ) : NEW_LINE INDENT if n : NEW_LINE INDENT return - 1 NEW_LINE DEDENT return n NEW_LINE DEDENT f ( 2 ) NEW_LINE"
    assert detokenize(toks) == "def f(n):\n    if n:\n        return -1\n    return n\nf(2)\n"


def test_string_literals_are_rebuilt():
    toks = 'print ( " n ▁ = ▁ % d " % n , end = " ▁ " ) NEW_LINE if __name__ == " _ _ main _ _ " : NEW_LINE INDENT x = " " NEW_LINE DEDENT'
    code = detokenize(toks)
    assert code == 'print("n = %d" % n, end=" ")\nif __name__ == "__main__":\n    x = ""\n'
    assert SPACE not in code
    # the naive pass keeps the markers inside the literal: wrong content, even where it parses
    assert SPACE in naive_detokenize(toks)


def test_quote_glued_tokens_and_digits():
    assert detokenize("s = '0' + \"1 ▁ 2\" NEW_LINE") == "s = '0' + \"1 2\"\n"


def test_dedent_without_newline_ends_the_line():
    toks = "def f ( x ) : NEW_LINE INDENT print ( x ) DEDENT x = 1 NEW_LINE f ( x ) NEW_LINE"
    assert detokenize(toks) == "def f(x):\n    print(x)\nx = 1\nf(x)\n"
    with pytest.raises(SyntaxError):
        ast.parse(naive_detokenize(toks))


def test_backslash_continuation_and_lost_continuation():
    kept = "if ( a or \\ b ) : NEW_LINE INDENT pass NEW_LINE DEDENT"
    assert detokenize(kept) == "if (a or b):\n    pass\n"
    lost = "x = ( a ) + NEW_LINE INDENT ( b ) NEW_LINE DEDENT y = 2 NEW_LINE"
    code = detokenize(lost)
    assert code == "x = (a) + (b)\ny = 2\n"
    ast.parse(code)


def test_import_star_is_not_a_continuation():
    assert detokenize("from math import * NEW_LINE x = 1 NEW_LINE") == "from math import *\nx = 1\n"


def test_space_marker_outside_literal_glues_split_operators():
    toks = (
        "if ( s == ' ▁ ' or s ==   ' ' ▁ or ▁ s [ i ] ▁ = = ▁ ' \t ' ) : NEW_LINE INDENT pass NEW_LINE DEDENT"
    )
    code = detokenize(toks)
    ast.parse(code)
    assert "s[i] == '\\t'" in code and SPACE not in code


def test_tab_marker_and_marker_inside_literal():
    assert detokenize('x = " a TABSYMBOL b " NEW_LINE') == 'x = "a\\tb"\n'
    code = detokenize('s = " One two NEW_LINE INDENT three " NEW_LINE DEDENT print ( s ) NEW_LINE')
    assert ast.literal_eval(code.split("\n")[0].split(" = ", 1)[1]) == "Onetwo\nthree"
    ast.parse(code)


def test_lone_quote_stays_visible_unless_repaired():
    toks = "def g ( K ) : NEW_LINE INDENT s = [ 0 ] * K NEW_LINE DEDENT ' NEW_LINE INDENT s [ 0 ] = '1' NEW_LINE return s NEW_LINE DEDENT"
    faithful = detokenize(toks)
    assert classify_failure(faithful) == "stray_quote"
    repaired = detokenize(toks, repair=True)
    assert repaired == "def g(K):\n    s = [0] * K\n    s[0] = '1'\n    return s\n"


def test_python2_print_is_ported_only_with_repair():
    toks = 'print " Yes " NEW_LINE print a , NEW_LINE print NEW_LINE print ( x ) NEW_LINE print A ; NEW_LINE'
    assert classify_failure(detokenize(toks)) == "python2_print"
    code = detokenize(toks, repair=True)
    assert code == 'print("Yes")\nprint(a, end=" ")\nprint()\nprint(x)\nprint(A);\n'


@pytest.mark.parametrize(
    "code,cause",
    [
        ("sdef f(x):\n    return x\n", "keyword_typo"),
        ("x = 1\n/ * Driver code * /\n", "c_style_comment"),
        ("if x:\ny = 1\n", "missing_indent"),
        ("if (a < 0 b < 0):\n    pass\n", "missing_operator"),
        ("x = 1\n", None),
    ],
)
def test_classify_failure(code, cause):
    assert classify_failure(code) == cause


def test_xlcost_tokenize_format():
    code = "def f(x):\n    # a comment\n    if x:\n        return 'a b'\n    return -1\n"
    toks = xlcost_tokenize(code)
    assert toks == (
        "def f ( x ) : NEW_LINE INDENT if x : NEW_LINE INDENT return ' a ▁ b ' NEW_LINE DEDENT "
        "return - 1 NEW_LINE DEDENT"
    )
    assert detokenize(toks) == code.replace("    # a comment\n", "")
    # invalid code (model output) is tokenized line by line instead of raising
    assert xlcost_tokenize("def f(x:\n  return 'a b\n").split()[:5] == ["def", "f", "(", "x", ":"]


# ---------------------------------------------------------------------------------------------------------------
# The real val/test programs
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def programs(xlcost_dir):
    return {split: read_split(xlcost_dir, split) for split in ("validation", "test")}


def test_split_sizes_and_train_without_code(xlcost_dir, programs):
    assert len(programs["validation"]) == 472 and len(programs["test"]) == 887
    assert all(r.code_tokens and not r.problems for rows in programs.values() for r in rows)
    train = read_split(xlcost_dir, "train")
    assert len(train) == 9263 and all(r.code_tokens is None for r in train)


def test_prompt_is_title_then_snippet_comments(xlcost_dir, programs):
    # rebuild the snippet comments independently of the library
    folder = xlcost_dir / "pair_data_tok_1_comment" / "Python-comment"
    ids = (folder / "val-Python-map.jsonl").read_text(encoding="utf-8").split("\n")
    texts = (folder / "val-Python-comment-tok.txt").read_text(encoding="utf-8").split("\n")
    by_program = defaultdict(list)
    for sid, text in zip(ids, texts):
        m = re.match(r"(\d+)-Python-(\d+)$", sid.strip())
        if m:
            by_program[m[1]].append((int(m[2]), text.strip()))
    for row in programs["validation"]:
        comments = [t for _, t in sorted(by_program[row.program_id])]
        expected = row.title + " | " + " ; ".join(comments) if comments else row.title
        assert row.prompt == expected
    first = programs["validation"][0]
    assert first.prompt.startswith(first.title + " | ") and " ; " in first.prompt


def test_programs_without_snippet_comments_get_the_title(xlcost_dir, programs):
    no_comments = {s: [r for r in rows if not r.comments] for s, rows in programs.items()}
    train_none = [r for r in read_split(xlcost_dir, "train") if not r.comments]
    print(
        f"\nprograms without snippet comments: train {len(train_none)}, val {len(no_comments['validation'])}, "
        f"test {len(no_comments['test'])}"
    )
    for r in no_comments["test"] + train_none:
        assert r.prompt == r.title and " | " not in r.prompt
    assert len(no_comments["test"]) > 0 and len(train_none) > 0


def test_detokenizer_parse_rates(xlcost_dir):
    naive = parse_report(xlcost_dir, detokenizer=naive_detokenize)
    faithful = parse_report(xlcost_dir)
    repaired = parse_report(xlcost_dir, detokenizer=lambda t: detokenize(t, repair=True))
    print(
        "\nnaive:", naive.summary(), "\ndetokenize:", faithful.summary(), "\nrepair=True:", repaired.summary()
    )
    assert naive.total == faithful.total == 1359
    assert 0.90 < naive.rate < faithful.rate
    assert repaired.rate >= 0.96
    # every remaining failure has a named cause, and repair removed exactly the causes it targets
    assert "other" not in faithful.causes and "other" not in repaired.causes
    assert set(faithful.causes) <= set(FAILURE_CAUSES)
    assert repaired.causes["python2_print"] == 0 and repaired.causes["stray_quote"] == 0
    assert faithful.causes["python2_print"] > 0


def test_failures_are_not_the_detokenizers_fault(programs):
    """No failing program keeps a ▁ or a broken literal: what is left are defects of the source."""
    for rows in programs.values():
        for row in rows:
            code = detokenize(row.code_tokens)
            cause = classify_failure(code)
            if cause is None:
                continue
            assert SPACE not in code, row.program_id
            if cause != "stray_quote":
                with pytest.raises(SyntaxError) as info:
                    ast.parse(code)
                assert "unterminated string" not in info.value.msg, row.program_id


def test_pretty_spacing_never_changes_the_ast(programs):
    for rows in programs.values():
        for row in rows:
            pretty, plain = detokenize(row.code_tokens), detokenize(row.code_tokens, pretty=False)
            try:
                tree = ast.dump(ast.parse(pretty))
            except SyntaxError:
                with pytest.raises(SyntaxError):
                    ast.parse(plain)
                continue
            assert tree == ast.dump(ast.parse(plain)), row.program_id


@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")  # the naive pass keeps "\\ "
def test_structure_matches_naive_pass_where_both_parse(programs):
    """The fixes change string contents only: statements and expressions are the naive pass's."""

    class Strings(ast.NodeTransformer):
        def visit_Constant(self, node):
            return ast.Constant("S") if isinstance(node.value, str) else node

    both = 0
    for rows in programs.values():
        for row in rows:
            try:
                a, b = ast.parse(naive_detokenize(row.code_tokens)), ast.parse(detokenize(row.code_tokens))
            except SyntaxError:
                continue
            both += 1
            assert ast.dump(Strings().visit(a)) == ast.dump(Strings().visit(b)), row.program_id
    assert both > 1200


def test_xlcost_tokenize_round_trip_on_real_programs(programs):
    exact = total = 0
    for rows in programs.values():
        for row in rows:
            code = detokenize(row.code_tokens)
            try:
                tree = ast.dump(ast.parse(code))
            except SyntaxError:
                continue
            total += 1
            toks = xlcost_tokenize(code)
            assert ast.dump(ast.parse(detokenize(toks))) == tree, row.program_id
            exact += toks.split() == row.code_tokens.split()
    assert exact / total > 0.85  # the source's own token sequence is reproduced for most programs


def test_respace_gives_normal_spacing_with_the_same_ast():
    from codegen_lib.corpora.xlcost_tokens import respace

    spaced = ("@ cache\ndef f_gold ( a , * rest , k = - 1 ) :\n    # count\n    m = 1 ;\n"
              "    while ( a & m ) :\n        a = a ^ m  # flip\n\n    return a [ 1 : ] , print ( k , end = \" \" )\n")
    out = respace(spaced)
    assert out == ("@cache\ndef f_gold(a, *rest, k=-1):\n    # count\n    m = 1\n    while (a & m):\n"
                   "        a = a ^ m  # flip\n\n    return a[1:], print(k, end=\" \")\n")
    assert ast.dump(ast.parse(out)) == ast.dump(ast.parse(spaced))
    assert respace("m = 1 ;", drop_semicolons=False) == "m = 1;\n"
    assert respace("def f(:\n") == "def f(:\n"  # does not parse: unchanged


def test_xlcost_tokenize_glues_digits_to_quotes_as_xlcost_does():
    assert xlcost_tokenize('x = "000" + "-1"') == 'x = "000" + " - 1" NEW_LINE'
    assert xlcost_tokenize("y = 'a b'") == "y = ' a \u2581 b ' NEW_LINE"


def test_xlcost_bleu_scores_a_prediction_like_its_token_spaced_twin(programs):
    """XLCoST-style BLEU re-tokenizes predictions, so the spacing a model writes cannot change the score;
    the references are the original XLCoST tokens (``tokenized=True``) or their detokenized code."""
    from codegen_lib.corpora.xlcost_tokens import respace
    from codegen_lib.metrics import xlcost_bleu

    rows = [r for r in programs["validation"] if r.code_tokens][:150]
    refs_tok = [r.code_tokens for r in rows]
    pretty = [detokenize(t) for t in refs_tok]
    spaced = [detokenize(t, pretty=False) for t in refs_tok]  # "def f ( n ) :" with real lines
    assert sum(p != s for p, s in zip(pretty, spaced)) > 100
    assert [xlcost_tokenize(p) for p in pretty] == [xlcost_tokenize(s) for s in spaced]
    assert xlcost_bleu(pretty, pretty) == xlcost_bleu(spaced, pretty) == pytest.approx(100.0)
    shifted = pretty[1:] + pretty[:1]  # wrong predictions: a score well below 100, equal for both spellings
    assert xlcost_bleu(shifted, pretty) == xlcost_bleu(spaced[1:] + spaced[:1], pretty) < 50
    assert xlcost_bleu([respace(s, drop_semicolons=False) for s in spaced], pretty) == xlcost_bleu(spaced, pretty)
    # dropping statement-ending ";" is not spacing: XLCoST counts ";" as a token
    assert xlcost_bleu([respace(s) for s in spaced], pretty) < 100
    # against the original tokens: the re-tokenized prediction is the original for most programs
    hyp_tok = [xlcost_tokenize(s) for s in spaced]
    assert sum(h.split() == t.split() for h, t in zip(hyp_tok, refs_tok)) / len(rows) > 0.9
    assert xlcost_bleu(hyp_tok, refs_tok, tokenized=True) > 97


# ---------------------------------------------------------------------------------------------------------------
# Release layout
# ---------------------------------------------------------------------------------------------------------------
def _write_release(root, split, ids, titles, codes):
    folder = root / "pair_data_tok_full_desc" / "Python-desc"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}-Python-map.jsonl").write_text("".join(f"{i}\n" for i in ids))
    (folder / f"{split}-Python-desc-tok.txt").write_text("".join(f"{t}\n" for t in titles))
    (folder / f"{split}-Python-desc-tok.py").write_bytes(b"".join(c + b"\n" for c in codes))


def test_release_folder_or_its_parent(tmp_path):
    _write_release(tmp_path / "generation", "val", [1], ["Add"], [b"x = 1 NEW_LINE"])
    assert find_root(tmp_path) == tmp_path / "generation"
    rows = read_split(tmp_path, "validation")
    assert rows[0].prompt == "Add" and rows[0].code_tokens == "x = 1 NEW_LINE"
    with pytest.raises(FileNotFoundError, match="pair_data_tok_full_desc"):
        find_root(tmp_path / "generation" / "pair_data_tok_full_desc")
    with pytest.raises(ValueError, match="unknown XLCoST split"):
        read_split(tmp_path, "dev")


def test_malformed_release_rows_are_flagged(tmp_path):
    _write_release(
        tmp_path, "test", [1, 2, 3], ["A", "B", "C"], [b"x = 1 NEW_LINE", b"  ", b"y = '\xff' NEW_LINE"]
    )
    rows = read_split(tmp_path, "test")
    assert [r.problems for r in rows] == [[], ["empty code"], ["undecodable"]]


def test_misaligned_release_files_raise(tmp_path):
    _write_release(tmp_path, "test", [1, 2], ["A"], [b"x = 1 NEW_LINE", b"y = 2 NEW_LINE"])
    with pytest.raises(ValueError, match="not line-aligned"):
        read_split(tmp_path, "test")
