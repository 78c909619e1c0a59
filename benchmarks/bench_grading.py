"""The grading benchmarks: the autograder CLI and `nbgrader autograde`.

Both grade the reference solution (solutions/) as if a student had submitted
it, in a temporary directory, so nothing lands in the repository.
"""

from __future__ import annotations

import csv
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench_common import ROOT, Row, fmt_time, nbgrader_env, run, skipped, tail

from autograder.paths import ASSIGNMENT, STUDENT_FILES


class Unavailable(Exception):
    """A benchmark that cannot run yet: a part of the project it needs is missing."""


def cli_available() -> str | None:
    """None if `autograder grade` is there with the options we use, else why not."""
    if not (ROOT / "autograder" / "__main__.py").exists():
        return "not available yet: no autograder command"
    _, proc = run([sys.executable, "-m", "autograder", "grade", "--help"], cwd=ROOT, timeout=60)
    if proc.returncode != 0:
        return f"not available yet: `autograder grade --help` failed: {tail(proc.stderr, 1)}"
    missing = [o for o in ("--workers", "--out-dir", "--csv") if o not in proc.stdout]
    if missing:
        return f"not available yet: `autograder grade` has no {' '.join(missing)}"
    return None


def make_submission(package: Path, folder: Path):
    folder.mkdir(parents=True)
    for name in STUDENT_FILES:
        shutil.copy(package / "captioning" / name, folder / name)


def grade(path: Path, workers: int, out: Path):
    """Wall time of one `autograder grade` run, and the rows of its CSV."""
    cmd = [sys.executable, "-m", "autograder", "grade", str(path), "--workers", str(workers)]
    cmd += ["--out-dir", str(out), "--csv", str(out / "grades.csv")]
    seconds, proc = run(cmd, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        if "missing or incomplete" in proc.stderr:  # coco_utils' words for absent data
            raise Unavailable(f"the grader's data set is not there yet: {tail(proc.stderr)}")
        raise RuntimeError(f"autograder grade failed ({proc.returncode}): {tail(proc.stderr)}")
    with open(out / "grades.csv", newline="") as f:
        return seconds, list(csv.DictReader(f))


def score_note(rows) -> str:
    """'80/80' or a summary of the scores in a grades CSV (its column names may vary)."""
    keys = rows[0].keys() if rows else []
    score = next((k for k in keys if k.lower() in ("total", "score")), None)
    if score is None:
        return f"{len(rows)} CSV rows"
    scores = sorted({r[score] for r in rows})
    top = next((k for k in keys if k.lower() in ("max_score", "max", "out_of")), None)
    return f"scores {','.join(scores)}" + (f" / {rows[0][top]}" if top else "")


def cli_rows(package: Path, batch_size: int, repeats: int):
    """Row (d): one submission end to end; a batch with 1 and 2 workers."""
    why = cli_available()
    if why:
        return [skipped("grade", "autograder CLI", why)]
    try:
        return _cli_rows(package, batch_size, repeats)
    except Unavailable as exc:
        return [skipped("grade", "autograder CLI", f"not available yet: {exc}")]


def _cli_rows(package: Path, batch_size: int, repeats: int):
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        tmp = Path(tmp)
        one = tmp / "one" / "student"
        make_submission(package, one)
        times = []
        for k in range(repeats):
            seconds, csv_rows = grade(one, 2, tmp / f"out-one-{k}")
            times.append(seconds)
        rows.append(
            Row(
                "grade",
                "1 submission (reference), CLI, --workers 2",
                fmt_time(statistics.median(times)),
                "target 15 s",
                f"{statistics.median(times) / 15:.2f}",
                score_note(csv_rows) + f"; median of {repeats}",
            )
        )
        batch = tmp / "batch"
        for k in range(batch_size):
            make_submission(package, batch / f"student{k:02d}")
        t = {}
        for workers in (1, 2):
            t[workers], csv_rows = grade(batch, workers, tmp / f"out-batch-{workers}")
            if len(csv_rows) != batch_size:
                raise RuntimeError(f"{len(csv_rows)} CSV rows for {batch_size} submissions")
        efficiency = t[1] / (2 * t[2])
        rows.append(
            Row(
                "grade",
                f"batch of {batch_size}, --workers 2 vs 1",
                fmt_time(t[2]),
                f"1 worker {fmt_time(t[1])}",
                f"{efficiency:.2f}",
                f"parallel efficiency t1/(2 t2), target 0.80; {score_note(csv_rows)}; "
                f"{batch_size / t[2]:.2f} submissions/s",
            )
        )
    return rows


def nbgrader_available() -> str | None:
    if not (ROOT / "nbgrader_config.py").exists():
        return "not available yet: no nbgrader_config.py"
    if not list((ROOT / "source" / ASSIGNMENT).glob("*.ipynb")):
        return "not available yet: no notebooks in source/"
    if shutil.which("nbgrader", path=str(Path(sys.executable).parent)) is None:
        return "nbgrader is not installed in this environment"
    return None


def nbgrader_rows(package: Path, repeats: int):
    """Row (e): `nbgrader autograde` of one full submission, in a copy of the course."""
    why = nbgrader_available()
    if why:
        return [skipped("nbgrader", "autograde 1 submission", why)]
    bin_dir = Path(sys.executable).parent
    nbgrader = str(bin_dir / "nbgrader")
    env = nbgrader_env()
    with tempfile.TemporaryDirectory(prefix="bench-nbgrader-") as tmp:
        course = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(
            ROOT / "source" / ASSIGNMENT,
            course / "source" / ASSIGNMENT,
            ignore=shutil.ignore_patterns("__pycache__", ".*", "datasets"),
        )
        data = ROOT / "source" / ASSIGNMENT / "datasets"
        if data.exists():  # the notebooks read the synthetic set
            (course / "source" / ASSIGNMENT / "datasets").symlink_to(data)
        _, proc = run([nbgrader, "generate_assignment", ASSIGNMENT, "--force"], cwd=course, env=env)
        if proc.returncode != 0:
            return [
                skipped("nbgrader", "autograde", f"generate_assignment failed: {tail(proc.stderr)}")
            ]
        # The submission: the released notebooks (the solved ones where
        # solutions/ has them) and the reference .py files.
        submission = course / "submitted" / "bench" / ASSIGNMENT
        shutil.copytree(course / "release" / ASSIGNMENT, submission, symlinks=True)
        for notebook in package.glob("*.ipynb"):
            shutil.copy(notebook, submission / notebook.name)
        for name in STUDENT_FILES:
            shutil.copy(package / "captioning" / name, submission / "captioning" / name)
        times = []
        for _ in range(repeats):
            cmd = [nbgrader, "autograde", ASSIGNMENT, "--student", "bench", "--create", "--force"]
            seconds, proc = run(cmd, cwd=course, timeout=3600, env=env)
            if proc.returncode != 0:
                return [skipped("nbgrader", "autograde", f"failed: {tail(proc.stderr)}")]
            times.append(seconds)
        score = gradebook_score(course)
    return [
        Row(
            "nbgrader",
            "autograde 1 submission (reference)",
            fmt_time(statistics.median(times)),
            "",
            "",
            f"{score}; median of {repeats}; includes nbgrader's start-up",
        )
    ]


def gradebook_score(course: Path) -> str:
    try:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            sub = gb.find_submission(ASSIGNMENT, "bench")
            return f"score {sub.score:g} / {sub.max_score:g}"
    except Exception as exc:  # noqa: BLE001 (only a note in the table)
        return f"score unknown ({type(exc).__name__})"
