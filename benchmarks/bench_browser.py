"""Generation speed in the browser (the book's Try it view: onnxruntime-web, WASM, one thread, headless
Chromium) against PyTorch greedy decoding with the KV cache (one thread), on the same machine and prompts.

The page is the view itself (codegen_lib.viz.tryit) served from 127.0.0.1 with the book's files; Chromium
runs without network access otherwise. Each prompt is generated once in each (after one warm-up); speed is
generated tokens (``<eos>`` included) over decoding seconds, model loading excluded; the two run
interleaved, prompt by prompt, so that a change in the machine's load hits both. It also counts the prompts
whose browser output equals PyTorch's.

    python benchmarks/bench_browser.py                 # 20 prompts of the tasks corpus
    python benchmarks/bench_browser.py --limit 50

Needs Debian's chromium and chromium-driver, selenium, and scripts/fetch_assets.sh's files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

try:
    import codegen_lib  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codegen_lib.viz.tryit import TryItView, ensure_assets, serve_assets  # noqa: E402


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        opts.add_argument(flag)
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary:
        opts.binary_location = binary
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        raise SystemExit("needs chromium and chromedriver (apt-get install chromium chromium-driver)")
    return webdriver.Chrome(service=Service(driver), options=opts)


def _wait(browser, state: str, timeout: float = 300.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        text = browser.execute_script("return document.getElementById('tryit-status').textContent")
        if text == state:
            return
        if text == "error":
            msg = browser.execute_script("return document.querySelector('[data-role=msg]').textContent")
            raise SystemExit(f"the page reported an error: {msg}")
        time.sleep(0.05)
    raise SystemExit(f"the page did not reach {state!r} in {timeout:.0f} s")


class Page:
    """The Try it view in headless Chromium, served from 127.0.0.1 with the book's files."""

    def __init__(self):
        root = ensure_assets()
        self._tmp = tempfile.TemporaryDirectory()
        site = Path(self._tmp.name)
        (site / "_static").mkdir()
        os.symlink(root, site / "_static" / "tryit")
        (site / "_static" / "marker.js").write_text("\n")  # the view finds _static/ from a script's src
        view = TryItView(prompt="", port=None)
        (site / "index.html").write_text("<!doctype html><html><head><meta charset='utf-8'>"
                                         "<script src='_static/marker.js'></script></head><body>"
                                         f"{view.html}</body></html>", encoding="utf-8")
        port = serve_assets(str(site))
        self.browser = _browser()
        self.browser.get(f"http://127.0.0.1:{port}/index.html")  # the model loads at the first Generate

    def run(self, prompt: str) -> tuple[str, int, float]:
        """Code, tokens and decoding seconds (as the page measures them) of one generation."""
        self.browser.execute_script("document.getElementById('tryit-prompt').value = arguments[0];"
                                    "document.getElementById('tryit-run').click();", prompt)
        time.sleep(0.01)
        _wait(self.browser, "done")
        n, s, code = self.browser.execute_script(
            "var e = document.getElementById('tryit-speed'); return [+e.dataset.tokens, "
            "+e.dataset.seconds, document.getElementById('tryit-code').textContent];")
        return code, n, s

    def close(self) -> None:
        self.browser.quit()
        self._tmp.cleanup()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, default=20, help="number of prompts")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from bench_onnx import prompts_for  # the same prompts as the precision benchmark

    from codegen_lib.commands import shipped_checkpoint
    from codegen_lib.decode import generate
    from codegen_lib.onnx_export import torch_greedy_ids
    from codegen_lib.train import load_checkpoint

    prompts = prompts_for(args.limit)
    model, tok, _ = load_checkpoint(shipped_checkpoint())
    t_codes = generate(model, tok, prompts)
    page = Page()
    try:
        page.run(prompts[0])  # warm-up, both sides
        torch_greedy_ids(model, tok, prompts[0])
        b_codes, b_tokens, b_secs, t_tokens, t_secs = [], 0, 0.0, 0, 0.0
        for p in prompts:  # interleaved, so that a change in the machine's load hits both alike
            start = time.perf_counter()
            out = torch_greedy_ids(model, tok, p)  # greedy_decode, KV cache on (its default)
            t_secs += time.perf_counter() - start
            t_tokens += len(out) + (len(out) < model.config.max_tgt_len)  # + <eos>
            code, n, s = page.run(p)
            b_codes.append(code)
            b_tokens += n
            b_secs += s
    finally:
        page.close()
    t_speed, b_speed = t_tokens / t_secs, b_tokens / b_secs
    same = sum(a == b for a, b in zip(t_codes, b_codes))
    print(f"{len(prompts)} prompts, greedy, batch 1, one thread each; identical outputs: {same}/{len(prompts)}")
    print(f"  PyTorch (KV cache)            {t_tokens:6d} tokens  {t_secs:7.2f} s  {t_speed:7.1f} tokens/s")
    print(f"  browser (onnxruntime-web)     {b_tokens:6d} tokens  {b_secs:7.2f} s  {b_speed:7.1f} tokens/s")
    print(f"  ratio browser / PyTorch: {b_speed / t_speed:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
