"""Training-step throughput: codegen_lib's fast and teaching attention paths vs ``torch.nn.Transformer``.

One step = forward + cross-entropy + backward + Adam step on a random batch; throughput is target
tokens per second (batch x tgt_len / step time). All variants use the same config, batch and lengths,
run in one process and are interleaved step by step, so background load hits them alike. The
``torch.nn.Transformer`` baseline gets the same embeddings, positional encoding and output layer,
so only the encoder-decoder stack differs.

    python benchmarks/bench_model.py                               # seed config, batch 8 x 256, CPU
    python benchmarks/bench_model.py --batch-size 32 --steps 10    # the issue's reference point
    python benchmarks/bench_model.py --device cuda --batch-size 64 --compile
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

try:
    import codegen_lib  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codegen_lib.config import ModelConfig  # noqa: E402
from codegen_lib.model import build_model  # noqa: E402
from codegen_lib.positional import PositionalEncoding  # noqa: E402


class TorchTransformer(nn.Module):
    """``nn.Transformer`` with the same embeddings, positional encoding and output layer as ours."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.pad_id = cfg.pad_id
        self.encoder_embedding = nn.Embedding(cfg.src_vocab_size, cfg.d_model)
        self.decoder_embedding = nn.Embedding(cfg.tgt_vocab_size, cfg.d_model)
        self.positional_encoding = PositionalEncoding(cfg.d_model, cfg.max_seq_length)
        self.core = nn.Transformer(
            d_model=cfg.d_model, nhead=cfg.num_heads, num_encoder_layers=cfg.num_layers,
            num_decoder_layers=cfg.num_layers, dim_feedforward=cfg.d_ff, dropout=cfg.dropout,
            batch_first=True, norm_first=cfg.norm_first,
        )
        self.fc = nn.Linear(cfg.d_model, cfg.tgt_vocab_size)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        src_pad, tgt_pad = src == self.pad_id, tgt == self.pad_id  # True = ignore (torch's convention)
        T = tgt.size(1)
        causal = torch.ones(T, T, dtype=torch.bool, device=tgt.device).triu(1)  # (T, T) True = future
        src_x = self.dropout(self.positional_encoding(self.encoder_embedding(src)))  # (B, S, D)
        tgt_x = self.dropout(self.positional_encoding(self.decoder_embedding(tgt)))  # (B, T, D)
        hidden = self.core(
            src_x, tgt_x, tgt_mask=causal, src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
            memory_key_padding_mask=src_pad, tgt_is_causal=True,
        )  # (B, T, D)
        return self.fc(hidden)  # (B, T, V)


def make_batch(cfg: ModelConfig, batch_size: int, src_len: int, tgt_len: int, device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, cfg.src_vocab_size, (batch_size, src_len), generator=g)
    tgt = torch.randint(4, cfg.tgt_vocab_size, (batch_size, tgt_len + 1), generator=g)
    # ragged lengths: pad the tail of each row, as a real batch would be
    src_lens = torch.randint(src_len // 2, src_len + 1, (batch_size,), generator=g)
    tgt_lens = torch.randint(tgt_len // 2, tgt_len + 2, (batch_size,), generator=g)
    src[torch.arange(src_len)[None] >= src_lens[:, None]] = cfg.pad_id
    tgt[torch.arange(tgt_len + 1)[None] >= tgt_lens[:, None]] = cfg.pad_id
    tgt[:, 0] = 1  # <bos>
    return src.to(device), tgt[:, :-1].contiguous().to(device), tgt[:, 1:].contiguous().to(device)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="seed", help="ModelConfig preset (default: seed, the report's model)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--src-len", type=int, default=None, help="default: the preset's max_src_len")
    p.add_argument("--tgt-len", type=int, default=None, help="default: the preset's max_tgt_len")
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--steps", type=int, default=5, help="timed steps per variant")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps per variant")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--amp", choices=["no", "bf16", "fp16"], default="no", help="autocast dtype")
    p.add_argument("--compile", action="store_true", help="also measure torch.compile'd fast path and baseline")
    p.add_argument("--variants", default="fast,teaching,torch", help="comma list of fast,teaching,torch")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = leave)")
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    cfg = ModelConfig.preset(args.preset, src_vocab_size=args.vocab, tgt_vocab_size=args.vocab)
    src_len, tgt_len = args.src_len or cfg.max_src_len, args.tgt_len or cfg.max_tgt_len
    cfg = ModelConfig.from_dict({**cfg.to_dict(), "max_src_len": max(src_len, cfg.max_src_len),
                                 "max_tgt_len": max(tgt_len, cfg.max_tgt_len)})
    src, tgt_in, tgt_out = make_batch(cfg, args.batch_size, src_len, tgt_len, device)
    tokens = args.batch_size * tgt_len

    variants: dict[str, nn.Module] = {}
    wanted = args.variants.split(",")
    if "fast" in wanted:
        variants["fast"] = build_model(cfg)
    if "teaching" in wanted:
        variants["teaching"] = build_model(cfg)
        variants["teaching"].set_fast_attention(False)
    if "torch" in wanted:
        variants["torch"] = TorchTransformer(cfg)
    if args.compile:
        if "fast" in wanted:
            variants["fast+compile"] = torch.compile(build_model(cfg))
        if "torch" in wanted:
            variants["torch+compile"] = torch.compile(TorchTransformer(cfg))
    optims = {}
    for name, m in variants.items():
        m.to(device).train()
        optims[name] = torch.optim.Adam(m.parameters(), lr=1e-4)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.amp)

    def step(name: str) -> float:
        model, opt = variants[name], optims[name]
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(src, tgt_in)  # (B, T, V)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), tgt_out.reshape(-1),
                                   ignore_index=cfg.pad_id)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    print(f"device={device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'CPU'}), "
          f"threads={torch.get_num_threads()}, torch {torch.__version__}, amp={args.amp}")
    print(f"preset={args.preset} d_model={cfg.d_model} heads={cfg.num_heads} layers={cfg.num_layers} "
          f"d_ff={cfg.d_ff} vocab={args.vocab} batch={args.batch_size} src_len={src_len} tgt_len={tgt_len}")
    for _ in range(args.warmup):
        for name in variants:
            step(name)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.steps):  # interleaved: every variant sees the same background load
        for name in variants:
            times[name].append(step(name))

    rate = {name: tokens / statistics.median(ts) for name, ts in times.items()}
    base = rate.get("torch")
    print(f"{'variant':<15}{'median s/step':>15}{'tgt tokens/s':>15}{'vs nn.Transformer':>20}")
    for name, ts in times.items():
        ratio = f"{rate[name] / base:.2f}x" if base else "-"
        print(f"{name:<15}{statistics.median(ts):>15.3f}{rate[name]:>15.0f}{ratio:>20}")


if __name__ == "__main__":
    main()
