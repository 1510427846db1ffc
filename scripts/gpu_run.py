"""The issue-17 training session on one GPU: equal-budget ablations, a recipe chosen by a stated rule, the
long run, and a probe of each model -- all from a data bundle made on the CPU by ``make_bundle.py``.

    python scripts/make_bundle.py --out bundle                      # on the CPU, once
    python scripts/gpu_run.py --bundle bundle --out OUT --ablation-steps 1500 --long-seconds 200

Every run trains with :func:`codegen_lib.train.train` (the same loop as ``codegen train``); only the rows and
the presets differ. Recipes (``RECIPES``):

* ``A-mix``: the shipped recipe of issue 11 -- ``improved`` preset, the old mixture weights, raw requests;
* ``B-canon``: A on slot-canonicalized requests and code (``codegen_lib.slots``; ``ModelConfig.slots``);
* ``C-copy``: B plus the copy head (the ``copy`` preset);
* ``D-rebalanced``: C on the rebalanced mixture (``NEW_WEIGHTS``: short request->code pairs up, Django
  down; XLCoST/GfG targets detokenized and ``f_gold`` renamed);
* ``E-denoise``: D after a span-denoising warm-up on the ``code`` corpus (a third of the same budget);
* ``F-conala``: the copy preset on CoNaLa train alone, for a few minutes: the floor the shipped model must
  beat on CoNaLa.

Each ablation gets the same number of optimizer steps and batch size (F: its own, shorter). The probe scores
every model on validation data only: CoNaLa validation BLEU (greedy), Django validation token exact match
(first ``--probe-rows`` rows), MBPP validation pass@1 (greedy, sandboxed) and the everyday suite (sandboxed;
validation only). The long run takes the recipe with the best probe score (the mean of CoNaLa BLEU / 100,
Django EM, MBPP pass@1 and everyday solved) among A-E and trains it for ``--long-seconds``.

Writes under OUT: ``ablations.json`` (one entry per run: steps, tokens, wall time, tokens/s, val loss, probe),
``gpu_runs.json`` (throughput, the schema chapter 07 reads), ``final/`` (the long run's model exported in
float16, ``config.json`` and ``history.json``; the tokenizer is the bundle's) and ``log.txt``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OLD_WEIGHTS = {"code": 1.0, "django": 3.0, "conala": 8.0, "mbpp": 6.0, "gfg": 3.0, "xlcost": 4.0, "tasks": 0.5}
NEW_WEIGHTS = {"code": 0.5, "django": 1.5, "conala": 16.0, "mbpp": 10.0, "gfg": 3.0, "xlcost": 4.0, "tasks": 0.5,
               "doctest": 2.0}
RECIPES = {
    "A-mix": dict(preset="improved", canon=False, detok=False, weights=OLD_WEIGHTS),
    "B-canon": dict(preset="improved", slots=True, canon=True, detok=False, weights=OLD_WEIGHTS),
    "C-copy": dict(preset="copy", canon=True, detok=False, weights=OLD_WEIGHTS),
    "D-rebalanced": dict(preset="copy", canon=True, detok=True, weights=NEW_WEIGHTS),
    "E-denoise": dict(preset="copy", canon=True, detok=True, weights=NEW_WEIGHTS, denoise_share=1 / 3),
    "F-conala": dict(preset="copy", canon=True, detok=False, weights={"conala": 1.0}),
    # throughput only (chapter 07's GPU story): the report's model, batch 32, no probe
    "S-seed": dict(preset="seed", canon=False, detok=False, weights=OLD_WEIGHTS, batch_size=32, steps=300,
                   probe=False),
}
LOG = None


def log(*parts) -> None:
    line = " ".join(str(p) for p in parts)
    print(line, flush=True)
    if LOG is not None:
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def load_bundle(bundle: Path) -> tuple[list[dict], object, dict]:
    from codegen_lib.tokenizer import load_tokenizer

    with gzip.open(bundle / "rows.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    meta = json.loads((bundle / "meta.json").read_text())
    return rows, load_tokenizer(bundle / "tokenizer"), meta


def pair(row: dict, recipe: dict) -> dict:
    """The (prompt, code) a recipe trains on for one bundle row."""
    code = row.get("code_detok") if recipe.get("detok") and row.get("code_detok") else row["code"]
    prompt = row["prompt"]
    if recipe.get("canon"):
        key = "canon_detok" if recipe.get("detok") and row.get("code_detok") else "canon"
        if row.get(key):
            prompt, code = row[key]
    return {"prompt": prompt, "code": code}


def train_rows(rows: list[dict], recipe: dict, seed: int) -> list[dict]:
    by_source: dict[str, list[dict]] = {}
    for r in rows:
        if r["split"] == "train":
            by_source.setdefault(r["source"], []).append(r)
    out = []
    for i, (src, weight) in enumerate(sorted(recipe["weights"].items())):
        part = [pair(r, recipe) for r in by_source.get(src, [])]
        whole, frac = int(weight), weight - int(weight)
        out += part * whole + random.Random(seed + i).sample(part, round(frac * len(part)))
    random.Random(seed).shuffle(out)
    return out


def val_rows(rows: list[dict], recipe: dict, limit: int = 150) -> list[dict]:
    out = []
    for src in ("conala", "django", "mbpp", "code"):
        part = [pair(r, recipe) for r in rows if r["split"] == "validation" and r["source"] == src]
        out += part[:limit]
    return out


def denoise_rows(rows: list[dict], seed: int) -> list[dict]:
    from codegen_lib.corpora.mix import denoising_rows

    code = [{"prompt": r["prompt"], "code": r["code"]} for r in rows if r["source"] == "code" and r["split"] == "train"]
    return denoising_rows(code, seed=seed)


def model_cfg_for(recipe: dict, tokenizer, size_preset: str | None = None):
    """The recipe's ModelConfig; ``size_preset`` (tests: ``tiny``) keeps its copy head and slots flags."""
    from codegen_lib.config import PRESETS, ModelConfig

    flags = {k: PRESETS[recipe["preset"]].get(k, False) for k in ("copy_head", "slots")}
    if recipe.get("slots"):
        flags["slots"] = True
    return ModelConfig.preset(size_preset or recipe["preset"], src_vocab_size=tokenizer.vocab_size,
                              tgt_vocab_size=tokenizer.vocab_size, **flags)


def run_train(name: str, recipe: dict, rows, tokenizer, out: Path, steps: int, args, model=None, data=None):
    from codegen_lib.train import TrainConfig, train

    cfg = model_cfg_for(recipe, tokenizer, args.size_preset)
    batch_size = recipe.get("batch_size", args.batch_size)
    tcfg = TrainConfig.preset("improved", max_steps=steps, epochs=10_000, patience=None, batch_size=batch_size,
                              lr=args.lr, warmup_steps=min(args.warmup, steps // 5), progress=False,
                              eval_every=max(steps // 4, 1), save_every=0, num_workers=2, mixed_precision="bf16")
    data = data if data is not None else train_rows(rows, recipe, args.seed)
    t0 = time.perf_counter()
    history = train(cfg, tcfg, tokenizer, data, val_rows(rows, recipe), out, model=model)
    wall = time.perf_counter() - t0
    tokens = sum(s["tokens"] for s in history["steps"])
    log(f"[{name}] {steps} steps, {tokens:,} target tokens, {wall:.1f}s wall, "
        f"{tokens / history['train_time_s']:,.0f} tok/s, val loss {history.get('best_val_loss')}")
    return history, {"steps": steps, "target_tokens": tokens, "wall_s": round(wall, 1),
                     "train_time_s": round(history["train_time_s"], 1),
                     "target_tokens_per_s": round(tokens / history["train_time_s"]),
                     "val_loss": history.get("best_val_loss"), "train_rows": len(data), "batch_size": batch_size}


def probe(model, tokenizer, rows: list[dict], args) -> dict:
    """Validation-only scores; the requests are raw (generate canonicalizes for a slots model)."""
    import torch

    from codegen_lib import metrics
    from codegen_lib.decode import generate

    model.eval()
    out: dict = {}

    def gen(prompts, max_new=128):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=torch.cuda.is_available()):
            return generate(model, tokenizer, prompts, max_new_tokens=max_new, batch_size=256)

    val = {s: [r for r in rows if r["split"] == "validation" and r["source"] == s] for s in ("conala", "django", "mbpp")}
    conala = val["conala"]
    if conala:
        hyps = gen([r["prompt"] for r in conala], 96)
        out["conala_bleu"] = round(metrics.conala_bleu(hyps, [r["code"] for r in conala]), 2)
    django = val["django"][: args.probe_rows]
    if django:
        hyps = gen([r["prompt"] for r in django], 96)
        out["django_em"] = round(metrics.token_exact_match(hyps, [r["code"] for r in django]), 4)
    jobs, which = [], []
    mbpp = val["mbpp"]
    if mbpp:
        hyps = gen([r["prompt"] for r in mbpp], 256)
        out["mbpp_syntax"] = round(metrics.syntax_validity(hyps), 4)
        jobs += [(h, r["tests"]) for h, r in zip(hyps, mbpp)]
        which += ["mbpp"] * len(mbpp)
    every = [r for r in rows if r["split"] == "everyday"]
    if every:
        hyps = gen([r["prompt"] for r in every], 128)
        from codegen_lib import everyday

        jobs += [everyday.job(r, h) for h, r in zip(hyps, every)]
        which += ["everyday"] * len(every)
        out["everyday_answers"] = hyps
    if jobs:
        try:
            from codegen_lib.sandbox import SandboxConfig, run_many

            res = run_many(jobs, workers=min(16, os.cpu_count() or 2), config=SandboxConfig(timeout=5.0),
                           progress=False)
            for kind in ("mbpp", "everyday"):
                st = [r.status for r, w in zip(res, which) if w == kind]
                if st:
                    out[f"{kind}_pass"] = round(sum(s == "pass" for s in st) / len(st), 4)
                    out[f"{kind}_n"] = len(st)
        except Exception as err:  # the probe must not lose the run
            out["sandbox_error"] = f"{type(err).__name__}: {err}"
    model.train()
    return out


def score(p: dict) -> float:
    parts = [p.get("conala_bleu", 0.0) / 100, p.get("django_em", 0.0), p.get("mbpp_pass", 0.0),
             p.get("everyday_pass", 0.0)]
    return sum(parts) / len(parts)


def load_run(out: Path):
    from codegen_lib.train import load_checkpoint

    model, _, _ = load_checkpoint(out / "last", map_location="cuda" if _cuda() else "cpu")
    return model


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def render_markdown(results: dict) -> str:
    """The ablation table of ``ablations.json`` as Markdown (artifacts/ablations.md)."""
    cols = [("conala_bleu", "CoNaLa val BLEU"), ("django_em", "Django val EM"), ("mbpp_pass", "MBPP val pass@1"),
            ("mbpp_syntax", "MBPP val syntax"), ("everyday_pass", "everyday solved")]
    head = ["run", "steps", "target tokens", "train s", "tok/s", "val loss"] + [c[1] for c in cols] + ["score"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    entries = list(results.get("runs", {}).items())
    if "long" in results:
        entries.append(("long: " + results["long"]["recipe"], results["long"]))
    for name, r in entries:
        if "steps" not in r:
            lines.append(f"| {name} | failed: {r.get('error', '?')} |")
            continue
        p = r.get("probe", {})
        steps = r["steps"] + r.get("warmup", {}).get("steps", 0)
        tokens = r["target_tokens"] + r.get("warmup", {}).get("target_tokens", 0)
        vals = [f"{p[c]:.2f}" if c == "conala_bleu" and c in p else (f"{p[c]:.3f}" if c in p else "—") for c, _ in cols]
        val_loss = f"{r['val_loss']:.3f}" if r.get("val_loss") is not None else "—"
        lines.append(f"| {name} | {steps:,} | {tokens:,} | {r['train_time_s']:.0f} | {r['target_tokens_per_s']:,} | "
                     f"{val_loss} | " + " | ".join(vals) + f" | {r.get('score', score(p)):.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    global LOG
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--ablations", default="A-mix,B-canon,C-copy,D-rebalanced,E-denoise,F-conala")
    p.add_argument("--ablation-steps", type=int, default=1500)
    p.add_argument("--conala-steps", type=int, default=600, help="steps of the CoNaLa-only floor (F)")
    p.add_argument("--long-seconds", type=float, default=200.0, help="wall-clock budget of the long run")
    p.add_argument("--long-recipe", default=None, help="skip the choice rule and train this recipe")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--probe-rows", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size-preset", default=None, help="replace every recipe's model size (tests: tiny)")
    p.add_argument("--deadline", type=float, default=560.0, help="seconds from start by which all must be written")
    args = p.parse_args(argv)
    start = time.perf_counter()

    import torch

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    LOG = out / "log.txt"
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    log(f"device {device}, torch {torch.__version__}, cpus {os.cpu_count()}")
    rows, tokenizer, meta = load_bundle(Path(args.bundle))
    log(f"bundle: {len(rows)} rows, vocab {tokenizer.vocab_size}, {time.perf_counter() - start:.1f}s")
    work = Path(os.environ.get("GPU_RUN_WORK", "/tmp/gpu_run"))
    shutil.rmtree(work, ignore_errors=True)
    results = {"device": device, "torch": torch.__version__, "batch_size": args.batch_size, "lr": args.lr,
               "ablation_steps": args.ablation_steps, "bundle": meta.get("counts"), "runs": {}}

    def save_results():
        tmp = out / ".ablations.json.tmp"
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(out / "ablations.json")

    for name in [n for n in args.ablations.split(",") if n]:
        recipe = RECIPES[name]
        if time.perf_counter() - start > args.deadline - args.long_seconds - 60:
            log(f"[{name}] skipped: not enough time left before the long run")
            continue
        try:
            steps = recipe.get("steps") or (args.conala_steps if name == "F-conala" else args.ablation_steps)
            model = None
            entry: dict = {"recipe": {k: v for k, v in recipe.items()}}
            if recipe.get("denoise_share"):
                warm = max(1, round(steps * recipe["denoise_share"]))
                _, info = run_train(name + "/warmup", recipe, rows, tokenizer, work / (name + "-warm"), warm, args,
                                    data=denoise_rows(rows, args.seed))
                entry["warmup"] = info
                model = load_run(work / (name + "-warm"))
                steps -= warm
            history, info = run_train(name, recipe, rows, tokenizer, work / name, steps, args, model=model)
            entry.update(info)
            if recipe.get("probe", True):
                entry["probe"] = probe(load_run(work / name), tokenizer, rows, args)
                entry["score"] = round(score(entry["probe"]), 4)
            else:
                entry["probe"] = {}
            log(f"[{name}] probe {json.dumps({k: v for k, v in entry['probe'].items() if k != 'everyday_answers'})}")
            shutil.rmtree(work / name, ignore_errors=True)
            results["runs"][name] = entry
        except Exception as err:
            import traceback

            log(f"[{name}] FAILED: {type(err).__name__}: {err}\n{traceback.format_exc()}")
            results["runs"][name] = {"error": f"{type(err).__name__}: {err}"}
        save_results()

    # the choice rule, stated in the module docstring
    candidates = {n: r for n, r in results["runs"].items() if n not in ("F-conala", "S-seed") and "score" in r}
    chosen = args.long_recipe or (max(candidates, key=lambda n: candidates[n]["score"]) if candidates else "D-rebalanced")
    results["chosen"] = chosen
    log(f"long run: {chosen}")
    recipe = RECIPES[chosen]
    speed = results["runs"].get(chosen, {}).get("train_time_s")
    steps_per_s = (results["runs"][chosen]["steps"] / speed) if speed else 8.0
    budget = min(args.long_seconds, args.deadline - (time.perf_counter() - start) - 45)
    steps = max(100, int(steps_per_s * budget * 0.92))  # 8% for validation passes and start-up
    model = None
    if recipe.get("denoise_share"):
        warm = max(1, round(steps * recipe["denoise_share"] / 3))  # a shorter warm-up share in the long run
        run_train("long/warmup", recipe, rows, tokenizer, work / "long-warm", warm, args, data=denoise_rows(rows, args.seed))
        model = load_run(work / "long-warm")
        steps -= warm
    args.warmup = max(200, min(1000, steps // 10))
    history, info = run_train("long", recipe, rows, tokenizer, work / "long", steps, args, model=model)
    results["long"] = {"recipe": chosen, **info}
    save_results()
    final = load_run(work / "long")
    results["long"]["probe"] = probe(final, tokenizer, rows, args)
    log(f"[long] probe {json.dumps({k: v for k, v in results['long']['probe'].items() if k != 'everyday_answers'})}")
    save_results()
    from codegen_lib.pretrained import export_checkpoint

    export_checkpoint(work / "long" / "last", out / "final", dtype="float16",
                      extra={"trained_on": device, "recipe_name": chosen})
    shutil.rmtree(out / "final" / "tokenizer", ignore_errors=True)  # the bundle's tokenizer: not sent back
    runs = [{"name": n, "preset": RECIPES[n]["preset"], "batch_size": r["batch_size"], "steps": r["steps"],
             "target_tokens": r["target_tokens"], "wall_s": r["train_time_s"],
             "target_tokens_per_s": r["target_tokens_per_s"], "precision": "bf16 autocast"}
            for n, r in results["runs"].items() if "steps" in r]
    runs.append({"name": "long:" + chosen, "preset": recipe["preset"], "batch_size": args.batch_size,
                 "steps": info["steps"], "target_tokens": info["target_tokens"], "wall_s": info["train_time_s"],
                 "target_tokens_per_s": info["target_tokens_per_s"], "precision": "bf16 autocast"})
    (out / "gpu_runs.json").write_text(json.dumps({"device": device, "torch": torch.__version__, "runs": runs},
                                                  indent=1))
    log(f"done in {time.perf_counter() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
