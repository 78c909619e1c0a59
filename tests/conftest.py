"""Paths and helpers shared by the project's own tests."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "rnn_captioning"
SOURCE = ROOT / "source" / ASSIGNMENT
RELEASE = ROOT / "release" / ASSIGNMENT
SOLUTIONS = ROOT / "solutions" / ASSIGNMENT


def load_captioning(assignment_dir: Path, alias: str):
    """Import the `captioning` package of one assignment folder under another name.

    source/, release/ and solutions/ all hold a package called `captioning`;
    an alias keeps them apart in one test process.
    """
    from autograder.engine.reference import import_package_as

    return import_package_as(alias, assignment_dir / "captioning")


@pytest.fixture(scope="session")
def reference():
    """The `captioning` package of solutions/ (the reference)."""
    return load_captioning(SOLUTIONS, "reference_captioning")


@pytest.fixture(scope="session")
def stubs():
    """The `captioning` package of release/ (what students start from)."""
    return load_captioning(RELEASE, "stub_captioning")


def _record_child_uids():
    """Remember every uid a child of this test process gets (other graders on the
    machine have children under uids of the same range)."""
    from autograder.sandbox import runner

    issued, fresh_uid = [], runner.fresh_uid

    def recording():
        uid = fresh_uid()
        issued.append(uid)
        return uid

    runner.fresh_uid = recording
    return issued


ISSUED_UIDS = _record_child_uids()


def child_processes():
    """Live processes of the children this test process started: under the uids they
    were given, or its own children."""
    from autograder.sandbox.runner import process_uids, zygote_pids

    zygotes = zygote_pids()  # this process's fork servers: they never run student code
    found = []
    for pid, uid in process_uids(include_zombies=False).items():
        if pid == os.getpid():
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        ppid = int(dict(line.split(":", 1) for line in status.splitlines())["PPid"])
        if uid in ISSUED_UIDS or (ppid == os.getpid() and pid not in zygotes):
            found.append(pid)
    return found


# `make check` runs every test but these (`pytest -m "not slow"`): whole nbgrader
# courses, the notebooks and the students' self-checks run end to end, the data set
# regenerated, and the tests that grade one class several times over.
SLOW_MODULES = {"test_nbgrader_e2e.py", "test_nbgrader_kernel.py", "test_nbgrader_parallel.py"}
SLOW_FIXTURES = {"solved", "on_solutions", "regenerated", "unprivileged_tree"}
SLOW_TESTS = {
    "test_three_shards_merged_give_the_grades_of_one_run",
    "test_the_recorded_seed_repeats_every_verdict",
    "test_overfitting_recipe_of_the_notebook_reaches_its_target",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if (
            item.path.name in SLOW_MODULES
            or SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
            or item.originalname in SLOW_TESTS
        ):
            item.add_marker(pytest.mark.slow)
