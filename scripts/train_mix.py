"""Train a model on the ``mix`` corpus (issue 11): the long run and the short ablations use this one script.

    python scripts/train_mix.py --out runs/mix-improved --preset improved --max-steps 3000 --threads 2
    python scripts/train_mix.py --out runs/abl-seed --preset seed --max-steps 400 --threads 1 \
        --set train.label_smoothing=0.0 --set model.max_tgt_len=128

The corpus is built once (``load_corpus("mix", data_dir=...)``) and kept under ``runs/data/mix``; the
byte-level BPE tokenizer is trained once on its training split and kept under ``runs/data/tok-<V>``. A run
whose ``OUT/last`` exists is resumed exactly (same data order, optimizer, schedule). ``--set`` overrides any
field of the model or train config (``model.<field>=<json>`` / ``train.<field>=<json>``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _parse_sets(items: list[str]) -> tuple[dict, dict]:
    model, train = {}, {}
    for item in items:
        key, _, value = item.partition("=")
        scope, _, name = key.partition(".")
        if scope not in ("model", "train") or not name or not _:
            raise SystemExit(f"--set wants model.<field>=<value> or train.<field>=<value>, got {item!r}")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        (model if scope == "model" else train)[name] = parsed
    return model, train


class _Snapshots:
    """Copy ``OUT/last/model.safetensors`` to ``OUT/snapshots/step-N.safetensors`` whenever it changes."""

    def __init__(self, out: Path, every: int):
        self.last = out / "last" / "model.safetensors"
        self.dir = out / "snapshots"
        self.every = every
        self.seen = self.last.stat().st_mtime if self.last.is_file() else None

    def on_step_end(self, state: dict) -> None:
        import shutil

        if not self.last.is_file() or self.last.stat().st_mtime == self.seen:
            return
        self.seen = self.last.stat().st_mtime
        step = (state["step"] - 1) // self.every * self.every  # the checkpoint was written at that step
        self.dir.mkdir(exist_ok=True)
        tmp = self.dir / f".step-{step:06d}.tmp"
        shutil.copyfile(self.last, tmp)
        tmp.replace(self.dir / f"step-{step:06d}.safetensors")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "raw"))
    p.add_argument("--cache", default=str(ROOT / "runs" / "data"), help="where the corpus and tokenizer are kept")
    p.add_argument("--preset", default="improved", help="model preset")
    p.add_argument("--train-preset", default=None, help="train preset (default: the model preset's)")
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--max-steps", type=int, required=True)
    p.add_argument("--set", action="append", default=[], metavar="SCOPE.FIELD=VALUE")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--task", choices=("mix", "denoise"), default="mix",
                   help="denoise: span denoising of the code corpus's training rows (a warm-up)")
    p.add_argument("--init-from", default=None, help="start from this checkpoint's weights (e.g. a warm-up)")
    p.add_argument("--snapshot-every", type=int, default=0,
                   help="keep the weights of every N-th step in OUT/snapshots/ (for checkpoint averaging)")
    args = p.parse_args(argv)

    import torch
    from datasets import load_from_disk

    from codegen_lib.config import ModelConfig
    from codegen_lib.data import load_corpus
    from codegen_lib.tokenizer import load_tokenizer, train_tokenizer
    from codegen_lib.train import TrainConfig, train

    torch.set_num_threads(args.threads)
    cache = Path(args.cache)
    corpus_dir = cache / "mix"
    if (corpus_dir / "dataset_dict.json").is_file():
        corpus = load_from_disk(str(corpus_dir))
    else:
        corpus = load_corpus("mix", data_dir=args.data_dir, seed=args.seed)
        corpus.save_to_disk(str(corpus_dir))
    tok_dir = cache / f"tok-{args.vocab_size}"
    if (tok_dir / "tokenizer.json").is_file() or (tok_dir / "config.json").is_file():
        tokenizer = load_tokenizer(tok_dir)
    else:
        t0 = time.perf_counter()
        tr = corpus["train"]
        texts = [t for col in ("prompt", "code") for t in tr[col]]
        tokenizer = train_tokenizer(texts, vocab_size=args.vocab_size)
        tokenizer.save(tok_dir)
        print(f"tokenizer {args.vocab_size}: trained in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    model_over, train_over = _parse_sets(args.set)
    out = Path(args.out)
    resume = (out / "last" / "config.json").is_file()
    model_cfg = ModelConfig.preset(args.preset, src_vocab_size=tokenizer.vocab_size,
                                   tgt_vocab_size=tokenizer.vocab_size, **model_over)
    train_cfg = TrainConfig.preset(args.train_preset or args.preset, seed=args.seed, max_steps=args.max_steps,
                                   epochs=1000, patience=None, **train_over)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps({"dataset": "mix" if args.task == "mix" else "mix-denoise",
                                              "data_dir": args.data_dir, "max_rows": None}, indent=2))
    (out / "recipe.json").write_text(json.dumps({"argv": sys.argv, "model": model_cfg.to_dict(),
                                                 "train": train_cfg.to_dict()}, indent=1, default=str))
    print(f"{'resuming' if resume else 'training'} {args.preset} on mix: {len(corpus['train'])} rows, "
          f"vocab {tokenizer.vocab_size}, {args.max_steps} steps -> {out}", file=sys.stderr)
    train_rows = corpus["train"]
    if args.task == "denoise":
        from datasets import Dataset

        from codegen_lib.corpora.mix import denoising_rows

        code_rows = [r for r in train_rows if r["source"] == "code"]
        seen, unique = set(), []
        for r in code_rows:
            if r["id"] not in seen:
                seen.add(r["id"])
                unique.append(r)
        train_rows = Dataset.from_list(denoising_rows(unique, seed=args.seed))
    model = None
    if args.init_from and not resume:
        from codegen_lib.checkpoint import load_checkpoint

        model, init_tok, _ = load_checkpoint(args.init_from)
        if init_tok.vocab_size != tokenizer.vocab_size or model.config.to_dict() != model_cfg.to_dict():
            raise SystemExit(f"--init-from {args.init_from}: its config or tokenizer differs from this run's")
    callbacks = [_Snapshots(out, args.snapshot_every)] if args.snapshot_every else []
    history = train(model_cfg, train_cfg, tokenizer, train_rows, corpus["validation"], out, resume=resume,
                    model=model, callbacks=callbacks)
    steps = history["steps"]
    tokens = sum(s["tokens"] for s in steps)
    print(json.dumps({"out": str(out), "steps": steps[-1]["step"] if steps else 0, "tokens": tokens,
                      "train_time_s": round(history["train_time_s"], 1),
                      "tokens_per_s": round(tokens / max(history["train_time_s"], 1e-9)),
                      "best_val_loss": history.get("best_val_loss")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
