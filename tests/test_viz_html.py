"""codegen_lib.viz.html: the kernel-free attention view carries the weights it was given and redraws in a
real browser when a control changes; library source renders highlighted."""

import html as _html
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from viz_fixtures import FakeModel, FakeTokenizer, random_attention

from codegen_lib import viz
from codegen_lib.viz.html import attention_view, code_html, decode_view_data


def _batch_view():
    rng = np.random.default_rng(0)
    att = random_attention(rng, b=2, h=3, s=4, t=5, layers=2)
    src = [["a", "b", "c", "<eos>"], ["x", "y", "<eos>"]]  # the second example is padded: cropped
    tgt = [["<bos>", "d", "e", "f", "g"], ["<bos>", "p", "q"]]
    return att, attention_view(att, src, tgt, labels=["one", "two"])


def test_view_carries_the_weights_to_one_byte():
    att, view = _batch_view()
    data = decode_view_data(view)
    assert len(data) == 2 and set(data[0]) == {"encoder", "decoder", "cross"}
    full = np.stack([a[0] for a in att["cross"]])  # (L, H, T, S) of example 0
    assert data[0]["cross"].shape == full.shape
    assert np.abs(data[0]["cross"] - full).max() <= 0.5 / 255 + 1e-9
    # example 1 is cropped to its real tokens: 3 code x 3 prompt positions
    assert data[1]["cross"].shape == (2, 3, 3, 3)
    np.testing.assert_allclose(data[1]["encoder"], np.stack([a[1, :, :3, :3] for a in att["encoder"]]),
                               atol=0.5 / 255 + 1e-9)


def test_view_html_is_self_contained():
    _, view = _batch_view()
    page = view.html
    assert view.view_id in page and "<script" in page and "cgAttentionView" in page
    assert not re.search(r"(src|href)=['\"]https?://", page), "the view must not load anything from the network"
    payload = re.search(r"<script type='application/json' class='cg-data'>(.*?)</script>", page, re.S).group(1)
    d = json.loads(payload.replace("<\\/", "</"))
    assert [e["label"] for e in d["examples"]] == ["one", "two"]
    assert d["examples"][0]["src"] == ["a", "b", "c", "<eos>"]
    assert view._repr_html_() == page


def test_view_from_explain_pairs():
    tok = FakeTokenizer()
    pairs = viz.explain_pairs(FakeModel(), tok, ["add two numbers", "sub"], ["return a + b", "return a"])
    view = attention_view(pairs)
    data = decode_view_data(view)
    assert len(data) == 2
    assert data[0]["cross"].shape[2:] == (len(pairs[0]["tgt_tokens"]), len(pairs[0]["src_tokens"]))
    assert "add two numbers" in view.html  # the header shows the prompt
    with pytest.raises(ValueError, match="labels"):
        attention_view(random_attention(np.random.default_rng(0), b=2), [["a"] * 4] * 2, [["b"] * 5] * 2,
                       labels=["only one"])


_CHANGE_SCRIPT = """<script>window.addEventListener('load',function(){
var r=document.querySelector('.cg-attn');
function snap(){return r.querySelector('[data-role=caption]').textContent+'|'+
  [...r.querySelectorAll('.cg-cell')].map(function(c){return c.dataset.w;}).join(',')+'|'+
  r.querySelectorAll('line').length;}
function set(role,v){var s=r.querySelector('select[data-role='+role+']');s.value=v;s.dispatchEvent(new Event('change'));}
var out=[snap()];set('layer','1');out.push(snap());set('kind','encoder');out.push(snap());
set('head','-1');out.push(snap());set('example','1');out.push(snap());
var o=document.createElement('pre');o.id='result';o.textContent=JSON.stringify(out);document.body.appendChild(o);});
</script>"""


@pytest.mark.browser
def test_view_redraws_in_headless_chromium_when_a_control_changes(tmp_path):
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                    None)
    if chromium is None:
        pytest.skip("headless Chromium is not installed (.ci/run installs Debian's chromium)")
    att, view = _batch_view()
    page = tmp_path / "view.html"
    view.save(page)
    page.write_text(page.read_text().replace("</body>", _CHANGE_SCRIPT + "</body>"))
    proc = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
                           "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
    assert m, proc.stderr[-2000:]
    states = json.loads(_html.unescape(m.group(1)))
    captions = [s.split("|")[0] for s in states]
    cells = [s.split("|")[1].split(",") for s in states]
    assert "cross-attention" in captions[0] and "layer 0" in captions[0] and "head 0" in captions[0]
    assert "layer 1" in captions[1] and cells[1] != cells[0]  # a new layer: new colours
    assert "encoder" in captions[2] and len(cells[2]) == 4 * 4  # encoder: prompt x prompt
    assert "mean of heads" in captions[3]
    assert len(cells[4]) == 3 * 3  # example 1: cropped to 3 x 3 prompt tokens
    # the page's heatmap shows the stored weights: layer 0, head 0 of example 0's cross-attention
    shown = np.array([float(x) for x in cells[0]]).reshape(5, 4)
    np.testing.assert_allclose(shown, att["cross"][0][0, 0], atol=1 / 255)
    mean = np.array([float(x) for x in cells[3]]).reshape(4, 4)
    np.testing.assert_allclose(mean, att["encoder"][1][0].mean(0), atol=1 / 255)
    assert all(int(s.split("|")[2]) > 0 for s in states)  # token links drawn


def test_code_html_highlights_and_cuts():
    from codegen_lib.layers import EncoderLayer

    page = code_html(EncoderLayer)
    assert "class" in page and "EncoderLayer" in page and "<span" in page  # pygments colours
    assert "codegen_lib.layers.EncoderLayer" in page
    part = code_html(source="a = 1\ndef f():\n    x = 2\n    return x\ny = 3\n", start="x = 2", end="y = 3")
    text = _html.unescape(re.sub(r"<[^>]+>", "", part))
    assert "x = 2\nreturn x" in text  # the common indentation is removed
    assert "a = 1" not in text and "y = 3" not in text
    with pytest.raises(ValueError, match="not found"):
        code_html(source="a = 1\n", start="zzz")


def test_markdown_table_becomes_a_frame_without_empty_columns():
    from codegen_lib.viz import markdown_table

    text = ("intro\n\n| Model | BLEU | pass@1 | note |\n|---|---|---|---|\n| report | 15.09 | — | a |\n"
            "| ours | 97.89 | — | — |\n\n**Notes.** below\n")
    frame, notes = markdown_table(text)
    assert list(frame.columns) == ["Model", "BLEU", "note"]  # pass@1 is empty in every row
    assert frame["BLEU"].tolist() == ["15.09", "97.89"]
    assert notes == "**Notes.** below"
    assert "<table" in frame.to_html()
    with pytest.raises(ValueError, match="no pipe table"):
        markdown_table("no table here")


def test_markdown_table_reads_the_shipped_results():
    from pathlib import Path

    from codegen_lib.viz import markdown_table

    md = Path(__file__).resolve().parents[1] / "artifacts" / "results.md"
    if not md.is_file():
        pytest.skip("no shipped results")
    frame, notes = markdown_table(md.read_text(encoding="utf-8"))
    assert "15.09" in frame.iloc[:, 4].tolist() or "15.09" in frame.to_string()
    assert not any((frame[c] == "—").all() for c in frame.columns)
