"""Tests for the set-up (scripts/setup.sh -> scripts/setup_env.py) and the packaging metadata it installs."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("setup_env", REPO / "scripts" / "setup_env.py")
setup_env = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(setup_env)
PY = "/venv/bin/python"


# ---- the torch command: CPU index on bare Linux, nothing extra elsewhere

def test_bare_linux_gets_the_cpu_index_with_short_timeouts():
    cmd = setup_env.torch_install_command(PY, system="Linux", has_nvidia=False)
    assert cmd[:4] == [PY, "-m", "pip", "install"] and cmd[-1] == f"torch=={setup_env.TORCH_VERSION}"
    assert cmd[cmd.index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert "--index-url" not in cmd  # an *extra* index: local wheels and PyPI still count
    assert "--no-deps" in cmd  # the extra index is asked about torch only (its dependencies come with step 3)
    assert int(cmd[cmd.index("--timeout") + 1]) <= 30 and int(cmd[cmd.index("--retries") + 1]) <= 3


@pytest.mark.parametrize(("system", "nvidia"), [("Linux", True), ("Darwin", False), ("Windows", False)])
def test_gpu_linux_macos_and_windows_keep_pypi(system, nvidia):
    cmd = setup_env.torch_install_command(PY, system=system, has_nvidia=nvidia)
    assert "--extra-index-url" not in cmd and cmd[-1].startswith("torch==")


def test_the_index_can_be_chosen():
    def extra(index, system="Linux", nvidia=False):
        cmd = setup_env.torch_install_command(PY, system=system, has_nvidia=nvidia, index=index)
        return cmd[cmd.index("--extra-index-url") + 1] if "--extra-index-url" in cmd else None

    assert extra("pypi") is None
    assert extra("cpu", "Darwin") == extra("cpu", "Linux", True) == setup_env.TORCH_CPU_INDEX
    assert extra("https://download.pytorch.org/whl/cu126", nvidia=True) == "https://download.pytorch.org/whl/cu126"


def test_plan_installs_torch_only_when_missing_and_nothing_when_up_to_date(tmp_path):
    common = dict(system="Linux", has_nvidia=False)
    assert setup_env.plan(PY, tmp_path, has_torch=False, up_to_date=True, **common) == []
    kept = setup_env.plan(PY, tmp_path, has_torch=True, up_to_date=False, **common)  # Colab, a GPU box
    assert not any(c[-1].startswith("torch") for c in kept)
    fresh = setup_env.plan(PY, tmp_path, has_torch=False, up_to_date=False, **common)
    assert [c[-1] for c in fresh] == ["pip", f"torch=={setup_env.TORCH_VERSION}", f"{tmp_path}[eval,book,lab,dev]"]
    assert fresh[-1][-2] == "-e"


def test_the_stamp_follows_pyproject_and_requirements(tmp_path):
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup_env.py", tmp_path / "scripts" / "setup_env.py")
    before = setup_env.stamp(tmp_path)
    assert setup_env.stamp(tmp_path) == before and all(before["files"].values())
    for name in ("pyproject.toml", "requirements.txt"):
        with open(tmp_path / name, "a") as f:
            f.write("\n# changed\n")
        after = setup_env.stamp(tmp_path)
        assert after["files"][name] != before["files"][name]
        before = after
    # a stamp written for another checkout or files never matches here
    (tmp_path / setup_env.STAMP_NAME).write_text(json.dumps(before))
    assert not setup_env.up_to_date(REPO, prefix=tmp_path)


def _env_of_this_interpreter() -> dict:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "VIRTUAL_ENV": sys.prefix, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def test_a_second_set_up_does_not_reinstall():
    """scripts/test.sh ran the set-up before this test: running it again changes nothing and runs no pip."""
    stamp = setup_env.stamp_path(sys.prefix)
    if not os.environ.get("CI"):  # in CI (.ci/run), scripts/test.sh has just run the set-up: never skip there
        if not stamp.is_file():
            pytest.skip(f"this environment ({sys.prefix}) was not created by scripts/setup.sh (no stamp)")
        if json.loads(stamp.read_text()) != setup_env.stamp(REPO):
            pytest.skip("pyproject.toml, requirements.txt or setup_env.py changed since the last set-up: "
                        "run `bash scripts/setup.sh` (this test checks the run after that)")
    start = time.perf_counter()
    done = subprocess.run(["bash", str(REPO / "scripts" / "setup.sh"), "--dry-run"], capture_output=True, text=True,
                          timeout=120, env=_env_of_this_interpreter())
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout and "pip install" not in done.stdout, done.stdout
    assert time.perf_counter() - start < 60


def test_dry_run_prints_the_commands_without_running_them(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "setup_env.py"), "--dry-run", "--force"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].endswith("-m pip install -q --upgrade pip") and "[eval,book,lab,dev]" in lines[-1]
    assert "torch==" not in done.stdout  # this environment has torch: it is kept


# ---- the command really resolves, offline, without stalling on an unreachable index

def _resolve(cmd: list[str], tmp_path: Path, timeout: float = 240) -> tuple[subprocess.CompletedProcess, float]:
    report = tmp_path / "report.json"
    assert "--no-deps" in cmd  # so this resolves exactly what set-up would fetch
    full = [*cmd[:4], "--dry-run", "--ignore-installed", "--report", str(report), *cmd[4:]]
    start = time.perf_counter()
    done = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
    return done, time.perf_counter() - start


def _resolved(tmp_path: Path) -> dict:
    (item,) = json.loads((tmp_path / "report.json").read_text())["install"]
    return {"version": item["metadata"]["version"], "url": item["download_info"]["url"]}


@pytest.mark.slow
def test_an_index_that_never_answers_costs_seconds_not_minutes(tmp_path, monkeypatch):
    """A server that accepts connections and never replies (a black-holed index): pip gives up on it after
    --timeout x (1 + --retries) and resolves torch from what it can reach (here: the local wheel)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_hold():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_hold, daemon=True)
    thread.start()
    monkeypatch.setattr(setup_env, "PIP_TIMEOUT_S", 2)
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/simple"
        cmd = setup_env.torch_install_command(sys.executable, system="Linux", has_nvidia=False, index=url)
        assert cmd[cmd.index("--timeout") + 1] == "2"
        done, seconds = _resolve(cmd, tmp_path, timeout=180)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()
    if done.returncode != 0 and "No matching distribution" in done.stderr:
        pytest.skip("no torch wheel reachable here without that index (no local wheel, no PyPI)")
    assert done.returncode == 0, done.stderr[-2000:]
    assert held, "pip never contacted the black-holed index"
    assert _resolved(tmp_path)["version"].startswith(setup_env.TORCH_VERSION)
    assert seconds < 90, f"pip took {seconds:.0f} s with an index that never answers"


@pytest.mark.slow
def test_the_bare_linux_command_resolves_torch(tmp_path):
    """The real command (CPU index): here it resolves the local CPU wheel; with the index reachable, its +cpu."""
    cmd = setup_env.torch_install_command(sys.executable, system="Linux", has_nvidia=False)
    done, seconds = _resolve(cmd, tmp_path)
    if done.returncode != 0 and "No matching distribution" in done.stderr:
        pytest.skip("neither the CPU index, PyPI nor a local wheel is reachable here")
    assert done.returncode == 0, done.stderr[-2000:]
    got = _resolved(tmp_path)
    assert got["version"].startswith(setup_env.TORCH_VERSION)
    if "download.pytorch.org" in got["url"] or got["url"].startswith("file:"):
        assert got["version"].endswith("+cpu") or "cpu" in got["url"], got
    assert seconds < 120


# ---- packaging metadata

def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_license_is_an_spdx_string_and_setuptools_raises_no_deprecation():
    meta = _pyproject()
    assert meta["project"]["license"] == "MIT"
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
               for r in meta["build-system"]["requires"])  # SPDX strings need setuptools 77
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_configuration(Distribution(), str(REPO / "pyproject.toml"))
    assert not [w for w in caught if "license" in str(w.message).lower()], [str(w.message) for w in caught]


def test_console_script_and_extras():
    meta = _pyproject()
    assert meta["project"]["scripts"]["codegen"] == "codegen_lib.cli:main"
    extras = meta["project"]["optional-dependencies"]
    assert any(r.startswith("jupyterlab") for r in extras["lab"])  # `jupyter lab book/` works after set-up
    assert (Path(sys.executable).parent / "codegen").exists() or not setup_env.stamp_path(sys.prefix).is_file()


def test_requirements_txt_lists_the_runtime_book_eval_and_lab_dependencies():
    meta = _pyproject()
    extras = meta["project"]["optional-dependencies"]
    expected = [*meta["project"]["dependencies"], *extras["eval"], *extras["book"], *extras["lab"]]
    lines = [ln.split("#")[0].strip() for ln in (REPO / "requirements.txt").read_text().splitlines()]
    assert [ln for ln in lines if ln] == expected


# ---- the Pages workflow

NODE24_MAJORS = {"actions/checkout": 5, "actions/setup-python": 6, "actions/upload-pages-artifact": 5,
                 "actions/deploy-pages": 5}  # the first major of each that runs on Node 24


def test_pages_workflow_uses_node24_actions_with_citations_and_never_cancels_a_deployment():
    yaml = pytest.importorskip("yaml")
    path = REPO / ".github" / "workflows" / "book.yml"
    text = path.read_text(encoding="utf-8")
    flow = yaml.safe_load(text)
    uses = [step["uses"] for job in flow["jobs"].values() for step in job["steps"] if "uses" in step]
    assert {u.split("@")[0] for u in uses} == set(NODE24_MAJORS)
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    for action in uses:
        name, version = action.split("@")
        major = int(version.lstrip("v").split(".")[0])
        assert major >= NODE24_MAJORS[name], action
        assert f"{name} v{major}" in comments and f"https://github.com/{name}/releases/tag/" in comments, action
    assert flow["concurrency"]["cancel-in-progress"] is False
    assert "bash scripts/build_book.sh" in [step.get("run") for step in flow["jobs"]["build"]["steps"]]
