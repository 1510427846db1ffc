"""XLCoST's token format, both ways: tokens -> real Python and back (chapter 01).

XLCoST (Zhu et al., 2022) ships code *tokenized*: tokens are separated by spaces, line structure is written as
``NEW_LINE`` / ``INDENT`` / ``DEDENT`` markers, and inside string literals a real space is written ``▁``
(U+2581) while the spaces between tokens mean nothing::

    def f ( n ) : NEW_LINE INDENT print ( " n ▁ = " , n ) NEW_LINE DEDENT f ( 3 ) NEW_LINE

:func:`detokenize` turns that back into real, indented Python; :func:`xlcost_tokenize` goes the other way (for
XLCoST-style BLEU); :func:`respace` gives token-spaced real Python (TransCoder's GfG programs) normal spacing. The corpus itself (the release layout, the prompts, ``load``) is
:mod:`codegen_lib.corpora.xlcost`.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize

__all__ = ["SPACE", "naive_detokenize", "detokenize", "respace", "xlcost_tokenize"]

SPACE = "\u2581"  # '▁': a real space inside a string literal
MARKERS = ("NEW_LINE", "INDENT", "DEDENT")
TAB_MARKER = "TABSYMBOL"  # a tab character inside a string literal
INDENT_UNIT = "    "
QUOTES = ("'", '"')


# ----------------------------------------------------------------------------------------------------------------
# Tokens -> Python
# ----------------------------------------------------------------------------------------------------------------
def naive_detokenize(code_tokens: str) -> str:
    """The obvious marker-to-indentation pass, kept to show what it gets wrong (chapter 01).

    Tokens are re-joined with single spaces, ``NEW_LINE`` ends a line, ``INDENT``/``DEDENT`` change the
    indentation of the next line. ``▁`` markers, multi-token string literals and ``\\`` continuations are left
    as they are, so ``" n ▁ = "`` stays a string with the wrong content and a ``▁`` outside a string is a
    syntax error. About 92% of the real val/test programs parse after it.
    """
    lines, current, depth = [], [], 0
    for tok in code_tokens.split():
        if tok == "NEW_LINE":
            if current:
                lines.append(INDENT_UNIT * depth + " ".join(current))
            current = []
        elif tok == "INDENT":
            depth += 1
        elif tok == "DEDENT":
            depth = max(depth - 1, 0)
        else:
            current.append(tok)
    if current:
        lines.append(INDENT_UNIT * depth + " ".join(current))
    return "\n".join(lines) + "\n" if lines else ""


def _string_start(tok: str) -> tuple[str, str] | None:
    """If ``tok`` opens a string literal, return (quote, content after the quote); else None."""
    if tok and tok[0] in QUOTES:
        return tok[0], tok[1:]
    return None


def _render_string(quote: str, pieces: list[str]) -> str:
    """Join the content tokens of one literal: no space between tokens, ``▁`` -> space, TABSYMBOL -> tab."""
    content = "".join(pieces).replace(SPACE, " ").replace(TAB_MARKER, "\\t")
    content = content.replace("\n", "\\n").replace("\t", "\\t")
    return quote + content + quote


def _raw_tokens(code_tokens: str) -> list[str]:
    """Split on spaces only: a tab inside a literal is a real tab of the source and stays a token."""
    return [t for t in code_tokens.replace("\r", "").split(" ") if t]


def _drop_lone_quotes(raw: list[str]) -> list[str]:
    """Repair: remove lines made of a single quote, left where XLCoST's preprocessing removed a docstring.

    ``... DEDENT ' NEW_LINE INDENT ...`` also loses the DEDENT/INDENT pair around it, which restores the block
    the docstring interrupted.
    """
    out: list[str] = []
    i = 0
    while i < len(raw):
        tok = raw[i]
        before = out[-1] if out else "NEW_LINE"
        after = raw[i + 1] if i + 1 < len(raw) else "NEW_LINE"
        if tok in QUOTES and before in MARKERS and after == "NEW_LINE":
            i += 2  # the quote and its NEW_LINE
            if before == "DEDENT" and i < len(raw) and raw[i] == "INDENT":
                out.pop()
                i += 1
            continue
        out.append(tok)
        i += 1
    return out


def _split_tokens(raw: list[str]) -> list[str]:
    """Tokens of one program, with each string literal merged into one token (its content rebuilt).

    Outside literals: ``\\`` (a continuation whose newline is gone) and whitespace tokens are dropped, and a
    ``▁`` starts a stretch that XLCoST's tokenizer mistook for string content (its tokens were split
    character-wise, ``= =`` for ``==``): up to the next quote, the tokens between two ``▁`` are glued back.
    """
    out: list[str] = []
    quote: str | None = None  # the quote of the open string literal, if any
    pieces: list[str] = []
    mangled: list[str] | None = None  # the word being glued inside a mistaken stretch
    for i, tok in enumerate(raw):
        if quote is None:
            start = _string_start(tok)
            if tok in QUOTES and (i + 1 == len(raw) or raw[i + 1] == "NEW_LINE"):
                start = None  # a quote alone at a line's end opens nothing: a docstring remnant, left visible
            if mangled is not None and (start is not None or tok in MARKERS or tok == SPACE):
                if mangled:
                    out.append("".join(mangled))
                mangled = [] if tok == SPACE else None
                if tok == SPACE:
                    continue
            if start is None:
                if tok == SPACE:
                    mangled = []
                elif tok == "\\" or not tok.strip():
                    continue
                elif mangled is not None:
                    mangled.append(tok)
                else:
                    out.append(tok)
                continue
            quote, tok = start
            pieces = []
            if not tok:
                continue
        # inside a string literal: does this token close it?
        if tok in MARKERS:  # the source had a line break inside the literal
            pieces.append("\n" if tok == "NEW_LINE" else "")
            continue
        if tok == "\\":  # a backslash-newline continuation inside a literal: the newline is gone, drop it
            continue
        end = tok.find(quote)
        if end < 0:
            pieces.append(tok)
            continue
        pieces.append(tok[:end])
        out.append(_render_string(quote, pieces))
        quote = None
        tail = tok[end + 1 :]
        if tail:  # rare: code glued after the closing quote
            out.append(tail)
    if mangled:
        out.append("".join(mangled))
    if quote is not None:  # unterminated literal: emit it as it was, so the defect stays visible
        out.append(quote + " ".join(pieces))
    return out


_OPEN = {"(", "[", "{"}
_CLOSE = {")", "]", "}"}
_NO_SPACE_BEFORE = _CLOSE | {",", ":", ";"}
_UNARY = {"-", "+", "~"}


def _is_name(tok: str) -> bool:
    return tok.isidentifier() and not keyword.iskeyword(tok)


def _is_operand_end(tok: str) -> bool:
    """True if ``tok`` can end an operand, so a following ``-`` is binary (``a - b``), not unary (``a, -b``)."""
    return (
        _is_name(tok)
        or tok in _CLOSE
        or tok[0] in QUOTES
        or tok[0].isdigit()
        or tok in ("None", "True", "False")
    )


def _join_line(tokens: list[str]) -> str:
    """Join one logical line's tokens with PEP 8-like spacing; never merges two tokens into a different one.

    Also: a decorator's ``@`` and unpacking stars (``f(*args, **kw)``, ``[*a, *b]``) stick to their operand,
    and ``=`` inside brackets (keyword arguments, defaults) and a slice's ``:`` have no spaces:
    ``print(x, end=" ")``, ``a[1:n]``."""
    out = ""
    glue_next = False  # set after a unary sign: "-1", "-x", "-(a)"
    stack: list[str] = []  # the open brackets before the current token
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        kwarg_eq = tok == "=" and bool(stack)
        slice_colon = tok == ":" and stack[-1:] == ["["]
        if i == 0:
            out = tok
        else:
            glue = (
                glue_next
                or kwarg_eq
                or tok in _NO_SPACE_BEFORE
                or prev in _OPEN
                # call or subscript: f(x), a[i], s[1:], "ab"[0]
                or (tok in ("(", "[") and (_is_name(prev) or prev in _CLOSE or prev[0] in QUOTES))
                # attribute access; "1 .real" must keep its space
                or (
                    tok == "."
                    and not prev[0].isdigit()
                    and (_is_name(prev) or prev in _CLOSE or prev[0] in QUOTES)
                )
                or (prev == "." and _is_name(tok) and i >= 2 and _is_operand_end(tokens[i - 2]))
            )
            out += tok if glue else " " + tok
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        operand_next = bool(nxt) and (nxt[0].isalnum() or nxt[0] == "_" or nxt in ("(", "[")) and not keyword.iskeyword(nxt)
        # a sign is unary after an operator, an opening bracket, a comma, a keyword or at line start
        glue_next = (
            (tok in _UNARY and (i == 0 or not _is_operand_end(prev)) and operand_next)
            or (tok == "@" and i == 0)  # a decorator
            or (tok in ("*", "**") and (prev in _OPEN or prev == ",") and operand_next)  # unpacking
            or kwarg_eq
            or slice_colon
        )
        if tok in _OPEN:
            stack.append(tok)
        elif tok in _CLOSE and stack:
            stack.pop()
    return out


_AUGMENTED = {"+=", "-=", "*=", "/=", "//=", "%=", "**=", "|=", "&=", "^="}  # augmented assignments
_CONTINUES = {
    "+", "-", "*", "/", "//", "%", "**", "=", "==", "!=", "<", ">", "<=", ">=",
    "and", "or", "not", "in", "|", "&", "^", "<<", ">>", *_AUGMENTED,
}  # a logical line cannot end with one of these: the next line continues it
_BINARY_START = _CONTINUES - {"+", "-", "not", "=", *_AUGMENTED}


def _port_print(tokens: list[str]) -> list[str]:
    """Repair: Python 2 ``print x, y`` -> ``print(x, y)``; a trailing comma -> ``end=" "``; bare -> ``print()``."""
    if not tokens or tokens[0] != "print":
        return tokens
    if len(tokens) == 1:
        return ["print", "(", ")"]
    if tokens[1] in ("(", "=", ".", ")", ",", "[") or tokens[1] in _CONTINUES:
        return tokens  # already a call (or print used as a name)
    args = tokens[1:]
    tail = [";"] if args[-1] == ";" else []
    args = args[:-1] if tail else args
    if args and args[-1] == ",":
        args = args[:-1] + [",", "end", "=", '" "']
    return ["print", "(", *args, ")", *tail]


def _bracket_depth(tokens: list[str]) -> int:
    return sum(t in _OPEN for t in tokens) - sum(t in _CLOSE for t in tokens)


def detokenize(code_tokens: str, *, pretty: bool = True, repair: bool = False) -> str:
    """Turn XLCoST token format into real, indented Python source (chapter 01).

    Rules, each fixing a failure of :func:`naive_detokenize` that is the detokenizer's fault:

    - ``NEW_LINE`` ends a line; ``INDENT`` / ``DEDENT`` also end the current line (a few programs have
      ``... ) DEDENT x = 1`` with no ``NEW_LINE``) and change the indentation (4 spaces per level).
    - A string literal is rebuilt from its tokens: quote, content tokens joined with *no* space, ``▁`` -> a
      space, ``TABSYMBOL`` (or a raw tab) -> ``\\t``, closing quote. So ``" Value ▁ of ▁ C ( % d ) "`` becomes
      ``"Value of C(%d)"`` and ``" _ _ main _ _ "`` becomes ``"__main__"``. A marker inside a literal (the
      source had a line break there) becomes ``\\n``; a ``\\`` token inside one (a lost backslash-newline)
      is dropped.
    - Outside literals a lone ``\\`` is a line continuation whose newline is already gone: dropped. A ``▁``
      outside a literal marks a stretch XLCoST's tokenizer mistook for string content: its character-split
      tokens are glued back (``▁ = = ▁`` -> ``==``).
    - A line that ends with an operator or an open bracket continues on the next line (the source had a
      backslash continuation that the tokenizer dropped, writing the continuation as an indented block):
      the lines are joined and the INDENT/DEDENT pair around the continuation is ignored.
    - Tokens are joined PEP 8-style (``f(x, -1)``, ``a[i].b``); the spacing never changes the AST.

    Args:
        code_tokens: one program in XLCoST's format (a single line).
        pretty: False joins the tokens of a line with single spaces instead (``f ( x , - 1 )``).
        repair: also repair two defects of the *source* (off by default, so the measurement stays honest):
            Python 2 ``print x`` statements become ``print(x)`` calls, and lines holding a lone quote (left by
            XLCoST's docstring removal) are removed.

    Returns:
        The program, lines joined with ``"\\n"``, ending with one ``"\\n"`` ("" for an empty input).
    """
    raw = _raw_tokens(code_tokens)
    if repair:
        raw = _drop_lone_quotes(raw)
    lines: list[tuple[int, list[str]]] = []  # (depth, tokens) per logical line
    current: list[str] = []
    depth = 0
    swallowed = 0  # INDENTs that only indented a continuation line; their DEDENTs are ignored too
    continuing = False

    def flush() -> None:
        nonlocal current
        if current:
            lines.append((depth, current))
        current = []

    for tok in _split_tokens(raw):
        if tok == "NEW_LINE":
            ends_open = current and current[-1] in _CONTINUES and current[-2:] != ["import", "*"]
            if ends_open or (current and _bracket_depth(current) > 0):
                continuing = True
                continue
            flush()
        elif tok == "INDENT":
            if continuing and current:
                swallowed += 1
                continue
            flush()
            depth += 1
        elif tok == "DEDENT":
            flush()
            if swallowed:
                swallowed -= 1
            else:
                depth = max(depth - 1, 0)
        else:
            if not current and swallowed and tok in _BINARY_START and lines:
                current = lines.pop()[1]  # "* (angle / 360)" continues the previous line
            continuing = False
            current.append(tok)
    flush()
    out = []
    for level, toks in lines:
        if repair:
            toks = _port_print(toks)
        out.append(INDENT_UNIT * level + (_join_line(toks) if pretty else " ".join(toks)))
    return "\n".join(out) + "\n" if out else ""


def respace(code: str, *, drop_semicolons: bool = True) -> str:
    """Real Python written in a token-spaced style (``def f_gold ( x ) :`` / ``m = 1 ;``, as in TransCoder's
    GeeksforGeeks programs) -> the same program with normal spacing (chapter 01).

    Each logical line's tokens (Python's own tokenizer) are joined as :func:`detokenize` joins XLCoST's; the
    indentation, comments and comment-only lines are kept, blank lines too, and so are the line breaks of a
    statement that spans several lines; with ``drop_semicolons`` a ``;`` that ends a statement is removed. The result
    has the same AST as ``code`` (checked: when it would not, or ``code`` does not tokenize or parse, ``code``
    comes back unchanged).

    Returns:
        The program, ending with one ``"\n"``.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
        before = ast.dump(ast.parse(code))
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
        return code
    lines: list[str] = []
    current: list[str] = []
    indent = ""
    comment = ""
    for tok in tokens:
        kind = tok.type
        if kind in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if kind == tokenize.COMMENT:
            if current:
                comment = tok.string
            else:  # a comment on a line of its own
                lines.append(tok.line[: tok.start[1]] + tok.string)
            continue
        if kind in (tokenize.NEWLINE, tokenize.NL):
            if current:
                if drop_semicolons and current[-1] == ";":
                    current.pop()
                lines.append(indent + _join_line(current) + ("  " + comment if comment else ""))
                current, comment = [], ""
            elif kind == tokenize.NL and not tok.line.strip():
                lines.append("")
            continue
        if not current:
            indent = tok.line[: tok.start[1]]
        current.append(tok.string)
    out = "\n".join(lines).strip("\n") + "\n"
    try:
        same = ast.dump(ast.parse(out)) == before
    except (SyntaxError, ValueError):
        same = False
    return out if same else code


# ----------------------------------------------------------------------------------------------------------------
# Python -> tokens (for XLCoST-style BLEU)
# ----------------------------------------------------------------------------------------------------------------
_STRING_WORD = re.compile(
    r"\\.|[^\W_]+|[^\w\s]|_"
)  # inside literals: escapes, letters/digits, single symbols


def _string_tokens(literal: str) -> list[str]:
    """``'"a b_c"'`` -> ``['"', 'a', '▁', 'b_c', '"']``: XLCoST's string-literal format, digits next to a
    quote glued to it as XLCoST does (``'"000"'`` -> ``['"000"']``, ``'"-1"'`` -> ``['"', '-', '1"']``)."""
    m = re.match(r"^([A-Za-z]*)('''|\"\"\"|'|\")(.*)\2$", literal, re.S)
    if m is None:
        return [literal]
    prefix, quote, body = m.groups()
    out = [prefix + quote[0]] if prefix else [quote[0]]
    for piece in re.split(r"( )", body):
        if piece == " ":
            out.append(SPACE)
        elif piece:
            out.extend(_STRING_WORD.findall(piece))
    out.append(quote[0])
    if not prefix:  # XLCoST glues digits to an adjacent quote: "000" is one token, "-1" is " - 1"
        if len(out) > 2 and out[-2].isdigit():
            out[-2:] = [out[-2] + out[-1]]
        if len(out) > 1 and (out[1].isdigit() or (out[1][:-1].isdigit() and out[1][-1] == quote[0])):
            out[:2] = [out[0] + out[1]]
    return out


def _fallback_tokenize(code: str) -> list[str]:
    """Line-based tokenization for code that Python's ``tokenize`` rejects (model output can be invalid)."""
    out: list[str] = []
    stack = [0]
    for raw in code.expandtabs(4).split("\n"):
        if not raw.strip() or raw.strip().startswith("#"):
            continue
        width = len(raw) - len(raw.lstrip(" "))
        if width > stack[-1]:
            stack.append(width)
            out.append("INDENT")
        while width < stack[-1] and len(stack) > 1:
            stack.pop()
            out.append("DEDENT")
        for piece in re.findall(r"(\"[^\"]*\"|'[^']*'|\w+|\S)", raw.strip()):
            out.extend(_string_tokens(piece) if piece[0] in QUOTES and len(piece) > 1 else [piece])
        out.append("NEW_LINE")
    out.extend("DEDENT" for _ in stack[1:])
    return out


def xlcost_tokenize(code: str) -> str:
    """Real Python -> XLCoST's token format (the inverse of :func:`detokenize`, up to spacing).

    Comments and blank lines are dropped, logical lines end with ``NEW_LINE``, indentation changes become
    ``INDENT`` / ``DEDENT``, string literals are split into quote / word / ``▁`` tokens. Code that Python's
    tokenizer rejects (unbalanced brackets, bad indentation: common in model output) is tokenized line by
    line instead, so this never raises. Used by ``codegen_lib.metrics.xlcost_bleu`` (chapter 09).

    Returns:
        The tokens joined by single spaces.
    """
    if not isinstance(code, str):
        raise TypeError(f"xlcost_tokenize expects a str of Python source, got {type(code).__name__}")
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            kind = tok.type
            if kind == tokenize.NEWLINE:
                out.append("NEW_LINE")
            elif kind == tokenize.INDENT:
                out.append("INDENT")
            elif kind == tokenize.DEDENT:
                out.append("DEDENT")
            elif kind == tokenize.STRING:
                out.extend(_string_tokens(tok.string))
            elif kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER, tokenize.ENCODING):
                continue
            elif tok.string.strip():
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out = _fallback_tokenize(code)
    return " ".join(out)
