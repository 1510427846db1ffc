"""The in-page model's JavaScript (codegen_lib/viz/slots.js, tryit.js) against the Python it mirrors, run
with node: slot canonicalization and restore (codegen_lib/slots.py), the JS tokenizer on the shipped
tokenizer.json, and the view's HTML. Chapter 08's page itself is tested in headless Chromium by
tests/test_book.py::test_tryit_view_writes_pytorch_greedy_output_offline."""

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codegen_lib import slots as py_slots
from codegen_lib.viz import tryit

REPO = Path(__file__).resolve().parents[1]
SLOTS_JS = REPO / "codegen_lib" / "viz" / "slots.js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs)")

EDGE_PROMPTS = [
    "sort the list `people` by the key 'age'",
    "don't split 'it's' or \"x\"y",
    "call `f(x, y)` then `g` with 3 and 3.5 and 3.5.1 and v2 and 1e5",
    "`a` `b` `c` `d` `e` `f` `g` `h` `i` `j` 1 2 3 4 5 6 7 8 9 10 11",  # more than 8 of a kind
    "'a' 'b' 'c' 'd' 'e' 'f' 'g' 'h' 'i' 'j' '  ' ' x' `  y` `z `",
    "use `os.path.join` and `import` and `x.for` and `def`",
    "numbers ١٢٣ and ٣.٥ (Arabic-Indic digits), naïve 'café' `ünï` 😀 'emoji 😀'",
    "tabs\tand\nnewlines 'across\nlines' `and`\r\n'carriage'\r",
    "quotes inside: \"she said 'hi'\" and 'he said \"yo\"' and `back\\slash`",
    "empty '' and `` and \"\"",
    "x.5 and 5. and .5 and 1_000 and 0x1F",
    "var_0 and str_1 already in the request, 'var_2'",
]


def _node(code: str, payload) -> object:
    proc = subprocess.run([NODE, "-e", code], input=json.dumps(payload), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


_DRIVER = """
const S = require(%s);
let data = ''; process.stdin.on('data', d => data += d); process.stdin.on('end', () => {
  const cases = JSON.parse(data);
  const out = cases.map(%s);
  process.stdout.write(JSON.stringify(out));
});
"""


def _run_slots_js(fn: str, cases: list) -> list:
    return _node(_DRIVER % (json.dumps(str(SLOTS_JS)), fn), cases)


def _corpus_pairs(limit: int = 2000) -> list[dict]:
    from codegen_lib.data import load_corpus

    corpus = load_corpus("tasks")
    rows = []
    for split in ("train", "test", "test_unseen"):
        rows += [dict(r) for r in corpus[split].select(range(min(limit // 3, len(corpus[split]))))]
    return rows


@needs_node
def test_js_canonicalize_request_matches_python():
    prompts = [r["prompt"] for r in _corpus_pairs()] + EDGE_PROMPTS
    want = []
    for p in prompts:
        text, slots = py_slots.canonicalize_request(p)
        want.append({"text": text, "slots": [[s.name, s.value, s.kind] for s in slots]})
    got = _run_slots_js("p => { const c = S.canonicalizeRequest(p); "
                        "return {text: c.text, slots: c.slots.map(s => [s.name, s.value, s.kind])}; }",
                        prompts)
    mismatches = [(p, w, g) for p, w, g in zip(prompts, want, got) if w != g]
    assert not mismatches, mismatches[:3]
    assert sum(bool(w["slots"]) for w in want) > len(prompts) // 2  # the rule had work to do


def _restore_cases() -> list[tuple[str, list]]:
    """(code, slots) pairs: canonical code of corpus pairs, cut prefixes of it (code that does not
    tokenize, so restore's text fallback runs) and hand-made edge cases."""
    rng = random.Random(0)
    cases = []
    for row in _corpus_pairs(1200):
        c = py_slots.canonicalize(row["prompt"], row["code"])
        if not c.slots:
            continue
        cases.append((c.code, c.slots))
        for _ in range(2):
            cases.append((c.code[: rng.randrange(1, len(c.code) + 1)], c.slots))
    S = py_slots.Slot
    s = [S("var_0", "people", "var"), S("str_0", "it's \"q\"", "str"), S("num_0", "3.5", "num"),
         S("var_1", "os.path", "var"), S("str_1", "tab\there\nnl\\ é 😀 \x07 \u200b", "str")]
    for code in [
        "sorted(var_0, key=lambda d: d['var_1'])", "print(str_0, 'str_0', \"str_0\", r'str_0\\'', b'num_0')",
        "x = var_1.join(var_0.var_1)\n", "def f():\n    return num_0 *var_0\n  return str_1\n",
        "s = '''str_0\nvar_0'''\nt = \"\"\"str_1", "a = (var_0,\n     str_0", "f'{var_0}' + F\"str_0\"",
        "x = 'unterminated str_0\ny = var_0", "line \\\n  continued var_0", "\tvar_0\n        num_0\n",
        "str_0var_0 var_0.var_0 num_0.5 .num_0 var_0_1 _var_0 var_01 var_8", "# var_0 in a comment\nvar_0",
        "x = 1\x0cy = var_0\rz = str_0\x1cw = str_1\u2028v = num_0", "é = var_0; 😀 = str_0; ² = num_0",
        "str_0", "'str_0'", "", "var_0\\", "if x:\n  var_0\n else:\n str_0",
    ]:
        cases.append((code, s))
    return cases


@needs_node
def test_js_restore_matches_python():
    cases = _restore_cases()
    want = [py_slots.restore(code, slots) for code, slots in cases]
    payload = [[code, [{"name": x.name, "value": x.value, "kind": x.kind} for x in slots]]
               for code, slots in cases]
    got = _run_slots_js("c => S.restore(c[0], c[1])", payload)
    mismatches = [(c[0], w, g) for c, w, g in zip(cases, want, got) if w != g]
    assert not mismatches, mismatches[:3]
    tokenizes = [py_slots._tokens(code) is not None for code, _ in cases]
    assert sum(tokenizes) > 50 and len(tokenizes) - sum(tokenizes) > 50  # both paths of restore ran
    assert sum(w != c[0] for c, w in zip(cases, want)) > len(cases) // 2  # values really went back in


@needs_node
def test_js_python_tokenizer_agrees_on_what_tokenizes():
    """The port of Python 3.11's tokenize fails exactly where Python's does (restore's two paths)."""
    codes = [code for code, _ in _restore_cases()]
    want = [py_slots._tokens(c) is not None for c in codes]
    got = _run_slots_js("c => S.pyTokens(c) !== null", codes)
    bad = [c for c, w, g in zip(codes, want, got) if w != g]
    assert not bad, bad[:3]


@needs_node
def test_js_tokenizer_matches_python_on_the_shipped_tokenizer(tmp_path):
    """The page's tokenizer (@huggingface/tokenizers on the shipped tokenizer.json, with the page's
    handling of special tokens and whole-word slot tokens) gives the ids of codegen_lib's tokenizer, and
    decodes them to the same text."""
    mjs = tryit.assets_dir() / "tokenizers" / "tokenizers.min.mjs"
    if not mjs.is_file():
        pytest.skip("scripts/fetch_assets.sh has not been run")
    from codegen_lib.commands import shipped_checkpoint
    from codegen_lib.tokenizer import load_tokenizer

    tok = load_tokenizer(shipped_checkpoint() / "tokenizer")
    texts = [r["prompt"] for r in _corpus_pairs(600)] + [r["code"] for r in _corpus_pairs(300)] + EDGE_PROMPTS
    texts += ["literal <pad> and <eos> text", "  leading\n\n\ttabs\r\n", "var_0 str_1 num_2 myvar_0"]
    texts += ["myvar_0", "my_var_0", "var_0x", "var_0_", "évar_0", "1var_0", "(var_0)", "var_0var_1", "var_01",
              " var_7.", "str_8", "\u00b2var_0", "var_0\u0301", "xvar_0 var_1", "f(var_0, str_1) + num_2*num_3"]
    texts += [py_slots.canonicalize_request(t)[0] for t in texts]  # what the page really encodes
    script = tmp_path / "tok.mjs"
    tryit_js = REPO / "codegen_lib" / "viz" / "tryit.js"
    script.write_text(f"""
import {{ Tokenizer }} from {json.dumps(mjs.as_uri())};
import {{ createRequire }} from 'module';
import fs from 'fs';
const {{ cgMakeTokenizer }} = createRequire(import.meta.url)({json.dumps(str(tryit_js))});
const tj = JSON.parse(fs.readFileSync({json.dumps(str(shipped_checkpoint() / "tokenizer" / "tokenizer.json"))}));
const tok = cgMakeTokenizer(Tokenizer, tj);  // the page's tokenizer
const texts = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = texts.map(t => {{ const ids = tok.encode(t).ids; return [ids, tok.decode(ids)]; }});
process.stdout.write(JSON.stringify(out));
""", encoding="utf-8")
    proc = subprocess.run([NODE, str(script)], input=json.dumps(texts), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)
    for text, (ids, decoded) in zip(texts, got):
        assert ids == tok.encode(text), text
        assert decoded == tok.decode(ids), text


def test_view_html_has_the_test_interface_and_no_cdn():
    view = tryit.TryItView(prompt="Sort `xs` <b>now</b>", port=None)
    page = view._repr_html_()
    for needle in ("<textarea id='tryit-prompt'", "id='tryit-run'", "id='tryit-code'", "id='tryit-status'"):
        assert needle in page
    assert "Sort `xs` &lt;b&gt;now&lt;/b&gt;" in page  # the prompt is escaped into the box
    assert "cdn" not in page.lower() and "https://" not in page  # every file comes from the book itself
    assert "cgSlots" in page and "cgTryIt(" in page  # the slot port ships with the view


def test_serve_assets_sends_cors_and_module_types(tmp_path):
    import urllib.request

    (tmp_path / "a.mjs").write_text("export const x = 1;\n")
    (tmp_path / "b.wasm").write_bytes(b"\0asm")
    port = tryit.serve_assets(str(tmp_path))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/a.mjs") as r:
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert r.headers["Content-Type"].startswith("text/javascript")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/b.wasm") as r:
        assert r.headers["Content-Type"] == "application/wasm"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


@needs_node
def test_js_positional_table_equals_the_library():
    import numpy as np

    from codegen_lib.positional import sinusoidal_table

    cases = [(300, 8), (512, 64), (100, 512), (50, 24)]
    module = json.dumps(str(REPO / "codegen_lib" / "viz" / "positional.js"))
    got = _node(f"const P = require({module}); let d = ''; process.stdin.on('data', x => d += x);"
                "process.stdin.on('end', () => process.stdout.write(JSON.stringify(JSON.parse(d).map("
                "c => Array.from(P.cgSinusoidalTable(c[0], c[1]))))));", cases)

    for (length, d), table in zip(cases, got):
        want = sinusoidal_table(length, d).numpy()
        # same float32 angles; torch's float32 sin/cos vs JS's float64 ones differ by < 1 ulp of the
        # angle (3e-5 at position 500), a thousand times below what the heatmap's colours resolve
        np.testing.assert_allclose(np.array(table).reshape(length, d), want, atol=5e-5)


def test_positional_view_html_and_bad_arguments():
    view = tryit.positional_view(d_model=32, positions=(5, 60))
    page = view._repr_html_()
    assert "cgSinusoidalTable" in page and "value='32'" in page and "<canvas" in page
    with pytest.raises(ValueError):
        tryit.positional_view(d_model=4)
    with pytest.raises(ValueError):
        tryit.positional_view(positions=(50, 10))


@pytest.mark.slow
def test_view_outside_the_book_loads_the_model_from_the_kernel_server(tmp_path):
    """As in Jupyter: the page has no _static/ folder, so the view fetches the model and the libraries
    from the kernel's local server (another origin, CORS) and still writes PyTorch's greedy output."""
    import html as html_lib
    import re
    from urllib.parse import quote

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None or not (tryit.assets_dir() / "ort" / "ort.wasm.min.mjs").is_file():
        pytest.skip("needs Chromium and scripts/fetch_assets.sh's files")
    from codegen_lib.commands import shipped_checkpoint
    from codegen_lib.decode import generate
    from codegen_lib.train import load_checkpoint

    view = tryit.tryit_view(serve=True)  # ensures the export, starts the assets server
    assert view.port
    page_dir = tmp_path / "notebook"
    page_dir.mkdir()
    view.save(page_dir / "nb.html")
    page_port = tryit.serve_assets(str(page_dir))  # a second origin, like Jupyter's own server
    prompt = "Write a python function to find the maximum of two numbers."
    model, tok, _ = load_checkpoint(shipped_checkpoint())
    want = generate(model, tok, [prompt])[0]
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--virtual-time-budget=120000",
         "--dump-dom", f"http://127.0.0.1:{page_port}/nb.html?prompt={quote(prompt)}"],
        capture_output=True, text=True, timeout=180)
    status = re.search(r'<span id="tryit-status"[^>]*>(.*?)</span>', proc.stdout)
    code = re.search(r'<pre id="tryit-code"[^>]*>(.*?)</pre>', proc.stdout, flags=re.S)
    assert status and status.group(1) == "done", proc.stdout[-2000:]
    assert html_lib.unescape(code.group(1)) == want


def test_views_explain_instead_of_failing_when_the_files_cannot_be_made(monkeypatch):
    def no_npm(*a, **kw):
        raise FileNotFoundError("npm")

    monkeypatch.setattr(tryit, "ensure_assets", no_npm)
    for view in (tryit.tryit_view(), tryit.tokenizer_box_view()):
        page = view._repr_html_()
        assert "not available here" in page and "npm" in page and "tryit-run" not in page


SLOT_PROMPTS = [
    "`people`,`people`,`people`,`people`",
    "sort the list `people` by the key 'age'",
    "`xs` `xs` 'a b' 3 3 3",
    "Count the vowels in the string 'hello world' and print 12.5 times the count.",
]


@pytest.mark.slow
def test_page_runs_a_copy_head_slot_model_like_pytorch(tmp_path):
    """The page with a copy-head + slots model (a tiny random one, copying most of the time): JS slot
    canonicalization, the slot ban, the copy head's scores and restore give generate()'s code and ids."""
    import html as html_lib
    import os
    import re
    from urllib.parse import quote

    import torch

    from codegen_lib.config import ModelConfig
    from codegen_lib.decode import generate, greedy_decode
    from codegen_lib.model import build_model
    from codegen_lib.onnx_export import export_onnx
    from codegen_lib.tokenizer import train_tokenizer

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assets = tryit.assets_dir()
    if chromium is None or not (assets / "ort" / "ort.wasm.min.mjs").is_file():
        pytest.skip("needs Chromium and scripts/fetch_assets.sh's files")
    torch.manual_seed(0)
    tok = train_tokenizer(SLOT_PROMPTS * 4 + ["def f(x):\n    return x + 1\n"] * 4, vocab_size=300,
                          added_tokens=py_slots.SLOT_TOKENS)
    cfg = ModelConfig.preset("tiny", src_vocab_size=tok.vocab_size, tgt_vocab_size=tok.vocab_size,
                             norm_first=True, tie_embeddings=True, max_tgt_len=40, copy_head=True, slots=True)
    model = build_model(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())  # float16 weights, as every shipped checkpoint
        model.copy_gate.bias.fill_(-4.0)
    site = tmp_path / "site"
    (site / "_static" / "tryit").mkdir(parents=True)
    for name in ("ort", "tokenizers"):
        os.symlink(assets / name, site / "_static" / "tryit" / name)
    export_onnx(model, site / "_static" / "tryit" / "model", tokenizer=tok)
    (site / "_static" / "marker.js").write_text("\n")
    view = tryit.TryItView(prompt="", port=None)
    (site / "index.html").write_text("<!doctype html><html><head><meta charset='utf-8'><script "
                                     f"src='_static/marker.js'></script></head><body>{view.html}</body></html>",
                                     encoding="utf-8")
    port = tryit.serve_assets(str(site))
    texts = generate(model, tok, SLOT_PROMPTS, max_new_tokens=40)
    assert any(s.value in t for p, t in zip(SLOT_PROMPTS, texts)
               for s in py_slots.canonicalize_request(p)[1])  # restore had values to put back
    for prompt, text in zip(SLOT_PROMPTS, texts):
        src = torch.tensor([tok.encode(py_slots.canonicalize_request(prompt)[0]) + [tok.eos_id]])
        ids = greedy_decode(model, src, max_new_tokens=40, slot_ids=tok.slot_ids)[0].tolist()
        ids = [t for t in (ids[: ids.index(tok.eos_id)] if tok.eos_id in ids else ids) if t != tok.pad_id]
        proc = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'p'}",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--virtual-time-budget=60000",
             "--dump-dom", f"http://127.0.0.1:{port}/index.html?prompt={quote(prompt)}"],
            capture_output=True, text=True, timeout=180)
        status = re.search(r'<span id="tryit-status"[^>]*>(.*?)</span>', proc.stdout)
        code = re.search(r'<pre id="tryit-code"[^>]*>(.*?)</pre>', proc.stdout, flags=re.S)
        got_ids = re.search(r'class="cg-tryit"[^>]*data-ids="([^"]*)"', proc.stdout)
        assert status and status.group(1) == "done", proc.stdout[-1500:]
        assert json.loads(html_lib.unescape(got_ids.group(1))) == ids, prompt
        assert html_lib.unescape(code.group(1)) == text, prompt


@needs_node
def test_js_logit_rules_match_decode():
    """The page's cgProcessScores / cgBannedNgram are decode._process_logits / banned_ngram_tokens."""
    import torch

    from codegen_lib.decode import _process_logits, banned_ngram_tokens

    rng = random.Random(1)
    cases = []
    for _ in range(60):
        seq = [rng.randrange(4, 9) for _ in range(rng.randrange(0, 12))]
        V = 10
        row = [round(rng.uniform(-3, 3), 3) for _ in range(V)]
        if rng.random() < 0.2:
            row = [float("-inf")] * V  # every token banned: the rule ends the sequence
        m = {"pad_id": 0, "bos_id": 1, "eos_id": 2,
             "decoding": {"min_new_tokens": rng.choice([0, 3]), "no_repeat_ngram_size": rng.choice([0, 2, 3])}}
        cases.append({"row": row, "seq": seq, "step": rng.randrange(0, 5), "m": m,
                      "banned": rng.sample(range(4, 10), rng.choice([0, 2]))})
    tryit_js = json.dumps(str(REPO / "codegen_lib" / "viz" / "tryit.js"))
    got = _node(f"const T = require({tryit_js}); let d = ''; process.stdin.on('data', x => d += x);"
                "process.stdin.on('end', () => process.stdout.write(JSON.stringify(JSON.parse(d.replace("
                "/-Infinity/g, '-1e999')).map(c => [Array.from(T.cgProcessScores(c.row, c.seq, c.step, c.m, "
                "c.banned)).map(x => x === -Infinity ? null : x), T.cgBannedNgram(c.seq, "
                "c.m.decoding.no_repeat_ngram_size)]))));", cases)  # JSON has no -Infinity: -1e999 in JS
    for c, (scores, banned) in zip(cases, got):
        logits = torch.tensor([c["row"]])
        logits[0, c["banned"]] = float("-inf")  # decode.Stepper bans absent slot tokens before the rules
        d = c["m"]["decoding"]
        want = _process_logits(logits, torch.tensor([[1] + c["seq"]]), c["step"], bos_id=1, eos_id=2, pad_id=0,
                               min_new_tokens=d["min_new_tokens"],
                               no_repeat_ngram_size=d["no_repeat_ngram_size"])[0].tolist()
        assert [None if x == float("-inf") else x for x in want] == pytest.approx(scores, abs=1e-6), c
        assert sorted(banned) == sorted(banned_ngram_tokens(c["seq"], d["no_repeat_ngram_size"]))
