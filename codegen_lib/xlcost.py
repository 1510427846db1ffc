"""XLCoST's Python text-to-code data: the release layout, its prompts, and its token format (chapter 01).

XLCoST (Zhu et al., 2022) ships code *tokenized*: tokens are separated by spaces, line structure is written as
``NEW_LINE`` / ``INDENT`` / ``DEDENT`` markers, and inside string literals a real space is written ``▁``
(U+2581) while the spaces between tokens mean nothing::

    def f ( n ) : NEW_LINE INDENT print ( " n ▁ = " , n ) NEW_LINE DEDENT f ( 3 ) NEW_LINE

:func:`detokenize` turns that back into real, indented Python; :func:`xlcost_tokenize` goes the other way (for
XLCoST-style BLEU). :func:`read_split` reads the official release layout::

    <root>/pair_data_tok_full_desc/Python-desc/{split}-Python-desc-tok.{txt,py}   titles, code (one per line)
    <root>/pair_data_tok_full_desc/Python-desc/{split}-Python-map.jsonl           program ids, line-aligned
    <root>/pair_data_tok_1_comment/Python-comment/{split}-Python-comment-tok.txt  snippet comments
    <root>/pair_data_tok_1_comment/Python-comment/{split}-Python-map.jsonl        snippet ids ("10005-Python-1")

(``<root>`` may also be the release's parent folder holding ``generation/``.) The program-level prompt, as on
the hub (``codeparrot/xlcost-text-to-code``, config ``Python-program-level``), is the title, ``" | "``, then the
program's snippet comments in snippet order joined by ``" ; "``. A program with no snippet comments gets the
title alone (no ``" | "``): 15 such programs in train, 0 in val, 2 in test of the release.

The measurement of the detokenizer on the real val/test programs (:func:`parse_report`) and the
classification of what still does not parse (:func:`classify_failure`) are what chapter 01 shows.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "SPLIT_FILES",
    "SPACE",
    "naive_detokenize",
    "detokenize",
    "respace",
    "xlcost_tokenize",
    "XLCoSTRow",
    "find_root",
    "read_split",
    "classify_failure",
    "ParseReport",
    "parse_report",
]

SPACE = "\u2581"  # '▁': a real space inside a string literal
MARKERS = ("NEW_LINE", "INDENT", "DEDENT")
TAB_MARKER = "TABSYMBOL"  # a tab character inside a string literal
SPLIT_FILES = {"train": "train", "validation": "val", "test": "test"}  # DatasetDict name -> file prefix
INDENT_UNIT = "    "
QUOTES = ("'", '"')

DESC_DIR = Path("pair_data_tok_full_desc") / "Python-desc"
SNIPPET_DIR = Path("pair_data_tok_1_comment") / "Python-comment"
_SNIPPET_ID = re.compile(r"^(?P<program>.+?)-Python-(?P<index>\d+)$")


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


_CONTINUES = {
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "**",
    "=",
    "==",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "and",
    "or",
    "not",
    "in",
    "|",
    "&",
    "^",
    "<<",
    ">>",
    "+=",
    "-=",
    "*=",
    "/=",
    "//=",
    "%=",
    "**=",
    "|=",
    "&=",
    "^=",
}  # a logical line cannot end with one of these: the next line continues it
_BINARY_START = _CONTINUES - {
    "+",
    "-",
    "not",
    "=",
    "+=",
    "-=",
    "*=",
    "/=",
    "//=",
    "%=",
    "**=",
    "|=",
    "&=",
    "^=",
}


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


# ----------------------------------------------------------------------------------------------------------------
# The release layout
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class XLCoSTRow:
    """One program of the release. ``code_tokens`` is None for a split shipped without code."""

    program_id: str
    title: str
    comments: list[str]
    code_tokens: str | None
    problems: list[str] = field(default_factory=list)  # why the row is malformed ([] = fine)

    @property
    def prompt(self) -> str:
        """The hub's ``Python-program-level`` text: ``title | c1 ; c2 ; ...`` (the title alone without comments)."""
        if not self.comments:
            return self.title
        return f"{self.title} | {' ; '.join(self.comments)}"


def find_root(data_dir: str | Path) -> Path:
    """The folder holding ``pair_data_tok_full_desc`` (``data_dir`` itself or its ``generation/`` child)."""
    base = Path(data_dir).expanduser()
    for cand in (base, base / "generation"):
        if (cand / DESC_DIR).is_dir():
            return cand
    raise FileNotFoundError(
        f"{base} is not an XLCoST release folder: expected {base / DESC_DIR} (or under generation/). "
        "Pass the folder that holds pair_data_tok_full_desc/ and pair_data_tok_1_comment/."
    )


def _read_lines(path: Path) -> list[str | None]:
    """Lines of a text file, one entry per line; an undecodable line becomes None (reported, not dropped)."""
    data = path.read_bytes()
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    out: list[str | None] = []
    for line in raw:
        try:
            out.append(line.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError:
            out.append(None)
    return out


def _map_ids(path: Path) -> list[str | None]:
    """Ids from a ``*-map.jsonl`` file (each line is a JSON scalar such as ``10005`` or ``"10005-Python-1"``)."""
    ids = []
    for line in _read_lines(path):
        ids.append(None if line is None else line.strip().strip('"'))
    return ids


def _snippet_comments(root: Path, prefix: str) -> dict[str, list[str]]:
    """program id -> its snippet comments in snippet order, from the snippet-level files (if present)."""
    folder = root / SNIPPET_DIR
    map_path, text_path = folder / f"{prefix}-Python-map.jsonl", folder / f"{prefix}-Python-comment-tok.txt"
    if not (map_path.is_file() and text_path.is_file()):
        return {}
    ids, comments = _map_ids(map_path), _read_lines(text_path)
    if len(ids) != len(comments):
        raise ValueError(
            f"{map_path} has {len(ids)} lines but {text_path} has {len(comments)}: not line-aligned"
        )
    by_program: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for sid, text in zip(ids, comments):
        m = _SNIPPET_ID.match(sid or "")
        if m is None or text is None or not text.strip():
            continue
        by_program[m["program"]].append((int(m["index"]), text.strip()))
    return {pid: [t for _, t in sorted(items)] for pid, items in by_program.items()}


def read_split(data_dir: str | Path, split: str) -> list[XLCoSTRow]:
    """Read one program-level split of the release (``split`` in train / validation / test; ``val`` works too).

    Rows come in file order. ``code_tokens`` is None for every row when the split's ``.py`` file is absent (as
    for train on the book's machine); a row whose title or code line is empty or undecodable lists why in
    ``problems``.
    """
    prefix = SPLIT_FILES.get(split, split)
    if prefix not in SPLIT_FILES.values():
        raise ValueError(f"unknown XLCoST split {split!r}; expected one of {sorted(SPLIT_FILES)}")
    root = find_root(data_dir)
    folder = root / DESC_DIR
    map_path, title_path = folder / f"{prefix}-Python-map.jsonl", folder / f"{prefix}-Python-desc-tok.txt"
    for p in (map_path, title_path):
        if not p.is_file():
            raise FileNotFoundError(f"XLCoST {split} split: {p} is missing")
    ids, titles = _map_ids(map_path), _read_lines(title_path)
    code_path = folder / f"{prefix}-Python-desc-tok.py"
    codes: list[str | None] | None = _read_lines(code_path) if code_path.is_file() else None
    if len(titles) != len(ids) or (codes is not None and len(codes) != len(ids)):
        raise ValueError(
            f"XLCoST {split}: {map_path.name}, {title_path.name} and {code_path.name} are not line-aligned "
            f"({len(ids)}, {len(titles)}, {None if codes is None else len(codes)} lines)"
        )
    comments = _snippet_comments(root, prefix)
    rows = []
    for i, (pid, title) in enumerate(zip(ids, titles)):
        problems = []
        if pid is None or title is None or (codes is not None and codes[i] is None):
            problems.append("undecodable")
        if not pid:
            problems.append("missing id")
        if title is not None and not title.strip():
            problems.append("empty prompt")
        code = None if codes is None else codes[i]
        if codes is not None and code is not None and not code.strip():
            problems.append("empty code")
        rows.append(
            XLCoSTRow(
                program_id=pid or f"line{i + 1}",
                title=(title or "").strip(),
                comments=comments.get(pid or "", []),
                code_tokens=code,
                problems=problems,
            )
        )
    return rows


# ----------------------------------------------------------------------------------------------------------------
# Measuring the detokenizer
# ----------------------------------------------------------------------------------------------------------------
# Causes of programs that still do not parse. All are defects of the source data, not of detokenize().
FAILURE_CAUSES = {
    "python2_print": "Python 2 print statement (print x)",
    "c_style_comment": "C-style /* comment */ left in the code",
    "keyword_typo": "misspelt keyword such as 'sdef'",
    "stray_quote": "a lone quote left where a docstring was removed",
    "missing_indent": "INDENT marker missing after a block opener",
    "unexpected_indent": "indentation broken by a lost line",
    "missing_operator": "an operator or comma lost between two operands",
    "dangling_operator": "a line ends with an operator (lost backslash continuation)",
    "missing_newline": "two statements on one line (NEW_LINE marker missing)",
    "missing_colon": "block opener without its colon",
    "duplicate_line": "a def/if line repeated without a body",
    "other": "anything else",
}


def classify_failure(code: str) -> str | None:
    """Why ``code`` (a detokenized program) does not parse: a key of ``FAILURE_CAUSES``, or None if it parses."""
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" warnings of the naive pass's output
            warnings.simplefilter("ignore")
            ast.parse(code)
        return None
    except SyntaxError as err:
        msg, lineno = err.msg or "", err.lineno or 0
    lines = code.split("\n")
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    stripped = line.strip()
    first = stripped.split(" ", 1)[0].split("(", 1)[0]
    if "Missing parentheses in call to 'print'" in msg or re.match(r"print\s+[^\s(=.,)]", stripped):
        return "python2_print"
    if "/ *" in line or "/*" in line or "* /" in line:
        return "c_style_comment"
    if first and not keyword.iskeyword(first) and keyword.iskeyword(first[1:]) and len(first) > 2:
        return "keyword_typo"
    if stripped in QUOTES or re.fullmatch(r"['\"]{1,3}", stripped):
        return "stray_quote"
    if "expected an indented block" in msg:
        prev = lines[lineno - 2].strip() if lineno >= 2 else ""
        return "duplicate_line" if prev and prev == stripped else "missing_indent"
    if "unexpected indent" in msg or "unindent does not match" in msg or first in ("elif", "else"):
        return "unexpected_indent"
    if "forgot a comma" in msg:
        return "missing_operator"
    if "expected ':'" in msg:
        return "missing_colon"
    if re.search(r"(\+|-|\*|/|%|=|\band|\bor|,)$", stripped):
        return "dangling_operator"
    if re.search(r"[)\]\w\"']\s+(print|return|if|for|while)\b|\)\s+[A-Za-z_]\w*\s*(\(|=[^=])", stripped):
        return "missing_newline"
    return "other"


@dataclass
class ParseReport:
    """How many programs parse with ``ast.parse`` after a detokenizer, and why the others do not."""

    total: int
    parsed: int
    failures: list[tuple[str, str]]  # (program id, cause key)

    @property
    def rate(self) -> float:
        return self.parsed / self.total if self.total else 0.0

    @property
    def causes(self) -> Counter:
        return Counter(cause for _, cause in self.failures)

    def summary(self) -> str:
        lines = [f"{self.parsed}/{self.total} parse ({100 * self.rate:.2f}%)"]
        for cause, n in self.causes.most_common():
            lines.append(f"  {n:4d}  {cause}: {FAILURE_CAUSES.get(cause, cause)}")
        return "\n".join(lines)


def parse_report(data_dir: str | Path, splits=("validation", "test"), detokenizer=detokenize) -> ParseReport:
    """Detokenize every program of ``splits`` and count those that parse; classify the failures.

    Example (chapter 01)::

        print(parse_report(xlcost_dir, detokenizer=naive_detokenize).summary())
        print(parse_report(xlcost_dir).summary())
    """
    total, parsed, failures = 0, 0, []
    for split in splits:
        for row in read_split(data_dir, split):
            if row.code_tokens is None:
                raise ValueError(f"XLCoST {split} has no code files under {data_dir}; cannot measure parsing")
            if row.problems:
                continue
            total += 1
            cause = classify_failure(detokenizer(row.code_tokens))
            if cause is None:
                parsed += 1
            else:
                failures.append(
                    (f"{SPLIT_FILES[split] if split in SPLIT_FILES else split}/{row.program_id}", cause)
                )
    return ParseReport(total=total, parsed=parsed, failures=failures)
