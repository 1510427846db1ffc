"""Run untrusted generated Python (a program plus its tests) in a contained child process.

Chapter 09 uses this to measure functional correctness (pass@k, HumanEval). Each run gets:

* a separate process in its own session / process group, killed as a group on a wall-clock timeout;
* when ``unshare`` works (root, or unprivileged user namespaces): a new network namespace (no interface but a
  downed loopback, so no network at all) and a new PID namespace (the child cannot see or signal host
  processes; when it ends, the kernel kills everything it spawned);
* when the host process is root: the child drops to uid/gid 65534 (``nobody``) before any untrusted code runs,
  so it cannot touch root-owned files, and so that ``RLIMIT_NPROC`` is enforced (root ignores it);
* ``resource`` rlimits: CPU seconds, address space, file size, number of processes, open files, no core dumps;
* a fresh temporary working directory (removed afterwards) and a fixed, minimal environment (nothing inherited);
* stdout/stderr written to files whose size ``RLIMIT_FSIZE`` caps, of which only the first
  ``max_output_bytes`` are read back, so huge output cannot exhaust host memory.

Outcome (``SandboxResult.status``), decided from the stage the trusted harness had reached:

* ``"error"``: the program itself is broken -- a syntax error, or an exception (or a crash by a signal or a
  resource limit) while executing the program's top level, before any test ran (``sys.exit(0)`` or
  ``sys.exit()`` at the top level counts as a normal end, any other exit code as an error). A syntax error in the tests
  also counts as ``"error"`` (the job cannot be tested).
* ``"fail"``: the program ran, but the tests raised (an ``AssertionError`` or any other exception, including
  ``SystemExit``), or the process died while the tests ran.
* ``"timeout"``: the wall-clock timeout or the CPU-time limit was hit (whatever the stage).
* ``"pass"``: the program and the tests ran to the end without an exception. With ``tests=""`` this means
  the program ran without error.

``SandboxResult.protections`` lists which protections were active for the run.

The sandbox contains damage; it does not stop cheating. Code that knows this harness can forge a "pass" (it
shares the process with the harness, so it can write to the status descriptor and exit cleanly). Benchmarks
of honest model output are fine; adversarial submissions need a stronger boundary (a VM, gVisor, a container
with seccomp).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

__all__ = ["SandboxConfig", "SandboxResult", "run_program", "run_many", "available_protections"]

NOBODY = 65534  # uid and gid of nobody/nogroup on Debian-like systems
_EXIT_PASS, _EXIT_FAIL, _EXIT_ERROR = 0, 101, 102


@dataclass
class SandboxConfig:
    """Limits for one sandboxed run (chapter 09). Defaults suit HumanEval-sized programs."""

    timeout: float = 10.0  # wall-clock seconds before the whole process group is killed
    cpu_seconds: int | None = None  # RLIMIT_CPU; None = ceil(timeout) + 1
    memory_mb: int = 1024  # RLIMIT_AS: address space of the child, MiB
    file_size_mb: int = 16  # RLIMIT_FSIZE: largest file the child may write (stdout/stderr included), MiB
    max_processes: int = 16  # RLIMIT_NPROC: processes+threads of the child's uid (per uid, not per run)
    max_open_files: int = 64  # RLIMIT_NOFILE
    max_output_bytes: int = 64 * 1024  # bytes of stdout and of stderr read back into the result
    isolate_network: bool = True  # use a new network namespace when unshare works
    drop_privileges: bool = True  # when root: run the child as uid/gid 65534
    python: str | None = None  # child interpreter; None = this one, or else a python3 that uid 65534 can read

    def __post_init__(self):
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        for name in ("memory_mb", "file_size_mb", "max_processes", "max_open_files", "max_output_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class SandboxResult:
    """What one sandboxed run did. ``status`` is one of ``"pass" | "fail" | "timeout" | "error"``."""

    status: str
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None  # negative: killed by that signal
    duration: float = 0.0  # wall-clock seconds
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    protections: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return self.status == "pass"


# The trusted harness. It runs first in the child: reads the job while still privileged, drops privileges,
# sets the rlimits, moves into the work dir, then compiles and runs the program and the tests, reporting the
# stage it reached on a private status file descriptor.
_HARNESS = r"""
import json, os, resource, signal, sys, traceback
job = json.load(open(sys.argv[1], encoding="utf-8"))
with open(job["program"], encoding="utf-8") as f:
    program_src = f.read()
with open(job["tests"], encoding="utf-8") as f:
    tests_src = f.read()
status = os.fdopen(job["status_fd"], "w", buffering=1)
def stage(name):
    status.write(name + "\n"); status.flush()
if job["drop_to"] is not None:
    uid = gid = job["drop_to"]
    os.setgroups([]); os.setgid(gid); os.setuid(uid)   # before RLIMIT_NPROC: root ignores that limit
for name, value in job["limits"]:
    soft, hard = value if isinstance(value, list) else (value, value)
    resource.setrlimit(getattr(resource, name), (soft, hard))
def _cpu_limit(signum, frame):   # pid 1 of a PID namespace ignores signals it has no handler for
    os.write(2, b"\n[sandbox] CPU time limit exceeded\n"); os._exit(124)
signal.signal(signal.SIGXCPU, _cpu_limit)
os.chdir(job["workdir"])
sys.argv = ["program.py"]
sys.path[:0] = [job["workdir"]]
def finish(code):
    try:
        sys.stdout.flush(); sys.stderr.flush()
    except BaseException:
        pass
    os._exit(code)
def report_exc():
    try:
        traceback.print_exc()
    except BaseException:
        pass
namespace = {"__name__": "__main__", "__builtins__": __builtins__}
stage("compile")
try:
    program = compile(program_src, "program.py", "exec")
except BaseException:
    report_exc(); stage("error"); finish(102)
try:
    tests = compile(tests_src, "tests.py", "exec")
except BaseException:
    report_exc(); stage("error"); finish(102)
del program_src, tests_src, job
stage("program")
try:
    exec(program, namespace)
except SystemExit as exit_:
    if exit_.code not in (0, None):   # sys.exit(0) at the end of a script is a normal end
        report_exc(); stage("error"); finish(102)
except BaseException:
    report_exc(); stage("error"); finish(102)
stage("tests")
try:
    exec(tests, namespace)
except BaseException:
    report_exc(); stage("fail"); finish(101)
stage("pass")
finish(0)
"""


@cache
def _unshare_prefix(want_network: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The namespace command prefix that works on this host (probed once) and the protections it gives."""
    exe = shutil.which("unshare")
    if exe is None or not sys.platform.startswith("linux"):
        return (), ()
    candidates = []
    net = ["-n"] if want_network else []
    tags_net = ("network-namespace",) if want_network else ()
    if os.geteuid() == 0:
        candidates += [([exe, *net, "-p", "-f", "--kill-child"], (*tags_net, "pid-namespace"))]
        if net:
            candidates += [([exe, *net], tags_net)]
    else:  # unprivileged user namespaces (where the kernel allows them)
        candidates += [([exe, "-r", *net, "-p", "-f", "--kill-child"], (*tags_net, "pid-namespace", "user-namespace"))]
        if net:
            candidates += [([exe, "-r", *net], (*tags_net, "user-namespace"))]
    for prefix, tags in candidates:
        try:
            probe = subprocess.run([*prefix, sys.executable, "-c", "pass"], capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return tuple(prefix), tags
    return (), ()


_PROBE_IMPORTS = "import collections, decimal, fractions, hashlib, heapq, itertools, json, math, random, re, string, typing"


@cache
def _child_python(requested: str | None, drop_to: int | None) -> str:
    """An interpreter the child can run after dropping to ``drop_to``; this one when its stdlib is readable.

    A Python installed under a private home (e.g. pyenv in /root, mode 700) cannot import its own standard
    library once the child is uid 65534; a system ``python3`` can.
    """
    if requested is not None:
        return requested
    if drop_to is None:
        return sys.executable
    drop = f"import os; os.setgroups([]); os.setgid({drop_to}); os.setuid({drop_to}); "
    candidates = [sys.executable, "/usr/bin/python3", "/usr/local/bin/python3", shutil.which("python3")]
    for exe in dict.fromkeys(c for c in candidates if c):
        try:
            probe = subprocess.run(
                [exe, "-I", "-c", drop + _PROBE_IMPORTS], capture_output=True, timeout=20, cwd="/", env={}
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return exe
    raise RuntimeError(
        f"no Python interpreter can import its standard library as uid {drop_to}: tried {candidates}. "
        "Pass SandboxConfig(python=...) or SandboxConfig(drop_privileges=False) (weaker)."
    )


def available_protections(config: SandboxConfig | None = None) -> tuple[str, ...]:
    """The protections a run with ``config`` gets on this host, e.g. ``("network-namespace", ...)``."""
    config = config or SandboxConfig()
    _, tags = _unshare_prefix(config.isolate_network)
    tags = (*tags, "process-group", "rlimits", "empty-env", "temp-workdir", "output-cap")
    if os.geteuid() == 0 and config.drop_privileges:
        tags = (*tags, f"uid-{NOBODY}")
        python = _child_python(config.python, NOBODY)
        if python != sys.executable:
            tags = (*tags, f"python:{python}")
    return tags


def _read_capped(path: str, limit: int) -> tuple[str, bool]:
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    truncated = len(data) > limit
    return data[:limit].decode("utf-8", errors="replace"), truncated


def run_program(code: str, tests: str = "", timeout: float | None = None, *, config: SandboxConfig | None = None) -> SandboxResult:
    """Run ``code`` then ``tests`` (in the same namespace, ``__name__ == "__main__"``) in the sandbox.

    Args:
        code: the untrusted program (e.g. a HumanEval prompt + completion).
        tests: Python statements checking it (asserts, ``check(candidate)``); "" = just run the program.
        timeout: wall-clock seconds; overrides ``config.timeout``.
        config: the limits (:class:`SandboxConfig`).

    Returns:
        A :class:`SandboxResult`; the module docstring defines the four statuses precisely.
    """
    if not isinstance(code, str) or not isinstance(tests, str):
        raise TypeError("code and tests must be strings")
    config = config or SandboxConfig()
    if timeout is not None:
        config = SandboxConfig(**{**config.__dict__, "timeout": float(timeout)})
    prefix, _ = _unshare_prefix(config.isolate_network)
    protections = available_protections(config)
    is_root = os.geteuid() == 0
    drop_to = NOBODY if (is_root and config.drop_privileges) else None

    root = tempfile.mkdtemp(prefix="codegen-sandbox-")  # private: job files and captured output
    try:
        os.chmod(root, 0o711)  # the dropped child may traverse into work/, not list or read the rest
        workdir = os.path.join(root, "work")
        os.mkdir(workdir, 0o700)
        if drop_to is not None:
            os.chown(workdir, drop_to, drop_to)
        paths = {name: os.path.join(root, name) for name in ("program.py", "tests.py", "harness.py", "job.json")}
        for name, text in (("program.py", code), ("tests.py", tests), ("harness.py", _HARNESS)):
            with open(paths[name], "w", encoding="utf-8") as f:
                f.write(text)
        cpu = config.cpu_seconds or int(config.timeout) + 1
        mb = 1024 * 1024
        limits = [
            ("RLIMIT_CPU", [cpu, cpu + 1]),  # soft limit sends SIGXCPU, hard limit SIGKILL
            ("RLIMIT_AS", config.memory_mb * mb),
            ("RLIMIT_FSIZE", config.file_size_mb * mb),
            ("RLIMIT_NPROC", config.max_processes),
            ("RLIMIT_NOFILE", config.max_open_files),
            ("RLIMIT_CORE", 0),
        ]
        status_path = os.path.join(root, "status")
        out_path, err_path = os.path.join(root, "stdout"), os.path.join(root, "stderr")
        with open(status_path, "w") as status_f, open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
            job = {
                "program": paths["program.py"],
                "tests": paths["tests.py"],
                "status_fd": status_f.fileno(),
                "drop_to": drop_to,
                "limits": limits,
                "workdir": workdir,
            }
            with open(paths["job.json"], "w", encoding="utf-8") as f:
                json.dump(job, f)
            for p in paths.values():
                os.chmod(p, 0o600)  # read by the harness before it drops privileges
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}
            python = _child_python(config.python, drop_to)
            cmd = [*prefix, python, "-I", "-B", paths["harness.py"], paths["job.json"]]
            start = time.monotonic()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out_f,
                stderr=err_f,
                cwd=workdir,
                env=env,
                pass_fds=(status_f.fileno(),),
                start_new_session=True,  # own session and process group: killed as one on timeout
            )
            try:
                rc, cpu_used = _wait(proc.pid, config.timeout)
            finally:
                _kill_group(proc.pid)  # also kills leftovers (background children) after a normal exit
            timed_out = rc is None
            if timed_out:
                rc, cpu_used = _wait(proc.pid, None)
            proc.returncode = rc  # reaped by os.wait4 above, tell Popen
            duration = time.monotonic() - start
        with open(status_path, encoding="utf-8", errors="replace") as f:
            stages = [s.strip() for s in f if s.strip()]
        stdout, out_trunc = _read_capped(out_path, config.max_output_bytes)
        stderr, err_trunc = _read_capped(err_path, config.max_output_bytes)
        status = _classify(rc, timed_out or cpu_used >= cpu - 0.05, stages)
        if status == "timeout" and timed_out:
            stderr += f"\n[sandbox] killed after the wall-clock timeout of {config.timeout:g} s"
        return SandboxResult(
            status=status,
            stdout=stdout,
            stderr=stderr,
            returncode=rc,
            duration=duration,
            stdout_truncated=out_trunc,
            stderr_truncated=err_trunc,
            protections=protections,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait(pid: int, timeout: float | None) -> tuple[int | None, float]:
    """Wait for ``pid`` up to ``timeout`` s; (exit code or None on timeout, CPU seconds of it and its reaped children)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.001
    while True:
        wpid, wstatus, usage = os.wait4(pid, 0 if deadline is None else os.WNOHANG)
        if wpid == pid:
            return os.waitstatus_to_exitcode(wstatus), usage.ru_utime + usage.ru_stime
        if deadline is not None and time.monotonic() >= deadline:
            return None, 0.0
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _classify(rc: int | None, timed_out: bool, stages: Sequence[str]) -> str:
    if timed_out or rc in (124, -signal.SIGXCPU, 128 + signal.SIGXCPU):
        return "timeout"
    last = stages[-1] if stages else ""
    if last == "pass" and rc == _EXIT_PASS:
        return "pass"
    if last == "fail" or last == "tests" or (last == "pass" and rc != _EXIT_PASS):
        return "fail"  # the tests raised, or the process died while they ran
    return "error"  # never got past the program's own top level


def run_many(
    jobs: Iterable[dict | tuple[str, str]],
    workers: int | None = None,
    *,
    config: SandboxConfig | None = None,
    progress: bool = False,
) -> list[SandboxResult]:
    """Run many jobs in parallel sandboxes; results come back in the order of ``jobs``.

    Args:
        jobs: each a ``(code, tests)`` pair or a dict with keys ``code``, ``tests`` (optional) and
            ``timeout`` (optional).
        workers: concurrent sandboxes (threads, each waiting on one child process); default ``os.cpu_count()``.
        config: limits shared by all jobs.
        progress: show a tqdm progress bar.
    """
    normalised = []
    for i, job in enumerate(jobs):
        if isinstance(job, dict):
            if "code" not in job:
                raise ValueError(f"job {i} has no 'code' key")
            normalised.append((job["code"], job.get("tests", ""), job.get("timeout")))
        elif isinstance(job, (tuple, list)) and len(job) == 2:
            normalised.append((job[0], job[1], None))
        else:
            raise ValueError(f"job {i} must be a (code, tests) pair or a dict with 'code', got {type(job).__name__}")
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    _unshare_prefix((config or SandboxConfig()).isolate_network)  # probe once, outside the threads
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_program, code, tests, timeout, config=config) for code, tests, timeout in normalised]
        iterator = futures
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(futures, desc="sandbox", total=len(futures))
        return [f.result() for f in iterator]
