"""Issue 17's long run on the CPU: one recipe of ``gpu_run.RECIPES`` trained from the bundle, over several
sittings, with a checkpoint every few minutes (chapter 07 tells the story; the closing note gives the figures).

    python scripts/make_bundle.py --mix MIX --extra doctest=DOCTEST --out .bundle        # once
    nohup python scripts/long_run.py --bundle .bundle --recipe D-rebalanced --out /work/runs/long-d \\
        --init-from artifacts/mix-slots --max-steps 11200 --threads 2 --stop-after-hours 2 >> long-d.log 2>&1 &

(``artifacts/mix-slots``, the warm start of the shipped ``mix-copy``, left the work tree when ``mix-copy``
replaced it: ``git restore --source 575c0ae -- artifacts/mix-slots`` brings it back.)

Run the same command again to continue: a run whose ``OUT/last`` exists resumes exactly (weights, optimizer,
schedule, RNG and data position; ``codegen_lib.train.train(resume=True)``), so the cosine schedule spans every
sitting. A different ``--max-steps`` on resume lengthens or shortens the schedule from there on (the cosine is
recomputed for the new length); ``long_run.json`` records the change and the step it took effect. A sitting ends at ``--max-steps`` (then ``OUT/final`` is the float16 export), or at the first
checkpoint after ``--stop-after-hours`` of this sitting, or at the first checkpoint after the file
``OUT/STOP`` appears (it is removed). Keep OUT outside the work tree. A finished run is probed on validation
data only (``gpu_run.probe``: CoNaLa BLEU, Django EM, MBPP pass@1 and syntax, the everyday suite; greedy), the
same probe as the GPU ablations, into ``long_run.json``; ``OUT/final`` then holds what ``artifacts/<name>/``
ships (the weights, ``recipe.json``, ``run.json``, ``long_run.json``). Running the command again on a finished
run re-exports and re-probes (``--probe-rows 0``: re-exports and keeps the probe).

``--init-from`` starts a new run from another checkpoint's weights (the same tokenizer and size); a copy-head
recipe started from a model without the head gets a gate that starts at ``p_gen = sigmoid(3) = 0.95``, so the
warm model's outputs barely move at step 0. ``OUT/long_run.json`` records every sitting: steps, target tokens,
training seconds, tokens/s and the load average beside it (what else ran).

Exit codes: 0 finished or stopped at a checkpoint; 2 bad input (bundle, recipe, init checkpoint, arguments).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN_PRESET = "improved"  # the training recipe every long run uses (AdamW, cosine, smoothing 0.1)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


class StopSitting(Exception):
    """Raised after a ``last`` checkpoint is complete, to end this sitting there."""


class _Sitting:
    """Callbacks: a progress line and the load average every ``every`` steps; a stop at the first checkpoint
    after the deadline."""

    def __init__(self, out: Path, deadline: float, every: int = 100):
        self.out, self.deadline, self.every = out, deadline, every
        self.load: list[float] = []

    def on_step_end(self, state: dict) -> None:
        if state["step"] % self.every == 0:
            self.load.append(round(os.getloadavg()[0], 2))
            recent = state["history"]["steps"][-self.every:]
            seconds = recent[-1]["time_s"] - recent[0]["time_s"]
            tokens = sum(s["tokens"] for s in recent[1:])
            print(f"step {state['step']}: loss {state['loss']:.3f}, lr {state['lr']:.2e}, "
                  f"{tokens / max(seconds, 1e-9):,.0f} tok/s over the last {len(recent)} steps, "
                  f"load {self.load[-1]}", flush=True)

    def on_checkpoint(self, state: dict) -> None:
        stop_file = self.out / "STOP"
        if Path(state["directory"]).name != "last":
            return
        if stop_file.exists() or time.time() >= self.deadline:
            stop_file.unlink(missing_ok=True)
            raise StopSitting(state["step"])


def cpu_name(threads: int) -> str:
    """``"2-core CPU (AMD EPYC ...), 2 threads"``: the machine, as chapter 07's compute table names it."""
    import platform

    model = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core CPU ({model}), {threads} threads"


def warm_model(cfg, init_from: Path, tokenizer):
    """A model of ``cfg`` holding ``init_from``'s weights; a copy gate it lacks starts at p_gen = 0.95."""
    import torch

    from codegen_lib.checkpoint import load_checkpoint
    from codegen_lib.model import build_model

    source, source_tok, _ = load_checkpoint(init_from)
    if source_tok.backend.get_vocab() != tokenizer.backend.get_vocab():
        raise ValueError(f"--init-from {init_from}: its tokenizer differs from the bundle's")
    model = build_model(cfg)
    missing, unexpected = model.load_state_dict(source.float().state_dict(), strict=False)
    if unexpected or set(missing) - {"copy_gate.weight", "copy_gate.bias"}:
        raise ValueError(f"--init-from {init_from}: weights do not fit the recipe's model "
                         f"(missing {sorted(missing)}, unexpected {sorted(unexpected)})")
    if missing:
        with torch.no_grad():
            model.copy_gate.weight.zero_()
            model.copy_gate.bias.fill_(3.0)  # p_gen = sigmoid(3) = 0.95: mostly the warm model at first
    return model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True)
    p.add_argument("--recipe", default="D-rebalanced", help="a name of gpu_run.RECIPES")
    p.add_argument("--out", required=True, help="the run directory (outside the work tree)")
    p.add_argument("--max-steps", type=int, required=True, help="the whole run's steps (the schedule's length)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--save-every", type=int, default=1000, help="steps between checkpoints (~10 minutes)")
    p.add_argument("--eval-every", type=int, default=2000, help="steps between validation losses")
    p.add_argument("--init-from", default=None, help="a checkpoint whose weights start a new run")
    p.add_argument("--stop-after-hours", type=float, default=None, help="end this sitting at the next checkpoint")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size-preset", default=None, help="replace the recipe's model size (tests: tiny)")
    p.add_argument("--probe-rows", type=int, default=300,
                   help="Django validation rows of the final probe (gpu_run.probe); 0 = no probe")
    args = p.parse_args(argv)

    import gpu_run
    import torch

    from codegen_lib.io import atomic_write_json
    from codegen_lib.train import TrainConfig, train

    try:
        if args.recipe not in gpu_run.RECIPES:
            raise ValueError(f"unknown recipe {args.recipe!r}; choose one of {sorted(gpu_run.RECIPES)}")
        if not (Path(args.bundle) / "rows.jsonl.gz").is_file():
            raise ValueError(f"--bundle {args.bundle}: no rows.jsonl.gz (make it with scripts/make_bundle.py)")
        recipe = gpu_run.RECIPES[args.recipe]
        rows, tokenizer, _ = gpu_run.load_bundle(Path(args.bundle))
        out = Path(args.out)
        resume = (out / "last" / "config.json").is_file()
        cfg = gpu_run.model_cfg_for(recipe, tokenizer, args.size_preset)
        model = None
        if args.init_from and not resume:
            model = warm_model(cfg, Path(args.init_from), tokenizer)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    tcfg = TrainConfig.preset(TRAIN_PRESET, max_steps=args.max_steps, epochs=100_000, patience=None,
                              batch_size=args.batch_size, lr=args.lr, warmup_steps=args.warmup, progress=False,
                              eval_every=args.eval_every, save_every=args.save_every, num_workers=0,
                              mixed_precision="no", seed=args.seed)
    data = gpu_run.train_rows(rows, recipe, args.seed)
    out.mkdir(parents=True, exist_ok=True)
    record_path = out / "long_run.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {
        "recipe": args.recipe, "recipe_fields": recipe, "init_from": args.init_from, "max_steps": args.max_steps,
        "train_rows": len(data), "batch_size": args.batch_size, "lr": args.lr, "sittings": []}
    before = json.loads((out / "history.json").read_text()) if resume and (out / "history.json").is_file() else {}
    step0, time0 = len(before.get("steps", [])), before.get("train_time_s", 0.0)
    if record["max_steps"] != args.max_steps:  # the schedule's length changed at this sitting: say so
        record.setdefault("max_steps_changes", []).append(
            {"at_step": step0, "from": record["max_steps"], "to": args.max_steps})
        record["max_steps"] = args.max_steps
    hours = args.stop_after_hours
    sitting = _Sitting(out, time.time() + hours * 3600 if hours is not None else float("inf"))
    last_to = record["sittings"][-1]["to_step"] if record["sittings"] else 0
    if step0 > last_to:  # a sitting ended (killed) before writing its entry: rebuild it from the history
        done = before["steps"]
        t_prev = done[last_to - 1]["time_s"] if last_to else 0.0
        seconds = done[step0 - 1]["time_s"] - t_prev
        tokens = sum(s["tokens"] for s in done[last_to:step0])
        record["sittings"].append({"from_step": last_to, "to_step": step0, "target_tokens": tokens,
                                   "train_s": round(seconds, 1),
                                   "target_tokens_per_s": round(tokens / max(seconds, 1e-9)),
                                   "note": "ended without writing its entry; figures from history.json"})
    entry = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": ["scripts/long_run.py", *sys.argv[1:]]
             if argv is None else ["scripts/long_run.py", *argv], "cpus": os.cpu_count(), "threads": args.threads,
             "torch": torch.__version__, "from_step": step0}
    print(f"{'resuming' if resume else 'starting'} {args.recipe} at step {step0} of {args.max_steps} -> {out}",
          flush=True)
    stopped = None
    try:
        train(cfg, tcfg, tokenizer, data, gpu_run.val_rows(rows, recipe), out, callbacks=[sitting], resume=resume,
              model=model)
    except StopSitting as stop:
        stopped = int(stop.args[0])
    history = json.loads((out / "history.json").read_text())
    steps = history["steps"][step0:]
    tokens = sum(s["tokens"] for s in steps)
    seconds = history["train_time_s"] - time0
    entry.update(ended=time.strftime("%Y-%m-%d %H:%M:%S"), to_step=len(history["steps"]), target_tokens=tokens,
                 train_s=round(seconds, 1), target_tokens_per_s=round(tokens / max(seconds, 1e-9)),
                 load_average=sitting.load, step_val=[v for v in history.get("step_val", [])
                                                      if v["step"] > step0])
    if steps:  # re-running a finished run trains nothing: no sitting to record
        record["sittings"].append(entry)
    record["total"] = {"steps": len(history["steps"]), "target_tokens": sum(s["tokens"] for s in history["steps"]),
                       "train_s": round(history["train_time_s"], 1)}
    atomic_write_json(record_path, record, indent=1)
    if stopped is not None:
        print(f"stopped at step {stopped}: {tokens:,} target tokens this sitting at "
              f"{entry['target_tokens_per_s']:,} tok/s; run the same command again to resume", flush=True)
        return 0
    from codegen_lib.pretrained import export_checkpoint

    export_checkpoint(out / "last", out / "final", dtype="float16",
                      extra={"train_machine": cpu_name(args.threads), "recipe_name": args.recipe,
                             "exported_from": f"scripts/long_run.py, last checkpoint at step {len(history['steps'])}"})
    print(f"finished at step {len(history['steps'])}; float16 export in {out / 'final'}", flush=True)
    if args.probe_rows:
        from codegen_lib.checkpoint import load_checkpoint

        t0 = time.perf_counter()
        final, _, _ = load_checkpoint(out / "final")
        record["probe"] = gpu_run.probe(final.float(), tokenizer, rows, args)  # validation only, greedy
        record["probe"]["seconds"] = round(time.perf_counter() - t0, 1)
        record["score"] = round(gpu_run.score(record["probe"]), 4)
        atomic_write_json(record_path, record, indent=1)
        shown = {k: v for k, v in record["probe"].items() if k != "everyday_answers"}
        print(f"probe (validation, greedy): {json.dumps(shown)}", flush=True)
    write_records(out / "final", record, cfg, tcfg, out, args.bundle, args.threads)
    return 0


def write_records(final: Path, record: dict, cfg, tcfg, out: Path, bundle: str, threads: int) -> None:
    """The files that make ``final/`` a shippable model directory (``artifacts/<name>/``, chapter 07):
    ``recipe.json`` (the command, the recipe and the exact model and training configs; ``load_recipe`` rebuilds
    them), ``run.json`` (the data) and a copy of ``long_run.json``. The run directory's path is written as
    ``OUT`` and the bundle's as ``BUNDLE``, so that no machine's paths are shipped."""
    from codegen_lib.io import atomic_write_json

    def anonymous(argv):
        return ["OUT" if a == str(out) else "BUNDLE" if a == str(bundle) else a for a in argv]

    shipped = {**record, "sittings": [{**s, "argv": anonymous(s["argv"])} if "argv" in s else s
                                      for s in record["sittings"]]}
    last = record["sittings"][-1] if record["sittings"] else {}
    atomic_write_json(final / "recipe.json", {
        "argv": anonymous(last.get("argv", [])), "recipe_name": record["recipe"],
        "recipe_fields": record["recipe_fields"], "init_from": record["init_from"],
        "max_steps_changes": record.get("max_steps_changes", []),
        "machine": cpu_name(last.get("threads", threads)),
        "model": cfg.to_dict(), "train": tcfg.to_dict(), "train_preset": TRAIN_PRESET}, indent=1)
    atomic_write_json(final / "run.json", {
        "dataset": "mix", "data_dir": None, "max_rows": None, "canonicalized": bool(cfg.slots),
        "bundle": "scripts/make_bundle.py --mix <load_corpus('mix') saved> --extra doctest=<load_corpus('doctest')"
                  " saved> --out .bundle", "recipe": record["recipe"]}, indent=1)
    atomic_write_json(final / "long_run.json", shipped, indent=1)


if __name__ == "__main__":
    sys.exit(main())
