"""The README's command-line quick-start, run as written: every command of its bash blocks succeeds, and the
output blocks that follow a command are what it prints (with the shipped model)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from codegen_lib.pretrained import SHIPPED_MODEL, artifacts_dir

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Quick start: the command line"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)


def quickstart_blocks() -> list[tuple[str, str]]:
    """``(language, text)`` of each fenced block in the quick-start section, in order, up to "More commands"."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"the README has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    section = section.split("More commands", 1)[0]  # those need a GPU, the hub or more time
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(section)]


def commands(block: str) -> list[list[str]]:
    """The commands of a bash block: continuation lines joined, comments dropped, split like bash would."""
    joined = block.replace("\\\n", " ")
    return [argv for line in joined.splitlines() if (argv := shlex.split(line, comments=True))]


def program(argv0: str) -> list[str]:
    """``.venv/bin/codegen`` -> this environment's ``codegen`` script (what set-up installs), else ``-m``."""
    assert argv0 == ".venv/bin/codegen", f"quick-start commands should call .venv/bin/codegen, not {argv0}"
    script = Path(sys.executable).parent / "codegen"
    return [str(script)] if script.exists() else [sys.executable, "-m", "codegen_lib"]


def shell_substitutions(line: str) -> list[str]:
    """Backticks and ``$(`` that bash would expand: anywhere outside single quotes (double quotes do not stop
    them). ``"Write `f(x)`"`` runs ``f(x)`` as a command; ``'Write `f(x)`'`` is literal text."""
    found, quote, i = [], None, 0
    while i < len(line):
        ch = line[i]
        if quote != "'" and ch == "\\":
            i += 2
            continue
        if ch in "'\"" and quote in (None, ch):
            quote = None if quote else ch
        elif quote != "'" and (ch == "`" or line.startswith("$(", i)):
            found.append(line[i:i + 12])
        i += 1
    return found


def test_the_quickstart_parses():
    blocks = quickstart_blocks()
    bash = [(text, commands(text)) for lang, text in blocks if lang == "bash"]
    assert len(bash) >= 3 and all(argvs for _, argvs in bash)
    for text, argvs in bash:
        assert all(argv[0] == ".venv/bin/codegen" for argv in argvs)
        for line in text.splitlines():
            assert not shell_substitutions(line), f"bash would run a command substitution in: {line}"
    assert any(lang == "text" for lang, _ in blocks), "the quick-start shows no expected output"
    assert shell_substitutions('x "a `b` c"') and shell_substitutions("x $(y)") and not shell_substitutions(
        "x 'a `b` $(c)'")  # the checker itself


@pytest.mark.slow
def test_the_quickstart_runs_as_written(tmp_path):
    """Each command runs from a scratch directory (its runs/ land there) with the shipped model."""
    if not (artifacts_dir() / SHIPPED_MODEL / "config.json").is_file():
        pytest.skip(f"no shipped model in {artifacts_dir() / SHIPPED_MODEL}")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    blocks = quickstart_blocks()
    last_stdout = None
    ran = 0
    for lang, text in blocks:
        if lang == "bash":
            for argv in commands(text):
                done = subprocess.run([*program(argv[0]), *argv[1:]], cwd=tmp_path, env=env, capture_output=True,
                                      text=True, timeout=600)
                assert done.returncode == 0, f"{shlex.join(argv)} failed:\n{done.stderr[-3000:]}"
                assert "Traceback" not in done.stderr, done.stderr[-3000:]
                last_stdout, ran = done.stdout, ran + 1
        elif lang == "text":
            assert last_stdout is not None, "an output block before any command"
            expected = [ln.strip() for ln in text.splitlines() if ln.strip()]
            got = iter(ln.strip() for ln in last_stdout.splitlines())
            missing = [ln for ln in expected if not any(ln == g for g in got)]  # in order
            assert not missing, (
                f"the README shows output that the command no longer prints (the shipped model is "
                f"{SHIPPED_MODEL!r}; update the README's quick-start outputs): missing {missing}\n"
                f"got:\n{last_stdout}")
    assert ran >= 4
    assert (tmp_path / "runs" / "tiny" / "best" / "model.safetensors").is_file()  # the smoke-test training ran
