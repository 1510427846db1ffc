"""The sandbox contains hostile programs and leaves the host untouched (chapter 09).

The hostile suite runs under both engines: ``bwrap`` (skipped with the reason where bubblewrap is missing or
refused, except in CI, where that is a failure) and ``fallback`` (bubblewrap forced off). The cases that only a
filesystem namespace stops are expected failures under the fallback (strict xfail), so the difference between
the engines stays visible in every test report.
"""

import importlib.util
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import pytest

from codegen_lib import sandbox
from codegen_lib.sandbox import (
    SandboxConfig,
    SandboxFallbackWarning,
    SandboxResult,
    SandboxUnavailableError,
    _classify,
    available_protections,
    bwrap_status,
    run_many,
    run_program,
)

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
FALLBACK = available_protections(SandboxConfig(engine="fallback"))
ENGINES = ["bwrap", "fallback"]


@pytest.fixture(params=ENGINES)
def engine(request, monkeypatch):
    """Run the test under one engine (via $CODEGEN_SANDBOX, so code paths without a config are covered too)."""
    if request.param == "bwrap":
        ok, why = bwrap_status()
        if not ok:
            if IN_CI:
                pytest.fail(f"CI must run the sandbox under bubblewrap, but: {why}")
            pytest.skip(f"bubblewrap unavailable here ({why}); install the Debian package `bubblewrap`")
    monkeypatch.setenv("CODEGEN_SANDBOX", request.param)
    return request.param


def _fallback_xfail(condition: bool, reason: str):
    """The engine parameters, with the fallback one a strict expected failure when ``condition`` holds."""
    marks = pytest.mark.xfail(condition, reason=f"fallback sandbox: {reason}", strict=True)
    return pytest.mark.parametrize("engine", ["bwrap", pytest.param("fallback", marks=marks)], indirect=True)


def _readable_by_fallback_child(path: Path) -> bool:
    """Whether the fallback's child could read ``path``: as uid 65534 it needs the 'other' permission bits."""
    if "uid-65534" not in FALLBACK:
        return os.access(path, os.R_OK)  # no uid drop: the child is this user
    return bool(path.stat().st_mode & stat.S_IROTH) and all(p.stat().st_mode & stat.S_IXOTH for p in path.parents)


def _run_roots(argv: list[str]) -> list[str]:
    """The job directories (``.../codegen-sandbox-XXXX``) a sandbox process's command line names."""
    roots = []
    for arg in argv:
        parts = arg.split("/")
        for i, part in enumerate(parts):
            if part.startswith("codegen-sandbox-") and arg.startswith("/"):
                roots.append("/".join(parts[: i + 1]))
                break
    return roots


def _cmdlines() -> dict[int, list[str]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    out[int(entry)] = f.read().decode(errors="replace").split("\0")
            except OSError:
                continue
    return out


def _leftover_sandbox_processes() -> list[int]:
    """Pids still running a sandbox harness whose job dir is gone (i.e. from a finished run)."""
    return [
        pid for pid, argv in _cmdlines().items()
        if (roots := _run_roots(argv)) and "codegen-sandbox-probe-" not in roots[0] and not os.path.exists(roots[0])
    ]


def _processes_with(token: str) -> list[int]:
    return [pid for pid, argv in _cmdlines().items() if token in argv and pid != os.getpid()]


def _wait_gone(token: str, seconds: float = 3.0) -> list[int]:
    """Pids of processes whose argv holds ``token`` that are still alive after ``seconds`` (then killed)."""
    deadline = time.monotonic() + seconds  # the kernel tears a PID namespace down asynchronously
    while (alive := _processes_with(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:  # started by this test: do not leave them behind, whatever the verdict
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return alive


# --------------------------------------------------------------------------------------------------------------
# normal outcomes
# --------------------------------------------------------------------------------------------------------------
def test_pass_fail_error_statuses(engine):
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
def test_infinite_loop_times_out(engine):
    start = time.monotonic()
    res = run_program("while True:\n    pass", timeout=1.0)
    assert res.status == "timeout"
    assert time.monotonic() - start < 5


def test_cpu_limit_counts_as_timeout(engine):
    res = run_program("while True:\n    pass", config=SandboxConfig(timeout=10, cpu_seconds=1))
    assert res.status == "timeout" and res.duration < 5
    # a program that ignores SIGXCPU is killed by the hard limit a second later; its CPU time must still reach
    # the parent (under bwrap, only when bwrap reaps the harness itself: --as-pid-1)
    code = "import signal\nsignal.signal(signal.SIGXCPU, lambda *a: None)\nwhile True:\n    pass"
    res = run_program(code, config=SandboxConfig(timeout=10, cpu_seconds=1))
    assert res.status == "timeout" and res.duration < 5, (res.returncode, res.stderr)


def test_fork_bomb_is_contained(engine):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    res = run_program(code, timeout=2.0)
    assert res.status in ("timeout", "error")
    # the host can still start processes, and nothing the bomb spawned is left running
    assert subprocess.run(["true"]).returncode == 0
    deadline = time.monotonic() + 3.0  # the kernel tears the PID namespace down asynchronously
    while _leftover_sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _leftover_sandbox_processes() == []


def test_sleeping_past_the_timeout_in_its_own_session_leaves_nothing(engine):
    """The kill must reach the harness even outside our process group (and after the uid drop cleared its
    parent-death signal): a sleeping program would otherwise outlive its run, CPU limit or not."""
    code = "import os, time\ntry:\n    os.setsid()\nexcept OSError:\n    pass  # under bwrap: already a session leader\ntime.sleep(30)"
    res = run_program(code, timeout=1.0)
    assert res.status == "timeout"
    deadline = time.monotonic() + 3.0
    while _leftover_sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _leftover_sandbox_processes() == []


def test_memory_bomb_is_contained(engine):
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(10 * 1024 * 1024))"
    res = run_program(code, config=SandboxConfig(timeout=10, memory_mb=256))
    assert res.status == "error" and "MemoryError" in res.stderr
    assert res.duration < 8


@_fallback_xfail("uid-65534" not in FALLBACK, "without root there is no uid drop: the child is this user")
def test_files_outside_the_workdir_are_untouched(engine, tmp_path):
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
    # fallback (uid 65534): PermissionError; bwrap: the directory does not exist in the child's root at all
    assert "done" not in res.stdout
    assert ("PermissionError" if engine == "fallback" else "FileNotFoundError") in res.stdout
    assert canary.read_text() == "original"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_environment_is_not_inherited(engine, monkeypatch):
    monkeypatch.setenv("CODEGEN_SECRET_TOKEN", "hunter2")
    res = run_program("import os\nprint(os.environ.get('CODEGEN_SECRET_TOKEN'))\nprint(sorted(os.environ))")
    assert res.status == "pass"
    assert "hunter2" not in res.stdout and res.stdout.startswith("None\n")
    assert "CODEGEN_SECRET_TOKEN" not in res.stdout


def test_socket_cannot_reach_the_host(engine):
    if "network-namespace" not in available_protections():
        pytest.skip("no network namespace on this host")
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


def test_cannot_kill_the_parent(engine):
    if not {"pid-namespace", "uid-65534"} & set(available_protections()):
        pytest.skip("as a normal user without namespaces the child could signal its parent (this test process)")
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


def test_huge_output_is_truncated(engine):
    cfg = SandboxConfig(timeout=10, max_output_bytes=4096, file_size_mb=2)
    res = run_program("while True:\n    print('x' * 100_000)", config=cfg)
    assert res.stdout_truncated and len(res.stdout) == 4096
    assert res.status == "error" and "File too large" in res.stderr
    assert res.duration < 8


# --------------------------------------------------------------------------------------------------------------
# parallel runs
# --------------------------------------------------------------------------------------------------------------
def test_run_many_is_parallel_and_ordered(engine):
    jobs = [(f"import time\ntime.sleep(1.0)\nprint({i})", f"assert {i} % 3 != 2") for i in range(6)]
    start = time.monotonic()
    results = run_many(jobs, workers=6)
    elapsed = time.monotonic() - start
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(6)]
    assert [r.status for r in results] == ["pass", "pass", "fail", "pass", "pass", "fail"]
    assert all(isinstance(r, SandboxResult) for r in results)
    assert elapsed < 4.5  # six one-second sleeps in sequence would take >= 6 s


def test_protections_reported(engine):
    res = run_program("pass")
    assert res.protections == available_protections()
    assert res.protections[0] == f"engine:{engine}"
    assert {"rlimits", "empty-env", "temp-workdir", "process-group", "output-cap"} <= set(res.protections)
    if os.geteuid() == 0:
        assert "uid-65534" in res.protections
    if engine == "bwrap":
        assert {"mount-namespace", "private-tmp", "pid-namespace", "network-namespace"} <= set(res.protections)
    explicit = run_program("pass", config=SandboxConfig(engine="fallback"))  # the config beats the variable
    assert explicit.protections[0] == "engine:fallback"


# --------------------------------------------------------------------------------------------------------------
# what only a filesystem namespace stops (bwrap); strict expected failures under the fallback
# --------------------------------------------------------------------------------------------------------------
_READ_ATTEMPT = """
try:
    with open({path!r}, encoding="utf-8", errors="replace") as f:
        print("read", len(f.read()))
except OSError as err:
    print("blocked", type(err).__name__)
"""


@_fallback_xfail(_readable_by_fallback_child(REPO / "README.md"),
                 "no filesystem namespace: the child reads any world-readable file, the repository included")
def test_cannot_read_a_repository_file(engine):
    res = run_program(_READ_ATTEMPT.format(path=str(REPO / "README.md")), timeout=10)
    assert res.status == "pass", res.stderr
    assert res.stdout.startswith("blocked"), res.stdout


@pytest.fixture
def home_file():
    """A small secret file in the caller's home directory (removed afterwards)."""
    home = Path.home()
    path = home / f".codegen-sandbox-canary-{uuid.uuid4().hex}"
    try:
        path.write_text("secret in the home directory")
    except OSError as err:
        pytest.skip(f"cannot write a canary into {home}: {err}")
    path.chmod(0o644)
    yield path
    path.unlink(missing_ok=True)


def _home_readable_by_fallback() -> bool:
    """Whether the fallback's child could read a 0644 file in the home directory (uid 65534: 'other' bits)."""
    home = Path.home()
    if "uid-65534" not in FALLBACK:
        return True  # no uid drop: the child is this user
    return all(p.stat().st_mode & stat.S_IXOTH for p in [home, *home.parents])


@_fallback_xfail(_home_readable_by_fallback(),
                 "no filesystem namespace: the child reads world-readable files in a traversable home directory")
def test_cannot_read_a_file_in_the_home_directory(engine, home_file):
    res = run_program(_READ_ATTEMPT.format(path=str(home_file)), timeout=10)
    assert res.status == "pass", res.stderr
    assert res.stdout.startswith("blocked"), res.stdout
    assert home_file.read_text() == "secret in the home directory"


@_fallback_xfail(True, "no filesystem namespace: the host's /tmp is world-writable, and files there outlive the run")
def test_files_written_to_tmp_do_not_reach_the_host(engine):
    name = f"/tmp/codegen-sandbox-escape-{uuid.uuid4().hex}"
    code = f"with open({name!r}, 'w') as f:\n    f.write('left behind')\nprint(open({name!r}).read())"
    try:
        res = run_program(code, timeout=10)
        assert res.status == "pass" and res.stdout == "left behind\n", res.stderr  # the child's /tmp works...
        assert not os.path.exists(name)  # ...and is its own
    finally:
        if os.path.exists(name):
            os.remove(name)


@_fallback_xfail("pid-namespace" not in FALLBACK,
                 "without a PID namespace (unshare refused) a setsid() child escapes the process-group kill")
def test_setsid_child_does_not_outlive_the_run(engine):
    token = f"codegen-sandbox-orphan-{uuid.uuid4().hex}"
    code = f"""
import os, sys
if os.fork() == 0:
    os.setsid()   # a new session and process group: out of reach of the group kill
    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(30)", {token!r}])
print("parent done")
"""
    res = run_program(code, timeout=10)
    assert res.status == "pass" and res.stdout == "parent done\n", res.stderr
    assert _wait_gone(token) == []


@_fallback_xfail("uid-65534" not in FALLBACK, "without root there is no uid drop: the child can write your files")
def test_cannot_write_to_the_repository(engine):
    canary = REPO / f".codegen-sandbox-canary-{uuid.uuid4().hex}"
    created = REPO / f".codegen-sandbox-created-{uuid.uuid4().hex}"
    canary.write_text("original")
    canary.chmod(0o644)
    code = f"""
for name, path, mode in [("overwrite", {str(canary)!r}, "w"), ("append", {str(canary)!r}, "a"),
                         ("create", {str(created)!r}, "w")]:
    try:
        open(path, mode).write("pwned")
        print(name, "done")
    except OSError as err:
        print(name, type(err).__name__)
"""
    try:
        res = run_program(code, timeout=10)
        assert res.status == "pass", res.stderr
        assert "done" not in res.stdout, res.stdout
        assert canary.read_text() == "original" and not created.exists()
    finally:
        canary.unlink(missing_ok=True)
        created.unlink(missing_ok=True)


def test_process_table_flood_is_contained(engine):
    """Children that hold their process slot (sleeping) until fork fails: RLIMIT_NPROC stops the flood."""
    token = f"codegen-sandbox-flood-{uuid.uuid4().hex}"
    cfg = SandboxConfig(timeout=20, max_processes=16)
    code = f"""
import os, sys
started = 0
for _ in range(1000):
    try:
        pid = os.fork()
    except OSError as err:
        print("limited", started, type(err).__name__)
        break
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", {token!r}])
    started += 1
else:
    print("unlimited", started)
"""
    res = run_program(code, config=cfg)
    assert res.status == "pass", res.stderr
    kind, started = res.stdout.split()[:2]
    assert kind == "limited" and int(started) < cfg.max_processes, res.stdout
    assert subprocess.run(["true"]).returncode == 0  # the host can still start processes
    assert _wait_gone(token) == []  # and nothing of the flood is left once the run is over


# --------------------------------------------------------------------------------------------------------------
# engine selection
# --------------------------------------------------------------------------------------------------------------
def test_engine_names_are_checked(monkeypatch):
    with pytest.raises(ValueError, match="engine"):
        SandboxConfig(engine="docker")
    monkeypatch.setenv("CODEGEN_SANDBOX", "docker")
    with pytest.raises(ValueError, match="CODEGEN_SANDBOX"):
        run_program("pass")


def test_automatic_fallback_warns_once(monkeypatch):
    monkeypatch.delenv("CODEGEN_SANDBOX", raising=False)
    monkeypatch.setattr(sandbox, "bwrap_status", lambda config=None: (False, "bwrap is not installed"))
    monkeypatch.setattr(sandbox, "_fallback_warned", False)
    with pytest.warns(SandboxFallbackWarning, match="apt-get install bubblewrap") as record:
        first = run_program("print(1)")
        second = run_program("print(2)")
    assert len([w for w in record if issubclass(w.category, SandboxFallbackWarning)]) == 1
    assert first.stdout == "1\n" and second.stdout == "2\n"
    assert first.protections[0] == second.protections[0] == "engine:fallback"
    with warnings.catch_warnings():
        warnings.simplefilter("error", SandboxFallbackWarning)  # chosen knowingly: no warning
        assert run_program("pass", config=SandboxConfig(engine="fallback")).passed


def test_fallback_note_replaces_the_warning_with_one_line(monkeypatch):
    monkeypatch.delenv("CODEGEN_SANDBOX", raising=False)
    monkeypatch.setattr(sandbox, "bwrap_status", lambda config=None: (False, "bwrap is not installed"))
    monkeypatch.setattr(sandbox, "_fallback_warned", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SandboxFallbackWarning)  # the note, then no warning box
        note = sandbox.fallback_note()
        assert run_program("print(1)").stdout == "1\n"
    assert note.startswith("Note:") and "fallback" in note and "\n" not in note and len(note) < 140
    monkeypatch.setattr(sandbox, "bwrap_status", lambda config=None: (True, "ok"))
    monkeypatch.setattr(sandbox, "_fallback_warned", False)
    assert sandbox.fallback_note() == ""  # bubblewrap works: nothing to say
    assert sandbox._fallback_warned is False


def test_requested_bwrap_that_does_not_work_raises(monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_status", lambda config=None: (False, "bwrap is not installed"))
    with pytest.raises(SandboxUnavailableError, match="apt-get install bubblewrap"):
        run_program("pass", config=SandboxConfig(engine="bwrap"))
    monkeypatch.setenv("CODEGEN_SANDBOX", "bwrap")
    with pytest.raises(SandboxUnavailableError):
        run_program("pass")


@pytest.mark.parametrize("engine", ["bwrap"], indirect=True)  # the fallback has no filesystem namespace
def test_bwrap_child_sees_only_what_it_needs(engine):
    code = f"""
import json, os, sys
try:
    import numpy
    numpy_ok = True
except ImportError:
    numpy_ok = False
print(json.dumps({{"top": sorted(os.listdir("/")), "cwd": os.getcwd(), "tmp_w": os.access("/tmp", os.W_OK),
                  "prefix_w": os.access(sys.prefix, os.W_OK), "usr_w": os.access("/usr", os.W_OK),
                  "repo": os.path.exists({str(REPO)!r}), "etc": os.path.exists("/etc"), "numpy": numpy_ok}}))
"""
    res = run_program(code)
    assert res.status == "pass", res.stderr
    seen = json.loads(res.stdout)
    interpreter_tops = {Path(os.path.realpath(p)).parts[1] for p in (sys.base_prefix, sys.base_exec_prefix)}
    allowed = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "proc", "dev", "tmp", "sandbox"}
    assert set(seen["top"]) <= allowed | interpreter_tops, seen["top"]
    assert seen["cwd"] == "/tmp" and seen["tmp_w"]
    assert not seen["prefix_w"] and not seen["usr_w"] and not seen["repo"] and not seen["etc"]
    assert not seen["numpy"]  # site-packages stay hidden unless asked for
    with_site = run_program(code, config=SandboxConfig(site_packages=True, engine="bwrap"))
    assert with_site.status == "pass" and "site-packages" in with_site.protections, with_site.stderr
    if importlib.util.find_spec("numpy") is None:
        pytest.skip("numpy is not installed in this environment")
    assert json.loads(with_site.stdout)["numpy"], with_site.stderr
