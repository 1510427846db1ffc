"""Generation speed with and without the decoder's KV cache, for outputs of 64, 128 and 256 tokens.

Both variants decode the same sources with the same (randomly initialised) model in the same process,
interleaved. ``<eos>`` is suppressed until the target length (``min_new_tokens``), so every run
produces exactly that many tokens. Without the cache each step recomputes the whole prefix (O(t) work
per step); with it each step feeds only the newest token (O(1) per step, plus attention over the cache).

    python benchmarks/bench_decode.py                      # seed config, batch 1, greedy, CPU
    python benchmarks/bench_decode.py --strategy beam --beam-size 4 --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

try:
    import codegen_lib  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codegen_lib.config import ModelConfig  # noqa: E402
from codegen_lib.decode import beam_search, greedy_decode  # noqa: E402
from codegen_lib.model import build_model  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="seed", help="ModelConfig preset (default: seed, the report's model)")
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--batch-size", type=int, default=1, help="sources decoded together")
    p.add_argument("--src-len", type=int, default=32, help="prompt length in tokens")
    p.add_argument("--lengths", default="64,128,256", help="output lengths to time (comma list)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per variant and length (median)")
    p.add_argument("--strategy", choices=["greedy", "beam"], default="greedy")
    p.add_argument("--beam-size", type=int, default=4)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = leave)")
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    lengths = [int(n) for n in args.lengths.split(",")]
    cfg = ModelConfig.preset(args.preset, src_vocab_size=args.vocab, tgt_vocab_size=args.vocab)
    if max(lengths) > cfg.max_tgt_len or args.src_len > cfg.max_src_len:
        raise SystemExit(f"lengths must fit the preset: src <= {cfg.max_src_len}, output <= {cfg.max_tgt_len}")
    torch.manual_seed(0)
    model = build_model(cfg).to(device).eval()
    src = torch.randint(4, args.vocab, (args.batch_size, args.src_len), device=device)  # (B, S)

    def run(n: int, use_cache: bool) -> tuple[float, torch.Tensor]:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        kw = dict(max_new_tokens=n, min_new_tokens=n, use_cache=use_cache)
        if args.strategy == "beam":
            out = beam_search(model, src, beam_size=args.beam_size, **kw)
        else:
            out = greedy_decode(model, src, **kw)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0, out

    print(f"device={device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'CPU'}), "
          f"threads={torch.get_num_threads()}, torch {torch.__version__}")
    print(f"preset={args.preset} vocab={args.vocab} batch={args.batch_size} src_len={args.src_len} "
          f"strategy={args.strategy}" + (f" beam_size={args.beam_size}" if args.strategy == "beam" else ""))
    run(8, True), run(8, False)  # warm-up
    print(f"{'tokens':>7}{'no cache s':>12}{'cache s':>10}{'no cache tok/s':>16}{'cache tok/s':>13}"
          f"{'speed-up':>10}{'same ids':>10}")
    for n in lengths:
        t_cache, t_full = [], []
        same = True
        for _ in range(args.repeats):  # interleaved
            dt, a = run(n, True)
            t_cache.append(dt)
            dt, b = run(n, False)
            t_full.append(dt)
            same &= torch.equal(a, b)
        tc, tf = statistics.median(t_cache), statistics.median(t_full)
        produced = args.batch_size * n
        print(f"{n:>7}{tf:>12.3f}{tc:>10.3f}{produced / tf:>16.1f}{produced / tc:>13.1f}{tf / tc:>9.1f}x"
              f"{str(same):>10}")


if __name__ == "__main__":
    main()
