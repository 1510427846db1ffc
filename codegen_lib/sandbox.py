"""Run untrusted generated Python (a program plus its tests) in a contained child process.

Chapter 09 uses this to measure functional correctness (pass@k, HumanEval). A run uses one of two engines:

**bubblewrap** (``bwrap``, the engine under Flatpak), used whenever it is installed and works here (probed
once per process). The child gets a new mount namespace whose root holds only what Python needs, read-only:
``/usr`` (and the ``/lib``, ``/bin`` links into it), the interpreter's own prefix and standard library (its
``site-packages`` hidden unless ``SandboxConfig(site_packages=True)`` binds this environment's read-only), the
job directory at ``/sandbox``, a fresh ``/proc`` and a minimal ``/dev``. The repository, ``$HOME``,
``/work``-like trees and ``/etc`` do not exist for it. Its working directory is a private, size-capped
``/tmp`` (a tmpfs that vanishes with the run). It has no network and new PID, IPC, UTS and cgroup namespaces
(the harness is PID 1: when it ends or is killed, so is everything it started), a new session, and no way to
gain privileges (``no_new_privs``); bwrap's ``--die-with-parent`` holds until a uid drop clears it. As root,
bwrap runs without a user namespace and keeps only ``CAP_SETUID``/``CAP_SETGID`` for the harness, which drops
to the real uid/gid 65534 (a user-namespace ``--uid 65534`` would still be host root, which ``RLIMIT_NPROC``
ignores); as a normal user it uses an unprivileged user namespace.

**fallback**, used where bwrap is missing or refused (some containers, Colab without it); the first such run in
a process warns once (:class:`SandboxFallbackWarning`) and says how to install bubblewrap:

* when ``unshare`` works (root, or unprivileged user namespaces): a new network namespace (no interface but a
  downed loopback, so no network at all) and a new PID namespace (the child cannot see or signal host
  processes; when it ends, the kernel kills everything it spawned);
* when the host process is root: the child drops to uid/gid 65534 (``nobody``) before any untrusted code runs,
  so it cannot touch root-owned files, and so that ``RLIMIT_NPROC`` is enforced (root ignores it);
* a fresh temporary working directory (removed afterwards). There is no filesystem namespace: the child can
  read whatever is world-readable (the repository, ``/etc``) and write to world-writable places (``/tmp``).

Both engines add: a separate process in its own session / process group, killed on a wall-clock timeout
(through PID 1 of its PID namespace, its process group and the launcher); ``resource`` rlimits (CPU seconds,
address space, file size, number of processes, open files, no core dumps); a fixed, minimal environment
(nothing inherited); stdout/stderr written to files whose size ``RLIMIT_FSIZE`` caps, of which only the first
``max_output_bytes`` are read back. The engine is chosen by ``SandboxConfig(engine=...)``, else the
environment variable ``CODEGEN_SANDBOX``, each ``"auto"`` (default), ``"bwrap"`` (raise
:class:`SandboxUnavailableError` if it does not work) or ``"fallback"``.

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

``SandboxResult.protections`` names the engine (``"engine:bwrap"`` or ``"engine:fallback"``) and lists the
protections that were active for the run.

The sandbox contains damage; it does not stop cheating. Code that knows this harness can forge a "pass" (it
shares the process with the harness, so it can write to the status descriptor and exit cleanly). Neither engine
filters system calls (no seccomp) or leaves the host kernel, so kernel exploits are out of scope. Benchmarks
of honest model output are fine; adversarial submissions need a stronger boundary (a VM, gVisor).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

__all__ = [
    "SandboxConfig",
    "SandboxResult",
    "SandboxFallbackWarning",
    "SandboxUnavailableError",
    "run_program",
    "run_many",
    "available_protections",
    "bwrap_status",
    "fallback_note",
]

NOBODY = 65534  # uid and gid of nobody/nogroup on Debian-like systems
_EXIT_PASS, _EXIT_FAIL, _EXIT_ERROR = 0, 101, 102
ENGINE_ENV = "CODEGEN_SANDBOX"  # "auto" | "bwrap" | "fallback"; SandboxConfig.engine takes precedence
ENGINES = ("auto", "bwrap", "fallback")
INSTALL_HINT = (
    "install bubblewrap: `sudo apt-get install bubblewrap` (Debian/Ubuntu, Colab: `!apt-get install -y "
    "bubblewrap`), `sudo dnf install bubblewrap` (Fedora), `sudo pacman -S bubblewrap` (Arch)"
)
_SANDBOX_DIR = "/sandbox"  # where bwrap shows the job directory (read-only) to the child


class SandboxUnavailableError(RuntimeError):
    """The bubblewrap engine was requested explicitly but does not work on this host."""


class SandboxFallbackWarning(UserWarning):
    """Issued once per process when ``engine="auto"`` finds no working bubblewrap and uses the fallback."""


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
    python: str | None = None  # child interpreter; None = this one (bwrap: its base interpreter; fallback: a
    #   python3 that uid 65534 can read when this one is not)
    engine: str | None = None  # "auto" | "bwrap" | "fallback"; None = $CODEGEN_SANDBOX, else "auto"
    site_packages: bool = False  # bwrap: bind this environment's site-packages read-only (tests that import
    #   installed packages); otherwise the child sees the standard library only. The fallback's child always
    #   sees its own interpreter's site-packages.
    tmp_size_mb: int = 64  # bwrap: size of the private /tmp (a tmpfs, so it counts toward memory), MiB

    def __post_init__(self):
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        if self.engine is not None and self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES} or None, got {self.engine!r}")
        for name in ("memory_mb", "file_size_mb", "max_processes", "max_open_files", "max_output_bytes",
                     "tmp_size_mb"):
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
    protections: tuple[str, ...] = field(default_factory=tuple)  # first entry: "engine:bwrap" | "engine:fallback"

    @property
    def passed(self) -> bool:
        return self.status == "pass"


# The trusted harness. It runs first in the child (under bwrap: inside the new root, reading the job from
# /sandbox): reads the job while still privileged, drops privileges,
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
if job["site_dirs"]:
    import site
    for d in job["site_dirs"]:
        site.addsitedir(d)
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


# --------------------------------------------------------------------------------------------------------------
# the bubblewrap engine
# --------------------------------------------------------------------------------------------------------------
_LAYOUT_CODE = (
    "import json, os, site, sys, sysconfig; p = sysconfig.get_paths(); "
    "print(json.dumps({'executable': os.path.realpath(sys.executable), "
    "'roots': [sys.base_prefix, sys.base_exec_prefix, p['stdlib'], p['platstdlib']], "
    "'site': site.getsitepackages() + [p['purelib'], p['platlib']]}))"
)
_ALWAYS_BOUND = ("/usr",)  # bound read-only as a whole: system libraries (libc, libssl...) and interpreters


def _bwrap_python(config: SandboxConfig) -> str:
    """The interpreter the child runs under bwrap: ``config.python``, else this one's base interpreter.

    A virtual environment's ``python`` is a link to its base interpreter; the child runs that one directly, with
    the venv's site-packages added only on request (``site_packages=True``).
    """
    if config.python is not None:
        return os.path.realpath(shutil.which(config.python) or config.python)
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


@cache
def _interpreter_layout(python: str) -> dict:
    """What ``python`` needs bound: its real executable, prefixes/stdlib (``roots``), and its own ``site`` dirs."""
    out = subprocess.run([python, "-I", "-c", _LAYOUT_CODE], capture_output=True, text=True, timeout=30,
                         env={"PATH": "/usr/bin:/bin"}, cwd="/")
    if out.returncode != 0:
        raise RuntimeError(f"cannot query the interpreter {python}: {out.stderr.strip()[-500:]}")
    layout = json.loads(out.stdout)
    layout["roots"] = _outermost([*layout["roots"], os.path.dirname(layout["executable"])])
    layout["site"] = list(dict.fromkeys(os.path.realpath(d) for d in layout["site"] if os.path.isdir(d)))
    return layout


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _outermost(paths: Iterable[str]) -> list[str]:
    """Real, existing paths with those inside another (or inside an always-bound tree) left out."""
    real = sorted({os.path.realpath(p) for p in paths if p and os.path.exists(p)})
    kept: list[str] = []
    for p in real:
        if not any(_under(p, r) for r in (*_ALWAYS_BOUND, *kept)):
            kept.append(p)
    return kept


@cache
def _bwrap_features(exe: str) -> frozenset[str]:
    """Options this bwrap understands, of those newer than 0.4 that we use when present."""
    try:
        help_text = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(opt for opt in ("--size", "--disable-userns", "--perms") if opt in help_text)


def _site_dirs(config: SandboxConfig, layout: dict) -> list[str]:
    """Site-packages directories the child gets (read-only) when ``config.site_packages``: this environment's."""
    if not config.site_packages:
        return []
    if config.python is not None:
        return list(layout["site"])
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = [*site.getsitepackages(), paths["purelib"], paths["platlib"]]
    return list(dict.fromkeys(os.path.realpath(d) for d in dirs if os.path.isdir(d)))


def _bwrap_argv(config: SandboxConfig, python: str, job_dir: str, drop_to: int | None) -> list[str]:
    """The ``bwrap ...`` prefix for one run: namespaces, then the read-only filesystem the child sees."""
    exe = shutil.which("bwrap")
    if exe is None:
        raise SandboxUnavailableError(f"bwrap is not installed; {INSTALL_HINT}")
    features = _bwrap_features(exe)
    layout = _interpreter_layout(python)
    site_dirs = _site_dirs(config, layout)
    # --as-pid-1: the harness itself is PID 1 of the new namespace (as under the fallback's `unshare -p -f`), so
    # bwrap reaps it directly and its CPU time reaches our wait4 (behind bwrap's own init it would be lost).
    argv = [exe, "--die-with-parent", "--new-session", "--as-pid-1", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try"]
    if config.isolate_network:
        argv.append("--unshare-net")
    if os.geteuid() == 0:
        # Privileged bwrap, no user namespace, so that the harness's drop is to the *real* uid 65534 (inside a
        # user namespace, --uid 65534 is still host root, and root ignores RLIMIT_NPROC). The harness keeps only
        # the two capabilities it needs to drop; bwrap sets no_new_privs, so nothing can be regained.
        argv += ["--cap-drop", "ALL"]
        if drop_to is not None:
            argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        argv.append("--unshare-user")
        if "--disable-userns" in features:
            argv.append("--disable-userns")
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):  # merged-/usr links, or real directories
        path = "/" + name
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    argv += ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev"]
    if "--perms" in features:
        argv += ["--perms", "01777"]
    if "--size" in features:
        argv += ["--size", str(config.tmp_size_mb * 1024 * 1024)]
    argv += ["--tmpfs", "/tmp", "--ro-bind", job_dir, _SANDBOX_DIR]
    made: set[str] = set()
    for path in [*layout["roots"], *[d for d in site_dirs if not any(_under(d, r) for r in layout["roots"])]]:
        if any(_under(path, r) for r in _ALWAYS_BOUND):
            continue
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):  # parents as fresh 0755 dirs (the host's may be 0700, e.g. /root)
            parent = "/" + "/".join(parts[:i])
            if parent not in made and parent != "/tmp":
                made.add(parent)
                argv += (["--perms", "0755"] if "--perms" in features else []) + ["--dir", parent]
        argv += ["--ro-bind", path, path]
    for d in layout["site"]:  # the interpreter's own site-packages: hidden unless they are wanted
        if d not in site_dirs and any(_under(d, r) for r in (*_ALWAYS_BOUND, *layout["roots"])):
            argv += ["--tmpfs", d]
    argv += ["--chdir", "/tmp"]
    return argv


_PROBE_BWRAP = (
    "import os, sys\n"
    "if len(sys.argv) > 1:\n"
    "    os.setgroups([]); os.setgid(int(sys.argv[1])); os.setuid(int(sys.argv[1]))\n"
    f"{_PROBE_IMPORTS}\n"
    "open('/tmp/probe', 'w').write('ok')\n"
    f"assert os.path.exists({_SANDBOX_DIR!r} + '/marker') and not os.path.exists(os.environ['HOST_CWD'])\n"
)


@cache
def _probe_bwrap(python: str, isolate_network: bool, drop_to: int | None) -> tuple[bool, str]:
    """Whether bwrap works here with exactly the options a run uses (checked once per process): (ok, why)."""
    if not sys.platform.startswith("linux"):
        return False, f"bubblewrap is Linux-only (this is {sys.platform})"
    exe = shutil.which("bwrap")
    if exe is None:
        return False, "bwrap is not installed"
    job_dir = tempfile.mkdtemp(prefix="codegen-sandbox-probe-")
    try:
        os.chmod(job_dir, 0o711)  # as in a run: the dropped child may traverse it
        open(os.path.join(job_dir, "marker"), "w").close()
        config = SandboxConfig(python=python, isolate_network=isolate_network)
        argv = _bwrap_argv(config, python, job_dir, drop_to)
        args = [] if drop_to is None else [str(drop_to)]
        probe = subprocess.run([*argv, python, "-I", "-B", "-c", _PROBE_BWRAP, *args], capture_output=True,
                               text=True, timeout=30, env={"PATH": "/usr/bin:/bin", "HOST_CWD": os.getcwd()},
                               stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError, RuntimeError) as err:
        return False, f"bwrap could not be run: {err}"
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)
    if probe.returncode != 0:
        return False, f"bwrap is installed but refused to run here (exit {probe.returncode}): " + (
            probe.stderr.strip().splitlines() or ["no message"])[-1][:300]
    return True, f"{exe} works"


def _drop_to(config: SandboxConfig) -> int | None:
    return NOBODY if (os.geteuid() == 0 and config.drop_privileges) else None


def bwrap_status(config: SandboxConfig | None = None) -> tuple[bool, str]:
    """``(True, "...")`` when the bubblewrap engine works here for ``config``, else ``(False, the reason)``."""
    config = config or SandboxConfig()
    try:
        python = _bwrap_python(config)
    except OSError as err:
        return False, str(err)
    return _probe_bwrap(python, config.isolate_network, _drop_to(config))


_fallback_warned = False
_warn_lock = threading.Lock()


def _engine(config: SandboxConfig, *, warn: bool) -> str:
    """The engine a run with ``config`` uses: "bwrap" or "fallback" (warning once on an automatic fallback)."""
    global _fallback_warned
    choice = config.engine or os.environ.get(ENGINE_ENV, "").strip().lower() or "auto"
    if choice not in ENGINES:
        raise ValueError(f"{ENGINE_ENV} must be one of {ENGINES}, got {choice!r}")
    if choice == "fallback":
        return "fallback"
    ok, why = bwrap_status(config)
    if ok:
        return "bwrap"
    if choice == "bwrap":
        raise SandboxUnavailableError(f"the bubblewrap sandbox was requested but does not work here: {why}; "
                                      f"{INSTALL_HINT}")
    if warn:
        with _warn_lock:
            first, _fallback_warned = not _fallback_warned, True
        if first:
            warnings.warn(
                f"codegen_lib.sandbox: {why}, so generated code runs in the weaker fallback sandbox, which "
                "does not hide your files (it can read the repository, your home directory if it is "
                "world-readable, /etc) and can write to /tmp. For isolation, " + INSTALL_HINT + f". Set "
                f"{ENGINE_ENV}=fallback to choose the fallback knowingly.",
                SandboxFallbackWarning,
                stacklevel=3,
            )
    return "fallback"


def fallback_note(config: SandboxConfig | None = None) -> str:
    """One line for a chapter to print where generated code will run in the fallback sandbox, else "".

    The chapters call this before they run generated code: on a machine without a working bubblewrap the
    page then carries this short note instead of :class:`SandboxFallbackWarning`'s long box, which the call
    marks as already given for this process (library users who do not call it still get the warning).
    """
    global _fallback_warned
    config = config or SandboxConfig()
    if _engine(config, warn=False) == "bwrap":
        return ""
    with _warn_lock:
        _fallback_warned = True
    return ("Note: bubblewrap is not available here, so generated code runs in the weaker fallback "
            "sandbox (chapter 09 explains the difference).")


def available_protections(config: SandboxConfig | None = None) -> tuple[str, ...]:
    """The protections a run with ``config`` gets on this host, e.g. ``("engine:bwrap", "mount-namespace", ...)``.

    Raises :class:`SandboxUnavailableError` if ``config`` (or ``$CODEGEN_SANDBOX``) asks for bwrap and it
    does not work here.
    """
    config = config or SandboxConfig()
    if _engine(config, warn=False) == "bwrap":
        return _bwrap_protections(config)
    _, tags = _unshare_prefix(config.isolate_network)
    tags = ("engine:fallback", *tags, "process-group", "rlimits", "empty-env", "temp-workdir", "output-cap")
    if os.geteuid() == 0 and config.drop_privileges:
        tags = (*tags, f"uid-{NOBODY}")
        python = _child_python(config.python, NOBODY)
        if python != sys.executable:
            tags = (*tags, f"python:{python}")
    return tags


def _bwrap_protections(config: SandboxConfig) -> tuple[str, ...]:
    tags = ["engine:bwrap", "mount-namespace", "read-only-binds", "private-tmp"]
    if config.isolate_network:
        tags.append("network-namespace")
    tags += ["pid-namespace", "ipc-namespace", "uts-namespace", "new-session", "no-new-privs"]
    if _drop_to(config) is None:  # the uid drop clears the parent-death signal bwrap set (the kill on timeout
        tags.append("die-with-parent")  # goes through PID 1 of the namespace anyway)
    if os.geteuid() != 0:
        tags.append("user-namespace")
    tags += ["process-group", "rlimits", "empty-env", "temp-workdir", "output-cap"]
    if _drop_to(config) is not None:
        tags.append(f"uid-{NOBODY}")
    python = _bwrap_python(config)
    if python != sys.executable:
        tags.append(f"python:{python}")
    if config.site_packages:
        tags.append("site-packages")
    return tuple(tags)


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
    engine = _engine(config, warn=True)
    protections = available_protections(config)
    drop_to = _drop_to(config)

    root = tempfile.mkdtemp(prefix="codegen-sandbox-")  # private: job files and captured output
    try:
        os.chmod(root, 0o711)  # the dropped child may traverse into work/, not list or read the rest
        paths = {name: os.path.join(root, name) for name in ("program.py", "tests.py", "harness.py", "job.json")}
        if engine == "bwrap":  # the child sees root read-only at /sandbox, and works in its private /tmp
            python = _bwrap_python(config)
            prefix = [*_bwrap_argv(config, python, root, drop_to), python]
            inside = {name: f"{_SANDBOX_DIR}/{name}" for name in paths}
            workdir = "/tmp"
            site_dirs = _site_dirs(config, _interpreter_layout(python))
        else:
            prefix = [*_unshare_prefix(config.isolate_network)[0], _child_python(config.python, drop_to)]
            inside = paths
            workdir = os.path.join(root, "work")
            os.mkdir(workdir, 0o700)
            if drop_to is not None:
                os.chown(workdir, drop_to, drop_to)
            site_dirs = []
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
                "program": inside["program.py"],
                "tests": inside["tests.py"],
                "status_fd": status_f.fileno(),  # inherited through bwrap, same number
                "drop_to": drop_to,
                "limits": limits,
                "workdir": workdir,
                "site_dirs": site_dirs,
            }
            with open(paths["job.json"], "w", encoding="utf-8") as f:
                json.dump(job, f)
            for p in paths.values():
                os.chmod(p, 0o600)  # read by the harness before it drops privileges
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}
            # root, unused by the harness, names this run in the process table (see the tests' leftover check)
            cmd = [*prefix, "-I", "-B", inside["harness.py"], inside["job.json"], root]
            start = time.monotonic()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out_f,
                stderr=err_f,
                cwd=root if engine == "bwrap" else workdir,
                env=env,
                pass_fds=(status_f.fileno(),),
                start_new_session=True,  # own session and process group: killed as one on timeout
            )
            rc = None
            try:
                rc, cpu_used = _wait(proc.pid, config.timeout)
            finally:
                if rc is None:  # timed out (or interrupted): the launcher is alive and not yet reaped
                    _kill_run(proc.pid)
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


def _kill_run(pid: int) -> None:
    """SIGKILL an unfinished run: the launcher's children first, then its process group, then the launcher.

    Under bwrap (``--as-pid-1``) and under ``unshare -p -f`` the launcher's only child is the harness, PID 1 of
    the run's PID namespace: killing it makes the kernel kill every process in that namespace. This must not rely
    on the process group (the harness may be in its own session: bwrap's ``--new-session``, or ``os.setsid()``
    from the program) nor on a parent-death signal (the uid drop clears it). While ``pid`` is our unreaped child,
    its pid is stable; its child's pid is checked through a pidfd, so a recycled pid is never signalled.
    """
    for child in _children(pid):
        _kill_if_child(child, pid)
    _kill_group(pid)
    try:
        os.kill(pid, signal.SIGKILL)  # the launcher itself (the harness, when there is no namespace)
    except ProcessLookupError:
        pass


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:  # the launcher is single-threaded
            return [int(c) for c in f.read().split()]
    except OSError:  # a kernel without CONFIG_PROC_CHILDREN: scan the process table
        return [p for p in _all_pids() if _parent_of(p) == pid]


def _all_pids() -> list[int]:
    try:
        return [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[1])  # after "pid (comm)": state, ppid
    except (OSError, ValueError, IndexError):
        return None


def _kill_if_child(pid: int, parent: int) -> None:
    pidfd_open = getattr(os, "pidfd_open", None)
    try:
        fd = pidfd_open(pid) if pidfd_open is not None else None
    except OSError:
        return  # already gone
    try:
        if _parent_of(pid) != parent:
            return  # gone and its pid reused: not ours
        if fd is not None:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    finally:
        if fd is not None:
            os.close(fd)


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
    config = config or SandboxConfig()
    if _engine(config, warn=True) == "fallback":  # probe once (and warn once), outside the threads
        _unshare_prefix(config.isolate_network)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_program, code, tests, timeout, config=config) for code, tests, timeout in normalised]
        iterator = futures
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(futures, desc="sandbox", total=len(futures))
        return [f.result() for f in iterator]
