"""Time per HumanEval problem in the sandbox, under bubblewrap and under the fallback engine.

Runs the 164 canonical HumanEval solutions (program + hidden tests) through ``codegen_lib.sandbox`` with each
engine and reports, per problem: the median wall-clock time, the CPU time of the sandboxed processes
(``RUSAGE_CHILDREN``: less sensitive than wall time to other jobs on a shared machine), the mean time inside
each run (``SandboxResult.duration``), how many passed (all of them must), and the ratios bwrap / fallback.
The engines alternate chunk by chunk (``--chunk`` problems, the order flipping each time), so a change in the
machine's load hits both alike. The last column times an empty program (``pass``): the fixed cost of one run.

    python benchmarks/bench_sandbox.py                      # 164 problems, 1 worker, 3 repeats
    python benchmarks/bench_sandbox.py --workers 2 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

try:
    import codegen_lib  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codegen_lib.humaneval import build_program, load_humaneval  # noqa: E402
from codegen_lib.sandbox import SandboxConfig, bwrap_status, run_many, run_program  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problems", type=int, default=164, help="first N HumanEval problems (default: all 164)")
    p.add_argument("--workers", type=int, default=1, help="parallel sandboxes (1 = time per problem, unshared)")
    p.add_argument("--repeats", type=int, default=3, help="timed passes over the problems per engine (median)")
    p.add_argument("--chunk", type=int, default=8, help="problems per turn before the other engine runs")
    p.add_argument("--empty-runs", type=int, default=20, help="runs of an empty program per engine and repeat")
    p.add_argument("--timeout", type=float, default=10.0, help="wall-clock limit per problem, seconds")
    args = p.parse_args(argv)

    problems = load_humaneval()[: args.problems]
    jobs = [build_program(pr, pr["canonical_solution"]) for pr in problems]
    chunks = [jobs[i : i + args.chunk] for i in range(0, len(jobs), args.chunk)]
    engines = ["fallback"]
    ok, why = bwrap_status()
    if ok:
        engines.insert(0, "bwrap")
    else:
        print(f"bubblewrap unavailable ({why}): timing the fallback only")
    configs = {e: SandboxConfig(timeout=args.timeout, engine=e) for e in engines}
    for e in engines:  # warm-up: probes, the interpreter's pages in the page cache
        run_program("pass", config=configs[e])

    wall: dict[str, list[float]] = {e: [] for e in engines}  # seconds per problem, one entry per repeat
    cpu: dict[str, list[float]] = {e: [] for e in engines}
    inside: dict[str, list[float]] = {e: [] for e in engines}
    empty: dict[str, list[float]] = {e: [] for e in engines}
    passed: dict[str, set[int]] = {e: set() for e in engines}
    for _ in range(args.repeats):
        totals = {e: [0.0, 0.0, 0.0, 0] for e in engines}  # wall, cpu, inside, passed
        for i, chunk in enumerate(chunks):
            for e in engines if i % 2 == 0 else engines[::-1]:
                cpu0, start = _children_cpu(), time.perf_counter()
                results = run_many(chunk, workers=args.workers, config=configs[e])
                totals[e][0] += time.perf_counter() - start
                totals[e][1] += _children_cpu() - cpu0
                totals[e][2] += sum(r.duration for r in results)
                totals[e][3] += sum(r.passed for r in results)
        for e in engines:
            wall[e].append(totals[e][0] / len(jobs))
            cpu[e].append(totals[e][1] / len(jobs))
            inside[e].append(totals[e][2] / len(jobs))
            passed[e].add(totals[e][3])
        times = {e: 0.0 for e in engines}
        for i in range(args.empty_runs):
            for e in engines if i % 2 == 0 else engines[::-1]:
                start = time.perf_counter()
                run_program("pass", config=configs[e])
                times[e] += time.perf_counter() - start
        for e in engines:
            empty[e].append(times[e] / args.empty_runs)

    cpu_name = platform.processor() or platform.machine()
    print(f"{len(jobs)} canonical HumanEval solutions, {args.workers} worker(s), {args.repeats} repeats, "
          f"{os.cpu_count()} CPUs ({cpu_name}), Python {platform.python_version()}, uid {os.geteuid()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    med = statistics.median
    print(f"{'engine':<10}{'wall ms/problem':>17}{'CPU ms/problem':>16}{'ms inside':>11}{'ms empty':>10}{'passed':>8}")
    for e in engines:
        print(f"{e:<10}{1e3 * med(wall[e]):>17.1f}{1e3 * med(cpu[e]):>16.1f}{1e3 * med(inside[e]):>11.1f}"
              f"{1e3 * med(empty[e]):>10.1f}{'/'.join(map(str, sorted(passed[e]))):>8}")
    if len(engines) == 2:
        ratios = {name: med(d["bwrap"]) / med(d["fallback"])
                  for name, d in (("wall", wall), ("CPU", cpu), ("empty run", empty))}
        print("bwrap / fallback: " + ", ".join(f"{r:.2f}x {name}" for name, r in ratios.items()))
    if any(passed[e] != {len(jobs)} for e in engines):
        raise SystemExit("some canonical solutions did not pass: the harness is broken under that engine")


if __name__ == "__main__":
    main()
