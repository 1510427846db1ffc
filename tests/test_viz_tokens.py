"""codegen_lib.viz.tokens: token tables and chips (chapter 02)."""


import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from viz_fixtures import FakeTokenizer  # noqa: E402

from codegen_lib import viz  # noqa: E402


def test_token_table_and_widget():
    tok = FakeTokenizer()
    text = "def f(x):\n    return x"
    table = viz.token_table(tok, text)
    assert list(table.columns) == ["position", "token", "shown", "id", "text"]
    assert table["id"].tolist() == tok.encode(text)
    assert "".join(table["token"]) == text and "".join(table["text"]) == text
    assert "↵␣␣␣␣" in table["shown"].tolist()
    box = viz.tokenizer_widget(tok, text)
    first = box.view.value
    assert f"<b>{len(table)}</b> tokens" in first
    assert all(f">{i}</span>" in first for i in table["id"])
    box.textarea.value = "print('<hi>')"
    new = box.view.value
    assert new != first and ">&lt;</span>" in new and "<hi" not in new  # HTML-escaped

    class Broken(FakeTokenizer):
        def encode(self, text):
            return super().encode(text) + [self.unk_id]

    with pytest.raises(ValueError, match="align"):
        viz.token_table(Broken(), text)


# -------------------------------------------------------------------------------------- chapter 01
