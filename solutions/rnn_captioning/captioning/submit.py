"""Make the file you hand in, ``submission.zip``, in the assignment folder.

From a terminal, in the assignment folder::

    python -m captioning.submit

From a notebook cell (save the notebooks first: the zip takes them as they
are on disk)::

    from captioning.submit import make_submission
    make_submission()

It reports four things, one line each, and none of them stops the
submission: the self-checks (``pytest`` on ``tests/``, stopped after a time
limit), whether ``captioning/rnn_layers.py`` and ``captioning/rnn.py``
import, a PDF of each notebook for the written answers (where nbconvert can
make one on this machine), and the zip itself. The zip holds the two
notebooks and the two files you edit at the paths they have in this folder,
nothing else: no data sets, no caches.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ASSIGNMENT_DIR = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb")
STUDENT_MODULES = ("captioning/rnn_layers.py", "captioning/rnn.py")
SUBMITTED = NOTEBOOKS + STUDENT_MODULES
ZIP_NAME = "submission.zip"
TIME_LIMIT = 180  # seconds for the self-checks; a slow laptop runs them in about a minute


def run_self_checks(folder: Path, time_limit: float = TIME_LIMIT) -> list[str]:
    """pytest on folder/tests: its closing line, then one line per failed test."""
    # Our own options only (the folder's pytest.ini adds -q), one line per failure, untruncated.
    command = [sys.executable, "-m", "pytest", "tests", "-o", "addopts=", "-q", "--tb=no", "-rfE"]
    command += ["-p", "no:cacheprovider"]
    try:
        done = _run(command, folder, time_limit, COLUMNS="1000")
    except subprocess.TimeoutExpired:
        return [f"stopped after {time_limit:g} s (run `pytest` yourself to see them all)"]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        return [f"pytest printed nothing (exit code {done.returncode}): {done.stderr.strip()}"]
    failures = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    return [lines[-1].strip("= ")] + [f"  {line}" for line in failures]


def check_imports(folder: Path, time_limit: float = 60) -> list[str]:
    """One line per file you edit: whether it imports, and if not, the error."""
    report = []
    for path in STUDENT_MODULES:
        module = path.removesuffix(".py").replace("/", ".")
        command = [sys.executable, "-c", f"import {module}"]
        try:
            done = _run(command, folder, time_limit)
        except subprocess.TimeoutExpired:
            report.append(f"{path}: importing it did not finish in {time_limit:g} s")
            continue
        if done.returncode == 0:
            report.append(f"{path} imports")
        else:
            error = (done.stderr.strip().splitlines() or ["no message"])[-1]
            report.append(f"{path} does not import: {error}")
    return report


def write_zip(folder: Path, destination: Path) -> list[str]:
    """Zip the submitted files that exist; return the ones that do not."""
    missing = [name for name in SUBMITTED if not (folder / name).is_file()]
    partial = destination.with_name(destination.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in SUBMITTED:
            if name not in missing:
                archive.write(folder / name, arcname=name)
    os.replace(partial, destination)
    return missing


def pdf_route() -> tuple[str | None, str]:
    """The nbconvert exporter that can make a PDF here, or None and why none can."""
    if importlib.util.find_spec("nbconvert") is None:
        return None, "nbconvert is not installed"
    if importlib.util.find_spec("playwright") is not None:
        return "webpdf", "nbconvert's webpdf (Chromium)"
    if shutil.which("xelatex") and shutil.which("pandoc"):
        return "pdf", "nbconvert's LaTeX route (xelatex, pandoc)"
    return None, (
        "nbconvert needs Chromium (`pip install 'nbconvert[webpdf]'`, then "
        "`playwright install chromium`) or both a LaTeX install with xelatex and pandoc"
    )


def write_pdfs(folder: Path, time_limit: float = 300) -> list[str]:
    """A PDF beside each notebook, where nbconvert can make one."""
    exporter, how = pdf_route()
    if exporter is None:
        return [f"none made ({how}); your written answers are in the notebooks inside the zip"]
    report = []
    for name in NOTEBOOKS:
        if not (folder / name).is_file():
            continue
        command = [sys.executable, "-m", "nbconvert", "--to", exporter, name, "--log-level=ERROR"]
        if exporter == "webpdf":
            command.append("--allow-chromium-download")
        try:
            done = _run(command, folder, time_limit)
            ok = done.returncode == 0
            why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        except subprocess.TimeoutExpired:
            ok, why = False, f"did not finish in {time_limit:g} s"
        pdf = folder / name.replace(".ipynb", ".pdf")
        report.append(f"wrote {pdf} with {how}" if ok else f"{name}: no PDF ({why})")
    return report


def _run(command, folder, time_limit, **env):
    return subprocess.run(
        command,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=time_limit,
        check=False,
        env={**os.environ, **env},
    )


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024:.1f} KB" if size < 1 << 20 else f"{size / (1 << 20):.1f} MB"


def make_submission(
    folder: Path | str = ASSIGNMENT_DIR,
    *,
    tests: bool = True,
    pdf: bool = True,
    time_limit: float = TIME_LIMIT,
) -> Path | None:
    """Check what can be checked, write folder/submission.zip and return its path."""
    folder = Path(folder).resolve()
    if os.environ.get("NBGRADER_EXECUTION"):
        print("submit: nothing to do while the notebook is being graded")
        return None
    print(f"Making your submission from {folder}")
    print("Self-checks (pytest):", end=" ", flush=True)
    for line in run_self_checks(folder, time_limit) if tests else ["skipped (--no-tests)"]:
        print(line)
    print("Imports:", "; ".join(check_imports(folder)), flush=True)
    if pdf:
        print("PDF:", "\n     ".join(write_pdfs(folder)), flush=True)
    destination = folder / ZIP_NAME
    missing = write_zip(folder, destination)
    for name in missing:
        print(f"WARNING: {name} is missing; the zip goes without it")
    print(f"Wrote {destination} ({_size(destination)}):")
    print("  " + ", ".join(name for name in SUBMITTED if name not in missing))
    print(
        "Hand in this zip as it is (the notebooks are taken as last saved). "
        "Failing self-checks do not stop a submission: they tell you what the grader will see."
    )
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m captioning.submit",
        description=f"Check your work and write {ZIP_NAME} in the assignment folder.",
    )
    parser.add_argument("--no-tests", action="store_true", help="do not run the self-checks")
    parser.add_argument("--no-pdf", action="store_true", help="do not try to make PDFs")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=TIME_LIMIT,
        help=f"seconds the self-checks may take (default {TIME_LIMIT})",
    )
    args = parser.parse_args(argv)
    make_submission(tests=not args.no_tests, pdf=not args.no_pdf, time_limit=args.time_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
