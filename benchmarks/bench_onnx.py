"""The shipped model through onnxruntime at three precisions: size, speed and agreement with PyTorch.

For each precision (float32 weights; float16 weights computed in float32, what the book serves; dynamic int8
quantization of the float32 graphs) it greedy-decodes the same prompts one at a time and reports the model's
bytes, tokens/s, and the agreement: the share of prompts whose ids equal PyTorch's greedy ids
(``codegen_lib.decode.generate``, KV cache on, one thread).

    python benchmarks/bench_onnx.py                   # 100 prompts of the tasks corpus (test, test_unseen)
    python benchmarks/bench_onnx.py --limit 20 --checkpoint runs/x/best
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

try:
    import codegen_lib  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codegen_lib.onnx_export import OnnxGenerator, export_onnx, quantize_int8  # noqa: E402


def prompts_for(limit: int) -> list[str]:
    """Half from the tasks corpus's test split, half from test_unseen (offline, deterministic)."""
    from codegen_lib.data import load_corpus

    corpus = load_corpus("tasks")
    half = limit // 2
    return (list(corpus["test"].select(range(half))["prompt"])
            + list(corpus["test_unseen"].select(range(limit - half))["prompt"]))


def torch_greedy(model, tokenizer, prompts: list[str]) -> tuple[list[list[int]], float, int]:
    """PyTorch greedy ids per prompt (batch 1, KV cache), seconds and generated tokens (<eos> counted)."""
    from codegen_lib.onnx_export import torch_greedy_ids

    ids, tokens, start = [], 0, time.perf_counter()
    for p in prompts:
        out = torch_greedy_ids(model, tokenizer, p)  # <eos> cut
        tokens += len(out) + (len(out) < model.config.max_tgt_len)  # + <eos>
        ids.append(out)
    return ids, time.perf_counter() - start, tokens


def onnx_greedy(gen: OnnxGenerator, prompts: list[str]) -> tuple[list[list[int]], float, int]:
    ids, tokens, start = [], 0, time.perf_counter()
    for p in prompts:
        out = gen.greedy(p)["ids"]
        ids.append(out)
        tokens += len(out) + (len(out) < gen.manifest["max_tgt_len"])  # + <eos>
    return ids, time.perf_counter() - start, tokens


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the shipped model)")
    p.add_argument("--limit", type=int, default=100, help="number of prompts")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from codegen_lib.commands import shipped_checkpoint
    from codegen_lib.train import load_checkpoint

    ckpt = args.checkpoint or str(shipped_checkpoint())
    model, tokenizer, _ = load_checkpoint(ckpt)
    prompts = prompts_for(args.limit)
    ref, secs, toks = torch_greedy(model, tokenizer, prompts)
    rows = [{"precision": "pytorch (fp32 compute)", "bytes": None, "tokens_per_s": toks / secs,
             "agreement": 1.0}]
    with tempfile.TemporaryDirectory() as tmp:
        d32, d16 = Path(tmp) / "fp32", Path(tmp) / "fp16"
        m32 = export_onnx(ckpt, d32, weights_dtype="float32")
        m16 = export_onnx(ckpt, d16, weights_dtype="float16")
        q = quantize_int8(d32)
        for label, directory, quantized, size in (
                ("onnx fp32 weights", d32, False, sum(m32["files_bytes"].values())),
                ("onnx fp16 weights, fp32 compute (served)", d16, False, sum(m16["files_bytes"].values())),
                ("onnx int8 dynamic quantization", d32, True, sum(q.values()))):
            ids, secs, toks = onnx_greedy(OnnxGenerator(directory, quantized=quantized), prompts)
            same = sum(a == b for a, b in zip(ids, ref))
            rows.append({"precision": label, "bytes": size, "tokens_per_s": toks / secs,
                         "agreement": same / len(prompts)})
    print(f"{len(prompts)} prompts, greedy, batch 1, one thread; agreement = identical ids to PyTorch")
    for r in rows:
        size = "" if r["bytes"] is None else f"{r['bytes'] / 1e6:6.2f} MB"
        print(f"  {r['precision']:44s} {size:>10s}  {r['tokens_per_s']:7.1f} tokens/s  "
              f"agreement {r['agreement']:.0%}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
