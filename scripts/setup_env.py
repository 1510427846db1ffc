"""The environment set-up behind ``scripts/setup.sh``: decides which pip commands to run, then runs them.

Standard library only (it runs before anything is installed). ``scripts/setup.sh`` calls it with the virtual
environment's python::

    python scripts/setup_env.py             # install what is missing; with nothing changed it does nothing
    python scripts/setup_env.py --dry-run   # print the commands it would run and run none
    python scripts/setup_env.py --force     # run them even when the stamp says nothing changed

What it runs, in order (:func:`plan`):

1. ``pip install --upgrade pip``;
2. torch, **only when no torch is importable**. Colab and GPU machines keep their own build. On Linux
   without an NVIDIA driver (``nvidia-smi``), PyTorch's CPU wheel index is added as an *extra* index: its
   ``torch==X+cpu`` sorts above PyPI's ``torch==X``, so pip takes the CPU build (about 200 MB) instead of
   PyPI's Linux wheel, which pulls the CUDA libraries (several GB). Configured local wheels (``find-links``)
   still count, and ``--timeout``/``--retries`` keep an unreachable index from stalling the install: pip
   skips it and takes the version from the places it can reach. ``--no-deps``: only torch itself is looked
   up there (once), its dependencies come with step 3 from the usual indexes -- otherwise pip would ask the
   unreachable index again for each of them. ``CODEGEN_TORCH_INDEX`` overrides the choice: ``cpu`` (always
   add the CPU index), ``pypi`` (never add it) or an index URL (add that one);
3. ``pip install -e ".[eval,book,lab,dev]"`` (``lab`` is JupyterLab, for ``jupyter lab book/``), which also
   installs torch's own dependencies.

A stamp, ``<venv>/.codegen-setup.json``, records the SHA-256 of ``pyproject.toml``, ``requirements.txt`` and
this file, the checkout's path and the Python version. When it matches, ``codegen_lib`` is installed from
this checkout, torch is importable and the ``codegen`` command exists, nothing is run (the second run of any
README command starts in about a second, as with a lock file).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH_VERSION = "2.13.0"  # the version the book is tested with (README: known-good versions)
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EXTRAS = "eval,book,lab,dev"
STAMP_NAME = ".codegen-setup.json"
HASHED_FILES = ("pyproject.toml", "requirements.txt", "scripts/setup_env.py")
# Per-request timeout (s) and retries for the torch install: an unreachable extra index costs at most
# (1 + retries) * timeout seconds before pip moves on, instead of the 180 s x 5 of a default-configured pip.
PIP_TIMEOUT_S = 15
PIP_RETRIES = 2


def torch_install_command(python: str, *, system: str, has_nvidia: bool, index: str | None = None) -> list[str]:
    """The pip command that installs torch where none is present.

    Args:
        python: the interpreter whose environment receives torch.
        system: ``platform.system()`` (``"Linux"``, ``"Darwin"``, ``"Windows"``).
        has_nvidia: an NVIDIA driver is present (``nvidia-smi`` on the PATH): keep PyPI's CUDA build.
        index: ``CODEGEN_TORCH_INDEX``: None/"" (automatic), ``"cpu"``, ``"pypi"`` or an index URL.
    """
    cmd = [python, "-m", "pip", "install", "-q", "--no-deps", "--timeout", str(PIP_TIMEOUT_S),
           "--retries", str(PIP_RETRIES)]
    if index and index not in ("cpu", "pypi"):
        extra = index
    elif index == "cpu" or (index != "pypi" and system == "Linux" and not has_nvidia):
        extra = TORCH_CPU_INDEX  # PyPI's Linux wheels depend on the CUDA libraries; macOS/Windows ones do not
    else:
        extra = None
    if extra:
        cmd += ["--extra-index-url", extra]
    return cmd + [f"torch=={TORCH_VERSION}"]


def plan(python: str, root: Path = ROOT, *, has_torch: bool, system: str, has_nvidia: bool,
         up_to_date: bool, index: str | None = None) -> list[list[str]]:
    """The commands to run, in order (none when the stamp says the environment is up to date)."""
    if up_to_date:
        return []
    cmds = [[python, "-m", "pip", "install", "-q", "--upgrade", "pip"]]
    if not has_torch:
        cmds.append(torch_install_command(python, system=system, has_nvidia=has_nvidia, index=index))
    cmds.append([python, "-m", "pip", "install", "-q", "-e", f"{root}[{EXTRAS}]"])
    return cmds


def stamp(root: Path = ROOT) -> dict:
    """What the installed environment was built from; a change to any of it means run pip again."""
    files = {}
    for rel in HASHED_FILES:
        path = root / rel
        files[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    return {"files": files, "root": str(root), "python": sys.version.split()[0]}


def stamp_path(prefix: str | os.PathLike = sys.prefix) -> Path:
    return Path(prefix) / STAMP_NAME


def installed_from(root: Path) -> bool:
    """``codegen_lib`` resolves to this checkout (an editable install) and the ``codegen`` command exists."""
    spec = importlib.util.find_spec("codegen_lib")
    if spec is None or spec.origin is None:
        return False
    if Path(spec.origin).resolve().parent != (root / "codegen_lib").resolve():
        return False
    scripts = Path(sys.executable).parent
    return any((scripts / name).exists() for name in ("codegen", "codegen.exe"))


def up_to_date(root: Path = ROOT, prefix: str | os.PathLike = sys.prefix) -> bool:
    path = stamp_path(prefix)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return saved == stamp(root) and importlib.util.find_spec("torch") is not None and installed_from(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--force", action="store_true", help="run them even if the stamp matches")
    args = parser.parse_args(argv)
    if sys.version_info < (3, 10):  # noqa: UP036 (an active older environment runs this file too)
        print(f"[setup] codegen-book needs Python >= 3.10; this is {platform.python_version()}", file=sys.stderr)
        return 1
    current = not args.force and up_to_date()
    has_torch = importlib.util.find_spec("torch") is not None
    cmds = plan(sys.executable, ROOT, has_torch=has_torch, system=platform.system(),
                has_nvidia=shutil.which("nvidia-smi") is not None, up_to_date=current,
                index=os.environ.get("CODEGEN_TORCH_INDEX") or None)
    if not cmds:
        print(f"[setup] up to date ({stamp_path()} matches pyproject.toml and requirements.txt)")
        return 0
    for cmd in cmds:
        if args.dry_run:
            print(shlex.join(cmd))
            continue
        what = "torch" if any(c.startswith("torch==") for c in cmd) else \
            "pip" if "--upgrade" in cmd else f"codegen_lib[{EXTRAS}]"
        print(f"[setup] installing {what}" + (" (CPU build)" if TORCH_CPU_INDEX in cmd else ""), flush=True)
        done = subprocess.run(cmd)
        if done.returncode != 0:
            print(f"[setup] failed ({done.returncode}): {shlex.join(cmd)}", file=sys.stderr)
            return done.returncode
    if not args.dry_run:
        stamp_path().write_text(json.dumps(stamp(), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
