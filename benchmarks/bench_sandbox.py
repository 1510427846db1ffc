"""Time per HumanEval problem in the sandbox, under bubblewrap and under the fallback engine.

Runs the 164 canonical HumanEval solutions (program + hidden tests) through ``codegen_lib.sandbox`` with each
engine, interleaved (bwrap, fallback, bwrap, ...), and reports the median wall-clock time per problem, the
mean time inside each run (``SandboxResult.duration``), how many passed (all of them must), and the ratio
bwrap / fallback. A second, smaller table times an empty program (``pass``), i.e. the fixed cost of one run.

    python benchmarks/bench_sandbox.py                      # 164 problems, 1 worker, 3 repeats
    python benchmarks/bench_sandbox.py --workers 2 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
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


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problems", type=int, default=164, help="first N HumanEval problems (default: all 164)")
    p.add_argument("--workers", type=int, default=1, help="parallel sandboxes (1 = time per problem, unshared)")
    p.add_argument("--repeats", type=int, default=3, help="timed passes over the problems per engine (median)")
    p.add_argument("--empty-runs", type=int, default=20, help="runs of an empty program per engine and repeat")
    p.add_argument("--timeout", type=float, default=10.0, help="wall-clock limit per problem, seconds")
    args = p.parse_args(argv)

    problems = load_humaneval()[: args.problems]
    jobs = [build_program(pr, pr["canonical_solution"]) for pr in problems]
    engines = ["fallback"]
    ok, why = bwrap_status()
    if ok:
        engines.insert(0, "bwrap")
    else:
        print(f"bubblewrap unavailable ({why}): timing the fallback only")
    configs = {e: SandboxConfig(timeout=args.timeout, engine=e) for e in engines}
    for e in engines:  # warm-up: probes, the interpreter's pages in the page cache
        run_program("pass", config=configs[e])

    per_problem: dict[str, list[float]] = {e: [] for e in engines}
    inside: dict[str, list[float]] = {e: [] for e in engines}
    empty: dict[str, list[float]] = {e: [] for e in engines}
    passed: dict[str, set[int]] = {e: set() for e in engines}
    for _ in range(args.repeats):
        for e in engines:
            start = time.perf_counter()
            results = run_many(jobs, workers=args.workers, config=configs[e])
            per_problem[e].append((time.perf_counter() - start) / len(jobs))
            inside[e].append(statistics.fmean(r.duration for r in results))
            passed[e].add(sum(r.passed for r in results))
            start = time.perf_counter()
            for _ in range(args.empty_runs):
                run_program("pass", config=configs[e])
            empty[e].append((time.perf_counter() - start) / args.empty_runs)

    cpu = platform.processor() or platform.machine()
    print(f"{len(jobs)} canonical HumanEval solutions, {args.workers} worker(s), {args.repeats} repeats, "
          f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, uid {os.geteuid()}")
    print(f"{'engine':<10}{'ms/problem':>12}{'ms inside':>12}{'ms empty':>11}{'passed':>9}")
    for e in engines:
        print(f"{e:<10}{1e3 * statistics.median(per_problem[e]):>12.1f}{1e3 * statistics.median(inside[e]):>12.1f}"
              f"{1e3 * statistics.median(empty[e]):>11.1f}{'/'.join(map(str, sorted(passed[e]))):>9}")
    if len(engines) == 2:
        ratio = statistics.median(per_problem["bwrap"]) / statistics.median(per_problem["fallback"])
        ratio_empty = statistics.median(empty["bwrap"]) / statistics.median(empty["fallback"])
        print(f"bwrap / fallback: {ratio:.2f}x per HumanEval problem, {ratio_empty:.2f}x per empty run")
    if any(passed[e] != {len(jobs)} for e in engines):
        raise SystemExit("some canonical solutions did not pass: the harness is broken under that engine")


if __name__ == "__main__":
    main()
