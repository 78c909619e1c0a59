"""Paths and helpers shared by the project's own tests."""

import importlib.util
import os
import sys
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
    if alias in sys.modules:
        return sys.modules[alias]
    init = assignment_dir / "captioning" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        alias, init, submodule_search_locations=[str(init.parent)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def reference():
    """The `captioning` package of solutions/ (the reference)."""
    return load_captioning(SOLUTIONS, "reference_captioning")


@pytest.fixture(scope="session")
def stubs():
    """The `captioning` package of release/ (what students start from)."""
    return load_captioning(RELEASE, "stub_captioning")


def child_processes():
    """Live processes of the children this test process started (other graders may run
    on the machine): under the uids it handed out, or its own children."""
    from autograder.sandbox import runner as sandbox

    issued = set(sandbox.ISSUED_UIDS)
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                status = Path(f"/proc/{entry.name}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if fields["State"].split()[0] == "Z":
                continue
            mine = int(fields["Uid"].split()[0]) in issued or int(fields["PPid"]) == os.getpid()
            if mine and entry.name != str(os.getpid()):
                found.append(int(entry.name))
    return found
