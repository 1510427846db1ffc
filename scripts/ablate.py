"""One ablation: train a recipe on the ``mix`` corpus for a fixed number of steps, then probe it (issue 11).

    python scripts/ablate.py NAME --preset improved --max-steps 400 [--set train.label_smoothing=0.0 ...]

Training is ``codegen train --recipe mix`` (``scripts/train_mix.py``; one thread by default, so two ablations can run side by side); the
probe is ``codegen_lib.suite.evaluate_suite`` on the *validation* splits (``suite.PROBE``, first
``--probe-rows`` rows of each, greedy). The row -- command, wall time, tokens, validation loss, probe
metrics -- goes to ``artifacts/ablations/NAME.json``; ``python scripts/ablate.py --table`` prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from codegen_lib.io import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "artifacts" / "ablations"


def probe(run_dir: Path, rows: int, threads: int, checkpoint: Path | None = None) -> dict:
    import torch
    from datasets import load_from_disk

    from codegen_lib.checkpoint import load_checkpoint
    from codegen_lib.suite import PROBE, evaluate_suite

    torch.set_num_threads(threads)
    corpus = load_from_disk(str(ROOT / "runs" / "data" / "mix"))
    model, tokenizer, _ = load_checkpoint(checkpoint or run_dir / "last")
    res = evaluate_suite(model, tokenizer, corpus, PROBE, limit=rows, greedy_only=True)
    return {name: r["metrics"] for name, r in res.items()}


def val_loss(checkpoint: Path, threads: int = 2, batch_size: int = 32) -> float:
    """Token-level cross-entropy (no label smoothing) on the mix's validation split."""
    import torch
    import torch.nn.functional as F
    from datasets import load_from_disk

    from codegen_lib.batching import Seq2SeqCollator
    from codegen_lib.checkpoint import load_checkpoint

    torch.set_num_threads(threads)
    val = load_from_disk(str(ROOT / "runs" / "data" / "mix"))["validation"]
    model, tok, _ = load_checkpoint(checkpoint)
    model.eval()
    collate = Seq2SeqCollator(tok, model.config.max_src_len, model.config.max_tgt_len)
    total = count = 0.0
    with torch.no_grad():
        for i in range(0, len(val), batch_size):
            b = collate([val[j] for j in range(i, min(i + batch_size, len(val)))])
            logits = model(b["src"], b["tgt_in"])  # (B, T, V)
            loss = F.cross_entropy(logits.flatten(0, 1), b["tgt_out"].flatten(), ignore_index=tok.pad_id,
                                   reduction="sum")
            total += loss.item()
            count += (b["tgt_out"] != tok.pad_id).sum().item()
    return total / count


def average(run_dir: Path, k: int) -> dict:
    """Average the last ``k`` snapshots of a run into RUN/averaged-K; compare validation losses with last."""
    from codegen_lib.pretrained import average_checkpoints

    last = run_dir / "last" / "model.safetensors"  # the final step, which no snapshot copied yet
    snaps = sorted((run_dir / "snapshots").glob("step-*.safetensors"))
    snaps = (snaps + [last])[-k:] if last.is_file() else snaps[-k:]
    dst = run_dir / f"averaged-{k}"
    average_checkpoints(run_dir / "last", snaps, dst)
    return {"snapshots": [p.name for p in snaps], "val_loss_last": val_loss(run_dir / "last"),
            "val_loss_averaged": val_loss(dst), "averaged": str(dst)}


def table() -> str:
    rows = [r for p in sorted(OUT.glob("*.json")) if "probe" in (r := json.loads(p.read_text()))]
    cols = ["val_loss", "mbpp_val pass@1", "gfg_val pass@1", "tasks_val pass@1", "conala_val BLEU",
            "django_val EM", "code_val BLEU", "syntax (mean)"]
    lines = ["| ablation | " + " | ".join(["steps", "tokens", "wall s", "tok/s"] + cols) + " | command |",
             "|" + "---|" * (len(cols) + 6)]
    for r in rows:
        p = r["probe"]
        syn = [v.get("syntax_validity") for v in p.values() if v.get("syntax_validity") is not None]
        vals = [r["val_loss"], p["mbpp_val"]["pass@1"], p["gfg_val"]["pass@1"], p["tasks_val"]["pass@1"],
                p["conala_val"]["conala_bleu"], p["django_val"]["exact_match"], p["code_val"]["bleu"],
                sum(syn) / len(syn)]
        fmt = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in vals]
        lines.append(f"| {r['name']} | {r['steps']} | {r['tokens']:,} | {r['train_time_s']:.0f} | "
                     f"{r['tokens_per_s']:.0f} | " + " | ".join(fmt) + f" | `{r['command']}` |")
    return "\n".join(lines)


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "--table":
        print(table())
        return 0
    if argv and argv[0] == "--average":  # --average RUN_DIR K: checkpoint averaging, judged on val loss
        out = average(Path(argv[1]), int(argv[2]))
        atomic_write_json(OUT / f"averaging-{Path(argv[1]).name}-{argv[2]}.json", out, indent=1)
        print(json.dumps(out))
        return 0
    if argv and argv[0] == "--probe-checkpoint":  # --probe-checkpoint CKPT NAME [ROWS]: no training
        ckpt, name = Path(argv[1]), argv[2]
        rows = int(argv[3]) if len(argv) > 3 else 100
        history = json.loads(next(p for p in (ckpt / "history.json", ckpt.parent / "history.json")
                                  if p.is_file()).read_text())
        steps = history["steps"]
        config = json.loads((ckpt / "config.json").read_text())
        tokens = sum(s["tokens"] for s in steps)
        row = {"name": name, "command": "python scripts/ablate.py " + " ".join(argv),
               "steps": steps[-1]["step"], "tokens": tokens, "train_time_s": history["train_time_s"],
               "tokens_per_s": tokens / max(history["train_time_s"], 1e-9),
               "val_loss": config.get("val_loss") or (history.get("step_val") or [{}])[-1].get("val_loss"),
               "probe_rows": rows, "probe": probe(ckpt, rows, 2, checkpoint=ckpt)}
        atomic_write_json(OUT / f"{name}.json", row, indent=1)
        print(json.dumps({k: v for k, v in row.items() if k != "probe"}), file=sys.stderr)
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name")
    p.add_argument("--preset", default="improved")
    p.add_argument("--train-preset", default=None)
    p.add_argument("--max-steps", type=int, default=400)
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--probe-rows", type=int, default=100)
    args = p.parse_args(argv)
    from codegen_lib.cli import main as codegen

    run_dir = ROOT / "runs" / f"abl-{args.name}"
    train_argv = ["train", "--recipe", "mix", "--out", str(run_dir), "--preset", args.preset,
                  "--max-steps", str(args.max_steps), "--threads", str(args.threads),
                  "--vocab-size", str(args.vocab_size), "--cache", str(ROOT / "runs" / "data"),
                  "--set", "train.progress=false"]
    if args.train_preset:
        train_argv += ["--train-preset", args.train_preset]
    for s in args.set:
        train_argv += ["--set", s]
    t0 = time.time()
    if codegen(train_argv) != 0:
        return 2
    history = json.loads((run_dir / "history.json").read_text())
    steps = history["steps"]
    tokens = sum(s["tokens"] for s in steps)
    val = [e["val_loss"] for e in history.get("epochs", []) if e.get("val_loss") is not None]
    val += [e["val_loss"] for e in history.get("step_val", [])]
    row = {
        "name": args.name,
        "command": "python scripts/ablate.py " + " ".join(argv),
        "steps": steps[-1]["step"] if steps else 0,
        "tokens": tokens,
        "train_time_s": history["train_time_s"],
        "tokens_per_s": tokens / max(history["train_time_s"], 1e-9),
        "val_loss": val[-1] if val else None,
        "probe_rows": args.probe_rows,
        "probe": probe(run_dir, args.probe_rows, args.threads),
        "wall_s_total": round(time.time() - t0, 1),
    }
    atomic_write_json(OUT / f"{args.name}.json", row, indent=1)
    print(json.dumps({k: v for k, v in row.items() if k != "probe"}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
