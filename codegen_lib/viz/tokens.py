"""Chapter 02 (tokenization): a token table and coloured token chips as HTML."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from codegen_lib.viz._common import (
    TOKEN_COLOURS,
    pretty_token,
)


def token_table(tokenizer: Any, text: str) -> pd.DataFrame:
    """One row per token of ``text``: ``position``, ``token`` (the vocabulary piece), ``shown`` (with visible
    whitespace), ``id`` and ``text`` (what that id decodes to on its own). Chapter 02.

    ``tokenizer`` needs ``tokens(text)``, ``encode(text)`` and ``decode(ids, skip_special_tokens=...)``.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    pieces = list(tokenizer.tokens(text))
    ids = [int(i) for i in tokenizer.encode(text)]
    if len(pieces) != len(ids):
        raise ValueError(f"tokenizer.tokens() gave {len(pieces)} pieces but encode() gave {len(ids)} ids for "
                         "the same text; they must align one to one")
    decoded = [tokenizer.decode([i], skip_special_tokens=False) for i in ids]
    return pd.DataFrame({"position": range(len(ids)), "token": pieces,
                         "shown": [pretty_token(p) for p in pieces], "id": ids, "text": decoded})


def token_html(tokenizer: Any, text: str) -> str:
    """HTML for ``text`` as coloured token chips, each with its id underneath (chapter 02's widget)."""
    table = token_table(tokenizer, text)
    chips = []
    for pos, shown, tok_id in zip(table["position"], table["shown"], table["id"]):
        colour = TOKEN_COLOURS[pos % len(TOKEN_COLOURS)]
        chips.append(
            f'<span title="position {pos}, id {tok_id}" style="display:inline-block;background:{colour};'
            'border-radius:4px;margin:2px;padding:1px 4px;text-align:center;font-family:monospace">'
            f'<span style="white-space:pre">{html.escape(shown)}</span><br>'
            f'<span style="font-size:70%;color:#555">{tok_id}</span></span>'
        )
        if "↵" in shown:
            chips.append("<br>")
    summary = (f"<p style='margin:4px 0'><b>{len(text)}</b> characters &rarr; <b>{len(table)}</b> tokens"
               f" &nbsp; ids: <code>{html.escape(str(table['id'].tolist()))}</code></p>")
    return summary + "<div style='line-height:1.2'>" + "".join(chips) + "</div>"


