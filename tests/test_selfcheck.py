"""The students' self-check tests: green on the reference, clearly red on the stubs."""

import os
import re
import subprocess
import sys
import time

import pytest

from conftest import RELEASE, SOLUTIONS

# Tests of provided functions, which pass even on the blank stubs.
PROVIDED = {
    "test_temporal_affine_backward_numeric_gradient",
    "test_temporal_softmax_loss_sanity",
    "test_temporal_softmax_loss_numeric_gradient",
    "test_unknown_cell_type_is_refused",
}


def run_selfcheck(folder):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("PYTHONPATH", None)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    return result, time.perf_counter() - start


@pytest.fixture(scope="module")
def on_solutions():
    return run_selfcheck(SOLUTIONS)


@pytest.fixture(scope="module")
def on_release():
    return run_selfcheck(RELEASE)


def outcomes(output):
    """{test name: PASSED or FAILED} from pytest's -rA summary."""
    found = {}
    for status, name in re.findall(r"^(PASSED|FAILED) \S+::(\S+)", output, flags=re.M):
        found[name.split("[")[0] + ("[" + name.split("[")[1] if "[" in name else "")] = status
    return found


def test_reference_passes_every_selfcheck(on_solutions):
    result, seconds = on_solutions
    assert result.returncode == 0, result.stdout[-3000:]
    assert "failed" not in result.stdout.splitlines()[-1]
    print(f"self-check on solutions/: {seconds:.1f} s")


def test_every_function_selfcheck_fails_on_the_stubs(on_release):
    result, _ = on_release
    found = outcomes(result.stdout)
    assert found, result.stdout[-3000:]
    for name, status in found.items():
        if name.split("[")[0] in PROVIDED:
            assert status == "PASSED", f"{name} tests provided code and should pass on the stubs"
        else:
            assert status == "FAILED", f"{name} passed on the blank stubs"


def test_stub_failures_say_not_implemented_first(on_release):
    result, _ = on_release
    blocks = re.split(r"^_{3,} (test_\S+) _{3,}$", result.stdout, flags=re.M)
    failures = dict(zip(blocks[1::2], blocks[2::2]))
    assert failures
    for name, body in failures.items():
        first = body.strip().splitlines()[0]
        assert first.startswith("NotImplementedError: ") and "is not implemented yet" in first, (
            f"{name}: first line is {first!r}"
        )
