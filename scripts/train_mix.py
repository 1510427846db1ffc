"""Train on the ``mix`` corpus: ``codegen train --recipe mix`` (codegen_lib.recipe), kept for old commands."""
import sys
from pathlib import Path

from codegen_lib.cli import main as codegen

CACHE = Path(__file__).resolve().parents[1] / "runs" / "data"  # a later --cache wins


def main(argv=None) -> int:
    """``scripts/train_mix.py ARGS`` is ``codegen train --recipe mix ARGS``."""
    return codegen(["train", "--recipe", "mix", "--cache", str(CACHE), *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
