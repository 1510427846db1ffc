"""Sentences that must agree with their outputs (issue 18): no chapter may state a result-dependent verdict
in fixed prose. Each listed contradiction is checked two ways:

* the fixed sentence that once contradicted its output must not come back into a markdown cell;
* the verdict is written from the result instead: a code cell that writes it (Markdown built from the
  numbers), or a ``remove-cell`` assertion that fails the build when the prose would lie, must be present.

The assertions themselves run whenever the book is built (tests/test_book.py builds it), so a model whose
numbers contradict a guarded sentence fails the build.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"

# (chapter, a sentence that contradicted its output, why)
FORBIDDEN = [
    ("07_training", "Why is the training loss above the validation loss",
     "the live run's losses can be equal or reversed; the verdict is computed per run"),
    ("08_decoding", "costs real accuracy", "the guard's effect is measured, and can be none"),
    ("09_evaluation", "pass@k grows with $k$ because", "pass@k can be 0 for every k"),
    ("09_evaluation", "the first five solved", "no MBPP problem may be solved"),
    ("00_introduction", "make the model really work", "the shipped model's code mostly fails its tests"),
    ("10_attention_explorer", "on a model that works", "the shipped model's code mostly fails its tests"),
    ("06_encoder_decoder", "embeddings scaled by $\\sqrt{d_{model}}$ plus positional encoding",
     "untied embeddings are added unscaled (model.py), as chapter 03 says"),
]

# (chapter, a fragment of the code that writes or guards the verdict, whether the cell is remove-cell)
GUARDS = [
    ("07_training", "def loss_verdict(", False),
    ("07_training", "load_gpu_runs()", False),
    ("08_decoding", "verdict = ", False),
    ("08_decoding", 'assert raw["tokens"] >= 100', True),
    ("09_evaluation", "any_sample = any(", False),
    ("09_evaluation", 'solved = sum(p["status"] == "pass"', False),
    ("09_evaluation", "assert report_bleu ==", True),
    ("09_evaluation", "assert bleu_of[same_behaviour] < bleu_of[looks_alike]", True),
    ("06_encoder_decoder", "build_model(shape).embed_scale", True),
    ("01_data", 'assert share["tasks"] == 0', True),
]


def _cells(stem: str) -> list[dict]:
    return json.loads((BOOK / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("stem,phrase,why", FORBIDDEN, ids=[f"{s}:{p[:24]}" for s, p, _ in FORBIDDEN])
def test_a_fixed_sentence_does_not_contradict_its_output(stem, phrase, why):
    for cell in _cells(stem):
        if cell["cell_type"] == "markdown":
            flat = " ".join(_text(cell).split())
            assert " ".join(phrase.split()) not in flat, f"{stem}: {phrase!r} is back in the prose ({why})"


@pytest.mark.parametrize("stem,fragment,removed", GUARDS, ids=[f"{s}:{f[:24]}" for s, f, _ in GUARDS])
def test_the_verdict_is_computed_or_guarded(stem, fragment, removed):
    cells = [c for c in _cells(stem) if c["cell_type"] == "code" and fragment in _text(c)]
    assert cells, f"{stem}: the cell that writes or guards this verdict is gone ({fragment!r})"
    if removed:
        assert all("remove-cell" in c.get("metadata", {}).get("tags", []) for c in cells)
        assert all("assert " in _text(c) for c in cells)


def test_the_reports_errors_are_flagged_where_its_numbers_are_used():
    text = " ".join(_text(c) for c in _cells("09_evaluation") if c["cell_type"] == "markdown")
    for fragment in ("2.51", "3.54", "from 0 to 1", "35.6", "another study"):
        assert fragment in text, f"chapter 09 no longer flags the report's error ({fragment!r})"


def test_guard_sentences_are_what_the_guards_check():
    """The remove-cell guard of chapter 09's BLEU example checks the sentence right after it."""
    cells = _cells("09_evaluation")
    i = next(i for i, c in enumerate(cells) if "assert bleu_of[same_behaviour]" in _text(c))
    after = _text(cells[i + 1])
    assert "scores a low BLEU, yet it is correct" in after and "scores high, and is wrong" in after
