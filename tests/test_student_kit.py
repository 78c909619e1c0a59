"""What a student gets besides the code: the README, requirements.txt, the
package check of the notebooks' first cell, and `python -m captioning.submit`.

The submit tests run the command in a copy of an assignment folder and grade
the zip it writes as it is, with `autograder grade` and through Gradescope's
layout (the bundle's run_autograder in a simulated /autograder root).
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.frontends.gradescope.bundle import make_bundle
from conftest import RELEASE, ROOT, SOLUTIONS

SUBMITTED = {
    "RNN_Captioning.ipynb",
    "LSTM_Captioning.ipynb",
    "captioning/rnn_layers.py",
    "captioning/rnn.py",
}
LOCAL_MODULES = {"captioning", "checks", "conftest"}
JUPYTER = {"notebook", "ipykernel", "nbconvert"}  # to run the notebooks, not imported by them
GRADER = {"nbgrader", "nbclient", "copydetect", "threadpoolctl", "autograder"}


def requirements(folder: Path = RELEASE) -> dict[str, str]:
    """{lowercase package name: its line} of the folder's requirements.txt."""
    lines = (folder / "requirements.txt").read_text().splitlines()
    found = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            found[re.split(r"[<>=!~ \[;]", line, maxsplit=1)[0].lower()] = line
    return found


def imported_modules(folder: Path) -> set[str]:
    """Top-level modules imported by the .py files and code cells of an assignment folder."""
    sources = [p.read_text() for p in folder.rglob("*.py")]
    for nb_path in folder.glob("*.ipynb"):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            if cell.cell_type == "code":
                lines = cell.source.splitlines()
                sources.append("\n".join(line for line in lines if not line.startswith("%")))
    modules = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - LOCAL_MODULES


# --- requirements.txt and the README -------------------------------------------------


def test_requirements_are_what_the_release_imports_plus_jupyter():
    distributions = importlib.metadata.packages_distributions()
    needed = {distributions[m][0].lower() for m in imported_modules(RELEASE)}
    assert needed == {"numpy", "h5py", "matplotlib", "pillow", "nltk", "tqdm", "pytest"}
    assert set(requirements()) == needed | JUPYTER
    assert not set(requirements()) & GRADER


def test_every_requirement_has_a_compatible_range_the_project_satisfies():
    for name, line in requirements().items():
        assert re.search(r">=[\d.]+,\s*<\d+", line), f"{line}: give a range, e.g. >=1.2,<2"
        installed = importlib.metadata.version(name)
        low, high = re.search(r">=([\d.]+),\s*<(\d+)", line).groups()
        version = tuple(int(x) for x in re.findall(r"\d+", installed)[:3])
        assert tuple(int(x) for x in low.split(".")) <= version, f"{name} {installed}: {line}"
        assert version[0] < int(high), f"{name} {installed}: {line}"


def setup_command(readme: Path = RELEASE / "README.md") -> str:
    """The one command of the README's Setup section (its first code block)."""
    section = readme.read_text().split("\n## Setup\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\w*\n(.*?)```", section, re.S).group(1).strip()
    assert "\n" not in block, f"the setup is one command, not {block!r}"
    return block


def test_the_readme_sets_up_in_one_command():
    assert setup_command() == "pip install -r requirements.txt"


def test_the_readme_names_every_command_it_relies_on():
    text = (RELEASE / "README.md").read_text()
    for needed in (
        "jupyter notebook",
        "pytest",
        "python data_scripts/get_coco_data.py",
        "python -m captioning.submit",
        "make_submission()",
        "drive.mount",
        "%cd /content/drive/MyDrive/rnn_captioning",
        ".venv\\Scripts\\Activate.ps1",
        "source .venv/bin/activate",
    ):
        assert needed in text, needed


# --- the first cell of each notebook --------------------------------------------------


@pytest.mark.parametrize("name", ["RNN_Captioning.ipynb", "LSTM_Captioning.ipynb"])
def test_the_first_code_cell_checks_the_packages_before_importing_them(name):
    nb = nbformat.read(RELEASE / name, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code").source
    check = first.index("check_packages()")
    assert check < first.index("import numpy") and check < first.index("import matplotlib")


def test_a_missing_package_is_named_with_the_command_that_installs_it(tmp_path):
    code = (
        "from captioning import setup_check as s\n"
        "s.NOTEBOOK_PACKAGES['surely_not_installed_xyz'] = 'h5py'\n"
        "s.check_packages()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=RELEASE, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("captioning.setup_check.MissingPackages: ")
    assert (
        'lacks h5py. Install them by running this in a cell of the notebook: %pip install "h5py>=3.10,<4"'
        in last
    )


def test_nothing_is_said_when_every_package_is_there():
    done = subprocess.run(
        [sys.executable, "-c", "from captioning import setup_check as s; s.check_packages()"],
        cwd=RELEASE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout == done.stderr == ""


# --- python -m captioning.submit ------------------------------------------------------


def assignment_copy(origin: Path, dest: Path) -> Path:
    shutil.copytree(origin, dest, ignore=shutil.ignore_patterns("__pycache__", "submission.zip"))
    return dest


def submit(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "captioning.submit", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )


def grade_zip(archive: Path, out: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(archive), "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def reference_submission(tmp_path_factory):
    """(the folder, what submit printed) for a copy of solutions/ after submit ran."""
    folder = assignment_copy(SOLUTIONS, tmp_path_factory.mktemp("reference") / "rnn_captioning")
    done = submit(folder, "--no-pdf")
    assert done.returncode == 0, done.stderr
    return folder, done.stdout


def test_submit_writes_exactly_the_four_files_at_their_paths(reference_submission):
    folder, printed = reference_submission
    archive = folder / "submission.zip"
    with zipfile.ZipFile(archive) as z:
        assert set(z.namelist()) == SUBMITTED
        for name in SUBMITTED:
            assert z.read(name) == (folder / name).read_bytes()
    size = f"{archive.stat().st_size / 1024:.1f} KB"
    assert f"Wrote {archive} ({size}):" in printed


def test_submit_reports_the_self_checks_and_the_imports(reference_submission):
    _, printed = reference_submission
    assert re.search(r"^Self-checks \(pytest\): \d+ passed in [\d.]+s", printed, re.M), printed
    assert "Imports: captioning/rnn_layers.py imports; captioning/rnn.py imports" in printed


def test_the_reference_zip_scores_100_with_the_cli(reference_submission, tmp_path):
    folder, _ = reference_submission
    assert grade_zip(folder / "submission.zip", tmp_path / "out.json")["score"] == 100


def test_the_reference_zip_scores_100_through_gradescope_layout(reference_submission, tmp_path):
    folder, _ = reference_submission
    root = tmp_path / "autograder"
    with zipfile.ZipFile(make_bundle(tmp_path / "bundle.zip")) as z:
        z.extractall(root / "source")
    with zipfile.ZipFile(folder / "submission.zip") as z:  # Gradescope unzips the upload
        z.extractall(root / "submission")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    done = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((root / "results" / "results.json").read_text())["score"] == 100


def test_the_zip_is_collected_by_nbgrader_zip_collect(reference_submission, tmp_path):
    folder, _ = reference_submission
    course = tmp_path / "course"
    archive_dir = course / "downloaded" / "rnn_captioning" / "archive"
    archive_dir.mkdir(parents=True)
    shutil.copy(folder / "submission.zip", archive_dir / "alice_submission.zip")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.FileNameCollectorPlugin.named_regexp = r'.*/(?P<student_id>[^/_]+)_submission/(?P<file_id>.+)'\n"
        "c.FileNameCollectorPlugin.valid_ext = ['.ipynb', '.py']\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "zip_collect", "rnn_captioning", "--force"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    submitted = course / "submitted" / "alice" / "rnn_captioning"
    assert {p.relative_to(submitted).as_posix() for p in submitted.rglob("*") if p.is_file()} == (
        SUBMITTED
    )


def test_stubs_are_submitted_all_the_same_with_what_fails(tmp_path):
    folder = assignment_copy(RELEASE, tmp_path / "rnn_captioning")
    done = submit(folder, "--no-pdf")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^Self-checks \(pytest\): \d+ failed, \d+ passed in ", done.stdout, re.M)
    failed = [line for line in done.stdout.splitlines() if line.startswith("  FAILED ")]
    assert failed and all(" - NotImplementedError: " in line for line in failed)
    assert (
        "FAILED tests/test_rnn_layers.py::test_rnn_forward_values - NotImplementedError: "
        "rnn_forward is not implemented yet" in done.stdout
    )
    with zipfile.ZipFile(folder / "submission.zip") as z:
        assert set(z.namelist()) == SUBMITTED


def test_a_file_that_does_not_import_is_named_and_the_zip_still_written(tmp_path):
    folder = assignment_copy(RELEASE, tmp_path / "rnn_captioning")
    rnn = folder / "captioning" / "rnn.py"
    rnn.write_text(rnn.read_text() + "\ndef broken(:\n")
    (folder / "LSTM_Captioning.ipynb").unlink()
    done = submit(folder, "--no-tests", "--no-pdf")
    assert done.returncode == 0, done.stderr
    assert "captioning/rnn_layers.py imports; captioning/rnn.py does not import: SyntaxError" in (
        done.stdout
    )
    assert "WARNING: LSTM_Captioning.ipynb is missing; the zip goes without it" in done.stdout
    with zipfile.ZipFile(folder / "submission.zip") as z:
        assert set(z.namelist()) == SUBMITTED - {"LSTM_Captioning.ipynb"}


def test_self_checks_past_their_time_limit_are_stopped_and_the_zip_written(tmp_path):
    folder = assignment_copy(SOLUTIONS, tmp_path / "rnn_captioning")
    done = submit(folder, "--no-pdf", "--time-limit", "0.5")
    assert "Self-checks (pytest): stopped after 0.5 s" in done.stdout
    assert (folder / "submission.zip").is_file()


def test_without_a_pdf_route_submit_says_so_and_goes_on(tmp_path, monkeypatch):
    # A PATH without xelatex and a Python without playwright: no route to a PDF.
    folder = assignment_copy(RELEASE, tmp_path / "rnn_captioning")
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    if shutil.which("xelatex"):
        pytest.skip("xelatex is beside this Python")
    done = submit(folder, "--no-tests")
    assert "PDF: none made (nbconvert needs Chromium" in done.stdout
    assert (folder / "submission.zip").is_file()


def test_under_the_autograder_submit_does_nothing(tmp_path):
    folder = assignment_copy(RELEASE, tmp_path / "rnn_captioning")
    done = subprocess.run(
        [sys.executable, "-c", "from captioning.submit import make_submission; make_submission()"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NBGRADER_EXECUTION": "autograde"},
    )
    assert done.returncode == 0 and "nothing to do" in done.stdout
    assert not (folder / "submission.zip").exists()
