"""The "Try it" view: the shipped model generates code in the reader's browser (chapters 08 and 10).

The page runs the model itself, with no kernel: ``onnxruntime-web`` (WASM) runs the ONNX export of
:mod:`codegen_lib.onnx_export` (an encoder and one decoder step with its KV cache) and
``@huggingface/tokenizers`` (pure JavaScript) runs the model's own ``tokenizer.json``. Both libraries come
from npm, pinned and sha512-checked by ``scripts/fetch_assets.sh``, and are served from the book itself
(``_static/tryit/``), as MathJax is; nothing is fetched from a CDN.

The decoding loop in the page mirrors :func:`codegen_lib.decode.generate` with its defaults: ``<pad>`` and
``<bos>`` are never produced, at most ``max_tgt_len`` tokens, greedy or beam search (4 beams, length
penalty 1); with a slot model (``config.slots``) the prompt is canonicalized and the code restored as
:mod:`codegen_lib.slots` does (``slots.js``), and slot tokens absent from the prompt are banned.
``tests/test_book.py`` checks in headless Chromium that chapter 08's page writes PyTorch's greedy output
token for token; ``tests/test_viz_tryit.py`` checks the JavaScript ports against the Python with node.

The model is fetched at the first **Generate** (about 30 MB: 15 MB of weights, 15 MB of ONNX Runtime's
WASM; then the browser's cache), so a reader who only reads downloads nothing. Where the files come from:

* the static book: ``<the book>/_static/tryit/`` (found from the page's own ``_static`` scripts);
* Jupyter: a small local HTTP server the kernel starts (``127.0.0.1``, CORS open), on the same folder;
* Colab: the same server through ``google.colab.kernel.proxyPort``.

Test interface: ``<textarea id="tryit-prompt">``, the button ``#tryit-run``, the code in ``#tryit-code``,
``#tryit-status`` reading ``done`` when finished; ``?prompt=<url-encoded>`` (and ``&strategy=beam``) on the
page's address fills the box and runs it on load.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

__all__ = ["tryit_view", "tokenizer_box_view", "positional_view", "TryItView", "assets_dir", "ensure_assets",
           "serve_assets"]

_REPO = Path(__file__).resolve().parents[2]
DEFAULT_PROMPT = "Write a function `calc_affine(value)` that returns 7 times value plus 6."


def assets_dir() -> Path:
    """``_book_assets/tryit`` of this checkout: the JS libraries (fetch_assets.sh) and ``model/``."""
    return _REPO / "_book_assets" / "tryit"


def ensure_assets(checkpoint: str | os.PathLike | None = None, *, fetch: bool = True) -> Path:
    """Make ``assets_dir()`` complete: fetch the JS libraries if missing (``scripts/fetch_assets.sh``, needs
    npm) and export the model (default: the shipped one) unless ``model/`` already holds this checkpoint's
    export. Returns the folder."""
    from codegen_lib.onnx_export import MANIFEST, checkpoint_sha256, export_onnx

    root = assets_dir()
    if fetch and not (root / "ort" / "ort.wasm.min.mjs").is_file():
        subprocess.run(["bash", str(_REPO / "scripts" / "fetch_assets.sh")], check=True,
                       stdout=subprocess.DEVNULL)
    if checkpoint is None:
        from codegen_lib.commands import shipped_checkpoint

        checkpoint = shipped_checkpoint()
    from codegen_lib.checkpoint import resolve_checkpoint

    checkpoint = resolve_checkpoint(checkpoint)  # a run directory -> its best/ checkpoint
    manifest = root / "model" / MANIFEST
    if (not manifest.is_file()
            or json.loads(manifest.read_text()).get("checkpoint_sha256") != checkpoint_sha256(checkpoint)):
        export_onnx(checkpoint, root / "model")
    return root


@functools.cache
def serve_assets(directory: str) -> int:
    """Serve ``directory`` on ``127.0.0.1`` (a free port, a daemon thread, CORS open) for a page in Jupyter
    or Colab, whose own server cannot hand out these files. Returns the port; one server per folder."""
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Handler(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                          ".wasm": "application/wasm", ".onnx": "application/octet-stream"}

        def __init__(self, *a, **kw):
            super().__init__(*a, directory=directory, **kw)

        def end_headers(self):
            self.send_header("Access-Control-Allow-Origin", "*")
            super().end_headers()

        def log_message(self, *args):  # no request log in the notebook
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def _in_kernel() -> bool:
    return "ipykernel" in sys.modules


class TryItView:
    """The view's HTML (markup, settings and script); notebooks display it through ``_repr_html_``.

    Build it with :func:`tryit_view`. ``mode`` is ``"generate"`` (the Try it view) or ``"tokenize"`` (the
    tokenizer box of chapter 02).
    """

    def __init__(self, *, prompt: str, port: int | None, mode: str = "generate", title: str | None = None):
        self.prompt, self.port, self.mode, self.title = prompt, port, mode, title

    @property
    def html(self) -> str:
        cfg = json.dumps({"port": self.port, "mode": self.mode}).replace("</", "<\\/")
        title = f"<div class='cg-tryit-title'>{html.escape(self.title)}</div>" if self.title else ""
        if self.mode == "tokenize":
            body = (f"<textarea class='cg-tryit-box' data-role='prompt' rows='3'>{html.escape(self.prompt)}"
                    "</textarea><div class='cg-tryit-msg' data-role='msg'></div>"
                    "<div class='cg-tryit-toks' data-role='tokens'></div>"
                    "<div class='cg-tryit-ids' data-role='ids'></div>")
        else:
            body = (
                "<label for='tryit-prompt'>Describe the code you want:</label>"
                f"<textarea id='tryit-prompt' class='cg-tryit-box' data-role='prompt' rows='3'>"
                f"{html.escape(self.prompt)}</textarea>"
                "<div class='cg-tryit-bar'><select id='tryit-strategy' data-role='strategy' style='width:auto'>"
                "<option value='greedy'>greedy</option><option value='beam'>beam search (4 beams)</option>"
                "</select> <button id='tryit-run' data-role='run' disabled>Generate</button> "
                "<span id='tryit-status' data-role='status'>ready</span> "
                "<span class='cg-tryit-msg' data-role='msg'></span></div>"
                "<pre id='tryit-code' class='cg-tryit-code' data-role='code'></pre>"
                "<div class='cg-tryit-msg' data-role='speed' id='tryit-speed'></div>"
                "<div data-role='attn-controls' class='cg-tryit-bar'></div>"
                "<div data-role='attn-caption' class='cg-tryit-msg'></div>"
                "<div class='cg-tryit-heat' data-role='heatmap'></div>")
        # an id, not document.currentScript: JupyterLab re-creates output scripts before running them
        view_id = "cg-tryit-" + hashlib.sha1(f"{cfg}{self.prompt}{self.title}".encode()).hexdigest()[:10]
        return (f"<div class='cg-tryit' id='{view_id}'>{_CSS}{title}{body}"
                f"<script type='application/json' class='cg-tryit-cfg'>{cfg}</script>"
                f"<script>{_JS}\ncgTryIt(document.getElementById('{view_id}'));</script></div>")

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:  # the plain-text form of the output (the page shows the HTML)
        return f"TryItView(mode={self.mode!r}, prompt={self.prompt!r})"

    def save(self, path) -> None:
        """A stand-alone page holding only this view (it finds the files through the local server)."""
        Path(path).write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{self.html}"
                              "</body></html>", encoding="utf-8")


class _Fragment:
    def __init__(self, text: str):
        self.html = text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:  # the plain-text form of the output (the page shows the HTML)
        return "<an in-page view: open it in a browser>"


def tryit_view(prompt: str = DEFAULT_PROMPT, *, checkpoint: str | os.PathLike | None = None,
               title: str | None = None, serve: bool | None = None) -> TryItView | _Fragment:
    """The in-page Try it view of the shipped model (chapters 08 and 10).

    Args:
        prompt: the text the box starts with.
        checkpoint: the model to export for the page (default: the shipped one).
        serve: start the local server for Jupyter/Colab (default: when running in a kernel).
    Returns a :class:`TryItView`.
    """
    try:
        root = ensure_assets(checkpoint)
    except (OSError, subprocess.CalledProcessError) as e:  # no npm, say: explain instead of failing the cell
        return _unavailable(e)
    port = serve_assets(str(root)) if (serve if serve is not None else _in_kernel()) else None
    return TryItView(prompt=prompt, port=port, title=title)


def _unavailable(error: BaseException) -> _Fragment:
    return _Fragment("<div class='cg-tryit-msg'>The in-page model is not available here: its files could not "
                     f"be prepared ({html.escape(type(error).__name__)}: {html.escape(str(error))}). "
                     "<code>bash scripts/fetch_assets.sh</code> needs <code>npm</code>.</div>")


def tokenizer_box_view(text: str = "Create a python function.\ndef add(a, b):\n    return a + b", *,
                       serve: bool | None = None) -> TryItView | _Fragment:
    """The kernel-free tokenizer box (chapter 02): type text, see the shipped tokenizer's pieces and ids,
    computed in the page by the same JS tokenizer the Try it view uses."""
    try:
        root = ensure_assets()
    except (OSError, subprocess.CalledProcessError) as e:
        return _unavailable(e)
    port = serve_assets(str(root)) if (serve if serve is not None else _in_kernel()) else None
    return TryItView(prompt=text, port=port, mode="tokenize")


_CSS = """<style>
.cg-tryit{font:13px/1.35 system-ui,sans-serif;margin:8px 0;max-width:100%}
.cg-tryit .cg-tryit-title{font-weight:600;margin-bottom:4px}
.cg-tryit .cg-tryit-box{width:100%;box-sizing:border-box;font:13px monospace}
.cg-tryit .cg-tryit-bar{margin:6px 0}
.cg-tryit .cg-tryit-bar label{margin-right:10px}
.cg-tryit .cg-tryit-msg{color:#444;margin:4px 0}
.cg-tryit .cg-tryit-code{background:#f6f8fa;padding:6px 8px;min-height:2.5em;white-space:pre-wrap;font-size:13px}
.cg-tryit .cg-tryit-heat{overflow:auto;max-height:520px;max-width:100%}
.cg-tryit .cg-grid{display:inline-grid;gap:1px;font:10px monospace}
.cg-tryit .cg-grid .cg-cell{width:13px;height:13px}
.cg-tryit .cg-grid .cg-rl{text-align:right;padding-right:3px;white-space:pre;line-height:13px}
.cg-tryit .cg-grid .cg-cl{writing-mode:vertical-rl;transform:rotate(180deg);white-space:pre;height:70px}
.cg-tryit .cg-tryit-toks span{display:inline-block;white-space:pre;margin:1px;padding:0 2px;border-radius:3px}
.cg-tryit .cg-tryit-ids{font:12px monospace;color:#333;word-break:break-all}
</style>"""

# slots.js (codegen_lib/slots.py in JS) first, then the view; both inline, so the page needs no extra file
_JS = "\n".join((Path(__file__).with_name(n)).read_text(encoding="utf-8") for n in ("slots.js", "tryit.js"))


# ------------------------------------------------------------------ chapter 03: the positional table
def positional_view(d_model: int = 64, positions: tuple[int, int] = (0, 100), max_len: int = 512) -> _Fragment:
    """The kernel-free form of chapter 03's sliders: ``d_model`` and the position range redraw the
    sinusoidal table in the page. The script computes ``codegen_lib.positional.sinusoidal_table``'s formula
    (``tests/test_viz_tryit.py`` checks it against the library with node); it needs no file and no kernel.
    """
    if not (8 <= d_model <= 512 and 0 <= positions[0] < positions[1] <= max_len):
        raise ValueError(f"need 8 <= d_model <= 512 and 0 <= lo < hi <= max_len, got {d_model}, {positions}")
    cfg = json.dumps({"d": d_model, "lo": positions[0], "hi": positions[1], "max": max_len})
    view_id = "cg-pe-" + hashlib.sha1(cfg.encode()).hexdigest()[:10]
    return _Fragment(
        f"<div class='cg-pe' id='{view_id}'>{_CSS}<div class='cg-tryit-bar'>"
        f"<label>d_model <input type='range' data-role='d' min='8' max='512' step='8' value='{d_model}'>"
        "<span data-role='dv'></span></label> "
        f"<label>positions from <input type='range' data-role='lo' min='0' max='{max_len - 1}' "
        f"value='{positions[0]}'></label> <label>to <input type='range' data-role='hi' min='1' "
        f"max='{max_len}' value='{positions[1]}'></label> <span data-role='pv'></span></div>"
        "<canvas data-role='canvas' width='640' height='360' style='max-width:100%;border:1px solid #ddd'>"
        "</canvas><div class='cg-tryit-msg' data-role='caption'></div>"
        f"<script type='application/json' class='cg-pe-cfg'>{cfg}</script>"
        f"<script>{_PE_JS}\ncgPositional(document.getElementById('{view_id}'));</script></div>")


_PE_JS = (Path(__file__).with_name("positional.js")).read_text(encoding="utf-8")
