"""Build the data bundle that ``gpu_run.py`` trains on (issue 17): the rows of every source of the mix,
each with its slot-canonicalized form, the detokenized XLCoST/GfG targets, the everyday suite (validation
only), and one byte-level BPE tokenizer with the slot tokens.

    python scripts/make_bundle.py --mix /work/runs/mix0 --out bundle

``rows.jsonl.gz`` holds one JSON object per distinct row: ``source``, ``split`` (``train``,
``validation``, ``test`` or ``everyday``), ``prompt``, ``code``, ``tests``, ``id``; plus ``canon`` =
[prompt, code] where canonicalization changed the row (found slots, or dropped the backticks around a code
span) and round-tripped, ``code_detok`` (and ``canon_detok``) for XLCoST/GfG rows. ``meta.json`` counts rows
per source and split, slotted rows, rows whose only change is the dropped backticks (``unbackticked``), and
round-trip failures (rows kept as they are, never dropped).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def snake_name(prompt: str) -> str:
    """A function name from a request's title: ``'Count set bits | ...'`` -> ``count_set_bits``."""
    title = prompt.split("|")[0]
    words = re.findall(r"[A-Za-z0-9]+", title.lower())[:6]
    name = "_".join(words) or "solve"
    return name if not name[0].isdigit() else "f_" + name


def detok(row: dict) -> str | None:
    """A target in XLCoST's token spacing -> ordinary Python, ``f_gold`` renamed after the title (None if
    unchanged). GfG code (``def f_gold ( n ) :`` with real newlines) is re-printed by ``ast.unparse``; XLCoST
    code still in token format (``NEW_LINE``) goes through ``xlcost.detokenize``."""
    import ast

    from codegen_lib.corpora.xlcost_tokens import detokenize

    code = row["code"]
    if row["source"] in ("xlcost", "gfg") and "NEW_LINE" in code:
        code = detokenize(code)
    elif row["source"] == "gfg":
        try:
            code = ast.unparse(ast.parse(code)) + "\n"
        except SyntaxError:
            pass
    if "f_gold" in code:
        code = re.sub(r"\bf_gold\b", snake_name(row["prompt"]), code)
    return code if code != row["code"] else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mix", required=True, help="load_corpus('mix') saved with save_to_disk")
    p.add_argument("--extra", action="append", default=[],
                   help="SOURCE=PATH of another corpus saved with save_to_disk (e.g. doctest)")
    p.add_argument("--out", required=True)
    p.add_argument("--vocab-size", type=int, default=8000)
    args = p.parse_args(argv)

    from datasets import load_from_disk

    from codegen_lib.slots import SLOT_TOKENS, canonicalize
    from codegen_lib.tokenizer import train_tokenizer

    mix = load_from_disk(args.mix)
    rows, seen = [], set()

    def add(r: dict, split: str) -> None:
        key = (r["source"], split, r["prompt"], r["code"])
        if key in seen:
            return
        seen.add(key)
        rows.append({"source": r["source"], "split": split, "prompt": r["prompt"], "code": r["code"],
                     "tests": r.get("tests") or "", "id": r.get("id") or ""})

    for split_name, ds in mix.items():
        if split_name == "validation":
            continue  # the union of the per-source validation splits, which come below
        split = "train" if split_name == "train" else split_name.split("_", 1)[0]
        for r in ds:
            add(r, split)
    for item in args.extra:
        source, _, path = item.partition("=")
        for split_name, ds in load_from_disk(path).items():
            for r in ds:
                add({**r, "source": source}, split_name)
    try:
        from codegen_lib import everyday

        for r in everyday.load_requests():
            rows.append({**r, "source": "everyday", "split": "everyday"})  # every column: job() needs them
    except ImportError:
        print("no everyday suite in this checkout", file=sys.stderr)

    stats = Counter()
    for r in rows:
        stats[f"{r['source']}/{r['split']}"] += 1
        if r["split"] == "everyday":
            continue
        c = canonicalize(r["prompt"], r["code"])
        if not c.ok:
            stats[f"{r['source']}/roundtrip_failed"] += 1
        elif c.prompt != r["prompt"]:  # slots, or a code span's dropped backticks, changed the request
            r["canon"] = [c.prompt, c.code]
            stats[f"{r['source']}/slotted" if c.slots else f"{r['source']}/unbackticked"] += 1
        d = detok(r)
        if d is not None:
            r["code_detok"] = d
            stats[f"{r['source']}/detokenized"] += 1
            cd = canonicalize(r["prompt"], d)
            if cd.ok and cd.prompt != r["prompt"]:
                r["canon_detok"] = [cd.prompt, cd.code]
    texts = []
    for r in rows:
        if r["split"] == "train":
            texts += [r["prompt"], r["code"]]
            for key in ("canon", "canon_detok"):
                if key in r:
                    texts += r[key]
            if "code_detok" in r:
                texts.append(r["code_detok"])
    tok = train_tokenizer(texts, vocab_size=args.vocab_size, added_tokens=SLOT_TOKENS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tok.save(out / "tokenizer")
    with gzip.open(out / "rows.jsonl.gz", "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    meta = {"counts": dict(sorted(stats.items())), "vocab_size": tok.vocab_size}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
