"""A new student, with only the released assignment folder and a Python.

The test copies release/rnn_captioning/ alone into a temporary folder, makes a
fresh virtual environment there, activates it (PATH and VIRTUAL_ENV, as the
activate scripts do) and runs the setup command that the folder's README
gives, read from the README, so that the test follows the document. Then, as
the README says: `pytest` fails only on functions not written yet; with the
reference's two files in place `pytest` passes and both notebooks run from
top to bottom under `jupyter nbconvert --execute` with no error and no FAIL;
`python -m captioning.submit` writes the zip, which the project's `autograder
grade` scores 100. It takes a few minutes (the install from the package index
and the notebooks' training runs) and prints how long each step took.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "release" / "rnn_captioning"
SOLUTIONS = ROOT / "solutions" / "rnn_captioning"
NOTEBOOKS = ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb")
STUDENT_FILES = ("captioning/rnn_layers.py", "captioning/rnn.py")
GRADER_PACKAGES = ("nbgrader", "copydetect", "autograder", "rnn-captioning-assignment")


def readme_setup_command(readme: Path) -> str:
    """The one command in the first code block of the README's Setup section."""
    section = readme.read_text().split("\n## Setup\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```\w*\n(.*?)```", section, re.S).group(1).strip()


class Student:
    """A shell in the assignment folder with the fresh environment activated."""

    def __init__(self, folder: Path, venv: Path):
        self.folder = folder
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "VIRTUAL_ENV", "AUTOGRADER_", "PYTEST_", "JUPYTER"))
        }
        self.env.update(
            PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            VIRTUAL_ENV=str(venv),
            COLUMNS="1000",  # pytest's summary lines whole
        )
        # One BLAS thread: on a shared two-core machine the notebooks' small training
        # runs are many times slower with more (a laptop does not care either way).
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            self.env.setdefault(var, "1")
        self.timings: dict[str, float] = {}

    def run(self, step: str, command: str, timeout: float = 900) -> subprocess.CompletedProcess:
        start = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.timings[step] = time.monotonic() - start
        return done


def index_reachable() -> bool:
    """Whether pip reaches its configured package index from here."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "pip", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode == 0


def cells_with(nb, pattern):
    """The sources of code cells whose outputs match a pattern, or that raised."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            text = out.get("text", "") if out.output_type == "stream" else ""
            if out.output_type == "error" or re.search(pattern, text, re.M):
                found.append(cell.source.splitlines()[0] if cell.source else "")
    return found


def test_a_new_student_sets_up_works_and_submits(tmp_path, record_property):
    if not index_reachable():
        pytest.skip("pip reaches no package index from this machine")
    folder = tmp_path / "rnn_captioning"
    shutil.copytree(RELEASE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    venv = folder / ".venv"
    student = Student(folder, venv)

    made = student.run("python -m venv .venv", f"{sys.executable} -m venv .venv")
    assert made.returncode == 0, made.stderr

    command = readme_setup_command(folder / "README.md")
    assert command == "pip install -r requirements.txt"
    installed = student.run(f"setup: {command}", command)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    listed = student.run("pip list", "pip list --format=freeze").stdout.lower()
    for grader_package in GRADER_PACKAGES:
        assert f"{grader_package}==" not in listed, f"the setup installed {grader_package}"

    blank = student.run("pytest (the stubs)", "pytest")
    assert blank.returncode == 1, blank.stdout + blank.stderr
    assert "ModuleNotFoundError" not in blank.stdout + blank.stderr
    failures = [line for line in blank.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    assert failures and all(" - NotImplementedError: " in line for line in failures), failures

    for name in STUDENT_FILES:
        shutil.copy(SOLUTIONS / name, folder / name)
    done = student.run("pytest (the reference)", "pytest")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    for name in NOTEBOOKS:
        ran = student.run(
            f"jupyter nbconvert --execute {name}",
            f"jupyter nbconvert --to notebook --execute --inplace {name}"
            " --ExecutePreprocessor.timeout=1200",
            timeout=1800,
        )
        assert ran.returncode == 0, ran.stderr[-3000:]
        nb = nbformat.read(folder / name, as_version=4)
        assert cells_with(nb, r"^FAIL  ") == [], f"{name}: cells that failed or printed FAIL"
        assert re.search(r"^PASS  ", _all_text(nb), re.M), f"{name}: no check printed PASS"

    submitted = student.run("python -m captioning.submit", "python -m captioning.submit")
    assert submitted.returncode == 0, submitted.stderr
    print(submitted.stdout)
    archive = folder / "submission.zip"
    assert f"Wrote {archive} (" in submitted.stdout

    start = time.monotonic()
    graded = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(archive), "--json", "grade.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    student.timings["autograder grade submission.zip"] = time.monotonic() - start
    assert graded.returncode == 0, graded.stderr
    assert json.loads((tmp_path / "grade.json").read_text())["score"] == 100, graded.stdout

    width = max(map(len, student.timings))
    print("\nA new student's timings:")
    for step, seconds in student.timings.items():
        print(f"  {step:{width}s}  {seconds:6.1f} s")
        record_property(step, round(seconds, 1))


def _all_text(nb) -> str:
    return "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream"
    )
