"""The sandbox contains hostile programs and leaves the host untouched (chapter 09)."""

import os
import socket
import subprocess
import time

import pytest

from codegen_lib.sandbox import (
    SandboxConfig,
    SandboxResult,
    _classify,
    available_protections,
    run_many,
    run_program,
)

PROTECTIONS = available_protections()
needs_uid_drop = pytest.mark.skipif(
    "uid-65534" not in PROTECTIONS,
    reason="file protection needs root (to drop to uid 65534); as a normal user the child is that user",
)


def _leftover_sandbox_processes() -> list[int]:
    """Pids still running a sandbox harness whose temp dir is gone (i.e. from a finished run)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().decode(errors="replace").split("\0")
            except OSError:
                continue
            harness = [a for a in argv if a.startswith("/") and a.endswith("/harness.py") and "codegen-sandbox-" in a]
            if harness and not os.path.exists(os.path.dirname(harness[0])):
                pids.append(int(entry))
    return pids


# --------------------------------------------------------------------------------------------------------------
# normal outcomes
# --------------------------------------------------------------------------------------------------------------
def test_pass_fail_error_statuses():
    ok = run_program("def f(x):\n    return x + 1\nprint('ran')", "assert f(1) == 2")
    assert ok.status == "pass" and ok.passed and ok.stdout == "ran\n" and ok.returncode == 0
    wrong = run_program("def f(x):\n    return x", "assert f(1) == 2, 'off by one'")
    assert wrong.status == "fail" and "AssertionError: off by one" in wrong.stderr
    raises_in_test = run_program("def f(x):\n    return 1 / x", "f(0)")
    assert raises_in_test.status == "fail" and "ZeroDivisionError" in raises_in_test.stderr
    syntax = run_program("def f(x) return x", "assert f(1) == 1")
    assert syntax.status == "error" and "SyntaxError" in syntax.stderr
    top_level = run_program("import no_such_module_xyz", "")
    assert top_level.status == "error" and "ModuleNotFoundError" in top_level.stderr
    bad_tests = run_program("x = 1", "assert x ==")
    assert bad_tests.status == "error"
    exits_early = run_program("import sys\ndef f():\n    return 1\nsys.exit(0)", "assert f() == 2")
    assert exits_early.status == "fail"  # sys.exit(0) cannot skip the tests
    assert run_program("import sys\nsys.exit(3)").status == "error"
    assert run_program("import math, json\nprint(math.floor(json.loads('2.5')))").stdout == "2\n"


def test_classify_rules():
    assert _classify(0, False, ["compile", "program", "tests", "pass"]) == "pass"
    assert _classify(0, False, ["compile", "program"]) == "error"  # os._exit(0) inside the program
    assert _classify(-9, False, ["compile", "program", "tests"]) == "fail"  # killed while tests ran
    assert _classify(-9, True, ["compile", "program", "tests"]) == "timeout"
    assert _classify(124, False, ["compile", "program"]) == "timeout"  # CPU limit


def test_bad_arguments():
    with pytest.raises(TypeError):
        run_program(b"print(1)")
    with pytest.raises(ValueError, match="timeout"):
        SandboxConfig(timeout=0)
    with pytest.raises(ValueError, match="job 0"):
        run_many([("only code",)])


# --------------------------------------------------------------------------------------------------------------
# hostile programs
# --------------------------------------------------------------------------------------------------------------
def test_infinite_loop_times_out():
    start = time.monotonic()
    res = run_program("while True:\n    pass", timeout=1.0)
    assert res.status == "timeout"
    assert time.monotonic() - start < 5


def test_cpu_limit_counts_as_timeout():
    res = run_program("while True:\n    pass", config=SandboxConfig(timeout=10, cpu_seconds=1))
    assert res.status == "timeout" and res.duration < 5


def test_fork_bomb_is_contained():
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    res = run_program(code, timeout=2.0)
    assert res.status in ("timeout", "error")
    # the host can still start processes, and nothing the bomb spawned is left running
    assert subprocess.run(["true"]).returncode == 0
    deadline = time.monotonic() + 3.0  # the kernel tears the PID namespace down asynchronously
    while _leftover_sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _leftover_sandbox_processes() == []


def test_memory_bomb_is_contained():
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(10 * 1024 * 1024))"
    res = run_program(code, config=SandboxConfig(timeout=10, memory_mb=256))
    assert res.status == "error" and "MemoryError" in res.stderr
    assert res.duration < 8


@needs_uid_drop
def test_files_outside_the_workdir_are_untouched(tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("original")
    before = sorted(p.name for p in tmp_path.iterdir())
    code = f"""
import os
attempts = {{}}
for name, action in [
    ("write", lambda: open({str(canary)!r}, "w").write("pwned")),
    ("append", lambda: open({str(canary)!r}, "a").write("pwned")),
    ("delete", lambda: os.remove({str(canary)!r})),
    ("rename", lambda: os.rename({str(canary)!r}, {str(canary)!r} + ".moved")),
    ("create", lambda: open({str(tmp_path / "new.txt")!r}, "w").write("x")),
    ("chmod", lambda: os.chmod({str(canary)!r}, 0o777)),
]:
    try:
        action()
        attempts[name] = "done"
    except OSError as err:
        attempts[name] = type(err).__name__
open("inside.txt", "w").write("allowed")   # the temp workdir is writable
print(attempts)
"""
    res = run_program(code)
    assert res.status == "pass", res.stderr
    assert "done" not in res.stdout and "PermissionError" in res.stdout
    assert canary.read_text() == "original"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_environment_is_not_inherited(monkeypatch):
    monkeypatch.setenv("CODEGEN_SECRET_TOKEN", "hunter2")
    res = run_program("import os\nprint(os.environ.get('CODEGEN_SECRET_TOKEN'))\nprint(sorted(os.environ))")
    assert res.status == "pass"
    assert "hunter2" not in res.stdout and res.stdout.startswith("None\n")
    assert "CODEGEN_SECRET_TOKEN" not in res.stdout


@pytest.mark.skipif("network-namespace" not in PROTECTIONS, reason="no network namespace on this host")
def test_socket_cannot_reach_the_host():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        code = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    print("connected")
except OSError as err:
    print("blocked", type(err).__name__)
"""
        res = run_program(code, timeout=5)
        assert res.status == "pass" and res.stdout.startswith("blocked"), res.stdout
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected
    finally:
        server.close()


@pytest.mark.skipif(
    "pid-namespace" not in PROTECTIONS and "uid-65534" not in PROTECTIONS,
    reason="as a normal user without namespaces the child could signal its parent",
)
def test_cannot_kill_the_parent():
    pid, pgid = os.getpid(), os.getpgid(0)
    code = f"""
import os, signal
for name, action in [("kill", lambda: os.kill({pid}, signal.SIGKILL)),
                     ("killpg", lambda: os.killpg({pgid}, signal.SIGKILL)),
                     ("ppid", lambda: os.kill(os.getppid(), signal.SIGKILL))]:
    try:
        action()
        print(name, "sent")
    except OSError as err:
        print(name, type(err).__name__)
"""
    res = run_program(code, timeout=5)
    assert "kill sent" not in res.stdout and "killpg sent" not in res.stdout
    os.kill(pid, 0)  # still alive (we are running this line)
    assert res.status in ("pass", "error")


def test_huge_output_is_truncated():
    cfg = SandboxConfig(timeout=10, max_output_bytes=4096, file_size_mb=2)
    res = run_program("while True:\n    print('x' * 100_000)", config=cfg)
    assert res.stdout_truncated and len(res.stdout) == 4096
    assert res.status == "error" and "File too large" in res.stderr
    assert res.duration < 8


# --------------------------------------------------------------------------------------------------------------
# parallel runs
# --------------------------------------------------------------------------------------------------------------
def test_run_many_is_parallel_and_ordered():
    jobs = [(f"import time\ntime.sleep(1.0)\nprint({i})", f"assert {i} % 3 != 2") for i in range(6)]
    start = time.monotonic()
    results = run_many(jobs, workers=6)
    elapsed = time.monotonic() - start
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(6)]
    assert [r.status for r in results] == ["pass", "pass", "fail", "pass", "pass", "fail"]
    assert all(isinstance(r, SandboxResult) for r in results)
    assert elapsed < 4.5  # six one-second sleeps in sequence would take >= 6 s


def test_protections_reported():
    res = run_program("pass")
    assert res.protections == PROTECTIONS
    assert {"rlimits", "empty-env", "temp-workdir", "process-group", "output-cap"} <= set(res.protections)
    if os.geteuid() == 0:
        assert "uid-65534" in res.protections

