"""Slot canonicalization: the values a request names become typed slots (chapter 02; used in chapter 08).

A request such as ``sort the list `people` by the key 'age'`` names values that the code must contain.
The CoNaLa baseline and TranX (Yin and Neubig 2018) replace them with placeholders in the request *and*
in the code, train on the placeholders, and put the values back after decoding. The model then learns
``sorted(var_0, key=lambda d: d['var_1'])`` once for every list and every key.

The rule, stated once (``tests/test_slots.py`` checks each clause):

* **Request side** (:func:`canonicalize_request`). Scanned left to right:

  - a quoted span ``'...'`` or ``"..."`` (the opening quote not preceded, the closing quote not followed,
    by a letter or digit, so "don't" is no quote), or a backticked span ```...```;
  - then a bare number (``42``, ``3.5``) that is not part of a word.

  Each distinct value gets one slot, typed by its form: ``num_i`` for a number, ``var_i`` for an
  identifier or a dotted name (``people``, ``os.path``), ``str_i`` for anything else. A backticked span
  that looks like code (it holds one of ``( ) [ ] = ,``) gets no slot: it is code to write, not a value to
  copy. Its backticks are dropped, because they are markup and not code: with them, BPE reads the request
  ``a function `reverse_string(s)` `` as the pieces ``Ġ``` then ``reverse`` (no leading space), and a copy
  head that copies that piece after ``def`` writes ``defreverse_string(s):``. At most :data:`MAX_SLOTS`
  values of each kind get slots; the rest stay in the text.
  The span, quotes included, is replaced by the slot name.

* **Code side** (:func:`canonicalize`). Through Python's tokenizer, where the code tokenizes:

  - a NAME token (or a dotted run of them) equal to a ``var`` value becomes the slot name;
  - a STRING token whose body (between its quotes) equals a value of any kind keeps its prefix and
    quotes and gets the slot name as body: ``'age'`` -> ``'var_1'``;
  - a NUMBER token equal to a ``num`` value becomes the slot name.

  Where the code does not tokenize (a Django line such as ``foo(a,``), the same three replacements are
  made on the text with word boundaries.

* **Restore** (:func:`restore`): a slot name as a bare token becomes its value (a ``str`` slot is quoted,
  because a bare string value would not be Python); inside a string literal it becomes the value, with
  the literal's own quote character escaped. So ``'var_1'`` -> ``'age'`` and ``str_0`` -> ``':'``.

* **Round trip**: :func:`canonicalize` checks ``restore(code', slots) == code``. A row that fails (its code
  already uses a slot name, say) is returned unchanged with ``slots=[]`` and ``ok=False``: the caller
  counts it, nothing is dropped.

At decoding time the model may only emit slot tokens that occur in its source (``decode.Stepper``), so a
slot that the request never had cannot appear in the output.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field

__all__ = ["Slot", "Canonical", "MAX_SLOTS", "KINDS", "SLOT_TOKENS", "canonicalize_request", "canonicalize",
           "canonicalize_rows", "restore", "is_slot_token"]

KINDS = ("var", "str", "num")  # the three slot types
MAX_SLOTS = 8  # slots per kind: var_0 .. var_7, str_0 .. str_7, num_0 .. num_7
SLOT_TOKENS = [f"{kind}_{i}" for kind in KINDS for i in range(MAX_SLOTS)]  # whole tokens in the tokenizer

# A quoted or backticked span. The quote must not touch a letter/digit outside it ("don't" is no quote).
_SPAN = re.compile(r"`([^`\n]+)`|(?<![\w])'([^'\n]+)'(?![\w])|(?<![\w])\"([^\"\n]+)\"(?![\w])")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w]|\.\d)")
_NUMBER_FULL = re.compile(r"\d+(?:\.\d+)?")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*")
_CODE_LIKE = set("()[]=,")
_SLOT_NAME = re.compile(r"\b(var|str|num)_(\d+)\b")


@dataclass(frozen=True)
class Slot:
    """One value a request names: ``name`` (``var_0``) stands for ``value`` (``people``) of ``kind``."""

    name: str
    value: str
    kind: str


@dataclass
class Canonical:
    """A canonicalized request (and code): what :func:`canonicalize` returns."""

    prompt: str
    code: str | None
    slots: list[Slot] = field(default_factory=list)
    ok: bool = True  # False: the round trip failed and the row came back unchanged


def is_slot_token(text: str) -> bool:
    """True for a slot name such as ``var_3`` (within :data:`MAX_SLOTS`)."""
    m = _SLOT_NAME.fullmatch(text)
    return bool(m) and int(m.group(2)) < MAX_SLOTS


def _kind(value: str) -> str:
    if _NUMBER_FULL.fullmatch(value):
        return "num"
    if _DOTTED.fullmatch(value) and not any(keyword.iskeyword(p) for p in value.split(".")):
        return "var"
    return "str"


def canonicalize_request(prompt: str) -> tuple[str, list[Slot]]:
    """The request with its named values replaced by slot names, and the slots (in order of appearance).

    >>> canonicalize_request("sort the list `people` by the key 'age'")[0]
    'sort the list var_0 by the key var_1'
    """
    slots: dict[tuple[str, str], Slot] = {}  # (kind, value) -> slot
    counts = {kind: 0 for kind in KINDS}

    def slot_for(value: str, kind: str) -> str | None:
        key = (kind, value)
        if key not in slots:
            if counts[kind] >= MAX_SLOTS:
                return None
            slots[key] = Slot(f"{kind}_{counts[kind]}", value, kind)
            counts[kind] += 1
        return slots[key].name

    def span(m: re.Match) -> str:
        backticked = m.group(1) is not None
        value = m.group(1) if backticked else (m.group(2) if m.group(2) is not None else m.group(3))
        if not value.strip() or value != value.strip() and backticked:
            return m.group(0)
        if backticked and _CODE_LIKE & set(value):
            return value  # code to write, not a value to copy: the backticks go (see the module's rule)
        name = slot_for(value, _kind(value))
        return m.group(0) if name is None else name

    # quoted spans first; then numbers outside the text that quoted spans became
    pieces, last = [], 0
    for m in _SPAN.finditer(prompt):
        pieces.append(("text", prompt[last : m.start()]))
        pieces.append(("slot", span(m)))
        last = m.end()
    pieces.append(("text", prompt[last:]))
    out = []
    for what, text in pieces:
        if what == "text":
            text = _NUMBER.sub(lambda m: slot_for(m.group(0), "num") or m.group(0), text)
        out.append(text)
    return "".join(out), list(slots.values())


def _string_parts(token: str) -> tuple[str, str, str] | None:
    """A STRING token -> (prefix + opening quote, body, closing quote); None for f-strings and odd forms."""
    m = re.fullmatch(r"([rRbBuU]{0,2})('''|\"\"\"|'|\")(.*)\2", token, flags=re.S)
    if not m:
        return None
    return m.group(1) + m.group(2), m.group(3), m.group(2)


def _tokens(code: str) -> list[tokenize.TokenInfo] | None:
    try:
        return list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None


def _offsets(code: str) -> list[int]:
    starts, pos = [0], 0
    for line in code.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    return starts


def _edit_tokens(code: str, edit) -> str | None:
    """Apply ``edit(token_type, text) -> new text | None`` to every token; None if the code won't tokenize.

    Dotted names arrive as one NAME run (``os.path.join``), so a dotted value can match.
    """
    toks = _tokens(code)
    if toks is None:
        return None
    starts = _offsets(code)
    spans = []  # (start, end, type, text) in character offsets
    for tok in toks:
        if tok.type in (tokenize.NAME, tokenize.STRING, tokenize.NUMBER, tokenize.OP):
            a = starts[tok.start[0] - 1] + tok.start[1]
            b = starts[tok.end[0] - 1] + tok.end[1]
            spans.append([a, b, tok.type, tok.string])
    # merge NAME (. NAME)* runs with no space between them into one NAME span
    merged: list[list] = []
    for s in spans:
        if (len(merged) >= 2 and s[2] == tokenize.NAME and merged[-1][3] == "." and merged[-1][0] == merged[-2][1]
                and s[0] == merged[-1][1] and merged[-2][2] == tokenize.NAME):
            dot = merged.pop()
            prev = merged[-1]
            merged[-1] = [prev[0], s[1], tokenize.NAME, prev[3] + dot[3] + s[3]]
        else:
            merged.append(s)
    out, last = [], 0
    for a, b, kind, text in merged:
        new = edit(kind, text)
        if new is None:  # this token stays as it is
            continue
        out.append(code[last:a])
        out.append(new)
        last = b
    out.append(code[last:])
    return "".join(out)


def _canonical_code(code: str, slots: list[Slot]) -> str:
    by_name = {s.value: s for s in slots if s.kind == "var"}
    by_number = {s.value: s for s in slots if s.kind == "num"}
    by_body = {s.value: s for s in slots}

    def edit(kind: int, text: str) -> str | None:
        if kind == tokenize.NAME and text in by_name:
            return by_name[text].name
        if kind == tokenize.NAME and "." in text:
            # a dotted run: replace a matching leading part (``people.sort`` with slot ``people``)
            head = text.split(".")
            for cut in range(len(head) - 1, 0, -1):
                left = ".".join(head[:cut])
                if left in by_name:
                    return by_name[left].name + "." + ".".join(head[cut:])
            return None
        if kind == tokenize.NUMBER and text in by_number:
            return by_number[text].name
        if kind == tokenize.STRING:
            parts = _string_parts(text)
            if parts and parts[1] in by_body:
                return parts[0] + by_body[parts[1]].name + parts[2]
        return None

    edited = _edit_tokens(code, edit)
    if edited is not None:
        return edited
    # text fallback: the same three replacements with word boundaries
    for s in slots:
        v = re.escape(s.value)
        code = re.sub(rf"(['\"]){v}\1", lambda m, s=s: m.group(1) + s.name + m.group(1), code)
        if s.kind == "var":
            code = re.sub(rf"(?<![\w.'\"]){v}(?![\w'\"])", s.name, code)
        elif s.kind == "num":
            code = re.sub(rf"(?<![\w.]){v}(?![\w.])", s.name, code)
    return code


def restore(code: str, slots: list[Slot]) -> str:
    """Put the slots' values back into generated ``code`` (the inverse of :func:`canonicalize`).

    A slot name as a bare token becomes its value (a ``str`` slot is written as a quoted literal); inside a
    string literal it becomes the raw value, with the literal's own quote character escaped. Slot names
    the request never had are left as they are.
    """
    if not slots:
        return code
    table = {s.name: s for s in slots}

    def bare(name: str) -> str:
        s = table[name]
        return repr(s.value) if s.kind == "str" else s.value

    def inside(body: str, quote: str, raw: bool) -> str:
        def one(m: re.Match) -> str:
            s = table.get(m.group(0))
            if s is None:
                return m.group(0)
            value = s.value
            if not raw and len(quote) == 1:
                value = re.sub(rf"(?<!\\){quote}", "\\" + quote, value)
            return value
        return _SLOT_NAME.sub(one, body)

    def edit(kind: int, text: str) -> str | None:
        if kind == tokenize.NAME:
            parts = text.split(".")
            if any(p in table for p in parts):
                return ".".join(bare(p) if p in table else p for p in parts)
            return None
        if kind == tokenize.STRING:
            parts = _string_parts(text)
            if parts and _SLOT_NAME.search(parts[1]):
                raw = "r" in parts[0].lower()
                return parts[0] + inside(parts[1], parts[2], raw) + parts[2]
        return None

    edited = _edit_tokens(code, edit)
    if edited is not None:
        return edited

    def fallback(m: re.Match) -> str:  # code that does not tokenize: text replacement
        s = table.get(m.group(0))
        if s is None:
            return m.group(0)
        before = code[m.start() - 1] if m.start() > 0 else ""
        return s.value if before in "'\"" or s.kind != "str" else repr(s.value)

    return _SLOT_NAME.sub(fallback, code)


def canonicalize(prompt: str, code: str | None = None) -> Canonical:
    """Canonicalize a request and, for a training pair, its code (the rule in the module docstring).

    Args:
        prompt: the natural-language request.
        code: the target code, or None at inference time.
    Returns:
        a :class:`Canonical`; with ``code`` given and a failed round trip, the unchanged pair with
        ``ok=False`` and no slots.
    """
    new_prompt, slots = canonicalize_request(prompt)
    if code is None or not slots:
        return Canonical(new_prompt, code, slots)
    if _SLOT_NAME.search(code) or _SLOT_NAME.search(prompt):
        return Canonical(prompt, code, [], ok=False)  # the row already uses slot names: ambiguous
    new_code = _canonical_code(code, slots)
    if restore(new_code, slots) != code:
        return Canonical(prompt, code, [], ok=False)
    return Canonical(new_prompt, new_code, slots)


def canonicalize_rows(rows) -> list[dict]:
    """Every ``{"prompt", "code", ...}`` row canonicalized (:func:`canonicalize`); a row whose round trip fails
    stays as it is. ``train.train`` trains a slots model on these (chapter 07), so that the model learns from
    requests in the form ``generate`` gives it. Rows already canonicalized come back unchanged."""
    out = []
    for row in rows:
        c = canonicalize(row["prompt"], row["code"])
        out.append({**row, "prompt": c.prompt, "code": c.code})
    return out
