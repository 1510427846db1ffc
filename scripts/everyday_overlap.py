"""How near each everyday request comes to a model's training data (chapter 09 shows it beside the answers).

    python scripts/everyday_overlap.py --bundle .bundle --recipe D-rebalanced --out artifacts/everyday_overlap.json

The training rows are the bundle's ``train`` rows of every source the recipe gives a weight (raw requests and
code, before canonicalization). For each request: the nearest training prompt by word overlap and whether the
reference solution is itself a training target (:func:`codegen_lib.everyday.overlap`). Exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True)
    p.add_argument("--recipe", default="D-rebalanced")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    import gpu_run

    from codegen_lib.everyday import load_requests, overlap
    from codegen_lib.io import atomic_write_json

    if args.recipe not in gpu_run.RECIPES or not (Path(args.bundle) / "rows.jsonl.gz").is_file():
        print(f"error: need a bundle with rows.jsonl.gz and a recipe of {sorted(gpu_run.RECIPES)}", file=sys.stderr)
        return 2
    rows, _, _ = gpu_run.load_bundle(Path(args.bundle))
    weights = gpu_run.RECIPES[args.recipe]["weights"]
    train = [r for r in rows if r["split"] == "train" and weights.get(r["source"], 0) > 0]
    # the training prompts' text stays out of the repository (the real data is never copied into it): ids only
    result = [{k: v for k, v in r.items() if k != "nearest"} for r in overlap(load_requests(), train)]
    atomic_write_json(Path(args.out), {"recipe": args.recipe, "train_rows": len(train),
                                       "sources": sorted({r["source"] for r in train}), "requests": result},
                      indent=1)
    near = sum(r["similarity"] >= 0.5 for r in result)
    verbatim = [r["id"] for r in result if r["reference_in_training"]]
    print(f"{len(result)} requests against {len(train):,} training rows: {near} with a training prompt sharing "
          f">= half their words; references that are training targets: {verbatim or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
