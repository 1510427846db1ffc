"""The copy head's cost: ``Transformer.project`` (the mixture computed at the source tokens' columns) against
the pointer-generator written out over the whole vocabulary (the dense reference of tests/test_copy_head.py),
and against the plain model's output layer, in one process, interleaved step by step.

One step = the output layer on given decoder states + cross-entropy + backward (the rest of the model is the
same for all three), at the ``copy`` preset's size. Prints the median seconds per step of each and the ratios.

    python benchmarks/bench_copy_head.py --batch-size 32 --src-len 64 --tgt-len 64 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

try:
    import codegen_lib  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codegen_lib.config import ModelConfig  # noqa: E402
from codegen_lib.model import build_model  # noqa: E402


def dense(model, hidden, src, cross):
    """The pointer-generator over the whole vocabulary: (B, T, D), (B, S), (B, T, S) -> (B, T, V) log-probs."""
    p_vocab = torch.softmax(model.fc(hidden), -1)  # (B, T, V)
    p_gen = torch.sigmoid(model.copy_gate(hidden))  # (B, T, 1)
    index = src.unsqueeze(1).expand(-1, cross.size(1), -1)  # (B, T, S)
    p_copy = torch.zeros_like(p_vocab).scatter_add_(-1, index, cross)  # (B, T, V)
    return (p_gen * p_vocab + (1 - p_gen) * p_copy).clamp_min(1e-12).log()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--src-len", type=int, default=64)
    p.add_argument("--tgt-len", type=int, default=64)
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--steps", type=int, default=10, help="timed steps per variant")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = leave)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = ModelConfig.preset("copy", src_vocab_size=args.vocab, tgt_vocab_size=args.vocab)
    model = build_model(cfg)
    g = torch.Generator().manual_seed(0)
    B, S, T, D = args.batch_size, args.src_len, args.tgt_len, cfg.d_model
    src = torch.randint(4, args.vocab, (B, S), generator=g)  # (B, S)
    src[:, S // 2:] = src[:, : S - S // 2]  # every source token twice: repeats are the harder case
    hidden0 = torch.randn(B, T, D, generator=g)  # (B, T, D)
    cross0 = torch.softmax(torch.randn(B, T, S, generator=g), -1)  # (B, T, S)
    target = torch.randint(4, args.vocab, (B * T,), generator=g)
    variants = {
        "plain fc + cross-entropy": lambda h, c: model.fc(h),
        "project (copy head)": lambda h, c: model.project(h, src, c),
        "dense reference": lambda h, c: dense(model, h, src, c),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    for step in range(args.steps + 1):
        for name, fn in variants.items():
            hidden = hidden0.clone().requires_grad_(True)
            cross = cross0.clone().requires_grad_(True)
            t0 = time.perf_counter()
            loss = F.cross_entropy(fn(hidden, cross).reshape(B * T, -1), target)
            loss.backward()
            if step:  # the first round warms up
                times[name].append(time.perf_counter() - t0)
            model.zero_grad(set_to_none=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"batch {B}, src {S}, tgt {T}, vocab {args.vocab}, threads {torch.get_num_threads()}, "
          f"{args.steps} interleaved steps")
    for name, s in med.items():
        print(f"{name:28s} {s * 1000:8.1f} ms/step")
    print(f"dense / project: {med['dense reference'] / med['project (copy head)']:.2f}x; "
          f"project / plain: {med['project (copy head)'] / med['plain fc + cross-entropy']:.2f}x")


if __name__ == "__main__":
    main()
