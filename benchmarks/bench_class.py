"""Grading a whole class: nbgrader serial against `autograder nbgrader-autograde`, and shards.

class:  one course (the project's nbgrader_config.py and source/, the
        assignment generated, N copies of the reference submitted) is copied
        before anyone is graded; the copies are graded by plain
        `nbgrader autograde ASSIGNMENT` (all students in one call), by
        `autograder nbgrader-autograde --workers 2` and `--workers 1`, one
        after another in this run; the scores of the gradebooks must agree.
        With `--before REV`, the same class also goes through plain
        `nbgrader autograde` in a course made from that revision (its config,
        source/ and autograder package).
shards: a folder of N submissions graded by one `autograder grade DIR` run
        and by K shard runs (`--shard i/K`, one after another on this machine)
        plus `autograder merge`, alternately, with the same seed; the merged
        grades.csv must equal the one run's.
"""

from __future__ import annotations

import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_common import ROOT, Row, fmt_time, nbgrader_env, run, skipped, tail
from bench_grading import make_submission, nbgrader_available

from autograder.paths import ASSIGNMENT, STUDENT_FILES

SEED = 12


def make_course(course: Path, package: Path, students: int, root: Path = ROOT, env=None) -> None:
    """A course with the assignment generated and `students` copies of the package submitted
    (made from the project at `root`)."""
    env = env or nbgrader_env()
    course.mkdir(parents=True)
    shutil.copy(root / "nbgrader_config.py", course)
    shutil.copytree(
        root / "source" / ASSIGNMENT,
        course / "source" / ASSIGNMENT,
        ignore=shutil.ignore_patterns("__pycache__", ".*", "coco_captioning"),
    )
    nbgrader = [sys.executable, "-m", "nbgrader"]
    _, proc = run([*nbgrader, "generate_assignment", ASSIGNMENT, "--force"], cwd=course, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"generate_assignment failed: {tail(proc.stderr)}")
    for k in range(students):
        folder = course / "submitted" / f"student{k:02d}" / ASSIGNMENT
        shutil.copytree(course / "release" / ASSIGNMENT, folder)
        for notebook in package.glob("*.ipynb"):
            shutil.copy(notebook, folder / notebook.name)
        for name in STUDENT_FILES:
            shutil.copy(package / "captioning" / name, folder / "captioning" / name)


def scores(course: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student_id: s.score for s in gb.find_assignment(ASSIGNMENT).submissions}


def export(revision: str, where: Path) -> Path:
    """The project's files at a git revision, in `where`."""
    where.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def class_rows(package: Path, students: int, before: str | None = None):
    """Rows: N students through plain nbgrader, and through the parallel command."""
    why = nbgrader_available()
    if why:
        return [skipped("class", f"{students} students through nbgrader", why)]
    env = nbgrader_env()
    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        # A course other users can pass through, as a course folder usually is (in a
        # closed one, kernels at 20249eb could not import the student's package at all).
        os.chmod(tmp, 0o755)
        old = None
        if before:
            tree = export(before, Path(tmp) / "before-tree")
            old_env = dict(env, PYTHONPATH=str(tree))
            course = Path(tmp) / "before"
            make_course(course, package, students, root=tree, env=old_env)
            cmd = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT]
            old_seconds, proc = run(cmd, cwd=course, env=old_env, timeout=7200)
            if proc.returncode != 0:
                raise RuntimeError(f"nbgrader at {before} failed: {tail(proc.stderr, 3)}")
            old = (old_seconds, scores(course), proc.cpu_seconds)
            shutil.rmtree(Path(tmp) / "before", ignore_errors=True)
        template = Path(tmp) / "template"
        make_course(template, package, students)
        runs = {
            "nbgrader autograde (serial)": [sys.executable, "-m", "nbgrader", "autograde"],
            "nbgrader-autograde --workers 2": [
                *[sys.executable, "-m", "autograder", "nbgrader-autograde"],
                *["--no-progress", "--workers", "2"],
            ],
            "nbgrader-autograde --workers 1": [
                *[sys.executable, "-m", "autograder", "nbgrader-autograde"],
                *["--no-progress", "--workers", "1"],
            ],
        }
        seconds, graded, cpu = {}, {}, {}
        for k, (name, cmd) in enumerate(runs.items()):
            course = Path(tmp) / f"course{k}"
            shutil.copytree(template, course, symlinks=True)
            seconds[name], proc = run([*cmd, ASSIGNMENT], cwd=course, env=env, timeout=7200)
            if proc.returncode != 0:
                raise RuntimeError(f"{name} failed: {tail(proc.stdout + proc.stderr, 3)}")
            graded[name] = scores(course)
            cpu[name] = proc.cpu_seconds
            shutil.rmtree(course, ignore_errors=True)
    serial = "nbgrader autograde (serial)"
    if old is not None:
        graded[f"before {before}"] = old[1]
    same = all(g == graded[serial] for g in graded.values()) and len(graded[serial]) == students
    agree = "same scores in every gradebook" if same else "SCORES DIFFER"
    score = ",".join(f"{s:g}" for s in sorted(set(graded[serial].values())))
    rows = []
    if old is not None:
        rows.append(
            Row(
                "class",
                f"{students} students: nbgrader autograde at {before}",
                f"{fmt_time(old[0] / students)}/student",
                "",
                "",
                f"{fmt_time(old[0])} in all, {old[2] / students:.1f} CPU-s a student; the course "
                "and plugin of that revision",
            )
        )
    rows.append(
        Row(
            "class",
            f"{students} students: {serial}",
            f"{fmt_time(seconds[serial] / students)}/student",
            f"before {fmt_time(old[0] / students)}/student" if old else "",
            f"{old[0] / seconds[serial]:.2f}x" if old else "",
            f"{fmt_time(seconds[serial])} in all, {cpu[serial] / students:.1f} CPU-s a student; "
            f"scores {score}",
        )
    )
    for name in list(runs)[1:]:
        per = seconds[name] / students
        speedup = seconds[serial] / seconds[name]
        target = "target >= 3x" if "2" in name else "target < 8 s/student"
        versus = f"; {old[0] / seconds[name]:.2f}x over serial at {before}" if old else ""
        rows.append(
            Row(
                "class",
                f"{students} students: {name}",
                f"{fmt_time(per)}/student",
                f"serial {fmt_time(seconds[serial] / students)}/student",
                f"{speedup:.2f}x",
                f"speed-up over serial{versus}; {target}; {fmt_time(seconds[name])} in all, "
                f"{cpu[name] / students:.1f} CPU-s a student; {agree}",
            )
        )
    return rows


def _grade(folder: Path, out: Path, *extra: str) -> tuple[float, float]:
    """(wall seconds, CPU-seconds) of one `autograder grade` of `folder`."""
    cmd = [sys.executable, "-m", "autograder", "grade", str(folder), "--workers", "2"]
    cmd += ["--seed", str(SEED), "--out-dir", str(out), *extra]
    seconds, proc = run(cmd, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"autograder grade failed: {tail(proc.stderr)}")
    return seconds, proc.cpu_seconds


def shard_rows(package: Path, students: int, shards: int, repeats: int):
    """Rows: K shards (one after another) + merge against one run, same seed, in CPU-seconds
    (the figure the target is about: wall times follow the neighbours) and wall seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        tmp = Path(tmp)
        batch = tmp / "batch"
        for k in range(students):
            make_submission(package, batch / f"student{k:02d}")
        one, sharded = [], []  # (wall, cpu) of each repeat
        for r in range(repeats):
            single = tmp / f"one{r}"
            one.append(_grade(batch, single))
            split = tmp / f"shards{r}"
            wall = cpu = 0.0
            for i in range(1, shards + 1):
                w, c = _grade(batch, split, "--shard", f"{i}/{shards}")
                wall, cpu = wall + w, cpu + c
            merged = tmp / f"merged{r}"
            seconds, proc = run(
                [sys.executable, "-m", "autograder", "merge", str(split), "--out", str(merged)],
                cwd=ROOT,
                timeout=600,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"autograder merge failed: {tail(proc.stderr)}")
            sharded.append((wall + seconds, cpu + proc.cpu_seconds))
            with open(single / "grades.csv") as a, open(merged / "grades.csv") as b:
                if list(csv.reader(a)) != list(csv.reader(b)):
                    raise RuntimeError("the merged shards' grades differ from the one run's")
    rows = []
    for k, kind in ((1, "CPU-seconds"), (0, "wall")):
        t1 = statistics.median(x[k] for x in one)
        tk = statistics.median(x[k] for x in sharded)
        overhead = statistics.median((b[k] - a[k]) / a[k] for a, b in zip(one, sharded))
        note = (
            f"overhead, target < 10% ({students // shards} students a shard); CPU of the "
            f"commands and all they reaped; merged grades.csv equal to the one run's"
            if k
            else "wall time: shards one after another, --workers 2 each; follows the load"
        )
        rows.append(
            Row(
                "shards",
                f"{students} submissions, {shards} shards + merge vs one run: {kind}",
                f"{tk:.1f} CPU-s" if k else fmt_time(tk),
                f"one run {t1:.1f} CPU-s" if k else f"one run {fmt_time(t1)}",
                f"{overhead * 100:+.1f}%",
                f"{note}; median of {repeats} pairs",
            )
        )
    return rows
